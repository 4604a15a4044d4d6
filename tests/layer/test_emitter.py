"""The UDP emitter: real datagrams to a local collector, addresses, failures, the size limit."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest

from lambda_xray import config, emitter
from lambda_xray.document import Subsegment
from lambda_xray.emitter import UDPEmitter
from lambda_xray.wire import HEADER, MAX_DATAGRAM

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

Check = Callable[[list[dict[str, Any]]], None]


def closed(name: str = "work", **metadata: Any) -> Subsegment:
    sub = Subsegment(name, TRACE_ID, PARENT)
    if metadata:
        sub.metadata["default"] = metadata
    sub.end_time = sub.start_time + 0.001
    return sub


def test_each_document_arrives_as_one_datagram(collector: Any, assert_valid: Check) -> None:
    subs = [closed(f"step {i}") for i in range(5)]
    for sub in subs:
        emitter.emit(sub)
    docs = collector.wait_for(lambda d: len(d) >= 5, timeout=5)
    assert_valid(docs)
    assert [d["name"] for d in docs] == [f"step {i}" for i in range(5)]
    assert collector.rejects == 0


def test_the_tcp_udp_address_form_sends_to_the_udp_address(
    collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"tcp:127.0.0.1:9 udp:127.0.0.1:{collector.port}")
    emitter.emit(closed("both forms"))
    assert_valid(collector.wait_for(lambda d: len(d) >= 1, timeout=5))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("udp:10.0.0.1:2001 tcp:10.0.0.1:2000", ("10.0.0.1", 2001)),
        ("tcp:10.0.0.1:2000 udp:10.0.0.2:2002", ("10.0.0.2", 2002)),
        ("[::1]:2000", ("::1", 2000)),
        ("localhost:2000", ("localhost", 2000)),
    ],
)
def test_daemon_address_forms(raw: str, expected: tuple[str, int]) -> None:
    assert config.parse_daemon_address(raw) == expected


@pytest.mark.parametrize(
    "raw", ["nonsense", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:2000", "tcp:1.2.3.4:5"]
)
def test_bad_daemon_address_falls_back_to_the_default_with_one_warning(
    raw: str, layer: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", raw)
    assert config.get().daemon_address == ("127.0.0.1", 2000)
    config.reset()
    assert config.get().daemon_address == ("127.0.0.1", 2000)
    warnings = [r for r in caplog.records if "AWS_XRAY_DAEMON_ADDRESS" in r.getMessage()]
    assert len(warnings) == 1
    assert raw in warnings[0].getMessage() and "127.0.0.1:2000" in warnings[0].getMessage()


def test_an_unreachable_daemon_drops_documents_without_raising(layer: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sender = UDPEmitter(("127.0.0.1", closed_port))
    for _ in range(5):  # the ICMP "port unreachable" surfaces on a later send
        sender.send(closed())
    assert sender.sent + sender.dropped == 5
    assert sender.dropped >= 1
    sender.close()


_lookups: list[object] = []
_watching = [False]


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _watching[0] and event == "socket.getaddrinfo":
        _lookups.append(args[0])


sys.addaudithook(_audit)


def test_an_unresolvable_daemon_host_is_looked_up_once_and_warned_about_once(
    layer: None, caplog: pytest.LogCaptureFixture
) -> None:
    sender = UDPEmitter(("no-such-host.invalid", 2000))
    _lookups.clear()
    _watching[0] = True
    try:
        for _ in range(5):
            sender.send(closed())
    finally:
        _watching[0] = False
    assert sender.dropped == 5
    assert len(_lookups) == 1  # not one DNS lookup per document
    assert len([r for r in caplog.records if "cannot resolve" in r.getMessage()]) == 1


def test_the_socket_is_opened_on_first_send_and_is_non_blocking(collector: Any) -> None:
    sender = UDPEmitter()
    assert sender._sock is None
    sender.send(closed())
    assert sender._sock is not None and sender._sock.getblocking() is False
    collector.wait_for(lambda d: len(d) >= 1, timeout=5)
    sender.close()


def test_an_emitter_that_raises_never_reaches_the_caller(layer: None) -> None:
    class Exploding:
        def send(self, sub: Subsegment) -> None:
            raise RuntimeError("boom")

    previous = emitter.set_emitter(Exploding())
    try:
        emitter.emit(closed())
    finally:
        emitter.set_emitter(previous)


def test_oversized_documents_arrive_trimmed_and_nothing_larger_is_sent(
    layer: None, assert_valid: Check
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sender = UDPEmitter(receiver.getsockname())
        sender.send(closed("big", blob="b" * 200_000, small="s"))
        datagram = receiver.recv(200_000)
        sender.close()
    assert len(datagram) <= MAX_DATAGRAM
    doc = json.loads(datagram[len(HEADER) :])
    assert_valid([doc])
    assert doc["metadata"]["default"] == {"small": "s"}
    assert doc["metadata"]["lambda_xray"]["truncated"] is True


def test_a_closed_socket_is_replaced_and_warned_about_once(
    collector: Any, assert_valid: Check, caplog: pytest.LogCaptureFixture
) -> None:
    udp = UDPEmitter()
    udp.send(closed("before"))
    collector.wait_for(lambda d: len(d) >= 1, timeout=5)
    for round_ in range(2):  # closed under the emitter (as code that closes fds does), twice
        sock = udp._sock
        assert sock is not None
        sock.close()
        udp.send(closed(f"lost {round_}"))  # this one is dropped ...
        udp.send(closed(f"after {round_}"))  # ... and the next goes through a new socket
    docs = collector.wait_for(lambda d: len(d) >= 3, timeout=5)
    udp.close()
    assert_valid(docs)
    assert [d["name"] for d in docs] == ["before", "after 0", "after 1"]
    assert (udp.sent, udp.dropped) == (3, 2)
    warnings = [r for r in caplog.records if r.name == "lambda_xray"]
    assert len(warnings) == 1 and "a new socket" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "host",
    [
        "ä" * 64 + ".example",  # a label IDNA cannot encode (too long)
        "xn--.example",  # an empty punycode label
        "bad\x00host",  # a NUL
    ],
)
def test_an_invalid_daemon_host_is_warned_about_once_and_never_raises(
    host: str, layer: None, caplog: pytest.LogCaptureFixture
) -> None:
    udp = UDPEmitter((host, 2000))
    for _ in range(3):
        udp.send(closed())
    assert (udp.sent, udp.dropped) == (0, 3)
    (warning,) = [r for r in caplog.records if r.name == "lambda_xray"]
    assert "cannot resolve the X-Ray daemon host" in warning.getMessage()


# -- the Emitter protocol: subsegments, or datagrams already encoded ------------------------


class CountingInMemory:
    """``testing.InMemoryEmitter`` counting which of its two entry points received what."""

    def __init__(self) -> None:
        from lambda_xray.testing import InMemoryEmitter

        self.inner = InMemoryEmitter()
        self.subsegments: list[Subsegment] = []

    def send(self, sub: Subsegment) -> None:
        self.subsegments.append(sub)
        self.inner.send(sub)

    def send_datagram(self, data: bytes) -> None:
        self.inner.send_datagram(data)


class SubsegmentsOnly:
    """An emitter of another wire format (as the OTLP one): no ``send_datagram``."""

    def __init__(self) -> None:
        self.subsegments: list[Subsegment] = []

    def send(self, sub: Subsegment) -> None:
        self.subsegments.append(sub)


def _successful_calls() -> tuple[Subsegment, Subsegment]:
    """One AWS and one HTTP call answered 200, ended as the client patches end them."""
    from lambda_xray import _recorder, testing
    from lambda_xray.patches import _common

    with testing.invocation():
        aws = _recorder.begin_subsegment("DynamoDB", "aws")
        assert aws is not None
        aws.aws.update(operation="PutItem", region="us-east-1", table_name="t")
        if not _recorder.end_aws_call(aws, 200, "REQ1", None, 0):
            _recorder.end_subsegment(aws, status=200)
        http, _ = _common.begin("api.example.com", "remote")
        assert http is not None
        http.http["request"] = {"method": "GET", "url": "https://api.example.com/items"}
        _common.end(http, status=200)
    return aws, http


def test_an_emitter_that_takes_datagrams_gets_the_short_way_bytes(layer: None) -> None:
    """InMemoryEmitter sees every document as the UDP emitter does: encoded bytes.

    The recorder writes them all (the calls the short way), so an emitter that
    takes datagrams never gets a subsegment object.
    """
    counting = CountingInMemory()
    previous = emitter.set_emitter(counting)
    try:
        aws, http = _successful_calls()
    finally:
        emitter.set_emitter(previous)
    assert counting.subsegments == []
    # The first invocation of the process keeps nothing: one datagram per document.
    assert len(counting.inner.datagrams) == 3
    docs = {d["name"]: d for d in counting.inner.documents}
    assert docs["DynamoDB"]["aws"] == {
        "operation": "PutItem",
        "region": "us-east-1",
        "table_name": "t",
        "request_id": "REQ1",
        "retries": 0,
    }
    assert docs["api.example.com"]["http"]["response"] == {"status": 200}
    assert aws.end_time is not None and http.end_time is not None


def test_an_emitter_without_send_datagram_gets_every_subsegment(layer: None) -> None:
    only = SubsegmentsOnly()
    previous = emitter.set_emitter(only)
    try:
        assert emitter.datagram_sender() is None
        aws, http = _successful_calls()
    finally:
        emitter.set_emitter(previous)
    assert [s.name for s in only.subsegments] == ["DynamoDB", "api.example.com", "## test"]
    # Recorded the general way: the status set on the objects the emitter received.
    assert aws.http["response"] == {"status": 200}
    assert http.http["response"] == {"status": 200}


def test_the_default_emitter_takes_datagrams_and_set_emitter_follows_the_emitter(
    layer: None,
) -> None:
    emitter.set_emitter(None)
    sender = emitter.datagram_sender()
    assert sender is not None and isinstance(emitter.get_emitter(), UDPEmitter)
    emitter.set_emitter(SubsegmentsOnly())
    assert emitter.datagram_sender() is None
    emitter.set_emitter(None)
