"""Lay out the service map: event sources -> functions -> what the roles may call.

Three columns, one node per event source, per function and per downstream
target; one edge per event source edge of the model and per downstream entry.
Sources and targets are ordered by the position of the functions they touch
(barycenter), which keeps most edges short and uncrossed. The output is plain
data; :func:`svg` draws it as inline SVG (the review's HTML report and the
local trace map share it) and Markdown as Mermaid.

:func:`arrange` places any graph given as columns of nodes the same way, so the
trace map (:mod:`cdk_lambda_xray.local.tracemap`) looks like the service map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import jinja2
import markupsafe

from .model import Model
from .resolve import ResourceId

NODE_W: Final = 250
NODE_H: Final = 34
GAP: Final = 12
COLUMN_GAP: Final = 150
MARGIN: Final = 20
HEADER: Final = 28
_LABEL_MAX: Final = 40
#: Labels longer than this are fitted into the node's box (squeezed, never overflowing it).
FIT_CHARS: Final = 37


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    kind: str  # "source" | "function" | "resource"
    label: str
    title: str
    x: int
    y: int
    css: str

    @property
    def text_y(self) -> int:
        return self.y + NODE_H // 2 + 4


@dataclass(frozen=True, slots=True)
class Edge:
    kind: str  # "source" | "call"
    source: str
    target: str
    d: str
    css: str
    title: str
    #: short text drawn at the middle of the edge (the trace map's request count)
    label: str = ""
    label_x: int = 0
    label_y: int = 0


@dataclass(frozen=True, slots=True)
class Diagram:
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    columns: tuple[tuple[int, str], ...]


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_MAX else "…" + text[-(_LABEL_MAX - 1) :]


def _key(prefix: str, rid: ResourceId | None, label: str) -> str:
    return f"{prefix}:{rid}" if rid is not None else f"{prefix}:{label}"


def layout(model: Model) -> Diagram:
    """Place every node and route every edge of ``model``'s service map.

    Labels drop the stack name when the app has a single stack (the full path
    is in each node's tooltip); CDK-internal functions are labelled by kind.
    """
    prefix = model.stacks[0] + "/" if len(model.stacks) == 1 else ""

    def local(text: str) -> str:
        return text.removeprefix(prefix) if prefix else text

    functions = sorted(model.functions.values(), key=lambda f: f.path)
    fn_index = {fn.id: i for i, fn in enumerate(functions)}

    source_members: dict[str, list[int]] = {}
    source_info: dict[str, tuple[str, str]] = {}
    for edge in model.event_sources:
        key = _key("src", edge.source, edge.label)
        source_members.setdefault(key, []).append(fn_index.get(edge.function, 0))
        source_info[key] = (edge.label, edge.kind)
    call_members: dict[str, list[int]] = {}
    call_info: dict[str, tuple[str, str]] = {}
    for d in model.downstream:
        key = _key("res", d.target, d.label)
        call_members.setdefault(key, []).append(fn_index.get(d.function, 0))
        call_info[key] = (d.label, d.service)

    def ordered(members: dict[str, list[int]]) -> list[str]:
        return sorted(members, key=lambda k: (sum(members[k]) / len(members[k]), k))

    x_src, x_fn = MARGIN, MARGIN + NODE_W + COLUMN_GAP
    x_res = x_fn + NODE_W + COLUMN_GAP
    nodes: dict[str, Node] = {}
    for i, key in enumerate(ordered(source_members)):
        label, kind = source_info[key]
        text = f"{kind}: {label}"
        shown = _short(f"{kind}: {local(label)}")
        nodes[key] = Node(key, "source", shown, text, x_src, _y(i), "node source")
    for i, fn in enumerate(functions):
        state = "traced" if fn.traced else "untraced"
        extra = " internal" if fn.internal else ""
        runtime = fn.runtime or fn.package_type
        title = f"{fn.path} ({runtime}, tracing {fn.tracing_mode or 'not set'})"
        key = _key("fn", fn.id, fn.path)
        shown = _short(f"CDK: {fn.internal}" if fn.internal else local(fn.path))
        nodes[key] = Node(
            key, "function", shown, title, x_fn, _y(i), f"node function {state}{extra}"
        )
    for i, key in enumerate(ordered(call_members)):
        label, service = call_info[key]
        shown = _short(local(label))
        nodes[key] = Node(
            key, "resource", shown, f"{service}: {label}", x_res, _y(i), "node resource"
        )

    edges: list[Edge] = []
    for edge in model.event_sources:
        src = nodes[_key("src", edge.source, edge.label)]
        dst = nodes[_key("fn", edge.function, "")]
        css = "edge source-edge hop-" + edge.hop.value.replace(" ", "-")
        title = f"{edge.label} -> {model.path_of(edge.function)}: {edge.hop.value} ({edge.detail})"
        edges.append(Edge("source", src.key, dst.key, _curve(src, dst), css, title))
    for d in model.downstream:
        src = nodes[_key("fn", d.function, "")]
        dst = nodes[_key("res", d.target, d.label)]
        actions = ", ".join(d.actions[:6]) + (" …" if len(d.actions) > 6 else "")
        curve = _curve(src, dst)
        edges.append(Edge("call", src.key, dst.key, curve, "edge call-edge", f"may call {actions}"))
    rows = max(len(source_members), len(functions), len(call_members), 1)
    width = x_res + NODE_W + MARGIN if call_members else x_fn + NODE_W + MARGIN
    columns: tuple[tuple[int, str], ...] = ((x_src, "event sources"), (x_fn, "functions"))
    if call_members:
        columns += ((x_res, "may call (from IAM)"),)
    return Diagram(width, _y(rows) + MARGIN, tuple(nodes.values()), tuple(edges), columns)


def _y(row: int) -> int:
    return MARGIN + HEADER + row * (NODE_H + GAP)


def _along(a: Node, b: Node, t: float) -> tuple[int, int]:
    """The point at ``t`` (0..1) on :func:`_curve` from ``a`` to ``b``, a little above it."""
    x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
    x2, y2 = b.x, b.y + NODE_H // 2
    mid = (x1 + x2) / 2
    u = 1 - t
    x = u**3 * x1 + 3 * u * u * t * mid + 3 * u * t * t * mid + t**3 * x2
    y = u**3 * y1 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y2
    return round(x), round(y) - 3


def _curve(a: Node, b: Node) -> str:
    x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
    x2, y2 = b.x, b.y + NODE_H // 2
    mid = (x1 + x2) // 2
    return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node to place with :func:`arrange`: ``label`` is shortened, ``title`` shown on hover."""

    key: str
    kind: str
    label: str
    title: str
    css: str


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    """An edge between two :class:`NodeSpec` keys, with an optional mid-edge label."""

    source: str
    target: str
    css: str
    title: str
    label: str = ""


def arrange(
    columns: Sequence[tuple[str, Sequence[NodeSpec]]], edges: Sequence[EdgeSpec]
) -> Diagram:
    """Place ``columns`` (title, nodes) left to right, rows in the given order; route ``edges``.

    Edges naming a node that is not placed are left out.
    """
    nodes: dict[str, Node] = {}
    titles: list[tuple[int, str]] = []
    for index, (title, specs) in enumerate(columns):
        x = MARGIN + index * (NODE_W + COLUMN_GAP)
        titles.append((x, title))
        for row, spec in enumerate(specs):
            nodes[spec.key] = Node(
                spec.key, spec.kind, _short(spec.label), spec.title, x, _y(row), spec.css
            )
    drawn = []
    for edge in edges:
        a, b = nodes.get(edge.source), nodes.get(edge.target)
        if a is None or b is None:
            continue
        label_x, label_y = _along(a, b, 0.7)
        drawn.append(
            Edge(
                "call",
                a.key,
                b.key,
                _curve(a, b),
                edge.css,
                edge.title,
                edge.label,
                label_x,
                label_y,
            )
        )
    rows = max((len(specs) for _, specs in columns), default=1)
    width = MARGIN + max(len(columns), 1) * (NODE_W + COLUMN_GAP) - COLUMN_GAP + MARGIN
    return Diagram(
        width, _y(max(rows, 1)) + MARGIN, tuple(nodes.values()), tuple(drawn), tuple(titles)
    )


_TEMPLATES: Final = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _svg_template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("service_map.svg.j2")


def svg(diagram: Diagram, *, css_class: str = "service-map", label: str = "") -> markupsafe.Markup:
    """``diagram`` as inline SVG with its own style (every text autoescaped)."""
    text = _svg_template().render(
        diagram=diagram,
        node_w=NODE_W,
        node_h=NODE_H,
        fit_chars=FIT_CHARS,
        css_class=css_class,
        label=label,
    )
    return markupsafe.Markup(text)
