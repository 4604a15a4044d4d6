"""JSON report: the whole review for machines (CI annotations, dashboards, diffs)."""

from __future__ import annotations

import json
from typing import Any, Final

from .. import ids
from .review import Review
from .rules import Finding, Severity

#: Bumped when a field is removed or changes meaning (adding fields is compatible).
SCHEMA: Final = ids.REVIEW_REPORT_SCHEMA


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule_id,
        "severity": f.severity.label,
        "resource": str(f.resource),
        "path": f.path,
        "message": f.message,
        "fix": f.fix,
        "functions": [str(r) for r in f.functions],
    }


def to_dict(review: Review, fail_on: Severity | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    model = review.model
    return {
        "schema": SCHEMA,
        "source": model.source,
        "stacks": model.stacks,
        "summary": {
            "functions": review.total,
            "traced": review.traced,
            "coverage": round(review.coverage, 4),
            "clean": review.clean,
            "findings": review.counts(),
            "suppressed": len(review.suppressed),
        },
        "gate": {
            "fail_on": fail_on.label if fail_on else "none",
            "failed": review.failed(fail_on),
        },
        "functions": [
            {
                "id": row.id,
                "path": row.path,
                "runtime": row.runtime,
                "architecture": row.architecture,
                "tracing": row.tracing,
                "traced": row.traced,
                "internal": row.internal,
                "layer": row.layer,
                "handler": row.handler,
                "context_missing": row.context_missing,
                "iam": row.iam,
                "tracer": row.tracer,
                "event_sources": [
                    {
                        "kind": e.kind,
                        "source": e.label,
                        "resource": str(e.source) if e.source else None,
                        "hop": e.hop.value,
                        "detail": e.detail,
                    }
                    for e in row.sources
                ],
                "calls": row.calls,
                "findings": [f.rule_id for f in row.findings],
                "suppressed": row.suppressed,
                "annotations": [{"level": lv, "message": msg} for lv, msg in row.annotations],
            }
            for row in review.rows
        ],
        "findings": [_finding(f) for f in review.findings],
        "suppressed": [
            {**_finding(f), "reason": s.reason, "suppressed_by": s.origin}
            for f, s in review.suppressed
        ],
        "unused_suppressions": [
            {"rule": s.rule, "resource": s.resource, "reason": s.reason, "origin": s.origin}
            for s in review.unused_suppressions
        ],
        "downstream": [
            {
                "function": str(d.function),
                "service": d.service,
                "target": d.label,
                "actions": list(d.actions),
            }
            for d in model.downstream
        ],
        "unresolved": [
            {"where": u.where, "expression": u.expression, "reason": u.reason}
            for u in model.unresolved
        ],
        "notes": model.notes,
        "rules": [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.label,
                "summary": r.summary,
                "fix": r.fix,
            }
            for r in review.rules
        ],
    }


def render(review: Review, fail_on: Severity | None = None) -> str:
    """The JSON report as text."""
    return json.dumps(to_dict(review, fail_on), indent=2) + "\n"
