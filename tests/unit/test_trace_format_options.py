"""``trace_format`` and ``application_signals`` on TracedFunction and trace_app.

Every case of the decision is in test_plan.py; these are the appliers' thin
tests: the template carries the plan (variables, the AWS managed policy on the
right role), it passes the real cfn-lint, and impossible combinations stop the
synth with a ``TracingConfigError`` naming the construct.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

import cdk_lambda_xray
from cdk_lambda_xray import TracedFunction, TraceFormat, TracingConfigError, trace_app

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
NODE = lambda_.Code.from_inline("exports.handler = async () => 1;")
POLICY = "CloudWatchLambdaApplicationSignalsExecutionRolePolicy"


def _fn(scope: cdk.Stack, id: str, **props: Any) -> TracedFunction:
    props.setdefault("runtime", lambda_.Runtime.PYTHON_3_12)
    props.setdefault("handler", "app.handler")
    props.setdefault("code", CODE)
    return TracedFunction(scope, id, **props)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("otlp-options")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Otlp")
    _fn(stack, "Otlp", trace_format=TraceFormat.OTLP)
    _fn(stack, "Signals", application_signals=True)
    given = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    _fn(stack, "SignalsGivenRole", application_signals=True, role=given)
    imported = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::123456789012:role/ops")
    _fn(stack, "SignalsImportedRole", application_signals=True, role=imported)
    swept = cdk.Stack(app, "Swept")
    lambda_.Function(swept, "Py", runtime=lambda_.Runtime.PYTHON_3_12, handler="a.b", code=CODE)
    lambda_.Function(
        swept, "Node", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler", code=NODE
    )
    trace_app(swept, application_signals=True)
    app.synth()
    return SimpleNamespace(
        outdir=outdir,
        stack=stack,
        swept=swept,
        otlp=json.loads((outdir / "Otlp.template.json").read_text()),
        sweep=json.loads((outdir / "Swept.template.json").read_text()),
    )


def _props(template: dict[str, Any], prefix: str, kind: str) -> dict[str, Any]:
    [props] = [
        r["Properties"]
        for name, r in template["Resources"].items()
        if re.fullmatch(rf"{prefix}[0-9A-F]{{8}}", name) and r["Type"] == kind
    ]
    return props  # type: ignore[no-any-return]


def _env(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    variables: dict[str, Any] = _props(template, prefix, "AWS::Lambda::Function")["Environment"][
        "Variables"
    ]
    return variables


def _managed(template: dict[str, Any], prefix: str) -> str:
    return json.dumps(_props(template, prefix, "AWS::IAM::Role").get("ManagedPolicyArns", []))


def test_otlp_format_is_written_for_the_layer(built: SimpleNamespace) -> None:
    env = _env(built.otlp, "Otlp")
    assert env["LAMBDA_XRAY_FORMAT"] == "otlp"
    assert "LAMBDA_XRAY_OTLP_UNSAMPLED" not in env
    assert POLICY not in _managed(built.otlp, "OtlpServiceRole")


def test_application_signals_sends_unsampled_otlp_spans(built: SimpleNamespace) -> None:
    env = _env(built.otlp, "Signals")
    assert env["LAMBDA_XRAY_FORMAT"] == "otlp"
    assert env["LAMBDA_XRAY_OTLP_UNSAMPLED"] == "true"


def test_application_signals_attaches_the_aws_managed_policy(built: SimpleNamespace) -> None:
    assert f"policy/{POLICY}" in _managed(built.otlp, "SignalsServiceRole")
    assert f"policy/{POLICY}" in _managed(built.otlp, "Given")


def test_an_imported_role_gets_a_warning_instead_of_the_policy(built: SimpleNamespace) -> None:
    Annotations.from_stack(built.stack).has_warning(
        "/Otlp/SignalsImportedRole",
        Match.string_like_regexp(f"role is not an iam.Role of this app.*{POLICY}.*Fix: attach"),
    )


def test_trace_app_gives_python_functions_application_signals(built: SimpleNamespace) -> None:
    env = _env(built.sweep, "Py")
    assert env["LAMBDA_XRAY_FORMAT"] == "otlp" and env["LAMBDA_XRAY_OTLP_UNSAMPLED"] == "true"
    assert f"policy/{POLICY}" in _managed(built.sweep, "PyServiceRole")


def test_trace_app_leaves_other_runtimes_in_the_xray_format_and_says_so(
    built: SimpleNamespace,
) -> None:
    assert "LAMBDA_XRAY_FORMAT" not in _env(built.sweep, "Node")
    assert POLICY not in _managed(built.sweep, "NodeServiceRole")
    Annotations.from_stack(built.swept).has_info(
        "/Swept/Node", Match.string_like_regexp("application_signals=True needs the Python")
    )


@pytest.mark.parametrize("name", ["Otlp.template.json", "Swept.template.json"])
def test_templates_pass_cfn_lint(built: SimpleNamespace, name: str) -> None:
    config = ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=["W3005"])
    assert [str(m) for m in lint_file(Path(built.outdir) / name, config=config)] == []


# --- impossible combinations ----------------------------------------------------------------


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Bad")


def test_otlp_on_a_node_function_is_an_error(stack: cdk.Stack) -> None:
    with pytest.raises(TracingConfigError) as caught:
        _fn(
            stack,
            "Fn",
            runtime=lambda_.Runtime.NODEJS_22_X,
            handler="index.handler",
            code=NODE,
            trace_format=TraceFormat.OTLP,
        )
    assert caught.value.path == "Bad/Fn"
    assert "trace_format=TraceFormat.OTLP needs the Python tracing layer" in caught.value.problem
    assert "the nodejs22.x runtime" in caught.value.problem


def test_otlp_on_an_old_python_is_an_error(stack: cdk.Stack) -> None:
    with pytest.raises(TracingConfigError, match=r"Bad/Fn: .*needs the Python tracing layer"):
        _fn(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_9, trace_format=TraceFormat.OTLP)


def test_application_signals_with_the_xray_format_is_an_error(stack: cdk.Stack) -> None:
    with pytest.raises(TracingConfigError) as caught:
        _fn(stack, "Fn", application_signals=True, trace_format=TraceFormat.XRAY)
    assert caught.value.path == "Bad/Fn"
    assert "TraceFormat.XRAY" in caught.value.problem and "OTLP" in caught.value.fix


def test_trace_app_refuses_application_signals_with_the_xray_format() -> None:
    with pytest.raises(TracingConfigError, match=r"XRayTracing: application_signals=True"):
        trace_app(cdk.App(), application_signals=True, trace_format=TraceFormat.XRAY)


def test_the_format_option_takes_the_enum_only(stack: cdk.Stack) -> None:
    with pytest.raises(TracingConfigError, match="trace_format"):
        _fn(stack, "Fn", trace_format="otlp")


def test_trace_format_is_public() -> None:
    assert "TraceFormat" in cdk_lambda_xray.__all__
    assert [m.value for m in TraceFormat] == ["xray", "otlp"]
