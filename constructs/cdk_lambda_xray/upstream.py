"""Trace the hop *before* a Lambda function: SNS topics, API Gateway stages, Step Functions.

X-Ray can only show a connected trace if the service that invokes the function
takes part in it. Three services can record their own segment when asked to:

- an SNS topic with active tracing (it also needs an X-Ray resource policy that
  lets ``sns.amazonaws.com`` send segments: :class:`SnsTracingPolicy`);
- an API Gateway REST API stage with ``TracingEnabled``;
- a Step Functions state machine with ``TracingConfiguration.Enabled`` (its role
  needs the X-Ray write actions).

Each helper here is idempotent: calling it twice changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from aws_cdk import Aws, Fn, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_xray as xray
from constructs import Construct, IConstruct

from . import _inputs, ids
from ._permissions import shared_managed_policy
from .errors import TracingConfigError

__all__ = [
    "SNS_XRAY_ACTIONS",
    "SnsTracingPolicy",
    "sns_resource_policy_enabled",
    "trace_rest_api",
    "trace_state_machine",
    "trace_topic",
]

#: What SNS needs from X-Ray to record a topic's segment (X-Ray developer guide,
#: "Amazon SNS and AWS X-Ray").
SNS_XRAY_ACTIONS: Final = (
    "xray:PutTraceSegments",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)

#: What a Step Functions state machine's role needs when tracing is on
#: (the same set CDK grants for ``tracing_enabled=True``).
_STATE_MACHINE_XRAY_ACTIONS: Final = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)

#: CDK context key: set to ``false`` when the account's X-Ray resource policy is
#: managed elsewhere (X-Ray allows only a few policies per account), or when the
#: target (a local emulator) does not know ``AWS::XRay::ResourcePolicy``.
CONTEXT_SNS_RESOURCE_POLICY: Final = ids.CONTEXT_SNS_RESOURCE_POLICY

_STATE_MACHINE_POLICY_ID: Final = ids.STATE_MACHINE_TRACING_POLICY
_STATE_MACHINE_NAG_REASON: Final = (
    "X-Ray trace and sampling actions (xray:PutTraceSegments, xray:PutTelemetryRecords, "
    "xray:GetSamplingRules, xray:GetSamplingTargets) support no resource-level "
    "permissions; AWS requires Resource '*' for them."
)

_POLICY_ID: Final = ids.SNS_TRACING_POLICY
_POLICY_SUFFIX: Final = "-sns-xray-tracing"
_POLICY_NAME_MAX: Final = 128  # AWS::XRay::ResourcePolicy PolicyName, pattern [\w+=,.@-]+
_SID: Final = "SnsActiveTracing"


def sns_resource_policy_enabled(scope: IConstruct) -> bool:
    """Whether helpers create the SNS X-Ray resource policy in ``scope``'s app.

    ``True`` unless the CDK context value ``@lambda-xray/sns-xray-resource-policy``
    is ``false`` (``cdk synth -c @lambda-xray/sns-xray-resource-policy=false``); the old
    spelling ``@cdk-lambda-xray/...`` is read too, for one release.
    """
    value = ids.context_value(scope, CONTEXT_SNS_RESOURCE_POLICY)
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise TracingConfigError(
        scope.node.path or "App",
        f"CDK context {CONTEXT_SNS_RESOURCE_POLICY!r} is {value!r}, not a boolean",
        f"use true or false, for example `cdk synth -c {CONTEXT_SNS_RESOURCE_POLICY}=false`",
    )


class SnsTracingPolicy(Construct):
    """The stack's ``AWS::XRay::ResourcePolicy`` that lets SNS send trace segments.

    One per stack (use :meth:`of`); each topic added with :meth:`allow_topic`
    widens the ``aws:SourceArn`` condition. The policy is scoped to the stack's
    account (``aws:SourceAccount``) and to the listed topics. Its name contains
    the stack name, so stacks in one account do not collide (policy names are
    unique per account and Region).
    """

    @_inputs.entry(
        "SnsTracingPolicy",
        _inputs.scope_and_id("scope", "construct_id"),
        scope=_inputs.CONSTRUCT,
        construct_id=_inputs.CONSTRUCT_ID,
    )
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._stack = Stack.of(self)
        self._topic_arns: list[str] = []
        self.resource = xray.CfnResourcePolicy(
            self,
            "Resource",
            policy_name=_policy_name(self._stack),
            policy_document=self._render(),
        )

    @classmethod
    @_inputs.entry("SnsTracingPolicy.of", _inputs.at("scope"), scope=_inputs.CONSTRUCT)
    def of(cls, scope: IConstruct) -> SnsTracingPolicy:
        """The policy of ``scope``'s stack, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(_POLICY_ID)
        if existing is None:
            return cls(stack, _POLICY_ID)
        if not isinstance(existing, cls):
            raise TracingConfigError(
                existing.node.path,
                f"the construct id {_POLICY_ID!r} is reserved by cdk_lambda_xray for the "
                f"stack's SNS X-Ray resource policy, but this is a {type(existing).__name__}",
                "rename your construct",
            )
        return existing

    @property
    def policy_name(self) -> str:
        """The ``PolicyName`` (may be a token for nested stacks)."""
        return self.resource.policy_name

    @property
    def topic_arns(self) -> tuple[str, ...]:
        """Topic ARNs (usually tokens) allowed so far."""
        return tuple(self._topic_arns)

    @_inputs.entry("allow_topic", _inputs.at("topic"), topic=_inputs.interface(sns.ITopic))
    def allow_topic(self, topic: sns.ITopic) -> None:
        """Let ``topic`` send its active-tracing segments to X-Ray. Idempotent."""
        if Stack.of(topic) is not self._stack:
            raise TracingConfigError(
                topic.node.path,
                f"the topic is in stack {Stack.of(topic).node.path} but this X-Ray "
                f"resource policy belongs to stack {self._stack.node.path}",
                "use SnsTracingPolicy.of(topic) so the policy lives with the topic",
            )
        arn = topic.topic_arn
        if arn in self._topic_arns:
            return
        self._topic_arns.append(arn)
        self.resource.policy_document = self._render()

    def _render(self) -> str:
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        if self._topic_arns:
            condition["StringLike"] = {"aws:SourceArn": list(self._topic_arns)}
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": _SID,
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": list(SNS_XRAY_ACTIONS),
                    "Resource": "*",
                    "Condition": condition,
                }
            ],
        }
        return self._stack.to_json_string(document)


def _policy_name(stack: Stack) -> str:
    name = stack.stack_name
    if Token.is_unresolved(name):  # nested stacks: known only at deploy time
        return Fn.join("", [Aws.STACK_NAME, _POLICY_SUFFIX])
    full = f"{name}{_POLICY_SUFFIX}"
    if len(full) <= _POLICY_NAME_MAX:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = _POLICY_NAME_MAX - len(_POLICY_SUFFIX) - len(digest) - 1
    return f"{name[:keep]}-{digest}{_POLICY_SUFFIX}"


@_inputs.entry(
    "trace_topic",
    _inputs.at("topic"),
    topic=_inputs.interface(sns.ITopic),
    resource_policy=_inputs.optional(_inputs.BOOL),
)
def trace_topic(topic: sns.ITopic, *, resource_policy: bool | None = None) -> sns.ITopic:
    """Turn on active tracing for an SNS topic defined in this app.

    Sets ``TracingConfig: Active`` on the topic and allows the topic in its
    stack's :class:`SnsTracingPolicy`. Idempotent.

    Args:
        topic: an ``sns.Topic`` created in this app (imported topics cannot be changed).
        resource_policy: create/extend the X-Ray resource policy SNS needs.
            Default: ``True`` unless the context key
            ``@lambda-xray/sns-xray-resource-policy`` is ``false``.

    Raises:
        TracingConfigError: the topic is imported, or its tracing was explicitly
            set to PassThrough.
    """
    cfn = topic.node.default_child
    if not isinstance(topic, sns.Topic) or not isinstance(cfn, sns.CfnTopic):
        raise TracingConfigError(
            topic.node.path,
            "this SNS topic is imported (not defined in this app), so its active tracing "
            "cannot be turned on here",
            "turn it on where the topic is defined (trace_topic(topic) or sns.Topic(..., "
            "tracing_config=sns.TracingConfig.ACTIVE)), or pass active_tracing=False "
            "when wiring it",
        )
    current = cfn.tracing_config
    if current is not None and not Token.is_unresolved(current) and current != "Active":
        raise TracingConfigError(
            topic.node.path,
            f"the SNS topic has tracing_config {current!r}, and an explicit choice is "
            "never overridden",
            "use sns.TracingConfig.ACTIVE on the topic, or pass active_tracing=False "
            "when wiring it",
        )
    cfn.tracing_config = "Active"
    wanted = sns_resource_policy_enabled(topic) if resource_policy is None else resource_policy
    if wanted:
        SnsTracingPolicy.of(topic).allow_topic(topic)
    return topic


@_inputs.entry(
    "trace_rest_api",
    _inputs.at("api"),
    api=_inputs.interface(
        IConstruct,
        "pass an apigateway.RestApi, SpecRestApi, LambdaRestApi, Stage or CfnStage",
    ),
)
def trace_rest_api(api: IConstruct) -> apigw.CfnStage:
    """Turn on X-Ray tracing for an API Gateway REST API stage.

    Accepts a ``RestApi`` / ``SpecRestApi`` / ``LambdaRestApi`` (its
    deployment stage), an ``apigateway.Stage`` or an ``apigateway.CfnStage``.
    Returns the ``CfnStage`` changed. Idempotent.

    Raises:
        TracingConfigError: an HTTP/WebSocket API (API Gateway v2 has no X-Ray
            tracing), a REST API without a deployment stage, or an imported one.
    """
    stage = _cfn_stage_of(api)
    stage.tracing_enabled = True
    return stage


def _cfn_stage_of(api: IConstruct) -> apigw.CfnStage:
    path = api.node.path
    if isinstance(api, apigwv2.HttpApi | apigwv2.WebSocketApi | apigwv2.CfnApi):
        raise TracingConfigError(
            path,
            f"{type(api).__name__} is an API Gateway v2 (HTTP/WebSocket) API, which "
            "X-Ray cannot trace",
            "use an apigateway.RestApi if you need the API Gateway hop in your traces "
            "(the Lambda function behind the API is traced either way)",
        )
    if isinstance(api, apigw.CfnStage):
        return api
    if isinstance(api, apigw.Stage):
        child = api.node.default_child
        if isinstance(child, apigw.CfnStage):
            return child
    elif isinstance(api, apigw.RestApiBase):
        if not _has_stage(api):
            raise TracingConfigError(
                path,
                "this REST API has no deployment stage (deploy=False)",
                "pass the apigateway.Stage you create yourself to trace_rest_api()",
            )
        return _cfn_stage_of(api.deployment_stage)
    raise TracingConfigError(
        path,
        f"trace_rest_api() got a {type(api).__name__}, which has no stage it can change "
        "(imported APIs' stages cannot be changed here)",
        "pass an apigateway.RestApi, SpecRestApi, LambdaRestApi, Stage or CfnStage "
        "defined in this app",
    )


def _has_stage(api: apigw.RestApiBase) -> bool:
    try:
        api.deployment_stage  # noqa: B018 - raises when the API has none
    except Exception:  # jsii raises a plain RuntimeError-like error
        return False
    return True


@_inputs.entry(
    "trace_state_machine",
    _inputs.at("state_machine"),
    state_machine=_inputs.interface(sfn.IStateMachine),
)
def trace_state_machine(state_machine: sfn.IStateMachine) -> sfn.StateMachine:
    """Turn on X-Ray tracing for a Step Functions state machine defined in this app.

    Sets ``TracingConfiguration.Enabled`` and grants its role the X-Ray write and
    sampling actions (``Resource: "*"``: these actions support no resource
    scoping). A state machine created with ``tracing_enabled=True`` is left as is.

    Raises:
        TracingConfigError: the state machine is imported.
    """
    cfn = state_machine.node.default_child
    if not isinstance(state_machine, sfn.StateMachine) or not isinstance(cfn, sfn.CfnStateMachine):
        raise TracingConfigError(
            state_machine.node.path,
            "this state machine is imported (not defined in this app), so its tracing "
            "cannot be turned on here",
            "use sfn.StateMachine(..., tracing_enabled=True) where it is defined",
        )
    if _tracing_enabled(cfn):
        return state_machine
    cfn.tracing_configuration = sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True)
    # A managed policy per stack holding only this statement: the cdk-nag
    # acknowledgement covers exactly it, and no pack's inline-policy rule applies.
    policy = shared_managed_policy(
        state_machine,
        _STATE_MACHINE_POLICY_ID,
        lambda: iam.PolicyStatement(
            sid="LambdaXrayStateMachineTracing",
            actions=list(_STATE_MACHINE_XRAY_ACTIONS),
            resources=["*"],
        ),
        "lambda-xray: lets Step Functions send the traces of state machines with tracing "
        "enabled (X-Ray allows no resource scoping for these actions)",
        _STATE_MACHINE_NAG_REASON,
    )
    role = state_machine.role
    if isinstance(role, iam.Role):
        role.add_managed_policy(policy)  # the machine waits for its role
    else:
        policy.attach_to_role(role)
        cfn.node.add_dependency(policy)
    return state_machine


def _tracing_enabled(cfn: sfn.CfnStateMachine) -> bool:
    config = cfn.tracing_configuration
    if isinstance(config, sfn.CfnStateMachine.TracingConfigurationProperty):
        return config.enabled is True
    return False
