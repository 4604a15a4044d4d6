"""The layer's OTLP output side by side with the real ADOT Python distro in lite mode.

One function, two runtimes under the real ``awslambdaric``: this layer
(``LAMBDA_XRAY_FORMAT=otlp``) and ADOT's distro (``aws-opentelemetry-distro``
in ``.venv-adot``, lite mode ``OTEL_AWS_LAMBDA_FAST_START=true``, set up as
ADOT's Lambda layer sets it up: ``lx_adot``). Both get the same invocations
with the same trace header; their calls go to the same MiniStack (DynamoDB,
S3, SQS) and the same local HTTP server; each sends real UDP datagrams to its
own receiver. The tests assert that the datagrams are framed alike and that
the attributes Transaction Search and the trace map use agree; every
attribute ADOT sends is either the same in ours, renamed (with the same
value), or listed as not sent, and ``docs/layer.md`` ("Differences from
ADOT") lists each difference.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

import lx_adot
from lx_otlp import DAEMON_LIMIT, Datagram, OtlpReceiver, attrs
from lx_runtime_api import LambdaProcess, Outcome, RuntimeApi
from lx_servers import Canned, CannedServer

from cdk_lambda_xray.local.emulator import MiniStack

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
PARENT = "53995c3f42cd8ad8"
SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2
TABLE, BUCKET, QUEUE = "parity-table", "parity-bucket", "parity-queue"

pytestmark = pytest.mark.timeout(240)

APP = """
import boto3
import urllib3
from botocore.config import Config

_http = urllib3.PoolManager()


def _client(service, endpoint):
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10)
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(service, endpoint_url=endpoint, config=config)


def handler(event, context):
    do, endpoint, url = event["do"], event["endpoint"], event["url"]
    if do == "calls":
        _client("dynamodb", endpoint).put_item(TableName=event["table"], Item={"pk": {"S": "1"}})
        _client("s3", endpoint).put_object(Bucket=event["bucket"], Key="private/k.txt", Body=b"x")
        sqs = _client("sqs", endpoint)
        queue_url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
        _http.request("GET", url + "/page?token=SECRET-7")
    elif do == "aws_error":
        _client("dynamodb", endpoint).get_item(TableName="no-such-table", Key={"pk": {"S": "1"}})
    elif do == "http_error":
        _http.request("GET", url + "/gone")
    elif do == "raise":
        raise ValueError("payment failed")
    return {}
"""

# -- how ours relates to ADOT's, attribute by attribute ---------------------------------------

#: Span attributes both send with the same value.
SAME = frozenset(
    {
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "cloud.region",
        "aws.dynamodb.table_names",
        "retry_attempts",
        "aws.local.service",
        "aws.local.operation",
        "aws.local.environment",
        "aws.remote.service",
        "aws.remote.operation",
        "cloud.resource_id",  # the handler span: the function's ARN from the Lambda context
        "cloud.account.id",
    }
)

#: Both send it; its value is the call's (the invocation's) own: each side made its own.
PER_CALL = frozenset({"aws.request_id", "faas.invocation_id"})


def _without_query(url: Any) -> Any:
    return url.split("?", 1)[0] if isinstance(url, str) else url


#: ADOT's name -> (ours, what ADOT's value must become to equal ours).
RENAMED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # ADOT lite follows the older HTTP conventions unless OTEL_SEMCONV_STABILITY_OPT_IN=http.
    "http.status_code": ("http.response.status_code", lambda v: v),
    "http.method": ("http.request.method", lambda v: v),
    "http.url": ("url.full", _without_query),  # ours never carries a query string
    # Upstream's SQS name; ours is ADOT's own (what its full mode adds).
    "aws.queue_url": ("aws.sqs.queue.url", lambda v: v),
}

#: ADOT attributes the layer does not send.
NOT_SENT = frozenset(
    {
        "server.address",  # on AWS calls: the recording has no endpoint; rpc.* names the service
        "server.port",
        "net.peer.name",  # the deprecated host:port duplicate of server.address
        "db.system",  # on DynamoDB calls, a duplicate of rpc.service
        "db.operation",  # a duplicate of rpc.method
        "messaging.system",  # upstream's older SQS conventions; ours: aws.sqs.queue.*
        "messaging.url",
        "messaging.destination",
        "messaging.message.id",
    }
)

#: Resource attributes both send with the same value.
SAME_RESOURCE = frozenset(
    {
        "service.name",
        "cloud.provider",
        "cloud.platform",
        "cloud.region",
        "faas.name",
        "faas.version",
        "faas.instance",
        "aws.log.group.names",
        "telemetry.sdk.language",
    }
)
#: Resource attributes that say which SDK sent the spans: ours says the layer.
OWN_RESOURCE = frozenset({"telemetry.sdk.name", "telemetry.sdk.version"})


# -- the two runtimes ---------------------------------------------------------------------


class Runtime:
    """One awslambdaric process and the receiver of its datagrams."""

    def __init__(self, api: RuntimeApi, proc: LambdaProcess, receiver: OtlpReceiver) -> None:
        self.api, self.proc, self.receiver = api, proc, receiver

    def invoke(self, event: dict[str, Any], header: str) -> tuple[Outcome, list[Datagram]]:
        self.receiver.take()
        try:
            outcome = self.api.invoke(event, trace_id=header, timeout=90)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e
        return outcome, self.receiver.quiet_for(0.4)


class Run:
    """One invocation made on both runtimes: the X-Ray trace id and what each sent."""

    def __init__(
        self,
        trace_id: str,
        ours: tuple[Outcome, list[Datagram]],
        adot: tuple[Outcome, list[Datagram]],
    ) -> None:
        self.trace_id = trace_id
        self.ours_outcome, self.ours = ours
        self.adot_outcome, self.adot = adot


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniStack]:
    with MiniStack(tmp_path_factory.mktemp("ministack") / "ministack.log", timeout=60) as ms:
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        session.client("dynamodb", endpoint_url=ms.endpoint_url).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        session.client("s3", endpoint_url=ms.endpoint_url).create_bucket(Bucket=BUCKET)
        session.client("sqs", endpoint_url=ms.endpoint_url).create_queue(QueueName=QUEUE)
        yield ms


@pytest.fixture(scope="module")
def web() -> Iterator[CannedServer]:
    with CannedServer({"page": Canned(200, b"hello"), "gone": Canned(404, b"gone")}) as server:
        yield server


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Runtime]]:
    """``ours`` (the layer, OTLP, unsampled spans on) and ``adot`` (ADOT lite), started together."""
    adot_python = lx_adot.require_python()
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    logs = tmp_path_factory.mktemp("logs")
    with contextlib.ExitStack() as stack:
        made = {}
        for name in ("ours", "adot"):
            receiver = stack.enter_context(OtlpReceiver(canonical=name == "ours"))
            api = stack.enter_context(RuntimeApi())
            env = {"AWS_XRAY_DAEMON_ADDRESS": receiver.address}
            if name == "ours":
                env |= {
                    "LAMBDA_XRAY_HANDLER": "app.handler",
                    "LAMBDA_XRAY_FORMAT": "otlp",
                    "LAMBDA_XRAY_OTLP_UNSAMPLED": "true",
                }
                handler, layer, python = "lambda_xray.handler.handler", LAYER_PYTHON, None
            else:
                handler, layer, python = lx_adot.HANDLER, lx_adot.LAYER_PYTHON, adot_python
            proc = LambdaProcess(
                api,
                handler=handler,
                task_root=root,
                layer_python=layer,
                log_path=logs / f"{name}.log",
                env=env,
                python=python,
            )
            if name == "adot":
                proc.env |= lx_adot.lite_environment(proc.env, "app.handler")
            stack.enter_context(proc)
            made[name] = Runtime(api, proc, receiver)
        yield made


@pytest.fixture(scope="module")
def invoke(
    runtimes: dict[str, Runtime], emulator: MiniStack, web: CannedServer
) -> Callable[[str, str], Run]:
    """Run one scenario on both runtimes at once (cached: each scenario runs once)."""
    done: dict[tuple[str, str], Run] = {}

    def run(do: str, sampled: str = "1") -> Run:
        if (do, sampled) not in done:
            trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
            header = f"Root={trace_id};Parent={PARENT};Sampled={sampled}"
            event = {
                "do": do,
                "endpoint": emulator.endpoint_url,
                "url": web.url,
                "table": TABLE,
                "bucket": BUCKET,
                "queue": QUEUE,
            }
            with ThreadPoolExecutor(2) as pool:
                ours = pool.submit(runtimes["ours"].invoke, event, header)
                adot = pool.submit(runtimes["adot"].invoke, event, header)
                done[do, sampled] = Run(trace_id, ours.result(), adot.result())
        return done[do, sampled]

    run("calls")  # both cold starts on the same scenario
    return run


SCENARIOS = ("calls", "aws_error", "http_error", "raise")


def spans(datagrams: list[Datagram]) -> list[Any]:
    return [span for datagram in datagrams for span in datagram.spans]


def server_span(found: list[Any]) -> Any:
    (root,) = [s for s in found if s.kind == SERVER]
    return root


def client_pairs(run: Run) -> list[tuple[Any, Any]]:
    """Our client spans and ADOT's, paired by name in the order they started."""
    ours = sorted((s for s in spans(run.ours) if s.kind == CLIENT), key=_start)
    adot = sorted((s for s in spans(run.adot) if s.kind == CLIENT), key=_start)
    assert [s.name for s in ours] == [s.name for s in adot]
    return list(zip(ours, adot, strict=True))


def _start(span: Any) -> int:
    return int(span.start_time_unix_nano)


def all_pairs(run: Run) -> list[tuple[Any, Any]]:
    return [(server_span(spans(run.ours)), server_span(spans(run.adot))), *client_pairs(run)]


# -- framing ------------------------------------------------------------------------------


@pytest.mark.parametrize("do", SCENARIOS)
def test_both_send_the_daemon_header_t1s_and_base64_of_one_export_request(
    invoke: Callable[..., Run], do: str
) -> None:
    run = invoke(do)
    assert run.ours_outcome.kind == run.adot_outcome.kind
    # lx_otlp.decode checked the header line, the prefix and strict base64 of each.
    for side in (run.ours, run.adot):
        assert side and {d.prefix for d in side} == {"T1S"}
        assert all(d.size < DAEMON_LIMIT for d in side)
        assert len(spans(side)) == len({s.span_id for s in spans(side)})
    assert len(spans(run.ours)) == len(spans(run.adot))


def test_an_unsampled_invocation_is_t1u_on_both_with_the_sampled_flag_clear(
    invoke: Callable[..., Run],
) -> None:
    run = invoke("calls", "0")  # ours with LAMBDA_XRAY_OTLP_UNSAMPLED=true; ADOT always sends
    assert {d.prefix for d in run.ours} == {d.prefix for d in run.adot} == {"T1U"}
    for ours, adot in all_pairs(run):
        assert ours.flags == adot.flags and not ours.flags & 1


# -- the trace ----------------------------------------------------------------------------


@pytest.mark.parametrize("do", SCENARIOS)
def test_the_same_trace_parents_kinds_names_and_flags(invoke: Callable[..., Run], do: str) -> None:
    run = invoke(do)
    trace_id = bytes.fromhex(run.trace_id[2:].replace("-", ""))
    for side in (run.ours, run.adot):
        found = spans(side)
        root = server_span(found)
        assert {s.trace_id for s in found} == {trace_id}
        assert root.parent_span_id == bytes.fromhex(PARENT)  # Parent from _X_AMZN_TRACE_ID
        assert all(s.parent_span_id == root.span_id for s in found if s is not root)
    assert Counter((s.kind, s.name) for s in spans(run.ours) if s.kind != SERVER) == Counter(
        (s.kind, s.name) for s in spans(run.adot) if s.kind != SERVER
    )
    # The invocation's span: ADOT's layer names it after the handler, as ours does; the
    # PyPI Lambda instrumentation this test runs names it after the function.
    assert server_span(spans(run.ours)).name == "app.handler"
    assert server_span(spans(run.adot)).name == "traced-test"
    for ours, adot in all_pairs(run):
        assert ours.flags == adot.flags, ours.name  # sampled; the invocation's parent remote


def test_the_calls_are_the_ones_made(invoke: Callable[..., Run]) -> None:
    names = [s.name for s, _ in client_pairs(invoke("calls"))]
    assert names == [
        "DynamoDB.PutItem",
        "S3.PutObject",
        "SQS.GetQueueUrl",
        "SQS.SendMessage",
        "GET",
    ]


# -- attributes ---------------------------------------------------------------------------


@pytest.mark.parametrize("do", SCENARIOS)
def test_every_adot_attribute_is_the_same_renamed_or_listed_as_not_sent(
    invoke: Callable[..., Run], do: str
) -> None:
    for ours, adot in all_pairs(invoke(do)):
        mine, theirs = attrs(ours), attrs(adot)
        for key, value in theirs.items():
            if key in SAME:
                assert mine.get(key) == value, (ours.name, key)
            elif key in PER_CALL:
                assert isinstance(mine.get(key), str) and mine[key], (ours.name, key)
            elif key in RENAMED:
                name, convert = RENAMED[key]
                assert mine.get(name) == convert(value), (ours.name, key, name)
            else:
                assert key in NOT_SENT, f"{ours.name}: ADOT sends {key}={value!r}, unclassified"
                assert key not in mine


def test_the_ids_of_tables_buckets_and_queues(invoke: Callable[..., Run]) -> None:
    found = {s.name: attrs(s) for s, _ in client_pairs(invoke("calls"))}
    assert found["DynamoDB.PutItem"]["aws.dynamodb.table_names"] == [TABLE]
    # ADOT's own names (its full mode; lite mode sends neither): bucket and queue.
    assert found["S3.PutObject"]["aws.s3.bucket"] == BUCKET
    assert found["SQS.GetQueueUrl"]["aws.sqs.queue.name"] == QUEUE
    assert found["SQS.SendMessage"]["aws.sqs.queue.url"].endswith(f"/{QUEUE}")
    resources = {
        (a["aws.remote.resource.type"], a["aws.remote.resource.identifier"])
        for a in found.values()
        if "aws.remote.resource.type" in a
    }
    assert resources == {
        ("AWS::DynamoDB::Table", TABLE),
        ("AWS::S3::Bucket", BUCKET),
        ("AWS::SQS::Queue", QUEUE),
    }
    assert not any(b"private/k.txt" in d.request.SerializeToString() for d in invoke("calls").ours)


def test_an_http_call_names_the_remote_as_adot_does_without_the_query(
    invoke: Callable[..., Run], web: CannedServer
) -> None:
    ((ours, adot),) = [p for p in client_pairs(invoke("calls")) if p[0].name == "GET"]
    mine, theirs = attrs(ours), attrs(adot)
    assert mine["aws.remote.service"] == theirs["aws.remote.service"] == "127.0.0.1"
    assert mine["aws.remote.operation"] == theirs["aws.remote.operation"] == "GET /page"
    assert theirs["http.url"].endswith("?token=SECRET-7")  # ADOT lite keeps the query string
    assert mine["url.full"] == f"{web.url}/page"
    assert mine["server.address"] == "127.0.0.1" and mine["server.port"] == web.port
    assert not any(b"SECRET-7" in d.request.SerializeToString() for d in invoke("calls").ours)


def test_the_resource_agrees(invoke: Callable[..., Run]) -> None:
    run = invoke("calls")
    for ours, adot in zip(run.ours, run.adot, strict=False):
        ((ours_rs,), (adot_rs,)) = ours.request.resource_spans, adot.request.resource_spans
        mine, theirs = attrs(ours_rs.resource), attrs(adot_rs.resource)
        for key, value in theirs.items():
            if key in SAME_RESOURCE:
                assert mine[key] == value, key
            else:
                assert key in OWN_RESOURCE, f"ADOT's resource has {key}={value!r}, unclassified"
        assert mine["telemetry.sdk.name"] == "lambda_xray"


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("do", ("aws_error", "http_error", "raise"))
def test_failures_have_the_same_status_and_exception_events(
    invoke: Callable[..., Run], do: str
) -> None:
    run = invoke(do)
    assert run.ours_outcome.kind == run.adot_outcome.kind
    failed = 0
    for ours, adot in all_pairs(run):
        assert ours.status.code == adot.status.code, ours.name
        assert ours.status.message == adot.status.message, ours.name
        failed += ours.status.code == STATUS_ERROR
        assert len(ours.events) == len(adot.events), ours.name
        for mine, theirs in zip(ours.events, adot.events, strict=True):
            assert mine.name == theirs.name == "exception"
            a, b = attrs(mine), attrs(theirs)
            # ADOT qualifies a type with its module (botocore.errorfactory.X); ours is the class.
            assert b["exception.type"].rpartition(".")[2] == a["exception.type"]
            assert a["exception.message"] == b["exception.message"]
            assert a["exception.stacktrace"] and b["exception.stacktrace"]
    assert failed >= 1


# -- the documentation --------------------------------------------------------------------


def test_docs_list_every_difference_from_adot() -> None:
    text = (REPO_ROOT / "docs" / "layer.md").read_text()
    found = re.search(r"\n### Differences from ADOT\n(.*?)(?=\n## |\n### |\Z)", text, re.S)
    assert found, "docs/layer.md has no 'Differences from ADOT' section"
    section = found[1]
    for key in sorted(NOT_SENT | set(RENAMED) | OWN_RESOURCE):
        assert f"`{key}`" in section, key
    for ours, _ in RENAMED.values():
        assert f"`{ours}`" in section, ours
