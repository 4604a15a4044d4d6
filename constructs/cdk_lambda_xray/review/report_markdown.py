"""Markdown report, sized for a pull-request comment (GitHub renders the Mermaid map)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .model import HopStatus
from .review import Review, hop_symbol
from .rules import Finding, Severity

_ICON = {Severity.ERROR: "🔴 error", Severity.WARNING: "🟠 warning", Severity.INFO: "🔵 info"}
_MERMAID_ID = re.compile(r"[^A-Za-z0-9_]")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


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


def _finding_rows(findings: Iterable[Finding]) -> list[list[str]]:
    return [[_ICON[f.severity], f.rule_id, f"`{f.path}`", f.message, f.fix] for f in findings]


def _mermaid(review: Review) -> list[str]:
    model = review.model
    ids: dict[str, str] = {}

    def node(key: str, label: str, shape: str = "[{}]") -> str:
        if key not in ids:
            ids[key] = f"n{len(ids)}_{_MERMAID_ID.sub('_', label)[-24:]}"
            lines.append(f"  {ids[key]}" + shape.format('"' + label.replace('"', "'") + '"'))
        return ids[key]

    lines = ["```mermaid", "flowchart LR"]
    for fn in sorted(model.functions.values(), key=lambda f: f.path):
        mark = "" if fn.traced else " (untraced)"
        node(f"fn:{fn.id}", fn.path + mark, "([{}])")
    for e in model.event_sources:
        src = node(f"src:{e.source or e.label}", f"{e.kind}: {e.label}")
        arrow = "-.->" if e.hop in {HopStatus.UNTRACED, HopStatus.UNKNOWN} else "-->"
        lines.append(f"  {src} {arrow}|{hop_symbol(e.hop)}| {ids[f'fn:{e.function}']}")
    for d in model.downstream:
        dst = node(f"res:{d.target or d.label}", d.label, "[({})]")
        lines.append(f"  {ids[f'fn:{d.function}']} --> {dst}")
    lines.append("```")
    return lines


def render(review: Review, fail_on: Severity | None = None, *, diagram: bool = True) -> str:
    """The Markdown report."""
    model = review.model
    out = ["## X-Ray tracing review", "", f"**{summary_line(review, fail_on)}**", ""]
    out.append(f"Assembly `{model.source}` · stacks: {', '.join(f'`{s}`' for s in model.stacks)}")
    out.append("")
    out.append("### Findings")
    out.append("")
    if review.findings:
        header = ["Severity", "Rule", "Resource", "Finding", "Fix"]
        out += _table(header, _finding_rows(review.findings))
    else:
        out.append("No findings.")
    out += ["", "### Functions", ""]
    rows = []
    for row in review.rows:
        sources = "; ".join(f"{e.kind} {e.label}: {hop_symbol(e.hop)}" for e in row.sources)
        findings = ", ".join(f.rule_id for f in row.findings) or "✅"
        name = f"`{row.path}`" + (f" (CDK: {row.internal})" if row.internal else "")
        rows.append(
            [
                name,
                row.runtime,
                row.architecture,
                row.tracing,
                row.layer,
                row.handler,
                row.context_missing,
                row.iam,
                sources or "—",
                ", ".join(row.calls) or "—",
                findings,
            ]
        )
    out += _table(
        [
            "Function",
            "Runtime",
            "Arch",
            "Tracing",
            "Layer",
            "Handler",
            "Context missing",
            "IAM",
            "Event sources (hop)",
            "May call",
            "Findings",
        ],
        rows,
    )
    if diagram and model.functions:
        out += ["", "### Service map", "", *_mermaid(review)]
    if review.suppressed:
        out += ["", "### Suppressed", ""]
        out += _table(
            ["Rule", "Resource", "Finding", "Reason", "From"],
            [
                [f.rule_id, f"`{f.path}`", f.message, s.reason, s.origin]
                for f, s in review.suppressed
            ],
        )
    annotated = [(row.path, lv, msg) for row in review.rows for lv, msg in row.annotations]
    if annotated:
        out += ["", "### CDK annotations on functions", ""]
        out += [f"- `{path}` {level}: {_cell(message)}" for path, level, message in annotated]
    if review.unused_suppressions:
        out += ["", "### Unused suppressions", ""]
        out += [
            f"- {s.rule} `{s.resource}` ({s.origin}): matches no finding"
            for s in review.unused_suppressions
        ]
    if model.unresolved or model.notes:
        out += ["", "### Could not resolve", ""]
        out += [f"- {u.where}: `{u.expression}` — {u.reason}" for u in model.unresolved]
        out += [f"- {n}" for n in model.notes]
    return "\n".join(out) + "\n"
