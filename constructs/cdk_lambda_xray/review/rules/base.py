"""What a rule is and what it returns.

A rule is a pure function of the :class:`~..model.Model` yielding
:class:`Finding` objects. Its id is stable (suppressions and CI logs refer to
it), its default severity and fix hint live with it in :class:`Rule`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from ..model import Model
from ..resolve import ResourceId


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
        """A finding of this rule on ``resource`` (default severity and fix unless given)."""
        return Finding(
            rule_id=self.id,
            severity=severity or self.severity,
            resource=resource,
            path=model.path_of(resource),
            message=message,
            fix=fix or self.fix,
            functions=functions,
        )
