"""The httpx (sync and async) and aiohttp patches in-process, over real HTTP on 127.0.0.1.

A canned-response server records the ``X-Amzn-Trace-Id`` each request really
carried; documents are taken with the layer's ``InMemoryEmitter`` and
validated against AWS's schema. Streamed and never-read responses, and the
http.client request whose response is never asked for, are here too. The
same clients under the real awslambdaric are in test_async_clients_runtime.py.
"""

from __future__ import annotations

import asyncio
import http.client
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_servers import Canned, CannedServer, closed_port

from lambda_xray import api, testing
from lambda_xray.testing import InMemoryEmitter

pytestmark = pytest.mark.timeout(60)

DocumentCheck = Callable[[list[dict[str, Any]]], None]
BIG = b"x" * 4_000_000  # larger than the socket buffers: its end arrives only when read


@pytest.fixture(scope="module")
def server() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "page": Canned(200, b"hello"),
        "big": Canned(200, BIG),
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


def received_at(server: CannedServer, path: str) -> list[str | None]:
    return [r.trace_header for r in server.received if r.path.split("?")[0] == path]


# -- the three clients, one request each, returning the status --------------------------


def get_httpx(url: str, headers: dict[str, str] | None = None) -> int:
    with httpx.Client(timeout=5) as client:
        return client.get(url, headers=headers, follow_redirects=True).status_code


def get_httpx_async(url: str, headers: dict[str, str] | None = None) -> int:
    async def main() -> int:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url, headers=headers, follow_redirects=True)
            return response.status_code

    return asyncio.run(main())


def get_aiohttp(url: str, headers: dict[str, str] | None = None) -> int:
    async def main() -> int:
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as got:
            await got.read()
            return got.status

    return asyncio.run(main())


CLIENTS = {"httpx": get_httpx, "httpx-async": get_httpx_async, "aiohttp": get_aiohttp}


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_one_subsegment_per_call_carrying_its_header(
    xray: InMemoryEmitter, server: CannedServer, assert_valid: DocumentCheck, lib: str
) -> None:
    header = testing.trace_header(lineage="a87bd80c:0")
    path = f"/page/{lib}/x"
    with testing.invocation(header=header) as root:
        url = f"http://user:hunter2@127.0.0.1:{server.port}{path}?api_key=s3cr3t#frag"
        assert CLIENTS[lib](url) == 200
    assert_valid(xray.documents)
    (doc,) = remote(xray)  # httpcore / aiohttp's connection layer below did not record again
    assert root is not None and doc["parent_id"] == root.id
    assert doc["name"] == "127.0.0.1"
    assert doc["http"] == {
        "request": {"method": "GET", "url": f"{server.url}{path}"},
        "response": {"status": 200},
    }
    assert "s3cr3t" not in str(xray.documents) and "hunter2" not in str(xray.documents)
    assert received_at(server, path) == [
        f"{root_id(header)};Parent={doc['id']};Sampled=1;Lineage=a87bd80c:0"
    ]


@pytest.mark.parametrize(
    ("route", "flags"),
    [
        ("missing", {"error": True}),
        ("limited", {"error": True, "throttle": True}),
        ("down", {"fault": True}),
    ],
)
@pytest.mark.parametrize("lib", list(CLIENTS))
def test_error_status_sets_flags_without_a_cause(
    xray: InMemoryEmitter, server: CannedServer, lib: str, route: str, flags: dict[str, bool]
) -> None:
    with testing.invocation():
        CLIENTS[lib](f"{server.url}/{route}")
    (doc,) = remote(xray)
    assert {k: doc[k] for k in ("error", "throttle", "fault") if k in doc} == flags
    assert "cause" not in doc  # neither library raised


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_connection_refused_is_a_fault_with_its_cause_without_the_query_string(
    xray: InMemoryEmitter, assert_valid: DocumentCheck, lib: str
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/orders?token=s3cr3t"
    with testing.invocation(), pytest.raises(Exception) as raised:
        CLIENTS[lib](url)
    assert_valid(xray.documents)
    (doc,) = remote(xray)
    assert doc["fault"] is True
    assert "response" not in doc["http"]
    (exc,) = doc["cause"]["exceptions"][:1]
    assert exc["type"] == type(raised.value).__name__  # the very exception the function got
    assert "remote" not in exc
    assert "s3cr3t" not in str(doc)


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_redirects_stay_in_one_subsegment_every_hop_carrying_its_header(
    xray: InMemoryEmitter, server: CannedServer, lib: str
) -> None:
    header = testing.trace_header()
    before = len(received_at(server, "/hop"))
    with testing.invocation(header=header):
        assert CLIENTS[lib](f"{server.url}/hop") == 200
    (doc,) = remote(xray)
    assert doc["http"]["response"]["status"] == 200
    expected = f"{root_id(header)};Parent={doc['id']};Sampled=1"
    assert received_at(server, "/hop")[before:] == [expected]
    assert received_at(server, "/page/after-redirect")[-1] == expected


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_unsampled_call_sends_sampled_0_and_records_nothing(
    xray: InMemoryEmitter, server: CannedServer, lib: str
) -> None:
    header = testing.trace_header(sampled=False)
    path = f"/page/unsampled-{lib}"
    with testing.invocation(header=header):
        CLIENTS[lib](f"{server.url}{path}")
    assert xray.documents == []
    assert received_at(server, path) == [f"{root_id(header)};Sampled=0"]


def test_an_unsampled_httpx_async_call_is_httpxs_own_coroutine(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    """Sampled=0 costs the header only: no coroutine of the layer around httpx's."""
    header = testing.trace_header(sampled=False)
    path = "/page/own-coroutine"

    async def main() -> tuple[Any, int]:
        async with httpx.AsyncClient(timeout=5) as client:
            request = client.build_request("GET", f"{server.url}{path}")
            pending = client.send(request)
            code = pending.cr_code
            return code, (await pending).status_code

    with testing.invocation(header=header):
        code, status = asyncio.run(main())
    assert status == 200
    assert code is httpx.AsyncClient.send.__wrapped__.__code__
    assert received_at(server, path) == [f"{root_id(header)};Sampled=0"]
    assert xray.documents == []


@pytest.mark.parametrize("lib", list(CLIENTS))
def test_a_header_the_function_set_is_replaced_and_its_mapping_left_alone(
    xray: InMemoryEmitter, server: CannedServer, lib: str
) -> None:
    headers = {"Accept": "text/plain", "x-amzn-trace-id": "Root=stale"}
    path = f"/page/own-header-{lib}"
    with testing.invocation():
        CLIENTS[lib](f"{server.url}{path}", headers)
    assert headers == {"Accept": "text/plain", "x-amzn-trace-id": "Root=stale"}
    (received,) = [r for r in server.received if r.path == path]
    values = [v for k, v in received.headers.items() if k.lower() == "x-amzn-trace-id"]
    assert len(values) == 1 and values[0] != "Root=stale"


@pytest.mark.parametrize("lib", ["httpx", "aiohttp"])
def test_no_trace_context_adds_no_header(
    xray: InMemoryEmitter, server: CannedServer, monkeypatch: pytest.MonkeyPatch, lib: str
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    assert CLIENTS[lib](f"{server.url}/page/outside-{lib}") == 200
    assert xray.documents == []
    assert received_at(server, f"/page/outside-{lib}") == [None]


def test_aiohttp_raise_for_status_records_the_status_and_the_remote_cause(
    xray: InMemoryEmitter,
    server: CannedServer,
) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            await session.get(f"{server.url}/missing")

    with testing.invocation(), pytest.raises(aiohttp.ClientResponseError):
        asyncio.run(main())
    (doc,) = remote(xray)
    assert doc["error"] is True and "fault" not in doc
    assert doc["http"]["response"]["status"] == 404
    assert doc["cause"]["exceptions"][0]["remote"] is True


# -- streamed responses: the call ends when the response is read or closed -----------------


def test_httpx_streamed_response_ends_when_fully_read(
    xray: InMemoryEmitter, server: CannedServer, assert_valid: DocumentCheck
) -> None:
    with testing.invocation(), httpx.Client(timeout=5) as client:
        with client.stream("GET", f"{server.url}/big/sync") as response:
            assert remote(xray) == []  # headers are in, the body is not read yet
            body = response.read()
            (doc,) = remote(xray)  # sent as soon as the body was read, still inside the block
        assert doc["end_time"] >= doc["start_time"]
    assert body == BIG
    assert_valid(xray.documents)
    assert doc["http"]["response"]["status"] == 200


def test_httpx_async_streamed_response_ends_when_closed_unread(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            async with client.stream("GET", f"{server.url}/big/async") as response:
                async for _ in response.aiter_raw(1024):
                    break  # read a little, then leave the block
                assert remote(xray) == []
            assert len(remote(xray)) == 1

    with testing.invocation() as root:
        asyncio.run(main())
    (doc,) = remote(xray)
    assert root is not None and doc["end_time"] <= xray.named("## test")[0]["end_time"]
    assert doc["http"]["response"]["status"] == 200


def test_aiohttp_response_ends_when_released_before_its_body_arrived(
    xray: InMemoryEmitter, server: CannedServer
) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"{server.url}/big/aiohttp")
            assert remote(xray) == []  # 4 MB: not all in yet
            response.release()
            assert len(remote(xray)) == 1

    with testing.invocation():
        asyncio.run(main())
    (doc,) = remote(xray)
    assert doc["http"]["response"]["status"] == 200


@pytest.mark.parametrize("lib", ["httpx", "httpx-async", "aiohttp", "http.client"])
def test_a_response_never_read_is_sent_when_the_invocation_ends(
    xray: InMemoryEmitter, server: CannedServer, assert_valid: DocumentCheck, lib: str
) -> None:
    path = f"/big/never-{lib}"
    url = server.url + path
    header = testing.trace_header()

    async def scenario() -> None:
        with testing.invocation(header=header):
            # The function starts the call and never reads nor closes the response.
            if lib == "httpx":
                client: Any = httpx.Client(timeout=5)
                response: Any = client.send(client.build_request("GET", url), stream=True)
            elif lib == "httpx-async":
                client = httpx.AsyncClient(timeout=5)
                response = await client.send(client.build_request("GET", url), stream=True)
            elif lib == "aiohttp":
                client = aiohttp.ClientSession()
                response = await client.get(url)
            else:  # the request is sent, getresponse() never called
                client = http.client.HTTPConnection(f"127.0.0.1:{server.port}", timeout=5)
                client.request("GET", path)
            with api.subsegment("later work"):
                pass
            assert remote(xray) == []
        assert len(remote(xray)) == 1  # sent by the invocation's end
        # Closing it now (after the invocation) sends nothing more.
        if lib == "httpx":
            response.close()
            client.close()
        elif lib == "httpx-async":
            await response.aclose()
            await client.aclose()
        elif lib == "aiohttp":
            response.release()
            await client.close()
        else:
            client.close()

    asyncio.run(scenario())
    assert_valid(xray.documents)
    (doc,) = remote(xray)
    (root,) = xray.named("## test")
    assert doc["parent_id"] == root["id"]
    assert doc["end_time"] <= root["end_time"]
    assert xray.documents.index(doc) < xray.documents.index(root)
    if lib != "http.client":  # http.client never had a response to read the status of
        assert doc["http"]["response"]["status"] == 200
    deadline = time.monotonic() + 5  # the server thread may still be reading the request
    while not received_at(server, path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received_at(server, path) == [f"{root_id(header)};Parent={doc['id']};Sampled=1"]


# -- concurrent asyncio tasks ----------------------------------------------------------


@pytest.mark.parametrize("lib", ["httpx-async", "aiohttp"])
def test_concurrent_tasks_each_nest_under_their_own_subsegment(
    xray: InMemoryEmitter, server: CannedServer, lib: str
) -> None:
    async def fetch(client: Any, name: str) -> None:
        async with api.subsegment(name):
            if lib == "aiohttp":
                async with client.get(f"{server.url}/page/{name}") as response:
                    await response.read()
            else:
                await client.get(f"{server.url}/page/{name}")

    async def main() -> None:
        names = [f"task-{lib}-{i}" for i in range(6)]
        client: Any = aiohttp.ClientSession() if lib == "aiohttp" else httpx.AsyncClient()
        async with client:
            await asyncio.gather(*(fetch(client, n) for n in names))

    with testing.invocation():
        asyncio.run(main())
    calls = remote(xray)
    assert len(calls) == 6
    for call in calls:
        (task,) = [d for d in xray.documents if d["id"] == call["parent_id"]]
        assert call["http"]["request"]["url"].endswith("/" + task["name"])
        sent = received_at(server, "/page/" + task["name"])
        assert sent == [f"Root={call['trace_id']};Parent={call['id']};Sampled=1"]


# -- loading: nothing until the function imports the library ------------------------------


def test_install_imports_none_of_them_and_patches_each_once_on_import() -> None:
    import json
    import os
    import subprocess
    import textwrap

    code = textwrap.dedent(
        """
        import json, sys
        from lambda_xray import patches
        patches.install()
        mine = ("httpx", "aiohttp", "aiobotocore")
        before = sorted(m for m in sys.modules if m.split(".")[0] in mine
                        or m.rpartition(".")[2] in mine)  # nor the patch modules
        import aiobotocore.session  # brings aiohttp (and httpx) with it
        import httpx, aiohttp
        from aiobotocore.client import AioBaseClient
        once = [
            f.__wrapped__ for f in (httpx.Client.send, httpx.AsyncClient.send,
                                    aiohttp.ClientSession._request,
                                    AioBaseClient._make_api_call)
        ]
        print(json.dumps({
            "before": before,
            "installed": sorted(patches.installed()),
            "wrapped_once": [not hasattr(f, "__lambda_xray_wrapped__") for f in once],
            "loader": type(httpx._client.__spec__.loader).__name__,
        }))
        """
    )
    layer = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(layer)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert {"httpx._client", "aiohttp.client", "aiobotocore.client"} <= set(result["installed"])
    assert result["wrapped_once"] == [True] * 4
    assert result["loader"] == "SourceFileLoader"
