"""The handler wrapper, run in-process: loading the function's handler, one traced invocation each.

Documents travel over real UDP to the local collector. To prove that
*nothing* was sent for an invocation, a marker document is sent after it and
the test waits for the marker: datagrams on loopback from one socket arrive
in order, so anything sent before the marker has arrived by then.
"""

from __future__ import annotations

import glob
import importlib
import json
import shutil
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambda_xray import emitter, handler
from lambda_xray.document import Subsegment

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
LINEAGE = "Lineage=a87bd80c:1|68fd508a:5"
SAMPLED = f"Root={ROOT};Parent={PARENT};Sampled=1;{LINEAGE}"

Check = Callable[[list[dict[str, Any]]], None]

APP = """
import sys
from lambda_xray import _recorder

LOADS = sys.modules.setdefault("app_loads", type(sys)("app_loads"))
LOADS.count = getattr(LOADS, "count", 0) + 1


class Unserialisable:
    def __repr__(self):
        return "<Unserialisable>"


def handler(event, context):
    if event.get("call"):
        sub = _recorder.begin_subsegment("DynamoDB", "aws")
        header = _recorder.outgoing_trace_header(sub)
        if sub is not None:
            _recorder.end_subsegment(sub, status=event["call"])
        return {"header": header, "sub": sub.id if sub else None}
    if event.get("fail"):
        raise ValueError("requested failure")
    if event.get("odd"):
        return Unserialisable()
    return {"ok": True, "secret": "s3cr3t"}
"""


def write(base: Path, relative: str, source: str) -> None:
    path = base / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    importlib.invalidate_caches()


@pytest.fixture
def app(handler_dir: Path, collector: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(handler_dir, "app.py", APP)
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "app.handler")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    sys.modules.pop("app_loads", None)
    return handler_dir


def sent_before_marker(collector: Any) -> list[dict[str, Any]]:
    """Everything the layer sent so far (waits for a marker sent now)."""
    marker = Subsegment("marker", ROOT, PARENT)
    marker.end_time = marker.start_time
    emitter.emit(marker)
    docs = collector.wait_for(lambda d: any(doc["name"] == "marker" for doc in d), timeout=5)
    return [doc for doc in docs if doc["name"] != "marker"]


# -- loading the function's handler ----------------------------------------------


@pytest.mark.parametrize(
    ("files", "name"),
    [
        ({"mod_a.py": "def handle(e, c): return 'top'"}, "mod_a.handle"),
        ({"src_b/mod_b.py": "def handle(e, c): return 'dir'"}, "src_b/mod_b.handle"),
        (
            {
                "pkg_c/__init__.py": "",
                "pkg_c/sub/__init__.py": "",
                "pkg_c/sub/mod_c.py": "def handle(e, c): return 'pkg'",
            },
            "pkg_c.sub.mod_c.handle",
        ),
        (
            {"pkg_d/__init__.py": "", "pkg_d/sub/mod_d.py": "def handle(e, c): return 'slash'"},
            "pkg_d/sub/mod_d.handle",
        ),
    ],
)
def test_handler_names_resolve_like_the_lambda_runtime(
    files: dict[str, str],
    name: str,
    handler_dir: Path,
    layer: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for relative, source in files.items():
        write(handler_dir, relative, source)
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", name)
    expected = {"mod_a": "top", "src_b": "dir", "pkg_c": "pkg", "pkg_d": "slash"}
    assert handler.handler({}, None) == expected[name.split("/")[0].split(".")[0]]


def test_the_handler_is_loaded_once(app: Path) -> None:
    handler.handler({}, None)
    del sys.modules["app"]  # a second import would run the module again
    handler.handler({}, None)
    assert sys.modules["app_loads"].count == 1


@pytest.mark.parametrize(
    ("name", "error_type", "message"),
    [
        (None, "Runtime.MalformedHandlerName", "LAMBDA_XRAY_HANDLER is not set"),
        ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
        (
            "lambda_xray.handler.handler",
            "Runtime.MalformedHandlerName",
            "names the layer's own wrapper",
        ),
        (
            "missing_mod.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_mod': No module named 'missing_mod'",
        ),
        ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ("app.LOADS", "Runtime.HandlerNotFound", "Handler 'LOADS' on module 'app' is not callable"),
        (
            "sys.handler",
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
        ("broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken'"),
    ],
)
def test_a_bad_handler_fails_the_invocation_with_the_runtimes_error(
    name: str | None,
    error_type: str,
    message: str,
    app: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(app, "broken.py", "def handler(:\n")
    if name is None:
        monkeypatch.delenv("LAMBDA_XRAY_HANDLER")
    else:
        monkeypatch.setenv("LAMBDA_XRAY_HANDLER", name)
    with pytest.raises(handler.HandlerError) as caught:
        handler.handler({}, None)
    assert type(caught.value).__name__ == error_type
    assert message in str(caught.value)


def test_a_failed_load_is_retried_on_the_next_invocation(
    handler_dir: Path, layer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "late.handler")
    with pytest.raises(handler.ImportModuleError):
        handler.handler({}, None)
    write(handler_dir, "late.py", "def handler(e, c): return 'loaded'")
    assert handler.handler({}, None) == "loaded"


# -- the invocation's subsegment --------------------------------------------------


def test_each_invocation_is_a_handler_subsegment_under_lambdas_segment(
    app: Path, collector: Any, assert_valid: Check
) -> None:
    assert handler.handler({}, None) == {"ok": True, "secret": "s3cr3t"}
    (doc,) = sent_before_marker(collector)
    assert_valid([doc])
    assert doc["name"] == "## app.handler"
    assert (doc["trace_id"], doc["parent_id"]) == (ROOT, PARENT)
    annotations = dict(doc["annotations"])
    init_duration = annotations.pop("InitDuration")  # the module's import, during Init
    assert isinstance(init_duration, float) and 0 <= init_duration < 5
    assert annotations == {"ColdStart": True, "Service": "traced-test"}
    assert "metadata" not in doc  # the response is not captured by default
    assert "fault" not in doc and "error" not in doc


def test_cold_start_is_true_only_for_the_first_invocation(
    app: Path, collector: Any, assert_valid: Check
) -> None:
    for _ in range(3):
        handler.handler({}, None)
    docs = sent_before_marker(collector)
    assert_valid(docs)
    assert [d["annotations"]["ColdStart"] for d in docs] == [True, False, False]


def test_service_annotation_comes_from_the_service_name_setting(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_SERVICE_NAME", "orders")
    handler.handler({}, None)
    (doc,) = sent_before_marker(collector)
    assert doc["annotations"]["Service"] == "orders"


def test_a_call_inside_the_handler_is_its_child_and_carries_the_header(
    app: Path, collector: Any, assert_valid: Check
) -> None:
    result = handler.handler({"call": 200}, None)
    docs = sent_before_marker(collector)
    assert_valid(docs)
    call, root = docs  # the call closes first
    assert call["parent_id"] == root["id"] and root["parent_id"] == PARENT
    assert call["id"] == result["sub"]
    assert result["header"] == f"Root={ROOT};Parent={call['id']};Sampled=1;{LINEAGE}"
    assert root["start_time"] <= call["start_time"] <= call["end_time"] <= root["end_time"]


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (200, set()),
        (404, {"error"}),
        (429, {"error", "throttle"}),
        (500, {"fault"}),
        (503, {"fault"}),
    ],
)
def test_status_codes_set_the_flags(
    status: int, flags: set[str], app: Path, collector: Any, assert_valid: Check
) -> None:
    handler.handler({"call": status}, None)
    call, root = sent_before_marker(collector)
    assert_valid([call, root])
    assert {f for f in ("error", "throttle", "fault") if call.get(f)} == flags
    assert call["http"]["response"]["status"] == status
    assert not root.get("fault") and not root.get("error")


# -- failures ----------------------------------------------------------------------


def test_the_handlers_exception_is_reraised_unchanged_and_recorded_as_fault(
    app: Path, collector: Any, assert_valid: Check
) -> None:
    with pytest.raises(ValueError, match="requested failure") as caught:
        handler.handler({"fail": True}, None)
    frames = [f.name for f in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "handler" and "handler" in frames[:-1]  # wrapper, then the user's
    (doc,) = sent_before_marker(collector)
    assert_valid([doc])
    assert doc["fault"] is True
    (exc,) = doc["cause"]["exceptions"]
    assert (exc["type"], exc["message"]) == ("ValueError", "requested failure")
    assert exc["stack"][-1]["path"].endswith("app.py")
    # The message is recorded once, in the cause; the metadata names the type.
    assert doc["metadata"]["traced-test"]["error"] == {"type": "ValueError"}


def test_the_exception_object_is_the_one_the_handler_raised(
    handler_dir: Path, layer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        handler_dir,
        "raiser.py",
        """
        import sys
        RAISED = []
        def handler(event, context):
            error = KeyError("k")
            RAISED.append(error)
            raise error
        """,
    )
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "raiser.handler")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    with pytest.raises(KeyError) as caught:
        handler.handler({}, None)
    assert caught.value is sys.modules["raiser"].RAISED[0]
    assert not hasattr(caught.value, "_recorded")  # nothing was attached to it


def test_error_metadata_can_be_switched_off(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_CAPTURE_ERROR", "false")
    with pytest.raises(ValueError):
        handler.handler({"fail": True}, None)
    (doc,) = sent_before_marker(collector)
    assert doc["fault"] is True and "cause" in doc
    assert "metadata" not in doc


def test_response_capture_records_the_response_when_switched_on(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_CAPTURE_RESPONSE", "true")
    handler.handler({}, None)
    result = handler.handler({"odd": True}, None)
    assert repr(result) == "<Unserialisable>"
    plain, odd = sent_before_marker(collector)
    assert_valid([plain, odd])
    assert plain["metadata"]["traced-test"]["response"] == {"ok": True, "secret": "s3cr3t"}
    assert odd["metadata"]["traced-test"]["response"] == "<Unserialisable>"


def test_no_payload_or_response_is_recorded_by_default(app: Path, collector: Any) -> None:
    handler.handler({"password": "hunter2"}, None)
    (doc,) = sent_before_marker(collector)
    text = json.dumps(doc)
    assert "hunter2" not in text and "s3cr3t" not in text


# -- trace headers that record nothing -------------------------------------------


def test_sampled_0_records_nothing_and_propagates_sampled_0(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=0;{LINEAGE}")
    result = handler.handler({"call": 200}, None)
    assert result == {"header": f"Root={ROOT};Sampled=0;{LINEAGE}", "sub": None}
    assert sent_before_marker(collector) == []


def test_pass_through_header_records_nothing_and_is_forwarded_as_received(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT}")
    assert handler.handler({"call": 200}, None) == {"header": f"Root={ROOT}", "sub": None}
    assert sent_before_marker(collector) == []


@pytest.mark.parametrize("value", [None, "", "Root=garbage;Sampled=1", f"Root={ROOT};Parent=x"])
def test_missing_or_malformed_header_records_nothing_and_sends_no_header(
    value: str | None,
    app: Path,
    collector: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if value is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID")
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", value)
    assert handler.handler({"call": 200}, None) == {"header": None, "sub": None}
    assert handler.handler({}, None) == {"ok": True, "secret": "s3cr3t"}
    assert sent_before_marker(collector) == []
    assert not caplog.records  # inside an invocation this is not "context missing"


def test_disabled_tracing_records_nothing_and_adds_no_header(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_DISABLED", "true")
    assert handler.handler({"call": 200}, None) == {"header": None, "sub": None}
    assert sent_before_marker(collector) == []


def test_cold_start_is_used_up_by_an_unsampled_first_invocation(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=0")
    handler.handler({}, None)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    handler.handler({}, None)
    (doc,) = sent_before_marker(collector)
    assert doc["annotations"]["ColdStart"] is False


# -- the daemon cannot break the function ------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1:9", "not an address", "no-such-host.invalid:2000"])
def test_daemon_problems_leave_the_result_unchanged(
    address: str, app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", address)
    for _ in range(3):
        assert handler.handler({}, None) == {"ok": True, "secret": "s3cr3t"}
        result = handler.handler({"call": 500}, None)
        assert result["header"].startswith(f"Root={ROOT};Parent=")
    with pytest.raises(ValueError, match="requested failure"):
        handler.handler({"fail": True}, None)


# -- every Python that Lambda runs -------------------------------------------------

LAMBDA_PYTHONS = ("3.10", "3.11", "3.12", "3.13")

SMOKE = r"""
import json, os, socket, sys

sys.path[:0] = [sys.argv[1], sys.argv[2]]
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(("127.0.0.1", 0))
receiver.settimeout(10)
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % receiver.getsockname()[1]
os.environ["LAMBDA_XRAY_HANDLER"] = "app.handler"
os.environ["_X_AMZN_TRACE_ID"] = sys.argv[3]
from lambda_xray.handler import handler

result = handler({"call": 429}, None)
docs = [json.loads(receiver.recv(70000).split(b"\n", 1)[1]) for _ in range(2)]
print(json.dumps({"result": result, "docs": docs}))
"""


def _interpreter(version: str) -> str | None:
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python")))
    for candidate in candidates:
        if candidate is None:
            continue
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("version", LAMBDA_PYTHONS)
def test_the_wrapper_runs_on_each_lambda_python(
    version: str, handler_dir: Path, xray_schema: Any
) -> None:
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    write(handler_dir, "app.py", APP)
    layer_python = Path(handler.__file__).resolve().parents[1]
    done = subprocess.run(
        [python, "-c", SMOKE, str(layer_python), str(handler_dir), SAMPLED],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    call, root = out["docs"]
    assert out["result"]["header"] == f"Root={ROOT};Parent={call['id']};Sampled=1;{LINEAGE}"
    assert call["throttle"] is True and call["parent_id"] == root["id"]
    assert root["name"] == "## app.handler" and root["parent_id"] == PARENT
    for doc in out["docs"]:
        assert not list(xray_schema.iter_errors(doc))


# -- hostile results and exceptions ------------------------------------------------------

EDGE = """
class Unprintable(Exception):
    def __str__(self):
        raise SystemExit("str")

    __repr__ = __str__


class BadItems(dict):
    def items(self):
        raise KeyboardInterrupt("items")


class BadIter(list):
    def __iter__(self):
        raise RuntimeError("iter")


class BadLen(list):
    def __len__(self):
        raise ValueError("len")


def unprintable_error(event, context):
    raise Unprintable()


ODD = {"ok": 1, "items": BadItems(a=1), "iter": BadIter([1]), "len": BadLen([2]), 3: {4}}


def odd_response(event, context):
    return ODD


HUGE = {"blob": "x" * 50_000_000, "rows": list(range(2_000_000))}


def huge(event, context):
    return HUGE
"""


@pytest.fixture
def edge(app: Path) -> Path:
    write(app, "edge.py", EDGE)
    return app


def run_edge(monkeypatch: pytest.MonkeyPatch, name: str, capture: bool = True) -> Any:
    from lambda_xray import testing

    testing.reset()
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", f"edge.{name}")
    monkeypatch.setenv("LAMBDA_XRAY_CAPTURE_RESPONSE", "true" if capture else "false")
    return handler.handler({}, None)


def test_an_exception_whose_str_raises_systemexit_is_reraised_unchanged(
    edge: Path, collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    with pytest.raises(Exception) as caught:
        run_edge(monkeypatch, "unprintable_error")
    assert type(caught.value).__name__ == "Unprintable"  # not SystemExit from tracing
    (doc,) = sent_before_marker(collector)
    assert_valid([doc])
    assert doc["fault"] is True and doc["annotations"]["ColdStart"] is True
    assert doc["metadata"]["traced-test"]["error"]["type"] == "Unprintable"


def test_an_odd_response_never_loses_the_handler_subsegment(
    edge: Path, collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    response = run_edge(monkeypatch, "odd_response")
    assert response is sys.modules["edge"].ODD  # returned unchanged
    (doc,) = sent_before_marker(collector)
    assert_valid([doc])
    captured = doc["metadata"]["traced-test"]["response"]
    assert captured["ok"] == 1 and captured["3"] == [4]
    assert captured["items"].startswith("<unreadable BadItems")
    assert captured["iter"].startswith("<unreadable BadIter")
    assert captured["len"] == [2]


def test_capturing_a_50_mb_response_is_bounded(
    edge: Path, collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    import time

    from lambda_xray.wire import MAX_DOCUMENT

    importlib.import_module("edge")  # its 50 MB are built here, not in a timed call
    timings = {}
    for capture in (False, True):
        began = time.perf_counter()
        assert run_edge(monkeypatch, "huge", capture) is sys.modules["edge"].HUGE
        timings[capture] = time.perf_counter() - began
    docs = sent_before_marker(collector)
    assert_valid(docs)
    captured = docs[-1]["metadata"]["traced-test"]["response"]
    assert captured["blob"].endswith("...[truncated]")
    assert collector.rejects == 0
    assert all(len(json.dumps(d, separators=(",", ":"))) <= MAX_DOCUMENT for d in docs)
    # Capturing walks only what fits in a document: no whole-response encoding.
    assert timings[True] - timings[False] < 0.25, timings


def test_init_duration_is_on_the_first_invocation_only_sampled_or_not(
    app: Path, collector: Any, monkeypatch: pytest.MonkeyPatch, assert_valid: Check
) -> None:
    from lambda_xray import testing

    monkeypatch.setenv("_X_AMZN_TRACE_ID", testing.trace_header(sampled=False))
    handler.handler({}, None)  # the cold start, not sampled
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    handler.handler({}, None)
    (doc,) = sent_before_marker(collector)
    assert_valid([doc])
    assert doc["annotations"]["ColdStart"] is False and "InitDuration" not in doc["annotations"]
