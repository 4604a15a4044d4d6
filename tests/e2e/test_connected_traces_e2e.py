"""End to end: one connected trace per flow, from the client to DynamoDB, locally.

Two parts, both against the real MiniStack, the real layer and the real collector:

- the reference app's demo (the session's demo run, shared with
  ``test_demo_e2e.py``): each flow is exactly one trace whose root is the demo's
  client segment, then ``AWS::Lambda`` -> ``AWS::Lambda::Function`` ->
  ``## handler`` -> the downstream calls;
- each hop on its own, without CDK (a few seconds): ``Invoke`` with
  ``X-Amzn-Trace-Id`` (synchronous and ``Event``), an S3 notification, an SNS
  subscription, an SQS event source mapping (``AWSTraceHeader``), and an
  asynchronous invocation that fails and is retried (one ``Attempt`` per try).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import jsonschema  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from cdk_lambda_xray.local.appdir import load_flows
from cdk_lambda_xray.local.client_trace import CLIENT_SEGMENT_NAME, ClientTrace, disconnection
from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.emulator import MiniStack
from cdk_lambda_xray.local.lambda_segments import (
    EMULATED_ANNOTATION,
    FUNCTION_ORIGIN,
    SERVICE_ORIGIN,
    is_emulated,
)
from cdk_lambda_xray.local.runner import RunResult
from cdk_lambda_xray.local.traceview import Node, Trace, build_traces, render_trace_text

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "xray-segmentdocument-schema-v1.0.0.json"
LAYER_SOURCE = REPO_ROOT / "layers" / "lambda_xray" / "python"
#: The reference app's flows (``demo_flows.py`` next to ``app.py``).
FLOWS = load_flows(REPO_ROOT / "demo_flows.py").flows
DOWNSTREAM = {
    "upload": ("DynamoDB", "PutItem"),
    "invoke": ("S3", "PutObject"),
    "publish": ("DynamoDB", "PutItem"),
}


# -- helpers over a trace ----------------------------------------------------------


def _origin(node: Node) -> str | None:
    origin = node.doc.get("origin") if node.doc is not None else None
    return origin if isinstance(origin, str) else None


def _chain_to(node: Node, trace: Trace) -> list[Node]:
    """The nodes from the trace's root down to ``node``."""
    parents: dict[int, Node] = {}
    for root in trace.roots:
        for _, n in root.walk():
            for child in n.children:
                parents[id(child)] = n
    chain = [node]
    while id(chain[-1]) in parents:
        chain.append(parents[id(chain[-1])])
    return list(reversed(chain))


def _named(trace: Trace, name: str) -> list[Node]:
    return [n for _, n in trace.nodes() if n.raw_name == name]


def _assert_connected(trace: Trace, handler: str, downstream: tuple[str, str] | None) -> None:
    """client -> AWS::Lambda [-> Attempt] -> AWS::Lambda::Function -> ## handler -> call."""
    assert len(trace.roots) == 1, [r.name for r in trace.roots]
    root = trace.roots[0]
    assert root.received and root.raw_name == CLIENT_SEGMENT_NAME, root.name
    handlers = _named(trace, f"## {handler}")
    assert len(handlers) == 1, f"{len(handlers)} '## {handler}' in {trace.trace_id}"
    chain = _chain_to(handlers[0], trace)
    origins = [_origin(n) for n in chain]
    assert origins[0] is None and chain[0] is root
    assert SERVICE_ORIGIN in origins and origins[-2] == FUNCTION_ORIGIN, [n.name for n in chain]
    service_at = origins.index(SERVICE_ORIGIN)
    between = [n.raw_name or "" for n in chain[service_at + 1 : -2]]
    assert all(name.startswith("Attempt #") for name in between), between
    assert chain[1].namespace == "aws"  # the client's call that carried the header
    if downstream is not None:
        service, operation = downstream
        assert any(
            c.raw_name == service and c.operation == operation for _, c in handlers[0].walk()
        )
    assert all(n.received for _, n in trace.nodes())


# -- the reference app's demo --------------------------------------------------------


def _flow_trace(result: RunResult, key: str) -> Trace:
    trace = result.flow_traces.get(key)
    assert trace is not None, f"no trace for flow {key!r}"
    return trace


@pytest.mark.parametrize("key", [s.key for s in FLOWS])
def test_each_demo_flow_is_one_trace_from_its_client_segment(
    demo: tuple[RunResult, str], key: str
) -> None:
    result, _ = demo
    spec = next(s for s in FLOWS if s.key == key)
    trace = _flow_trace(result, key)
    _assert_connected(trace, spec.handler, DOWNSTREAM.get(key))
    clients = [
        d
        for d in result.documents
        if d.get("name") == CLIENT_SEGMENT_NAME and (d.get("annotations") or {}).get("flow") == key
    ]
    assert len(clients) == 1 and clients[0]["trace_id"] == trace.trace_id


def test_asynchronous_flows_show_dwell_time_and_one_attempt(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    for key in ("upload", "publish"):
        trace = _flow_trace(result, key)
        names = [n.raw_name for _, n in trace.nodes()]
        assert names.count("Dwelling Time") == 1, (key, names)
        assert names.count("Attempt #1") == 1 and "Attempt #2" not in names, (key, names)
    for key in ("invoke", "failure"):
        names = [n.raw_name for _, n in _flow_trace(result, key).nodes()]
        assert "Dwelling Time" not in names and not any(
            (n or "").startswith("Attempt #") for n in names
        )


def test_initialization_appears_once_per_cold_function(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    counts = {key: len(_named(_flow_trace(result, key), "Initialization")) for key in DOWNSTREAM}
    counts["failure"] = len(_named(_flow_trace(result, "failure"), "Initialization"))
    # Each function's first invocation is cold; the writer's second (failure) is warm.
    assert counts == {"upload": 1, "invoke": 1, "publish": 1, "failure": 0}


def test_failure_shows_on_the_invocation_and_the_client_call(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    trace = _flow_trace(result, "failure")
    invocation = _named(trace, "Invocation")
    assert len(invocation) == 1 and "fault" in invocation[0].flags
    assert any("requested failure" in m for m in invocation[0].exceptions)
    lambda_call = trace.roots[0].children[0]
    assert lambda_call.operation == "Invoke" and "error" in lambda_call.flags


def test_every_lambda_service_document_is_marked_emulated(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    lambda_docs = [
        d
        for d in result.documents
        if d.get("origin") in (SERVICE_ORIGIN, FUNCTION_ORIGIN)
        or str(d.get("name", "")).startswith(("Attempt #", "Dwelling Time"))
    ]
    assert len(lambda_docs) >= 2 * len(FLOWS)
    assert all(is_emulated(d) for d in lambda_docs)
    assert all("emulated" in json.dumps(d["metadata"]) for d in lambda_docs)
    layer_docs = [d for d in result.documents if str(d.get("name", "")).startswith("## ")]
    assert layer_docs and not any(is_emulated(d) for d in layer_docs)


def test_trace_view_shows_no_unreceived_parent_for_the_flows(demo: tuple[RunResult, str]) -> None:
    result, text = demo
    for spec in FLOWS:
        shown = render_trace_text(_flow_trace(result, spec.key))
        assert shown in text and "(not received)" not in shown, shown
        assert shown.splitlines()[1].startswith(f"└─ {CLIENT_SEGMENT_NAME}")
    assert result.html_path is not None
    html = result.html_path.read_text()
    assert CLIENT_SEGMENT_NAME in html and EMULATED_ANNOTATION in html


# -- each hop on its own ---------------------------------------------------------------

APP = """
import os
import boto3

def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE"], Item={"pk": {"S": context.aws_request_id}}
    )
    return {"ok": True}
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _layer_zip() -> bytes:
    files = {
        f"python/{path.relative_to(LAYER_SOURCE).as_posix()}": path.read_text()
        for path in LAYER_SOURCE.rglob("*.py")
    }
    return _zip(files)


class Hops:
    """A MiniStack with one traced function (the real layer) and its event sources."""

    def __init__(self, emulator: MiniStack, collector: Collector) -> None:
        self.emulator = emulator
        self.collector = collector
        self.lam = self.client("lambda")
        self.client("dynamodb").create_table(
            TableName="hops",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        layer = self.lam.publish_layer_version(
            LayerName="lambda-xray", Content={"ZipFile": _layer_zip()}
        )
        self.arn = self.lam.create_function(
            FunctionName="hop",
            Runtime="python3.12",
            Role="arn:aws:iam::000000000000:role/hop",
            Handler="lambda_xray.handler.handler",
            Code={"ZipFile": _zip({"app.py": APP})},
            Layers=[layer["LayerVersionArn"]],
            TracingConfig={"Mode": "Active"},
            Environment={"Variables": {"LAMBDA_XRAY_HANDLER": "app.handler", "TABLE": "hops"}},
            Timeout=30,
        )["FunctionArn"]
        self.lam.put_function_event_invoke_config(FunctionName="hop", MaximumRetryAttempts=1)
        self.layer_arn = layer["LayerVersionArn"]

    def client(self, service: str, trace: ClientTrace | None = None) -> Any:
        made = boto3.client(
            service,
            endpoint_url=self.emulator.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}),
        )
        return trace.instrument(made) if trace is not None else made

    def flow(self, name: str, run: Callable[[ClientTrace], object], complete: int = 1) -> Trace:
        """Run ``run`` under a client segment; wait until ``complete`` handler runs arrived."""
        trace = ClientTrace(name, self.collector.address)
        with trace:
            run(trace)

        def arrived(docs: list[dict[str, Any]]) -> bool:
            mine = [d for d in docs if d.get("trace_id") == trace.trace_id]
            functions = [d for d in mine if d.get("origin") == FUNCTION_ORIGIN]
            handlers = [d for d in mine if str(d.get("name", "")).startswith("## ")]
            client = [d for d in mine if d.get("id") == trace.segment_id]
            return len(functions) >= complete and len(handlers) >= complete and bool(client)

        docs = self.collector.wait_for(arrived, timeout=30)
        time.sleep(0.3)  # the attempt subsegment is sent right after the function segment
        docs = self.collector.documents
        return next(t for t in build_traces(docs) if t.trace_id == trace.trace_id)


@pytest.fixture(scope="module")
def hops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hops]:
    log = tmp_path_factory.mktemp("hops") / "ministack.log"
    with (
        Collector() as collector,
        MiniStack(
            log,
            xray_daemon_address=collector.address,
            env={"LAMBDA_ASYNC_RETRY_BASE_SECONDS": "0.2"},
        ) as emulator,
    ):
        yield Hops(emulator, collector)


def test_synchronous_invoke_carries_the_callers_header(hops: Hops) -> None:
    def run(trace: ClientTrace) -> None:
        hops.client("lambda", trace).invoke(FunctionName="hop", Payload=b"{}")

    trace = hops.flow("invoke", run)
    _assert_connected(trace, "app.handler", ("DynamoDB", "PutItem"))


def test_event_invoke_is_asynchronous_with_dwell_time(hops: Hops) -> None:
    def run(trace: ClientTrace) -> None:
        hops.client("lambda", trace).invoke(
            FunctionName="hop", InvocationType="Event", Payload=b"{}"
        )

    trace = hops.flow("event", run)
    _assert_connected(trace, "app.handler", ("DynamoDB", "PutItem"))
    service = [n for _, n in trace.nodes() if _origin(n) == SERVICE_ORIGIN]
    assert len(service) == 1 and service[0].status == 202
    assert len(_named(trace, "Dwelling Time")) == 1


def test_failed_asynchronous_invocation_has_one_attempt_per_try(hops: Hops) -> None:
    def run(trace: ClientTrace) -> None:
        hops.client("lambda", trace).invoke(
            FunctionName="hop", InvocationType="Event", Payload=b'{"fail": true}'
        )

    trace = hops.flow("retried", run, complete=2)
    attempts = sorted(n.raw_name or "" for _, n in trace.nodes() if _origin(n) is None
                      and (n.raw_name or "").startswith("Attempt #"))  # fmt: skip
    assert attempts == ["Attempt #1", "Attempt #2"]
    for name in attempts:
        node = _named(trace, name)[0]
        assert "fault" in node.flags and any("asked to fail" in m for m in node.exceptions)
        assert [_origin(c) for c in node.children] == [FUNCTION_ORIGIN]
    assert len([n for _, n in trace.nodes() if _origin(n) == SERVICE_ORIGIN]) == 1


def test_s3_notification_carries_the_header_of_the_upload(hops: Hops) -> None:
    s3 = hops.client("s3")
    s3.create_bucket(Bucket="hop-uploads")
    s3.put_bucket_notification_configuration(
        Bucket="hop-uploads",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": hops.arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )

    clients: list[ClientTrace] = []

    def run(trace: ClientTrace) -> None:
        clients.append(trace)
        hops.client("s3", trace).put_object(Bucket="hop-uploads", Key="secret-key.txt", Body=b"x")

    _assert_connected(hops.flow("s3", run), "app.handler", ("DynamoDB", "PutItem"))
    (put,) = clients[0].subsegments
    assert put["aws"]["bucket_name"] == "hop-uploads"
    assert "secret-key" not in json.dumps(clients[0].document)  # object keys stay out


def test_sns_subscription_carries_the_header_of_the_publish(hops: Hops) -> None:
    sns = hops.client("sns")
    topic = sns.create_topic(Name="hop-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=hops.arn)

    def run(trace: ClientTrace) -> None:
        hops.client("sns", trace).publish(TopicArn=topic, Message="hello")

    _assert_connected(hops.flow("sns", run), "app.handler", ("DynamoDB", "PutItem"))


def test_sqs_aws_trace_header_reaches_the_function(hops: Hops) -> None:
    sqs = hops.client("sqs")
    queue = sqs.create_queue(QueueName="hop-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    hops.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="hop", BatchSize=1)

    def run(trace: ClientTrace) -> None:
        hops.client("sqs", trace).send_message(QueueUrl=queue, MessageBody="hello")

    trace = hops.flow("sqs", run)
    _assert_connected(trace, "app.handler", ("DynamoDB", "PutItem"))


def test_throttled_invoke_shows_429_on_the_call_and_the_lambda_service(hops: Hops) -> None:
    hops.lam.create_function(
        FunctionName="hop-reserved-zero",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/hop",
        Handler="lambda_xray.handler.handler",
        Code={"ZipFile": _zip({"app.py": APP})},
        Layers=[hops.layer_arn],
        TracingConfig={"Mode": "Active"},
        Environment={"Variables": {"LAMBDA_XRAY_HANDLER": "app.handler", "TABLE": "hops"}},
    )
    hops.lam.put_function_concurrency(
        FunctionName="hop-reserved-zero", ReservedConcurrentExecutions=0
    )
    trace = ClientTrace("throttled", hops.collector.address)
    with trace, pytest.raises(ClientError, match="TooManyRequests"):
        hops.client("lambda", trace).invoke(FunctionName="hop-reserved-zero", Payload=b"{}")

    def arrived(docs: list[dict[str, Any]]) -> bool:
        mine = [d for d in docs if d.get("trace_id") == trace.trace_id]
        return any(d.get("origin") == SERVICE_ORIGIN for d in mine) and any(
            d.get("id") == trace.segment_id for d in mine
        )

    docs = hops.collector.wait_for(arrived, timeout=15)
    (built,) = [t for t in build_traces(docs) if t.trace_id == trace.trace_id]
    assert disconnection(built) is None
    (call,) = built.roots[0].children
    assert call.status == 429 and {"throttle", "error"} <= set(call.flags)
    (service,) = call.children
    assert _origin(service) == SERVICE_ORIGIN and service.status == 429
    assert {"throttle", "error"} <= set(service.flags) and service.children == []


def test_hop_documents_validate_against_the_xray_schema(hops: Hops) -> None:
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA_PATH.read_text()))
    docs = hops.collector.documents
    assert any(is_emulated(d) for d in docs)
    invalid = {
        str(d.get("name")): [e.message for e in validator.iter_errors(d)]
        for d in docs
        if not validator.is_valid(d)
    }
    assert invalid == {}


def test_demo_documents_validate_against_the_xray_schema(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA_PATH.read_text()))
    emulated = [d for d in result.documents if is_emulated(d)]
    clients = [d for d in result.documents if d.get("name") == CLIENT_SEGMENT_NAME]
    assert emulated and len(clients) == len(FLOWS)
    invalid = [e.message for d in [*emulated, *clients] for e in validator.iter_errors(d)]
    assert invalid == []
