"""The layer under the real Lambda runtime client (awslambdaric), end to end.

Real parts only: ``python -m awslambdaric lambda_xray.handler.handler`` runs
against a Runtime API server in this process, with the layer on
``PYTHONPATH`` as ``/opt/python`` would put it and the function's own code in
a task root. AWS calls go over HTTP to MiniStack (the local AWS emulator) and,
for the error classes, real botocore is pointed (``endpoint_url``) at a
canned-response HTTP server or at a closed port. What the layer sends goes
over UDP to a local collector; every document is validated against AWS's
segment document schema.

One runtime process serves most tests (warm invocations); the daemon failure
cases get a process each, started in parallel with it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_runtime_api import (
    LambdaProcess,
    Outcome,
    RuntimeApi,
    new_trace_id,
    nothing_sent,
    trace_documents,
)
from lx_schema import validate_subsegment
from lx_servers import Canned, CannedServer, aws_json_error, aws_json_ok, closed_port

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.emulator import MiniStack

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
TABLE = "traced-table"
BUCKET = "traced-bucket"

pytestmark = pytest.mark.timeout(120)

# The function under test: runs the steps the event lists and reports what it got.
APP = """
import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

_clients = {}


def _client(service, endpoint, attempts):
    key = (service, endpoint, attempts)
    if key not in _clients:
        config = Config(
            retries={"total_max_attempts": attempts, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        )
        _clients[key] = boto3.client(service, endpoint_url=endpoint, config=config)
    return _clients[key]


def _aws(step):
    client = _client(step["service"], step["endpoint"], step.get("attempts", 1))
    try:
        response = getattr(client, step["op"])(**step.get("params", {}))
    except Exception as e:
        got = getattr(e, "response", None) or {}
        return {
            "error": type(e).__name__,
            "code": got.get("Error", {}).get("Code"),
            "request_id": got.get("ResponseMetadata", {}).get("RequestId"),
        }
    meta = response["ResponseMetadata"]
    return {"status": meta["HTTPStatusCode"], "request_id": meta.get("RequestId"),
            "retries": meta.get("RetryAttempts")}


def _http(step):
    url = step["url"]
    try:
        if step["lib"] == "urllib":
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return {"status": r.status}
            except urllib.error.HTTPError as e:
                return {"status": e.code}
        if step["lib"] == "requests":
            import requests

            return {"status": requests.get(url, timeout=5).status_code}
        if step["lib"] == "urllib3":
            import urllib3

            return {"status": urllib3.PoolManager().request("GET", url, retries=False).status}
    except Exception as e:
        return {"error": type(e).__name__}
    raise ValueError(step["lib"])


def handler(event, context):
    out = [_aws(s) if s["kind"] == "aws" else _http(s) for s in event.get("steps", [])]
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {"steps": out}
"""


def header(trace_id: str, rest: str = ";Parent=53995c3f42cd8ad8;Sampled=1") -> str:
    return f"Root={trace_id}{rest}"


# -- shared infrastructure ---------------------------------------------------------


class Function:
    """One awslambdaric process and its Runtime API, with the collector it sends to."""

    def __init__(self, api: RuntimeApi, proc: LambdaProcess, collector: Collector) -> None:
        self.api = api
        self.proc = proc
        self.collector = collector

    def invoke(self, event: Any, trace: str | None) -> Outcome:
        try:
            return self.api.invoke(event, trace_id=trace, timeout=30)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e

    def docs(self, trace_id: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Wait for ``count`` documents of ``trace_id``; validate every one."""
        got = trace_documents(
            self.collector, trace_id, count, log=self.proc.log, timeout=timeout, settle=0.05
        )
        for doc in got:
            validate_subsegment(doc)
        return got

    def nothing_sent(self, trace_id: str) -> bool:
        """True if no document of ``trace_id`` arrived (see :func:`lx_runtime_api.nothing_sent`)."""
        return nothing_sent(self, trace_id)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniStack]:
    log = tmp_path_factory.mktemp("ministack") / "ministack.log"
    with MiniStack(log, timeout=60) as ms:
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        ddb = session.client("dynamodb", endpoint_url=ms.endpoint_url)
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        session.client("s3", endpoint_url=ms.endpoint_url).create_bucket(Bucket=BUCKET)
        yield ms


CANNED_ROUTES: dict[str, Canned | list[Canned]] = {
    "ok": aws_json_ok({"TableNames": ["canned"]}, "REQ-OK"),
    "notfound": aws_json_error(400, "ResourceNotFoundException", "REQ-400"),
    "throttle429": aws_json_error(429, "ThrottlingException", "REQ-429"),
    "throttle400": aws_json_error(400, "ProvisionedThroughputExceededException", "REQ-PTE"),
    "e500": aws_json_error(500, "InternalServerError", "REQ-500"),
    "flaky": [
        aws_json_error(500, "InternalServerError", "REQ-FLAKY-1"),
        aws_json_ok({"TableNames": []}, "REQ-FLAKY-2"),
    ],
    "page": Canned(200, b"hello"),
    "gone": Canned(404, b"gone"),
    "broken": Canned(503, b"down"),
}


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with CannedServer(CANNED_ROUTES) as server:
        yield server


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    return root


def _start(
    stack: Any, root: Path, logs: Path, name: str, daemon: str
) -> tuple[RuntimeApi, LambdaProcess]:
    api = stack.enter_context(RuntimeApi())
    proc = stack.enter_context(
        LambdaProcess(
            api,
            handler="lambda_xray.handler.handler",
            task_root=root,
            layer_python=LAYER_PYTHON,
            log_path=logs / f"{name}.log",
            env={"AWS_XRAY_DAEMON_ADDRESS": daemon, "LAMBDA_XRAY_HANDLER": "app.handler"},
        )
    )
    return api, proc


@pytest.fixture(scope="module")
def functions(
    collector: Collector, task_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Function]]:
    """Three runtimes: the main one, one whose daemon is unreachable, one with a bad address."""
    import contextlib

    logs = tmp_path_factory.mktemp("logs")
    with contextlib.ExitStack() as stack:
        made = {
            "main": _start(stack, task_root, logs, "main", collector.address),
            "unreachable": _start(
                stack, task_root, logs, "unreachable", f"127.0.0.1:{closed_port()}"
            ),
            "bad": _start(stack, task_root, logs, "bad", "udp:nowhere:not-a-port"),
        }
        yield {k: Function(api, proc, collector) for k, (api, proc) in made.items()}


@pytest.fixture(scope="module")
def cold(functions: dict[str, Function]) -> list[dict[str, Any]]:
    """The main runtime's first (cold) invocation and its documents."""
    trace_id = new_trace_id()
    outcome = functions["main"].invoke({}, header(trace_id))
    assert outcome.kind == "response"
    return functions["main"].docs(trace_id, 1)


@pytest.fixture
def main(functions: dict[str, Function], cold: list[dict[str, Any]]) -> Function:
    return functions["main"]


def aws_step(endpoint: str, op: str = "list_tables", **params: Any) -> dict[str, Any]:
    return {"kind": "aws", "service": "dynamodb", "endpoint": endpoint, "op": op, "params": params}


def by_name(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["name"] == name]


def root_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (root,) = [d for d in docs if d["name"] == "## app.handler"]
    return root


# -- cold and warm -------------------------------------------------------------------


def test_first_invocation_is_cold_and_parented_on_the_lambda_segment(
    cold: list[dict[str, Any]],
) -> None:
    (root,) = cold
    assert root["name"] == "## app.handler"
    assert root["parent_id"] == "53995c3f42cd8ad8"
    assert root["annotations"]["ColdStart"] is True


def test_later_invocations_are_warm(main: Function) -> None:
    trace_id = new_trace_id()
    main.invoke({}, header(trace_id))
    (root,) = main.docs(trace_id, 1)
    assert root["annotations"]["ColdStart"] is False


# -- AWS calls against the emulator ---------------------------------------------------


def test_dynamodb_calls_on_the_emulator_become_aws_subsegments(
    main: Function, emulator: MiniStack
) -> None:
    trace_id = new_trace_id()
    event = {
        "steps": [
            aws_step(emulator.endpoint_url),
            aws_step(emulator.endpoint_url, "put_item", TableName=TABLE, Item={"pk": {"S": "u-1"}}),
        ]
    }
    outcome = main.invoke(event, header(trace_id))
    listed, put = outcome.json()["steps"]
    docs = main.docs(trace_id, 3)
    root = root_of(docs)
    calls = sorted(by_name(docs, "DynamoDB"), key=lambda d: d["start_time"])
    assert [c["aws"]["operation"] for c in calls] == ["ListTables", "PutItem"]
    for call, result in zip(calls, (listed, put), strict=True):
        assert call["namespace"] == "aws"
        assert call["parent_id"] == root["id"]
        assert call["aws"]["region"] == "us-east-1"
        assert call["aws"]["request_id"] == result["request_id"]
        assert call["http"]["response"]["status"] == 200
        assert not ({"error", "fault", "throttle"} & call.keys())
        assert root["start_time"] <= call["start_time"] <= call["end_time"] <= root["end_time"]
    assert calls[1]["aws"]["table_name"] == TABLE
    assert "u-1" not in json.dumps(docs)  # item keys and values are never recorded


def test_s3_put_object_records_the_bucket_but_not_the_key(
    main: Function, emulator: MiniStack
) -> None:
    trace_id = new_trace_id()
    step = {
        "kind": "aws",
        "service": "s3",
        "endpoint": emulator.endpoint_url,
        "op": "put_object",
        "params": {"Bucket": BUCKET, "Key": "private/user-42.txt", "Body": "secret body"},
    }
    outcome = main.invoke({"steps": [step]}, header(trace_id))
    assert outcome.json()["steps"][0]["status"] == 200
    (call,) = by_name(main.docs(trace_id, 2), "S3")
    assert call["aws"]["operation"] == "PutObject"
    assert call["aws"]["bucket_name"] == BUCKET
    assert "user-42" not in json.dumps(call)
    assert "secret body" not in json.dumps(call)


def test_aws_call_carries_a_header_naming_its_subsegment(
    main: Function, canned: CannedServer
) -> None:
    trace_id = new_trace_id()
    main.invoke(
        {"steps": [aws_step(canned.url + "/ok")]},
        header(trace_id, ";Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0"),
    )
    (call,) = by_name(main.docs(trace_id, 2), "DynamoDB")
    (received,) = [r for r in canned.requests_to("ok") if trace_id in (r.trace_header or "")]
    assert received.trace_header == (
        f"Root={trace_id};Parent={call['id']};Sampled=1;Lineage=a87bd80c:0"
    )


# -- AWS error classes -------------------------------------------------------------------


def _one_aws_call(main: Function, endpoint: str, **step: Any) -> tuple[dict[str, Any], Any]:
    trace_id = new_trace_id()
    outcome = main.invoke({"steps": [{**aws_step(endpoint), **step}]}, header(trace_id))
    assert outcome.kind == "response"  # the function handled the error itself
    (call,) = by_name(main.docs(trace_id, 2), "DynamoDB")
    return call, outcome.json()["steps"][0]


def test_4xx_is_an_error_not_a_fault(main: Function, canned: CannedServer) -> None:
    call, result = _one_aws_call(main, canned.url + "/notfound")
    assert result == {
        "error": "ResourceNotFoundException",
        "code": "ResourceNotFoundException",
        "request_id": "REQ-400",
    }
    assert call["error"] is True
    assert "fault" not in call and "throttle" not in call
    assert call["http"]["response"]["status"] == 400
    assert call["aws"]["request_id"] == "REQ-400"
    (exc,) = call["cause"]["exceptions"]
    assert exc["type"] == "ResourceNotFoundException"
    assert exc["remote"] is True


def test_429_is_throttle_and_error(main: Function, canned: CannedServer) -> None:
    call, result = _one_aws_call(main, canned.url + "/throttle429")
    assert result["code"] == "ThrottlingException"
    assert call["throttle"] is True and call["error"] is True
    assert "fault" not in call
    assert call["http"]["response"]["status"] == 429


def test_throttling_error_code_with_400_is_throttle_and_error(
    main: Function, canned: CannedServer
) -> None:
    call, result = _one_aws_call(main, canned.url + "/throttle400")
    assert result["code"] == "ProvisionedThroughputExceededException"
    assert call["throttle"] is True and call["error"] is True
    assert "fault" not in call


def test_5xx_is_a_fault(main: Function, canned: CannedServer) -> None:
    call, result = _one_aws_call(main, canned.url + "/e500")
    assert result["code"] == "InternalServerError"
    assert call["fault"] is True
    assert "error" not in call and "throttle" not in call
    assert call["http"]["response"]["status"] == 500


def test_connection_refused_is_a_fault_with_its_cause(main: Function) -> None:
    call, result = _one_aws_call(main, f"http://127.0.0.1:{closed_port()}")
    assert result["error"] == "EndpointConnectionError"
    assert call["fault"] is True
    assert "response" not in call.get("http", {})
    exc = call["cause"]["exceptions"][0]  # then the urllib3 errors it was raised from
    assert exc["type"] == "EndpointConnectionError"
    assert not exc.get("remote")


def test_retries_are_counted_in_one_subsegment(main: Function, canned: CannedServer) -> None:
    call, result = _one_aws_call(main, canned.url + "/flaky", attempts=2)
    assert result["status"] == 200 and result["retries"] == 1
    assert call["aws"]["retries"] == 1
    assert call["http"]["response"]["status"] == 200
    assert "fault" not in call


# -- HTTP clients ---------------------------------------------------------------------------


@pytest.mark.parametrize("lib", ["urllib", "requests", "urllib3"])
def test_http_call_is_one_remote_subsegment_with_clean_url(
    main: Function, canned: CannedServer, lib: str
) -> None:
    trace_id = new_trace_id()
    url = f"http://127.0.0.1:{canned.port}/page/{lib}?token=s3cr3t"
    outcome = main.invoke({"steps": [{"kind": "http", "lib": lib, "url": url}]}, header(trace_id))
    assert outcome.json()["steps"] == [{"status": 200}]
    docs = main.docs(trace_id, 2)
    (call,) = [d for d in docs if d.get("namespace") == "remote"]  # exactly one, no doubles
    assert call["name"] == "127.0.0.1"
    assert call["parent_id"] == root_of(docs)["id"]
    assert call["http"]["request"] == {
        "method": "GET",
        "url": f"http://127.0.0.1:{canned.port}/page/{lib}",
    }
    assert call["http"]["response"]["status"] == 200
    assert "s3cr3t" not in json.dumps(docs)
    (received,) = [r for r in canned.requests_to("page") if r.path.startswith(f"/page/{lib}?")]
    assert received.trace_header == f"Root={trace_id};Parent={call['id']};Sampled=1"


@pytest.mark.parametrize(("route", "flag"), [("gone", "error"), ("broken", "fault")])
def test_http_error_status_sets_the_flag(
    main: Function, canned: CannedServer, route: str, flag: str
) -> None:
    trace_id = new_trace_id()
    url = f"{canned.url}/{route}"
    step = {"kind": "http", "lib": "urllib", "url": url}
    outcome = main.invoke({"steps": [step]}, header(trace_id))
    assert outcome.json()["steps"] == [{"status": 404 if route == "gone" else 503}]
    (call,) = by_name(main.docs(trace_id, 2), "127.0.0.1")
    assert call[flag] is True


def test_http_connection_refused_is_a_fault(main: Function) -> None:
    trace_id = new_trace_id()
    url = f"http://127.0.0.1:{closed_port()}/x"
    step = {"kind": "http", "lib": "requests", "url": url}
    outcome = main.invoke({"steps": [step]}, header(trace_id))
    assert outcome.json()["steps"] == [{"error": "ConnectionError"}]
    (call,) = by_name(main.docs(trace_id, 2), "127.0.0.1")
    assert call["fault"] is True
    assert call["cause"]["exceptions"][0]["type"] == "ConnectionError"


# -- handler exception ----------------------------------------------------------------------


def test_handler_exception_reaches_the_runtime_unchanged(main: Function) -> None:
    trace_id = new_trace_id()
    outcome = main.invoke({"fail": "requested failure"}, header(trace_id))
    assert outcome.kind == "error"
    body = outcome.json()
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "requested failure"
    assert "app.py" in body["stackTrace"][-1]
    root = root_of(main.docs(trace_id, 1))
    assert root["fault"] is True
    assert root["cause"]["exceptions"][0]["type"] == "ValueError"


# -- trace header variants -------------------------------------------------------------------


def _http_header_seen(main: Function, canned: CannedServer, trace: str | None) -> str | None:
    marker = os.urandom(6).hex()
    url = f"{canned.url}/page/{marker}"
    outcome = main.invoke({"steps": [{"kind": "http", "lib": "urllib", "url": url}]}, trace)
    assert outcome.json()["steps"] == [{"status": 200}]
    (received,) = [r for r in canned.requests_to("page") if marker in r.path]
    return received.trace_header


def test_sampled_0_sends_nothing_and_propagates_sampled_0(
    main: Function, canned: CannedServer
) -> None:
    trace_id = new_trace_id()
    seen = _http_header_seen(main, canned, header(trace_id, ";Parent=53995c3f42cd8ad8;Sampled=0"))
    assert seen is not None
    assert seen.startswith(f"Root={trace_id};") and "Sampled=0" in seen
    assert main.nothing_sent(trace_id)


def test_pass_through_header_is_forwarded_as_received(main: Function, canned: CannedServer) -> None:
    trace_id = new_trace_id()
    received = f"Root={trace_id};Lineage=a87bd80c:0"
    assert _http_header_seen(main, canned, received) == received
    assert main.nothing_sent(trace_id)


def test_missing_header_sends_nothing_and_adds_no_header(
    main: Function, canned: CannedServer, collector: Collector
) -> None:
    before = len(collector.documents)
    assert _http_header_seen(main, canned, None) is None
    sentinel = new_trace_id()
    main.invoke({}, header(sentinel))
    main.docs(sentinel, 1)
    assert [d["trace_id"] for d in collector.documents[before:]] == [sentinel]


def test_lineage_and_unknown_fields_are_forwarded_in_order(
    main: Function, canned: CannedServer
) -> None:
    trace_id = new_trace_id()
    rest = ";Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0;Foo=bar"
    seen = _http_header_seen(main, canned, header(trace_id, rest))
    (call,) = by_name(main.docs(trace_id, 2), "127.0.0.1")
    assert seen == f"Root={trace_id};Parent={call['id']};Sampled=1;Lineage=a87bd80c:0;Foo=bar"


# -- daemon trouble never changes the function's result ----------------------------------------


def _mixed_event(canned: CannedServer) -> dict[str, Any]:
    return {
        "steps": [
            aws_step(canned.url + "/ok"),
            aws_step(canned.url + "/notfound"),
            {"kind": "http", "lib": "urllib", "url": f"{canned.url}/page/d"},
        ]
    }


@pytest.mark.parametrize("which", ["unreachable", "bad"])
def test_daemon_trouble_leaves_the_result_unchanged(
    functions: dict[str, Function], canned: CannedServer, main: Function, which: str
) -> None:
    event = _mixed_event(canned)
    expected = main.invoke(event, header(new_trace_id())).json()
    troubled = functions[which]
    for _ in range(2):  # twice: the first send may fail differently from the next ones
        outcome = troubled.invoke(event, header(new_trace_id()))
        assert outcome.kind == "response"
        assert outcome.json() == expected
    error = troubled.invoke({"fail": "requested failure"}, header(new_trace_id()))
    assert error.kind == "error"
    assert error.json()["errorMessage"] == "requested failure"


def test_all_runtimes_started_in_parallel_answer(functions: dict[str, Function]) -> None:
    def ping(f: Function) -> str:
        return f.invoke({}, None).kind

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(ping, functions.values())) == ["response"] * 3


# -- the reference app's own functions (functions/) -------------------------------------------

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


@pytest.fixture(scope="module")
def reference(
    collector: Collector, emulator: MiniStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Function]]:
    """write_object and record_upload, unchanged, under awslambdaric with the layer."""
    import contextlib

    logs = tmp_path_factory.mktemp("reference-logs")
    env = {
        "AWS_XRAY_DAEMON_ADDRESS": collector.address,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "BUCKET_NAME": BUCKET,
        "TABLE_NAME": TABLE,
    }
    with contextlib.ExitStack() as stack:
        made = {}
        for name in ("write_object", "record_upload"):
            api = stack.enter_context(RuntimeApi())
            proc = stack.enter_context(
                LambdaProcess(
                    api,
                    handler="lambda_xray.handler.handler",
                    task_root=FUNCTIONS_DIR,
                    layer_python=LAYER_PYTHON,
                    log_path=logs / f"{name}.log",
                    env={**env, "LAMBDA_XRAY_HANDLER": f"{name}.handler"},
                )
            )
            made[name] = Function(api, proc, collector)
        yield made


def test_reference_write_object_traces_handler_then_s3_put(
    reference: dict[str, Function],
) -> None:
    trace_id = new_trace_id()
    fn = reference["write_object"]
    outcome = fn.invoke({"key": "reports/q3-private.txt", "body": "hello"}, header(trace_id))
    assert outcome.kind == "response"
    result = outcome.json()
    assert result["bucket"] == BUCKET and result["key"] == "reports/q3-private.txt"
    docs = fn.docs(trace_id, 2)
    root = root_of_named(docs, "## write_object.handler")
    (put,) = by_name(docs, "S3")
    assert root["parent_id"] == "53995c3f42cd8ad8"
    assert put["parent_id"] == root["id"]
    assert put["aws"]["operation"] == "PutObject"
    assert put["aws"]["bucket_name"] == BUCKET
    assert put["http"]["response"]["status"] == 200
    assert "q3-private" not in json.dumps(docs)


def test_reference_write_object_failure_path(reference: dict[str, Function]) -> None:
    trace_id = new_trace_id()
    fn = reference["write_object"]
    outcome = fn.invoke({"key": "x", "fail": True}, header(trace_id))
    assert outcome.kind == "error"
    assert outcome.json()["errorType"] == "ValueError"
    assert outcome.json()["errorMessage"] == "requested failure"
    (root,) = fn.docs(trace_id, 1)
    assert root["fault"] is True


def test_reference_record_upload_traces_list_tables_then_put_item(
    reference: dict[str, Function],
) -> None:
    trace_id = new_trace_id()
    fn = reference["record_upload"]
    event = {
        "Records": [
            {
                "eventTime": "2026-11-25T12:00:00.000Z",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": "uploads/a.txt", "size": 5}},
            }
        ]
    }
    outcome = fn.invoke(event, header(trace_id))
    assert outcome.kind == "response"
    assert outcome.json()["recorded"] == ["uploads/a.txt"]
    docs = fn.docs(trace_id, 3)
    root = root_of_named(docs, "## record_upload.handler")
    calls = sorted(by_name(docs, "DynamoDB"), key=lambda d: d["start_time"])
    assert [c["aws"]["operation"] for c in calls] == ["ListTables", "PutItem"]
    assert all(c["parent_id"] == root["id"] for c in calls)
    assert all(c["http"]["response"]["status"] == 200 for c in calls)
    assert calls[1]["aws"]["table_name"] == TABLE


def root_of_named(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (root,) = [d for d in docs if d["name"] == name]
    return root


def test_a_missing_handler_module_fails_like_the_runtime_would(
    collector: Collector, task_root: Path, tmp_path: Path
) -> None:
    with (
        RuntimeApi() as api,
        LambdaProcess(
            api,
            handler="lambda_xray.handler.handler",
            task_root=task_root,
            layer_python=LAYER_PYTHON,
            log_path=tmp_path / "missing.log",
            env={
                "AWS_XRAY_DAEMON_ADDRESS": collector.address,
                "LAMBDA_XRAY_HANDLER": "nope.handler",
            },
        ),
    ):
        outcome = api.invoke({}, trace_id=header(new_trace_id()), timeout=30)
    assert outcome.kind == "error"
    body = outcome.json()
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "nope" in body["errorMessage"]
