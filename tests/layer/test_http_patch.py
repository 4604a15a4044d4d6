"""The http.client, urllib3 and requests patches in-process, over real HTTP on 127.0.0.1.

A canned-response server records the ``X-Amzn-Trace-Id`` each request really
carried; documents are taken with the layer's ``InMemoryEmitter``.
"""

from __future__ import annotations

import http.client
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_servers import Canned, CannedServer, closed_port

from lambda_xray import testing
from lambda_xray.patches import _common, plain_http
from lambda_xray.testing import InMemoryEmitter

pytestmark = pytest.mark.timeout(60)

DocumentCheck = Callable[[list[dict[str, Any]]], None]


@pytest.fixture(scope="module")
def server() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "page": Canned(200, b"hello"),
        "hop": Canned(302, b"", {"Location": "/page/after-redirect"}),
        "missing": Canned(404, b"no"),
        "limited": Canned(429, b"slow down"),
        "down": Canned(503, b"down"),
    }
    with CannedServer(routes) as s:
        yield s


def remote(xray: InMemoryEmitter) -> list[dict[str, Any]]:
    return [d for d in xray.documents if d.get("namespace") == "remote"]


def root_id(header: str) -> str:
    return header.split(";")[0]


def fetch_urllib(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def fetch_requests(url: str) -> int:
    return int(requests.get(url, timeout=5).status_code)


def fetch_urllib3(url: str) -> int:
    return int(urllib3.PoolManager().request("GET", url, retries=False).status)


def fetch_http_client(url: str) -> int:
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    conn = http.client.HTTPConnection(host, timeout=5)
    try:
        conn.request("GET", "/" + path)
        return int(conn.getresponse().status)
    finally:
        conn.close()


CLIENTS = {
    "urllib": fetch_urllib,
    "requests": fetch_requests,
    "urllib3": fetch_urllib3,
    "http.client": fetch_http_client,
}


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_one_subsegment_per_call_carrying_its_header(
    xray: InMemoryEmitter, server: CannedServer, assert_valid: DocumentCheck, lib: str
) -> None:
    header = testing.trace_header(lineage="a87bd80c:0")
    path = f"/page/{lib}/x"
    with testing.invocation(header=header) as root:
        assert CLIENTS[lib](f"{server.url}{path}?api_key=s3cr3t#frag") == 200
    assert_valid(xray.documents)
    (doc,) = remote(xray)  # the stack below the library did not record again
    assert root is not None and doc["parent_id"] == root.id
    assert doc["name"] == "127.0.0.1"
    assert doc["http"] == {
        "request": {"method": "GET", "url": f"{server.url}{path}"},
        "response": {"status": 200},
    }
    assert "s3cr3t" not in str(xray.documents)
    (received,) = [r for r in server.received if r.path.startswith(path)]
    assert (
        received.trace_header
        == f"{root_id(header)};Parent={doc['id']};Sampled=1;Lineage=a87bd80c:0"
    )


@pytest.mark.parametrize(
    ("route", "flags"),
    [
        ("missing", {"error": True}),
        ("limited", {"error": True, "throttle": True}),
        ("down", {"fault": True}),
    ],
)
@pytest.mark.parametrize("lib", ["urllib", "requests", "urllib3"])
def test_error_status_sets_flags(
    xray: InMemoryEmitter, server: CannedServer, lib: str, route: str, flags: dict[str, bool]
) -> None:
    with testing.invocation():
        CLIENTS[lib](f"{server.url}/{route}")
    (doc,) = remote(xray)
    got = {k: doc[k] for k in ("error", "throttle", "fault") if k in doc}
    assert got == flags


@pytest.mark.parametrize("lib", ["urllib", "requests", "urllib3", "http.client"])
def test_connection_refused_is_a_fault_without_the_query_string(
    xray: InMemoryEmitter, lib: str
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/orders?token=s3cr3t"
    with testing.invocation(), pytest.raises(Exception) as raised:
        CLIENTS[lib](url)
    (doc,) = remote(xray)
    assert doc["fault"] is True
    assert "response" not in doc["http"]
    # urllib.request wraps what http.client (where it is recorded) raised in a URLError.
    recorded = "ConnectionRefusedError" if lib == "urllib" else type(raised.value).__name__
    assert doc["cause"]["exceptions"][0]["type"] == recorded
    assert "s3cr3t" not in str(doc)


def test_requests_redirects_stay_in_one_subsegment(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    header = testing.trace_header()
    with testing.invocation(header=header):
        response = requests.get(f"{server.url}/hop", timeout=5)
    assert response.status_code == 200 and response.url.endswith("/page/after-redirect")
    (doc,) = remote(xray)
    assert doc["http"]["response"]["status"] == 200
    sent = [r.trace_header for r in server.received if r.path in ("/hop", "/page/after-redirect")]
    assert sent[-2:] == [f"{root_id(header)};Parent={doc['id']};Sampled=1"] * 2


def test_http_client_with_userinfo_in_the_host_records_no_password(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    """urllib.request hands http.client ``user:password@host`` as the host; it cannot connect."""
    url = f"http://user:hunter2@127.0.0.1:{server.port}/page/auth?token=s3cr3t"
    with testing.invocation(), pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
    (doc,) = remote(xray)
    assert doc["name"] == "127.0.0.1"
    assert doc["http"]["request"]["url"] == f"{server.url}/page/auth"
    assert doc["fault"] is True
    assert "hunter2" not in str(xray.documents) and "s3cr3t" not in str(xray.documents)


def test_userinfo_never_reaches_the_document(xray: InMemoryEmitter, server: CannedServer) -> None:
    with testing.invocation():
        requests.get(f"http://user:hunter2@127.0.0.1:{server.port}/page/auth", timeout=5)
    (doc,) = remote(xray)
    assert doc["http"]["request"]["url"] == f"{server.url}/page/auth"
    assert "hunter2" not in str(doc)


def test_callers_headers_are_not_modified(xray: InMemoryEmitter, server: CannedServer) -> None:
    headers = {"Accept": "text/plain", "x-amzn-trace-id": "Root=stale"}
    with testing.invocation():
        urllib3.PoolManager().request("GET", f"{server.url}/page/hdr", headers=headers)
        conn = http.client.HTTPConnection(f"127.0.0.1:{server.port}", timeout=5)
        conn.request("GET", "/page/hdr2", headers=headers)
        conn.getresponse().read()
        conn.close()
    assert headers == {"Accept": "text/plain", "x-amzn-trace-id": "Root=stale"}
    for path in ("/page/hdr", "/page/hdr2"):
        (received,) = [r for r in server.received if r.path == path]
        values = [v for k, v in received.headers.items() if k.lower() == "x-amzn-trace-id"]
        assert len(values) == 1 and values[0] != "Root=stale"  # replaced, not duplicated


def test_unsampled_call_sends_sampled_0_and_records_nothing(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    header = testing.trace_header(sampled=False)
    with testing.invocation(header=header):
        fetch_requests(f"{server.url}/page/unsampled")
    assert xray.documents == []
    (received,) = [r for r in server.received if r.path == "/page/unsampled"]
    assert received.trace_header == f"{root_id(header)};Sampled=0"


def test_no_trace_context_adds_no_header(
    xray: InMemoryEmitter, server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    assert fetch_urllib(f"{server.url}/page/outside") == 200
    assert xray.documents == []
    (received,) = [r for r in server.received if r.path == "/page/outside"]
    assert received.trace_header is None


def test_calls_to_the_lambda_runtime_api_are_not_traced(
    xray: InMemoryEmitter, server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", f"127.0.0.1:{server.port}")
    monkeypatch.setattr(plain_http, "_runtime_api", [])
    with testing.invocation():
        fetch_http_client(f"{server.url}/page/runtime")
    assert remote(xray) == []
    (received,) = [r for r in server.received if r.path == "/page/runtime"]
    assert received.trace_header is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("http", "example.com", 80, "/a?b=1"), "http://example.com/a"),
        (("https", "example.com", 443, "/"), "https://example.com/"),
        (("https", "example.com", 8443, "a/b#f"), "https://example.com:8443/a/b"),
        (("http", "::1", 8080, "/x"), "http://[::1]:8080/x"),
        (("http", "proxy", 3128, "http://u:p@real.example/p?q"), "http://real.example/p"),
        (("http", "example.com", None, ""), "http://example.com/"),
        (("http", "user:hunter2@127.0.0.1", 8080, "/x"), "http://127.0.0.1:8080/x"),
        (
            ("https", "media.s3.eu-west-1.amazonaws.com", 443, "/users/a@b.c/a.png?X-Amz-S=1"),
            "https://media.s3.eu-west-1.amazonaws.com/<redacted>",
        ),
        (
            ("", "", None, "https://s3.amazonaws.com/media/users/a.png#f"),
            "https://s3.amazonaws.com/media/<redacted>",
        ),
        (("", "", None, "http://u:p@h.example?q=1"), "http://h.example/"),
    ],
)
def test_clean_url(args: tuple[str, str, int | None, str], expected: str) -> None:
    assert _common.clean_url(*args) == expected


@pytest.mark.parametrize(
    ("authority", "host"),
    [("example.com:80", "example.com"), ("u:p@h", "h"), ("[::1]:8080", "::1"), ("::1", "::1")],
)
def test_hostname(authority: str, host: str) -> None:
    assert _common.hostname(authority) == host


def test_repeated_header_names_all_reach_the_server(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    from http.client import HTTPMessage

    headers = HTTPMessage()  # a mapping whose items() repeats a name, as http.client allows
    for name, value in [("X-Dup", "one"), ("Accept", "text/plain"), ("X-Dup", "two")]:
        headers[name] = value
    headers["X-Amzn-Trace-Id"] = "Root=stale"
    with testing.invocation():
        conn = http.client.HTTPConnection(f"127.0.0.1:{server.port}", timeout=5)
        conn.request("GET", "/page/dup", headers=headers)
        conn.getresponse().read()
        conn.close()
    (doc,) = remote(xray)
    (received,) = [r for r in server.received if r.path == "/page/dup"]
    sent = [
        (k, v) for k, v in received.header_lines if k.lower() not in ("host", "accept-encoding")
    ]
    assert sent == [
        ("X-Dup", "one"),
        ("Accept", "text/plain"),
        ("X-Dup", "two"),
        ("X-Amzn-Trace-Id", f"Root={doc['trace_id']};Parent={doc['id']};Sampled=1"),
    ]
    assert headers.get_all("X-Dup") == ["one", "two"]  # the caller's object is unchanged
