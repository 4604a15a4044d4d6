"""The hand-written OTLP encoder against the real protobuf parser, and the OTLP switches.

Every byte string the layer writes is parsed by ``opentelemetry-proto``'s
generated classes and must serialize back to the same bytes (the encoding is
canonical, nothing unknown). Spans are built from real ``Subsegment``
objects, as the patches and the user API fill them.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_otlp import OtlpReceiver, anyvalue_roundtrip, attrs, value_of
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from lambda_xray import _recorder, config, emitter, testing
from lambda_xray.document import Subsegment
from lambda_xray.otlp import _attributes, _proto, _spans
from lambda_xray.otlp.emitter import MAX_DATAGRAM, OTLPEmitter

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"

INT64 = 2**63


def expected(value: Any) -> Any:
    """What the real parser must read back for ``value``."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -INT64 <= value < INT64 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, (list, tuple)):
        return [expected(v) for v in value]
    if isinstance(value, dict):
        return {expected(k): expected(v) for k, v in value.items()}
    return value


def same(got: Any, want: Any) -> bool:
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    return bool(got == want) and type(got) is type(want)


scalars = (
    st.text()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.binary()
    | st.none()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_value_round_trips_through_the_real_parser(value: Any) -> None:
    parsed = anyvalue_roundtrip(_proto.any_value(value))
    want = expected(value)
    if isinstance(want, dict):
        # Duplicate keys after surrogate replacement collapse in a dict; compare pairs.
        pairs = [(kv.key, value_of(kv.value)) for kv in parsed.kvlist_value.values]
        assert [k for k, _ in pairs] == [expected(k) for k in value]
        return
    assert same(value_of(parsed), want), (value_of(parsed), want)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20), st.text() | st.integers() | st.floats() | st.booleans()
    ),
    st.dictionaries(st.text(min_size=1, max_size=20), values, max_size=5),
    st.booleans(),
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_a_span_with_any_annotations_and_metadata_parses_back(
    annotations: dict[str, Any], metadata: dict[str, Any], fault: bool
) -> None:
    sub = Subsegment("work", TRACE, "53995c3f42cd8ad8")
    sub.annotations.update(annotations)
    sub.metadata["default"] = metadata
    sub.fault = fault
    sub.end_time = sub.start_time + 0.5
    body = _spans.encode_span(sub, _spans.local_attributes({}, "svc"), {}, 60_000)
    span = Span.FromString(body)
    assert span.SerializeToString() == body
    assert span.trace_id.hex() == "5759e988bd862e3fe1be46a994272793"
    assert span.span_id.hex() == sub.id and span.parent_span_id.hex() == "53995c3f42cd8ad8"
    assert span.end_time_unix_nano - span.start_time_unix_nano == pytest.approx(5e8, abs=1e3)
    assert span.status.code == (2 if fault else 0)
    got = {kv.key: value_of(kv.value) for kv in span.attributes}
    for key in annotations:
        assert same(got[key], expected(annotations[key])) or key == "aws.xray.annotations"
    for key, value in metadata.items():
        want = expected(value)
        if not isinstance(want, dict):
            assert same(got[f"lambda_xray.metadata.default.{key}"], want)


field_values = (
    st.text(max_size=8)
    | st.booleans()
    | st.integers(-2, 2)
    | st.lists(st.text(max_size=4), max_size=2)
)


@given(
    st.sampled_from(["DynamoDB", "S3", "SQS"]),
    st.dictionaries(
        st.sampled_from(
            [
                "operation",
                "region",
                "table_name",
                "table_names",
                "bucket_name",
                "queue_url",
                "queue_name",
                "request_id",
                "id_2",
                "retries",
                "other",
            ]
        ),
        field_values,
        max_size=6,
    ),
    st.none()
    | st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(["https://api.example.com/a?q=1", "http://[::1]:8080/x", "http://h/"]),
    ),
    st.none() | st.integers(100, 599) | st.booleans(),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_the_cached_encoding_is_the_encoding_of_the_attribute_list(
    service: str, aws: dict[str, Any], request: tuple[str, str] | None, status: Any
) -> None:
    """What every span is written with equals the list form a cut span starts from,
    on a miss and on a hit of the cache (True and 1 are not one entry)."""
    sub = Subsegment(service, TRACE, "53995c3f42cd8ad8", "aws" if request is None else "remote")
    sub.aws.update(aws)
    if request is not None:
        sub.http["request"] = {"method": request[0], "url": request[1]}
    if status is not None:
        sub.http["response"] = {"status": status}
    for kind in (_spans.KIND_CLIENT, _spans.KIND_SERVER):
        core, _ = _attributes.attributes(sub, kind)
        want = b"".join(_proto.attribute(9, name, value) for name, value in core)
        assert _attributes.core_fields(sub, kind) == want
        assert _attributes.core_fields(sub, kind) == want  # from the cache


def test_the_trace_id_is_the_xray_root_without_its_dashes() -> None:
    assert _spans.otlp_trace_id(TRACE).hex() == "5759e988bd862e3fe1be46a994272793"


def test_a_span_too_large_for_a_datagram_is_cut_and_says_what_it_lost() -> None:
    sub = Subsegment("big", TRACE, "53995c3f42cd8ad8", "remote")
    sub.http["request"] = {"method": "POST", "url": "https://api.example.com/orders"}
    sub.annotations["tenant"] = "acme"
    sub.metadata["default"] = {f"blob{i}": "x" * 16_000 for i in range(10)}
    sub.fault = True
    try:
        raise RuntimeError("m" * 5000)
    except RuntimeError as exc:
        sub.add_exception(exc)
    sub.end_time = sub.start_time + 1.0
    limit = 40_000
    body = _spans.encode_span(sub, _spans.local_attributes({}, "svc"), {}, limit)
    assert len(body) <= limit
    span = Span.FromString(body)
    kept = attrs(span)
    assert kept["url.full"] == "https://api.example.com/orders"
    assert kept["server.address"] == "api.example.com" and kept["tenant"] == "acme"
    blobs = [k for k in kept if k.startswith("lambda_xray.metadata.")]
    assert span.dropped_attributes_count == 10 - len(blobs) > 0
    assert span.status.code == 2
    (event,) = span.events
    assert attrs(event)["exception.type"] == "RuntimeError"


def test_a_span_of_nothing_but_huge_core_fields_still_fits(monkeypatch: Any) -> None:
    sub = Subsegment("S3", TRACE, "53995c3f42cd8ad8", "aws")
    sub.aws.update(operation="GetObject", bucket_name="b" * 100_000)
    sub.end_time = sub.start_time
    body = _spans.encode_span(sub, _spans.local_attributes({}, "svc"), {}, 10_000)
    assert len(body) <= 10_000
    span = Span.FromString(body)
    assert attrs(span)["aws.s3.bucket"] == "b" * _spans.CUT_STRING
    assert span.name == "S3.GetObject"


# -- the emitter in this process ------------------------------------------------------------


@pytest.fixture
def otlp_layer(layer: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", receiver.address)
        monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
        testing.reset()
        yield receiver


def test_a_span_that_outlives_its_invocation_is_sent_on_its_own(otlp_layer: OtlpReceiver) -> None:
    with testing.invocation("app.handler"):
        late = _recorder.begin_subsegment("slow", None)
    assert late is not None
    first = otlp_layer.wait_for(lambda got: len(got) == 1)
    assert [s.name for s in first[0].spans] == ["app.handler"]
    _recorder.end_subsegment(late)
    (alone,) = otlp_layer.wait_for(lambda got: len(got) == 1)
    assert [s.name for s in alone.spans] == ["slow"]
    assert isinstance(emitter.get_emitter(), OTLPEmitter)


def test_spans_that_cannot_be_sent_are_counted_and_logged_once(
    layer: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "daemon.invalid:2000")
    testing.reset()
    with caplog.at_level(logging.WARNING, logger="lambda_xray"):
        for _ in range(2):
            with testing.invocation("app.handler"):
                sub = _recorder.begin_subsegment("DynamoDB", "aws")
                assert sub is not None
                _recorder.end_subsegment(sub, status=200)
    otlp = emitter.get_emitter()
    assert isinstance(otlp, OTLPEmitter)
    assert otlp.lost == 4 and otlp.batches == 0
    lost = [r for r in caplog.records if "could not be sent" in r.getMessage()]
    assert len(lost) == 1


def test_every_datagram_fits_whatever_the_invocation_holds(otlp_layer: OtlpReceiver) -> None:
    with testing.invocation("app.handler"):
        for i in range(60):
            sub = _recorder.begin_subsegment(f"call{i}", "remote")
            assert sub is not None
            sub.metadata["default"] = {"blob": "y" * 15_000}
            _recorder.end_subsegment(sub, status=200)
    got = otlp_layer.wait_for(lambda got: sum(len(d.spans) for d in got) == 61)
    assert len(got) > 10 and all(d.size <= MAX_DATAGRAM for d in got)


# -- the switches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "wanted"), [(None, "xray"), ("otlp", "otlp"), (" OTLP ", "otlp"), ("xray", "xray")]
)
def test_the_format_switch(raw: str | None, wanted: str) -> None:
    environ = {} if raw is None else {"LAMBDA_XRAY_FORMAT": raw}
    assert config.from_environ(environ).format == wanted


def test_an_unknown_format_warns_once_and_sends_xray(
    layer: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lambda_xray"):
        for _ in range(3):
            assert config.from_environ({"LAMBDA_XRAY_FORMAT": "zipkin"}).format == "xray"
    (record,) = [r for r in caplog.records if "LAMBDA_XRAY_FORMAT" in r.getMessage()]
    assert "'zipkin'" in record.getMessage() and "xray, otlp" in record.getMessage()


def test_the_unsampled_switch_records_nothing_in_xray_mode(layer: None, monkeypatch: Any) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_OTLP_UNSAMPLED", "true")
    with (
        testing.InMemoryEmitter() as sent,
        testing.invocation("app.handler", header=testing.trace_header(sampled=False)) as root,
    ):
        assert root is None
    assert sent.documents == []


def test_xray_mode_never_loads_the_otlp_modules() -> None:
    code = (
        "import sys\n"
        "from lambda_xray import testing\n"
        "with testing.invocation('app.handler'): pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('lambda_xray.otlp')))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(LAYER_PYTHON)}
    env["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:9"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    env["LAMBDA_XRAY_FORMAT"] = "otlp"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "lambda_xray.otlp.emitter" in out.stdout


# -- the same nodes in both formats ---------------------------------------------------------


def _record_a_flow() -> None:
    from lambda_xray import api

    with testing.invocation("app.handler"):
        call = _recorder.begin_subsegment("DynamoDB", "aws")
        assert call is not None
        call.aws.update(operation="Query", region="us-east-1", table_name="orders")
        _recorder.end_subsegment(call, status=200)
        with api.subsegment("resize"):
            remote = _recorder.begin_subsegment("images.example.com", "remote")
            assert remote is not None
            remote.http["request"] = {"method": "GET", "url": "https://images.example.com/a"}
            _recorder.end_subsegment(remote, status=404)


def _tree(nodes: dict[str, tuple[str, str]]) -> set[tuple[str, str]]:
    """(node, parent node) pairs from {id: (node, parent id)}."""
    return {(node, nodes[parent][0] if parent in nodes else "-") for node, parent in nodes.values()}


def test_both_formats_show_the_same_nodes_under_the_same_parents(
    layer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with testing.InMemoryEmitter() as xray:
        _record_a_flow()
    xray_nodes = {d["id"]: (d["name"].removeprefix("## "), d["parent_id"]) for d in xray.documents}

    with OtlpReceiver() as receiver:
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", receiver.address)
        monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
        testing.reset()
        _record_a_flow()
        (datagram,) = receiver.wait_for(lambda got: len(got) == 1)
    otlp_nodes = {}
    for span in datagram.spans:
        found = attrs(span)
        node = found.get("rpc.service") or found.get("server.address") or span.name
        otlp_nodes[span.span_id.hex()] = (node, span.parent_span_id.hex())
    assert (
        _tree(otlp_nodes)
        == _tree(xray_nodes)
        == {
            ("app.handler", "-"),
            ("DynamoDB", "app.handler"),
            ("resize", "app.handler"),
            ("images.example.com", "resize"),
        }
    )
    errors = {span.name for span in datagram.spans if span.status.code == 2}
    assert errors == {"GET"}  # the 404, as the X-Ray document's error flag
    assert [d["name"] for d in xray.documents if d.get("error")] == ["images.example.com"]
