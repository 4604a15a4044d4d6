"""How a review reads to people: the per-function table, hop marks and the summary line.

The reports (Markdown, HTML, JSON) and the command line all take their wording
from here; the engine (:mod:`.review`, the rules, the model) holds no text for
display. :func:`function_rows` is computed once per report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._contract import ENV_CONTEXT_MISSING, ENV_HANDLER, WRAPPER_HANDLER
from .model import EventSource, Function, HopStatus
from .resolve import ResourceId
from .review import Review
from .rules import Finding, Severity
from .rules.tracing import missing_xray_actions
from .tracers import OURS, our_layer

__all__ = ["FunctionRow", "function_rows", "hop_symbol", "summary_line"]


@dataclass(slots=True)
class FunctionRow:
    """One line of the per-function table (plain strings, ready to render)."""

    id: str
    path: str
    runtime: str
    architecture: str
    tracing: str
    traced: bool
    internal: str | None
    layer: str
    handler: str
    context_missing: str
    iam: str
    tracer: str
    sources: list[EventSource]
    calls: list[str]
    findings: list[Finding]
    suppressed: int = 0
    #: CDK warning/error annotations (level, message) on the function's constructs
    annotations: list[tuple[str, str]] = field(default_factory=list)


def function_rows(review: Review) -> list[FunctionRow]:
    """One row per function, sorted by path, with its findings, sources and calls."""
    model = review.model
    by_fn: dict[ResourceId, list[Finding]] = {}
    for f in review.findings:
        for rid in f.functions or (f.resource,):
            by_fn.setdefault(rid, []).append(f)
    suppressed: dict[ResourceId, int] = {}
    for f, _ in review.suppressed:
        for rid in f.functions or (f.resource,):
            suppressed[rid] = suppressed.get(rid, 0) + 1
    sources: dict[ResourceId, list[EventSource]] = {}
    for edge in model.event_sources:
        sources.setdefault(edge.function, []).append(edge)
    calls: dict[ResourceId, list[str]] = {}
    for d in model.downstream:
        calls.setdefault(d.function, []).append(d.label)
    rows = []
    for fn in sorted(model.functions.values(), key=lambda f: f.path):
        rows.append(
            FunctionRow(
                id=str(fn.id),
                path=fn.path,
                runtime=fn.runtime or ("container image" if fn.package_type == "Image" else "?"),
                architecture=", ".join(fn.architectures),
                tracing=fn.tracing_mode or "not set",
                traced=fn.traced,
                internal=fn.internal,
                layer=_layer_text(fn),
                handler=_handler_text(fn),
                context_missing=_context_missing_text(fn),
                iam=_iam_text(fn),
                tracer=_tracer_text(fn),
                sources=sources.get(fn.id, []),
                calls=calls.get(fn.id, []),
                findings=by_fn.get(fn.id, []),
                suppressed=suppressed.get(fn.id, 0),
                annotations=list(fn.annotations),
            )
        )
    return rows


def _tracer_text(fn: Function) -> str:
    names = [t.name for t in fn.tracers]
    if fn.powertools_tracer is not None:
        names.append("Powertools Tracer")
    return ", ".join(names) or "none"


def _layer_text(fn: Function) -> str:
    layer = our_layer(fn)
    if layer is not None:
        return f"lambda_xray ({layer.label})"
    others = [lay.tracer or lay.label for lay in fn.layers]
    return ", ".join(others) if others else "none"


def _handler_text(fn: Function) -> str:
    if fn.handler == WRAPPER_HANDLER:
        original = fn.environment.get(ENV_HANDLER)
        return f"wrapped ({original.text() if original else '?'})"
    wrapper = next((t for t in fn.tracers if t.mechanism != "layer" and t.name != OURS), None)
    if wrapper is not None:
        return f"{wrapper.name}: {fn.handler or '?'}"
    return f"not wrapped ({fn.handler or '?'})"


def _context_missing_text(fn: Function) -> str:
    value = fn.environment.get(ENV_CONTEXT_MISSING)
    return value.text() if value is not None else "unset"


def _iam_text(fn: Function) -> str:
    if fn.role is None:
        return f"role outside app ({fn.role_text or '?'})"
    missing = missing_xray_actions(fn.role)
    if not missing:
        return "X-Ray write: yes"
    return "X-Ray write: missing " + ", ".join(a.split(":", 1)[1] for a in missing)


_HOP_SYMBOLS = {
    HopStatus.TRACED: "traced",
    HopStatus.PROPAGATED: "passes context",
    HopStatus.UNTRACED: "NOT traced",
    HopStatus.NOT_SUPPORTED: "no X-Ray support",
    HopStatus.UNKNOWN: "unknown",
}


def hop_symbol(hop: HopStatus) -> str:
    """A short mark for tables: traced, passed on, or a gap."""
    return _HOP_SYMBOLS[hop]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(review: Review, fail_on: Severity | None = None) -> str:
    """One line: coverage, counts and the gate's verdict."""
    counts = review.counts()
    parts = [
        f"{review.traced}/{review.total} functions traced ({review.coverage:.0%})",
        f"{review.clean} end to end",
        _plural(counts["error"], "error"),
        _plural(counts["warning"], "warning"),
        f"{counts['info']} info",
        f"{len(review.suppressed)} suppressed",
    ]
    if fail_on is not None:
        verdict = "FAIL" if review.failed(fail_on) else "pass"
        parts.append(f"{verdict} (--fail-on {fail_on.label})")
    return " · ".join(parts)
