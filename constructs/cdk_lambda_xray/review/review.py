"""Run the rules over a model, apply suppressions, and shape the result for reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._contract import ENV_CONTEXT_MISSING, ENV_HANDLER, WRAPPER_HANDLER
from .assembly import load_assembly
from .build import build_model
from .model import EventSource, Function, HopStatus, Model
from .resolve import ResourceId
from .rules import ALL_RULES, Finding, Rule, Severity
from .rules.tracing import missing_xray_actions
from .suppressions import Suppression, apply
from .tracers import OURS, our_layer

__all__ = ["FunctionRow", "Review", "review_path", "run_review"]


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


@dataclass(slots=True)
class Review:
    """The outcome of a review: findings, suppressions, and coverage."""

    model: Model
    rules: tuple[Rule, ...]
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]
    unused_suppressions: list[Suppression]
    rows: list[FunctionRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.model.functions)

    @property
    def traced(self) -> int:
        return sum(1 for fn in self.model.functions.values() if fn.traced)

    @property
    def clean(self) -> int:
        """Traced functions with no finding of warning or above."""
        return sum(1 for row in self.rows if row.traced and not _gating(row.findings))

    @property
    def coverage(self) -> float:
        return self.traced / self.total if self.total else 1.0

    def counts(self) -> dict[str, int]:
        out = {s.label: 0 for s in reversed(Severity)}
        for f in self.findings:
            out[f.severity.label] += 1
        return out

    def failed(self, threshold: Severity | None) -> bool:
        """Whether any unsuppressed finding is at or above ``threshold`` (None: never)."""
        return threshold is not None and any(f.severity >= threshold for f in self.findings)


def _gating(findings: Sequence[Finding]) -> bool:
    return any(f.severity >= Severity.WARNING for f in findings)


def _sort_key(f: Finding) -> tuple[int, str, str, str]:
    return (-f.severity, f.rule_id, f.path, f.message)


def run_review(
    model: Model,
    suppressions: Sequence[Suppression] = (),
    rules: Sequence[Rule] = ALL_RULES,
) -> Review:
    """Run ``rules`` over ``model`` and set aside the suppressed findings."""
    findings = [f for rule in rules for f in rule.check(model)]
    kept, suppressed, unused = apply(sorted(findings, key=_sort_key), suppressions)
    review = Review(model, tuple(rules), kept, suppressed, unused)
    review.rows = _rows(review)
    return review


def review_path(path: str | Path, suppressions: Sequence[Suppression] = ()) -> Review:
    """Load the assembly at ``path``, build the model and review it."""
    return run_review(build_model(load_assembly(path)), suppressions)


# -- table rows -------------------------------------------------------------------


def _rows(review: Review) -> list[FunctionRow]:
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
                tracer=", ".join(t.name for t in fn.tracers) or "none",
                sources=sources.get(fn.id, []),
                calls=calls.get(fn.id, []),
                findings=by_fn.get(fn.id, []),
                suppressed=suppressed.get(fn.id, 0),
                annotations=list(fn.annotations),
            )
        )
    return rows


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


def hop_symbol(hop: HopStatus) -> str:
    """A short mark for tables: traced, passed on, or a gap."""
    return {
        HopStatus.TRACED: "traced",
        HopStatus.PROPAGATED: "passes context",
        HopStatus.UNTRACED: "NOT traced",
        HopStatus.NOT_SUPPORTED: "no X-Ray support",
        HopStatus.UNKNOWN: "unknown",
    }[hop]
