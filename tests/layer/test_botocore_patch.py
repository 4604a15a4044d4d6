"""The botocore patch in-process: real botocore clients over real HTTP on 127.0.0.1.

Documents are taken with the layer's own ``InMemoryEmitter`` (the exact bytes
the layer would send, decoded). AWS answers come from a canned-response HTTP
server (``tests/layer/harness/lx_servers.py``) or a closed port; the
end-to-end variants under the real runtime are in test_awslambdaric_runtime.py.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_servers import Canned, CannedServer, aws_json_error, aws_json_ok, closed_port

from lambda_xray import _log, _recorder, patches, testing
from lambda_xray.context_missing import ContextMissingError
from lambda_xray.testing import InMemoryEmitter

pytestmark = pytest.mark.timeout(60)

DocumentCheck = Callable[[list[dict[str, Any]]], None]


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "ok": aws_json_ok({"TableNames": []}, "REQ-OK"),
        "flaky": [
            aws_json_error(500, "InternalServerError", "REQ-F1"),
            aws_json_ok({"TableNames": []}, "REQ-F2"),
        ],
        "slowdown": aws_json_error(400, "ThrottlingException", "REQ-T"),
    }
    with CannedServer(routes) as server:
        yield server


def client(service: str, endpoint: str, attempts: int = 1) -> Any:
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    ).client(
        service,
        endpoint_url=endpoint,
        config=Config(
            retries={"total_max_attempts": attempts, "mode": "standard"}, connect_timeout=2
        ),
    )


def refused() -> str:
    return f"http://127.0.0.1:{closed_port()}"


def call_quietly(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc


def only_aws(xray: InMemoryEmitter) -> dict[str, Any]:
    """The one ``aws`` subsegment recorded (besides the invocation's root)."""
    (doc,) = [d for d in xray.documents if d.get("namespace") == "aws"]
    return doc


# -- names and resource fields ----------------------------------------------------


@pytest.mark.parametrize(
    ("service", "name", "operation", "params", "field", "value"),
    [
        (
            "dynamodb",
            "DynamoDB",
            "get_item",
            {"TableName": "orders", "Key": {"pk": {"S": "customer-7"}}},
            "table_name",
            "orders",
        ),
        (
            "s3",
            "S3",
            "get_object",
            {"Bucket": "invoices", "Key": "customer-7.pdf"},
            "bucket_name",
            "invoices",
        ),
        (
            "sqs",
            "SQS",
            "send_message",
            {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "MessageBody": "customer-7"},
            "queue_url",
            "https://sqs.eu-west-1.amazonaws.com/1/q",
        ),
        (
            "sns",
            "SNS",
            "publish",
            {"TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "customer-7"},
            "topic_arn",
            "arn:aws:sns:eu-west-1:1:t",
        ),
        (
            "lambda",
            "Lambda",
            "invoke",
            {"FunctionName": "worker", "Payload": b'{"customer": "customer-7"}'},
            "function_name",
            "worker",
        ),
    ],
)
def test_call_is_named_by_service_with_resource_but_no_payload(
    xray: InMemoryEmitter,
    assert_valid: DocumentCheck,
    service: str,
    name: str,
    operation: str,
    params: dict[str, Any],
    field: str,
    value: str,
) -> None:
    with testing.invocation():
        call_quietly(lambda: getattr(client(service, refused()), operation)(**params))
    doc = only_aws(xray)
    assert_valid(xray.documents)
    assert doc["name"] == name
    assert doc["aws"]["operation"] == "".join(p.title() for p in operation.split("_"))
    assert doc["aws"]["region"] == "eu-west-1"
    assert doc["aws"][field] == value
    assert "customer-7" not in str(doc)  # keys, bodies, messages, payloads


def test_batch_calls_record_every_table_name(xray: InMemoryEmitter) -> None:
    items = {"orders": {"Keys": [{"pk": {"S": "a"}}]}, "users": {"Keys": [{"pk": {"S": "b"}}]}}
    with testing.invocation():
        call_quietly(lambda: client("dynamodb", refused()).batch_get_item(RequestItems=items))
    assert only_aws(xray)["aws"]["table_names"] == ["orders", "users"]


def test_xray_api_calls_are_not_traced(xray: InMemoryEmitter) -> None:
    with testing.invocation():
        call_quietly(
            lambda: client("xray", refused()).put_trace_segments(TraceSegmentDocuments=["{}"])
        )
    assert [d["name"] for d in xray.documents] == ["## test"]


# -- header, retries, one subsegment per call ------------------------------------------


def test_each_attempt_carries_the_header_of_the_one_subsegment(
    xray: InMemoryEmitter, canned: CannedServer
) -> None:
    header = testing.trace_header(lineage="a87bd80c:0")
    with testing.invocation(header=header):
        client("dynamodb", canned.url + "/flaky", attempts=2).list_tables()
    doc = only_aws(xray)  # one subsegment for both attempts, none from urllib3/http.client
    assert doc["aws"]["retries"] == 1
    assert doc["aws"]["request_id"] == "REQ-F2"
    assert doc["http"]["response"]["status"] == 200
    root = header.split(";")[0]
    expected = f"{root};Parent={doc['id']};Sampled=1;Lineage=a87bd80c:0"
    assert [r.trace_header for r in canned.requests_to("flaky")] == [expected, expected]


def test_unsampled_call_records_nothing_and_sends_sampled_0(
    xray: InMemoryEmitter, canned: CannedServer
) -> None:
    header = testing.trace_header(sampled=False)
    before = len(canned.requests_to("ok"))
    with testing.invocation(header=header):
        client("dynamodb", canned.url + "/ok").list_tables()
    assert xray.documents == []
    received = canned.requests_to("ok")[before:]
    assert [r.trace_header for r in received] == [f"{header.split(';')[0]};Sampled=0"]


def test_throttling_code_is_throttle_and_error(xray: InMemoryEmitter, canned: CannedServer) -> None:
    with testing.invocation():
        exc = call_quietly(lambda: client("dynamodb", canned.url + "/slowdown").list_tables())
    assert type(exc).__name__ == "ThrottlingException"
    doc = only_aws(xray)
    assert (doc.get("throttle"), doc.get("error"), doc.get("fault")) == (True, True, None)


# -- outside an invocation, and failures of the layer itself ---------------------------------


def test_outside_an_invocation_the_call_works_and_nothing_is_recorded(
    xray: InMemoryEmitter, canned: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    assert client("dynamodb", canned.url + "/ok").list_tables()["TableNames"] == []
    assert xray.documents == []


def test_runtime_error_mode_raises_before_anything_is_sent(
    xray: InMemoryEmitter, canned: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with testing.invocation():  # Init is over: a call outside an invocation is context missing
        pass
    before = len(canned.requests_to("ok"))
    with pytest.raises(ContextMissingError):
        client("dynamodb", canned.url + "/ok").list_tables()
    assert len(canned.requests_to("ok")) == before


def test_a_failing_recorder_never_breaks_the_call(
    xray: InMemoryEmitter,
    canned: CannedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(_recorder, "begin_subsegment", broken)
    _log._said.discard("patch:botocore-start")  # "once per process": make this test the first
    with testing.invocation(), caplog.at_level(logging.WARNING, "lambda_xray"):
        for _ in range(3):
            assert client("dynamodb", canned.url + "/ok").list_tables()["TableNames"] == []
    warnings = [r for r in caplog.records if "could not trace an AWS call" in r.getMessage()]
    assert len(warnings) == 1


# -- documents over real UDP (the short encoding of successful calls) ----------------------


def test_successful_calls_sent_over_udp_carry_the_same_fields_every_time(
    collector: Any, canned: CannedServer, assert_valid: DocumentCheck
) -> None:
    patches.install()
    ddb = client("dynamodb", canned.url + "/ok")
    with testing.invocation():
        for _ in range(3):  # the first call opens the socket; later ones take the short way
            ddb.list_tables()
    docs = collector.wait_for(  # the three calls and the root, sent after them
        lambda got: (
            len([d for d in got if d.get("namespace") == "aws"]) >= 3
            and any(d.get("name") == "## test" for d in got)
        ),
        timeout=10,
    )
    calls = [d for d in docs if d.get("namespace") == "aws"]
    assert_valid(calls)
    root = next(d for d in docs if d["name"] == "## test")
    varying = ("id", "start_time", "end_time")
    shapes = [{k: v for k, v in d.items() if k not in varying} for d in calls]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0]["parent_id"] == root["id"]
    assert shapes[0]["http"] == {"response": {"status": 200}}
    assert shapes[0]["aws"] == {
        "operation": "ListTables",
        "region": "eu-west-1",
        "request_id": "REQ-OK",
        "retries": 0,
    }
    assert len({d["id"] for d in calls}) == 3


def test_no_resource_field_is_named_like_a_response_field() -> None:
    """A response field recorded over a resource field would hide the resource."""
    from lambda_xray.patches.botocore import MAPPING_KEYS_FIELDS, SCALAR_FIELDS

    request_fields = {
        f for m in (*SCALAR_FIELDS.values(), *MAPPING_KEYS_FIELDS.values()) for f in m.values()
    }
    assert not request_fields & {"request_id", "id_2", "retries"}
