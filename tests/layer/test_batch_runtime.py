"""Closed calls leave in their parent's document (``lambda_xray.batch``), under the real runtime.

Real parts only: ``python -m awslambdaric lambda_xray.handler.handler`` against a
Runtime API server in this process (deadlines as Lambda sends them), HTTP
calls to a canned server on 127.0.0.1 that records the ``X-Amzn-Trace-Id``
each request carried, documents over real UDP to the local collector (one
document per datagram, as the daemon reads them), every subsegment validated
against AWS's segment document schema.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_dbfunction import RuntimeFunction
from lx_runtime_api import new_trace_id, trace_header
from lx_schema import validate_subsegment
from lx_servers import Canned, CannedServer

from cdk_lambda_xray.local.collector import Collector
from lambda_xray.batch import MAX_KEPT
from lambda_xray.testing import subsegments
from lambda_xray.wire import MAX_DOCUMENT

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
ROOT = "## app.handler"

pytestmark = pytest.mark.timeout(180)

APP = """
import asyncio
import os
import threading
import time
import urllib.request

import httpx

from lambda_xray import subsegment


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status


async def _tasks(base, n):
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(i):
            async with subsegment(f"task-{i}"):
                return (await client.get(f"{base}/page/task-{i}")).status_code

        return await asyncio.gather(*(one(i) for i in range(n)))


def handler(event, context):
    base, kind, n = event["url"], event["kind"], event.get("n", 0)
    if kind == "calls":
        return [_get(f"{base}/page/{i}") for i in range(n)]
    if kind == "steps":
        for i in range(n):
            with subsegment(f"step-{i}") as scope:
                scope.metadata("blob", "x" * event["size"])
                _get(f"{base}/page/step-{i}")
        return "ok"
    if kind == "raise":
        for i in range(n):
            _get(f"{base}/page/{i}")
        raise ValueError("boom")
    if kind == "thread":
        started = threading.Event()

        def late():  # httpx: the call ends when its response arrives (http.client's
            # would be closed with the invocation, see hold_open)
            with httpx.Client(timeout=10) as client:
                started.set()
                client.get(f"{base}/slow/late")

        threading.Thread(target=late).start()
        started.wait()
        time.sleep(0.2)  # the request is out: its subsegment opened in this invocation
        return "ok"
    if kind == "tasks":
        return asyncio.run(_tasks(base, n))
    if kind == "killed":
        for i in range(n):
            _get(f"{base}/page/early-{i}")
        time.sleep(event["sleep"])  # past the layer's flush point, before the deadline
        if event["late"]:
            _get(f"{base}/page/late")  # ends within the deadline's margin
        os._exit(1)  # what Lambda's timeout does to the process: no handler end, no root
    raise ValueError(kind)
"""


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "page": Canned(200, b"hello"),
        "slow": Canned(200, b"late", delay=0.6),
    }
    with CannedServer(routes) as server:
        yield server


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as collector:
        yield collector


def _start(
    collector: Collector, tmp: pytest.TempPathFactory, env: dict[str, str] | None = None
) -> RuntimeFunction:
    root = tmp.mktemp("task")
    (root / "app.py").write_text(APP)
    return RuntimeFunction(collector, root, tmp.mktemp("logs") / "batch.log", LAYER_PYTHON, env)


class Invoked:
    """One invocation's trace: the datagrams that arrived and the subsegments in them."""

    def __init__(self, datagrams: list[dict[str, Any]]) -> None:
        self.datagrams = datagrams
        self.subsegments = subsegments(datagrams)
        for doc in self.subsegments:
            validate_subsegment(doc)
        for datagram in datagrams:  # compact ASCII JSON: the bytes the layer sent
            validate_subsegment(datagram)
            assert len(json.dumps(datagram, separators=(",", ":"))) <= MAX_DOCUMENT

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for d in self.subsegments if d["name"] == name]

    @property
    def root(self) -> dict[str, Any]:
        (root,) = self.named(ROOT)
        return root


def trace_of(collector: Collector, trace_id: str, wanted: int, timeout: float = 20) -> Invoked:
    """The trace's datagrams once ``wanted`` subsegments arrived (and a moment more)."""

    def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in docs if d.get("trace_id") == trace_id]

    collector.wait_for(lambda docs: len(subsegments(mine(docs))) >= wanted, timeout)
    time.sleep(0.2)
    assert collector.rejects == 0, collector.reject_reasons
    return Invoked(mine(collector.documents))


def invoke(fn: RuntimeFunction, event: dict[str, Any], wanted: int) -> tuple[Any, Invoked]:
    trace_id = new_trace_id()
    response = fn.invoke(event, trace_header(trace_id))
    return response, trace_of(fn.collector, trace_id, wanted)


@pytest.fixture(scope="module")
def function(
    collector: Collector, canned: CannedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RuntimeFunction, Invoked]]:
    """The function, and what its first (cold) invocation, three calls, sent."""
    with _start(collector, tmp_path_factory) as fn:
        _, cold = invoke(fn, {"url": canned.url, "kind": "calls", "n": 3}, 4)
        yield fn, cold


def _calls_under(trace: Invoked, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in trace.subsegments if d["parent_id"] == parent["id"]]


def test_the_first_invocation_sends_each_call_as_it_ends(
    function: tuple[RuntimeFunction, Invoked],
) -> None:
    _, cold = function
    assert [d["name"] for d in cold.datagrams] == ["127.0.0.1"] * 3 + [ROOT]
    assert all(d["parent_id"] == cold.root["id"] for d in cold.datagrams[:3])


def test_a_later_invocation_sends_its_calls_in_the_handlers_document(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    before = len(canned.requests_to("page"))
    response, trace = invoke(fn, {"url": canned.url, "kind": "calls", "n": 8}, 9)
    assert response == [200] * 8
    assert len(trace.datagrams) == 1 and trace.datagrams[0]["name"] == ROOT
    calls = _calls_under(trace, trace.root)
    assert len(calls) == 8 and len({c["id"] for c in calls}) == 8
    assert all(c["http"]["response"]["status"] == 200 for c in calls)
    # Each request carried its own call's id as Parent, as before.
    headers = [r.trace_header or "" for r in canned.requests_to("page")[before:]]
    parents = sorted(h.split("Parent=")[1].split(";")[0] for h in headers)
    assert parents == sorted(c["id"] for c in calls)


def test_more_calls_than_a_document_keeps_leave_on_their_own_and_none_is_lost(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    count = MAX_KEPT + 20
    _, trace = invoke(fn, {"url": canned.url, "kind": "calls", "n": count}, count + 1)
    calls = _calls_under(trace, trace.root)
    assert len(calls) == count and len({c["id"] for c in calls}) == count
    # MAX_KEPT in the handler's document, each of the others in a datagram of its own.
    assert len(trace.datagrams) == 1 + count - MAX_KEPT
    assert len(trace.datagrams[-1]["subsegments"]) == MAX_KEPT


def test_big_documents_split_into_datagrams_under_the_limit_and_lose_nothing(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    steps, size = 40, 4_000  # about 170 kB of metadata in all
    _, trace = invoke(
        fn, {"url": canned.url, "kind": "steps", "n": steps, "size": size}, 2 * steps + 1
    )
    assert 3 < len(trace.datagrams) < steps  # several datagrams, far fewer than documents
    for i in range(steps):
        (step,) = trace.named(f"step-{i}")
        assert step["parent_id"] == trace.root["id"]
        assert step["metadata"]["default"]["blob"] == "x" * size  # nothing trimmed
        (call,) = _calls_under(trace, step)
        assert call["http"]["request"]["url"].endswith(f"/page/step-{i}")


def test_a_call_ending_in_a_thread_after_the_handler_returned_is_still_sent(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    response, trace = invoke(fn, {"url": canned.url, "kind": "thread"}, 2)
    assert response == "ok"
    (late,) = [d for d in trace.datagrams if d["name"] == "127.0.0.1"]
    assert late["http"]["response"]["status"] == 200
    assert late["parent_id"] == trace.root["id"] and late["type"] == "subsegment"
    assert late["end_time"] > trace.root["end_time"]  # it ended after its parent was sent
    assert trace.datagrams[0]["name"] == ROOT


def test_a_handler_that_raises_still_sends_its_calls(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    trace_id = new_trace_id()
    outcome = fn.api.invoke(
        {"url": canned.url, "kind": "raise", "n": 3}, trace_id=trace_header(trace_id), timeout=60
    )
    assert outcome.kind == "error" and outcome.json()["errorType"] == "ValueError"
    trace = trace_of(fn.collector, trace_id, 4)
    assert len(trace.datagrams) == 1
    assert trace.root["fault"] is True
    assert len(_calls_under(trace, trace.root)) == 3


def test_concurrent_asyncio_tasks_nest_their_calls_as_before(
    function: tuple[RuntimeFunction, Invoked], canned: CannedServer
) -> None:
    fn, _ = function
    response, trace = invoke(fn, {"url": canned.url, "kind": "tasks", "n": 5}, 11)
    assert response == [200] * 5
    assert len(trace.datagrams) == 1
    tasks = _calls_under(trace, trace.root)
    assert sorted(t["name"] for t in tasks) == [f"task-{i}" for i in range(5)]
    for task in tasks:
        (call,) = _calls_under(trace, task)
        assert call["http"]["request"]["url"].endswith("/page/" + task["name"])
        assert task["start_time"] <= call["start_time"] <= call["end_time"] <= task["end_time"]


@pytest.mark.parametrize("wire_format", ["xray", "otlp"])
@pytest.mark.parametrize(
    "late", [False, True], ids=["hanging-until-killed", "a-call-ends-in-the-margin"]
)
def test_calls_kept_when_the_deadline_nears_are_sent_before_the_process_dies(
    collector: Collector,
    canned: CannedServer,
    tmp_path_factory: pytest.TempPathFactory,
    late: bool,
    wire_format: str,
) -> None:
    """0.5 s before the invocation's deadline the layer's watcher sends what is kept,
    and a call ending after that point is sent at once, with anything kept: a
    function killed at its timeout (here: ``os._exit`` past that point, the handler
    never returning) still reported its calls. The same for OTLP spans (the OTLP
    emitter batches the invocation's spans itself)."""
    env = {"LAMBDA_XRAY_FORMAT": wire_format}
    with _start(collector, tmp_path_factory, env) as fn:
        invoke(fn, {"url": canned.url, "kind": "calls", "n": 1}, 2)  # the cold one
        # One that ends well before its deadline; once that is past, the watcher has
        # nothing to wait for until the next invocation wakes it.
        fn.api.invoke(
            {"url": canned.url, "kind": "calls", "n": 1},
            trace_id=trace_header(new_trace_id()),
            deadline_ms=700,
        )
        time.sleep(0.6)
        trace_id = new_trace_id()
        event = {"url": canned.url, "kind": "killed", "n": 3, "sleep": 1.2, "late": late}
        with pytest.raises(TimeoutError):
            fn.api.invoke(event, trace_id=trace_header(trace_id), timeout=4, deadline_ms=1_600)
        trace = trace_of(collector, trace_id, 4 if late else 3)
        assert not trace.named(ROOT)  # the handler never ended
        urls = sorted(d["http"]["request"]["url"].rsplit("/", 1)[1] for d in trace.datagrams)
        expected = ["early-0", "early-1", "early-2"] + (["late"] if late else [])
        assert urls == expected  # in X-Ray, each on its own
        assert len({d["parent_id"] for d in trace.datagrams}) == 1
