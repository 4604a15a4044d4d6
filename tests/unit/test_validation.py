"""Synth-time validation: each error names the construct, the value and the fix."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_

from cdk_lambda_xray import _contract
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.function import ContextMissing, TracedFunction
from cdk_lambda_xray.validation import (
    daemon_address_problem,
    is_valid_daemon_address,
    parse_context_missing,
)

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


@pytest.fixture(scope="module")
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture
def stack(app: cdk.App) -> cdk.Stack:
    return cdk.Stack(app, f"S{len(app.node.children)}")


def _traced(stack: cdk.Stack, **props: Any) -> TracedFunction:
    props.setdefault("runtime", lambda_.Runtime.PYTHON_3_12)
    props.setdefault("handler", "app.handler")
    props.setdefault("code", CODE)
    return TracedFunction(stack, "Fn", **props)


def _error(stack: cdk.Stack, **props: Any) -> TracingConfigError:
    with pytest.raises(TracingConfigError) as caught:
        _traced(stack, **props)
    assert str(caught.value).startswith(f"{stack.node.path}/Fn: "), str(caught.value)
    return caught.value


def test_reserved_trace_id_variable(stack: cdk.Stack) -> None:
    err = _error(stack, environment={"_X_AMZN_TRACE_ID": "Root=1-abc"})
    assert "_X_AMZN_TRACE_ID is reserved by Lambda" in err.problem
    assert "remove _X_AMZN_TRACE_ID" in err.fix


@pytest.mark.parametrize("name", ["_HANDLER", "AWS_REGION", "LAMBDA_TASK_ROOT"])
def test_other_reserved_variables(stack: cdk.Stack, name: str) -> None:
    err = _error(stack, environment={name: "x"})
    assert f"{name} is reserved" in err.problem


def test_unknown_context_missing_prop(stack: cdk.Stack) -> None:
    err = _error(stack, context_missing="LOG")
    assert "context_missing='LOG'" in err.problem
    assert "LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR" in err.fix


def test_unknown_context_missing_variable(stack: cdk.Stack) -> None:
    err = _error(stack, environment={_contract.ENV_CONTEXT_MISSING: "log_error"})
    # The layer reads 'log_error'; aws-xray-sdk does not: synth asks for the exact name.
    assert "AWS_XRAY_CONTEXT_MISSING='log_error' is not written exactly" in err.problem
    assert err.fix == "set AWS_XRAY_CONTEXT_MISSING to LOG_ERROR"


def test_context_missing_prop_and_variable_disagree(stack: cdk.Stack) -> None:
    err = _error(
        stack,
        context_missing=ContextMissing.RUNTIME_ERROR,
        environment={_contract.ENV_CONTEXT_MISSING: "IGNORE_ERROR"},
    )
    assert "context_missing='RUNTIME_ERROR' conflicts" in err.problem
    assert "set only one" in err.fix


def test_service_name_prop_and_variable_disagree(stack: cdk.Stack) -> None:
    err = _error(stack, service_name="a1", environment={_contract.ENV_SERVICE_NAME: "b2"})
    assert "service_name='a1' conflicts with environment variable" in err.problem


def test_switch_variable_must_be_a_boolean(stack: cdk.Stack) -> None:
    err = _error(stack, environment={_contract.ENV_CAPTURE_RESPONSE: "maybe"})
    assert "LAMBDA_XRAY_CAPTURE_RESPONSE='maybe' is not a boolean" in err.problem
    assert "true or false" in err.fix


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "localhost:port", "127.0.0.1:70000", "tcp:1.2.3.4:2000", "a:1 b:2"]
)
def test_malformed_daemon_address(stack: cdk.Stack, address: str) -> None:
    err = _error(stack, environment={_contract.ENV_DAEMON_ADDRESS: address})
    assert f"AWS_XRAY_DAEMON_ADDRESS={address!r} is not a daemon address" in err.problem
    assert "host:port" in err.fix


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1:2000",
        "xray-daemon.internal:2000",
        "tcp:127.0.0.1:2000 udp:127.0.0.2:2001",
        "udp:127.0.0.1:2001 tcp:127.0.0.1:2000",
    ],
)
def test_valid_daemon_addresses(address: str) -> None:
    assert is_valid_daemon_address(address)


def test_daemon_address_token_is_not_validated() -> None:
    assert daemon_address_problem(cdk.Fn.import_value("Address")) is None


# --- the planner's errors (tests/unit/test_plan.py has every case): TracedFunction raises
# them with its path, and reads the facts they need from its props


def test_exec_wrapper_conflict(stack: cdk.Stack) -> None:
    err = _error(stack, environment={_contract.ENV_EXEC_WRAPPER: "/opt/otel-instrument"})
    assert "AWS_LAMBDA_EXEC_WRAPPER is set ('/opt/otel-instrument')" in err.problem
    assert "use one tracer" in err.fix


def test_adot_instrumentation_conflict(stack: cdk.Stack) -> None:
    err = _error(
        stack,
        adot_instrumentation=lambda_.AdotInstrumentationConfig(
            layer_version=lambda_.AdotLayerVersion.from_python_sdk_layer_version(
                lambda_.AdotLambdaLayerPythonSdkVersion.LATEST
            ),
            exec_wrapper=lambda_.AdotLambdaExecWrapper.INSTRUMENT_HANDLER,
        ),
    )
    assert "adot_instrumentation is set" in err.problem


def test_layer_with_a_container_image(stack: cdk.Stack) -> None:
    repo = ecr.Repository.from_repository_name(stack, "Repo", "images")
    err = _error(
        stack,
        runtime=lambda_.Runtime.FROM_IMAGE,
        handler=lambda_.Handler.FROM_IMAGE,
        code=lambda_.Code.from_ecr_image(repo),
        tracing_layer=lambda_.LayerVersion.from_layer_version_arn(
            stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:lambda-xray:1"
        ),
    )
    assert "tracing_layer was given for a container image" in err.problem
    assert f"CMD to {_contract.WRAPPER_HANDLER}" in err.fix


def test_parse_context_missing_names_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of LOG_ERROR, RUNTIME_ERROR, IGNORE_ERROR"):
        parse_context_missing("NOPE")


def test_an_unknown_context_missing_value_is_a_tracing_config_error_naming_the_choices() -> None:
    assert ContextMissing("RUNTIME_ERROR") is ContextMissing.RUNTIME_ERROR
    with pytest.raises(TracingConfigError) as caught:
        ContextMissing("log-errors")
    assert caught.value.path == "ContextMissing"
    assert "'log-errors'" in caught.value.problem
    assert "ContextMissing.LOG_ERROR" in caught.value.fix
