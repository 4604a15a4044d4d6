"""What a traceback through the layer shows: a line where a user's traceback passes, ``None`` below.

The built layer keeps line tables only in the modules whose frames stand in a
user's traceback (``_layer_parts.LINE_TABLE_MODULES``: they call the function's
code or a client library); the others get a table that says "no line" (about
5 KB less for the core alone on 3.11-3.13, docs/bytecode.md). Real parts only: each pyenv
Python 3.10-3.13 runs the wrapper from a read-only copy of the layer of core and api
this checkout built, in a fresh process; the function fails in each way a user
sees a traceback through the layer (its handler, a ``@subsegment`` function, a
refused HTTP connection, an executor task, a client library whose import
fails), and code records outside its invocation with
``AWS_XRAY_CONTEXT_MISSING=RUNTIME_ERROR`` (a traceback that ends in the
layer's own modules). Every traceback is formatted by ``traceback`` and
``logging`` with a ``%(lineno)d`` format, and turned into an X-Ray cause.
"""

from __future__ import annotations

import ast
import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray._layer_parts import keeps_line_table
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path

pytestmark = pytest.mark.timeout(180)

SOURCE = layer_asset_path() / "python"

APP = """
import http.client
from concurrent.futures import ThreadPoolExecutor

from lambda_xray import subsegment


@subsegment("work")
def work():
    raise ValueError("in work")


def task():
    raise KeyError("in task")


def handler(event, context):
    kind = event["kind"]
    if kind == "handler":
        raise ValueError("in handler")
    if kind == "decorated":
        work()
    if kind == "http":
        connection = http.client.HTTPConnection("127.0.0.1", event["port"], timeout=5)
        connection.request("GET", "/")
    if kind == "executor":
        with ThreadPoolExecutor(1) as pool:
            pool.submit(task).result()
    if kind == "library":
        import pymysql.connections
    return "ok"
"""

# Runs in the interpreter under test: the wrapper as Lambda's runtime runs it, each way to
# fail, then a recording outside any invocation. Prints one JSON line.
PROBE = r"""
import io, json, logging, os, socket, sys, traceback

layer, task, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
os.environ.update(
    AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:%d" % daemon.getsockname()[1],
    LAMBDA_XRAY_HANDLER="app.handler",
    AWS_XRAY_CONTEXT_MISSING="RUNTIME_ERROR",
    LAMBDA_XRAY_CAPTURE_SQL="maybe",  # not a boolean: the layer logs one warning
    _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
)
sys.path[:0] = [task, layer]
logged = io.StringIO()
logging.basicConfig(stream=logged, format="%(pathname)s:%(lineno)d %(message)s")
import lambda_xray.handler as wrapper
from lambda_xray import causes


def seen(exc):
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logging.getLogger("user").error("failed", exc_info=exc)
    return {
        "frames": [
            [f.f_code.co_filename, f.f_code.co_name, n]
            for f, n in traceback.walk_tb(exc.__traceback__)
        ],
        "text": text,
        "cause": causes.cause_for(exc, at_call=True),
    }


out = {}
for kind in ("handler", "decorated", "http", "executor", "library"):
    try:
        wrapper.handler({"kind": kind, "port": port}, None)
    except Exception as exc:
        out[kind] = seen(exc)
from lambda_xray import subsegment

try:
    with subsegment("late"):  # after the invocation: context missing, RUNTIME_ERROR raises
        pass
except Exception as exc:
    out["late"] = seen(exc)
out["logged"] = logged.getvalue()
print(json.dumps(out))
"""

#: Each way a user's code fails, and the layer modules its traceback passes through.
USER_FAILURES = {
    "handler": ["handler.py"],
    "decorated": ["handler.py", "api.py"],
    "http": ["handler.py", "patches/plain_http.py"],
    "executor": ["handler.py", "threads.py"],
    "library": ["handler.py", "patches/__init__.py"],
}

LAYER_ROOT = "/opt/python/lambda_xray/"


@pytest.fixture(scope="module")
def builds() -> Path:
    path = layer_builds_path()
    _bytecode.ensure_built(layer_asset_path(), path)
    return path


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    # A client library whose import fails: its module runs under the patches' import hook.
    (root / "pymysql").mkdir()
    (root / "pymysql" / "__init__.py").write_text("")
    (root / "pymysql" / "connections.py").write_text("raise RuntimeError('broken library')\n")
    return root


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=[10, 11, 12, 13])
def probed(
    request: pytest.FixtureRequest,
    builds: Path,
    task_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[int, dict[str, Any], str]:
    minor: int = request.param
    python = _bytecode.find_interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} here")
    # What the planner gives a function whose code names lambda_xray: the core and the api.
    tree = _bytecode.assemble_layer(builds, f"python3.{minor}", frozenset({"api"}))
    dest = tmp_path_factory.mktemp(f"opt{minor}") / "opt"
    shutil.copytree(tree, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    done = subprocess.run(
        [python, "-c", PROBE, str(dest / "python"), str(task_root), str(_closed_port())],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return minor, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _layer_frames(seen: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    return [
        (path.removeprefix(LAYER_ROOT), name, line)
        for path, name, line in seen["frames"]
        if path.startswith(LAYER_ROOT)
    ]


def _calls_at(rel: str, function: str, line: int) -> bool:
    """Whether ``line`` of the layer source ``rel`` is a call inside the function ``function``."""
    source = (SOURCE / "lambda_xray" / rel).read_text()
    text = source.splitlines()[line - 1]
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function
    ]
    return "(" in text and any(start < line <= end for start, end in spans)


@pytest.mark.parametrize("kind", sorted(USER_FAILURES))
def test_a_users_traceback_through_the_layer_shows_each_layer_line(
    probed: tuple[int, dict[str, Any], str], kind: str
) -> None:
    _, out, _ = probed
    frames = _layer_frames(out[kind])
    assert sorted({rel for rel, _, _ in frames}) == sorted(USER_FAILURES[kind]), frames
    for rel, function, line in frames:
        assert keeps_line_table(f"lambda_xray/{rel}")
        assert isinstance(line, int) and _calls_at(rel, function, line), (rel, function, line)
        assert f'{LAYER_ROOT}{rel}", line {line}, in {function}' in out[kind]["text"]


def test_a_traceback_that_ends_in_the_layers_own_modules_shows_no_line_there(
    probed: tuple[int, dict[str, Any], str],
) -> None:
    """``RUNTIME_ERROR`` outside an invocation: raised by ``context_missing``, below ``api``."""
    minor, out, _ = probed
    frames = _layer_frames(out["late"])
    no_line = -1 if minor == 10 else None  # how each Python says "no line" in a traceback
    internal = [
        (rel, line) for rel, _, line in frames if not keeps_line_table(f"lambda_xray/{rel}")
    ]
    assert internal and internal[-1] == ("context_missing.py", no_line), frames
    assert all(line == no_line for _, line in internal)
    assert f'{LAYER_ROOT}context_missing.py", line {no_line}, in report' in out["late"]["text"]
    assert "ContextMissingError: lambda_xray: cannot record 'late'" in out["late"]["text"]


def test_every_traceback_formats_in_logging_and_becomes_a_cause(
    probed: tuple[int, dict[str, Any], str],
) -> None:
    _, out, stderr = probed
    assert "Logging error" not in stderr and "Traceback" not in stderr, stderr[-3000:]
    for kind in (*USER_FAILURES, "late"):
        (exception, *_) = out[kind]["cause"]["exceptions"]
        assert exception["stack"], kind
        assert not [f for f in exception["stack"] if "lambda_xray" in f["path"]], kind
        assert all(type(f.get("line")) is int for f in exception["stack"]), kind
    failed = [line for line in out["logged"].splitlines() if line.endswith(" failed")]
    assert failed == ["<string>:" + failed[0].split(":")[1]] * (len(USER_FAILURES) + 1)
    for kind in (*USER_FAILURES, "late"):  # each with its traceback, as traceback formats it
        assert out[kind]["text"] in out["logged"], kind


def test_a_layer_log_line_names_its_line_in_the_users_log_format(
    probed: tuple[int, dict[str, Any], str],
) -> None:
    """``logging`` records the layer frame that logs (``_log``'s): it keeps its line table,
    so a ``%(lineno)d`` format works for the layer's own lines too."""
    _, out, _ = probed
    (warning,) = [line for line in out["logged"].splitlines() if "LAMBDA_XRAY_CAPTURE_SQL" in line]
    path, _, rest = warning.partition(":")
    assert path.endswith("/lambda_xray/_log.py")
    assert rest.split(" ", 1)[0].isdigit()
