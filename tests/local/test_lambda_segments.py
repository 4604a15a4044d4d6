"""The emulated Lambda service documents: ids, timing, asynchronous attempts, errors, markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.lambda_segments import (
    EMULATED_ANNOTATION,
    FUNCTION_ORIGIN,
    SERVICE_ORIGIN,
    Invocation,
    async_service_segment,
    attempt_subsegment,
    dwell_subsegment,
    function_segment,
    is_emulated,
    new_id,
    new_trace_id,
    parse_header,
    recording_decision,
    sync_service_segment,
)
from cdk_lambda_xray.local.traceview import build_traces
from cdk_lambda_xray.local.xray_udp import parse_daemon_address, send_documents

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1] / "data" / "xray-segmentdocument-schema-v1.0.0.json"
    ).read_text()
)
TRACE = "1-6743a2b1-0123456789abcdef01234567"
CALLER = "a" * 16
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


def _sync(**kw: Any) -> Invocation:
    return Invocation("fn", ARN, TRACE, 100.0, 100.5, parent_id=CALLER, request_id="r-1", **kw)


def _async(attempt: int = 1, **kw: Any) -> Invocation:
    return _sync(queued_at=99.0, attempt=attempt, **kw)


def _valid(doc: dict[str, Any]) -> None:
    errors = [e.message for e in jsonschema.Draft4Validator(SCHEMA).iter_errors(doc)]
    assert errors == [], doc


# -- ids and headers --------------------------------------------------------------


def test_new_ids_have_the_xray_shapes_and_differ() -> None:
    trace_id = new_trace_id(0x6743A2B1)
    assert trace_id.startswith("1-6743a2b1-") and len(trace_id) == 35
    assert parse_header(f"Root={trace_id}") is not None
    ids = {new_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_the_function_receives_its_own_segment_as_parent() -> None:
    inv = _sync()
    parsed = parse_header(inv.header)
    assert parsed is not None
    assert (parsed.root, parsed.parent, parsed.sampled) == (TRACE, inv.function_id, "1")
    assert function_segment(inv)["id"] == inv.function_id


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Root=1-xyz-0123456789abcdef01234567",
        "Parent=aaaaaaaaaaaaaaaa",
        f"Root={TRACE}\r\nX: y",
        "Root=" + "1" * 3000,
        5,
    ],
)
def test_malformed_headers_are_treated_as_missing(value: object) -> None:
    assert parse_header(value) is None


def test_header_keeps_root_and_drops_a_bad_parent() -> None:
    parsed = parse_header(f"Root={TRACE};Parent=nothex;Sampled=1;Lineage=1:ab:0")
    assert parsed is not None and parsed.parent is None and parsed.sampled == "1"
    assert parsed.header("b" * 16) == f"Root={TRACE};Parent={'b' * 16};Sampled=1"


@pytest.mark.parametrize(
    ("mode", "header", "records"),
    [
        ("Active", None, True),
        ("Active", f"Root={TRACE};Parent={CALLER};Sampled=1", True),
        ("Active", f"Root={TRACE};Parent={CALLER};Sampled=0", False),
        ("PassThrough", None, False),
        (None, f"Root={TRACE};Parent={CALLER};Sampled=1", True),
        ("PassThrough", f"Root={TRACE};Parent={CALLER}", False),
    ],
)
def test_recording_follows_the_tracing_mode_and_the_callers_decision(
    mode: str | None, header: str | None, records: bool
) -> None:
    assert recording_decision(mode, parse_header(header)) is records


# -- synchronous ------------------------------------------------------------------


def test_synchronous_invocation_links_caller_service_function() -> None:
    inv = _sync()
    service, function = sync_service_segment(inv), function_segment(inv)
    assert service["origin"] == SERVICE_ORIGIN and service["parent_id"] == CALLER
    assert (service["start_time"], service["end_time"]) == (100.0, 100.5)
    assert service["http"]["response"]["status"] == 200
    assert function["origin"] == FUNCTION_ORIGIN and function["parent_id"] == service["id"]
    assert [s["name"] for s in function["subsegments"]] == ["Invocation"]
    assert service["resource_arn"] == function["resource_arn"] == ARN
    for doc in (service, function):
        assert doc["trace_id"] == TRACE and "fault" not in doc
        _valid(doc)


def test_without_a_caller_the_service_segment_is_the_root() -> None:
    inv = Invocation("fn", ARN, TRACE, 1.0, 2.0)
    assert "parent_id" not in sync_service_segment(inv)


def test_cold_start_adds_initialization_before_the_invocation() -> None:
    inv = _sync(init=(100.1, 100.3))
    function = function_segment(inv)
    init, invocation = function["subsegments"]
    assert init["name"] == "Initialization"
    assert (init["start_time"], init["end_time"]) == (100.1, 100.3)
    assert invocation["start_time"] == 100.3 and invocation["end_time"] == 100.5
    assert function["start_time"] == 100.1 and function["end_time"] == 100.5
    _valid(function)


def test_function_error_shows_on_the_invocation_with_its_message() -> None:
    inv = _sync(error_type="ValueError", error_message="requested failure")
    function, service = function_segment(inv), sync_service_segment(inv)
    invocation = function["subsegments"][-1]
    for doc in (function, invocation):
        assert doc["fault"] is True
        (exc,) = doc["cause"]["exceptions"]
        assert (exc["type"], exc["message"]) == ("ValueError", "requested failure")
    assert service["error"] is True and service["http"]["response"]["status"] == 200
    _valid(function)
    _valid(service)


# -- asynchronous -----------------------------------------------------------------


def test_asynchronous_invocation_has_dwell_time_and_an_attempt() -> None:
    inv = _async()
    service = async_service_segment(inv, accepted_at=99.01)
    dwell, attempt, function = dwell_subsegment(inv), attempt_subsegment(inv), function_segment(inv)
    assert service["http"]["response"]["status"] == 202
    assert (service["start_time"], service["end_time"]) == (99.0, 99.01)
    assert dwell["name"] == "Dwelling Time" and dwell["parent_id"] == service["id"]
    assert (dwell["start_time"], dwell["end_time"]) == (99.0, 100.0)
    assert attempt["name"] == "Attempt #1" and attempt["parent_id"] == service["id"]
    assert (attempt["start_time"], attempt["end_time"]) == (100.0, 100.5)
    assert function["parent_id"] == attempt["id"] == inv.attempt_id
    for doc in (service, dwell, attempt, function):
        _valid(doc)


def test_each_retry_is_an_attempt_of_the_same_service_segment() -> None:
    first = _async(1, error_type="Runtime.HandlerError", error_message="boom")
    second = _async(2, service_id=first.service_id, error_type="Runtime.HandlerError")
    docs = [
        async_service_segment(first, 99.0),
        dwell_subsegment(first),
        attempt_subsegment(first),
        function_segment(first),
        attempt_subsegment(second),
        function_segment(second),
    ]
    (trace,) = build_traces(docs)
    (caller,) = trace.roots  # the caller's subsegment is not among these documents
    assert caller.id == CALLER and not caller.received
    (service,) = caller.children
    assert [c.raw_name for c in service.children] == ["Dwelling Time", "Attempt #1", "Attempt #2"]
    for attempt in service.children[1:]:
        assert "fault" in attempt.flags
        assert [c.doc["origin"] for c in attempt.children if c.doc] == [FUNCTION_ORIGIN]


def test_every_built_document_is_marked_emulated() -> None:
    inv = _async(init=(100.0, 100.2), error_type="E")
    docs = [
        async_service_segment(inv, 99.0),
        dwell_subsegment(inv),
        attempt_subsegment(inv),
        function_segment(inv),
        sync_service_segment(_sync()),
    ]
    for doc in docs:
        assert doc["annotations"] == {EMULATED_ANNOTATION: True} and is_emulated(doc)
        assert "not AWS output" in doc["metadata"]["cdk_lambda_xray"]["emulated"]
    assert not is_emulated({"annotations": {"emulated": "yes"}}) and not is_emulated(5)


def test_error_message_is_bounded() -> None:
    doc = function_segment(_sync(error_type="E", error_message="x" * 5000))
    assert len(doc["cause"]["exceptions"][0]["message"]) == 1000


# -- sending ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("udp:127.0.0.2:2001 TCP:127.0.0.1:2000", ("127.0.0.2", 2001)),
        ("[::1]:2000", ("::1", 2000)),
        # The layer sends nowhere for these, so neither do the local tools.
        ("udp:localhost:9", None),
        ("localhost:9 localhost:10", None),
        ("", None),
        (None, None),
        ("127.0.0.1:0", None),
        ("127.0.0.1:x", None),
        ("tcp:127.0.0.1:2000", None),
    ],
)
def test_daemon_address_forms(value: str | None, address: tuple[str, int] | None) -> None:
    assert parse_daemon_address(value) == address


def test_documents_arrive_at_a_real_collector_and_oversized_ones_are_skipped() -> None:
    inv = _sync(init=(100.0, 100.1))
    docs = [sync_service_segment(inv), function_segment(inv)]
    huge = {**sync_service_segment(_sync()), "metadata": {"x": {"y": "z" * 70_000}}}
    with Collector() as collector:
        sent = send_documents([*docs, huge], parse_daemon_address(collector.address))
        received = collector.wait_for(lambda d: len(d) >= 2, timeout=5)
    assert sent == 2
    assert sorted(d["id"] for d in received) == sorted(d["id"] for d in docs)
    assert collector.rejects == 0
    assert send_documents(docs, None) == 0


def test_a_throttled_invocation_is_a_429_with_throttle_on_the_service_side() -> None:
    inv = _sync(throttled=True, error_type="TooManyRequestsException", error_message="Rate")
    service = sync_service_segment(inv)
    assert service["http"]["response"]["status"] == 429
    assert service["throttle"] is True and service["error"] is True and "fault" not in service
    assert service["cause"]["exceptions"][0]["type"] == "TooManyRequestsException"
    attempt = attempt_subsegment(_async(throttled=True))
    assert attempt["http"]["response"]["status"] == 429 and attempt["throttle"] is True
    _valid(service)
    _valid(attempt)
