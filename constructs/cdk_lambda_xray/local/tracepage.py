"""The trace view as one static HTML page (jinja2, autoescaped).

It shows the same :class:`~cdk_lambda_xray.local.traceview.Trace` objects as
the terminal view, so every text in it went through the same normalisation
(:mod:`~cdk_lambda_xray.local.docmodel`); autoescaping adds HTML's own escaping.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cdk_lambda_xray.local.docmodel import safe_text
from cdk_lambda_xray.local.tracemap import build_map
from cdk_lambda_xray.local.tracemap_render import edge_summary, map_svg, node_label
from cdk_lambda_xray.local.traceview import MAX_INDENT, Trace, fmt_ms

__all__ = ["render_html", "write_html"]


@functools.cache
def _template() -> Any:
    """The page template, compiled once per process (jinja2 loads only when a page is made)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = fmt_ms
    return env.get_template("traces.html.j2")


def render_html(
    traces: Sequence[Trace],
    *,
    title: str = "X-Ray traces",
    labels: Mapping[str, str] | None = None,
) -> str:
    """A self-contained static HTML page: the trace map, then every trace (jinja2, autoescaped).

    ``labels`` maps trace ids to a caption shown above that trace.
    """
    trace_map = build_map(traces)
    nodes = {n.key: node_label(n) for n in trace_map.nodes}
    page: str = _template().render(
        trace_map=trace_map,
        map_svg=map_svg(trace_map),
        map_rows=[(nodes[e.source], nodes[e.target], e, edge_summary(e)) for e in trace_map.edges],
        title=safe_text(title),
        traces=traces,
        labels={k: safe_text(v) for k, v in (labels or {}).items()},
        total=sum(t.document_count for t in traces),
        max_indent=MAX_INDENT,
    )
    return page


def write_html(
    traces: Sequence[Trace],
    path: Path,
    *,
    title: str = "X-Ray traces",
    labels: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`render_html` to ``path`` (parents created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(traces, title=title, labels=labels), encoding="utf-8")
    return path
