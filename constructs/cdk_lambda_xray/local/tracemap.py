"""The trace map: one service graph aggregated over every collected trace, as X-Ray draws it.

:func:`build_map` reads the trace view's linked trees
(:func:`~cdk_lambda_xray.local.traceview.build_traces`, every document already
normalised by :mod:`~cdk_lambda_xray.local.docmodel`) and returns a
:class:`TraceMap`: nodes (client, bucket, topic, queue, Lambda service,
function, table, AWS service, remote host) and edges with the request count,
average and p95 latency and the error / throttle / fault counts. It is a pure
function and total: odd documents add what they can and nothing raises.

Nodes are found the way X-Ray finds them:

- every *segment* is a node of its own; its ``origin`` says which kind
  (``AWS::Lambda`` the Lambda service, ``AWS::Lambda::Function`` the function,
  ``AWS::S3::Bucket``, ...); a segment without ``origin`` and without a parent
  is a client;
- every subsegment in namespace ``aws`` is a call to the resource its ``aws``
  fields name (``table_name``, ``bucket_name``, ``queue_url``, ``topic_arn``,
  ``function_name``) or, without one, to the service (its ``name``); namespace
  ``remote`` is a call to the remote host ``name``;
- a segment whose parent is in another node is a request from that node, or --
  when the parent is a call subsegment -- from the node that call went to
  (client -> bucket -> Lambda -> function);
- the layer's ``## handler`` subsegment under a parent never received (today's
  local traces, where nobody sends Lambda's segments) stands for its function,
  named by its ``Service`` annotation or else by the handler.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cdk_lambda_xray.local.docmodel import FLAGS, safe_text
from cdk_lambda_xray.local.traceview import Node, Trace, build_traces

__all__ = [
    "KINDS",
    "MapEdge",
    "MapNode",
    "TraceMap",
    "build_map",
    "map_from_documents",
    "percentile",
]

#: Node kinds, in the order the map's columns and the terminal table list them.
KINDS: Final = (
    "client",
    "bucket",
    "topic",
    "queue",
    "lambda",
    "function",
    "table",
    "service",
    "remote",
    "unknown",
)
_ORIGIN_KIND: Final = {
    "AWS::Lambda": "lambda",
    "AWS::Lambda::Function": "function",
    "AWS::S3::Bucket": "bucket",
    "AWS::SNS::Topic": "topic",
    "AWS::SQS::Queue": "queue",
    "AWS::DynamoDB::Table": "table",
}
#: ``aws`` field of a call subsegment -> the kind of node it names
_RESOURCE_FIELDS: Final = (
    ("table_name", "table"),
    ("bucket_name", "bucket"),
    ("queue_url", "queue"),
    ("queue_name", "queue"),
    ("topic_arn", "topic"),
    ("function_name", "lambda"),
)
_HANDLER_PREFIX: Final = "## "
_NAME_LIMIT: Final = 120
_KEY_LIMIT: Final = 1000


@dataclass(frozen=True)
class MapNode:
    """One service in the map. ``name`` is display text; ``raw_name`` the name as recorded."""

    key: str
    kind: str
    name: str
    raw_name: str
    #: The AWS service a call went to (``DynamoDB``), for resource and service nodes.
    service: str = ""
    #: Handlers (``record_upload.handler``) and ``Service`` annotations seen in this node.
    handlers: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    #: Documents recording this node's own work: its segments, or (for a function
    #: whose segment was not received) the layer's handler subsegments; 0 for nodes
    #: known only from calls to them.
    recorded: int = 0
    #: How many of those documents are marked fault / error / throttle (themselves or a
    #: subsegment of theirs that is not a call: a failed call counts for the callee).
    faults: int = 0
    errors: int = 0
    throttles: int = 0


@dataclass(frozen=True)
class MapEdge:
    """Requests from one node to another, aggregated."""

    source: str
    target: str
    count: int
    avg_ms: float | None
    p95_ms: float | None
    errors: int
    throttles: int
    faults: int

    @property
    def flags(self) -> tuple[str, ...]:
        """``fault``, ``error``, ``throttle`` -- those with a non-zero count, in that order."""
        counts = {"fault": self.faults, "error": self.errors, "throttle": self.throttles}
        return tuple(f for f in FLAGS if counts[f])


@dataclass(frozen=True)
class TraceMap:
    """Nodes (sorted by kind, then name) and edges (sorted by their nodes)."""

    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]

    def node(self, key: str) -> MapNode | None:
        """The node with ``key``, if any."""
        return next((n for n in self.nodes if n.key == key), None)

    def edges_between(self, source: str, target: str) -> list[MapEdge]:
        """The edge(s) from ``source`` to ``target`` (at most one)."""
        return [e for e in self.edges if e.source == source and e.target == target]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (``None`` when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def map_from_documents(documents: Iterable[Any]) -> TraceMap:
    """:func:`build_map` over any JSON values (what the collector kept or a file holds)."""
    return build_map(build_traces(documents))


# -- building ------------------------------------------------------------------------


@dataclass
class _NodeAcc:
    kind: str
    raw_name: str
    service: str = ""
    handlers: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    recorded: int = 0
    flags: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAGS, 0))


@dataclass
class _EdgeAcc:
    count: int = 0
    durations: list[float] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAGS, 0))


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, _NodeAcc] = {}
        self.edges: dict[tuple[str, str], _EdgeAcc] = {}

    def node(self, kind: str, raw_name: str, service: str = "") -> str:
        key = f"{kind}:{safe_text(raw_name, _KEY_LIMIT)}"  # printable: keys go into pages
        if key not in self.nodes:
            self.nodes[key] = _NodeAcc(kind, raw_name, service)
        return key

    def edge(self, source: str, target: str, node: Node) -> None:
        if source == target:
            return  # the same hop seen from both sides (an Invoke call and Lambda's segment)
        acc = self.edges.setdefault((source, target), _EdgeAcc())
        acc.count += 1
        duration = node.duration_ms
        if duration is not None and duration >= 0:
            acc.durations.append(duration)
        for flag in _flags(node):
            acc.flags[flag] += 1

    def result(self) -> TraceMap:
        order = {kind: i for i, kind in enumerate(KINDS)}
        nodes = tuple(
            sorted(
                (
                    MapNode(
                        key=key,
                        kind=acc.kind,
                        name=safe_text(acc.raw_name, _NAME_LIMIT),
                        raw_name=acc.raw_name,
                        service=acc.service,
                        handlers=tuple(sorted(acc.handlers)),
                        services=tuple(sorted(acc.services)),
                        recorded=acc.recorded,
                        faults=acc.flags["fault"],
                        errors=acc.flags["error"],
                        throttles=acc.flags["throttle"],
                    )
                    for key, acc in self.nodes.items()
                ),
                key=lambda n: (order.get(n.kind, len(order)), n.raw_name, n.key),
            )
        )
        edges = tuple(
            MapEdge(
                source=source,
                target=target,
                count=acc.count,
                avg_ms=sum(acc.durations) / len(acc.durations) if acc.durations else None,
                p95_ms=percentile(acc.durations, 0.95),
                errors=acc.flags["error"],
                throttles=acc.flags["throttle"],
                faults=acc.flags["fault"],
            )
            for (source, target), acc in sorted(self.edges.items())
        )
        return TraceMap(nodes, edges)


def build_map(traces: Sequence[Trace]) -> TraceMap:
    """Aggregate the service graph of ``traces`` (see the module for how nodes are found)."""
    builder = _Builder()
    for trace in traces:
        _add_trace(builder, trace)
    return builder.result()


def _add_trace(builder: _Builder, trace: Trace) -> None:
    # owner: the map node a document belongs to; target: where a call subsegment goes
    owner: dict[int, str] = {}
    target: dict[int, str] = {}
    # unit: the recorded document (a segment, or a handler standing for its function)
    # whose outcome a document shares; calls have none (their errors are the callee's)
    unit: dict[int, int | None] = {}
    unit_owner: dict[int, str] = {}
    unit_flags: dict[int, set[str]] = {}
    parent_of: dict[int, Node] = {}
    for _, node in trace.nodes():
        for child in node.children:
            parent_of[id(child)] = node
    for _, node in trace.nodes():
        if not node.received:
            continue
        doc = node.doc or {}
        parent = parent_of.get(id(node))
        if _is_segment(doc):
            kind = _segment_kind(doc, parent)
            key = builder.node(kind, node.raw_name or "(no name)")
            builder.nodes[key].recorded += 1
            owner[id(node)] = key
            unit[id(node)], unit_owner[id(node)] = id(node), key
            if parent is not None and parent.received:
                upstream = target.get(id(parent)) or owner.get(id(parent))
                if upstream is not None:
                    builder.edge(upstream, key, node)
        else:
            key = _subsegment_owner(builder, node, doc, parent, owner)
            owner[id(node)] = key
            stands = parent is None or not parent.received
            if _note_handler(builder.nodes[key], node, doc, owned=stands):
                unit[id(node)], unit_owner[id(node)] = id(node), key
            else:
                unit[id(node)] = unit.get(id(parent)) if parent is not None else None
            call = _call_target(builder, node, doc)
            if call is not None:
                unit[id(node)] = None
            if call is not None and (parent is None or id(parent) not in target):
                target[id(node)] = call
                builder.edge(key, call, node)
        recorded = unit.get(id(node))
        if recorded is not None:
            unit_flags.setdefault(recorded, set()).update(node.flags)
    for recorded, flags in unit_flags.items():
        for flag in flags:
            builder.nodes[unit_owner[recorded]].flags[flag] += 1


def _is_segment(doc: dict[str, Any]) -> bool:
    """A segment (a node of its own) rather than a subsegment of one."""
    if isinstance(doc.get("origin"), str):
        return True
    return doc.get("type") != "subsegment" and isinstance(doc.get("trace_id"), str)


def _segment_kind(doc: dict[str, Any], parent: Node | None) -> str:
    origin = doc.get("origin")
    if isinstance(origin, str):
        return _ORIGIN_KIND.get(origin, "service")
    return "client" if parent is None and not isinstance(doc.get("parent_id"), str) else "service"


def _subsegment_owner(
    builder: _Builder,
    node: Node,
    doc: dict[str, Any],
    parent: Node | None,
    owner: dict[int, str],
) -> str:
    """The node a subsegment belongs to: its parent's, or the function its handler stands for."""
    if parent is not None and id(parent) in owner:
        return owner[id(parent)]
    name = node.raw_name or ""
    if name.startswith(_HANDLER_PREFIX):
        service = _annotation(doc, "Service")
        return builder.node("function", service or name.removeprefix(_HANDLER_PREFIX))
    return builder.node("unknown", "(caller not received)")


def _note_handler(acc: _NodeAcc, node: Node, doc: dict[str, Any], *, owned: bool) -> bool:
    """Note the handler and service a ``## handler`` subsegment names; count it when it
    stands for its function (``owned``: its parent, the function segment, was not received).
    Returns whether it does."""
    name = node.raw_name or ""
    if not name.startswith(_HANDLER_PREFIX):
        return False
    acc.handlers.add(name.removeprefix(_HANDLER_PREFIX))
    service = _annotation(doc, "Service")
    if service:
        acc.services.add(service)
    if owned:
        acc.recorded += 1
    return owned


def _call_target(builder: _Builder, node: Node, doc: dict[str, Any]) -> str | None:
    """The node a call subsegment (namespace ``aws`` or ``remote``) goes to, if it is one."""
    namespace = doc.get("namespace")
    name = node.raw_name or "(no name)"
    if namespace == "remote":
        return builder.node("remote", name)
    if namespace != "aws":
        return None
    aws = doc.get("aws")
    fields = aws if isinstance(aws, dict) else {}
    for field_name, kind in _RESOURCE_FIELDS:
        value = fields.get(field_name)
        if isinstance(value, str) and value:
            return builder.node(kind, _resource_name(kind, value), name)
    return builder.node("service", name, name)


def _resource_name(kind: str, value: str) -> str:
    """The resource's name from an identifier: a queue URL's last part, an ARN's name."""
    if kind == "queue":
        return value.rstrip("/").rsplit("/", 1)[-1]
    if kind == "topic" and value.startswith("arn:"):
        return value.rsplit(":", 1)[-1]
    if kind == "lambda" and value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value


def _annotation(doc: dict[str, Any], name: str) -> str | None:
    annotations = doc.get("annotations")
    value = annotations.get(name) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) and value else None


def _flags(node: Node) -> set[str]:
    """The node's flags, and those its HTTP status implies (429 throttle, 4xx error, 5xx fault)."""
    flags = set(node.flags)
    status = node.status
    if status is not None:
        if status == 429:
            flags |= {"throttle", "error"}
        elif 400 <= status < 500:
            flags.add("error")
        elif status >= 500:
            flags.add("fault")
    return flags
