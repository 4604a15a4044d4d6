"""Show X-Ray segment documents as traces: trees with durations, timeline bars and errors.

:func:`build_traces` groups documents by trace id and links them by
``parent_id`` (subsegments embedded in a document are linked to it too). A
parent that was never received -- locally, the function segment that the Lambda
service itself sends in AWS -- becomes a placeholder node, so nothing is
dropped and nothing is invented. :func:`render_text` draws the terminal view,
:func:`render_html` a self-contained static page.

Each node shows its duration, a bar placed on the trace's timeline, the HTTP
status, the ``error`` / ``fault`` / ``throttle`` flags, exception messages from
``cause``, and a cold-start mark (annotation ``ColdStart`` true).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BAR_WIDTH = 32
LABEL_WIDTH = 50

_ANSI = {"fault": "\033[31m", "error": "\033[33m", "throttle": "\033[35m", "dim": "\033[2m"}
_RESET = "\033[0m"


@dataclass
class Node:
    """One segment or subsegment (or a placeholder for a parent never received)."""

    id: str
    doc: dict[str, Any] | None
    parent_id: str | None = None
    children: list[Node] = field(default_factory=list)

    @property
    def received(self) -> bool:
        """False for a placeholder standing in for an unreceived parent."""
        return self.doc is not None

    def _get(self, key: str, default: Any = None) -> Any:
        return self.doc.get(key, default) if self.doc is not None else default

    @property
    def name(self) -> str:
        """Display name: the document's name, plus the AWS operation for SDK calls."""
        if self.doc is None:
            return f"segment {self.id} (not received)"
        name = str(self.doc.get("name", "?"))
        operation = (self.doc.get("aws") or {}).get("operation")
        return f"{name} {operation}" if operation else name

    @property
    def kind(self) -> str:
        """``segment``, ``subsegment`` or ``missing``."""
        if self.doc is None:
            return "missing"
        return "subsegment" if self.doc.get("type") == "subsegment" or self.parent_id else "segment"

    @property
    def namespace(self) -> str:
        """``aws``, ``remote`` or empty."""
        return str(self._get("namespace") or "")

    @property
    def start(self) -> float | None:
        """Start time (epoch seconds), or the earliest child start for a placeholder."""
        if self.doc is None:
            starts = [c.start for c in self.children if c.start is not None]
            return min(starts) if starts else None
        value = self.doc.get("start_time")
        return float(value) if isinstance(value, int | float) else None

    @property
    def end(self) -> float | None:
        """End time; ``None`` while in progress. For a placeholder, the latest child end."""
        if self.doc is None:
            ends = [c.end for c in self.children if c.end is not None]
            return max(ends) if ends else None
        value = self.doc.get("end_time")
        return float(value) if isinstance(value, int | float) else None

    @property
    def in_progress(self) -> bool:
        """The document says ``in_progress`` (no end time yet)."""
        return bool(self._get("in_progress", False))

    @property
    def duration_ms(self) -> float | None:
        """Duration in milliseconds, if both ends are known."""
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start) * 1000.0

    @property
    def status(self) -> int | None:
        """``http.response.status``, if recorded."""
        response = (self._get("http") or {}).get("response") or {}
        status = response.get("status")
        return int(status) if isinstance(status, int) else None

    @property
    def flags(self) -> list[str]:
        """The set flags among ``fault``, ``error``, ``throttle`` (in that order)."""
        return [f for f in ("fault", "error", "throttle") if self._get(f)]

    @property
    def cold_start(self) -> bool:
        """Annotation ``ColdStart`` is true (the layer sets it on the handler subsegment)."""
        annotations = self._get("annotations") or {}
        return any(
            k.lower().replace("_", "") == "coldstart" and v is True for k, v in annotations.items()
        )

    @property
    def annotations(self) -> dict[str, Any]:
        """The document's annotations."""
        return dict(self._get("annotations") or {})

    @property
    def exceptions(self) -> list[str]:
        """``Type: message`` for each exception in ``cause`` (or a reference to one)."""
        cause = self._get("cause")
        if isinstance(cause, str):
            return [f"(exception {cause}, recorded in another document)"]
        if not isinstance(cause, dict):
            return []
        lines = []
        for exc in cause.get("exceptions") or []:
            kind = exc.get("type") or "Exception"
            message = exc.get("message") or ""
            remote = " (remote)" if exc.get("remote") else ""
            lines.append(f"{kind}: {message}{remote}" if message else f"{kind}{remote}")
        if not lines and cause.get("message"):
            lines.append(str(cause["message"]))
        return lines

    def walk(self, depth: int = 0) -> Iterable[tuple[int, Node]]:
        """This node and its descendants, depth first, children by start time."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass
class Trace:
    """All nodes of one trace id, as a forest of root nodes."""

    trace_id: str
    roots: list[Node]
    document_count: int

    def nodes(self) -> list[tuple[int, Node]]:
        """Every node with its depth, in display order."""
        return [pair for root in self.roots for pair in root.walk()]

    @property
    def start(self) -> float | None:
        """Earliest start time in the trace."""
        starts = [n.start for _, n in self.nodes() if n.start is not None]
        return min(starts) if starts else None

    @property
    def end(self) -> float | None:
        """Latest end time in the trace."""
        ends = [n.end for _, n in self.nodes() if n.end is not None]
        return max(ends) if ends else None

    @property
    def duration_ms(self) -> float | None:
        """Span of the whole trace in milliseconds."""
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start) * 1000.0

    @property
    def flags(self) -> list[str]:
        """Flags set anywhere in the trace."""
        found = {f for _, n in self.nodes() for f in n.flags}
        return [f for f in ("fault", "error", "throttle") if f in found]

    @property
    def cold_start(self) -> bool:
        """Any node of the trace is marked as a cold start."""
        return any(n.cold_start for _, n in self.nodes())

    @property
    def title(self) -> str:
        """The name of the first received top-level node (usually the handler)."""
        for _, node in self.nodes():
            if node.received:
                return node.name
        return self.trace_id

    def find(self, name: str) -> list[Node]:
        """Received nodes whose display name starts with ``name``."""
        return [n for _, n in self.nodes() if n.received and n.name.startswith(name)]

    def bar(self, node: Node) -> tuple[float, float]:
        """Offset and width of ``node`` on this trace's timeline, as fractions of 1."""
        start, end = self.start, self.end
        if start is None or end is None or node.start is None:
            return 0.0, 0.0
        span = max(end - start, 1e-9)
        node_end = node.end if node.end is not None else end
        offset = min(max((node.start - start) / span, 0.0), 1.0)
        size = min(max((node_end - node.start) / span, 0.0), 1.0 - offset)
        return offset, size


def _flatten(doc: dict[str, Any], out: list[dict[str, Any]]) -> None:
    """Append ``doc`` and its embedded subsegments (linked to their container)."""
    nested = doc.get("subsegments") or []
    out.append({k: v for k, v in doc.items() if k != "subsegments"})
    for sub in nested:
        if isinstance(sub, dict) and isinstance(sub.get("id"), str):
            linked = dict(sub)
            linked.setdefault("trace_id", doc.get("trace_id"))
            linked.setdefault("parent_id", doc.get("id"))
            linked.setdefault("type", "subsegment")
            _flatten(linked, out)


def build_traces(documents: Iterable[dict[str, Any]]) -> list[Trace]:
    """Group documents by trace id and link them into trees; oldest trace first.

    A document received twice (``in_progress`` first, complete later) keeps its
    complete version.
    """
    flat: list[dict[str, Any]] = []
    for doc in documents:
        _flatten(doc, flat)
    by_trace: dict[str, dict[str, dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for doc in flat:
        trace_id = str(doc.get("trace_id", "?"))
        counts[trace_id] = counts.get(trace_id, 0) + 1
        docs = by_trace.setdefault(trace_id, {})
        previous = docs.get(doc["id"])
        if previous is None or previous.get("in_progress") or not doc.get("in_progress"):
            docs[doc["id"]] = doc

    traces = []
    for trace_id, docs in by_trace.items():
        nodes = {i: Node(i, d, d.get("parent_id")) for i, d in docs.items()}
        roots: list[Node] = []
        for node in list(nodes.values()):
            if node.parent_id is None:
                roots.append(node)
                continue
            parent = nodes.get(node.parent_id)
            if parent is None:
                parent = nodes[node.parent_id] = Node(node.parent_id, None)
                roots.append(parent)
            parent.children.append(node)
        for node in nodes.values():
            node.children.sort(key=_start_key)
        roots.sort(key=_start_key)
        traces.append(Trace(trace_id, roots, counts[trace_id]))
    traces.sort(key=lambda t: t.start if t.start is not None else float("inf"))
    return traces


def _start_key(node: Node) -> float:
    return node.start if node.start is not None else float("inf")


# -- terminal ------------------------------------------------------------------


def _fmt_ms(value: float | None) -> str:
    if value is None:
        return "…"
    return f"{value:,.1f} ms" if value < 10_000 else f"{value / 1000:,.2f} s"


def _paint(text: str, style: str | None, color: bool) -> str:
    return f"{_ANSI[style]}{text}{_RESET}" if color and style else text


def _text_bar(trace: Trace, node: Node, width: int) -> str:
    offset, size = trace.bar(node)
    length = max(1, round(size * width))
    left = min(round(offset * width), width - length)
    return " " * left + "█" * length + " " * (width - left - length)


def render_trace_text(trace: Trace, *, color: bool = False, bar_width: int = BAR_WIDTH) -> str:
    """One trace as a tree with a duration, a timeline bar and marks per node."""
    marks = [*(f.upper() for f in trace.flags), *(["cold start"] if trace.cold_start else [])]
    head = f"trace {trace.trace_id}  {_fmt_ms(trace.duration_ms)}  {trace.document_count} docs"
    style = next(iter(trace.flags), None)
    lines = [_paint(head + ("  " + ", ".join(marks) if marks else ""), style, color)]

    def visit(node: Node, guides: str, last: bool) -> None:
        label = (guides + ("└─ " if last else "├─ ") + node.name)[:LABEL_WIDTH]
        duration = (_fmt_ms(node.duration_ms) if node.received else "").rjust(10)
        bar = "|" + _text_bar(trace, node, bar_width) + "|"
        if node.received:
            info = [str(node.status)] if node.status is not None else []
            info += [f.upper() for f in node.flags]
            info += ["in progress"] * node.in_progress + ["cold start"] * node.cold_start
            row = f"{label.ljust(LABEL_WIDTH)} {node.namespace[:6]:6} {duration} {bar}  "
            node_style = next(iter(node.flags), None)
            lines.append(_paint((row + " ".join(info)).rstrip(), node_style, color))
        else:
            row = f"{label.ljust(LABEL_WIDTH)} {'':6} {duration} {bar}"
            lines.append(_paint(row, "dim", color))
        inner = guides + ("   " if last else "│  ")
        guide = "│  " if node.children else "   "
        for message in node.exceptions:
            lines.append(_paint(f"{inner}{guide}! {message}", "fault", color))
        for i, child in enumerate(node.children):
            visit(child, inner, i == len(node.children) - 1)

    for i, root in enumerate(trace.roots):
        visit(root, "", i == len(trace.roots) - 1)
    return "\n".join(lines)


def render_text(traces: Sequence[Trace], *, color: bool = False) -> str:
    """Every trace, oldest first, separated by blank lines."""
    if not traces:
        return "no traces received"
    return "\n\n".join(render_trace_text(t, color=color) for t in traces)


# -- HTML ----------------------------------------------------------------------


def _template_dir() -> Path:
    return Path(__file__).resolve().parent / "templates"


def render_html(
    traces: Sequence[Trace],
    *,
    title: str = "X-Ray traces",
    labels: Mapping[str, str] | None = None,
) -> str:
    """A self-contained static HTML page with every trace (jinja2, autoescaped).

    ``labels`` maps trace ids to a caption shown above that trace.
    """
    import jinja2  # loaded only when a page is written

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = _fmt_ms
    template = env.get_template("traces.html.j2")
    return template.render(
        title=title,
        traces=traces,
        labels=dict(labels or {}),
        total=sum(t.document_count for t in traces),
    )


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


# -- files ---------------------------------------------------------------------


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Documents from a JSON-lines file (one document per line) or a JSON array."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        return [d for d in data if isinstance(d, dict)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def append_document(path: Path, document: dict[str, Any]) -> None:
    """Append one document to a JSON-lines file."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(document, separators=(",", ":")) + "\n")
