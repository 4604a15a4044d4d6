"""aiobotocore, httpx and aiohttp under the real Lambda runtime client, end to end.

Real parts only: ``python -m awslambdaric lambda_xray.handler.handler`` runs
an async function (``asyncio.run`` in its handler, as Lambda Python functions
do) against a Runtime API server in this process. Its AWS calls go through
aiobotocore to MiniStack (the local AWS emulator) from concurrent asyncio
tasks; its HTTP calls go through httpx and aiohttp to a canned-response
server on 127.0.0.1 that records the ``X-Amzn-Trace-Id`` each request
carried. Documents arrive over UDP at a local collector and are validated
against AWS's segment document schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_dbfunction import RuntimeFunction
from lx_runtime_api import new_trace_id
from lx_servers import Canned, CannedServer

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.emulator import MiniStack

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
TABLE = "async-table"
TASKS = 5

pytestmark = pytest.mark.timeout(180)

APP = """
import asyncio
import os

import aiohttp
import httpx
from aiobotocore.session import get_session

from lambda_xray import subsegment

_kept = []  # responses the function never reads


async def _put(client, i):
    async with subsegment(f"task-{i}"):
        response = await client.put_item(
            TableName=os.environ["TABLE"], Item={"pk": {"S": f"user-{i}"}}
        )
        return response["ResponseMetadata"]["RequestId"]


async def _aws(event):
    session = get_session()
    async with session.create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=event["aws"]
    ) as client:
        return await asyncio.gather(*(_put(client, i) for i in range(event["tasks"])))


async def _http(event):
    base = event["http"]
    statuses = []
    async with httpx.AsyncClient(timeout=5) as client:
        statuses.append((await client.get(f"{base}/page/httpx-async?token=s3cr3t")).status_code)
        if event.get("never_read"):
            request = client.build_request("GET", f"{base}/page/never-read")
            _kept.append(await client.send(request, stream=True))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/page/aiohttp") as response:
            await response.read()
            statuses.append(response.status)
    with httpx.Client(timeout=5) as client:
        statuses.append(client.get(f"{base}/missing/httpx").status_code)
    return statuses


async def _main(event):
    out = {}
    if "aws" in event:
        out["request_ids"] = await _aws(event)
    if "http" in event:
        out["statuses"] = await _http(event)
    return out


def handler(event, context):
    return asyncio.run(_main(event))
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniStack]:
    log = tmp_path_factory.mktemp("ministack") / "ministack.log"
    with MiniStack(log, timeout=60) as ms:
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        session.client("dynamodb", endpoint_url=ms.endpoint_url).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ms


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "page": Canned(200, b"hello"),
        "missing": Canned(404, b"no"),
    }
    with CannedServer(routes) as server:
        yield server


@pytest.fixture(scope="module")
def function(
    emulator: MiniStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RuntimeFunction]:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    log = tmp_path_factory.mktemp("logs") / "async.log"
    with (
        Collector() as collector,
        RuntimeFunction(collector, root, log, LAYER_PYTHON, {"TABLE": TABLE}) as fn,
    ):
        yield fn


def test_concurrent_aiobotocore_calls_on_the_emulator_nest_under_their_tasks(
    function: RuntimeFunction, emulator: MiniStack
) -> None:
    trace_id = new_trace_id()
    header = f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=1"
    result = function.invoke({"aws": emulator.endpoint_url, "tasks": TASKS}, header)
    docs = function.docs(trace_id, 1 + 2 * TASKS)
    assert len(docs) == 1 + 2 * TASKS  # nothing recorded twice (aiohttp below aiobotocore)
    (root,) = [d for d in docs if d["name"] == "## app.handler"]
    tasks = {d["id"]: d for d in docs if d["name"].startswith("task-")}
    calls = [d for d in docs if d.get("namespace") == "aws"]
    assert len(tasks) == len(calls) == TASKS
    assert sorted(c["aws"]["request_id"] for c in calls) == sorted(result["request_ids"])
    for call in calls:
        task = tasks[call["parent_id"]]
        assert task["parent_id"] == root["id"]
        assert call["name"] == "DynamoDB"
        assert call["aws"]["operation"] == "PutItem"
        assert call["aws"]["table_name"] == TABLE
        assert call["aws"]["region"] == "us-east-1"
        assert call["http"]["response"]["status"] == 200
        assert task["start_time"] <= call["start_time"] <= call["end_time"] <= task["end_time"]
    # the tasks really ran concurrently: each started before the first call ended
    first_end = min(c["end_time"] for c in calls)
    assert all(t["start_time"] <= first_end for t in tasks.values())
    assert "user-" not in json.dumps(docs)  # item keys are never recorded


def test_http_clients_send_one_subsegment_each_with_the_header_the_server_got(
    function: RuntimeFunction, canned: CannedServer
) -> None:
    trace_id = new_trace_id()
    header = f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0"
    result = function.invoke({"http": canned.url, "never_read": True}, header)
    assert result["statuses"] == [200, 200, 404]
    docs = function.docs(trace_id, 5)
    assert len(docs) == 5
    (root,) = [d for d in docs if d["name"] == "## app.handler"]
    calls = {d["http"]["request"]["url"].removeprefix(canned.url): d for d in docs if d is not root}
    assert set(calls) == {
        "/page/httpx-async",
        "/page/never-read",
        "/page/aiohttp",
        "/missing/httpx",
    }
    for path, call in calls.items():
        assert call["namespace"] == "remote" and call["name"] == "127.0.0.1"
        assert call["parent_id"] == root["id"]
        (received,) = [
            r
            for r in canned.received
            if trace_id in (r.trace_header or "") and r.path.split("?")[0] == path
        ]
        assert received.trace_header == (
            f"Root={trace_id};Parent={call['id']};Sampled=1;Lineage=a87bd80c:0"
        )
    assert calls["/missing/httpx"]["error"] is True
    assert calls["/page/never-read"]["http"]["response"]["status"] == 200
    assert calls["/page/never-read"]["end_time"] <= root["end_time"]
    assert "s3cr3t" not in json.dumps(docs)


def test_unsampled_invocation_sends_nothing_and_forwards_sampled_0(
    function: RuntimeFunction, canned: CannedServer, emulator: MiniStack
) -> None:
    trace_id = new_trace_id()
    header = f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=0"
    function.invoke({"http": canned.url, "aws": emulator.endpoint_url, "tasks": 2}, header)
    assert function.nothing_sent(trace_id)
    sent = [r.trace_header for r in canned.received if trace_id in (r.trace_header or "")]
    assert sent == [f"Root={trace_id};Sampled=0"] * 3
