"""The verification as Markdown (a pull-request comment), HTML (one static page) and JSON.

Text from the assembly and the traces is escaped as the review escapes it:
Markdown through :mod:`cdk_lambda_xray.review.text`, HTML by Jinja's
autoescaping; JSON needs none.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from cdk_lambda_xray.review.text import md_code, md_text
from cdk_lambda_xray.verify.compare import HopState, Verification

__all__ = ["render_html", "render_json", "render_markdown"]

_ICON = {
    HopState.OBSERVED: "✅ observed",
    HopState.MISSING: "❌ missing",
    HopState.GAP: "⚪ gap",
    HopState.UNOBSERVABLE: "⚪ unobservable",
}
_ORDER = {HopState.MISSING: 0, HopState.GAP: 1, HopState.UNOBSERVABLE: 2, HopState.OBSERVED: 3}


def _sorted(verification: Verification) -> list[Any]:
    return sorted(verification.hops, key=lambda h: (_ORDER[h.state], h.source, h.target))


def render_markdown(verification: Verification, fail_on: str | None = None) -> str:
    """The report as Markdown: summary, promised hops, then observed edges not promised."""
    lines = [
        "## X-Ray verify: promised hops against traces",
        "",
        f"Assembly {md_code(verification.assembly, table=False)} · traces "
        f"{md_code(verification.traces, table=False)} · {verification.nodes} services, "
        f"{verification.edges} edges observed",
        "",
        f"**{md_text(verification.summary(fail_on))}**",
        "",
        "### Promised hops",
        "",
    ]
    if verification.hops:
        lines += ["| State | Hop | From | To | Requests | Why |", "|---|---|---|---|---|---|"]
        for hop in _sorted(verification):
            lines.append(
                f"| {_ICON[hop.state]} | {md_text(hop.kind)} | {md_code(hop.source)} | "
                f"{md_code(hop.target)} | {hop.count} | {md_text(hop.reason)} |"
            )
    else:
        lines.append("The templates promise no hops.")
    lines += ["", "### Observed, not promised", ""]
    if verification.findings:
        lines += ["| Kind | From | To | Requests | Why |", "|---|---|---|---|---|"]
        for f in verification.findings:
            lines.append(
                f"| {md_text(f.kind)} | {md_code(f.source)} | {md_code(f.target)} | "
                f"{f.count} | {md_text(f.reason)} |"
            )
    else:
        lines.append("Nothing: every observed edge is promised.")
    return "\n".join(lines) + "\n"


def render_json(verification: Verification, fail_on: str | None = None) -> str:
    """The report as JSON (stable keys; ``failed`` is the gate's verdict)."""
    data = {
        "assembly": verification.assembly,
        "traces": verification.traces,
        "observed": {"nodes": verification.nodes, "edges": verification.edges},
        "summary": verification.summary(fail_on),
        "fail_on": fail_on or "none",
        "failed": verification.failed(fail_on or "none"),
        "hops": [
            {
                "kind": h.kind,
                "from": h.source,
                "to": h.target,
                "state": h.state.value,
                "reason": h.reason,
                "requests": h.count,
            }
            for h in _sorted(verification)
        ],
        "findings": [
            {
                "kind": f.kind,
                "from": f.source,
                "to": f.target,
                "requests": f.count,
                "reason": f.reason,
            }
            for f in verification.findings
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("verify.html.j2")


def render_html(verification: Verification, fail_on: str | None = None) -> str:
    """The report as one self-contained HTML page (no scripts, autoescaped)."""
    return _template().render(
        v=verification,
        hops=_sorted(verification),
        icon={s: label.split(" ", 1)[1] for s, label in _ICON.items()},
        summary=verification.summary(fail_on),
        failed=verification.failed(fail_on or "none"),
    )
