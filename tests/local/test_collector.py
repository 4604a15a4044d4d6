"""The local X-Ray daemon stand-in, driven over real UDP."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cdk_lambda_xray.local.collector import Collector, parse_datagram

HEADER = b'{"format":"json","version":1}\n'


def _doc(name: str = "S3", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "id": "53995c3f42cd8ad8",
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "parent_id": "1111222233334444",
        "type": "subsegment",
        "start_time": 1.0,
        "end_time": 2.0,
    }
    doc.update(extra)
    return doc


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def _send(collector: Collector, payload: bytes) -> None:
    host, port = collector.address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (host, int(port)))


def test_address_is_loopback_with_the_bound_port(collector: Collector) -> None:
    host, port = collector.address.split(":")
    assert host == "127.0.0.1" and collector.loopback
    assert int(port) == collector.port > 0


def test_a_document_sent_like_the_daemon_protocol_is_kept(collector: Collector) -> None:
    _send(collector, HEADER + json.dumps(_doc("DynamoDB")).encode())
    docs = collector.wait_for(lambda d: len(d) == 1, timeout=5)
    assert docs[0]["name"] == "DynamoDB"
    assert collector.rejects == 0


def test_header_with_spaces_is_accepted(collector: Collector) -> None:
    _send(collector, b'{"format": "json", "version": 1}\n' + json.dumps(_doc()).encode())
    collector.wait_for(lambda d: len(d) == 1, timeout=5)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (json.dumps(_doc()).encode(), "no header line"),
        (b'{"format":"json","version":2}\n' + json.dumps(_doc()).encode(), "bad header"),
        (b"not json\n{}", "bad header"),
        (HEADER + b"{broken", "body is not JSON"),
        (HEADER + b"[1, 2]", "not a JSON object"),
        (HEADER + b'{"name": "x"}', "no id or trace_id"),
        (HEADER + b"T1SCgkKBw==", "OTLP payload not decodable"),
    ],
)
def test_bad_datagrams_are_counted_with_a_reason(
    collector: Collector, payload: bytes, reason: str
) -> None:
    _send(collector, payload)
    _send(collector, HEADER + json.dumps(_doc("after")).encode())  # still receiving
    collector.wait_for(lambda d: len(d) == 1, timeout=5)
    assert collector.rejects == 1
    assert reason in collector.reject_reasons[0]


def test_documents_keep_arrival_order_across_many_datagrams(collector: Collector) -> None:
    for i in range(200):
        _send(collector, HEADER + json.dumps(_doc(f"n{i}")).encode())
    docs = collector.wait_for(lambda d: len(d) == 200, timeout=10)
    assert [d["name"] for d in docs] == [f"n{i}" for i in range(200)]


def test_a_document_near_the_64k_datagram_limit_arrives_whole(collector: Collector) -> None:
    doc = _doc(metadata={"default": {"blob": ""}})
    room = 65_000 - len(HEADER) - len(json.dumps(doc))
    doc["metadata"]["default"]["blob"] = "x" * room
    _send(collector, HEADER + json.dumps(doc).encode())
    docs = collector.wait_for(lambda d: len(d) == 1, timeout=5)
    assert len(docs[0]["metadata"]["default"]["blob"]) == room


def test_wait_for_times_out_naming_what_arrived(collector: Collector) -> None:
    _send(collector, HEADER + json.dumps(_doc("S3")).encode())
    collector.wait_for(lambda d: len(d) == 1, timeout=5)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"1 documents \(S3\), 0 rejects"):
        collector.wait_for(lambda d: len(d) == 2, timeout=0.3)
    assert time.monotonic() - started < 2


def test_a_failing_callback_never_stops_the_collector() -> None:
    def boom(_: dict[str, Any]) -> None:
        raise RuntimeError("user callback bug")

    with Collector(on_document=boom) as collector:
        _send(collector, HEADER + json.dumps(_doc("a")).encode())
        _send(collector, HEADER + json.dumps(_doc("b")).encode())
        docs = collector.wait_for(lambda d: len(d) == 2, timeout=5)
    assert [d["name"] for d in docs] == ["a", "b"]
    assert collector.callback_errors == 2


def test_stop_releases_the_port_and_keeps_the_documents() -> None:
    collector = Collector().start()
    port = collector.port
    _send(collector, HEADER + json.dumps(_doc()).encode())
    collector.wait_for(lambda d: len(d) == 1, timeout=5)
    collector.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))  # free again
    assert len(collector.documents) == 1


def test_clear_forgets_documents_and_rejects(collector: Collector) -> None:
    _send(collector, b"junk")
    _send(collector, HEADER + json.dumps(_doc()).encode())
    collector.wait_for(lambda d: len(d) == 1, timeout=5)
    collector.clear()
    assert collector.documents == []
    assert collector.rejects == 0


def test_parse_datagram_returns_the_document() -> None:
    document = parse_datagram(HEADER + json.dumps(_doc("x")).encode())
    assert document["name"] == "x"
