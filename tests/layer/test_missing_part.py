"""A client library whose patch is in a layer part the function's layer lacks, under awslambdaric.

The planner gives a function the client parts its code ships (``requests``,
``async_http``, ``databases``); a library that arrives some way the code scan
could not see leaves the function on a layer without its patch. Then the
library imports and works as without the layer, and the function's log says
once which part is missing and how to add it. Real parts only: the real
``awslambdaric`` against the test Runtime API server, the layer this checkout
built (assembled and copied read-only as a function gets it), real
``requests`` and ``httpx`` calling a local HTTP server, the documents over real
UDP to the local collector.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_built_layer import read_only_layer, traced_function
from lx_runtime_api import LambdaProcess, RuntimeApi, new_trace_id, trace_documents, trace_header
from lx_servers import Canned, CannedServer

from cdk_lambda_xray.local.collector import Collector

pytestmark = pytest.mark.timeout(180)

# The libraries are imported at module level (in Init), as most functions do.
APP = """
import os

import httpx
import requests

URL = os.environ["TEST_URL"]


def handler(event, context):
    if event["client"] == "requests":
        return requests.get(URL + "/moved", timeout=5).status_code
    with httpx.Client() as client:
        return client.get(URL + "/ok", timeout=5).status_code
"""

UNPATCHED = "is left unpatched"


@pytest.fixture(scope="module")
def server() -> Iterator[CannedServer]:
    moved = Canned(302, b"", {"Location": "/ok", "Content-Length": "0"})
    routes = {"moved": moved, "ok": Canned(200)}
    with CannedServer(routes) as s:
        yield s


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    return root


def _call(api: RuntimeApi, proc: LambdaProcess, client: str) -> str:
    trace_id = new_trace_id()
    outcome = api.invoke({"client": client}, trace_id=trace_header(trace_id), timeout=30)
    assert outcome.kind == "response", proc.log()[-3000:]
    assert outcome.json() == 200
    return trace_id


def _remote(docs: list[dict[str, object]]) -> list[str]:
    return sorted(str(d["name"]) for d in docs if d.get("namespace") == "remote")


def test_without_their_parts_the_libraries_work_and_the_log_says_once_what_to_add(
    task_root: Path, server: CannedServer, collector: Collector, tmp_path: Path
) -> None:
    layer = read_only_layer(set(), tmp_path / "opt")
    with traced_function(
        layer, task_root, collector, tmp_path / "log", {"TEST_URL": server.url}
    ) as (api, proc):
        first = _call(api, proc, "requests")
        _call(api, proc, "httpx")
        _call(api, proc, "requests")
        # requests sits on urllib3, patched in the core: each hop of the redirect is a call.
        docs = trace_documents(collector, first, 3, log=proc.log, timeout=10, settle=0.1)
        assert _remote(docs) == ["127.0.0.1", "127.0.0.1"]
        log = proc.log()
    said = [line for line in log.splitlines() if UNPATCHED in line]
    assert len(said) == 2, log[-3000:]
    requests_line, httpx_line = sorted(said, key=lambda line: "httpx" in line)
    assert "requests is left unpatched" in requests_line
    assert "in the layer part 'requests'" in requests_line
    assert "httpx is left unpatched" in httpx_line
    assert "in the layer part 'async_http'" in httpx_line
    for line in said:
        assert "add the layer part that holds lambda_xray.patches." in line
        assert "to layer_parts on the function's construct" in line
    assert "Traceback" not in log and "patching it failed" not in log


def test_with_its_part_requests_is_patched_and_nothing_is_said(
    task_root: Path, server: CannedServer, collector: Collector, tmp_path: Path
) -> None:
    layer = read_only_layer({"requests"}, tmp_path / "opt")
    with traced_function(
        layer, task_root, collector, tmp_path / "log", {"TEST_URL": server.url}
    ) as (api, proc):
        trace_id = _call(api, proc, "requests")
        docs = trace_documents(collector, trace_id, 2, log=proc.log, timeout=10, settle=0.2)
        # One call, redirect included, in the one subsegment of the requests patch.
        assert _remote(docs) == ["127.0.0.1"]
        (call,) = [d for d in docs if d.get("namespace") == "remote"]
        assert call["http"]["request"]["url"].endswith("/moved")  # type: ignore[index]
        log = proc.log()
    assert [line for line in log.splitlines() if "requests is left unpatched" in line] == []
