"""The short way an HTTP call answered below 400 is written: the same datagram as the general way.

``wire.encode_http_call`` writes a ``remote`` subsegment straight from its
fields; ``_recorder.end_subsegment`` takes it for a successful call when the
emitter takes datagrams (UDP, ``InMemoryEmitter``). What the daemon receives
must not depend on which way was taken: the property tests compare the bytes
with :func:`encode` of the same call recorded the general way (status set as
``end_subsegment`` sets it), and the documents are checked against AWS's schema.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lx_schema import validate_subsegment
from lx_short_ways import encode_http_call

from lambda_xray import _recorder, causes, emitter, testing, wire
from lambda_xray.document import Subsegment
from lambda_xray.patches import _common
from lambda_xray.wire import HEADER, encode

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

Check = Callable[[list[dict[str, Any]]], None]

# URLs as the patches record them, and texts no patch would produce (quotes,
# non-ASCII, control characters, longer than the schema's 250 characters).
urls = st.one_of(
    st.builds(
        lambda host, path: f"https://{host}/{path}",
        st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True),
        st.text(max_size=300),
    ),
    st.text(max_size=300),
    st.text(min_size=240, max_size=400),  # around the schema's 250 characters: clamped
)


def general(sub: Subsegment, status: int, end: float) -> bytes:
    """The datagram ``end_subsegment`` sends the general way (``sub`` is changed)."""
    sub.end_time = end
    response = sub.http.get("response")
    if response is None:
        sub.http["response"] = {"status": status}
    else:
        response["status"] = status
    return encode(sub)


def decode(datagram: bytes) -> dict[str, Any]:
    assert datagram.startswith(HEADER)
    doc = json.loads(datagram[len(HEADER) :])
    assert isinstance(doc, dict)
    return doc


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(max_size=40),
    parent=st.sampled_from([PARENT, 'quo"te\u00e9']),
    method=st.one_of(st.sampled_from(["GET", "POST", "DELETE"]), st.text(max_size=20)),
    url=urls,
    extra=st.dictionaries(
        st.sampled_from(["user_agent", "x_forwarded_for", "x\u00e9"]),
        st.text(max_size=300),
        max_size=2,
    ),
    held=st.one_of(st.none(), st.integers(100, 599)),
    status=st.integers(100, 399),
)
def test_a_successful_http_calls_short_encoding_is_exactly_the_general_one(
    name: str,
    parent: str,
    method: str,
    url: str,
    extra: dict[str, Any],
    held: int | None,
    status: int,
) -> None:
    sub = Subsegment(name, TRACE_ID, parent, "remote")
    request = {"method": method, "url": url, **extra}
    sub.http["request"] = request
    if held is not None:  # a response read later: its status was recorded when it arrived
        sub.http["response"] = {"status": held}
    before = json.dumps(sub.http)
    end = sub.start_time + 0.0042
    datagram = encode_http_call(sub, status, end)
    assert datagram is not None
    assert sub.end_time is None and json.dumps(sub.http) == before  # left as it was
    assert datagram == general(sub, status, end)
    doc = decode(datagram)
    if parent == PARENT and not extra:  # what the patches record (the rest checks the bytes)
        validate_subsegment(doc)
    assert doc["http"]["response"] == {"status": status}
    assert not {"error", "fault", "throttle"} & doc.keys()


@settings(max_examples=100, deadline=None)
@given(url=urls, status=st.integers(100, 399))
def test_the_same_request_twice_is_written_the_same_way_both_times(url: str, status: int) -> None:
    """The request's JSON is remembered per request: a second call must not differ."""
    datagrams = []
    for _ in range(2):
        sub = Subsegment("api.example.com", TRACE_ID, PARENT, "remote")
        sub.http["request"] = {"method": "GET", "url": url}
        end = sub.start_time + 0.001
        datagram = encode_http_call(sub, status, end)
        assert datagram == general(sub, status, end)
        datagrams.append(decode(datagram))
    assert datagrams[0]["http"] == datagrams[1]["http"]


def plain() -> Subsegment:
    sub = Subsegment("api.example.com", TRACE_ID, PARENT, "remote")
    sub.http["request"] = {"method": "GET", "url": "https://api.example.com/v1/items"}
    return sub


@pytest.mark.parametrize(
    "change",
    [
        lambda sub: setattr(sub, "error", True),
        lambda sub: setattr(sub, "throttle", True),
        lambda sub: setattr(sub, "fault", True),
        lambda sub: setattr(sub, "namespace", "aws"),
        lambda sub: setattr(sub, "namespace", None),
        lambda sub: sub.aws.update(operation="GetItem"),
        lambda sub: sub.sql.update(url="postgresql://db/app"),
        lambda sub: sub.annotations.update(k=1),
        lambda sub: sub.metadata.setdefault("ns", {}).update(k=1),
        lambda sub: sub.add_exception(ValueError("boom")),
        lambda sub: sub.http.clear(),
        lambda sub: sub.http.update(request="GET /"),
        lambda sub: sub.http["request"].update(headers=["a", "b"]),  # not hashable
        lambda sub: sub.http["request"].update(content_length=float("nan")),  # not JSON
        lambda sub: sub.http["request"].update(x=1),  # 1 == 1.0 == True: not cached
        lambda sub: sub.http["request"].update(x=True),
        lambda sub: sub.http.update(response={"status": 200, "content_length": 2}),
        lambda sub: sub.http.update(response=200),
        lambda sub: sub.http.update(other={}),
        lambda sub: sub.http.update(response={"status": 200}, request=sub.http.pop("request")),
        lambda sub: setattr(sub, "start_time", float("nan")),
    ],
)
def test_anything_but_a_plain_successful_http_call_takes_the_general_encoding(
    change: Callable[[Subsegment], None],
) -> None:
    sub = plain()
    change(sub)
    assert encode_http_call(sub, 200, sub.start_time + 0.001) is None
    causes.forget()


@pytest.mark.parametrize("status", [99, 400, 404, 429, 500, 600, True])
def test_an_error_or_odd_status_takes_the_general_encoding(status: int) -> None:
    sub = plain()
    assert encode_http_call(sub, status, sub.start_time + 0.001) is None


# -- through the recorder and a real UDP socket ---------------------------------------


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """A UDP socket standing in for the daemon; the layer's real UDP emitter sends to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    previous = emitter.set_emitter(emitter.UDPEmitter(sock.getsockname()))
    try:
        yield sock
    finally:
        udp = emitter.set_emitter(previous)
        if udp is not None:
            udp.close()  # type: ignore[attr-defined]
        sock.close()


@pytest.mark.parametrize("warm", [False, True], ids=["first-invocation", "later-invocation"])
@pytest.mark.parametrize("status", [200, 204, 301, 404, 429, 503])
def test_the_daemon_receives_the_general_datagram_whichever_way_the_call_ends(
    daemon: socket.socket, status: int, warm: bool, assert_valid: Check
) -> None:
    """The first invocation sends the call on its own; later ones in the handler's
    document (``lambda_xray.batch``): the same JSON as the general way, either way."""
    _recorder.reset()  # a fresh process
    if warm:
        with testing.invocation():
            pass
        daemon.recv(65_535)  # the first invocation's handler subsegment
    with testing.invocation():
        sub, header = _common.begin("api.example.com", "remote")
        assert sub is not None and header is not None
        sub.http["request"] = {"method": "GET", "url": "https://api.example.com/v1/items"}
        _common.end(sub, status=status)
    received = [daemon.recv(65_535) for _ in range(1 if warm else 2)]
    copy = Subsegment(sub.name, sub.trace_id, sub.parent_id, "remote")
    copy.id, copy.start_time, copy.invocation = sub.id, sub.start_time, sub.invocation
    copy.http["request"] = dict(sub.http["request"])
    assert sub.end_time is not None
    _recorder_general(copy, status, sub.end_time)
    if warm:
        general = wire.rest_of(copy)
        assert general is not None
        assert wire.embedded(copy, general).encode() in received[0]
    else:
        assert received[0] == encode(copy)
    docs = testing.subsegments([decode(data) for data in received])
    assert_valid(docs)
    assert [d["name"] for d in docs] == ["api.example.com", "## test"]
    doc = docs[0]
    assert doc["parent_id"] == docs[1]["id"]
    assert doc["http"]["response"] == {"status": status}
    assert doc.get("error", False) is (400 <= status < 500)
    assert doc.get("throttle", False) is (status == 429)
    assert doc.get("fault", False) is (status >= 500)


def _recorder_general(sub: Subsegment, status: int, end: float) -> None:
    """What ``end_subsegment`` records, the general way: status and flags."""
    captured: list[Subsegment] = []

    class Capture:
        def send(self, doc: Subsegment) -> None:
            captured.append(doc)

    previous = emitter.set_emitter(Capture())
    try:
        _recorder.end_subsegment(sub, status=status)
    finally:
        emitter.set_emitter(previous)
    assert captured == [sub]
    sub.end_time = end


def test_clean_urls_stay_right_past_the_number_remembered() -> None:
    """``clean_url`` remembers its answers; far more distinct URLs than it keeps are still right."""
    for i in range(3 * 256):
        got = _common.clean_url("https", "api.example.com", 8443, f"/v{i}/items?token=secret{i}")
        assert got == f"https://api.example.com:8443/v{i}/items"
    assert _common.clean_url("http", "user:pw@h", 80, "/p?q#f") == "http://h/p"
