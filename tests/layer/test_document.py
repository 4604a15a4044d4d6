"""Subsegment documents: content, names, exceptions, unsafe values and the size limit."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lx_short_ways import encode_aws_call

from lambda_xray import causes, document, wire
from lambda_xray.document import Subsegment
from lambda_xray.wire import HEADER, MAX_DATAGRAM, MAX_DOCUMENT, encode

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

Check = Callable[[list[dict[str, Any]]], None]


def closed(name: str = "work", **fields: Any) -> Subsegment:
    sub = Subsegment(name, TRACE_ID, PARENT, fields.pop("namespace", None))
    for key, value in fields.items():
        setattr(sub, key, value)
    sub.end_time = sub.start_time + 0.001
    return sub


def decode(datagram: bytes) -> dict[str, Any]:
    assert datagram.startswith(HEADER)
    assert len(datagram) <= MAX_DATAGRAM
    doc = json.loads(datagram[len(HEADER) :])
    assert isinstance(doc, dict)
    return doc


def test_datagram_is_the_daemon_header_line_then_one_json_document() -> None:
    datagram = encode(closed())
    header_line, _, body = datagram.partition(b"\n")
    assert json.loads(header_line) == {"format": "json", "version": 1}
    assert json.loads(body)["name"] == "work"


def test_document_is_a_standalone_subsegment_with_ids_and_times(assert_valid: Check) -> None:
    sub = closed("DynamoDB", namespace="aws")
    doc = decode(encode(sub))
    assert_valid([doc])
    assert doc["type"] == "subsegment"
    assert (doc["trace_id"], doc["parent_id"], doc["namespace"]) == (TRACE_ID, PARENT, "aws")
    assert len(doc["id"]) == 16 and int(doc["id"], 16) >= 0
    assert isinstance(doc["start_time"], float) and doc["end_time"] > doc["start_time"]


def test_ids_are_unique() -> None:
    ids = {Subsegment("x", TRACE_ID, PARENT).id for _ in range(2000)}
    assert len(ids) == 2000


def test_ids_drawn_from_many_threads_at_once_are_unique() -> None:
    import threading

    batches: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(batches))

    def draw(out: list[str]) -> None:
        start.wait()
        out.extend(document.new_id() for _ in range(1000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    ids = [i for out in batches for i in out]
    assert len(ids) == 8000 and len(set(ids)) == 8000
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_never_repeats_its_parents_ids() -> None:
    document.new_id()  # the parent holds unused ids drawn before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write_end, ",".join(document.new_id() for _ in range(200)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = set(pipe.read().decode().split(","))
    os.waitpid(pid, 0)
    parent = {document.new_id() for _ in range(200)}
    assert len(child) == 200
    assert not child & parent


def test_ids_drawn_before_an_invocation_are_never_used_in_it() -> None:
    """What a SnapStart snapshot holds (ids drawn at init) is not reused after a restore."""
    from lambda_xray.testing import InMemoryEmitter, invocation

    document.new_id()
    drawn_before = set(document._ids)  # drawn but not yet handed out
    assert drawn_before
    with InMemoryEmitter() as xray, invocation():
        used = {Subsegment("work", TRACE_ID, PARENT).id for _ in range(200)}
    used |= {doc["id"] for doc in xray.documents}
    assert not used & drawn_before


def test_empty_sections_and_false_flags_are_left_out() -> None:
    doc = decode(encode(closed()))
    for key in ("http", "aws", "annotations", "metadata", "cause", "error", "fault", "throttle"):
        assert key not in doc


def test_names_lose_characters_xray_rejects_and_are_cut_to_200(assert_valid: Check) -> None:
    assert document.sanitize_name("## app.handler") == "## app.handler"
    assert document.sanitize_name("a<b>c!d\\e\"f'g") == "abcdefg"
    assert document.sanitize_name("x" * 300) == "x" * 200
    assert document.sanitize_name("<>") == "unnamed"
    assert document.sanitize_name("Überweisung 東京") == "Überweisung 東京"
    assert document.sanitize_name("tab\there\u2603") == "tabhere"
    assert_valid([decode(encode(closed("Bad\nname<script>")))])


def test_long_http_request_strings_are_cut_to_the_schema_limit(assert_valid: Check) -> None:
    url = "https://example.com/" + "p" * 400
    doc = decode(encode(closed(http={"request": {"url": url, "method": "GET"}})))
    assert_valid([doc])
    assert doc["http"]["request"]["url"] == url[:250]


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_values_json_cannot_hold_are_sent_in_a_safe_form(assert_valid: Check) -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    sub = closed(
        metadata={
            "default": {
                "object": Opaque(),
                "broken": BrokenRepr(),
                "set": {3},
                "nan": math.nan,
                "when": datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC),
                "price": decimal.Decimal("1.10"),
                "tuple_keys": {(1, 2): "a"},
                "cycle": cyclic,
                "bytes": b"\x00\xff",
            }
        }
    )
    doc = decode(encode(sub))
    assert_valid([doc])
    values = doc["metadata"]["default"]
    assert values["object"] == "<Opaque thing>"
    assert values["broken"] == "<unrepresentable BrokenRepr>"
    assert values["set"] == [3]
    assert values["nan"] == "nan"
    assert values["when"] == "2026-11-25T12:00:00+00:00"
    assert values["price"] == "1.10"
    assert values["tuple_keys"] == {"(1, 2)": "a"}
    assert values["cycle"] == [1, "<cycle>"]
    assert values["bytes"] == "b'\\x00\\xff'"


def test_encoding_does_not_change_the_subsegment() -> None:
    metadata: dict[str, dict[str, Any]] = {"default": {"big": "x" * 100_000, "small": 1}}
    sub = closed(metadata=metadata)
    encode(sub)
    assert sub.metadata is metadata and len(metadata["default"]["big"]) == 100_000


def test_oversized_metadata_is_dropped_largest_first_and_marked(assert_valid: Check) -> None:
    sub = closed(
        metadata={
            "default": {"huge": "x" * 70_000, "small": "kept"},
            "other": {"medium": "y" * 1000},
        }
    )
    datagram = encode(sub)
    doc = decode(datagram)
    assert_valid([doc])
    assert doc["metadata"]["default"] == {"small": "kept"}
    assert doc["metadata"]["other"] == {"medium": "y" * 1000}
    assert doc["metadata"]["lambda_xray"] == {"truncated": True, "dropped": ["default.huge"]}


def test_many_metadata_entries_are_dropped_until_the_document_fits(assert_valid: Check) -> None:
    entries = {f"k{i}": "v" * 900 for i in range(200)}
    doc = decode(encode(closed(metadata={"default": entries})))
    assert_valid([doc])
    note = doc["metadata"]["lambda_xray"]
    assert note["truncated"] is True and note["dropped_count"] > 100
    assert 0 < len(doc["metadata"]["default"]) < 200


def test_oversized_exception_loses_its_stack_after_the_metadata(assert_valid: Check) -> None:
    frame = {"path": "/var/task/" + "deep/" * 40 + "module.py", "line": 1, "label": "f"}
    sub = closed(fault=True, metadata={"default": {"note": "n" * 5000}})
    sub.cause = {
        "exceptions": [{"id": document.new_id(), "message": "m" * 5000, "stack": [frame] * 400}]
    }
    doc = decode(encode(sub))
    assert_valid([doc])
    assert "default" not in doc["metadata"]  # metadata went first
    entry = doc["cause"]["exceptions"][0]
    assert entry["stack"] == [] and entry["truncated"] == 400
    assert len(entry["message"]) == 1024
    assert doc["fault"] is True


def test_oversized_aws_fields_are_cut_and_the_identity_always_survives(
    assert_valid: Check,
) -> None:
    sub = closed(aws={"operation": "PutItem", "keys": ["k" * 1000] * 200}, error=True)
    doc = decode(encode(sub))
    assert_valid([doc])
    assert doc["id"] == sub.id and doc["error"] is True
    assert doc["aws"]["operation"] == "PutItem"


# -- properties -------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.binary(max_size=20),
    st.builds(Opaque),
    st.builds(BrokenRepr),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=5),
    ),
    max_leaves=20,
)
annotation_value = st.one_of(
    st.text(max_size=1000),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=300),
    namespace=st.sampled_from([None, "aws", "remote"]),
    annotations=st.dictionaries(
        st.text(alphabet="abcXYZ019_", min_size=1, max_size=20), annotation_value, max_size=5
    ),
    metadata=st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.dictionaries(st.text(max_size=10), json_value, max_size=4),
        max_size=3,
    ),
    padding=st.integers(min_value=0, max_value=120_000),
    message=st.text(max_size=200),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_any_content_encodes_to_a_valid_datagram_within_the_limit(
    xray_schema: Any,
    name: str,
    namespace: str | None,
    annotations: dict[str, Any],
    metadata: dict[str, dict[str, Any]],
    padding: int,
    message: str,
    flags: tuple[bool, bool, bool],
) -> None:
    sub = closed(name, namespace=namespace, annotations=annotations, metadata=metadata)
    sub.error, sub.throttle, sub.fault = flags
    if padding:
        sub.metadata.setdefault("pad", {})["p"] = "p" * padding
    sub.add_exception(ValueError(message))
    datagram = encode(sub)
    doc = decode(datagram)
    assert not list(xray_schema.iter_errors(doc))
    assert len(datagram) <= MAX_DATAGRAM and len(datagram) - len(HEADER) <= MAX_DOCUMENT
    assert (doc["id"], doc["trace_id"], doc["parent_id"]) == (sub.id, TRACE_ID, PARENT)
    causes.forget()


@settings(max_examples=150, deadline=None)
@given(
    name=st.text(max_size=50),
    namespace=st.sampled_from([None, "aws", "remote"]),
    aws=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    metadata=st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.dictionaries(st.text(max_size=10), json_value, max_size=3),
        max_size=2,
    ),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    closed_=st.booleans(),
    http=st.one_of(
        st.just({}),
        st.builds(lambda status: {"response": {"status": status}}, st.integers(100, 599)),
        st.dictionaries(
            st.sampled_from(["request", "response"]),
            st.dictionaries(
                st.sampled_from(["status", "url", "method", "content_length"]),
                st.one_of(st.booleans(), st.integers(), st.text(max_size=20)),
                max_size=3,
            ),
            max_size=2,
        ),
    ),
    parent=st.sampled_from([PARENT, "", 'quo"te\u00e9']),
    annotations=st.dictionaries(st.text(max_size=10), st.integers(), max_size=2),
)
def test_the_fast_encoding_is_exactly_the_documents_json(
    name: str,
    namespace: str | None,
    aws: dict[str, str],
    metadata: dict[str, dict[str, Any]],
    flags: tuple[bool, bool, bool],
    closed_: bool,
    http: dict[str, Any],
    parent: str,
    annotations: dict[str, int],
) -> None:
    sub = Subsegment(name, TRACE_ID, parent, namespace)
    sub.aws, sub.metadata, sub.http = aws, metadata, http
    sub.annotations.update(annotations)
    sub.error, sub.throttle, sub.fault = flags
    if closed_:
        sub.end_time = sub.start_time + 0.25
    try:
        reference = wire.dumps(sub.to_dict())
    except Exception:  # content only the checked path can encode
        return
    assert wire._fast_body(sub) == reference


# -- the short encoding of a successful AWS call (botocore patch) ------------------------


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(max_size=30),
    parent=st.sampled_from([PARENT, 'quo"te\u00e9']),
    request=st.dictionaries(
        st.sampled_from(
            ["operation", "region", "table_name", "bucket_name", "queue_url", "x\u00e9"]
        ),
        st.one_of(st.text(max_size=20), st.integers()),
        min_size=1,  # the operation, at least
        max_size=4,
    ),
    request_id=st.one_of(st.none(), st.just(""), st.text(max_size=60)),
    host_id=st.one_of(st.none(), st.just(""), st.text(max_size=80)),
    retries=st.one_of(st.none(), st.integers(0, 10)),
    status=st.integers(100, 399),
)
def test_a_successful_aws_calls_short_encoding_is_exactly_the_general_one(
    name: str,
    parent: str,
    request: dict[str, Any],
    request_id: str | None,
    host_id: str | None,
    retries: int | None,
    status: int,
) -> None:
    sub = Subsegment(name, TRACE_ID, parent, "aws")
    sub.aws.update(request)
    end = sub.start_time + 0.003
    datagram = encode_aws_call(sub, status, end, request_id, host_id, retries)
    assert sub.end_time is None and sub.http == {} and sub.aws == request  # left as it was
    # The general way, as the botocore patch records a response:
    if request_id:
        sub.aws["request_id"] = request_id
    if host_id:
        sub.aws["id_2"] = host_id
    if retries is not None:
        sub.aws["retries"] = retries
    sub.end_time, sub.http = end, {"response": {"status": status}}
    assert datagram == encode(sub)


def test_equal_but_differently_typed_request_values_are_not_one_cache_entry() -> None:
    """``True``, ``1`` and ``1.0`` are equal dict keys; each must keep its own JSON."""
    datagrams = []
    for value in (True, 1, 1.0):
        sub = Subsegment("DynamoDB", TRACE_ID, PARENT, "aws")
        sub.aws.update(operation="Op", flag=value)
        datagrams.append(encode_aws_call(sub, 200, sub.start_time + 0.001))
        sub.end_time, sub.http = sub.start_time + 0.001, {"response": {"status": 200}}
        assert datagrams[-1] == encode(sub)
    assert b'"flag":true}' in datagrams[0]
    assert b'"flag":1}' in datagrams[1]
    assert b'"flag":1.0}' in datagrams[2]


def test_the_short_encoding_leaves_list_values_and_odd_response_fields_to_the_general_one() -> None:
    sub = Subsegment("DynamoDB", TRACE_ID, PARENT, "aws")
    sub.aws.update(operation="BatchGetItem", table_names=["a", "b"])
    assert encode_aws_call(sub, 200, sub.start_time + 0.001, "REQ") is None
    sub.aws.pop("table_names")
    end = sub.start_time + 0.001
    assert encode_aws_call(sub, 200, end, 12345) is None  # not a string
    assert encode_aws_call(sub, 200, end, "REQ", None, 1.5) is None  # not an int
    assert encode_aws_call(sub, 200, end, "REQ", None, 0) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda sub: setattr(sub, "error", True),
        lambda sub: setattr(sub, "fault", True),
        lambda sub: setattr(sub, "namespace", "remote"),
        lambda sub: sub.metadata.setdefault("ns", {}).update(k=1),
        lambda sub: sub.annotations.update(k=1),
        lambda sub: sub.http.update(request={"method": "GET"}),
        lambda sub: sub.add_exception(ValueError("boom")),
        lambda sub: sub.aws.clear(),
    ],
)
def test_anything_but_a_plain_successful_aws_call_takes_the_general_encoding(
    change: Callable[[Subsegment], None],
) -> None:
    sub = Subsegment("DynamoDB", TRACE_ID, PARENT, "aws")
    sub.aws.update(operation="PutItem", region="eu-west-1")
    change(sub)
    assert encode_aws_call(sub, 200, sub.start_time + 0.001, "REQ") is None
    causes.forget()


@pytest.mark.parametrize("status", [99, 400, 429, 500])
def test_an_error_status_takes_the_general_encoding(status: int) -> None:
    sub = Subsegment("DynamoDB", TRACE_ID, PARENT, "aws")
    sub.aws["operation"] = "PutItem"
    assert encode_aws_call(sub, status, sub.start_time + 0.001, "REQ") is None
