"""The typed model the rules and reports work on (built by :mod:`.build`).

Plain data only: functions, layers, roles and their policy statements, event
sources (with whether the hop into the function is traced), SNS topics, API
Gateway stages, state machines, X-Ray resource policies, and what the roles let
each function call. Everything that could not be resolved is listed in
:attr:`Model.unresolved` rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .resolve import ResourceId, Value

__all__ = [
    "ApiStage",
    "Downstream",
    "EventSource",
    "Function",
    "HopStatus",
    "Layer",
    "Model",
    "Role",
    "StateMachine",
    "Statement",
    "Topic",
    "Tracer",
    "Unresolved",
    "XRayPolicy",
]


class HopStatus(StrEnum):
    """Whether the hop from an event source into a function is part of the trace."""

    #: the upstream service records its own segment (active tracing is on)
    TRACED = "traced"
    #: the upstream service can record a segment but tracing is off
    UNTRACED = "untraced"
    #: the service passes the trace context on; there is nothing to switch on
    PROPAGATED = "propagated"
    #: the service does not take part in X-Ray; the trace starts at the function
    NOT_SUPPORTED = "not supported"
    #: the source could not be resolved from the templates
    UNKNOWN = "unknown"

    @property
    def is_gap(self) -> bool:
        """Whether the reports show this hop as a gap in the trace (untraced or unknown)."""
        return self in {HopStatus.UNTRACED, HopStatus.UNKNOWN}


@dataclass(slots=True)
class Statement:
    """One IAM policy statement (actions as written; resources resolved)."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[Value, ...]
    source: str  # the policy it came from (construct path or name)
    has_condition: bool = False


@dataclass(slots=True)
class Role:
    id: ResourceId
    path: str
    statements: list[Statement] = field(default_factory=list)
    #: managed policy ARNs as text (``arn:${AWS::Partition}:iam::aws:policy/...``)
    managed_policies: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Layer:
    """A layer attached to a function: a LayerVersion in the assembly or an ARN."""

    label: str
    id: ResourceId | None = None
    arn: str | None = None
    description: str | None = None
    #: "lambda_xray" when the layer is this project's, else another tracer's name or None
    tracer: str | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class Tracer:
    """An instrumentation recognized on a function (ours or another vendor's)."""

    name: str
    #: "handler" (handler redirect), "exec-wrapper", "layer" (library only)
    mechanism: str
    evidence: str


@dataclass(slots=True)
class Function:
    id: ResourceId
    path: str
    name: str | None
    runtime: str | None
    architectures: tuple[str, ...]
    handler: str | None
    package_type: str
    tracing_mode: str | None
    environment: dict[str, Value]
    layers: list[Layer]
    role: Role | None
    role_text: str | None
    description: str | None
    #: what kind of CDK-internal function this is (None for user functions)
    internal: str | None = None
    tracers: list[Tracer] = field(default_factory=list)
    #: evidence that the code uses Powertools' Tracer (on aws_xray_sdk), see :mod:`.bundled`
    powertools_tracer: str | None = None
    #: (level, message) of CDK warning/error annotations on the function's constructs
    annotations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_python(self) -> bool:
        return bool(self.runtime and self.runtime.startswith("python"))

    @property
    def traced(self) -> bool:
        """Lambda records a segment for this function (tracing mode Active)."""
        return self.tracing_mode == "Active"

    def env_literal(self, name: str) -> str | None:
        value = self.environment.get(name)
        return value.literal if value is not None else None

    @property
    def display(self) -> str:
        return self.path


@dataclass(slots=True)
class EventSource:
    """An edge ``source -> function`` with the state of the hop."""

    kind: str
    label: str
    function: ResourceId
    source: ResourceId | None
    via: ResourceId | None
    hop: HopStatus
    detail: str
    #: the upstream resources whose tracing is off (an untraced hop names them)
    switched_off: tuple[ResourceId, ...] = ()


@dataclass(slots=True)
class Topic:
    id: ResourceId
    path: str
    tracing: str | None


@dataclass(slots=True)
class ApiStage:
    id: ResourceId
    path: str
    api: ResourceId | None
    stage_name: str | None
    tracing_enabled: bool


@dataclass(slots=True)
class StateMachine:
    id: ResourceId
    path: str
    tracing_enabled: bool
    functions: tuple[ResourceId, ...]
    #: the execution role, when it is defined in the assembly
    role: Role | None = None


@dataclass(slots=True)
class XRayPolicy:
    """An ``AWS::XRay::ResourcePolicy``: which service principals may put segments."""

    id: ResourceId
    path: str
    services: frozenset[str]
    #: topics named in aws:SourceArn conditions; None when not restricted to known topics
    source_topics: frozenset[ResourceId] | None
    parse_error: str | None = None


@dataclass(slots=True)
class Downstream:
    """What a function's role lets it call: one target resource or service."""

    function: ResourceId
    service: str
    label: str
    target: ResourceId | None
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value the review needed but could not resolve (shown in every report)."""

    where: str
    expression: str
    reason: str


@dataclass(slots=True)
class Model:
    """Everything the rules see. Built by :func:`cdk_lambda_xray.review.build.build_model`."""

    source: str
    stacks: list[str]
    functions: dict[ResourceId, Function] = field(default_factory=dict)
    roles: dict[ResourceId, Role] = field(default_factory=dict)
    event_sources: list[EventSource] = field(default_factory=list)
    topics: dict[ResourceId, Topic] = field(default_factory=dict)
    stages: list[ApiStage] = field(default_factory=list)
    state_machines: dict[ResourceId, StateMachine] = field(default_factory=dict)
    xray_policies: list[XRayPolicy] = field(default_factory=list)
    downstream: list[Downstream] = field(default_factory=list)
    #: display path of every resource the model mentions
    paths: dict[ResourceId, str] = field(default_factory=dict)
    #: CloudFormation type of every resource in the assembly
    types: dict[ResourceId, str] = field(default_factory=dict)
    unresolved: list[Unresolved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def path_of(self, rid: ResourceId | None) -> str:
        if rid is None:
            return "?"
        return self.paths.get(rid, str(rid))
