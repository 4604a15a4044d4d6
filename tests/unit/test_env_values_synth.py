"""The environment-value grammar as each synth entry point applies it (thin: the cases are in
tests/test_env_grammar.py): ``TracedFunction`` raises, the aspect annotates, values the layer
reads alike count as the same value."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template

from cdk_lambda_xray import _contract
from cdk_lambda_xray.aspect import XRayTracing
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.function import TracedFunction

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "constructs.md"


def _traced(scope: cdk.Stack, id: str, **props: object) -> TracedFunction:
    return TracedFunction(
        scope, id, runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE, **props
    )


@pytest.fixture(scope="module")
def accepted() -> dict[str, str]:
    """The environment of a function given spellings the layer reads and synth accepts."""
    stack = cdk.Stack(cdk.App(), "Accepted")
    fn = _traced(
        stack,
        "Fn",
        capture_error=True,
        capture_response=False,
        environment={
            _contract.ENV_CAPTURE_ERROR: "yes",
            _contract.ENV_CAPTURE_RESPONSE: "0",
            _contract.ENV_DAEMON_ADDRESS: "udp:127.0.0.1:2001 tcp:127.0.0.1:2000",
            _contract.ENV_FORMAT: "OTLP",
        },
    )
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    resource = Template.from_stack(stack).to_json()["Resources"][stack.resolve(cfn.logical_id)]
    variables: dict[str, str] = resource["Properties"]["Environment"]["Variables"]
    return variables


def test_a_prop_and_a_variable_the_layer_reads_alike_agree(accepted: dict[str, str]) -> None:
    # capture_error=True and LAMBDA_XRAY_CAPTURE_ERROR=yes: the same value, no conflict
    assert accepted[_contract.ENV_CAPTURE_ERROR] == "yes"
    assert accepted[_contract.ENV_CAPTURE_RESPONSE] == "0"


def test_the_users_spelling_reaches_the_template_unchanged(accepted: dict[str, str]) -> None:
    assert accepted[_contract.ENV_FORMAT] == "OTLP"
    assert accepted[_contract.ENV_DAEMON_ADDRESS] == "udp:127.0.0.1:2001 tcp:127.0.0.1:2000"


def test_a_prop_and_a_variable_that_differ_still_conflict() -> None:
    stack = cdk.Stack(cdk.App(), "Conflict")
    with pytest.raises(TracingConfigError, match="capture_error='false' conflicts"):
        _traced(stack, "Fn", capture_error=False, environment={_contract.ENV_CAPTURE_ERROR: "on"})


def test_the_docs_example_is_the_message_traced_function_raises() -> None:
    stack = cdk.Stack(cdk.App(), "Orders")
    with pytest.raises(TracingConfigError) as caught:
        _traced(stack, "Checkout", environment={_contract.ENV_DAEMON_ADDRESS: "localhost"})
    example = re.search(r"```\n(Orders/Checkout: AWS_XRAY_DAEMON.*?)\n```", DOCS.read_text(), re.S)
    assert example is not None
    assert " ".join(example.group(1).split()) == str(caught.value)


def test_the_aspect_reports_a_refused_value_as_an_error_on_the_function() -> None:
    stack = cdk.Stack(cdk.App(), "Aspected")
    lambda_.Function(
        stack,
        "Plain",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=CODE,
        environment={_contract.ENV_CONTEXT_MISSING: "log_error"},
    )
    cdk.Aspects.of(stack).add(XRayTracing())
    Annotations.from_stack(stack).has_error(
        "*",
        Match.string_like_regexp("AWS_XRAY_CONTEXT_MISSING='log_error' is not written exactly"),
    )
