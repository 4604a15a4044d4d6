"""Show X-Ray segment documents as traces: trees with durations, timeline bars and errors.

:func:`build_traces` takes any JSON values -- what the collector kept, or what
a file holds -- and never raises. Each value goes through
:func:`~cdk_lambda_xray.local.docmodel.normalise` once; the trees, the terminal
view (:func:`render_text`) and the HTML page
(:func:`~cdk_lambda_xray.local.tracepage.render_html`) are built
from those checked, escaped facts only. Documents are grouped by trace id and
linked by ``parent_id`` (subsegments embedded in a document are linked to it).

Nothing is dropped and nothing is invented:

- a parent that was never received (locally, the function segment the Lambda
  service sends in AWS) becomes a placeholder node;
- documents whose parents form a cycle are shown, the cycle cut and marked;
- a document received twice keeps its complete version (and says so if both
  were complete);
- fields that are not what the schema says are listed as odd under the node.

Trees are built and walked without recursion, so a chain of thousands of
parents renders like any other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdk_lambda_xray.local.docmodel import (
    FLAGS,
    NO_TRACE_ID,
    DocFacts,
    Key,
    normalise,
    safe_text,
)

__all__ = [
    "BAR_WIDTH",
    "Node",
    "Trace",
    "build_traces",
    "fmt_ms",
    "render_text",
    "render_trace_text",
]

BAR_WIDTH = 32
LABEL_WIDTH = 50
#: Deeper levels are drawn without further indentation, their depth written out.
MAX_INDENT = 8

_ANSI = {"fault": "\033[31m", "error": "\033[33m", "throttle": "\033[35m", "dim": "\033[2m"}
_RESET = "\033[0m"


@dataclass(eq=False)
class Node:
    """One segment or subsegment, or a placeholder for a parent never received.

    ``doc`` is the document as received (``{}`` if it was not a JSON object,
    ``None`` for a placeholder); everything shown comes from ``facts``.
    """

    id: str
    doc: dict[str, Any] | None
    facts: DocFacts | None
    key: Key
    children: list[Node] = field(default_factory=list)
    #: Odd things found while linking (a parent cycle, a repeated id).
    notes: list[str] = field(default_factory=list)
    _span: tuple[float | None, float | None] = (None, None)

    @property
    def received(self) -> bool:
        """False for a placeholder standing in for an unreceived parent."""
        return self.facts is not None

    @property
    def name(self) -> str:
        """Display name: the document's name, plus the AWS operation for SDK calls."""
        return self.facts.name if self.facts else f"segment {self.id} (not received)"

    @property
    def raw_name(self) -> str | None:
        """The document's ``name`` exactly as received, if it is a string."""
        return self.facts.raw_name if self.facts else None

    @property
    def operation(self) -> str | None:
        """``aws.operation`` exactly as received, if it is a string."""
        return self.facts.operation if self.facts else None

    @property
    def namespace(self) -> str:
        """``aws``, ``remote`` or empty."""
        return self.facts.namespace if self.facts else ""

    @property
    def start(self) -> float | None:
        """Start time (epoch seconds), or the earliest child start for a placeholder."""
        return self.facts.start if self.facts else self._span[0]

    @property
    def end(self) -> float | None:
        """End time; ``None`` while in progress. For a placeholder, the latest child end."""
        return self.facts.end if self.facts else self._span[1]

    @property
    def in_progress(self) -> bool:
        """The document says ``in_progress`` (no end time yet)."""
        return self.facts.in_progress if self.facts else False

    @property
    def duration_ms(self) -> float | None:
        """Duration in milliseconds, if both ends are known (and the difference is finite)."""
        return _duration_ms(self.start, self.end)

    @property
    def status(self) -> int | None:
        """``http.response.status``, if recorded."""
        return self.facts.status if self.facts else None

    @property
    def flags(self) -> list[str]:
        """The set flags among ``fault``, ``error``, ``throttle`` (in that order)."""
        return list(self.facts.flags) if self.facts else []

    @property
    def cold_start(self) -> bool:
        """Annotation ``ColdStart`` is true (the layer sets it on the handler subsegment)."""
        return self.facts.cold_start if self.facts else False

    @property
    def annotations(self) -> dict[str, str]:
        """The document's annotations, as display text."""
        return dict(self.facts.annotations) if self.facts else {}

    @property
    def exceptions(self) -> list[str]:
        """``Type: message`` for each exception in ``cause`` (or a reference to one)."""
        return list(self.facts.exceptions) if self.facts else []

    @property
    def odd(self) -> list[str]:
        """What is odd about this document (fields, cycles, repeats); empty when nothing is."""
        return [*(self.facts.odd if self.facts else ()), *self.notes]

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Node]]:
        """This node and its descendants with their depth, depth first, children by start."""
        stack = [(depth, self)]
        while stack:
            level, node = stack.pop()
            yield level, node
            stack.extend((level + 1, child) for child in reversed(node.children))


def _duration_ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    value = (end - start) * 1000.0
    return value if math.isfinite(value) else None


class Trace:
    """All nodes of one trace id, as a forest of root nodes (a snapshot: computed once)."""

    def __init__(self, trace_id: str, roots: list[Node], document_count: int) -> None:
        self.trace_id = trace_id
        self.roots = roots
        self.document_count = document_count
        self._rows = [pair for root in roots for pair in root.walk()]
        starts = [n.start for _, n in self._rows if n.start is not None]
        ends = [n.end for _, n in self._rows if n.end is not None]
        self.start: float | None = min(starts) if starts else None
        self.end: float | None = max(ends) if ends else None
        found = {f for _, n in self._rows for f in n.flags}
        self.flags: list[str] = [f for f in FLAGS if f in found]
        self.cold_start = any(n.cold_start for _, n in self._rows)
        self.odd_count = sum(1 for _, n in self._rows if n.odd)

    def nodes(self) -> list[tuple[int, Node]]:
        """Every node with its depth, in display order."""
        return list(self._rows)

    @property
    def duration_ms(self) -> float | None:
        """Span of the whole trace in milliseconds."""
        return _duration_ms(self.start, self.end)

    @property
    def title(self) -> str:
        """The name of the first received node (usually the handler)."""
        return next((n.name for _, n in self._rows if n.received), self.trace_id)

    def bar(self, node: Node) -> tuple[float, float]:
        """Offset and width of ``node`` on this trace's timeline, as fractions of 1."""
        start, end = self.start, self.end
        if start is None or end is None or node.start is None:
            return 0.0, 0.0
        span = end - start
        span = span if math.isfinite(span) and span > 1e-9 else 1e-9
        node_end = node.end if node.end is not None else end
        offset = _fraction((node.start - start) / span)
        return offset, min(_fraction((node_end - node.start) / span), 1.0 - offset)


def _fraction(value: float) -> float:
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0


# -- building ------------------------------------------------------------------------


def _flatten(documents: Iterable[Any]) -> Iterator[tuple[DocFacts, Any]]:
    """Every document and embedded subsegment, normalised, in order (iteratively)."""
    position = 0
    for document in documents:
        stack: list[tuple[Any, Key | None, str | None]] = [(document, None, None)]
        while stack:
            value, container, trace = stack.pop()
            facts, embedded = normalise(
                value, position, container_key=container, container_trace=trace
            )
            position += 1
            yield facts, value
            stack.extend((sub, facts.key, facts.trace_key) for sub in reversed(embedded))


def build_traces(documents: Iterable[Any]) -> list[Trace]:
    """Group documents by trace id and link them into trees; oldest trace first.

    Accepts any JSON values; never raises for what they contain. A document
    received twice (``in_progress`` first, complete later) keeps its complete
    version.
    """
    groups: dict[str | None, dict[Key, Node]] = {}
    counts: dict[str | None, int] = {}
    repeated: dict[tuple[str | None, Key], int] = {}
    for facts, value in _flatten(documents):
        counts[facts.trace_key] = counts.get(facts.trace_key, 0) + 1
        nodes = groups.setdefault(facts.trace_key, {})
        doc = (
            {k: v for k, v in value.items() if k != "subsegments"}
            if isinstance(value, dict)
            else {}
        )
        node = Node(facts.id, doc, facts, facts.key)
        previous = nodes.get(facts.key)
        if previous is not None:
            if facts.in_progress and not previous.in_progress:
                continue  # an update that arrived late: the complete version stays
            if not facts.in_progress and not previous.in_progress:
                place = (facts.trace_key, facts.key)
                repeated[place] = repeated.get(place, 1) + 1
        nodes[facts.key] = node
    for (trace_key, key), times in repeated.items():
        groups[trace_key][key].notes.append(f"received {times} times; the last copy is shown")
    traces = [_link(trace_key, nodes, counts[trace_key]) for trace_key, nodes in groups.items()]
    traces.sort(key=lambda t: t.start if t.start is not None else math.inf)
    return traces


def _link(trace_key: str | None, nodes: dict[Key, Node], count: int) -> Trace:
    received = list(nodes.values())
    parent_of: dict[int, Node] = {}
    roots: list[Node] = []
    for node in received:
        assert node.facts is not None
        parent_key = node.facts.parent_key
        if parent_key is None:
            roots.append(node)
            continue
        parent = nodes.get(parent_key)
        if parent is None:
            shown = safe_text(parent_key[1], 40) if parent_key[0] == "id" else "(no id)"
            parent = nodes[parent_key] = Node(shown, None, None, parent_key)
            roots.append(parent)
        parent.children.append(node)
        parent_of[id(node)] = parent
    _cut_cycles(received, roots, parent_of)
    for node in nodes.values():
        node.children.sort(key=_start_key)
        if not node.received:
            starts = [c.start for c in node.children if c.start is not None]
            ends = [c.end for c in node.children if c.end is not None]
            node._span = (min(starts, default=None), max(ends, default=None))
    roots.sort(key=_start_key)
    facts = received[0].facts
    return Trace(facts.trace_id if facts is not None else NO_TRACE_ID, roots, count)


def _cut_cycles(received: list[Node], roots: list[Node], parent_of: dict[int, Node]) -> None:
    """Make every node reachable from a root: each parent cycle is cut at one node, marked."""
    reached: set[int] = set()

    def reach(start: Node) -> None:
        reached.update(id(n) for _, n in start.walk())

    for root in roots:
        reach(root)
    for node in received:
        if id(node) in reached:
            continue
        path: set[int] = set()
        current = node
        while id(current) not in path:  # every unreached node has a parent: this loops back
            path.add(id(current))
            current = parent_of[id(current)]
        parent = parent_of.pop(id(current))
        parent.children.remove(current)
        current.notes.append(
            f"in a parent cycle: parent_id {parent.id} leads back to this document; "
            "shown here as a root"
        )
        roots.append(current)
        reach(current)


def _start_key(node: Node) -> float:
    return node.start if node.start is not None else math.inf


# -- terminal ------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    """A duration for display: ``12.4 ms``, ``12.35 s``; ``…`` when unknown."""
    if value is None:
        return "…"
    if abs(value) < 10_000:
        return f"{value:,.1f} ms"
    return f"{value / 1000:,.2f} s" if abs(value) < 1e9 else f"{value / 1000:.3g} s"


def _paint(text: str, style: str | None, color: bool) -> str:
    return f"{_ANSI[style]}{text}{_RESET}" if color and style else text


def _text_bar(trace: Trace, node: Node, width: int) -> str:
    offset, size = trace.bar(node)
    length = max(1, round(size * width))
    left = min(round(offset * width), width - length)
    return " " * left + "█" * length + " " * (width - left - length)


def _marks(trace: Trace) -> list[str]:
    marks = [f.upper() for f in trace.flags] + ["cold start"] * trace.cold_start
    return marks + ([f"{trace.odd_count} odd"] if trace.odd_count else [])


def render_trace_text(trace: Trace, *, color: bool = False, bar_width: int = BAR_WIDTH) -> str:
    """One trace as a tree with a duration, a timeline bar and marks per node.

    Every text shown went through :func:`~cdk_lambda_xray.local.docmodel.safe_text`;
    the only escape sequences in the result are the colours asked for.
    """
    marks = _marks(trace)
    head = f"trace {trace.trace_id}  {fmt_ms(trace.duration_ms)}  {trace.document_count} docs"
    lines = [
        _paint(
            head + ("  " + ", ".join(marks) if marks else ""), next(iter(trace.flags), None), color
        )
    ]
    stack = [(root, "", i == len(trace.roots) - 1, 0) for i, root in enumerate(trace.roots)]
    stack.reverse()
    while stack:
        node, guides, last, depth = stack.pop()
        deep = f"({depth}) " if depth > MAX_INDENT else ""
        label = (guides + ("└─ " if last else "├─ ") + deep + node.name)[:LABEL_WIDTH]
        duration = (fmt_ms(node.duration_ms) if node.received else "").rjust(10)
        bar = "|" + _text_bar(trace, node, bar_width) + "|"
        if node.received:
            info = [str(node.status)] if node.status is not None else []
            info += [f.upper() for f in node.flags]
            info += ["in progress"] * node.in_progress + ["cold start"] * node.cold_start
            row = f"{label.ljust(LABEL_WIDTH)} {node.namespace[:6]:6} {duration} {bar}  "
            lines.append(
                _paint((row + " ".join(info)).rstrip(), next(iter(node.flags), None), color)
            )
        else:
            lines.append(
                _paint(f"{label.ljust(LABEL_WIDTH)} {'':6} {duration} {bar}", "dim", color)
            )
        inner = guides + ("   " if last else "│  ") if depth < MAX_INDENT else guides
        guide = inner + ("│  " if node.children else "   ")
        lines += [_paint(f"{guide}! {message}", "fault", color) for message in node.exceptions]
        lines += [_paint(f"{guide}? odd: {message}", "error", color) for message in node.odd]
        count = len(node.children)
        stack.extend(
            (child, inner, i == count - 1, depth + 1)
            for i, child in reversed(list(enumerate(node.children)))
        )
    return "\n".join(lines)


def render_text(traces: Sequence[Trace], *, color: bool = False) -> str:
    """Every trace, oldest first, separated by blank lines."""
    if not traces:
        return "no traces received"
    return "\n\n".join(render_trace_text(t, color=color) for t in traces)
