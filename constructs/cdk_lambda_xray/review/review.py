"""Run the rules over a model and apply suppressions: the review's engine.

How the result reads (the per-function table, the summary line) is
:mod:`.presentation`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .assembly import load_assembly
from .build import build_model
from .model import Model
from .rules import ALL_RULES, Finding, Rule, Severity
from .suppressions import Suppression, apply

if TYPE_CHECKING:
    from .presentation import FunctionRow

__all__ = ["Review", "review_path", "run_review"]


@dataclass(slots=True)
class Review:
    """The outcome of a review: findings, suppressions, and coverage."""

    model: Model
    rules: tuple[Rule, ...]
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]
    unused_suppressions: list[Suppression]
    #: the per-function table, made by :mod:`.presentation` on first use (three reports share it)
    _rows: list[FunctionRow] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def total(self) -> int:
        return len(self.model.functions)

    @property
    def traced(self) -> int:
        return sum(1 for fn in self.model.functions.values() if fn.traced)

    @property
    def clean(self) -> int:
        """Traced functions with no finding of warning or above."""
        gated = {
            rid
            for f in self.findings
            if f.severity >= Severity.WARNING
            for rid in f.functions or (f.resource,)
        }
        return sum(1 for fn in self.model.functions.values() if fn.traced and fn.id not in gated)

    @property
    def rows(self) -> list[FunctionRow]:
        """The per-function table (:func:`.presentation.function_rows`), made once."""
        if self._rows is None:
            from .presentation import function_rows  # presentation reads the engine, not back

            self._rows = function_rows(self)
        return self._rows

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
    return Review(model, tuple(rules), kept, suppressed, unused)


def review_path(path: str | Path, suppressions: Sequence[Suppression] = ()) -> Review:
    """Load the assembly at ``path``, build the model and review it."""
    return run_review(build_model(load_assembly(path)), suppressions)
