"""``LAMBDA_XRAY_FORMAT=otlp`` under the real Lambda runtime client (awslambdaric).

``python -m awslambdaric lambda_xray.handler.handler`` runs a function whose
calls are real: botocore against the harness's canned HTTP server (DynamoDB
JSON answers), urllib against the same server, the user API, asyncio tasks
and a thread pool. Every datagram the layer sends arrives at a local UDP
receiver and is decoded with the real ``opentelemetry-proto`` classes
(``lx_otlp``); the tests assert what Transaction Search and the trace map
would show: ids, parents, kinds, attributes, status and exception events.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_otlp import DAEMON_LIMIT, Datagram, OtlpReceiver, attrs
from lx_runtime_api import FUNCTION_ARN, LambdaProcess, Outcome, RuntimeApi
from lx_servers import Canned, CannedServer, aws_json_error, aws_json_ok

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
PARENT = "53995c3f42cd8ad8"
SERVER, CLIENT, INTERNAL = 2, 3, 1  # Span.SpanKind
STATUS_ERROR = 2

pytestmark = pytest.mark.timeout(180)

APP = """
import asyncio
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from lambda_xray import annotate, metadata, subsegment


def _ddb(endpoint):
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    ).client("dynamodb", endpoint_url=endpoint, config=config)


def _get(url):
    urllib.request.urlopen(url, timeout=5).read()


async def _task(index, url):
    with subsegment(f"task-{index}"):
        await asyncio.sleep(0.01)
        await asyncio.to_thread(_get, f"{url}/page/{index}")


async def _tasks(url):
    await asyncio.gather(*(_task(i, url) for i in range(3)))


def _pool(url):
    with subsegment("pool"):
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(_get, [f"{url}/page/t{i}" for i in range(3)]))


def handler(event, context):
    do = event["do"]
    url = event["url"]
    if do == "calls":
        _ddb(url + "/ok").get_item(TableName="orders", Key={"pk": {"S": "1"}})
        _get(url + "/page?token=SECRET-42")
        with subsegment("resize"):
            annotate("tenant", "acme")
            metadata("size", {"w": 3, "h": [1, 2.5]})
    elif do == "aws_error":
        _ddb(url + "/missing").get_item(TableName="orders", Key={"pk": {"S": "1"}})
    elif do == "raise":
        raise ValueError("payment failed https://api.example.com/pay?card=4111111111111111")
    elif do == "concurrent":
        asyncio.run(_tasks(url))
        _pool(url)
    elif do == "many":
        ddb = _ddb(url + "/ok")
        for i in range(500):
            ddb.get_item(TableName="orders", Key={"pk": {"S": str(i)}})
        with subsegment("big"):
            annotate("tenant", "acme")
            for i in range(12):
                metadata(f"blob{i}", "x" * 20_000)
    return {}
"""


class Function:
    """One awslambdaric process sending OTLP datagrams to a receiver."""

    def __init__(self, api: RuntimeApi, proc: LambdaProcess, receiver: OtlpReceiver) -> None:
        self.api, self.proc, self.receiver = api, proc, receiver

    def invoke(
        self, event: dict[str, Any], sampled: str = "1"
    ) -> tuple[Outcome, str, list[Datagram]]:
        """Invoke with a fresh trace; the outcome, the X-Ray trace id and the datagrams."""
        self.receiver.take()
        trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
        header = f"Root={trace_id};Parent={PARENT};Sampled={sampled};Lineage=a1b2c3d4:0"
        try:
            outcome = self.api.invoke(event, trace_id=header, timeout=60)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e
        return outcome, trace_id, self.receiver.quiet_for(0.3)


def otlp_id(trace_id: str) -> bytes:
    return bytes.fromhex(trace_id[2:].replace("-", ""))


def the_server_span(spans: list[Any]) -> Any:
    (root,) = [s for s in spans if s.kind == SERVER]
    return root


def spans_of(datagrams: list[Datagram]) -> list[Any]:
    return [span for datagram in datagrams for span in datagram.spans]


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "ok": aws_json_ok({"Item": {"pk": {"S": "1"}}}, "REQ-OK"),
        "missing": aws_json_error(400, "ResourceNotFoundException", "REQ-MISSING"),
        "page": Canned(200, b"hello"),
    }
    with CannedServer(routes) as server:
        yield server


def _function(tmp: pytest.TempPathFactory, **env: str) -> Iterator[Function]:
    root = tmp.mktemp("task")
    (root / "app.py").write_text(APP)
    with OtlpReceiver() as receiver, RuntimeApi() as api:
        environment = {
            "AWS_XRAY_DAEMON_ADDRESS": receiver.address,
            "LAMBDA_XRAY_HANDLER": "app.handler",
            "LAMBDA_XRAY_FORMAT": "otlp",
            **env,
        }
        with LambdaProcess(
            api,
            handler="lambda_xray.handler.handler",
            task_root=root,
            layer_python=LAYER_PYTHON,
            log_path=tmp.mktemp("logs") / "function.log",
            env=environment,
        ) as proc:
            yield Function(api, proc, receiver)


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    yield from _function(tmp_path_factory)


@pytest.fixture(scope="module")
def unsampled_function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    yield from _function(tmp_path_factory, LAMBDA_XRAY_OTLP_UNSAMPLED="true")


# -- one invocation's calls --------------------------------------------------------------


def test_an_invocation_is_one_t1s_datagram_with_a_server_span_and_its_calls(
    function: Function, canned: CannedServer
) -> None:
    outcome, trace_id, datagrams = function.invoke({"do": "calls", "url": canned.url})
    assert outcome.kind == "response"
    assert [d.prefix for d in datagrams] == ["T1S"]  # batched: one datagram per invocation
    (datagram,) = datagrams
    (resource_spans,) = datagram.request.resource_spans
    resource = attrs(resource_spans.resource)
    assert resource["service.name"] == "traced-test"
    assert resource["cloud.provider"] == "aws"
    assert resource["cloud.platform"] == "aws_lambda"
    assert resource["cloud.region"] == "us-east-1"
    assert resource["faas.name"] == "traced-test"
    assert resource["faas.version"] == "$LATEST"
    assert resource["faas.max_memory"] == 128 * 1024 * 1024

    spans = datagram.spans
    assert {s.trace_id for s in spans} == {otlp_id(trace_id)}
    root = the_server_span(spans)
    assert root.name == "app.handler"
    assert root.parent_span_id == bytes.fromhex(PARENT)  # Parent from _X_AMZN_TRACE_ID
    assert attrs(root)["faas.coldstart"] in (True, False)
    assert not root.HasField("status") or root.status.code != STATUS_ERROR
    # The Lambda context's ids, as ADOT records them; on the handler span only.
    assert attrs(root)["faas.invocation_id"] == outcome.request_id
    assert attrs(root)["cloud.resource_id"] == FUNCTION_ARN
    assert attrs(root)["cloud.account.id"] == "000000000000"
    assert all("faas.invocation_id" not in attrs(s) for s in spans if s is not root)

    by_name = {s.name: s for s in spans}
    ddb = by_name["DynamoDB.GetItem"]
    assert ddb.kind == CLIENT and ddb.parent_span_id == root.span_id
    ddb_attrs = attrs(ddb)
    assert ddb_attrs["rpc.system"] == "aws-api"
    assert ddb_attrs["rpc.service"] == "DynamoDB"
    assert ddb_attrs["rpc.method"] == "GetItem"
    assert ddb_attrs["aws.dynamodb.table_names"] == ["orders"]
    assert ddb_attrs["aws.request_id"] == "REQ-OK"
    assert ddb_attrs["cloud.region"] == "eu-west-1"
    assert ddb_attrs["http.response.status_code"] == 200
    # The span id is the one the call propagated downstream.
    (ddb_request,) = canned.requests_to("ok")[-1:]
    assert f"Parent={ddb.span_id.hex()};Sampled=1" in (ddb_request.trace_header or "")

    http = by_name["GET"]
    assert http.kind == CLIENT and http.parent_span_id == root.span_id
    http_attrs = attrs(http)
    assert http_attrs["http.request.method"] == "GET"
    assert http_attrs["url.full"] == f"{canned.url}/page"  # no query string
    assert http_attrs["server.address"] == "127.0.0.1"
    assert http_attrs["server.port"] == canned.port
    assert http_attrs["http.response.status_code"] == 200
    assert b"SECRET-42" not in datagram.request.SerializeToString()

    resize = by_name["resize"]
    assert resize.kind == INTERNAL and resize.parent_span_id == root.span_id
    resize_attrs = attrs(resize)
    assert resize_attrs["tenant"] == "acme"
    assert resize_attrs["aws.xray.annotations"] == ["tenant"]
    assert resize_attrs["lambda_xray.metadata.default.size"] == {"w": 3, "h": [1, 2.5]}
    for span in spans:
        assert span.start_time_unix_nano <= span.end_time_unix_nano
        assert root.start_time_unix_nano <= span.start_time_unix_nano


def test_a_failed_aws_call_is_an_error_span_and_the_handler_a_failed_server_span(
    function: Function, canned: CannedServer
) -> None:
    outcome, _, datagrams = function.invoke({"do": "aws_error", "url": canned.url})
    assert outcome.kind == "error" and outcome.json()["errorType"] == "ResourceNotFoundException"
    spans = spans_of(datagrams)
    root = the_server_span(spans)
    (call,) = [s for s in spans if s.kind == CLIENT]
    assert call.status.code == STATUS_ERROR
    assert attrs(call)["http.response.status_code"] == 400
    assert attrs(call)["aws.request_id"] == "REQ-MISSING"
    (event,) = call.events
    assert event.name == "exception"
    event_attrs = attrs(event)
    assert event_attrs["exception.type"] == "ResourceNotFoundException"
    assert "app.py" in event_attrs["exception.stacktrace"]
    # The same exception left the handler: the server span carries it too.
    assert root.status.code == STATUS_ERROR
    (root_event,) = root.events
    assert attrs(root_event)["exception.type"] == "ResourceNotFoundException"


def test_the_handlers_exception_is_an_event_with_the_redacted_message(
    function: Function, canned: CannedServer
) -> None:
    outcome, _, datagrams = function.invoke({"do": "raise", "url": canned.url})
    assert outcome.kind == "error"
    root = the_server_span(spans_of(datagrams))
    assert root.status.code == STATUS_ERROR
    (event,) = root.events
    event_attrs = attrs(event)
    assert event_attrs["exception.type"] == "ValueError"
    assert event_attrs["exception.message"] == "payment failed https://api.example.com/pay"
    assert 'File "app.py"' in event_attrs["exception.stacktrace"]
    assert b"4111111111111111" not in datagrams[0].request.SerializeToString()


def test_asyncio_tasks_and_threads_parent_their_own_calls(
    function: Function, canned: CannedServer
) -> None:
    outcome, _, datagrams = function.invoke({"do": "concurrent", "url": canned.url})
    assert outcome.kind == "response"
    spans = spans_of(datagrams)
    root = the_server_span(spans)
    by_id = {s.span_id: s for s in spans}
    tasks = {s.name: s for s in spans if s.name.startswith("task-")}
    assert sorted(tasks) == ["task-0", "task-1", "task-2"]
    for name, task in tasks.items():
        assert task.kind == INTERNAL and task.parent_span_id == root.span_id
        (call,) = [s for s in spans if s.parent_span_id == task.span_id]
        assert call.kind == CLIENT
        assert attrs(call)["url.full"].endswith(f"/page/{name[5:]}")
    (pool,) = [s for s in spans if s.name == "pool"]
    pooled = [s for s in spans if s.parent_span_id == pool.span_id]
    assert sorted(attrs(s)["url.full"][-3:] for s in pooled) == ["/t0", "/t1", "/t2"]
    assert all(s.kind == CLIENT for s in pooled)
    assert all(s.parent_span_id in by_id or s is root for s in spans)
    assert len(by_id) == len(spans) == 1 + 3 + 3 + 1 + 3


def test_500_calls_and_large_metadata_fit_datagrams_and_lose_no_span(
    function: Function, canned: CannedServer
) -> None:
    outcome, _, datagrams = function.invoke({"do": "many", "url": canned.url})
    assert outcome.kind == "response"
    assert len(datagrams) > 1  # split
    assert all(d.size < DAEMON_LIMIT for d in datagrams), [d.size for d in datagrams]
    spans = spans_of(datagrams)
    calls = [s for s in spans if s.name == "DynamoDB.GetItem"]
    assert len(calls) == 500 and len({s.span_id for s in calls}) == 500
    (big,) = [s for s in spans if s.name == "big"]
    # 12 x 20 kB of metadata cannot travel in one datagram: the largest entries are
    # dropped and counted, the annotation is kept.
    assert big.dropped_attributes_count > 0
    kept = attrs(big)
    assert kept["tenant"] == "acme"
    assert len([k for k in kept if k.startswith("lambda_xray.metadata.")]) == 12 - (
        big.dropped_attributes_count
    )
    assert the_server_span(spans).parent_span_id == bytes.fromhex(PARENT)
    assert len(spans) == 500 + 1 + 1


# -- sampling -----------------------------------------------------------------------------


def test_an_unsampled_invocation_sends_nothing(function: Function, canned: CannedServer) -> None:
    outcome, _, datagrams = function.invoke({"do": "calls", "url": canned.url}, sampled="0")
    assert outcome.kind == "response"
    assert datagrams == []
    assert "Sampled=0" in (canned.requests_to("ok")[-1].trace_header or "")


def test_the_unsampled_switch_sends_t1u_spans_and_keeps_downstream_unsampled(
    unsampled_function: Function, canned: CannedServer
) -> None:
    outcome, trace_id, datagrams = unsampled_function.invoke(
        {"do": "calls", "url": canned.url}, sampled="0"
    )
    assert outcome.kind == "response"
    assert [d.prefix for d in datagrams] == ["T1U"]
    spans = datagrams[0].spans
    assert {s.trace_id for s in spans} == {otlp_id(trace_id)}
    assert the_server_span(spans).parent_span_id == bytes.fromhex(PARENT)
    assert len(spans) == 4
    header = canned.requests_to("ok")[-1].trace_header or ""
    assert f"Root={trace_id};" in header and "Sampled=0" in header and "Sampled=1" not in header
    # Sampled invocations of the same function still go out as T1S.
    _, _, sampled = unsampled_function.invoke({"do": "calls", "url": canned.url})
    assert [d.prefix for d in sampled] == ["T1S"]
