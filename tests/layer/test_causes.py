"""Exception causes, in-process: messages, chains, and stacks that point at the user's line.

The function's code is a real module in a task root (``LAMBDA_TASK_ROOT``)
run through the real handler wrapper; its AWS and HTTP calls are real
botocore and requests calls to a port nothing listens on, so they fail the
way a call to an unreachable endpoint does. Documents are taken with the
layer's ``InMemoryEmitter`` and validated against AWS's schema. The same
rules under the real Lambda runtime client are in test_redaction_runtime.py.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_servers import closed_port

from lambda_xray import causes, handler, testing, wire
from lambda_xray.document import Subsegment
from lambda_xray.testing import InMemoryEmitter
from lambda_xray.wire import encode

pytestmark = pytest.mark.timeout(60)

Check = Callable[[list[dict[str, Any]]], None]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

APP = """
import boto3
import requests
from botocore.config import Config


def _s3(endpoint):
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    ).client("s3", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))


def fetch(endpoint):
    return _s3(endpoint).get_object(Bucket="media", Key="users/alice@example.com/a.png")  # CALL


def nested(depth, endpoint):
    if depth:
        return nested(depth - 1, endpoint)
    return fetch(endpoint)


def handler(event, context):
    if event["do"] == "s3":
        return fetch(event["endpoint"])  # HANDLER-CALL
    if event["do"] == "deep":
        return nested(60, event["endpoint"])
    if event["do"] == "http":
        return requests.get(event["endpoint"] + "/users?api_key=SECRET", timeout=2)  # HTTP
    raise ValueError("payment failed calling https://api.example.com/pay?card=4111111111111111")
"""


def line_of(marker: str) -> int:
    (number,) = [n for n, line in enumerate(APP.splitlines(), 1) if line.endswith(marker)]
    return number


@pytest.fixture
def app(handler_dir: Path, xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch) -> Path:
    (handler_dir / "app.py").write_text(APP)
    importlib.invalidate_caches()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(handler_dir))
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "app.handler")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE_ID};Parent={PARENT};Sampled=1")
    return handler_dir


def invoke(event: dict[str, Any]) -> BaseException:
    with pytest.raises(Exception) as raised:
        handler.handler(event, None)
    return raised.value


def refused() -> str:
    return f"http://127.0.0.1:{closed_port()}"


def failed_call(xray: InMemoryEmitter, namespace: str) -> dict[str, Any]:
    (call,) = [d for d in xray.documents if d.get("namespace") == namespace]
    exception: dict[str, Any] = call["cause"]["exceptions"][0]
    return exception


# -- stacks of failed calls --------------------------------------------------------------


def test_a_failed_aws_calls_stack_starts_at_the_handlers_calling_line(
    app: Path, xray: InMemoryEmitter, assert_valid: Check
) -> None:
    invoke({"do": "s3", "endpoint": refused()})
    assert_valid(xray.documents)
    stack = failed_call(xray, "aws")["stack"]
    assert stack[0] == {"path": "app.py", "line": line_of("# HANDLER-CALL"), "label": "handler"}
    assert stack[1] == {"path": "app.py", "line": line_of("# CALL"), "label": "fetch"}
    assert stack[2]["path"] == "botocore/client.py"  # then down into the library
    assert all(not frame["path"].startswith("/") for frame in stack)
    assert not [frame for frame in stack if "lambda_xray" in frame["path"]]


def test_a_failed_http_calls_stack_starts_at_the_handlers_calling_line(
    app: Path, xray: InMemoryEmitter
) -> None:
    invoke({"do": "http", "endpoint": refused()})
    stack = failed_call(xray, "remote")["stack"]
    assert stack[0] == {"path": "app.py", "line": line_of("# HTTP"), "label": "handler"}
    assert stack[1]["path"] == "requests/api.py"
    assert not [frame for frame in stack if "lambda_xray" in frame["path"]]


def test_a_deep_stack_keeps_the_innermost_frames_and_counts_the_rest(
    app: Path, xray: InMemoryEmitter, assert_valid: Check
) -> None:
    invoke({"do": "deep", "endpoint": refused()})
    assert_valid(xray.documents)
    exception = failed_call(xray, "aws")
    stack = exception["stack"]
    assert len(stack) == causes.MAX_FRAMES
    assert exception["truncated"] > 30  # 60 calls of nested() and the handler, at least
    labels = [frame["label"] for frame in stack]
    assert "nested" in labels  # the user's innermost frames, then the library's
    assert labels.index("fetch") == len(labels) - labels[::-1].index("nested")


def test_the_handlers_fault_has_no_frame_of_the_layer(
    app: Path, xray: InMemoryEmitter, assert_valid: Check
) -> None:
    invoke({"do": "fail"})
    assert_valid(xray.documents)
    (root,) = xray.documents
    (exception,) = root["cause"]["exceptions"]
    assert [frame["label"] for frame in exception["stack"]] == ["handler"]
    assert exception["stack"][0]["path"] == "app.py"


def test_a_call_failing_outside_the_handler_wrapper_keeps_its_callers(
    xray: InMemoryEmitter,
) -> None:
    """A thread or a test has no layer frame above it: every caller is kept (bounded)."""
    import requests

    with testing.invocation(), pytest.raises(requests.ConnectionError):
        requests.get(refused(), timeout=2)
    stack = failed_call(xray, "remote")["stack"]
    labels = [frame["label"] for frame in stack]
    assert "test_a_call_failing_outside_the_handler_wrapper_keeps_its_callers" in labels
    assert not [frame for frame in stack if "lambda_xray" in frame["path"]]


# -- messages --------------------------------------------------------------------------


def test_the_handlers_message_is_recorded_once_and_redacted(
    app: Path, xray: InMemoryEmitter
) -> None:
    raised = invoke({"do": "fail"})
    assert "card=4111" in str(raised)  # the function still gets its exception unchanged
    sent = b"".join(xray.datagrams)
    # The card number, not any "4111": a start_time such as 1796041112.5 holds those digits.
    assert b"card=" not in sent and b"4111111111111111" not in sent
    assert sent.count(b"payment failed calling https://api.example.com/pay") == 1
    (root,) = xray.documents
    assert root["metadata"]["traced-test"]["error"] == {"type": "ValueError"}


def test_a_client_error_leaving_the_handler_is_recorded_once(
    app: Path, xray: InMemoryEmitter
) -> None:
    invoke({"do": "s3", "endpoint": refused()})
    call = next(d for d in xray.documents if d.get("namespace") == "aws")
    root = next(d for d in xray.documents if d["name"] == "## app.handler")
    assert root["cause"] == call["cause"]["exceptions"][0]["id"]  # a reference, not a copy
    assert b"alice" not in b"".join(xray.datagrams)


def raise_chain() -> BaseException:
    try:
        try:
            raise KeyError("inner https://h/p?token=INNER")
        except KeyError as inner:
            raise ValueError("outer") from inner
    except ValueError as exc:
        return exc


def test_every_exception_of_a_chain_is_recorded_redacted(assert_valid: Check) -> None:
    sub = Subsegment("work", TRACE_ID, PARENT)
    sub.add_exception(raise_chain())
    sub.end_time = sub.start_time + 0.001
    doc = decoded(encode(sub))
    assert_valid([doc])
    outer, inner = doc["cause"]["exceptions"]
    assert (outer["type"], outer["message"]) == ("ValueError", "outer")
    assert (inner["type"], inner["message"]) == ("KeyError", "'inner https://h/p'")
    assert outer["cause"] == inner["id"]
    assert outer["stack"][-1]["label"] == "raise_chain"
    assert doc["cause"]["working_directory"]
    causes.forget()


def test_an_exception_recorded_twice_is_referenced_by_id(assert_valid: Check) -> None:
    exc = raise_chain()
    child, parent = Subsegment("a", TRACE_ID, PARENT), Subsegment("b", TRACE_ID, PARENT)
    child.add_exception(exc, remote=True)
    parent.add_exception(exc)
    for sub in (child, parent):
        sub.end_time = sub.start_time
    child_doc, parent_doc = decoded(encode(child)), decoded(encode(parent))
    assert_valid([child_doc, parent_doc])
    assert child_doc["cause"]["exceptions"][0]["remote"] is True
    assert parent_doc["cause"] == child_doc["cause"]["exceptions"][0]["id"]
    causes.forget()


class Unreadable(Exception):
    def __str__(self) -> str:
        raise SystemExit("no message")


def test_a_message_that_cannot_be_read_is_replaced() -> None:
    sub = Subsegment("a", TRACE_ID, PARENT)
    sub.add_exception(Unreadable())
    assert isinstance(sub.cause, dict)
    assert sub.cause["exceptions"][0]["message"] == "<exception message could not be read>"
    causes.forget()


# -- paths -----------------------------------------------------------------------------


def raise_from(filename: str) -> BaseException:
    """An exception raised by code whose file is ``filename`` (compiled from a string)."""
    namespace: dict[str, Any] = {}
    exec(compile("def boom():\n    raise RuntimeError('x')\n", filename, "exec"), namespace)
    try:
        namespace["boom"]()
    except RuntimeError as exc:
        return exc
    raise AssertionError("did not raise")


@pytest.mark.parametrize(
    ("filename", "recorded"),
    [
        ("/var/task/handlers/orders.py", "handlers/orders.py"),
        ("/opt/python/shared/db.py", "python/shared/db.py"),
        ("<string>", "<string>"),
        ("/nowhere/else.py", "/nowhere/else.py"),
    ],
)
def test_paths_are_relative_to_the_task_root_or_the_layers(
    layer: None, monkeypatch: pytest.MonkeyPatch, filename: str, recorded: str
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != "/"])
    cause = causes.cause_for(raise_from(filename))
    assert cause["exceptions"][0]["stack"][-1] == {"path": recorded, "line": 2, "label": "boom"}
    causes.forget()


def test_library_paths_are_relative_to_their_sys_path_entry(layer: None) -> None:
    import json

    try:
        json.loads("{")
    except ValueError as exc:
        cause = causes.cause_for(exc)
    paths = [frame["path"] for frame in cause["exceptions"][0]["stack"]]
    assert "json/decoder.py" in paths
    causes.forget()


def decoded(datagram: bytes) -> dict[str, Any]:
    import json

    doc: dict[str, Any] = json.loads(datagram[len(wire.HEADER) :])
    return doc


# -- cost ------------------------------------------------------------------------------

FIRST_INVOCATION = r"""
import os, sys

sys.path[:0] = sys.argv[1:3]
os.environ.update(
    LAMBDA_XRAY_HANDLER="plain.handler",
    AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:9",
    _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
)
import lambda_xray.handler

try:
    lambda_xray.handler.handler({"fail": sys.argv[3] == "fail"}, None)
except ValueError:
    pass
print(sorted(m for m in ("lambda_xray.causes", "lambda_xray.redact") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("outcome", "loaded"),
    [("succeed", "[]"), ("fail", "['lambda_xray.causes', 'lambda_xray.redact']")],
)
def test_only_a_failure_loads_the_cause_and_redaction_modules(
    tmp_path: Path, outcome: str, loaded: str
) -> None:
    import subprocess

    (tmp_path / "plain.py").write_text(
        "def handler(event, context):\n"
        "    if event['fail']:\n"
        "        raise ValueError('no')\n"
        "    return 1\n"
    )
    layer_python = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
    done = subprocess.run(
        [sys.executable, "-c", FIRST_INVOCATION, str(layer_python), str(tmp_path), outcome],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == loaded
