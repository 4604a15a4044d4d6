"""``lambda_xray.compat`` under the real Lambda runtime client (awslambdaric).

The handlers of ``lx_compat_apps`` (one written for aws-xray-sdk, one for
Powertools Tracer) run unchanged except their import line, as
``lambda_xray.handler.handler`` would run them in Lambda: botocore calls go to
a canned HTTP server, datagrams to a real UDP collector (X-Ray format,
validated against AWS's segment document schema) or to the OTLP receiver
(decoded with the real ``opentelemetry-proto`` classes).

Side by side, the same files with their original import run under the real
aws-xray-sdk 2.15 / Powertools (no layer) and send to the same collector: with
``LAMBDA_XRAY_AWS_NAMES=sdk`` the subsegment trees have the same names, nesting
and annotations (under Lambda's segment for the SDK, under the layer's
``## app.handler`` here; Powertools' own ``## handler`` is the layer's).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_compat_apps import (
    POWERTOOLS_IMPORT_COMPAT,
    POWERTOOLS_IMPORT_ORIGINAL,
    SDK_IMPORT_COMPAT,
    SDK_IMPORT_ORIGINAL,
    powertools_app,
    sdk_app,
)
from lx_otlp import OtlpReceiver, attrs
from lx_runtime_api import LambdaProcess, Outcome, RuntimeApi
from lx_schema import validate_subsegment
from lx_servers import CannedServer, aws_json_ok

from cdk_lambda_xray.local.collector import Collector
from lambda_xray.testing import subsegments

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
PARENT = "53995c3f42cd8ad8"
SERVER, CLIENT, INTERNAL = 2, 3, 1
STATUS_ERROR = 2
WRAPPER = "lambda_xray.handler.handler"

pytestmark = pytest.mark.timeout(240)

Tree = list[tuple[str, tuple[tuple[str, Any], ...], Any]]


class Function:
    """One awslambdaric process; ``invoke`` returns the outcome and the trace id used."""

    def __init__(self, api: RuntimeApi, proc: LambdaProcess) -> None:
        self.api, self.proc = api, proc

    def invoke(self, event: dict[str, Any]) -> tuple[Outcome, str]:
        trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
        header = f"Root={trace_id};Parent={PARENT};Sampled=1"
        try:
            outcome = self.api.invoke(event, trace_id=header, timeout=60)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e
        return outcome, trace_id


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    # DynamoDB PutItem and Step Functions StartExecution both answer JSON 1.0.
    ok = aws_json_ok({"executionArn": "arn:aws:states:eu-west-1:0:execution:ship:1"}, "REQ-OK")
    with CannedServer({"ok": ok}) as server:
        yield server


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Function]]:
    """Start a function from ``source``; every process is stopped after the module."""
    with contextlib.ExitStack() as stack:

        def _start(source: str, handler: str, **env: str) -> Function:
            root = tmp_path_factory.mktemp("task")
            (root / "app.py").write_text(source)
            api = stack.enter_context(RuntimeApi())
            proc = stack.enter_context(
                LambdaProcess(
                    api,
                    handler=handler,
                    task_root=root,
                    layer_python=LAYER_PYTHON,
                    log_path=tmp_path_factory.mktemp("logs") / "function.log",
                    env={"LAMBDA_XRAY_HANDLER": "app.handler", **env},
                )
            )
            return Function(api, proc)

        yield _start


def documents(collector: Collector, trace_id: str, last: str) -> list[dict[str, Any]]:
    """The trace's subsegments (embedded ones on their own), once one named ``last``
    arrived (and a moment more)."""

    def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in subsegments(docs) if d.get("trace_id") == trace_id]

    collector.wait_for(lambda docs: any(d.get("name") == last for d in mine(docs)), 20)
    time.sleep(0.3)
    return mine(collector.documents)


def flatten(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Standalone documents plus the subsegments embedded in them (aws-xray-sdk streams
    a closed subsegment with its children inside), each with its ``parent_id``."""
    out: list[dict[str, Any]] = []

    def walk(doc: dict[str, Any], parent_id: str | None) -> None:
        flat = {k: v for k, v in doc.items() if k != "subsegments"}
        flat.setdefault("parent_id", parent_id)
        out.append(flat)
        for child in doc.get("subsegments", []):
            walk(child, doc["id"])

    for doc in docs:
        walk(doc, doc.get("parent_id"))
    return out


def is_http_under_aws_call(doc: dict[str, Any], docs: list[dict[str, Any]]) -> bool:
    parent = next((d for d in docs if d["id"] == doc["parent_id"]), None)
    return (
        doc.get("namespace") == "remote" and parent is not None and parent.get("namespace") == "aws"
    )


def tree(docs: list[dict[str, Any]], parent_id: str) -> Tree:
    """Names, annotations and children under ``parent_id``, in a comparable order."""
    children = [d for d in docs if d.get("parent_id") == parent_id]
    return sorted(
        (d["name"], tuple(sorted(d.get("annotations", {}).items())), tree(docs, d["id"]))
        for d in children
    )


def one(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [d for d in docs if d.get("name") == name]
    assert len(found) == 1, (name, [d.get("name") for d in docs])
    return found[0]


def spans_for(receiver: OtlpReceiver, trace_id: str) -> list[Any]:
    wanted = bytes.fromhex(trace_id[2:].replace("-", ""))
    deadline = time.monotonic() + 20
    spans: list[Any] = []
    while time.monotonic() < deadline:
        spans += [s for d in receiver.take() for s in d.spans if s.trace_id == wanted]
        if any(s.kind == SERVER for s in spans):
            return spans
        time.sleep(0.1)
    raise AssertionError(f"no server span for {trace_id}: {[s.name for s in spans]}")


ORDER = {"order": {"id": "o-1"}}


# -- aws-xray-sdk ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_original(start: Callable[..., Function], collector: Collector) -> Function:
    return start(
        sdk_app(SDK_IMPORT_ORIGINAL), "app.handler", AWS_XRAY_DAEMON_ADDRESS=collector.address
    )


@pytest.fixture(scope="module")
def sdk_compat(start: Callable[..., Function], collector: Collector) -> Function:
    return start(
        sdk_app(SDK_IMPORT_COMPAT),
        WRAPPER,
        AWS_XRAY_DAEMON_ADDRESS=collector.address,
        LAMBDA_XRAY_AWS_NAMES="sdk",
    )


@pytest.fixture(scope="module")
def sdk_compat_otlp(start: Callable[..., Function], receiver: OtlpReceiver) -> Function:
    return start(
        sdk_app(SDK_IMPORT_COMPAT),
        WRAPPER,
        AWS_XRAY_DAEMON_ADDRESS=receiver.address,
        LAMBDA_XRAY_FORMAT="otlp",
        LAMBDA_XRAY_AWS_NAMES="sdk",
    )


def test_an_aws_xray_sdk_handler_records_its_subsegments_under_the_layer(
    sdk_compat: Function, collector: Collector, canned: CannedServer
) -> None:
    outcome, trace_id = sdk_compat.invoke({"url": canned.url, **ORDER})
    assert outcome.kind == "response" and outcome.json() == {"order": "o-1", "total": 20}
    docs = documents(collector, trace_id, "## app.handler")
    for doc in docs:
        validate_subsegment(doc)
    root = one(docs, "## app.handler")
    assert root["parent_id"] == PARENT
    assert {"ColdStart", "Service"} <= set(root["annotations"])
    assert tree(docs, root["id"]) == [
        ("notify", (("channel", "sfn"),), [("states", (), [])]),
        ("prices", (("count", 2),), [("fetch_price", (), []), ("fetch_price", (), [])]),
        ("save_order", (("table", "orders"),), [("dynamodb", (), [])]),
        ("validate_order", (("order_id", "o-1"),), []),
    ]
    ddb, sfn = one(docs, "dynamodb"), one(docs, "states")
    assert ddb["namespace"] == sfn["namespace"] == "aws"
    assert ddb["aws"]["operation"] == "PutItem" and ddb["aws"]["table_name"] == "orders"
    assert sfn["aws"]["operation"] == "StartExecution"
    assert one(docs, "save_order")["metadata"] == {"orders": {"order": {"id": "o-1", "items": 2}}}
    # current_subsegment() inside begin/end is the begun subsegment.
    assert one(docs, "notify")["metadata"] == {"default": {"sent": True}}
    # The calls carried the trace header of their own subsegment downstream.
    headers = [r.trace_header or "" for r in canned.requests_to("ok")[-2:]]
    assert {f"Parent={ddb['id']};Sampled=1" in h for h in headers} == {True, False}


def test_a_failure_in_an_aws_xray_sdk_handler_is_a_fault_where_it_happened(
    sdk_compat: Function, collector: Collector, canned: CannedServer
) -> None:
    outcome, trace_id = sdk_compat.invoke({"url": canned.url, "order": {"id": "o-2", "bad": True}})
    assert outcome.kind == "error" and outcome.json()["errorType"] == "ValueError"
    docs = documents(collector, trace_id, "## app.handler")
    for doc in docs:
        validate_subsegment(doc)
    validate = one(docs, "validate_order")
    assert validate["fault"] is True
    (exc,) = validate["cause"]["exceptions"]
    assert exc["type"] == "ValueError"
    root = one(docs, "## app.handler")
    assert root["fault"] is True
    assert [d["name"] for d in docs if d["parent_id"] == root["id"]] == ["validate_order"]


def test_the_same_aws_xray_sdk_handler_gives_the_same_tree_as_under_the_real_sdk(
    sdk_original: Function, sdk_compat: Function, collector: Collector, canned: CannedServer
) -> None:
    event = {"url": canned.url, **ORDER}
    outcome, sdk_trace = sdk_original.invoke(event)
    assert outcome.kind == "response", sdk_original.proc.log()[-2000:]
    _, compat_trace = sdk_compat.invoke(event)
    sdk_docs = flatten(documents(collector, sdk_trace, "prices"))
    compat_docs = documents(collector, compat_trace, "## app.handler")
    root = one(compat_docs, "## app.handler")

    assert tree(sdk_docs, PARENT) == tree(compat_docs, root["id"])
    names = {d["name"] for d in compat_docs}
    assert {"dynamodb", "states"} <= names  # the SDK's names, with LAMBDA_XRAY_AWS_NAMES=sdk


def test_an_aws_xray_sdk_handler_sends_the_same_tree_as_otlp_spans(
    sdk_compat_otlp: Function, receiver: OtlpReceiver, canned: CannedServer
) -> None:
    outcome, trace_id = sdk_compat_otlp.invoke({"url": canned.url, **ORDER})
    assert outcome.kind == "response"
    spans = spans_for(receiver, trace_id)
    (root,) = [s for s in spans if s.kind == SERVER]
    assert root.name == "app.handler" and root.parent_span_id == bytes.fromhex(PARENT)
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (validate,) = by_name["validate_order"]
    (save,) = by_name["save_order"]
    (notify,) = by_name["notify"]
    (prices,) = by_name["prices"]
    for span in (validate, save, notify, prices):
        assert span.kind == INTERNAL and span.parent_span_id == root.span_id
    assert attrs(validate)["order_id"] == "o-1"
    assert attrs(save)["aws.xray.annotations"] == ["table"]
    assert attrs(save)["lambda_xray.metadata.orders.order"] == {"id": "o-1", "items": 2}
    assert [s.parent_span_id for s in by_name["fetch_price"]] == [prices.span_id] * 2
    # OTLP keeps the conventions' service id whatever LAMBDA_XRAY_AWS_NAMES says.
    (ddb,) = by_name["DynamoDB.PutItem"]
    (sfn,) = by_name["SFN.StartExecution"]
    assert ddb.kind == sfn.kind == CLIENT
    assert ddb.parent_span_id == save.span_id and sfn.parent_span_id == notify.span_id
    assert attrs(ddb)["rpc.service"] == "DynamoDB"
    assert attrs(ddb)["aws.dynamodb.table_names"] == ["orders"]
    assert attrs(sfn)["rpc.method"] == "StartExecution"


def test_a_failing_aws_xray_sdk_handler_sends_error_spans_with_the_exception(
    sdk_compat_otlp: Function, receiver: OtlpReceiver, canned: CannedServer
) -> None:
    outcome, trace_id = sdk_compat_otlp.invoke(
        {"url": canned.url, "order": {"id": "o-4", "bad": True}}
    )
    assert outcome.kind == "error" and outcome.json()["errorType"] == "ValueError"
    spans = spans_for(receiver, trace_id)
    (root,) = [s for s in spans if s.kind == SERVER]
    (validate,) = [s for s in spans if s.name == "validate_order"]
    for span in (validate, root):
        assert span.status.code == STATUS_ERROR
        (event,) = span.events
        assert event.name == "exception"
        assert attrs(event)["exception.type"] == "ValueError"
    assert [s.name for s in spans if s.parent_span_id == root.span_id] == ["validate_order"]


# -- Powertools Tracer -------------------------------------------------------------------


@pytest.fixture(scope="module")
def powertools_original(start: Callable[..., Function], collector: Collector) -> Function:
    return start(
        powertools_app(POWERTOOLS_IMPORT_ORIGINAL),
        "app.handler",
        AWS_XRAY_DAEMON_ADDRESS=collector.address,
    )


@pytest.fixture(scope="module")
def powertools_compat(start: Callable[..., Function], collector: Collector) -> Function:
    return start(
        powertools_app(POWERTOOLS_IMPORT_COMPAT),
        WRAPPER,
        AWS_XRAY_DAEMON_ADDRESS=collector.address,
        LAMBDA_XRAY_AWS_NAMES="sdk",
    )


@pytest.fixture(scope="module")
def powertools_compat_otlp(start: Callable[..., Function], receiver: OtlpReceiver) -> Function:
    return start(
        powertools_app(POWERTOOLS_IMPORT_COMPAT),
        WRAPPER,
        AWS_XRAY_DAEMON_ADDRESS=receiver.address,
        LAMBDA_XRAY_FORMAT="otlp",
    )


POWERTOOLS_TREE = [
    ("## app.charge", (("PaymentStatus", "CONFIRMED"),), [("dynamodb", (), [])]),
    ("## app.fetch_rate", (), []),
    ("## app.ledger", (("ledger", "o-1"),), []),
    ("## app.line_items", (), []),
    ("states", (), []),
]


def test_a_powertools_handler_has_one_handler_subsegment_with_the_tracer_service(
    powertools_compat: Function, collector: Collector, canned: CannedServer
) -> None:
    outcome, trace_id = powertools_compat.invoke({"url": canned.url, **ORDER})
    assert outcome.kind == "response" and outcome.json() == {
        "order": "o-1",
        "items": 2,
        "rate": 1.0,
    }
    docs = documents(collector, trace_id, "## app.handler")
    for doc in docs:
        validate_subsegment(doc)
    assert not [d for d in docs if d["name"] == "## handler"]  # no second handler subsegment
    root = one(docs, "## app.handler")
    assert root["annotations"]["Service"] == "payment"
    assert isinstance(root["annotations"]["ColdStart"], bool)
    assert tree(docs, root["id"]) == POWERTOOLS_TREE
    charge = one(docs, "## app.charge")
    assert charge["metadata"]["payment"]["charge"] == {"order": "o-1"}
    # Responses are recorded only when asked for (POWERTOOLS_TRACER_CAPTURE_RESPONSE unset).
    assert "app.charge response" not in charge["metadata"]["payment"]
    assert "metadata" not in root or "handler response" not in root["metadata"].get("payment", {})


def test_a_failing_powertools_method_records_its_error_and_the_handler_fails(
    powertools_compat: Function, collector: Collector, canned: CannedServer
) -> None:
    outcome, trace_id = powertools_compat.invoke(
        {"url": canned.url, "order": {"id": "o-3", "bad": True}}
    )
    assert outcome.kind == "error" and outcome.json()["errorType"] == "ValueError"
    docs = documents(collector, trace_id, "## app.handler")
    for doc in docs:
        validate_subsegment(doc)
    charge = one(docs, "## app.charge")
    assert charge["fault"] is True
    assert charge["metadata"]["payment"]["app.charge error"] == {"type": "ValueError"}
    root = one(docs, "## app.handler")
    assert root["fault"] is True
    assert root["metadata"]["payment"]["handler error"] == {"type": "ValueError"}


def test_the_same_powertools_handler_gives_the_same_tree_as_under_real_powertools(
    powertools_original: Function,
    powertools_compat: Function,
    collector: Collector,
    canned: CannedServer,
) -> None:
    event = {"url": canned.url, **ORDER}
    outcome, real_trace = powertools_original.invoke(event)
    assert outcome.kind == "response", powertools_original.proc.log()[-2000:]
    _, compat_trace = powertools_compat.invoke(event)
    real_docs = flatten(documents(collector, real_trace, "## handler"))
    compat_docs = documents(collector, compat_trace, "## app.handler")
    real_root = one(real_docs, "## handler")  # Powertools' own, under Lambda's segment
    compat_root = one(compat_docs, "## app.handler")  # the layer's, in its place
    assert real_root["parent_id"] == compat_root["parent_id"] == PARENT
    assert real_root["annotations"]["Service"] == compat_root["annotations"]["Service"]
    assert set(real_root["annotations"]) <= set(compat_root["annotations"])
    real_tree = tree(real_docs, real_root["id"])
    assert real_tree == tree(compat_docs, compat_root["id"]) == POWERTOOLS_TREE


def test_a_powertools_handler_sends_otlp_spans(
    powertools_compat_otlp: Function, receiver: OtlpReceiver, canned: CannedServer
) -> None:
    outcome, trace_id = powertools_compat_otlp.invoke({"url": canned.url, **ORDER})
    assert outcome.kind == "response"
    spans = spans_for(receiver, trace_id)
    (root,) = [s for s in spans if s.kind == SERVER]
    assert attrs(root)["Service"] == "payment"
    children = sorted(s.name for s in spans if s.parent_span_id == root.span_id)
    assert children == [
        "## app.charge",
        "## app.fetch_rate",
        "## app.ledger",
        "## app.line_items",
        "SFN.StartExecution",
    ]
    (charge,) = [s for s in spans if s.name == "## app.charge"]
    assert charge.kind == INTERNAL
    assert attrs(charge)["PaymentStatus"] == "CONFIRMED"
    (ddb,) = [s for s in spans if s.name == "DynamoDB.PutItem"]
    assert ddb.parent_span_id == charge.span_id and attrs(ddb)["rpc.service"] == "DynamoDB"
    assert not [s for s in spans if s.status.code == STATUS_ERROR]
