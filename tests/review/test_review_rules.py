"""Every rule, compliant and non-compliant, on small hand-written templates (no synth)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray._contract import (
    ENV_CONTEXT_MISSING,
    ENV_DAEMON_ADDRESS,
    ENV_EXEC_WRAPPER,
    ENV_HANDLER,
    WRAPPER_HANDLER,
)
from cdk_lambda_xray._tracers import TRACERS, foreign_handler_tracer
from cdk_lambda_xray.review.review import review_path
from cdk_lambda_xray.review.rules import ALL_RULES, Finding, Rule
from cdk_lambda_xray.review.rules.base import RECOMMENDS_OUR_TRACING

WriteAssembly = Callable[..., Path]

XRAY_WRITE = {
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}
ADOT_ARN = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:2"
POWERTOOLS_ARN = (
    "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"
)


def role(*statements: Mapping[str, Any], managed: tuple[Any, ...] = ()) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {
                    "Action": "sts:AssumeRole",
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                }
            ]
        }
    }
    if statements:
        props["Policies"] = [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}]
    if managed:
        props["ManagedPolicyArns"] = list(managed)
    return {"Type": "AWS::IAM::Role", "Properties": props}


def function(
    *,
    role_ref: Any = None,
    runtime: str = "python3.12",
    handler: str = "index.handler",
    tracing: str | None = "Active",
    env: Mapping[str, Any] | None = None,
    layers: list[Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Runtime": runtime,
        "Handler": handler,
        "Code": {"ZipFile": "x"},
        "Role": role_ref if role_ref is not None else {"Fn::GetAtt": ["Role", "Arn"]},
        **extra,
    }
    if tracing:
        props["TracingConfig"] = {"Mode": tracing}
    if env:
        props["Environment"] = {"Variables": dict(env)}
    if layers:
        props["Layers"] = layers
    return {"Type": "AWS::Lambda::Function", "Properties": props}


OUR_LAYER = {
    "Type": "AWS::Lambda::LayerVersion",
    "Properties": {
        "Content": {"S3Bucket": "b", "S3Key": "k.zip"},
        "Description": "lambda-xray: X-Ray tracing for Python handlers (content 0123)",
    },
}
OUR_ENV = {ENV_HANDLER: "index.handler", ENV_CONTEXT_MISSING: "LOG_ERROR"}


def instrumented(**overrides: Any) -> dict[str, Any]:
    """A function set up the way TracedFunction does it."""
    kwargs: dict[str, Any] = {
        "handler": WRAPPER_HANDLER,
        "env": OUR_ENV,
        "layers": [{"Ref": "Layer"}],
    }
    kwargs.update(overrides)
    return function(**kwargs)


def good(**resources: Any) -> dict[str, Any]:
    """A compliant base: role with X-Ray write, our layer, plus ``resources``."""
    return {"Role": role(XRAY_WRITE), "Layer": OUR_LAYER, **resources}


def run(write_assembly: WriteAssembly, resources: Mapping[str, Any], rule: str) -> list[Finding]:
    review = review_path(write_assembly(resources))
    return [f for f in review.findings if f.rule_id == rule]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# -- XRAY001 tracing not active ---------------------------------------------------


def test_xray001_active_function_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY001") == []


@pytest.mark.parametrize("mode", ["PassThrough", None])
def test_xray001_passthrough_or_unset_is_an_error(
    write_assembly: WriteAssembly, mode: str | None
) -> None:
    finding = only(run(write_assembly, good(Fn=instrumented(tracing=mode)), "XRAY001"))
    assert finding.severity.label == "error" and finding.path == "S/Fn"
    assert (mode or "not set") in finding.message


def test_xray001_leaves_cdk_internal_functions_to_xray013(write_assembly: WriteAssembly) -> None:
    res = good(
        BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691=function(tracing=None)
    )
    assert run(write_assembly, res, "XRAY001") == []
    assert len(run(write_assembly, res, "XRAY013")) == 1


# -- XRAY002 X-Ray write permission --------------------------------------------------


def test_xray002_inline_statement_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY002") == []


def test_xray002_attached_policy_resource_is_compliant(write_assembly: WriteAssembly) -> None:
    res = {
        "Role": role(),
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "p",
                "PolicyDocument": {"Statement": [XRAY_WRITE]},
                "Roles": [{"Ref": "Role"}],
            },
        },
        "Layer": OUR_LAYER,
        "Fn": instrumented(),
    }
    assert run(write_assembly, res, "XRAY002") == []


def test_xray002_managed_policy_is_compliant(write_assembly: WriteAssembly) -> None:
    arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AWSXRayDaemonWriteAccess"],
        ]
    }
    res = {"Role": role(managed=(arn,)), "Layer": OUR_LAYER, "Fn": instrumented()}
    assert run(write_assembly, res, "XRAY002") == []


def test_xray002_wildcard_action_is_compliant(write_assembly: WriteAssembly) -> None:
    res = {
        "Role": role({"Effect": "Allow", "Action": "xray:*", "Resource": "*"}),
        "Layer": OUR_LAYER,
        "Fn": instrumented(),
    }
    assert run(write_assembly, res, "XRAY002") == []


def test_xray002_no_statement_is_an_error(write_assembly: WriteAssembly) -> None:
    res = {"Role": role(), "Layer": OUR_LAYER, "Fn": instrumented()}
    finding = only(run(write_assembly, res, "XRAY002"))
    assert "xray:PutTraceSegments, xray:PutTelemetryRecords" in finding.message


def test_xray002_names_the_one_missing_action(write_assembly: WriteAssembly) -> None:
    res = {
        "Role": role({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}),
        "Layer": OUR_LAYER,
        "Fn": instrumented(),
    }
    message = only(run(write_assembly, res, "XRAY002")).message
    assert "xray:PutTelemetryRecords" in message and "PutTraceSegments," not in message


def test_xray002_explicit_deny_wins(write_assembly: WriteAssembly) -> None:
    deny = {"Effect": "Deny", "Action": "xray:*", "Resource": "*"}
    res = {"Role": role(XRAY_WRITE, deny), "Layer": OUR_LAYER, "Fn": instrumented()}
    assert len(run(write_assembly, res, "XRAY002")) == 1


def test_xray002_scoped_resource_does_not_grant(write_assembly: WriteAssembly) -> None:
    scoped = {**XRAY_WRITE, "Resource": "arn:aws:xray:us-east-1:123456789012:group/x"}
    res = {"Role": role(scoped), "Layer": OUR_LAYER, "Fn": instrumented()}
    assert len(run(write_assembly, res, "XRAY002")) == 1


def test_xray002_role_outside_the_app_is_info(write_assembly: WriteAssembly) -> None:
    res = {
        "Layer": OUR_LAYER,
        "Fn": instrumented(role_ref="arn:aws:iam::123456789012:role/shared"),
    }
    finding = only(run(write_assembly, res, "XRAY002"))
    assert finding.severity.label == "info" and "role/shared" in finding.message


def test_xray002_ignores_untraced_functions(write_assembly: WriteAssembly) -> None:
    res = {"Role": role(), "Layer": OUR_LAYER, "Fn": instrumented(tracing=None)}
    assert run(write_assembly, res, "XRAY002") == []


# -- XRAY003 not instrumented ----------------------------------------------------------


def test_xray003_plain_python_function_is_a_warning(write_assembly: WriteAssembly) -> None:
    finding = only(run(write_assembly, good(Fn=function()), "XRAY003"))
    assert finding.severity.label == "warning"


def test_xray003_instrumented_function_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY003") == []


def test_xray003_does_not_apply_to_other_runtimes(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=function(runtime="nodejs22.x")), "XRAY003") == []


def test_xray003_says_why_trace_app_cannot_add_the_layer(write_assembly: WriteAssembly) -> None:
    """The review asks the constructs' planner what trace_app would do with the function."""
    old = only(run(write_assembly, good(Fn=function(runtime="python3.9")), "XRAY003"))
    assert "trace_app cannot add them: the tracing layer needs python3.10" in old.message
    plain = only(run(write_assembly, good(Fn=function()), "XRAY003"))
    assert "cannot add" not in plain.message


def test_xray003_accepts_another_tracer(write_assembly: WriteAssembly) -> None:
    adot = function(env={ENV_EXEC_WRAPPER: "/opt/otel-instrument"}, layers=[ADOT_ARN])
    assert run(write_assembly, good(Fn=adot), "XRAY003") == []


# -- XRAY004 incomplete instrumentation -------------------------------------------------


def test_xray004_complete_instrumentation_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY004") == []


def test_xray004_redirect_without_layer_is_an_error(write_assembly: WriteAssembly) -> None:
    finding = only(run(write_assembly, good(Fn=instrumented(layers=None)), "XRAY004"))
    assert finding.severity.label == "error" and "ImportModuleError" in finding.message


def test_xray004_redirect_without_original_handler_is_an_error(
    write_assembly: WriteAssembly,
) -> None:
    fn = instrumented(env={ENV_CONTEXT_MISSING: "LOG_ERROR"})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY004"))
    assert ENV_HANDLER in finding.message and finding.severity.label == "error"


def test_xray004_layer_without_redirect_is_a_warning(write_assembly: WriteAssembly) -> None:
    fn = function(layers=[{"Ref": "Layer"}], env={ENV_CONTEXT_MISSING: "LOG_ERROR"})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY004"))
    assert finding.severity.label == "warning" and "not the wrapper" in finding.message


def test_xray004_recognizes_our_layer_by_its_asset(write_assembly: WriteAssembly) -> None:
    # no description: the layer is recognized by the files in its asset directory
    layer = {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {"Content": {"S3Bucket": "b", "S3Key": "k.zip"}},
        "Metadata": {"aws:asset:path": "asset.layer"},
    }
    out = write_assembly({"Role": role(XRAY_WRITE), "Layer": layer, "Fn": instrumented()})
    handler = out / "asset.layer" / "python" / "lambda_xray" / "handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text("")
    findings = review_path(out).findings
    assert [f for f in findings if f.rule_id in {"XRAY003", "XRAY004"}] == []


# -- XRAY005 wrapper conflict ----------------------------------------------------------


def test_xray005_redirect_plus_exec_wrapper_is_an_error(write_assembly: WriteAssembly) -> None:
    fn = instrumented(
        env={**OUR_ENV, ENV_EXEC_WRAPPER: "/opt/otel-instrument"},
        layers=[{"Ref": "Layer"}, ADOT_ARN],
    )
    finding = only(run(write_assembly, good(Fn=fn), "XRAY005"))
    assert finding.severity.label == "error"
    assert "ADOT" in finding.message and "lambda_xray" in finding.message


def test_xray005_redirect_plus_powertools_layer_is_a_warning(
    write_assembly: WriteAssembly,
) -> None:
    fn = instrumented(layers=[{"Ref": "Layer"}, POWERTOOLS_ARN])
    finding = only(run(write_assembly, good(Fn=fn), "XRAY005"))
    assert finding.severity.label == "warning" and "Powertools" in finding.message


def test_xray005_a_single_tracer_is_compliant(write_assembly: WriteAssembly) -> None:
    adot = function(env={ENV_EXEC_WRAPPER: "/opt/otel-instrument"}, layers=[ADOT_ARN])
    assert run(write_assembly, good(Fn=adot, Ours=instrumented()), "XRAY005") == []


# -- XRAY006 other tracer --------------------------------------------------------------


def test_xray006_adot_function_is_reported_as_info(write_assembly: WriteAssembly) -> None:
    adot = function(env={ENV_EXEC_WRAPPER: "/opt/otel-instrument"}, layers=[ADOT_ARN])
    finding = only(run(write_assembly, good(Fn=adot), "XRAY006"))
    assert finding.severity.label == "info" and "ADOT" in finding.message


def test_xray006_powertools_layer_alone_says_it_cannot_be_verified(
    write_assembly: WriteAssembly,
) -> None:
    finding = only(run(write_assembly, good(Fn=function(layers=[POWERTOOLS_ARN])), "XRAY006"))
    assert "cannot show" in finding.message


def test_xray006_adot_layer_without_its_wrapper_is_a_warning(
    write_assembly: WriteAssembly,
) -> None:
    res = good(Fn=function(layers=[ADOT_ARN]))
    finding = only(run(write_assembly, res, "XRAY006"))
    assert finding.severity.label == "warning" and "not switched on" in finding.message
    assert run(write_assembly, res, "XRAY003") == []


def test_xray006_our_instrumentation_is_not_reported(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY006") == []


# -- XRAY007 context missing -------------------------------------------------------------


def test_xray007_valid_value_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY007") == []


def test_xray007_invalid_value_is_an_error(write_assembly: WriteAssembly) -> None:
    fn = instrumented(env={ENV_HANDLER: "index.handler", ENV_CONTEXT_MISSING: "LOG"})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY007"))
    assert finding.severity.label == "error" and "'LOG'" in finding.message


def test_xray007_a_spelling_only_the_layer_reads_is_an_error_as_at_synth(
    write_assembly: WriteAssembly,
) -> None:
    fn = instrumented(env={ENV_HANDLER: "index.handler", ENV_CONTEXT_MISSING: "log_error"})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY007"))
    assert finding.severity.label == "error" and "aws-xray-sdk" in finding.message
    assert finding.fix == "Set AWS_XRAY_CONTEXT_MISSING to LOG_ERROR."


def test_xray007_unset_on_an_instrumented_function_is_info(write_assembly: WriteAssembly) -> None:
    fn = instrumented(env={ENV_HANDLER: "index.handler"})
    assert only(run(write_assembly, good(Fn=fn), "XRAY007")).severity.label == "info"


def test_xray007_unset_on_a_plain_function_is_not_reported(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=function()), "XRAY007") == []


# -- XRAY008 reserved variables ------------------------------------------------------------


def test_xray008_reserved_variable_is_an_error(write_assembly: WriteAssembly) -> None:
    fn = instrumented(env={**OUR_ENV, "_X_AMZN_TRACE_ID": "Root=1-x"})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY008"))
    assert finding.severity.label == "error" and "_X_AMZN_TRACE_ID" in finding.message


def test_xray008_daemon_address_is_a_warning(write_assembly: WriteAssembly) -> None:
    fn = instrumented(env={**OUR_ENV, ENV_DAEMON_ADDRESS: "10.0.0.1:2000"})
    assert only(run(write_assembly, good(Fn=fn), "XRAY008")).severity.label == "warning"


@pytest.mark.parametrize("address", ["[::1]:2000", "localhost"])
def test_xray008_a_daemon_address_synth_refuses_is_an_error(
    write_assembly: WriteAssembly, address: str
) -> None:
    fn = instrumented(env={**OUR_ENV, ENV_DAEMON_ADDRESS: address})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY008"))
    assert finding.severity.label == "error" and repr(address) in finding.message
    assert "'host:port'" in finding.fix


def test_xray008_ordinary_variables_are_compliant(write_assembly: WriteAssembly) -> None:
    fn = instrumented(env={**OUR_ENV, "TABLE_NAME": "t"})
    assert run(write_assembly, good(Fn=fn), "XRAY008") == []


# -- XRAY016 our own variables ------------------------------------------------------------


@pytest.mark.parametrize("value", ["maybe", ""])
def test_xray015_a_switch_value_synth_refuses_is_an_error(
    write_assembly: WriteAssembly, value: str
) -> None:
    fn = instrumented(env={**OUR_ENV, "LAMBDA_XRAY_CAPTURE_ERROR": value})
    finding = only(run(write_assembly, good(Fn=fn), "XRAY016"))
    assert finding.severity.label == "error"
    assert f"LAMBDA_XRAY_CAPTURE_ERROR={value!r}" in finding.message


def test_xray015_every_spelling_the_layer_reads_is_compliant(write_assembly: WriteAssembly) -> None:
    env = {**OUR_ENV, "LAMBDA_XRAY_CAPTURE_ERROR": "yes", "LAMBDA_XRAY_FORMAT": "OTLP"}
    assert run(write_assembly, good(Fn=instrumented(env=env)), "XRAY016") == []


# -- upstream: SNS, API Gateway, Step Functions -------------------------------------------


def topic(tracing: str | None) -> dict[str, Any]:
    props = {"TracingConfig": tracing} if tracing else {}
    return {"Type": "AWS::SNS::Topic", "Properties": props}


SUBSCRIPTION = {
    "Type": "AWS::SNS::Subscription",
    "Properties": {
        "Protocol": "lambda",
        "TopicArn": {"Ref": "Topic"},
        "Endpoint": {"Fn::GetAtt": ["Fn", "Arn"]},
    },
}


def xray_policy(source_arn: Any | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": ["xray:PutTraceSegments", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
        "Resource": "*",
    }
    if source_arn is not None:
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": "@@ARN@@"}}
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    before, _, after = text.partition("@@ARN@@")
    document: Any = text if source_arn is None else {"Fn::Join": ["", [before, source_arn, after]]}
    return {
        "Type": "AWS::XRay::ResourcePolicy",
        "Properties": {"PolicyName": "sns", "PolicyDocument": document},
    }


def test_xray009_passthrough_topic_into_traced_function_is_a_warning(
    write_assembly: WriteAssembly,
) -> None:
    res = good(Fn=instrumented(), Topic=topic(None), Sub=SUBSCRIPTION)
    finding = only(run(write_assembly, res, "XRAY009"))
    assert finding.path == "S/Topic" and "S/Fn" in finding.message


def test_xray009_active_topic_is_compliant(write_assembly: WriteAssembly) -> None:
    res = good(Fn=instrumented(), Topic=topic("Active"), Sub=SUBSCRIPTION)
    assert run(write_assembly, res, "XRAY009") == []


def test_xray009_ignores_topics_into_untraced_functions(write_assembly: WriteAssembly) -> None:
    res = good(Fn=instrumented(tracing=None), Topic=topic(None), Sub=SUBSCRIPTION)
    assert run(write_assembly, res, "XRAY009") == []


def test_xray010_active_topic_without_policy_is_a_warning(write_assembly: WriteAssembly) -> None:
    res = good(Fn=instrumented(), Topic=topic("Active"), Sub=SUBSCRIPTION)
    assert only(run(write_assembly, res, "XRAY010")).path == "S/Topic"


def test_xray010_policy_naming_the_topic_is_compliant(write_assembly: WriteAssembly) -> None:
    res = good(
        Fn=instrumented(),
        Topic=topic("Active"),
        Sub=SUBSCRIPTION,
        Policy=xray_policy({"Ref": "Topic"}),
    )
    assert run(write_assembly, res, "XRAY010") == []


def test_xray010_unrestricted_policy_is_compliant(write_assembly: WriteAssembly) -> None:
    res = good(Fn=instrumented(), Topic=topic("Active"), Sub=SUBSCRIPTION, Policy=xray_policy(None))
    assert run(write_assembly, res, "XRAY010") == []


def test_xray010_policy_for_another_topic_does_not_count(write_assembly: WriteAssembly) -> None:
    res = good(
        Fn=instrumented(),
        Topic=topic("Active"),
        Other=topic("Active"),
        Sub=SUBSCRIPTION,
        Policy=xray_policy({"Ref": "Other"}),
    )
    assert len(run(write_assembly, res, "XRAY010")) == 1


def rest_api(tracing: bool) -> dict[str, Any]:
    uri = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                ":lambda:path/2015-03-31/functions/",
                {"Fn::GetAtt": ["Fn", "Arn"]},
                "/invocations",
            ],
        ]
    }
    return {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
        "Method": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "HttpMethod": "GET",
                "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
            },
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "StageName": "prod",
                "TracingEnabled": tracing,
            },
        },
    }


def test_xray011_stage_without_tracing_is_a_warning(write_assembly: WriteAssembly) -> None:
    finding = only(run(write_assembly, good(Fn=instrumented(), **rest_api(False)), "XRAY011"))
    assert finding.path == "S/Stage" and "prod" in finding.message


def test_xray011_stage_with_tracing_is_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented(), **rest_api(True)), "XRAY011") == []


def state_machine(
    tracing: bool, role_arn: Any = "arn:aws:iam::123456789012:role/sfn"
) -> dict[str, Any]:
    definition = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                {"Fn::GetAtt": ["Fn", "Arn"]},
                '","End":true}}}',
            ],
        ]
    }
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": role_arn,
            "DefinitionString": definition,
            "TracingConfiguration": {"Enabled": tracing},
        },
    }


def test_xray012_state_machine_without_tracing_is_a_warning(
    write_assembly: WriteAssembly,
) -> None:
    res = good(Fn=instrumented(), Machine=state_machine(False))
    assert only(run(write_assembly, res, "XRAY012")).path == "S/Machine"


def test_xray012_state_machine_with_tracing_is_compliant(write_assembly: WriteAssembly) -> None:
    assert (
        run(write_assembly, good(Fn=instrumented(), Machine=state_machine(True)), "XRAY012") == []
    )


def test_xray012_traced_state_machine_role_without_xray_write_is_a_warning(
    write_assembly: WriteAssembly,
) -> None:
    machine = state_machine(True, role_arn={"Fn::GetAtt": ["SfnRole", "Arn"]})
    res = good(Fn=instrumented(), Machine=machine, SfnRole=role())
    assert "does not allow" in only(run(write_assembly, res, "XRAY012")).message


# -- XRAY013 CDK-internal functions ---------------------------------------------------------


@pytest.mark.parametrize(
    "logical_id",
    [
        "BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691",
        "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8aFD4BFC8A",
        "CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F",
        "AWS679f53fac002430cb0da5b7982bd22872D164C4C",
    ],
)
def test_xray013_untraced_internal_function_is_a_warning(
    write_assembly: WriteAssembly, logical_id: str
) -> None:
    res = good(**{logical_id: function(runtime="nodejs22.x", tracing=None)})
    assert only(run(write_assembly, res, "XRAY013")).severity.label == "warning"


def test_xray013_traced_internal_function_is_compliant(write_assembly: WriteAssembly) -> None:
    res = good(BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691=instrumented())
    assert run(write_assembly, res, "XRAY013") == []


# -- the rule set itself -----------------------------------------------------------------------


def test_rule_ids_are_unique_and_sequential() -> None:
    assert [r.id for r in ALL_RULES] == [f"XRAY{n:03d}" for n in range(1, len(ALL_RULES) + 1)]


def test_every_rule_has_a_name_summary_and_fix() -> None:
    for rule in ALL_RULES:
        assert rule.name and rule.summary and rule.fix, rule.id


def test_docs_rule_table_matches_the_rules() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "review.md").read_text()
    for rule in ALL_RULES:
        row = f"| {rule.id} | `{rule.name}` | {rule.severity.label} | {rule.summary} | {rule.fix} |"
        assert row in docs, f"docs/review.md is out of date for {rule.id}: expected {row}"


# -- every rule: the fix is the next real step, never what is already applied ----------


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_a_rule_recommending_our_tracing_says_what_to_do_once_it_is_applied(rule: Rule) -> None:
    if not RECOMMENDS_OUR_TRACING.search(rule.fix):
        assert rule.applied_fix is None
        return
    assert rule.applied_fix is not None
    assert not RECOMMENDS_OUR_TRACING.search(rule.applied_fix)


OLD_PYTHON_WARNING = (
    "lambda-xray: the tracing layer needs python3.10 or newer; python3.9 is traced by Lambda "
    "without it. Fix: move the function to a supported Python runtime "
    "[ack: lambda-xray:UnsupportedPython]"
)


def _with_warnings(out: Path, warnings: Mapping[str, str]) -> Path:
    """Add CDK warning annotations (construct id -> message) to the assembly's stack ``S``."""
    manifest = json.loads((out / "manifest.json").read_text())
    metadata: dict[str, Any] = {"/S": [{"type": "aws:cdk:templateFile", "data": "S.template.json"}]}
    for logical_id, message in warnings.items():
        metadata[f"/S/{logical_id}"] = [{"type": "aws:cdk:warning", "data": message}]
        metadata[f"/S/{logical_id}/Resource"] = [{"type": "aws:cdk:logicalId", "data": logical_id}]
    manifest["artifacts"]["S"]["metadata"] = metadata
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_xray003_on_old_python_after_trace_app_names_the_runtime_move(
    write_assembly: WriteAssembly,
) -> None:
    resources = good(Old=function(runtime="python3.9", env={ENV_CONTEXT_MISSING: "LOG_ERROR"}))
    out = _with_warnings(write_assembly(resources), {"Old": OLD_PYTHON_WARNING})
    finding = only([f for f in review_path(out).findings if f.rule_id == "XRAY003"])
    assert finding.fix == "Move the function to a supported Python runtime."


def test_xray003_without_our_tracing_still_recommends_it(write_assembly: WriteAssembly) -> None:
    finding = only(run(write_assembly, good(Old=function(runtime="python3.9")), "XRAY003"))
    assert RECOMMENDS_OUR_TRACING.search(finding.fix)


def test_no_finding_recommends_our_tracing_where_it_is_applied(
    write_assembly: WriteAssembly,
) -> None:
    """Functions the constructs handled, each with a problem left: every rule runs over them."""
    resources = {
        "Role": role(),  # no X-Ray write: XRAY002 on every traced function
        "Layer": OUR_LAYER,
        "Old": function(runtime="python3.9", env={ENV_CONTEXT_MISSING: "bogus"}),
        "Passing": instrumented(tracing="PassThrough"),
        "Partial": instrumented(env={ENV_CONTEXT_MISSING: "LOG_ERROR"}, layers=[]),
        "Other": instrumented(env={**OUR_ENV, ENV_EXEC_WRAPPER: "/opt/otel-instrument"}),
    }
    out = _with_warnings(write_assembly(resources), {"Old": OLD_PYTHON_WARNING})
    findings = review_path(out).findings
    assert {f.rule_id for f in findings} >= {"XRAY001", "XRAY002", "XRAY003", "XRAY004", "XRAY007"}
    assert [f for f in findings if RECOMMENDS_OUR_TRACING.search(f.fix)] == []


# -- XRAY014 the AWS X-Ray SDK ----------------------------------------------------------

SDK_LAYER_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:aws-xray-sdk-python:3"


def test_xray014_inline_code_importing_the_sdk_is_info(write_assembly: WriteAssembly) -> None:
    code = {"ZipFile": "from aws_xray_sdk.core import patch_all\npatch_all()\n"}
    finding = only(run(write_assembly, good(Fn=function(Code=code)), "XRAY014"))
    assert finding.severity.label == "info"
    assert "inline code imports aws_xray_sdk" in finding.message
    assert "from lambda_xray.compat import xray_recorder" in finding.fix


def test_xray014_a_layer_named_like_the_sdk(write_assembly: WriteAssembly) -> None:
    finding = only(run(write_assembly, good(Fn=function(layers=[SDK_LAYER_ARN])), "XRAY014"))
    assert "aws-xray-sdk-python" in finding.message


def test_xray014_the_sdk_bundled_in_the_function_asset(
    write_assembly: WriteAssembly, tmp_path: Path
) -> None:
    # The asset lives inside the assembly (write_assembly's first cdk.out is
    # tmp_path/out0): the review never inspects an asset outside it.
    asset = tmp_path / "out0" / "asset.abc"
    (asset / "aws_xray_sdk" / "core").mkdir(parents=True)
    (asset / "aws_xray_sdk" / "__init__.py").write_text("")
    (asset / "index.py").write_text("def handler(event, context):\n    return 1\n")
    fn = function(Code={"S3Bucket": "b", "S3Key": "k.zip"})
    fn["Metadata"] = {"aws:asset:path": "asset.abc"}
    finding = only(run(write_assembly, good(Fn=fn), "XRAY014"))
    assert "aws_xray_sdk/ in the asset" in finding.message


def test_xray014_next_to_lambda_xray_is_not_a_conflict(write_assembly: WriteAssembly) -> None:
    resources = good(Fn=instrumented(layers=[{"Ref": "Layer"}, SDK_LAYER_ARN]))
    review = review_path(write_assembly(resources))
    assert [f.rule_id for f in review.findings if f.rule_id in ("XRAY005", "XRAY006")] == []
    assert "recorded once" in only([f for f in review.findings if f.rule_id == "XRAY014"]).message


def test_xray014_plain_functions_are_compliant(write_assembly: WriteAssembly) -> None:
    assert run(write_assembly, good(Fn=instrumented()), "XRAY014") == []


#: what validation.FOREIGN_HANDLER_MODULES holds, read from the catalogue without the CDK
FOREIGN_HANDLER_MODULES = [m for t in TRACERS for m in t.handler_modules]


@pytest.mark.parametrize("module", FOREIGN_HANDLER_MODULES)
def test_synth_and_review_share_one_tracer_catalogue(
    write_assembly: WriteAssembly, module: str
) -> None:
    """Every handler the constructs refuse to wrap, the review names as that tracer."""
    tracer = foreign_handler_tracer(f"{module}.handler")
    assert tracer is not None
    review = review_path(write_assembly(good(Fn=function(handler=f"{module}.handler"))))
    (fn,) = review.model.functions.values()
    assert tracer.name in [t.name for t in fn.tracers]
    assert not [f for f in review.findings if f.rule_id == "XRAY003"]


def test_the_review_and_the_tracer_catalogue_load_without_the_cdk() -> None:
    """The catalogue is shared with the constructs, yet the review still never imports CDK."""
    import subprocess
    import sys

    code = (
        "import sys, cdk_lambda_xray._tracers, cdk_lambda_xray.review.review; "
        "print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["False", "False"]
