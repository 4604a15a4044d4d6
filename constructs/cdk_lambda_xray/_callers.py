"""Trace the callers of traced functions: SNS topics, REST API stages, state machines.

``trace_app`` turns on the upstream hop's tracing for every SNS topic, API
Gateway REST API stage and Step Functions state machine of a stack that
invokes a function whose tracing will be Active, with the very helpers users
call by hand (:func:`~.upstream.trace_topic`, :func:`~.upstream.trace_rest_api`,
:func:`~.upstream.trace_state_machine`). The links are read from the
resources' properties as they will be synthesized: a subscription's
``Endpoint``, a method's integration ``Uri``, a state machine's definition.
An explicit choice is never overridden: a topic with ``PassThrough``, a stage
with ``TracingEnabled: false`` or a state machine with tracing disabled keeps
it, with an info annotation. Links across stacks (imports) are not followed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from ._reflect import resolved_properties
from .errors import TracingConfigError
from .upstream import trace_rest_api, trace_state_machine, trace_topic

__all__ = ["trace_callers"]

_FUNCTION_TYPE = "AWS::Lambda::Function"
_CALLERS = (sns.CfnSubscription, apigw.CfnMethod, sfn.CfnStateMachine)


def trace_callers(stack: cdk.Stack, will_be_active: Callable[[cdk.CfnResource], bool]) -> None:
    """Turn on tracing for the callers in ``stack`` of functions ``will_be_active`` accepts."""
    constructs = stack.node.find_all()
    callers = [c for c in constructs if isinstance(c, _CALLERS) and _in(c, stack)]
    if not callers:
        return
    # Only what a link can name: functions, topics, stages (one jsii call each, or a few).
    linked = [c for c in constructs if isinstance(c, cdk.CfnResource) and _is_linked(c)]
    by_id = {stack.resolve(c.logical_id): c for c in linked if _in(c, stack)}
    traced = {
        logical_id
        for logical_id, resource in by_id.items()
        if _is_function(resource) and will_be_active(resource)
    }
    if not traced:
        return
    for caller in callers:
        props = resolved_properties(caller) or {}
        if isinstance(caller, sns.CfnSubscription):
            _subscription(props, traced, by_id)
        elif isinstance(caller, apigw.CfnMethod):
            _method(props, traced, by_id)
        elif _references(props.get("DefinitionString"), traced):
            _state_machine(caller)


def _in(construct: IConstruct, stack: cdk.Stack) -> bool:
    """In ``stack`` itself, not in a nested stack under it (jsii keeps one proxy per object)."""
    return cdk.Stack.of(construct) is stack


def _is_function(resource: cdk.CfnResource) -> bool:
    return isinstance(resource, lambda_.CfnFunction) or (
        type(resource) is cdk.CfnResource and resource.cfn_resource_type == _FUNCTION_TYPE
    )


def _is_linked(resource: cdk.CfnResource) -> bool:
    """A function (L1 or raw, like CDK's own handlers), a topic or a stage."""
    if isinstance(resource, sns.CfnTopic | apigw.CfnStage):
        return True
    return _is_function(resource)


def _subscription(
    props: dict[str, Any], traced: set[str], by_id: dict[str, cdk.CfnResource]
) -> None:
    if props.get("Protocol") != "lambda" or not _references(props.get("Endpoint"), traced):
        return
    topic_cfn = by_id.get(_ref(props.get("TopicArn")) or "")
    topic = topic_cfn.node.scope if topic_cfn is not None else None
    if not isinstance(topic, sns.Topic) or not isinstance(topic_cfn, sns.CfnTopic):
        return  # imported or another stack's topic: nothing to change here
    current = topic_cfn.tracing_config
    if current is not None and current != "Active":
        _kept(topic, f"the topic's tracing is {current!r}")
        return
    _guarded(topic, lambda: trace_topic(topic))


def _method(props: dict[str, Any], traced: set[str], by_id: dict[str, cdk.CfnResource]) -> None:
    integration = props.get("Integration")
    if not isinstance(integration, dict) or not _references(integration.get("Uri"), traced):
        return
    api = _ref(props.get("RestApiId"))
    for resource in by_id.values():
        if not isinstance(resource, apigw.CfnStage):
            continue
        stage = resolved_properties(resource) or {}
        if _ref(stage.get("RestApiId")) != api:
            continue
        if stage.get("TracingEnabled") is False:
            _kept(resource, "the stage sets TracingEnabled: false")
            continue
        _guarded(resource, functools.partial(trace_rest_api, resource))


def _state_machine(resource: cdk.CfnResource) -> None:
    machine = resource.node.scope
    if not isinstance(machine, sfn.StateMachine):
        _kept(resource, "only an sfn.StateMachine can be changed here")
        return
    config = resolved_properties(resource) or {}
    tracing = config.get("TracingConfiguration")
    if isinstance(tracing, dict) and tracing.get("Enabled") is False:
        _kept(machine, "the state machine sets tracing_enabled=False")
        return
    _guarded(machine, lambda: trace_state_machine(machine))


def _guarded(construct: IConstruct, trace: Callable[[], object]) -> None:
    try:
        trace()
    except TracingConfigError as err:
        cdk.Annotations.of(construct).add_warning_v2(
            "lambda-xray:UpstreamNotTraced", f"lambda-xray: {err}"
        )


def _kept(construct: IConstruct, why: str) -> None:
    cdk.Annotations.of(construct).add_info(
        f"lambda-xray: it invokes a traced function but {why}; kept as set, so this hop is "
        "missing from the traces"
    )


def _ref(value: object) -> str | None:
    if isinstance(value, dict) and list(value) == ["Ref"] and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def _references(value: object, logical_ids: set[str]) -> bool:
    """Whether ``value`` holds a ``Ref`` or ``Fn::GetAtt`` of one of ``logical_ids``."""
    return any(target in logical_ids for target in _targets(value))


def _targets(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        if len(value) == 1:
            key, inner = next(iter(value.items()))
            if key == "Ref" and isinstance(inner, str):
                yield inner
                return
            if key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                yield str(inner[0])
                return
        for item in value.values():
            yield from _targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _targets(item)
