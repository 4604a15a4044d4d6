"""Markdown report, sized for a pull-request comment (GitHub renders the Mermaid map).

Everything taken from the assembly goes through :mod:`.text` (``md_text`` for
prose, ``md_code`` for names and paths, ``mermaid_label`` in the map), so a
hostile name cannot inject HTML, links, images or code spans into the comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from .presentation import FunctionRow, hop_symbol, summary_line
from .review import Review
from .rules import Finding, Severity
from .text import md_code, md_text, mermaid_label

_ICON = {Severity.ERROR: "🔴 error", Severity.WARNING: "🟠 warning", Severity.INFO: "🔵 info"}
#: findings listed per rule before "... and N more"
MAX_FINDINGS_PER_RULE: Final = 40
#: the functions table folds into <details> above this many rows
COLLAPSE_AFTER: Final = 25
#: larger apps get the service map in the HTML report only (PR comments have a size limit)
MERMAID_MAX_FUNCTIONS: Final = 60
_MERMAID_ID = re.compile(r"[^A-Za-z0-9_]")


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A table of cells already made safe (``md_text``/``md_code``, or our own text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _texts(*items: str) -> list[str]:
    return [md_text(item) for item in items]


def _findings(review: Review) -> list[str]:
    """Findings grouped by rule (most severe first), the fix stated once per group."""
    groups: dict[str, list[Finding]] = {}
    for f in review.findings:
        groups.setdefault(f.rule_id, []).append(f)
    order = sorted(groups, key=lambda r: (-max(f.severity for f in groups[r]), r))
    by_id = {rule.id: rule for rule in review.rules}
    out: list[str] = []
    for rule_id in order:
        findings = groups[rule_id]
        rule = by_id.get(rule_id)
        name = f" {md_code(rule.name, table=False)}" if rule else ""
        out += [f"#### {md_text(rule_id)}{name} ({len(findings)})", ""]
        if rule is not None:
            out += [f"Fix: {md_text(rule.fix)}", ""]
        shown = findings[:MAX_FINDINGS_PER_RULE]
        rows = [
            [
                _ICON[f.severity],
                md_code(f.path),
                md_text(
                    f.message
                    if rule is None or f.fix == rule.fix
                    else f"{f.message} (fix: {f.fix})"
                ),
            ]
            for f in shown
        ]
        out += _table(["Severity", "Resource", "Finding"], rows)
        if len(findings) > len(shown):
            out += ["", f"… and {len(findings) - len(shown)} more (see the JSON or HTML report)."]
        out.append("")
    return out


def _mermaid(review: Review) -> list[str]:
    model = review.model
    ids: dict[str, str] = {}

    def node(key: str, label: str, shape: str = "[{}]") -> str:
        if key not in ids:
            ids[key] = f"n{len(ids)}_{_MERMAID_ID.sub('_', label)[-24:]}"
            lines.append(f"  {ids[key]}" + shape.format(f'"{mermaid_label(label)}"'))
        return ids[key]

    lines = ["```mermaid", "flowchart LR"]
    for fn in sorted(model.functions.values(), key=lambda f: f.path):
        mark = "" if fn.traced else " (untraced)"
        node(f"fn:{fn.id}", fn.path + mark, "([{}])")
    for e in model.event_sources:
        src = node(f"src:{e.source or e.label}", f"{e.kind}: {e.label}")
        arrow = "-.->" if e.hop.is_gap else "-->"
        lines.append(f"  {src} {arrow}|{hop_symbol(e.hop)}| {ids[f'fn:{e.function}']}")
    for d in model.downstream:
        dst = node(f"res:{d.target or d.label}", d.label, "[({})]")
        lines.append(f"  {ids[f'fn:{d.function}']} --> {dst}")
    lines.append("```")
    return lines


_FUNCTION_COLUMNS: Final = [
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
]


def _function_table(function_table: list[FunctionRow]) -> list[str]:
    """The functions table, those with findings first."""
    rows = []
    for row in sorted(function_table, key=lambda r: (not r.findings, r.path)):
        sources = "; ".join(f"{e.kind} {e.label}: {hop_symbol(e.hop)}" for e in row.sources)
        findings = ", ".join(f.rule_id for f in row.findings)
        name = md_code(row.path) + (f" (CDK: {md_text(row.internal)})" if row.internal else "")
        cells = (
            row.runtime,
            row.architecture,
            row.tracing,
            row.layer,
            row.handler,
            row.context_missing,
            row.iam,
            sources or "—",
            ", ".join(row.calls) or "—",
        )
        rows.append(
            [name, *(md_text(cell) for cell in cells), md_text(findings) if findings else "✅"]
        )
    return _table(_FUNCTION_COLUMNS, rows)


def render(review: Review, fail_on: Severity | None = None, *, diagram: bool = True) -> str:
    """The Markdown report."""
    model = review.model
    function_table = review.rows
    out = ["## X-Ray tracing review", "", f"**{summary_line(review, fail_on)}**", ""]
    stacks = ", ".join(md_code(s, table=False) for s in model.stacks)
    out.append(f"Assembly {md_code(model.source, table=False)} · stacks: {stacks}")
    out.append("")
    out.append("### Findings")
    out.append("")
    if review.findings:
        out += _findings(review)
    else:
        out.append("No findings.")
    out += ["", "### Functions", ""]
    collapse = len(function_table) > COLLAPSE_AFTER
    if collapse:
        out += [
            f"<details><summary>{len(function_table)} functions (with findings first)</summary>",
            "",
        ]
    out += _function_table(function_table)
    if collapse:
        out += ["", "</details>"]
    if diagram and model.functions:
        out += ["", "### Service map", ""]
        if len(model.functions) <= MERMAID_MAX_FUNCTIONS:
            out += _mermaid(review)
        else:
            out.append(
                f"Omitted for {len(model.functions)} functions (more than "
                f"{MERMAID_MAX_FUNCTIONS}); the HTML report (`--format html`) draws it."
            )
    if review.suppressed:
        out += ["", "### Suppressed", ""]
        out += _table(
            ["Rule", "Resource", "Finding", "Reason", "From"],
            [
                [
                    md_text(f.rule_id),
                    md_code(f.path),
                    md_text(f.message),
                    *_texts(s.reason, s.origin),
                ]
                for f, s in review.suppressed
            ],
        )
    annotated = [(row.path, lv, msg) for row in function_table for lv, msg in row.annotations]
    if annotated:
        out += ["", "### CDK annotations on functions", ""]
        out += [
            f"- {md_code(path, table=False)} {md_text(level)}: {md_text(message)}"
            for path, level, message in annotated
        ]
    if review.unused_suppressions:
        out += ["", "### Unused suppressions", ""]
        out += [
            f"- {md_text(s.rule)} {md_code(s.resource, table=False)} ({md_text(s.origin)}): "
            "matches no finding"
            for s in review.unused_suppressions
        ]
    if model.unresolved or model.notes:
        out += ["", "### Could not resolve", ""]
        out += [
            f"- {md_text(u.where)}: {md_code(u.expression, table=False)} — {md_text(u.reason)}"
            for u in model.unresolved
        ]
        out += [f"- {md_text(n)}" for n in model.notes]
    return "\n".join(out) + "\n"
