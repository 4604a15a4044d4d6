"""Compare what the templates promise (the review's model) with what the traces show (the map).

Promised hops are the review's service map: every event source into a
function and every downstream target the function's role may call. Each
becomes a :class:`HopCheck`:

- ``observed`` -- the trace map has the edge (an event source may pass
  through the Lambda service node: bucket -> Lambda -> function);
- ``missing`` -- tracing is on along the hop and it was not seen: the function
  never ran (not exercised), or ran without making the call or without its
  upstream's segment; this is what ``--fail-on missing`` gates on;
- ``gap`` -- it could not have been seen and the review knows why: the hop is
  untraced, the upstream has no tracing, the service takes no part in X-Ray,
  or the function is CDK's own and runs only at deploy or delete time;
- ``unobservable`` -- an event source hop, while the traces hold no segment of
  any service in front of a function (only the layer's subsegments: local
  traces before the Lambda service's segments are emulated).

Every edge of the map from a function of the assembly that no promise covers
is ``undeclared``; calls to remote hosts (which IAM does not govern), calls
from clients and functions the assembly does not define are listed as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from cdk_lambda_xray.local.tracemap import MapEdge, MapNode, TraceMap
from cdk_lambda_xray.review.model import Downstream, EventSource, HopStatus, Model
from cdk_lambda_xray.review.resolve import ResourceId
from cdk_lambda_xray.verify.match import Matcher, iam_service

__all__ = ["Finding", "HopCheck", "HopState", "Verification", "verify_map"]

#: nodes the matcher can tie to an event source of the templates
_SOURCE_KINDS: Final = frozenset({"bucket", "topic", "queue"})


class HopState(StrEnum):
    """What the traces say about one promised hop."""

    OBSERVED = "observed"
    MISSING = "missing"
    GAP = "gap"
    UNOBSERVABLE = "unobservable"


@dataclass(frozen=True)
class HopCheck:
    """One promised hop and what the traces showed of it."""

    kind: str  # "event source" | "call"
    source: str
    target: str
    state: HopState
    reason: str
    count: int = 0


@dataclass(frozen=True)
class Finding:
    """An observed edge the templates do not promise, or one they cannot govern."""

    kind: str  # "undeclared" | "remote" | "client" | "unknown function"
    source: str
    target: str
    count: int
    reason: str


@dataclass
class Verification:
    """The result of :func:`verify_map`."""

    assembly: str
    traces: str
    nodes: int
    edges: int
    hops: list[HopCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def of_state(self, state: HopState) -> list[HopCheck]:
        """The hops in ``state``."""
        return [h for h in self.hops if h.state is state]

    @property
    def undeclared(self) -> list[Finding]:
        """Observed edges from the assembly's functions that no promise covers."""
        return [f for f in self.findings if f.kind == "undeclared"]

    def failed(self, fail_on: str) -> bool:
        """Whether the gate ``fail_on`` (missing, undeclared, all, none) fails."""
        missing = bool(self.of_state(HopState.MISSING))
        undeclared = bool(self.undeclared)
        return {
            "missing": missing,
            "undeclared": undeclared,
            "all": missing or undeclared,
        }.get(fail_on, False)

    def summary(self, fail_on: str | None = None) -> str:
        """One line: counts per state and the gate's verdict."""
        parts = [f"{len(self.hops)} promised hops"]
        parts += [f"{len(self.of_state(s))} {s.value}" for s in HopState]
        parts.append(f"{len(self.undeclared)} undeclared")
        if fail_on is not None:
            parts.append(f"{'FAIL' if self.failed(fail_on) else 'pass'} (--fail-on {fail_on})")
        return " · ".join(parts)


def verify_map(
    model: Model, matcher: Matcher, trace_map: TraceMap, *, traces: str = ""
) -> Verification:
    """Check every promised hop of ``model`` against ``trace_map``; list what is not promised."""
    return _Comparison(model, matcher, trace_map, traces).run()


class _Comparison:
    def __init__(self, model: Model, matcher: Matcher, trace_map: TraceMap, traces: str) -> None:
        self.model = model
        self.map = trace_map
        self.result = Verification(model.source, traces, len(trace_map.nodes), len(trace_map.edges))
        self.nodes = {n.key: n for n in trace_map.nodes}
        self.resource_of: dict[str, ResourceId | None] = {
            n.key: matcher.resource(n) for n in trace_map.nodes
        }
        # whether any hop into a function could be seen at all (a segment in front of one)
        self.connected = any(n.kind == "lambda" for n in trace_map.nodes) or any(
            self.nodes[e.target].kind == "function" for e in trace_map.edges
        )
        self.covered: set[tuple[str, str]] = set()

    def nodes_of(self, rid: ResourceId | None, kinds: Iterable[str] | None = None) -> list[str]:
        allowed = set(kinds) if kinds is not None else None
        return [
            key
            for key, found in self.resource_of.items()
            if rid is not None
            and found == rid
            and (allowed is None or self.nodes[key].kind in allowed)
        ]

    def edges(self, sources: list[str], targets: list[str]) -> list[MapEdge]:
        wanted_s, wanted_t = set(sources), set(targets)
        return [e for e in self.map.edges if e.source in wanted_s and e.target in wanted_t]

    def run(self) -> Verification:
        for source in self.model.event_sources:
            self.result.hops.append(self.event_source(source))
        for call in self.model.downstream:
            self.result.hops.append(self.call(call))
        self.findings()
        return self.result

    # -- promised hops -----------------------------------------------------------------
    def event_source(self, edge: EventSource) -> HopCheck:
        fn = self.model.functions.get(edge.function)
        source, target = edge.label, self.model.path_of(edge.function)
        functions = self.nodes_of(edge.function, {"function"})
        lambdas = self.nodes_of(edge.function, {"lambda"})
        sources = self.nodes_of(edge.source)
        direct = self.edges(sources, functions + lambdas)
        via = self.edges([e.target for e in direct if e.target in lambdas], functions)
        self.covered |= {(e.source, e.target) for e in direct + via}
        if direct:
            return HopCheck(
                "event source",
                source,
                target,
                HopState.OBSERVED,
                "seen in the traces",
                sum(e.count for e in direct),
            )
        gap = self._gap(edge, fn is not None and fn.traced, fn is not None and bool(fn.internal))
        if gap is not None:
            return HopCheck("event source", source, target, HopState.GAP, gap)
        if not self.connected:
            return HopCheck(
                "event source",
                source,
                target,
                HopState.UNOBSERVABLE,
                "the traces hold no segment of the Lambda service or of any function (only the "
                "layer's subsegments), so no hop into a function can be seen",
            )
        if not functions and not lambdas:
            return HopCheck(
                "event source", source, target, HopState.MISSING, _not_exercised(target)
            )
        return HopCheck(
            "event source",
            source,
            target,
            HopState.MISSING,
            f"{target} ran, but no segment from {source} led to it (the trace context did not "
            "arrive)",
        )

    def _gap(self, edge: EventSource, traced: bool, internal: bool) -> str | None:
        if not traced:
            return "upstream without tracing: the function's tracing is not Active"
        if edge.hop is HopStatus.NOT_SUPPORTED:
            return f"not part of the trace: {edge.detail}"
        if edge.hop.is_gap:
            return f"untraced hop: {edge.detail}"
        if internal and not self.nodes_of(edge.function):
            return "not exercised: a CDK-internal function, run only at deploy or delete time"
        return None

    def call(self, call: Downstream) -> HopCheck:
        fn = self.model.functions.get(call.function)
        source = self.model.path_of(call.function)
        functions = self.nodes_of(call.function, {"function"})
        if call.target is not None:
            targets = self.nodes_of(call.target)
        else:
            # a wildcard: the service's own node (ListTables) or, without one, any of its resources
            of_service = [
                n for n in self.map.nodes if n.service and iam_service(n.service) == call.service
            ]
            own = [n.key for n in of_service if n.kind == "service"]
            targets = own if self.edges(functions, own) else [n.key for n in of_service]
        seen = self.edges(functions, targets)
        self.covered |= {(e.source, e.target) for e in seen}
        if seen:
            count = sum(e.count for e in seen)
            return HopCheck(
                "call", source, call.label, HopState.OBSERVED, "seen in the traces", count
            )
        if fn is None or not fn.traced:
            reason = "upstream without tracing: the function's tracing is not Active"
            return HopCheck("call", source, call.label, HopState.GAP, reason)
        if not fn.tracers:
            reason = "untraced hop: no SDK instrumentation recognized on the function"
            return HopCheck("call", source, call.label, HopState.GAP, reason)
        if not functions:
            if fn.internal:
                reason = "not exercised: a CDK-internal function, run only at deploy or delete time"
                return HopCheck("call", source, call.label, HopState.GAP, reason)
            return HopCheck("call", source, call.label, HopState.MISSING, _not_exercised(source))
        runs = sum(self.nodes[k].recorded for k in functions)
        actions = ", ".join(call.actions[:4]) + (" …" if len(call.actions) > 4 else "")
        reason = (
            f"not exercised: {source} ran ({runs} recorded) but never called it "
            f"(the role allows {actions})"
        )
        return HopCheck("call", source, call.label, HopState.MISSING, reason)

    # -- observed, not promised --------------------------------------------------------
    def findings(self) -> None:
        for edge in self.map.edges:
            if (edge.source, edge.target) in self.covered:
                continue
            source, target = self.nodes[edge.source], self.nodes[edge.target]
            finding = self._finding(edge, source, target)
            if finding is not None:
                self.result.findings.append(finding)

    def _finding(self, edge: MapEdge, source: MapNode, target: MapNode) -> Finding | None:
        shown_s, shown_t = _shown(source), _shown(target)
        source_fn = self.resource_of[source.key] if source.kind == "function" else None
        target_rid = self.resource_of[target.key]
        source_rid = self.resource_of[source.key]
        if target.kind == "function" and source.kind == "lambda" and source_rid == target_rid:
            return None  # the Lambda service in front of its own function
        entering = target.kind in {"function", "lambda"} and source.kind in _SOURCE_KINDS
        if entering and target_rid is not None:
            return Finding(
                "undeclared",
                shown_s,
                shown_t,
                edge.count,
                "invokes the function, but the templates declare no such event source",
            )
        if source.kind in {"function", "lambda"} and source_fn is None:
            if source_rid is None:
                return Finding(
                    "unknown function",
                    shown_s,
                    shown_t,
                    edge.count,
                    "a function the assembly does not define",
                )
            return None
        if source.kind == "client":
            return Finding("client", shown_s, shown_t, edge.count, "outside the templates")
        if source_fn is None:
            return None
        if target.kind == "remote":
            return Finding(
                "remote",
                shown_s,
                shown_t,
                edge.count,
                "an HTTP call to a host; IAM does not govern it",
            )
        path = self.model.path_of(source_fn)
        return Finding(
            "undeclared",
            path,
            shown_t,
            edge.count,
            "called, but the function's role allows no such call in the templates",
        )


def _shown(node: MapNode) -> str:
    return f"{node.kind} {node.name}"


def _not_exercised(function: str) -> str:
    return f"not exercised: no trace of {function} (did its flow run?)"
