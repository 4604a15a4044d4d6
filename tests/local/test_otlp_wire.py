"""The collector's OTLP reader against payloads built by the real ``opentelemetry-proto`` classes.

``opentelemetry-proto`` is a test dependency only: the collector reads OTLP
with the standard library. Every value type, spans from a foreign exporter
(a root span with no parent, as an OpenTelemetry SDK outside Lambda sends),
and hostile payloads (which must be rejected with one line, never a
traceback) are covered here; the layer's own output is compared in
``tests/layer/test_otlp_collector.py``.
"""

from __future__ import annotations

import base64
import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from cdk_lambda_xray.local.collector import (
    OTLP_NO_IDS,
    OTLP_NOT_DECODABLE,
    Collector,
    DatagramRejected,
    read_datagram,
)
from cdk_lambda_xray.local.otlp_wire import MAX_DEPTH, OtlpRejected, read_spans

HEADER = b'{"format":"json","version":1}\n'
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "xray-segmentdocument-schema-v1.0.0.json"
TRACE_ID = bytes.fromhex("5759e988bd862e3fe1be46a994272793")


def _any(value: Any) -> AnyValue:
    out = AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(_any(v) for v in value)
    elif isinstance(value, dict):
        out.kvlist_value.values.extend(KeyValue(key=k, value=_any(v)) for k, v in value.items())
    return out


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in values.items()]


def _request(spans: list[Span], resource: dict[str, Any] | None = None) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(_attributes(resource or {}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "test-exporter"
    scope_spans.spans.extend(spans)
    return request.SerializeToString()


def _span(span_id: str, parent: str = "", **fields: Any) -> Span:
    attributes = fields.pop("attributes", {})
    span = Span(
        trace_id=TRACE_ID,
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent),
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_250_000_000,
        **fields,
    )
    span.attributes.extend(_attributes(attributes))
    return span


def _datagram(prefix: bytes, payload: bytes) -> bytes:
    return HEADER + prefix + base64.b64encode(payload)


# -- values -------------------------------------------------------------------------------

_VALUES = st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUES)
def test_every_attribute_value_reads_back_as_the_real_classes_wrote_it(value: Any) -> None:
    payload = _request([_span("1111222233334444", attributes={"v": value})])
    (span,) = read_spans(base64.b64encode(payload))
    assert span.attributes == {"v": _plain(value)}


def test_a_double_that_is_not_finite_reads_as_its_text() -> None:
    payload = _request([_span("1111222233334444", attributes={"a": math.inf, "b": math.nan})])
    (span,) = read_spans(base64.b64encode(payload))
    assert span.attributes == {"a": "inf", "b": "nan"}


def test_ids_times_kind_status_events_resource_and_scope_are_read() -> None:
    span = _span(
        "1111222233334444",
        "aaaabbbbccccdddd",
        name="GET",
        kind=Span.SPAN_KIND_CLIENT,
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
    )
    event = span.events.add(time_unix_nano=5, name="exception")
    event.attributes.extend(_attributes({"exception.type": "OSError"}))
    (got,) = read_spans(base64.b64encode(_request([span], {"service.name": "orders"})))
    assert (got.trace_id, got.span_id.hex(), got.parent_span_id.hex()) == (
        TRACE_ID,
        "1111222233334444",
        "aaaabbbbccccdddd",
    )
    assert (got.name, got.kind, got.status_code, got.status_message) == ("GET", 3, 2, "boom")
    assert got.start_time_unix_nano == 1_700_000_000_000_000_000
    assert got.end_time_unix_nano == 1_700_000_000_250_000_000
    assert [(e.name, e.time_unix_nano, e.attributes) for e in got.events] == [
        ("exception", 5, {"exception.type": "OSError"})
    ]
    assert got.resource == {"service.name": "orders"}
    assert got.scope == "test-exporter"


# -- hostile payloads ---------------------------------------------------------------------


def _len_field(number: int, body: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand (the real classes refuse deep nesting)."""
    size = len(body)
    varint = bytearray()
    while size >= 0x80:
        varint.append(size & 0x7F | 0x80)
        size >>= 7
    varint.append(size)
    return bytes([number << 3 | 2]) + bytes(varint) + body


def _nested(depth: int) -> bytes:
    """A request whose one attribute is an ``AnyValue`` array nested ``depth`` times."""
    value = _len_field(1, b"x")  # AnyValue.string_value
    for _ in range(depth):
        value = _len_field(5, _len_field(1, value))  # AnyValue.array_value.values[0]
    attribute = _len_field(1, b"deep") + _len_field(2, value)
    span = _span("1111222233334444").SerializeToString() + _len_field(9, attribute)
    return _len_field(1, _len_field(2, _len_field(2, span)))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"%%%", "not standard base64"),
        (base64.b64encode(b"\x0a\x7f"), "runs past the end"),
        (base64.b64encode(b"\x0b"), "wire type 3"),
        (base64.b64encode(b"\x00\x01"), "field number 0"),
        (base64.b64encode(b"\x08" + b"\xff" * 11), "longer than 10 bytes"),
        (base64.b64encode(b"\x0a\x06\x12\x04\x12\x02\x2a\x7f"), "runs past the end"),
        # a span name (field 5) that is not UTF-8
        (base64.b64encode(b"\x0a\x08\x12\x06\x12\x04\x2a\x02\xff\xfe"), "not UTF-8"),
        # a span start time (fixed64) written as a string
        (base64.b64encode(b"\x0a\x08\x12\x06\x12\x04\x3a\x02ab"), "where a number belongs"),
    ],
)
def test_a_payload_that_is_not_otlp_is_rejected_with_one_line(payload: bytes, reason: str) -> None:
    with pytest.raises(OtlpRejected, match=reason) as info:
        read_spans(payload)
    assert "\n" not in str(info.value)


def test_values_nested_past_the_limit_are_rejected_not_recursed() -> None:
    ok = _nested(MAX_DEPTH - 2)
    assert read_spans(base64.b64encode(ok))
    with pytest.raises(OtlpRejected, match="nest deeper"):
        read_spans(base64.b64encode(_nested(5_000)))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_are_read_or_rejected_never_a_traceback(data: bytes) -> None:
    try:
        read_datagram(_datagram(b"T1S", data))
    except DatagramRejected as rejected:
        assert rejected.kind == OTLP_NOT_DECODABLE
        assert "\n" not in str(rejected)


# -- spans as documents -------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> Draft4Validator:
    return Draft4Validator(json.loads(SCHEMA.read_text()))


def test_a_foreign_root_span_and_its_calls_become_a_valid_segment_and_subsegments(
    schema: Draft4Validator,
) -> None:
    root = _span("1111222233334444", name="GET /orders", kind=Span.SPAN_KIND_SERVER)
    call = _span(
        "aaaabbbbccccdddd",
        "1111222233334444",
        name="S3.GetObject",
        kind=Span.SPAN_KIND_CLIENT,
        attributes={
            "rpc.system": "aws-api",
            "rpc.service": "S3",
            "rpc.method": "GetObject",
            "aws.s3.bucket": "images",
            "aws.request_id": "REQ1",
            "cloud.region": "eu-west-1",
            "http.response.status_code": 429,
        },
        status=Status(code=Status.STATUS_CODE_ERROR),
    )
    sql = _span(
        "eeeeffff00001111",
        "1111222233334444",
        name="orders@db.local",
        kind=Span.SPAN_KIND_CLIENT,
        attributes={"db.system.name": "postgresql", "db.version": "16.4", "peer": "x"},
    )
    received = read_datagram(
        _datagram(b"T1S", _request([root, call, sql], {"service.name": "orders-api"}))
    )
    assert received.otlp and received.spans_without_ids == 0
    segment, aws, database = received.documents
    for doc in received.documents:
        assert not list(schema.iter_errors(doc)), doc
    assert segment["name"] == "orders-api" and "parent_id" not in segment
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert segment["end_time"] - segment["start_time"] == pytest.approx(0.25)
    assert aws["namespace"] == "aws" and aws["name"] == "S3"
    assert aws["aws"] == {
        "operation": "GetObject",
        "region": "eu-west-1",
        "bucket_name": "images",
        "request_id": "REQ1",
    }
    assert (aws.get("error"), aws.get("throttle"), aws.get("fault")) == (True, True, None)
    assert database["namespace"] == "remote"
    assert database["sql"] == {"database_type": "postgresql", "database_version": "16.4"}
    assert database["metadata"] == {"otel": {"peer": "x"}}


def test_the_lambda_invocation_span_is_named_like_the_xray_format() -> None:
    handler = _span("1111222233334444", "53995c3f42cd8ad8", name="app.handler", kind=2)
    payload = _request([handler], {"service.name": "fn", "cloud.platform": "aws_lambda"})
    (doc,) = read_datagram(_datagram(b"T1S", payload)).documents
    assert doc["name"] == "## app.handler" and doc["type"] == "subsegment"


def test_a_span_without_valid_ids_is_counted_and_its_neighbours_kept() -> None:
    good = _span("1111222233334444", name="kept")
    no_id = _span("1111222233334444", name="dropped")
    no_id.span_id = b""
    short_trace = _span("2222333344445555", name="dropped too")
    short_trace.trace_id = b"\x01" * 8
    received = read_datagram(_datagram(b"T1S", _request([good, no_id, short_trace])))
    assert [doc["name"] for doc in received.documents] == ["kept"]
    assert received.spans_without_ids == 2


# -- over real UDP --------------------------------------------------------------------------


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def _send(collector: Collector, *payloads: bytes) -> None:
    host, port = collector.address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in payloads:
            sock.sendto(payload, (host, int(port)))


def test_the_collector_keeps_sampled_spans_counts_unsampled_and_names_bad_ones(
    collector: Collector,
) -> None:
    spans = [_span("1111222233334444", name="a"), _span("2222333344445555", name="b")]
    bad = _span("3333444455556666", name="bad")
    bad.trace_id = b"\x01"
    _send(
        collector,
        _datagram(b"T1U", _request(spans)),
        _datagram(b"T1S", _request([*spans, bad])),
        HEADER + b"T1S" + b"!!",
    )
    docs = collector.wait_for(lambda d: len(d) == 2 and collector.rejects == 2, timeout=5)
    assert sorted(doc["name"] for doc in docs) == ["a", "b"]
    assert (collector.otlp_spans, collector.unsampled_spans) == (2, 2)
    assert collector.reject_counts == {OTLP_NO_IDS: 1, OTLP_NOT_DECODABLE: 1}


def test_the_demo_checks_that_an_otlp_flow_arrived_as_otlp(collector: Collector) -> None:
    from cdk_lambda_xray.local.flows import FlowSpec
    from cdk_lambda_xray.local.runner import _check_wire_formats
    from cdk_lambda_xray.local.steps import StepFailed

    handler = _span("1111222233334444", "53995c3f42cd8ad8", name="notify.handler", kind=2)
    lambda_resource = {"service.name": "notify", "cloud.platform": "aws_lambda"}
    as_json = {
        "name": "## write_object.handler",
        "id": "2222333344445555",
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "start_time": 1.0,
        "end_time": 2.0,
    }
    _send(
        collector,
        _datagram(b"T1S", _request([handler], lambda_resource)),
        HEADER + json.dumps(as_json).encode(),
    )
    docs = collector.wait_for(lambda d: len(d) == 2, timeout=5)
    assert [collector.came_as_otlp(d) for d in docs if d["name"] == "## notify.handler"] == [True]
    publish = FlowSpec("publish", "SNS publish", "notify.handler", wire_format="otlp")
    invoke = FlowSpec("invoke", "invoke", "write_object.handler", wire_format="otlp")
    assert _check_wire_formats(collector, [publish]) == "publish: 1 x ## notify.handler as OTLP"
    with pytest.raises(StepFailed, match=r"write_object\.handler did not arrive as OTLP"):
        _check_wire_formats(collector, [publish, invoke])
