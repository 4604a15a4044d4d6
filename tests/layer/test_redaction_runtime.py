"""Secrets and stacks under the real Lambda runtime client (awslambdaric), end to end.

``python -m awslambdaric lambda_xray.handler.handler`` runs a function whose
code lives in a task root (``LAMBDA_TASK_ROOT``), against the harness's
Runtime API server. Its calls are real: botocore pointed (``endpoint_url``)
at the harness's canned-response HTTP server (an S3 ``AccessDenied`` quoting
the object ARN) or at a closed port (a connection error quoting the
endpoint URL), requests and urllib against the canned server. Every document
arrives over UDP at a local collector and is validated against AWS's
segment document schema; a secret must be in none of them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_runtime_api import LambdaProcess, Outcome, RuntimeApi
from lx_schema import validate_subsegment
from lx_servers import Canned, CannedServer, closed_port

from cdk_lambda_xray.local.collector import Collector
from lambda_xray.testing import subsegments

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
BUCKET = "media"
KEY = "users/alice@example.com/avatar.png"
SECRET_EMAIL = "alice@example.com"

pytestmark = pytest.mark.timeout(120)

APP = """
import urllib.request

import boto3
import requests
from botocore.config import Config


def _client(service, endpoint):
    config = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=2,
        read_timeout=5,
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(service, endpoint_url=endpoint, config=config)


def get_object(event):
    s3 = _client("s3", event["endpoint"])
    return s3.get_object(Bucket=event["bucket"], Key=event["key"])  # S3-CALL


def nested(depth, event):
    if depth:
        return nested(depth - 1, event)
    return get_object(event)


def handler(event, context):
    do = event["do"]
    if do == "raise":
        raise ValueError(event["message"])
    if do == "requests":
        requests.get(event["url"], timeout=5).raise_for_status()
    if do == "s3":
        get_object(event)  # HANDLER-S3
    if do == "deep":
        nested(event["depth"], event)
    if do == "validation":
        item = {"pk": {"S": {"ssn": event["secret"]}}}
        _client("dynamodb", event["endpoint"]).put_item(TableName="orders", Item=item)
    if do == "urllib":
        urllib.request.urlopen(event["url"], timeout=5)
    return {}
"""

ACCESS_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>'
    "User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: "
    f's3:GetObject on resource: "arn:aws:s3:::{BUCKET}/{KEY}" because no identity-based '
    "policy allows the s3:GetObject action</Message><RequestId>REQ-AD</RequestId></Error>"
)


def line_of(marker: str) -> int:
    (number,) = [n for n, line in enumerate(APP.splitlines(), 1) if line.endswith(marker)]
    return number


class Function:
    """One awslambdaric process, its Runtime API and the collector it sends to."""

    def __init__(self, api: RuntimeApi, proc: LambdaProcess, collector: Collector) -> None:
        self.api, self.proc, self.collector = api, proc, collector

    def invoke(self, event: dict[str, Any]) -> tuple[Outcome, list[dict[str, Any]]]:
        """Invoke with a fresh sampled trace; the outcome and the trace's documents."""
        trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
        header = f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=1"
        try:
            outcome = self.api.invoke(event, trace_id=header, timeout=30)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e

        def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [d for d in subsegments(docs) if d.get("trace_id") == trace_id]

        # The handler's subsegment is sent last: once it is in, every call's is too.
        self.collector.wait_for(
            lambda docs: any(d["name"] == "## app.handler" for d in mine(docs)), timeout=10
        )
        docs = mine(self.collector.documents)
        for doc in docs:
            validate_subsegment(doc)
        assert self.collector.rejects == 0, self.collector.reject_reasons
        return outcome, docs


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        BUCKET: Canned(
            403,
            ACCESS_DENIED.encode(),
            {"Content-Type": "application/xml", "x-amz-request-id": "REQ-AD"},
        ),
        "gone": Canned(404, b"gone"),
        "page": Canned(200, b"hello"),
    }
    with CannedServer(routes) as server:
        yield server


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    logs = tmp_path_factory.mktemp("logs")
    with Collector() as collector, RuntimeApi() as api:
        env = {"AWS_XRAY_DAEMON_ADDRESS": collector.address, "LAMBDA_XRAY_HANDLER": "app.handler"}
        with LambdaProcess(
            api,
            handler="lambda_xray.handler.handler",
            task_root=root,
            layer_python=LAYER_PYTHON,
            log_path=logs / "function.log",
            env=env,
        ) as proc:
            yield Function(api, proc, collector)


def sent(docs: list[dict[str, Any]]) -> str:
    return json.dumps(docs)


def root_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (root,) = [d for d in docs if d["name"] == "## app.handler"]
    return root


def call_of(docs: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    (call,) = [d for d in docs if d.get("namespace") == namespace]
    return call


# -- secrets -----------------------------------------------------------------------------


def test_the_handlers_message_is_recorded_once_without_its_query(function: Function) -> None:
    message = "payment failed calling https://api.example.com/pay?card=4111111111111111"
    outcome, docs = function.invoke({"do": "raise", "message": message})
    assert outcome.kind == "error" and outcome.json()["errorMessage"] == message  # unchanged
    assert "4111111111111111" not in sent(docs)
    assert sent(docs).count("payment failed calling https://api.example.com/pay") == 1
    (exception,) = root_of(docs)["cause"]["exceptions"]
    assert exception["message"] == "payment failed calling https://api.example.com/pay"


def test_a_raise_for_status_leaving_the_handler_leaves_no_token(
    function: Function, canned: CannedServer
) -> None:
    url = f"{canned.url}/gone/users?api_key=SECRET-TOKEN-42"
    outcome, docs = function.invoke({"do": "requests", "url": url})
    assert outcome.json()["errorType"] == "HTTPError"
    assert "SECRET-TOKEN-42" not in sent(docs) and "api_key" not in sent(docs)
    assert call_of(docs, "remote")["error"] is True
    (exception,) = root_of(docs)["cause"]["exceptions"]
    assert exception["message"] == f"404 Client Error: Not Found for url: {canned.url}/gone/users"


def test_a_connection_error_quoting_the_s3_key_leaves_no_key(function: Function) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    event = {"do": "s3", "endpoint": endpoint, "bucket": BUCKET, "key": KEY}
    outcome, docs = function.invoke(event)
    assert outcome.json()["errorType"] == "EndpointConnectionError"
    assert SECRET_EMAIL not in sent(docs) and "avatar" not in sent(docs)
    call = call_of(docs, "aws")
    assert call["fault"] is True and call["aws"]["bucket_name"] == BUCKET
    message = call["cause"]["exceptions"][0]["message"]
    assert message == f'Could not connect to the endpoint URL: "{endpoint}/<redacted>"'
    assert root_of(docs)["cause"] == call["cause"]["exceptions"][0]["id"]  # recorded once


def test_an_access_denied_quoting_the_object_arn_keeps_the_bucket_only(
    function: Function, canned: CannedServer
) -> None:
    event = {"do": "s3", "endpoint": canned.url, "bucket": BUCKET, "key": KEY}
    outcome, docs = function.invoke(event)
    assert outcome.json()["errorType"] == "AccessDenied"  # a modeled ClientError
    assert SECRET_EMAIL not in sent(docs) and "avatar" not in sent(docs)
    call = call_of(docs, "aws")
    assert call["error"] is True and call["http"]["response"]["status"] == 403
    exception = call["cause"]["exceptions"][0]
    assert exception["remote"] is True
    assert f'resource: "arn:aws:s3:::{BUCKET}/<redacted>" because' in exception["message"]
    assert "when calling the GetObject operation" in exception["message"]


def test_a_param_validation_error_leaves_no_attribute_value(function: Function) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    event = {"do": "validation", "endpoint": endpoint, "secret": "078-05-1120"}
    outcome, docs = function.invoke(event)
    assert outcome.json()["errorType"] == "ParamValidationError"
    assert "078-05-1120" not in sent(docs)
    message = call_of(docs, "aws")["cause"]["exceptions"][0]["message"]
    assert "Invalid type for parameter Item.pk.S, value: <redacted>, type: " in message


def test_a_url_with_a_password_records_neither_in_the_name_nor_the_url(
    function: Function, canned: CannedServer
) -> None:
    url = f"http://user:hunter2@127.0.0.1:{canned.port}/page/private"
    outcome, docs = function.invoke({"do": "urllib", "url": url})
    assert outcome.kind == "error"  # urllib takes "user:hunter2@127.0.0.1" as the host
    assert "hunter2" not in sent(docs)
    call = call_of(docs, "remote")
    assert call["name"] == "127.0.0.1"
    assert call["http"]["request"]["url"] == f"http://127.0.0.1:{canned.port}/page/private"
    assert call["fault"] is True


# -- stacks --------------------------------------------------------------------------------


def test_a_failed_calls_stack_starts_at_the_handlers_calling_line(function: Function) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    event = {"do": "s3", "endpoint": endpoint, "bucket": BUCKET, "key": KEY}
    _, docs = function.invoke(event)
    stack = call_of(docs, "aws")["cause"]["exceptions"][0]["stack"]
    assert stack[0] == {"path": "app.py", "line": line_of("# HANDLER-S3"), "label": "handler"}
    assert stack[1] == {"path": "app.py", "line": line_of("# S3-CALL"), "label": "get_object"}
    assert stack[2]["path"] == "botocore/client.py"
    assert not [frame for frame in stack if "lambda_xray" in frame["path"]]
    assert not [frame for frame in stack if frame["path"].startswith("/")]


def test_the_handlers_fault_has_no_frame_of_the_layer(function: Function) -> None:
    _, docs = function.invoke({"do": "raise", "message": "plain failure"})
    (exception,) = root_of(docs)["cause"]["exceptions"]
    line = line_of('raise ValueError(event["message"])')
    assert exception["stack"] == [{"path": "app.py", "line": line, "label": "handler"}]


def test_a_deep_stack_is_cut_to_its_innermost_frames_and_marked(function: Function) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    event = {"do": "deep", "depth": 80, "endpoint": endpoint, "bucket": BUCKET, "key": KEY}
    _, docs = function.invoke(event)
    exception = call_of(docs, "aws")["cause"]["exceptions"][0]
    assert len(exception["stack"]) == 32
    assert exception["truncated"] > 50  # 80 nested() frames and the handler, at least
    labels = [frame["label"] for frame in exception["stack"]]
    assert labels[0] == "nested" and "get_object" in labels  # the innermost are kept
    assert labels[-1] != "nested"  # down to the library's innermost frame
