"""What a rule is and what it returns.

A rule is a pure function of the :class:`~..model.Model` yielding
:class:`Finding` objects. Its id is stable (suppressions and CI logs refer to
it), its default severity and fix hint live with it in :class:`Rule`.

One rule binds every rule: a finding's fix is the next real step, never what
is already applied. A rule whose fix says "use TracedFunction / apply
trace_app" also says what to do when every function it affects already has
this project's tracing applied (:attr:`Rule.applied_fix`); then the fix is the
one the constructs wrote into the function's ``lambda-xray:`` annotation, or
that text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ... import ids
from ..model import Function, Model
from ..resolve import ResourceId
from ..tracers import OURS

#: A fix that tells the user to apply this project's tracing to the function.
RECOMMENDS_OUR_TRACING: Final = re.compile(
    r"\b(?:use|apply|let|subscribe with)\s+(?:TracedFunction|trace_app)\b", re.I
)

_OUR_ANNOTATION: Final = ids.ANNOTATION_PREFIX
_ACK_SUFFIX: Final = re.compile(r"\s*\[ack: [^\]]*\]\s*$")


def tracing_applied(fn: Function) -> bool:
    """Whether ``TracedFunction`` or ``trace_app`` already handled ``fn``.

    Seen in the template as this project's layer or handler redirect, or as a
    ``lambda-xray:`` warning the constructs left on the function saying why
    they could not do more (an old Python runtime, another tracer, ...).
    """
    return any(t.name == OURS for t in fn.tracers) or any(
        message.startswith(_OUR_ANNOTATION) for _, message in fn.annotations
    )


def annotated_fix(fn: Function) -> str | None:
    """The ``Fix:`` the constructs wrote into the function's ``lambda-xray:`` annotation."""
    for _, message in fn.annotations:
        if message.startswith(_OUR_ANNOTATION) and "Fix: " in message:
            fix = _ACK_SUFFIX.sub("", message.split("Fix: ", 1)[1]).strip()
            return fix[:1].upper() + fix[1:] + ("" if fix.endswith(".") else ".")
    return None


class Severity(IntEnum):
    """Ordered: a gate at ``warning`` fails on warnings and errors."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of {names}") from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem on one resource."""

    rule_id: str
    severity: Severity
    resource: ResourceId
    path: str
    message: str
    fix: str
    #: the function(s) this finding affects (for per-function tables)
    functions: tuple[ResourceId, ...] = ()


Check = Callable[[Model], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's stable id, name, default severity, fix hint and check function."""

    id: str
    name: str
    severity: Severity
    summary: str
    fix: str
    check: Check
    #: the next step when every function a finding affects already has our
    #: tracing applied; required when :attr:`fix` recommends applying it
    applied_fix: str | None = None

    def finding(
        self,
        model: Model,
        resource: ResourceId,
        message: str,
        *,
        severity: Severity | None = None,
        fix: str | None = None,
        functions: tuple[ResourceId, ...] = (),
    ) -> Finding:
        """A finding of this rule on ``resource`` (default severity and fix unless given).

        The fix is the next real step: see the module docstring.
        """
        return Finding(
            rule_id=self.id,
            severity=severity or self.severity,
            resource=resource,
            path=model.path_of(resource),
            message=message,
            fix=self.next_step(model, fix or self.fix, functions),
            functions=functions,
        )

    def next_step(self, model: Model, fix: str, functions: tuple[ResourceId, ...]) -> str:
        """``fix``, unless it recommends our tracing and that is applied to every function."""
        if not RECOMMENDS_OUR_TRACING.search(fix):
            return fix
        affected = [model.functions[f] for f in functions if f in model.functions]
        if not affected or not all(tracing_applied(fn) for fn in affected):
            return fix
        for fn in affected:
            annotated = annotated_fix(fn)
            if annotated is not None:
                return annotated
        return self.applied_fix or fix
