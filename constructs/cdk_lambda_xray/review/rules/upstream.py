"""Rules on the hop before a traced function: SNS topics, API Gateway stages, state machines.

Each rule looks only at upstream resources that invoke a function whose tracing
is Active (an untraced function is already reported by XRAY001), and reports
once per upstream resource, naming the functions it reaches. Whether a hop is
traced is judged once, when the model is built (:mod:`..hops`): the rules read
:attr:`~..model.EventSource.hop` and the resources it names as switched off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..model import EventSource, HopStatus, Model
from ..resolve import ResourceId
from .base import Finding, Rule, Severity
from .tracing import missing_xray_actions

_SNS: Final = "sns.amazonaws.com"


def _reaching(model: Model, kind: str) -> dict[ResourceId, tuple[EventSource, list[ResourceId]]]:
    """Upstream resource of ``kind`` -> (its hop into them, the traced functions it invokes).

    Every edge from one source has the same hop (it depends on the source only).
    """
    out: dict[ResourceId, tuple[EventSource, list[ResourceId]]] = {}
    for edge in model.event_sources:
        fn = model.functions.get(edge.function)
        if edge.kind == kind and edge.source is not None and fn is not None and fn.traced:
            out.setdefault(edge.source, (edge, []))[1].append(fn.id)
    return out


def _names(model: Model, functions: list[ResourceId]) -> str:
    return ", ".join(model.path_of(f) for f in functions)


def _sns_tracing(model: Model) -> Iterator[Finding]:
    for rid, (edge, functions) in _reaching(model, "sns").items():
        if edge.hop is not HopStatus.UNTRACED:
            continue
        mode = model.topics[rid].tracing or "PassThrough (default)"
        yield SNS_TRACING.finding(
            model,
            rid,
            f"topic tracing is {mode}: the topic is missing from traces into "
            f"{_names(model, functions)}",
            functions=tuple(functions),
        )


SNS_TRACING: Final = Rule(
    id="XRAY009",
    name="sns-topic-tracing-not-active",
    severity=Severity.WARNING,
    summary="An SNS topic that invokes a traced function does not have active tracing.",
    fix="Subscribe with fn.add_event_source(TracedSnsEventSource(topic)) or call "
    "trace_topic(topic) "
    "(active tracing plus the X-Ray resource policy); by hand: "
    "sns.Topic(tracing_config=sns.TracingConfig.ACTIVE).",
    check=_sns_tracing,
)


def _policy_covers(model: Model, topic: ResourceId) -> bool:
    return any(
        _SNS in p.services and (p.source_topics is None or topic in p.source_topics)
        for p in model.xray_policies
    )


def _sns_policy(model: Model) -> Iterator[Finding]:
    for rid, (edge, functions) in _reaching(model, "sns").items():
        if edge.hop is not HopStatus.TRACED or _policy_covers(model, rid):
            continue
        yield SNS_POLICY.finding(
            model,
            rid,
            f"no X-Ray resource policy in this app lets {_SNS} send segments for this "
            "topic: its active tracing records nothing",
            functions=tuple(functions),
        )


SNS_POLICY: Final = Rule(
    id="XRAY010",
    name="sns-xray-resource-policy-missing",
    severity=Severity.WARNING,
    summary="An actively traced SNS topic has no X-Ray resource policy for sns.amazonaws.com.",
    fix="Call trace_topic(topic) (it adds SnsTracingPolicy); if the account's policy "
    "is managed elsewhere, suppress this finding with that reason.",
    check=_sns_policy,
)


def _api_stage(model: Model) -> Iterator[Finding]:
    stages = {stage.id: stage for stage in model.stages}
    for edge, functions in _reaching(model, "apigateway").values():
        for stage_id in edge.switched_off:
            yield API_STAGE.finding(
                model,
                stage_id,
                f"stage {stages[stage_id].stage_name or '?'} has tracing disabled: API Gateway "
                f"is missing from traces into {_names(model, functions)}",
                functions=tuple(functions),
            )


API_STAGE: Final = Rule(
    id="XRAY011",
    name="apigateway-stage-tracing-disabled",
    severity=Severity.WARNING,
    summary="A REST API stage in front of a traced function has tracing disabled.",
    fix="Call trace_rest_api(api), or deploy_options=apigw.StageOptions("
    "tracing_enabled=True); raw stages: TracingEnabled: true.",
    check=_api_stage,
)


def _state_machine(model: Model) -> Iterator[Finding]:
    for rid, (edge, functions) in _reaching(model, "stepfunctions").items():
        sm = model.state_machines.get(rid)
        if sm is None:
            continue
        if edge.hop is HopStatus.UNTRACED:
            yield STATE_MACHINE.finding(
                model,
                rid,
                "state machine tracing is disabled: executions are missing from traces "
                f"into {_names(model, functions)}",
                functions=tuple(functions),
            )
        elif sm.role is not None and (missing := missing_xray_actions(sm.role)):
            yield STATE_MACHINE.finding(
                model,
                rid,
                f"state machine tracing is enabled but role {sm.role.path} does not allow "
                f"{', '.join(missing)} on '*': its segments are dropped",
                functions=tuple(functions),
            )


STATE_MACHINE: Final = Rule(
    id="XRAY012",
    name="state-machine-tracing-disabled",
    severity=Severity.WARNING,
    summary="A state machine that invokes a traced function has tracing disabled (or its "
    "role cannot write to X-Ray).",
    fix="Call trace_state_machine(state_machine), or sfn.StateMachine(tracing_enabled=True).",
    check=_state_machine,
)
