"""What ``lambda_xray.batch`` keeps for a parent's document; how a document with children is cut.

In-process, through the recorder and ``lambda_xray.testing.InMemoryEmitter``
(the bytes the UDP emitter would send); the awslambdaric + UDP side is in
``test_batch_runtime.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lx_schema import validate_subsegment

from lambda_xray import _recorder, api, testing, wire
from lambda_xray.document import Subsegment
from lambda_xray.testing import InMemoryEmitter

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.fixture
def warm(layer: None) -> Iterator[InMemoryEmitter]:
    """A process past its first invocation (which keeps nothing), documents in memory."""
    with InMemoryEmitter() as xray:
        with testing.invocation("cold"):
            pass
        xray.clear()
        yield xray


def _call(name: str = "api.example.com", status: int = 200) -> Subsegment:
    sub = _recorder.begin_subsegment(name, "remote")
    assert sub is not None
    sub.http["request"] = {"method": "GET", "url": f"https://{name}/items"}
    _recorder.end_subsegment(sub, status=status)
    return sub


def _decode(datagram: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(datagram[len(wire.HEADER) :])
    return doc


def test_the_in_memory_emitter_lists_embedded_subsegments_on_their_own(
    warm: InMemoryEmitter,
) -> None:
    with testing.invocation() as root:
        assert root is not None
        with api.subsegment("render"):
            inner = _call("inner.example.com")
        outer = _call("outer.example.com", status=404)
    assert len(warm.datagrams) == 1
    assert warm.names() == ["inner.example.com", "render", "outer.example.com", "## test"]
    for doc in warm.documents:
        validate_subsegment(doc)
        assert doc["trace_id"] == root.trace_id and "subsegments" not in doc
    (render,) = warm.named("render")
    assert warm.children_of(render)[0]["id"] == inner.id
    assert [d["id"] for d in warm.children_of(warm.named("## test")[0])] == [render["id"], outer.id]
    assert warm.named("outer.example.com")[0]["error"] is True
    # The datagram itself: the calls nested where they happened, without the inherited fields.
    sent = _decode(warm.datagrams[0])
    validate_subsegment(sent)
    nested = sent["subsegments"][0]["subsegments"][0]
    assert nested["id"] == inner.id and not {"type", "trace_id", "parent_id"} & set(nested)


def test_calls_kept_by_a_subsegment_that_never_closed_leave_on_their_own(
    warm: InMemoryEmitter,
) -> None:
    with testing.invocation():
        scope = api.subsegment("forgotten").__enter__()  # never exited
        assert scope.subsegment is not None
        calls = [_call() for _ in range(3)]
    assert warm.names() == ["## test"] + ["api.example.com"] * 3
    for call, doc in zip(calls, warm.documents[1:], strict=True):
        assert doc["id"] == call.id and doc["parent_id"] == scope.subsegment.id
        validate_subsegment(doc)
    assert len(warm.datagrams) == 4


def test_a_document_the_checked_path_writes_leaves_on_its_own_and_its_children_too(
    warm: InMemoryEmitter,
) -> None:
    with testing.invocation(), api.subsegment("odd") as scope:
        _call()
        assert scope.subsegment is not None
        scope.subsegment.metadata["default"] = {"nan": float("nan")}  # JSON cannot hold it
    names = warm.names()
    assert sorted(names) == ["## test", "api.example.com", "odd"]
    assert len(warm.datagrams) == 3
    assert warm.named("odd")[0]["metadata"]["default"]["nan"] == "nan"


def test_nothing_is_kept_in_the_first_invocation_of_a_process(layer: None) -> None:
    with InMemoryEmitter() as xray, testing.invocation():
        _call()
        _call()
    assert len(xray.datagrams) == 3  # as every invocation did before


def test_an_unsampled_invocation_after_a_sampled_one_keeps_and_sends_nothing(
    warm: InMemoryEmitter,
) -> None:
    with testing.invocation(header=testing.trace_header(sampled=False)):
        assert _recorder.begin_subsegment("x", "remote") is None
    assert warm.datagrams == []


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3_000), max_size=40),
    limit=st.integers(300, 20_000),
)
def test_a_document_holds_the_children_that_fit_and_returns_the_others(
    sizes: list[int], limit: int
) -> None:
    parent = Subsegment("parent", TRACE_ID, "53995c3f42cd8ad8")
    parent.end_time = parent.start_time + 1.0
    rest = wire.rest_of(parent)
    assert rest is not None
    children = []
    for i, size in enumerate(sizes):
        child = Subsegment(f"c{i}", TRACE_ID, parent.id)
        child.end_time = child.start_time + 0.1
        child.metadata["default"] = {"pad": "x" * size}
        child_rest = wire.rest_of(child)
        assert child_rest is not None
        children.append(wire.embedded(child, child_rest))
    head = wire.standalone(parent, rest)
    document, left = wire.with_children(head, children, sum(map(len, children)), limit)
    if len(head) <= limit:
        assert len(document) <= limit
    doc = json.loads(document)
    kept = [json.dumps(c, separators=(",", ":")) for c in doc.get("subsegments", [])]
    assert sorted(kept + left) == sorted(children)  # each child exactly once
    assert kept == [c for c in children if c not in left]  # in order
    # What is left over becomes a standalone document with the same fields.
    for child in left:
        alone = json.loads(wire.as_standalone(child, TRACE_ID, parent.id))
        validate_subsegment(alone)
        assert alone == {
            "type": "subsegment",
            "trace_id": TRACE_ID,
            "parent_id": parent.id,
            **json.loads(child),
        }
