"""Init under the real awslambdaric: the function's module loads before the first invoke,
calls made during Init are never "context missing", a handler that cannot load fails
exactly as without the layer, and threads carry the user's subsegment.

Each case starts ``python -m awslambdaric`` processes against the harness's Runtime
API (several in parallel), with calls going over real HTTP to a canned server and
documents over real UDP to a collector; every document is schema-validated.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_runtime_api import LambdaProcess, Outcome, RuntimeApi, new_trace_id
from lx_schema import validate_subsegment
from lx_servers import Canned, CannedServer, aws_json_ok

from cdk_lambda_xray.local.collector import Collector
from lambda_xray.testing import subsegments

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
WRAPPER = "lambda_xray.handler.handler"
PARENT = "53995c3f42cd8ad8"

pytestmark = pytest.mark.timeout(120)

# The function: at import it makes an AWS call, an HTTP call and opens a subsegment
# (what module-level code does), then optionally takes a while (INIT_SLEEP).
APP = """
import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

IMPORT_STARTED = time.time()

import boto3
from botocore.config import Config

from lambda_xray import subsegment

INIT_CALLS = {}


def _outcome(call):
    try:
        return call()
    except BaseException as e:
        return type(e).__name__


def _aws():
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    client = boto3.client("dynamodb", endpoint_url=ENDPOINT + "/ok", config=config)
    return client.list_tables()["TableNames"][0]


def _http():
    with urllib.request.urlopen(ENDPOINT + "/page/init", timeout=5) as r:
        return r.status


def _block():
    with subsegment("init work") as scope:
        return "recorded" if scope.subsegment is not None else "not traced"


ENDPOINT = os.environ.get("INIT_ENDPOINT")
if ENDPOINT:
    INIT_CALLS = {"aws": _outcome(_aws), "http": _outcome(_http), "block": _outcome(_block)}
time.sleep(float(os.environ.get("INIT_SLEEP", "0")))
IMPORT_DONE = time.time()


def handler(event, context):
    return {"import_started": IMPORT_STARTED, "import_done": IMPORT_DONE, "init": INIT_CALLS}


def fanout(event, context):
    def get(i):
        with urllib.request.urlopen(f"{event['url']}/page/fan-{i}", timeout=5) as r:
            return r.status

    with subsegment("fan-out"):
        with ThreadPoolExecutor(max_workers=3) as pool:
            statuses = list(pool.map(get, range(4)))
        worker = threading.Thread(target=get, args=(9,))
        worker.start()
        worker.join()
    return statuses


class Unprintable:
    def __repr__(self):
        raise KeyboardInterrupt("repr")

    __str__ = __repr__


def unprintable(event, context):
    return Unprintable()
"""


def header(trace_id: str) -> str:
    return f"Root={trace_id};Parent={PARENT};Sampled=1"


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init-task")
    (root / "app.py").write_text(APP)
    (root / "broken.py").write_text("def handler(:\n")
    return root


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    routes: dict[str, Canned | list[Canned]] = {
        "ok": aws_json_ok({"TableNames": ["canned"]}, "REQ-INIT"),
        "page": Canned(200, b"hello"),
    }
    with CannedServer(routes) as server:
        yield server


class Runtime:
    """One awslambdaric process, its Runtime API and the collector it sends to."""

    def __init__(
        self, stack: contextlib.ExitStack, root: Path, log: Path, handler: str, env: Any
    ) -> None:
        self.collector = stack.enter_context(Collector())
        self.api = stack.enter_context(RuntimeApi())
        self.proc = stack.enter_context(
            LambdaProcess(
                self.api,
                handler=handler,
                task_root=root,
                layer_python=LAYER_PYTHON,
                log_path=log,
                env={"AWS_XRAY_DAEMON_ADDRESS": self.collector.address, **env},
            )
        )

    def invoke(self, event: Any, trace: str | None) -> Outcome:
        try:
            return self.api.invoke(event, trace_id=trace, timeout=30)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e

    def docs(self, trace_id: str, count: int) -> list[dict[str, Any]]:
        def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [d for d in subsegments(docs) if d.get("trace_id") == trace_id]

        try:
            self.collector.wait_for(lambda d: len(mine(d)) >= count, 10)
        except TimeoutError as e:
            raise AssertionError(f"{mine(self.collector.documents)}\n{self.proc.log()}") from e
        time.sleep(0.05)
        got = mine(self.collector.documents)
        for doc in got:
            validate_subsegment(doc)
        return got


def start_all(
    stack: contextlib.ExitStack, root: Path, logs: Path, specs: Mapping[str, tuple[str, Any]]
) -> dict[str, Runtime]:
    """Start every runtime at once, then wait until each finished its Init (polls)."""
    runtimes = {
        name: Runtime(stack, root, logs / f"{name}.log", handler, env)
        for name, (handler, env) in specs.items()
    }
    for runtime in runtimes.values():
        runtime.api.wait_polling(timeout=60)
    return runtimes


# -- the function's module loads during Init ----------------------------------------------

MODES = ["LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR"]


@pytest.fixture(scope="module")
def runtimes(
    task_root: Path, canned: CannedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Runtime]]:
    logs = tmp_path_factory.mktemp("init-logs")
    specs: dict[str, tuple[str, Any]] = {
        mode: (
            WRAPPER,
            {
                "LAMBDA_XRAY_HANDLER": "app.handler",
                "AWS_XRAY_CONTEXT_MISSING": mode,
                "INIT_ENDPOINT": canned.url,
                "INIT_SLEEP": "0.5",
            },
        )
        for mode in MODES
    }
    specs["cold"] = specs["LOG_ERROR"]  # its own process: its first invoke is the cold one
    specs["fanout"] = (WRAPPER, {"LAMBDA_XRAY_HANDLER": "app.fanout"})
    specs["unprintable"] = (
        WRAPPER,
        {"LAMBDA_XRAY_HANDLER": "app.unprintable", "LAMBDA_XRAY_CAPTURE_RESPONSE": "true"},
    )
    specs["unprintable-plain"] = ("app.unprintable", {})
    with contextlib.ExitStack() as stack:
        yield start_all(stack, task_root, logs, specs)


def test_the_module_is_imported_before_the_first_invoke_is_sent(
    runtimes: dict[str, Runtime],
) -> None:
    runtime = runtimes["cold"]
    time.sleep(0.2)  # the runtime is idle, waiting for its first invoke
    sent = time.time()
    trace_id = new_trace_id()
    outcome = runtime.invoke({}, header(trace_id))
    assert outcome.kind == "response"
    got = outcome.json()
    assert got["import_started"] < got["import_done"] < sent
    (root,) = runtime.docs(trace_id, 1)
    assert root["annotations"]["ColdStart"] is True
    assert root["annotations"]["InitDuration"] >= 0.5  # the module's own import time
    received = runtime.api.served_at[outcome.request_id]
    # No user import inside the invocation: the handler starts right after the invoke
    # arrives (well under the module's 0.5 s import, even on a loaded machine).
    assert root["start_time"] - received < 0.25, root["start_time"] - received


@pytest.mark.parametrize("mode", MODES)
def test_calls_during_init_work_and_are_not_traced_in_every_mode(
    mode: str, runtimes: dict[str, Runtime], canned: CannedServer
) -> None:
    runtime = runtimes[mode]
    traces = [new_trace_id(), new_trace_id()]
    for trace_id in traces:
        outcome = runtime.invoke({}, header(trace_id))
        assert outcome.kind == "response", outcome.body
        assert outcome.json()["init"] == {"aws": "canned", "http": 200, "block": "not traced"}
        (root,) = runtime.docs(trace_id, 1)
        assert root["name"] == "## app.handler"
    # Nothing was sent for the Init calls: every document is an invocation's own.
    assert {d["name"] for d in runtime.collector.documents} == {"## app.handler"}
    init_requests = [r for r in canned.received if r.path in ("/ok", "/page/init")]
    assert init_requests and all(r.trace_header is None for r in init_requests)
    log = runtime.proc.log()
    assert "cannot record" not in log and "ContextMissingError" not in log


def test_executor_and_thread_work_nests_under_the_users_subsegment(
    runtimes: dict[str, Runtime], canned: CannedServer
) -> None:
    runtime = runtimes["fanout"]
    trace_id = new_trace_id()
    outcome = runtime.invoke({"url": canned.url}, header(trace_id))
    assert outcome.json() == [200, 200, 200, 200]
    docs = runtime.docs(trace_id, 7)  # root, fan-out, 4 pool calls, 1 thread call
    (root,) = [d for d in docs if d["name"] == "## app.fanout"]
    (fan_out,) = [d for d in docs if d["name"] == "fan-out"]
    calls = [d for d in docs if d.get("namespace") == "remote"]
    assert fan_out["parent_id"] == root["id"]
    assert len(calls) == 5
    assert {c["parent_id"] for c in calls} == {fan_out["id"]}
    for call in calls:
        path = call["http"]["request"]["url"].rsplit("/", 1)[1]
        (received,) = [r for r in canned.received if r.path == f"/page/{path}"]
        assert received.trace_header == f"Root={trace_id};Parent={call['id']};Sampled=1"


def test_a_result_whose_repr_raises_keyboardinterrupt_fails_as_without_the_layer(
    runtimes: dict[str, Runtime],
) -> None:
    plain = runtimes["unprintable-plain"].invoke({}, header(new_trace_id()))
    traced = runtimes["unprintable"]
    for _ in range(2):  # the runtime process survives and answers again
        trace_id = new_trace_id()
        outcome = traced.invoke({}, header(trace_id))
        assert (outcome.kind, outcome.json()["errorType"]) == (
            plain.kind,
            plain.json()["errorType"],
        )
        assert outcome.json()["errorType"] == "Runtime.MarshalError"
        (root,) = traced.docs(trace_id, 1)  # the handler subsegment is still sent
        assert root["metadata"]["traced-test"]["response"].startswith("<unreadable Unprintable")


# -- a handler that cannot be loaded --------------------------------------------------------

BAD_HANDLERS = {
    "Runtime.ImportModuleError": "nope.handler",
    "Runtime.HandlerNotFound": "app.missing",
    "Runtime.UserCodeSyntaxError": "broken.handler",
}


@pytest.fixture(scope="module")
def bad_runtimes(
    task_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Runtime]]:
    """Each bad handler twice: behind the layer, and given to awslambdaric directly."""
    logs = tmp_path_factory.mktemp("bad-logs")
    specs: dict[str, tuple[str, Any]] = {}
    for error_type, name in BAD_HANDLERS.items():
        specs[error_type] = (WRAPPER, {"LAMBDA_XRAY_HANDLER": name})
        specs[error_type + " plain"] = (name, {})
    with contextlib.ExitStack() as stack:
        yield start_all(stack, task_root, logs, specs)


@pytest.mark.parametrize("error_type", list(BAD_HANDLERS))
def test_a_handler_that_cannot_load_fails_each_invoke_like_the_runtime_would(
    error_type: str, bad_runtimes: dict[str, Runtime]
) -> None:
    plain = bad_runtimes[error_type + " plain"].api.wait_init_error().json()
    traced = bad_runtimes[error_type]
    log = traced.proc.log()  # Init is over, nothing invoked yet
    assert log.count("could not be loaded during Init") == 1, log
    assert error_type in log
    for _ in range(2):
        outcome = traced.invoke({}, header(new_trace_id()))
        assert outcome.kind == "error"
        body = outcome.json()
        assert (body["errorType"], body["errorMessage"]) == (
            plain["errorType"],
            plain["errorMessage"],
        )
        assert body["errorType"] == error_type
    assert traced.proc.log().count("could not be loaded during Init") == 1
