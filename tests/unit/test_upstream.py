"""Upstream tracing helpers: SNS active tracing + X-Ray resource policy, API Gateway, SFN.

Real CDK synth checked with ``aws_cdk.assertions``; one synthesized app shared
by the read-only tests, fresh stacks for the error cases (no synth needed).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack, assertions
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.upstream import (
    CONTEXT_SNS_RESOURCE_POLICY,
    SNS_XRAY_ACTIONS,
    SnsTracingPolicy,
    trace_rest_api,
    trace_state_machine,
    trace_topic,
)

XRAY_POLICY = "AWS::XRay::ResourcePolicy"
POLICY_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,128}$")


def _state_machine(scope: Stack, construct_id: str, **kwargs: Any) -> sfn.StateMachine:
    return sfn.StateMachine(
        scope,
        construct_id,
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(scope, f"{construct_id}Pass")),
        **kwargs,
    )


def _rest_api(scope: Stack, construct_id: str, **kwargs: Any) -> apigw.RestApi:
    api = apigw.RestApi(scope, construct_id, **kwargs)
    api.root.add_method("GET", apigw.MockIntegration())
    return api


class Built:
    """Everything the read-only tests look at, from one synth."""

    def __init__(self) -> None:
        self.app = App()
        self.stack = Stack(self.app, "Upstream")
        self.other = Stack(self.app, "OtherStack")
        self.topic_a = sns.Topic(self.stack, "TopicA")
        self.topic_b = sns.Topic(self.stack, "TopicB")
        trace_topic(self.topic_a)
        trace_topic(self.topic_a)  # idempotent
        trace_topic(self.topic_b)
        self.other_topic = trace_topic(sns.Topic(self.other, "Elsewhere"))

        self.api = _rest_api(self.stack, "Api")
        self.api_stage = trace_rest_api(self.api)
        trace_rest_api(self.api)  # idempotent
        manual = _rest_api(self.stack, "ManualApi", deploy=False)
        deployment = apigw.Deployment(self.stack, "ManualDeployment", api=manual)
        trace_rest_api(apigw.Stage(self.stack, "ManualStage", deployment=deployment))

        self.machine = _state_machine(self.stack, "Machine")
        trace_state_machine(self.machine)
        trace_state_machine(self.machine)  # idempotent
        self.pretraced = _state_machine(self.stack, "PreTraced", tracing_enabled=True)
        trace_state_machine(self.pretraced)

        self.template = assertions.Template.from_stack(self.stack)
        self.other_template = assertions.Template.from_stack(self.other)

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _policy_resources(template: assertions.Template) -> dict[str, Any]:
    return dict(template.find_resources(XRAY_POLICY))


def _decode_policy(properties: dict[str, Any]) -> dict[str, Any]:
    """Render the ``Fn::Join`` policy string with each ``Ref`` as ``REF:<logical id>``."""
    document = properties["PolicyDocument"]
    if isinstance(document, str):
        return dict(json.loads(document))
    parts = document["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"REF:{p['Ref']}" for p in parts)
    return dict(json.loads(text))


def _only_policy(template: assertions.Template) -> dict[str, Any]:
    policies = _policy_resources(template)
    assert len(policies) == 1, policies
    return dict(next(iter(policies.values()))["Properties"])


# -- SNS ---------------------------------------------------------------------------


def test_traced_topic_has_active_tracing(built: Built) -> None:
    built.template.has_resource_properties("AWS::SNS::Topic", {"TracingConfig": "Active"})
    topics = built.template.find_resources("AWS::SNS::Topic")
    assert {t["Properties"]["TracingConfig"] for t in topics.values()} == {"Active"}


def test_one_xray_resource_policy_per_stack_for_several_topics(built: Built) -> None:
    assert len(_policy_resources(built.template)) == 1


def test_policy_lets_sns_send_segments_and_read_sampling(built: Built) -> None:
    statement = _decode_policy(_only_policy(built.template))["Statement"]
    assert len(statement) == 1
    assert statement[0]["Effect"] == "Allow"
    assert statement[0]["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sorted(statement[0]["Action"]) == sorted(
        ["xray:PutTraceSegments", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    )
    assert tuple(statement[0]["Action"]) == SNS_XRAY_ACTIONS


def test_policy_is_scoped_to_account_and_each_topic_once(built: Built) -> None:
    condition = _decode_policy(_only_policy(built.template))["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "REF:AWS::AccountId"}
    assert condition["StringLike"]["aws:SourceArn"] == [
        f"REF:{built.logical_id(built.topic_a)}",
        f"REF:{built.logical_id(built.topic_b)}",
    ]


def test_policy_name_contains_stack_name(built: Built) -> None:
    name = _only_policy(built.template)["PolicyName"]
    assert name == "Upstream-sns-xray-tracing"
    assert POLICY_NAME_PATTERN.match(name)


def test_topic_in_another_stack_gets_the_policy_in_its_own_stack(built: Built) -> None:
    props = _only_policy(built.other_template)
    assert props["PolicyName"] == "OtherStack-sns-xray-tracing"
    arns = _decode_policy(props)["Statement"][0]["Condition"]["StringLike"]["aws:SourceArn"]
    assert len(arns) == 1


def test_long_stack_name_still_gives_a_valid_unique_policy_name() -> None:
    app = App()
    names = []
    for suffix in ("a", "b"):
        stack = Stack(app, "S" * 126 + suffix)
        trace_topic(sns.Topic(stack, "Topic"))
        names.append(SnsTracingPolicy.of(stack).policy_name)
    assert all(POLICY_NAME_PATTERN.match(n) for n in names), names
    assert names[0] != names[1]


def test_context_false_skips_the_resource_policy_but_keeps_tracing() -> None:
    app = App(context={CONTEXT_SNS_RESOURCE_POLICY: "false"})
    stack = Stack(app, "NoPolicy")
    trace_topic(sns.Topic(stack, "Topic"))
    template = assertions.Template.from_stack(stack)
    template.resource_count_is(XRAY_POLICY, 0)
    template.has_resource_properties("AWS::SNS::Topic", {"TracingConfig": "Active"})


def test_bad_context_value_names_the_key_and_the_fix() -> None:
    app = App(context={CONTEXT_SNS_RESOURCE_POLICY: "maybe"})
    stack = Stack(app, "BadContext")
    with pytest.raises(
        TracingConfigError, match=r"sns-xray-resource-policy'? is 'maybe'.*Fix: use true or false"
    ):
        trace_topic(sns.Topic(stack, "Topic"))


def test_imported_topic_is_refused_with_the_fix() -> None:
    stack = Stack(App(), "Imported")
    topic = sns.Topic.from_topic_arn(stack, "Theirs", "arn:aws:sns:eu-west-1:123456789012:theirs")
    with pytest.raises(
        TracingConfigError,
        match=r"^Imported/Theirs: this SNS topic is imported.*Fix: .*active_tracing=False",
    ):
        trace_topic(topic)


def test_explicit_pass_through_topic_is_not_overridden() -> None:
    stack = Stack(App(), "PassThrough")
    topic = sns.Topic(stack, "Topic", tracing_config=sns.TracingConfig.PASS_THROUGH)
    with pytest.raises(
        TracingConfigError,
        match=r"^PassThrough/Topic: .*'PassThrough'.*Fix: use sns.TracingConfig.ACTIVE",
    ):
        trace_topic(topic)


def test_policy_id_taken_by_another_construct_is_reported() -> None:
    stack = Stack(App(), "Clash")
    sns.Topic(stack, "SnsXRayTracingPolicy")
    with pytest.raises(
        TracingConfigError, match=r"^Clash/SnsXRayTracingPolicy: .*reserved.*Fix: rename"
    ):
        trace_topic(sns.Topic(stack, "Topic"))


# -- API Gateway ---------------------------------------------------------------------


def test_rest_api_deployment_stage_has_tracing_enabled(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::ApiGateway::Stage", {"StageName": "prod", "TracingEnabled": True}
    )


def test_explicit_stage_has_tracing_enabled(built: Built) -> None:
    stages = built.template.find_resources("AWS::ApiGateway::Stage")
    assert len(stages) == 2
    assert all(s["Properties"].get("TracingEnabled") is True for s in stages.values())


def test_rest_api_without_stage_is_refused() -> None:
    stack = Stack(App(), "NoStage")
    api = _rest_api(stack, "Api", deploy=False)
    with pytest.raises(
        TracingConfigError,
        match=r"^NoStage/Api: .*no deployment stage.*Fix: pass the apigateway.Stage",
    ):
        trace_rest_api(api)


def test_http_api_is_refused_because_xray_cannot_trace_it() -> None:
    stack = Stack(App(), "Http")
    api = apigwv2.HttpApi(stack, "Api")
    with pytest.raises(
        TracingConfigError,
        match=r"^Http/Api: HttpApi is an API Gateway v2.*Fix: use an apigateway.RestApi",
    ):
        trace_rest_api(api)


# -- Step Functions ----------------------------------------------------------------


def _xray_statements(template: assertions.Template, role_prefix: str) -> list[dict[str, Any]]:
    """X-Ray statements reaching the role: policies naming it, managed policies it lists."""
    resources = template.to_json()["Resources"]
    documents = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
        if any(r.startswith(role_prefix) for r in roles):
            documents.append(policy["Properties"]["PolicyDocument"])
    for logical_id, role in template.find_resources("AWS::IAM::Role").items():
        if logical_id.startswith(role_prefix):
            for arn in role["Properties"].get("ManagedPolicyArns", []):
                if isinstance(arn, dict) and "Ref" in arn:
                    documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    found = []
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if any(a.startswith("xray:") for a in actions):
                found.append(statement)
    return found


def test_state_machine_tracing_is_enabled(built: Built) -> None:
    machine = built.template.find_resources(
        "AWS::StepFunctions::StateMachine",
        {"Properties": {"TracingConfiguration": {"Enabled": True}}},
    )
    assert len(machine) == 2  # the one traced here and the pre-traced one


def test_state_machine_role_may_write_traces_once(built: Built) -> None:
    statements = _xray_statements(built.template, "MachineRole")
    assert len(statements) == 1, statements
    assert statements[0]["Resource"] == "*"
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(statements[0]["Action"])


def test_state_machine_waits_for_its_role_which_lists_the_tracing_policy(built: Built) -> None:
    [(policy_id, _)] = built.template.find_resources(
        "AWS::IAM::ManagedPolicy",
        {
            "Properties": {
                "PolicyDocument": {"Statement": [{"Sid": "LambdaXrayStateMachineTracing"}]}
            }
        },
    ).items()
    machine = built.template.to_json()["Resources"][built.logical_id(built.machine)]
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = built.template.to_json()["Resources"][role_id]["Properties"]
    assert {"Ref": policy_id} in role["ManagedPolicyArns"]
    assert role_id in machine["DependsOn"]


def test_pretraced_state_machine_gets_no_second_statement(built: Built) -> None:
    assert len(_xray_statements(built.template, "PreTracedRole")) == 1


def test_imported_state_machine_is_refused() -> None:
    stack = Stack(App(), "ImportedSfn")
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "Theirs", "arn:aws:states:eu-west-1:123456789012:stateMachine:theirs"
    )
    with pytest.raises(
        TracingConfigError, match=r"^ImportedSfn/Theirs: .*imported.*Fix: .*tracing_enabled=True"
    ):
        trace_state_machine(machine)


# --- trace_app traces the callers of the functions it traces ------------------------------


def _callers_app(**options: Any) -> dict[str, Any]:
    """Topics, REST APIs and state machines in front of traced, excluded and explicit ones."""
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sns_subscriptions as subs
    from aws_cdk import aws_stepfunctions_tasks as tasks

    from cdk_lambda_xray.aspect import trace_app

    app = App()
    stack = Stack(app, "Callers")
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")

    def fn(name: str) -> lambda_.Function:
        return lambda_.Function(
            stack, name, runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler", code=code
        )

    traced, excluded = fn("Traced"), fn("Excluded")
    sns.Topic(stack, "Topic").add_subscription(subs.LambdaSubscription(traced))
    sns.Topic(stack, "ExcludedTopic").add_subscription(subs.LambdaSubscription(excluded))
    sns.Topic(stack, "KeptTopic", tracing_config=sns.TracingConfig.PASS_THROUGH).add_subscription(
        subs.LambdaSubscription(traced)
    )
    apigw.LambdaRestApi(stack, "Api", handler=traced)
    apigw.LambdaRestApi(
        stack,
        "KeptApi",
        handler=traced,
        deploy_options=apigw.StageOptions(tracing_enabled=False),
    )
    for name, tracing in (("Machine", None), ("KeptMachine", False)):
        sfn.StateMachine(
            stack,
            name,
            tracing_enabled=tracing,
            definition_body=sfn.DefinitionBody.from_chainable(
                tasks.LambdaInvoke(stack, f"{name}Invoke", lambda_function=traced)
            ),
        )
    trace_app(app, exclude=[excluded], **options)
    resources: dict[str, Any] = assertions.Template.from_stack(stack).to_json()["Resources"]
    return resources


def _by_prefix(resources: dict[str, Any], prefix: str, rtype: str) -> dict[str, Any]:
    (found,) = [
        r.get("Properties", {})
        for lid, r in resources.items()
        if lid.startswith(prefix) and r["Type"] == rtype
    ]
    return dict(found)


@pytest.fixture(scope="module")
def callers() -> dict[str, Any]:
    return _callers_app()


def test_trace_app_turns_on_the_topic_of_a_traced_function(callers: dict[str, Any]) -> None:
    assert _by_prefix(callers, "Topic", "AWS::SNS::Topic")["TracingConfig"] == "Active"
    assert any(r["Type"] == XRAY_POLICY for r in callers.values())


def test_trace_app_leaves_the_topic_of_an_excluded_function(callers: dict[str, Any]) -> None:
    assert "TracingConfig" not in _by_prefix(callers, "ExcludedTopic", "AWS::SNS::Topic")


def test_trace_app_turns_on_the_rest_api_stage(callers: dict[str, Any]) -> None:
    assert _by_prefix(callers, "ApiDeploymentStage", "AWS::ApiGateway::Stage")["TracingEnabled"]


def test_trace_app_turns_on_the_state_machine(callers: dict[str, Any]) -> None:
    machine = _by_prefix(callers, "Machine", "AWS::StepFunctions::StateMachine")
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_trace_app_keeps_explicit_choices(callers: dict[str, Any]) -> None:
    assert _by_prefix(callers, "KeptTopic", "AWS::SNS::Topic")["TracingConfig"] == "PassThrough"
    stage = _by_prefix(callers, "KeptApiDeploymentStage", "AWS::ApiGateway::Stage")
    assert stage["TracingEnabled"] is False
    machine = _by_prefix(callers, "KeptMachine", "AWS::StepFunctions::StateMachine")
    assert machine["TracingConfiguration"] == {"Enabled": False}


def test_trace_app_upstream_false_leaves_every_caller() -> None:
    resources = _callers_app(upstream=False)
    assert "TracingConfig" not in _by_prefix(resources, "Topic", "AWS::SNS::Topic")
    stage = _by_prefix(resources, "ApiDeploymentStage", "AWS::ApiGateway::Stage")
    assert "TracingEnabled" not in stage
    machine = _by_prefix(resources, "Machine", "AWS::StepFunctions::StateMachine")
    assert "TracingConfiguration" not in machine
