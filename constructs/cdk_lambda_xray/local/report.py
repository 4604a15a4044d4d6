"""After a run: each flow's trace as a tree, the other traces, the HTML page, then ``verify``.

Writes ``traces.jsonl`` (every document) and ``traces.html`` to the work
directory; :func:`verify_step` checks the template's promised hops against
those traces (``verify.md`` / ``verify.html``) as the run's last step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .flows import FlowSpec, find_flow_trace
from .steps import Progress, StepFailed, indent
from .tracepage import write_html
from .traceview import Trace, build_traces, render_trace_text

__all__ = ["report", "verify_step"]


def report(
    progress: Progress,
    documents: list[dict[str, Any]],
    flows: Sequence[FlowSpec],
    work: Path,
    *,
    title: str,
    color: bool,
) -> tuple[dict[str, Trace | None], Path]:
    """Print the traces (each flow's first), write the files; the flows' traces and the page."""
    traces = build_traces(documents)
    jsonl = work / "traces.jsonl"
    jsonl.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    shown: set[str] = set()
    flow_traces: dict[str, Trace | None] = {}
    progress.print()
    progress.print(
        "Each flow starts at the demo's client segment; the AWS::Lambda and\n"
        "AWS::Lambda::Function segments are emulated locally (annotation emulated=true).\n"
    )
    for spec in flows:
        trace = find_flow_trace(traces, spec)
        flow_traces[spec.key] = trace
        progress.print(f"=== {spec.title}")
        if trace is None:
            progress.print("    (no complete trace received)")
        else:
            shown.add(trace.trace_id)
            progress.print(render_trace_text(trace, color=color))
        progress.print()
    others = [t for t in traces if t.trace_id not in shown]
    if others:
        progress.print(f"=== {len(others)} other traces (deploy time: CDK's own handlers)")
        for trace in others:
            progress.print(render_trace_text(trace, color=color))
            progress.print()
    labels = {t.trace_id: spec.title for spec in flows if (t := flow_traces[spec.key])}
    labels.update({t.trace_id: "deploy time: CDK's own handler" for t in others})
    html_path = write_html(traces, work / "traces.html", title=title, labels=labels)
    progress.print(f"HTML page: {html_path}")
    progress.print(f"documents: {jsonl}  (python -m cdk_lambda_xray traces {jsonl})")
    return flow_traces, html_path


def verify_step(progress: Progress, work: Path) -> None:
    """Last step: the trace map, then every hop the template promises against it (``verify``)."""
    from cdk_lambda_xray.verify.cli import verify_paths
    from cdk_lambda_xray.verify.reports import render_html, render_markdown

    from .tracefile import load_documents
    from .tracemap import map_from_documents
    from .tracemap_render import render_map_text

    with progress.step("verify: the template's promised hops against the traces") as step:
        trace_map = map_from_documents(load_documents(work / "traces.jsonl"))
        progress.print(indent(render_map_text(trace_map)))
        verification = verify_paths(work / "cdk.out", work / "traces.jsonl")
        (work / "verify.md").write_text(render_markdown(verification, "missing"), "utf-8")
        (work / "verify.html").write_text(render_html(verification, "missing"), "utf-8")
        step.detail = f"{verification.summary('missing')}; report {work / 'verify.md'}"
        if verification.failed("missing"):
            missing = [h for h in verification.hops if h.state.value == "missing"]
            raise StepFailed(
                "; ".join(f"{h.source} -> {h.target}: {h.reason}" for h in missing)
                + f" (report {work / 'verify.md'})"
            )
