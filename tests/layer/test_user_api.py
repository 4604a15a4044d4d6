"""The public user API: ``subsegment``, ``annotate``, ``metadata`` and ``lambda_xray.testing``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_xray
from lambda_xray import annotate, metadata, subsegment
from lambda_xray._snapshot import CUT
from lambda_xray.testing import InMemoryEmitter, invocation, trace_header

Check = Callable[[list[dict[str, Any]]], None]


@pytest.fixture
def xray(layer: None) -> Iterator[InMemoryEmitter]:
    with InMemoryEmitter() as emitter:
        yield emitter


def by_name(xray: InMemoryEmitter, name: str) -> dict[str, Any]:
    (doc,) = xray.named(name)
    return doc


def test_the_public_api_is_exactly_all() -> None:
    assert sorted(lambda_xray.__all__) == [
        "ContextMissingError",
        "annotate",
        "metadata",
        "subsegment",
    ]
    for name in lambda_xray.__all__:
        assert getattr(lambda_xray, name) is not None
    with pytest.raises(AttributeError):
        lambda_xray.nothing_here  # noqa: B018


def test_a_with_block_is_a_child_of_the_invocation(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    with invocation("job") as root, subsegment("resize") as scope:
        assert scope.subsegment is not None
    assert_valid(xray.documents)
    assert root is not None
    assert by_name(xray, "resize")["parent_id"] == root.id
    assert xray.names() == ["resize", "## job"]


def test_nested_blocks_nest(xray: InMemoryEmitter, assert_valid: Check) -> None:
    with invocation(), subsegment("outer"), subsegment("inner"):
        pass
    assert_valid(xray.documents)
    outer, inner = by_name(xray, "outer"), by_name(xray, "inner")
    assert inner["parent_id"] == outer["id"]
    assert outer["start_time"] <= inner["start_time"] <= inner["end_time"] <= outer["end_time"]


def test_a_decorated_function_runs_in_its_own_subsegment_each_call(
    xray: InMemoryEmitter,
) -> None:
    @subsegment("load")
    def load(x: int) -> int:
        """Load it."""
        return x * 2

    with invocation():
        assert [load(1), load(2)] == [2, 4]
    assert xray.names().count("load") == 2
    assert load.__name__ == "load" and load.__doc__ == "Load it."
    assert load.__wrapped__(3) == 6  # type: ignore[attr-defined]


def test_decorators_without_a_name_use_the_functions_qualified_name(
    xray: InMemoryEmitter,
) -> None:
    @subsegment
    def bare() -> None:
        pass

    @subsegment()
    def called() -> None:
        pass

    with invocation():
        bare()
        called()
    names = xray.names()
    assert any(n.endswith("bare") for n in names) and any(n.endswith("called") for n in names)


def test_async_functions_and_blocks_are_timed_until_they_finish(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    @subsegment("fetch")
    async def fetch() -> str:
        await asyncio.sleep(0.02)
        return "done"

    async def main() -> str:
        async with subsegment("batch"):
            return await fetch()

    with invocation():
        assert asyncio.run(main()) == "done"
    assert_valid(xray.documents)
    fetch_doc, batch_doc = by_name(xray, "fetch"), by_name(xray, "batch")
    assert fetch_doc["parent_id"] == batch_doc["id"]
    assert fetch_doc["end_time"] - fetch_doc["start_time"] >= 0.015


def test_an_exception_leaving_a_block_is_a_fault_and_propagates_unchanged(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    error = KeyError("missing")
    with pytest.raises(KeyError) as caught, invocation(), subsegment("lookup"):
        raise error
    assert caught.value is error
    assert_valid(xray.documents)
    lookup, root = by_name(xray, "lookup"), by_name(xray, "## test")
    assert lookup["fault"] is True
    recorded = lookup["cause"]["exceptions"][0]
    assert recorded["type"] == "KeyError"
    assert root["fault"] is True and root["cause"] == recorded["id"]  # referenced, not copied


def test_annotate_and_metadata_go_to_the_current_subsegment(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    with invocation():
        annotate("tenant", "acme")
        with subsegment("work") as scope:
            annotate("items", 3)
            metadata("request", {"size": 3})
            metadata("note", "x", namespace="debug")
            scope.annotate("ratio", 0.5)
            scope.metadata("flag", True)
    assert_valid(xray.documents)
    work, root = by_name(xray, "work"), by_name(xray, "## test")
    assert root["annotations"]["tenant"] == "acme"
    assert work["annotations"] == {"items": 3, "ratio": 0.5}
    assert work["metadata"] == {
        "default": {"request": {"size": 3}, "flag": True},
        "debug": {"note": "x"},
    }


BAD_ANNOTATIONS: list[tuple[Any, Any, type[Exception]]] = [
    ("has-dash", "v", ValueError),
    ("", "v", ValueError),
    ("k" * 501, "v", ValueError),
    ("caf\u00e9", "v", ValueError),
    (3, "v", TypeError),
    ("key", [1, 2], TypeError),
    ("key", None, TypeError),
    ("key", {"a": 1}, TypeError),
    ("key", float("nan"), ValueError),
    ("key", float("inf"), ValueError),
    ("key", "x" * 1001, ValueError),
]


@pytest.mark.parametrize(("key", "value", "error"), BAD_ANNOTATIONS)
def test_bad_annotations_raise_in_runtime_error_mode(
    key: Any,
    value: Any,
    error: type[Exception],
    xray: InMemoryEmitter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with invocation(), pytest.raises(error, match="annotation"):
        annotate(key, value)


@pytest.mark.parametrize(("key", "value", "error"), BAD_ANNOTATIONS)
def test_bad_annotations_are_logged_once_and_dropped_otherwise(
    key: Any,
    value: Any,
    error: type[Exception],
    xray: InMemoryEmitter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with invocation():
        annotate(key, value)
        annotate(key, value)
    (record,) = [r for r in caplog.records if r.name == "lambda_xray"]
    assert record.levelno == logging.WARNING and "annotation" in record.getMessage()
    assert set(by_name(xray, "## test")["annotations"]) == {"ColdStart", "Service"}


def test_valid_annotation_values_of_every_kind_are_kept(xray: InMemoryEmitter) -> None:
    with invocation():
        annotate("s", "x" * 1000)
        annotate("i", -(2**40))
        annotate("f", 1.5)
        annotate("b", False)
        annotate("A_1", "ok")
    notes = by_name(xray, "## test")["annotations"]
    assert (notes["s"], notes["i"], notes["f"], notes["b"], notes["A_1"]) == (
        "x" * 1000,
        -(2**40),
        1.5,
        False,
        "ok",
    )


@pytest.mark.parametrize(
    ("key", "namespace", "error"),
    [("k", "AWS.mine", ValueError), ("k", "", ValueError), (1, "default", TypeError)],
)
def test_bad_metadata_raises_in_runtime_error_mode(
    key: Any,
    namespace: Any,
    error: type[Exception],
    xray: InMemoryEmitter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with invocation(), pytest.raises(error, match="metadata"):
        metadata(key, "v", namespace=namespace)


def test_reserved_metadata_namespace_is_logged_and_dropped_otherwise(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation():
        metadata("k", "v", namespace="AWS.mine")
    assert "'AWS.' is reserved" in caplog.text
    assert "metadata" not in by_name(xray, "## test")


def test_metadata_values_json_cannot_hold_never_break_the_document(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing()"

    with invocation():
        metadata("thing", Thing())
        metadata("nan", float("nan"))
        metadata("big", "b" * 100_000)
    assert_valid(xray.documents)
    root = by_name(xray, "## test")
    kept = root["metadata"]["default"]
    assert (kept["thing"], kept["nan"]) == ("Thing()", "nan")
    assert kept["big"].endswith(CUT) and len(kept["big"]) < 20_000  # bounded at the call


def test_in_an_unsampled_invocation_the_api_records_nothing_and_never_raises(
    xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with invocation(header=trace_header(sampled=False)) as root:
        assert root is None
        with subsegment("work") as scope:
            assert scope.subsegment is None
            scope.annotate("k", 1)
            annotate("k", 1)
            metadata("k", 1)
    assert xray.documents == []


def test_the_testing_docstring_example_works(layer: None) -> None:
    @subsegment("resize")
    def resize(data: bytes) -> int:
        return len(data)

    with InMemoryEmitter() as xray, invocation():
        resize(b"...")
    assert "resize" in xray.names()


def test_in_memory_emitter_restores_the_previous_emitter(layer: None) -> None:
    from lambda_xray import emitter

    before = emitter.get_emitter()
    with InMemoryEmitter() as xray:
        assert emitter.get_emitter() is xray
    assert emitter.get_emitter() is before


def test_documents_reach_the_daemon_over_udp(collector: Any, assert_valid: Check) -> None:
    with invocation("udp"), subsegment("work"):
        annotate("via", "udp")
    docs = collector.wait_for(lambda d: len(d) >= 2, timeout=5)
    assert_valid(docs)
    assert {d["name"] for d in docs} == {"work", "## udp"}


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=1200),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.floats(), max_size=3),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.text(max_size=250),
    key=st.one_of(st.text(max_size=600), st.integers(), st.none()),
    value=_anything,
    namespace=st.one_of(st.text(max_size=20), st.just("AWS.x"), st.integers()),
)
def test_no_input_to_the_api_raises_into_user_code_or_breaks_a_document(
    name: str, key: Any, value: Any, namespace: Any, xray_schema: Any, layer: None
) -> None:
    # The layer's default mode (LOG_ERROR): bad input is logged, never raised.
    with InMemoryEmitter() as xray, invocation(), subsegment(name):
        annotate(key, value)
        metadata(key, value, namespace=namespace)
    assert len(xray.documents) == 2
    for doc in xray.documents:
        assert not list(xray_schema.iter_errors(doc))


# -- user-API inputs are normalised at the API ------------------------------------------


@pytest.mark.parametrize(
    "namespace",
    ["remote" * 20_000, ["aws"], 5, "Remote", "custom", b"aws"],
    ids=["long", "list", "int", "capitalised", "custom", "bytes"],
)
def test_a_bad_namespace_is_dropped_with_one_warning_and_the_document_stays_valid(
    namespace: Any,
    xray: InMemoryEmitter,
    assert_valid: Check,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lambda_xray.wire import MAX_DATAGRAM

    with invocation():
        for _ in range(3):
            with subsegment("odd namespace", namespace=namespace):
                pass
    assert_valid(xray.documents)
    assert all(len(d) <= MAX_DATAGRAM for d in xray.datagrams)
    blocks = xray.named("odd namespace")
    assert len(blocks) == 3 and not [b for b in blocks if "namespace" in b]
    warnings = [r for r in caplog.records if r.name == "lambda_xray"]
    assert len(warnings) == 1 and "namespace" in warnings[0].getMessage()


@pytest.mark.parametrize("namespace", ["aws", "remote", None])
def test_the_namespaces_xray_defines_are_kept(
    namespace: str | None, xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation(), subsegment("call", namespace=namespace):
        pass
    assert by_name(xray, "call").get("namespace") == namespace
    assert not [r for r in caplog.records if r.name == "lambda_xray"]


@pytest.mark.parametrize("name", [42, 3.5, ("a", "b"), b"bytes"], ids=repr)
def test_a_name_that_is_not_a_string_is_used_as_its_text(
    name: Any, xray: InMemoryEmitter, assert_valid: Check, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation(), subsegment(name):
        pass
    assert_valid(xray.documents)
    assert len(xray.documents) == 2
    assert "subsegment name must be a str" in caplog.text


def test_metadata_holding_odd_objects_keeps_the_document(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    class Exploding:
        def __repr__(self) -> str:
            raise KeyboardInterrupt("repr")

    class BadList(list[int]):
        def __iter__(self) -> Any:
            raise SystemExit("iter")

    with invocation():
        annotate("kept", "yes")
        metadata("odd", {"a": Exploding(), "b": BadList([1]), "c": [1, 2]})
        metadata("huge", list(range(1_000_000)))
    assert_valid(xray.documents)
    root = by_name(xray, "## test")
    assert root["annotations"]["kept"] == "yes"
    odd = root["metadata"]["default"]["odd"]
    assert odd["a"].startswith("<unreadable Exploding") and odd["c"] == [1, 2]
    assert odd["b"].startswith("<unreadable BadList")
    assert root["metadata"]["default"]["huge"][-1].endswith("more>")


def test_an_overlong_metadata_key_is_logged_and_dropped(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation():
        metadata("k" * 10_000, "v")
        metadata("k", "v", namespace="n" * 10_000)
    assert "metadata" not in by_name(xray, "## test")
    assert "at most 250 characters" in caplog.text


def test_bad_keys_built_from_data_warn_once_per_kind_not_per_value(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation():
        for i in range(50):
            annotate(f"user-{i}", i)  # '-' is not allowed: a new bad key every time
            metadata(f"k{i}", i, namespace=f"AWS.{i}")
    warnings = [r.getMessage() for r in caplog.records if r.name == "lambda_xray"]
    assert len(warnings) == 2, warnings
    assert "'user-0'" in warnings[0] and "'AWS.0'" in warnings[1]
