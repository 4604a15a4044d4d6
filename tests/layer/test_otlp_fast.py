"""The OTLP short way for successful calls (``otlp/_calls.py``) writes the general way's bytes.

The general way is the real one: botocore's ``_record_metadata`` and
``_recorder.end_subsegment`` record the response, ``_spans.encode_span``
writes the span. The short way gets the same call before anything is
recorded. Both are parsed with the real ``opentelemetry-proto`` classes.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lx_otlp import OtlpReceiver, attrs
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from lambda_xray import _recorder, context, emitter, testing
from lambda_xray import header as _header
from lambda_xray.document import Subsegment
from lambda_xray.otlp import _attributes, _calls, _proto, _spans
from lambda_xray.otlp.emitter import OTLPEmitter
from lambda_xray.patches.botocore import _record_metadata

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
SPAN_ID = "0123456789abcdef"
LOCAL = _spans.local_attributes({"AWS_LAMBDA_FUNCTION_NAME": "fn"}, "svc")
LIMIT = 60_000


class KeptSubsegments:
    """An emitter that keeps what it is sent (no ``send_aws_call``: the general way runs)."""

    def __init__(self) -> None:
        self.subs: list[Subsegment] = []

    def send(self, sub: Subsegment) -> None:
        self.subs.append(sub)


def invocation(sampled: bool) -> context.Invocation:
    mode = "1" if sampled else "0"
    return context.Invocation(_header.parse(f"Root={TRACE};Parent={PARENT};Sampled={mode}"), None)


def call(name: str, namespace: str, inv: context.Invocation, start: float) -> Subsegment:
    sub = Subsegment(name, TRACE, PARENT, namespace, inv)
    sub.id, sub.start_time = SPAN_ID, start
    return sub


def the_general_way(sub: Subsegment, status: int, meta: dict[str, Any]) -> bytes:
    kept = KeptSubsegments()
    previous = emitter.set_emitter(kept)
    try:
        if meta:
            _record_metadata(sub, {"ResponseMetadata": meta})
        _recorder.end_subsegment(sub, status=status)
    finally:
        emitter.set_emitter(previous)
    assert kept.subs == [sub]
    return _spans.encode_span(sub, LOCAL, {}, LIMIT)


def parsed(body: bytes) -> Span:
    span = Span.FromString(body)
    assert span.SerializeToString() == body  # canonical: what the real writer writes
    return span


text = st.text(max_size=10)
aws_values = text | st.booleans() | st.integers(-2, 2) | st.lists(st.text(max_size=4), max_size=2)
aws_fields = st.sampled_from(
    [
        "operation",
        "region",
        "table_name",
        "table_names",
        "bucket_name",
        "queue_url",
        "queue_name",
        "index_name",
        "other",
        "request_id",
        "retries",
    ]
)
response_ids = st.none() | text | st.integers(0, 2) | st.just("id-\ud800")


@given(
    service=st.sampled_from(["DynamoDB", "S3", "SQS", "Lambda"]),
    aws=st.dictionaries(aws_fields, text, max_size=5)
    | st.dictionaries(aws_fields, aws_values, max_size=5),
    request_id=response_ids,
    host_id=response_ids,
    retries=st.none() | st.integers(-1, 300) | st.booleans(),
    status=st.integers(100, 599),
    sampled=st.booleans(),
    start=st.floats(1.7e9, 1.8e9),
    took=st.floats(0, 30),
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_an_aws_call_the_short_way_is_the_general_ways_span(
    service: str,
    aws: dict[str, Any],
    request_id: Any,
    host_id: Any,
    retries: Any,
    status: int,
    sampled: bool,
    start: float,
    took: float,
) -> None:
    inv = invocation(sampled)
    general = call(service, "aws", inv, start)
    general.aws.update(aws)
    meta = {"RequestId": request_id, "HostId": host_id, "RetryAttempts": retries}
    want = the_general_way(general, status, meta)
    assert isinstance(general.end_time, float)
    end = general.end_time + took  # any end after the start
    general.end_time = end
    want = _spans.encode_span(general, LOCAL, {}, LIMIT)

    short = call(service, "aws", inv, start)
    short.aws.update(aws)
    for _ in range(2):  # a cache miss, then a hit
        got = _calls.aws_call_span(
            short, status, end, request_id, host_id, retries, LOCAL, sampled, LIMIT
        )
        plain = (
            status < 400
            and all(type(v) is str for v in aws.values())
            and not {"request_id", "retries"} & aws.keys()
            and (not request_id or type(request_id) is str)
            and (not host_id or type(host_id) is str)
            and (retries is None or type(retries) is int)
        )
        assert (got is not None) == plain  # the short way takes every plain call, only those
        if got is not None:
            assert got == want
            assert parsed(got) == parsed(want)
    assert short.aws == aws and short.http == {} and short.end_time is None  # untouched


@given(
    method=st.sampled_from(["GET", "POST", "", "DELETE"]),
    url=st.sampled_from(
        ["https://api.example.com/a?q=1", "http://[::1]:8080/x", "http://h/", "no-scheme", ""]
    ),
    extra=st.dictionaries(st.sampled_from(["traced", "x_forwarded_for"]), text, max_size=1),
    status=st.integers(100, 599),
    sampled=st.booleans(),
    start=st.floats(1.7e9, 1.8e9),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_an_http_call_the_short_way_is_the_general_ways_span(
    method: str, url: str, extra: dict[str, str], status: int, sampled: bool, start: float
) -> None:
    inv = invocation(sampled)
    general = call("api.example.com", "remote", inv, start)
    general.http["request"] = {"method": method, "url": url, **extra}
    want = the_general_way(general, status, {})
    assert isinstance(general.end_time, float)

    short = call("api.example.com", "remote", inv, start)
    short.http["request"] = {"method": method, "url": url, **extra}
    for _ in range(2):
        got = _calls.http_call_span(short, status, general.end_time, LOCAL, sampled, LIMIT)
        assert (got is not None) == (status < 400)
        if got is not None:
            assert got == want
            assert parsed(got) == parsed(want)
    assert short.http == {"request": {"method": method, "url": url, **extra}}
    assert short.end_time is None


def test_a_call_with_anything_more_takes_the_general_way() -> None:
    """An annotation, a failure, an earlier response or a span too large: ``None``."""
    inv = invocation(True)
    end = 1.75e9 + 1

    def aws_call(**change: Any) -> Subsegment:
        sub = call("DynamoDB", "aws", inv, 1.75e9)
        sub.aws.update(operation="PutItem", table_name="orders")
        for name, value in change.items():
            setattr(sub, name, value)
        return sub

    def short(sub: Subsegment, limit: int = LIMIT) -> bytes | None:
        return _calls.aws_call_span(sub, 200, end, "RID", None, 0, LOCAL, True, limit)

    assert short(aws_call()) is not None
    assert short(aws_call(annotations={"k": "v"})) is None
    assert short(aws_call(metadata={"default": {"k": 1}})) is None
    assert short(aws_call(fault=True)) is None
    assert short(aws_call(http={"response": {"status": 200}})) is None
    assert short(aws_call(parent_id="")) is None
    assert short(aws_call(), limit=40) is None  # the general way cuts it down
    remote = call("h", "remote", inv, 1.75e9)
    remote.http.update(request={"method": "GET", "url": "http://h/"}, response={"status": 200})
    assert _calls.http_call_span(remote, 200, end, LOCAL, True, LIMIT) is None


# -- through the recorder, to a real UDP socket -------------------------------------------


@pytest.fixture
def otlp_layer(layer: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", receiver.address)
        monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
        testing.reset()
        yield receiver


def a_call(request_id: str) -> bool:
    sub = _recorder.begin_subsegment("DynamoDB", "aws")
    assert sub is not None
    sub.aws.update(operation="GetItem", table_name="orders")
    sent = _recorder.end_aws_call(sub, 200, request_id, None, 1)
    if not sent:  # what the botocore patch does then
        _record_metadata(sub, {"ResponseMetadata": {"RequestId": request_id, "RetryAttempts": 1}})
        _recorder.end_subsegment(sub, status=200)
    return sent


def test_the_first_invocation_takes_the_general_way_the_next_ones_the_short_way(
    otlp_layer: OtlpReceiver,
) -> None:
    """The cold start does not load the short way's module; every span is sent alike."""
    with testing.invocation("app.handler"):
        assert not a_call("RID-COLD")
    with testing.invocation("app.handler"):
        assert a_call("RID-WARM")
    got = otlp_layer.wait_for(lambda got: len(got) == 2)
    cold, warm = ({s.name: s for s in d.spans} for d in got)
    assert attrs(cold["DynamoDB.GetItem"])["aws.request_id"] == "RID-COLD"
    assert attrs(warm["DynamoDB.GetItem"])["aws.request_id"] == "RID-WARM"
    for span in (cold["DynamoDB.GetItem"], warm["DynamoDB.GetItem"]):
        found = attrs(span)
        found.pop("aws.request_id")
        assert found == {
            "aws.local.service": "traced-test",
            "aws.local.operation": "traced-test/FunctionHandler",
            "aws.local.environment": "lambda:default",
            "rpc.system": "aws-api",
            "rpc.service": "DynamoDB",
            "rpc.method": "GetItem",
            "aws.remote.operation": "GetItem",
            "aws.remote.service": "AWS::DynamoDB",
            "aws.dynamodb.table_names": ["orders"],
            "aws.remote.resource.type": "AWS::DynamoDB::Table",
            "aws.remote.resource.identifier": "orders",
            "retry_attempts": 1,
            "http.response.status_code": 200,
        }


def test_short_and_general_spans_of_an_invocation_leave_together(
    otlp_layer: OtlpReceiver,
) -> None:
    with testing.invocation("warm-up"):
        a_call("RID-COLD")
    otlp_layer.wait_for(lambda got: len(got) == 1)
    with testing.invocation("app.handler"):
        for i in range(3):
            sub = _recorder.begin_subsegment("DynamoDB", "aws")
            assert sub is not None
            sub.aws.update(operation="GetItem", table_name="orders")
            assert _recorder.end_aws_call(sub, 200, f"RID{i}", None, 1)
            assert sub.end_time is not None
            assert not _recorder.end_aws_call(sub, 200, "again")  # closed once
        web = _recorder.begin_subsegment("api.example.com", "remote")
        assert web is not None
        web.http["request"] = {"method": "GET", "url": "https://api.example.com/v1?token=x"}
        _recorder.end_subsegment(web, status=200)
        failed = _recorder.begin_subsegment("S3", "aws")
        assert failed is not None
        failed.aws["operation"] = "GetObject"
        _recorder.end_subsegment(failed, status=404)
    (datagram,) = otlp_layer.wait_for(lambda got: len(got) == 1)
    spans = {(s.name, attrs(s).get("aws.request_id")): s for s in datagram.spans}
    assert set(spans) == {
        ("DynamoDB.GetItem", "RID0"),
        ("DynamoDB.GetItem", "RID1"),
        ("DynamoDB.GetItem", "RID2"),
        ("GET", None),
        ("S3.GetObject", None),
        ("app.handler", None),
    }
    call_attrs = attrs(spans["DynamoDB.GetItem", "RID1"])
    assert call_attrs["aws.dynamodb.table_names"] == ["orders"]
    assert call_attrs["retry_attempts"] == 1 and call_attrs["http.response.status_code"] == 200
    assert attrs(spans["GET", None])["url.full"] == "https://api.example.com/v1"
    assert spans["S3.GetObject", None].status.code == 2
    root = spans["app.handler", None]
    assert all(s.parent_span_id == root.span_id for s in datagram.spans if s is not root)
    otlp = emitter.get_emitter()
    assert isinstance(otlp, OTLPEmitter) and otlp.spans == 8 and otlp.batches == 2


# -- fixed-size values without _struct (the cold start's modules) ----------------------------


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 2**64 - 1))
def test_doubles_and_fixed64_are_struct_s_bytes(value: float, number: int) -> None:
    small = number & 0xFFFFFFFF
    assert _proto.double_bytes(value) == struct.pack("<d", value)
    assert _proto.double_field(4, value) == b"\x21" + struct.pack("<d", value)
    assert _proto.fixed64_field(1, number) == b"\x09" + struct.pack("<Q", number)
    assert _proto.fixed32_field(16, small) == b"\x85\x01" + struct.pack("<I", small)


def test_the_first_invocation_in_otlp_mode_loads_no_extension_module_but_binascii() -> None:
    """The OTLP cold start: the otlp modules and base64's binascii, nothing else."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from lambda_xray import _recorder, api, testing\n"
        "with testing.invocation('app.handler'):\n"
        "    sub = _recorder.begin_subsegment('DynamoDB', 'aws')\n"
        "    sub.aws.update(operation='GetItem', table_name='t')\n"
        "    assert not _recorder.end_aws_call(sub, 200, 'RID', None, 0)\n"
        "    _recorder.end_subsegment(sub, status=200)\n"
        "    _recorder.end_subsegment(_recorder.begin_subsegment('x', None))\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    env = {
        "PYTHONPATH": str(LAYER_PYTHON),
        "LAMBDA_XRAY_FORMAT": "otlp",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert {"lambda_xray.otlp.emitter", "lambda_xray.otlp._spans", "binascii"} <= loaded
    assert "_struct" not in loaded and "struct" not in loaded
    assert "lambda_xray.otlp._calls" not in loaded  # the short way loads after the first batch
    # Nothing failed and nothing had to be cut: their modules stay unloaded.
    assert not {"lambda_xray.otlp._events", "lambda_xray.otlp._cut"} & loaded


# -- the cold start's writers: the same bytes as the general ones -------------------------------

names = st.one_of(st.text(max_size=200), st.just("\ud800 lone"), st.sampled_from(["", "k" * 130]))


@given(
    st.integers(1, 40),
    names,
    st.one_of(names, st.booleans(), st.integers(-(2**63), 2**63 - 1), st.lists(names, max_size=3)),
)
def test_attribute_writes_what_the_general_writer_writes(field: int, name: str, value: Any) -> None:
    """``attribute`` (one call for a text value) against ``bytes_field(key_value(...))``."""
    general = _proto.key(field, _proto.LEN) + _proto.varint(len(_proto.key_value(name, value)))
    assert _proto.attribute(field, name, value) == general + _proto.key_value(name, value)
    assert _proto.bytes_field(field, name.encode("utf-8", "replace")) == (
        _proto.key(field, _proto.LEN) + _proto.varint(len(name.encode("utf-8", "replace")))
    ) + name.encode("utf-8", "replace")


def test_the_span_parts_kept_as_literals_are_what_the_writer_writes() -> None:
    """The fixed parts of a span are literals (nothing runs at import): the writer's bytes."""
    flags = {
        (sampled, remote): _proto.fixed32_field(16, 0x100 | sampled | (0x200 if remote else 0))
        for sampled in (False, True)
        for remote in (False, True)
    }
    assert flags == _spans._FLAGS
    assert {kind: _proto.uint_field(6, kind) for kind in (1, 2, 3)} == _spans._KINDS
    assert _proto.key(1, _proto.LEN) + b"\x10" == _spans._TRACE_ID_KEY
    assert _proto.key(2, _proto.LEN) + b"\x08" == _spans._SPAN_ID_KEY
    assert _proto.key(4, _proto.LEN) + b"\x08" == _spans._PARENT_ID_KEY
    assert _spans._START_FIELD == _proto.key(7, _proto.I64) == bytes((_spans._START_KEY,))
    assert _spans._END_FIELD == _proto.key(8, _proto.I64) == bytes((_spans._END_KEY,))
    fixed = [
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_lambda"),
        ("telemetry.sdk.name", _spans.SCOPE_NAME),
        ("telemetry.sdk.language", "python"),
    ]
    assert b"".join(_proto.attribute(1, n, v) for n, v in fixed) == _spans._FIXED_RESOURCE
    assert (
        _proto.attribute(9, "aws.local.environment", _spans.LOCAL_ENVIRONMENT)
        == _spans._LOCAL_ENVIRONMENT_FIELD
    )
    assert {
        field: _proto.string_field(1, _attributes._AWS_FIELDS[field])
        for field in _attributes._PER_CALL
    } == _attributes._NAME_FIELDS
