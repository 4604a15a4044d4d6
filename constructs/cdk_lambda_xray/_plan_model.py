"""The planner's vocabulary: facts about a function, options, findings and the plan.

Standard library only (see :mod:`._plan`, which decides).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "APPLICATION_SIGNALS_POLICY",
    "ENV_FORMAT",
    "ENV_OTLP_UNSAMPLED",
    "MAX_LAYERS",
    "MIN_PYTHON_MINOR",
    "PYTHON_RUNTIME",
    "UNKNOWN",
    "CodeFacts",
    "Finding",
    "FunctionFacts",
    "LayerParts",
    "Level",
    "Plan",
    "TraceFormat",
    "TracingOptions",
    "is_python",
    "layer_supports_runtime",
    "runtime_label",
]

MAX_LAYERS: Final = 5

#: The oldest Python the tracing layer supports (``python3.<MIN_PYTHON_MINOR>``).
MIN_PYTHON_MINOR: Final = 10

#: The AWS managed policy AWS documents for Application Signals on Lambda.
APPLICATION_SIGNALS_POLICY: Final = "CloudWatchLambdaApplicationSignalsExecutionRolePolicy"

#: Wire format switch of the layer and its two values.
ENV_FORMAT: Final = "LAMBDA_XRAY_FORMAT"
#: ``true``: also send unsampled spans (``T1U``), as Application Signals needs.
ENV_OTLP_UNSAMPLED: Final = "LAMBDA_XRAY_OTLP_UNSAMPLED"

#: A Python 3 runtime name, with its minor version.
PYTHON_RUNTIME: Final = re.compile(r"^python3\.(?P<minor>[0-9]+)$")


class _Unknown:
    """A value only known at deploy time (a token, an intrinsic): never judged."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


#: Stands for a value that is not known at synth time.
UNKNOWN: Final = _Unknown()


class Level(enum.Enum):
    """How much a finding matters. An error stops ``TracedFunction``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class TraceFormat(enum.Enum):
    """What the tracing layer sends to the X-Ray daemon address.

    Written to ``LAMBDA_XRAY_FORMAT``; only the Python tracing layer reads it.
    """

    #: X-Ray segment documents (the default; the X-Ray console and trace map).
    XRAY = "xray"
    #: OpenTelemetry spans (OTLP) for CloudWatch Transaction Search and
    #: Application Signals.
    OTLP = "otlp"


class LayerParts(enum.Enum):
    """Which parts of the tracing layer a function's layer version holds, beyond its core.

    The layer is cut into parts (``api``, ``otlp``, ``compat``, ``requests``,
    ``async_http``, ``databases``; docs/constructs.md) so each function downloads only what it
    runs. Pass a list of part names instead to add those parts to what
    :attr:`AUTO` chooses (``layer_parts=["databases"]``).
    """

    #: What the function shows it needs: its trace format, the client libraries
    #: in its code and its other layers, a use of the user API (its code names
    #: ``lambda_xray``), an import of ``lambda_xray.compat``; every part when
    #: its code cannot be read. The default.
    AUTO = "auto"
    #: Every part, whatever the code shows.
    ALL = "all"


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """What a function's code and its other layers show, for choosing the layer's parts."""

    #: top-level import names found in the code asset or a layer asset
    #: (``httpx``, ``redis``, ...; only the names a layer part lists are looked for)
    libraries: frozenset[str] = frozenset()
    #: a module of the function's own code (or of a layer's) imports ``lambda_xray.compat``
    imports_compat: bool = False
    #: a module of the function's own code (or of a layer's) names ``lambda_xray``:
    #: it may call the user API (``annotate``, ``metadata``, ``subsegment``)
    uses_api: bool = False
    #: why the code (or a layer) could not be read in full; then every part is chosen
    unreadable: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the planner found: ``id`` is the stable annotation id."""

    id: str
    level: Level
    problem: str
    fix: str

    @property
    def message(self) -> str:
        """The annotation text: ``lambda-xray: <problem>. Fix: <fix>`` (or just the problem)."""
        if not self.fix:
            return f"lambda-xray: {self.problem}"
        return f"lambda-xray: {self.problem}. Fix: {self.fix}"


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    """What a caller knows about one function, before any change.

    A value that is a token at synth time is :data:`UNKNOWN`.
    """

    #: ``python3.12``, ``nodejs20.x``, ... (``None`` for a container image)
    runtime: str | _Unknown | None
    #: ``Handler`` (``None`` for a container image)
    handler: str | _Unknown | None = None
    #: the function's variables as given (values may be :data:`UNKNOWN`); the
    #: whole mapping is :data:`UNKNOWN` when it is a token
    environment: Mapping[str, object] | _Unknown = field(default_factory=dict)
    #: how many layers the function has before ours
    layer_count: int | _Unknown = 0
    #: a container image function
    image: bool = False
    #: the ``TracingConfig.Mode`` the function already has (``None``: none set)
    tracing: object = None
    #: CDK's ``adot_instrumentation`` prop is set
    adot_instrumentation: bool = False
    #: this project's tracing layer is attached (``None``: not known, as at synth)
    our_layer: bool | None = None
    #: the function's role is a role of the app (it can be given AWS managed policies)
    role_in_app: bool = True
    #: what its code shows (``None``: not looked at, as by the review, which
    #: does not choose layers: every part, without a finding)
    code: CodeFacts | None = None


@dataclass(frozen=True, slots=True)
class TracingOptions:
    """What the caller asks for; ``None`` means "the default"."""

    #: ``TracedFunction`` (True) or a sweep over functions (the aspect, the review)
    explicit: bool
    #: ``Active``, ``PassThrough`` or ``None`` (tracing disabled: no config)
    tracing: str | None = "Active"
    context_missing: str | None = None
    service_name: str | None = None
    capture_response: bool | None = None
    capture_error: bool | None = None
    #: a tracing layer was given by the user (used even for an old Python)
    own_layer: bool = False
    trace_format: TraceFormat | None = None
    application_signals: bool = False
    #: :class:`LayerParts`, or the names of parts to add to what ``AUTO`` chooses
    layer_parts: LayerParts | tuple[str, ...] = LayerParts.AUTO


@dataclass(frozen=True, slots=True)
class Plan:
    """What to change on the function, and what was found."""

    #: ``TracingConfig.Mode`` to set (``None``: leave it as it is)
    tracing: str | None = None
    #: give the role ``xray:PutTraceSegments`` and ``xray:PutTelemetryRecords``
    grant_xray_write: bool = False
    #: attach the tracing layer
    layer: bool = False
    #: the runtime can run the layer (a Python the layer serves, or the user's own layer)
    layer_runtime: bool = False
    #: the new ``Handler`` (``None``: keep it)
    handler: str | None = None
    #: variables to set, in order (a key already set is overwritten in place)
    environment: tuple[tuple[str, str], ...] = ()
    #: AWS managed policies (names) the function's role needs
    managed_policies: tuple[str, ...] = ()
    #: the parts of the tracing layer it needs besides ``core``, in the
    #: order of ``_layer_parts.PARTS`` (only read when :attr:`layer` is set)
    layer_parts: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that stop an explicit caller."""
        return tuple(f for f in self.findings if f.level is Level.ERROR)


def layer_supports_runtime(name: str) -> bool:
    """Whether the tracing layer runs on runtime ``name`` (``python3.10`` and newer)."""
    match = PYTHON_RUNTIME.match(name)
    return match is not None and int(match["minor"]) >= MIN_PYTHON_MINOR


def runtime_label(facts: FunctionFacts) -> str:
    return "a container image" if facts.image else f"the {facts.runtime} runtime"


def is_python(facts: FunctionFacts) -> bool:
    return isinstance(facts.runtime, str) and facts.runtime.startswith("python")
