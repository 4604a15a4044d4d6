"""The aiobotocore patch in-process: real aiobotocore clients over real HTTP on 127.0.0.1.

AWS answers come from the canned-response server of the harness (real AWS
JSON error bodies that aiobotocore parses as AWS's own) or a closed port;
documents are taken with the layer's ``InMemoryEmitter`` and validated
against AWS's schema. The calls against MiniStack, under the real
awslambdaric, are in test_async_clients_runtime.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_servers import Canned, CannedServer, aws_json_error, aws_json_ok, closed_port

from lambda_xray import api, testing
from lambda_xray.context_missing import ContextMissingError
from lambda_xray.testing import InMemoryEmitter

pytestmark = pytest.mark.timeout(60)

DocumentCheck = Callable[[list[dict[str, Any]]], None]
Call = Callable[[Any], Coroutine[Any, Any, Any]]


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "ok": aws_json_ok({"TableNames": []}, "REQ-OK"),
        "flaky": [
            aws_json_error(500, "InternalServerError", "REQ-F1"),
            aws_json_ok({"TableNames": []}, "REQ-F2"),
        ],
        "notfound": aws_json_error(400, "ResourceNotFoundException", "REQ-404"),
        "slowdown": aws_json_error(400, "ThrottlingException", "REQ-T"),
        "e500": aws_json_error(500, "InternalServerError", "REQ-500"),
    }
    with CannedServer(routes) as server:
        yield server


def run(endpoint: str, call: Call, *, service: str = "dynamodb", attempts: int = 1) -> Any:
    """Await ``call(client)`` with an aiobotocore client of ``endpoint``: its result or error."""

    async def main() -> Any:
        session = get_session()
        config = Config(
            retries={"total_max_attempts": attempts, "mode": "standard"}, connect_timeout=2
        )
        async with session.create_client(
            service,
            region_name="eu-west-1",
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=config,
        ) as client:
            try:
                return await call(client)
            except Exception as exc:
                return exc

    return asyncio.run(main())


def only_aws(xray: InMemoryEmitter) -> dict[str, Any]:
    (doc,) = [d for d in xray.documents if d.get("namespace") == "aws"]
    return doc


def list_tables(client: Any) -> Any:
    return client.list_tables()


def test_a_call_is_the_botocore_subsegment_with_resource_but_no_payload(
    xray: InMemoryEmitter, canned: CannedServer, assert_valid: DocumentCheck
) -> None:
    item = {"pk": {"S": "customer-7"}}
    with testing.invocation():
        run(canned.url + "/ok", lambda c: c.put_item(TableName="orders", Item=item))
    assert_valid(xray.documents)
    doc = only_aws(xray)  # the aiohttp request below it is not recorded again
    assert [d["name"] for d in xray.documents] == ["DynamoDB", "## test"]
    assert doc["aws"] == {
        "operation": "PutItem",
        "region": "eu-west-1",
        "table_name": "orders",
        "request_id": "REQ-OK",
        "retries": 0,
    }
    assert doc["http"] == {"response": {"status": 200}}
    assert "customer-7" not in str(doc)


def test_each_attempt_carries_the_header_of_the_one_subsegment(
    xray: InMemoryEmitter, canned: CannedServer
) -> None:
    header = testing.trace_header(lineage="a87bd80c:0")
    with testing.invocation(header=header):
        run(canned.url + "/flaky", list_tables, attempts=2)
    doc = only_aws(xray)
    assert doc["aws"]["retries"] == 1 and doc["aws"]["request_id"] == "REQ-F2"
    root = header.split(";")[0]
    expected = f"{root};Parent={doc['id']};Sampled=1;Lineage=a87bd80c:0"
    assert [r.trace_header for r in canned.requests_to("flaky")] == [expected, expected]


@pytest.mark.parametrize(
    ("route", "error_type", "flags", "status"),
    [
        ("notfound", "ResourceNotFoundException", {"error": True}, 400),
        ("slowdown", "ThrottlingException", {"error": True, "throttle": True}, 400),
        ("e500", "InternalServerError", {"fault": True}, 500),
    ],
)
def test_error_responses_set_flags_and_a_remote_cause(
    xray: InMemoryEmitter,
    canned: CannedServer,
    assert_valid: DocumentCheck,
    route: str,
    error_type: str,
    flags: dict[str, bool],
    status: int,
) -> None:
    with testing.invocation():
        exc = run(canned.url + "/" + route, list_tables)
    assert type(exc).__name__ == error_type  # reached the function unchanged
    assert_valid(xray.documents)
    doc = only_aws(xray)
    assert {k: doc[k] for k in ("error", "throttle", "fault") if k in doc} == flags
    assert doc["http"]["response"]["status"] == status
    assert doc["cause"]["exceptions"][0]["type"] == error_type
    assert doc["cause"]["exceptions"][0]["remote"] is True


def test_connection_refused_is_a_fault_with_its_cause(xray: InMemoryEmitter) -> None:
    with testing.invocation():
        exc = run(f"http://127.0.0.1:{closed_port()}", list_tables)
    assert "EndpointConnectionError" in type(exc).__name__
    doc = only_aws(xray)
    assert doc["fault"] is True and "response" not in doc.get("http", {})
    assert doc["cause"]["exceptions"][0]["type"] == type(exc).__name__


def test_unsampled_call_records_nothing_and_sends_sampled_0(
    xray: InMemoryEmitter, canned: CannedServer
) -> None:
    header = testing.trace_header(sampled=False)
    before = len(canned.requests_to("ok"))
    with testing.invocation(header=header):
        run(canned.url + "/ok", list_tables)
    assert xray.documents == []
    received = canned.requests_to("ok")[before:]
    assert [r.trace_header for r in received] == [f"{header.split(';')[0]};Sampled=0"]


def test_xray_api_calls_are_not_traced_at_any_layer(
    xray: InMemoryEmitter, canned: CannedServer
) -> None:
    with testing.invocation():
        run(
            f"http://127.0.0.1:{closed_port()}",
            lambda c: c.put_trace_segments(TraceSegmentDocuments=["{}"]),
            service="xray",
        )
    assert [d["name"] for d in xray.documents] == ["## test"]


@pytest.mark.parametrize("sampled", [True, False])
def test_xray_api_calls_carry_no_trace_header_sampled_or_not(
    xray: InMemoryEmitter, canned: CannedServer, sampled: bool
) -> None:
    before = len(canned.requests_to("ok"))
    with testing.invocation(header=testing.trace_header(sampled=sampled)):
        run(canned.url + "/ok", lambda c: c.get_sampling_rules(), service="xray")
    received = canned.requests_to("ok")[before:]
    assert received and [r.trace_header for r in received] == [None] * len(received)
    assert [d["name"] for d in xray.documents] == (["## test"] if sampled else [])


def test_concurrent_tasks_get_one_subsegment_each_under_their_caller(
    xray: InMemoryEmitter, canned: CannedServer, assert_valid: DocumentCheck
) -> None:
    header = testing.trace_header()

    async def gathered(client: Any) -> None:
        async def one(table: str) -> None:
            async with api.subsegment("load " + table):
                await client.get_item(TableName=table, Key={"pk": {"S": "k"}})

        await asyncio.gather(*(one(f"table-{i}") for i in range(8)))

    before = len(canned.requests_to("ok"))
    with testing.invocation(header=header):
        run(canned.url + "/ok", gathered)
    assert_valid(xray.documents)
    calls = [d for d in xray.documents if d.get("namespace") == "aws"]
    assert len(calls) == 8
    by_id = {d["id"]: d for d in xray.documents}
    for call in calls:
        parent = by_id[call["parent_id"]]
        assert parent["name"] == "load " + call["aws"]["table_name"]
        assert parent["start_time"] <= call["start_time"] <= call["end_time"] <= parent["end_time"]
    sent = {r.trace_header for r in canned.requests_to("ok")[before:]}
    root = header.split(";")[0]
    assert sent == {f"{root};Parent={c['id']};Sampled=1" for c in calls}


def test_runtime_error_mode_raises_before_anything_is_sent(
    xray: InMemoryEmitter, canned: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with testing.invocation():  # Init is over: a call outside an invocation is context missing
        pass
    before = len(canned.requests_to("ok"))
    assert isinstance(run(canned.url + "/ok", list_tables), ContextMissingError)
    assert len(canned.requests_to("ok")) == before
