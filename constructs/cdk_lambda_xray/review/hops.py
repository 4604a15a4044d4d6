"""Whether the hop from an event source into a function is part of the trace: judged once.

:func:`judge_hop` decides it for every edge when the model is built
(:meth:`.extract.context.Extraction.edge`); the rules on upstream resources
(:mod:`.rules.upstream`) and the reports read the result from
:class:`~.model.EventSource` and never decide it again. A hop that is not traced
names the resources whose tracing is off (the topic, the stages, the state
machine) in :attr:`Hop.switched_off`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aws_facts import FIXED_HOPS
from .model import HopStatus, Model
from .resolve import ResourceId

__all__ = ["Hop", "judge_hop"]


@dataclass(frozen=True, slots=True)
class Hop:
    """The state of one hop, why, and which upstream resources have tracing off."""

    status: HopStatus
    detail: str
    switched_off: tuple[ResourceId, ...] = ()


def judge_hop(model: Model, kind: str, source: ResourceId | None) -> Hop:
    """The hop from ``source`` (an event source of ``kind``) into a function.

    Needs the model's topics, API stages and state machines (built before any
    event source).
    """
    if kind in FIXED_HOPS:
        return Hop(*FIXED_HOPS[kind])
    if kind == "sns":
        return _sns(model, source)
    if kind == "apigateway":
        return _rest_api(model, source)
    if kind == "stepfunctions":
        sm = model.state_machines.get(source) if source else None
        if sm is not None:
            if sm.tracing_enabled:
                return Hop(HopStatus.TRACED, "state machine tracing enabled")
            return Hop(HopStatus.UNTRACED, "state machine tracing off", (sm.id,))
    return Hop(HopStatus.UNKNOWN, f"whether {kind} passes the trace context is not known")


def _sns(model: Model, source: ResourceId | None) -> Hop:
    topic = model.topics.get(source) if source else None
    if topic is None:
        return Hop(HopStatus.UNKNOWN, "topic is not in this assembly")
    if topic.tracing == "Active":
        return Hop(HopStatus.TRACED, "topic tracing Active")
    mode = topic.tracing or "PassThrough (default)"
    return Hop(HopStatus.UNTRACED, f"topic tracing {mode}", (topic.id,))


def _rest_api(model: Model, source: ResourceId | None) -> Hop:
    stages = [s for s in model.stages if source is not None and s.api == source]
    if not stages:
        return Hop(HopStatus.UNKNOWN, "no stage of this API in the assembly")
    off = [s for s in stages if not s.tracing_enabled]
    if off:
        names = ", ".join(s.stage_name or s.path for s in off)
        return Hop(HopStatus.UNTRACED, f"stage tracing off: {names}", tuple(s.id for s in off))
    names = ", ".join(s.stage_name or s.path for s in stages)
    return Hop(HopStatus.TRACED, f"stage tracing enabled: {names}")
