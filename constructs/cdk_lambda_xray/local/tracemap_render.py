"""Show the trace map: a compact table for the terminal, an SVG for the HTML page.

The SVG is drawn by the review's service map code
(:func:`cdk_lambda_xray.review.diagram.arrange` and
:func:`~cdk_lambda_xray.review.diagram.svg`), so the expected map (review) and
the observed one (traces) look alike. Nodes are placed in columns by how many
hops they are from a node nothing calls (a client, or a function whose caller
was not received).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cdk_lambda_xray.local.tracemap import KINDS, MapEdge, MapNode, TraceMap
from cdk_lambda_xray.local.traceview import fmt_ms

if TYPE_CHECKING:
    import markupsafe

    from cdk_lambda_xray.review.diagram import Diagram

__all__ = ["edge_summary", "map_diagram", "map_svg", "node_label", "render_map_text"]

_COLUMN: Final = 36
#: The review's diagram keeps labels this short (it would cut the kind off a longer one).
_SVG_LABEL: Final = 40
_KIND_LABEL: Final = {
    "client": "client",
    "bucket": "S3 bucket",
    "topic": "SNS topic",
    "queue": "SQS queue",
    "lambda": "Lambda",
    "function": "function",
    "table": "DynamoDB table",
    "service": "AWS",
    "remote": "remote",
    "unknown": "?",
}


def node_label(node: MapNode) -> str:
    """``kind: name`` (display text)."""
    return f"{_KIND_LABEL.get(node.kind, node.kind)}: {node.name}"


def edge_summary(edge: MapEdge) -> str:
    """``3 requests, avg 12.0 ms, p95 20.1 ms, 1 fault`` (display text)."""
    plural = "" if edge.count == 1 else "s"
    parts = [f"{edge.count} request{plural}", f"avg {fmt_ms(edge.avg_ms)}"]
    parts.append(f"p95 {fmt_ms(edge.p95_ms)}")
    counts = {"error": edge.errors, "throttle": edge.throttles, "fault": edge.faults}
    parts += [f"{counts[f]} {f}{'' if counts[f] == 1 else 's'}" for f in edge.flags]
    return ", ".join(parts)


def _clip(node: MapNode, width: int) -> str:
    """``node_label`` in at most ``width`` characters: the end of a long name is kept."""
    text = node_label(node)
    if len(text) <= width:
        return text
    head = f"{_KIND_LABEL.get(node.kind, node.kind)}: …"
    return head + node.name[-(width - len(head)) :]


def render_map_text(trace_map: TraceMap) -> str:
    """The map as a table: one row per edge, then the nodes no edge touches."""
    nodes = {n.key: n for n in trace_map.nodes}
    head = f"trace map: {len(trace_map.nodes)} nodes, {len(trace_map.edges)} edges"
    if not trace_map.nodes:
        return head
    lines = [
        head,
        f"{'from':{_COLUMN}} {'to':{_COLUMN}} {'requests':>8} {'avg':>10} {'p95':>10}"
        f" {'err':>4} {'thr':>4} {'fault':>5}",
    ]
    order = {kind: i for i, kind in enumerate(KINDS)}
    for edge in sorted(trace_map.edges, key=lambda e: (order[nodes[e.source].kind], e.source)):
        source, target = nodes[edge.source], nodes[edge.target]
        lines.append(
            f"{_clip(source, _COLUMN):{_COLUMN}} {_clip(target, _COLUMN):{_COLUMN}} "
            f"{edge.count:>8} {fmt_ms(edge.avg_ms):>10} {fmt_ms(edge.p95_ms):>10} {edge.errors:>4} "
            f"{edge.throttles:>4} {edge.faults:>5}"
        )
    touched = {e.source for e in trace_map.edges} | {e.target for e in trace_map.edges}
    alone = [node_label(n) for n in trace_map.nodes if n.key not in touched]
    if alone:
        lines.append("nodes without edges: " + ", ".join(alone))
    return "\n".join(lines)


def _columns(trace_map: TraceMap) -> list[list[MapNode]]:
    """Nodes by distance from an entry node (breadth first; cycles do not loop)."""
    incoming: dict[str, set[str]] = {n.key: set() for n in trace_map.nodes}
    outgoing: dict[str, list[str]] = {n.key: [] for n in trace_map.nodes}
    for edge in trace_map.edges:
        incoming[edge.target].add(edge.source)
        outgoing[edge.source].append(edge.target)
    depth = {key: 0 for key, sources in incoming.items() if not sources}
    queue = list(depth)
    while queue:
        key = queue.pop(0)
        for target in outgoing[key]:
            if target not in depth:
                depth[target] = depth[key] + 1
                queue.append(target)
    order = {kind: i for i, kind in enumerate(KINDS)}
    columns: list[list[MapNode]] = []
    for node in sorted(trace_map.nodes, key=lambda n: (order.get(n.kind, 99), n.raw_name)):
        level = depth.get(node.key, 0)
        while len(columns) <= level:
            columns.append([])
        columns[level].append(node)
    return columns


def _node_title(node: MapNode) -> str:
    text = node_label(node)
    if node.recorded:
        text += f" ({node.recorded} recorded"
        counts = {"fault": node.faults, "error": node.errors, "throttle": node.throttles}
        text += "".join(f", {counts[f]} {f}" for f in counts if counts[f]) + ")"
    return text


def map_diagram(trace_map: TraceMap) -> Diagram:
    """The map laid out with the review's service map drawing."""
    from cdk_lambda_xray.review.diagram import EdgeSpec, NodeSpec, arrange

    faulty = {e.target for e in trace_map.edges if e.faults}
    faulty |= {n.key for n in trace_map.nodes if n.faults}
    columns = []
    for index, nodes in enumerate(_columns(trace_map)):
        specs = [
            NodeSpec(
                n.key,
                n.kind,
                _clip(n, _SVG_LABEL),
                _node_title(n),
                f"node {n.kind}" + (" has-fault" if n.key in faulty else ""),
            )
            for n in nodes
        ]
        columns.append(
            ("entry points" if index == 0 else f"{index} hop" + "s" * (index > 1), specs)
        )
    edges = [
        EdgeSpec(
            e.source,
            e.target,
            "edge call-edge" + "".join(f" has-{f}" for f in e.flags),
            edge_summary(e),
            f"{e.count} req, {fmt_ms(e.avg_ms)}",
        )
        for e in trace_map.edges
    ]
    return arrange(columns, edges)


def map_svg(trace_map: TraceMap) -> markupsafe.Markup:
    """The map as inline SVG (the review's drawing code, autoescaped)."""
    from cdk_lambda_xray.review.diagram import svg

    return svg(map_diagram(trace_map), css_class="trace-map", label="trace map")
