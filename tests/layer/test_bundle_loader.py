"""The layer as a function gets it: a read-only assembled tree of bundles, loaded by ``__init__``.

Real parts only: the per-version builds of this checkout, assembled by
``_bytecode.assemble_layer`` for the parts a function would get, copied
read-only; each interpreter found under pyenv runs the wrapper in a fresh
process with ``PYTHONDONTWRITEBYTECODE=1``, the function's HTTP call goes to
a real local server, the documents over real UDP. The Lambda runtime cases
run the real ``awslambdaric`` (this virtualenv's Python) against the test
Runtime API server, as ``test_awslambdaric_runtime.py`` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import lambda_xray

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_built_layer import traced_function
from lx_runtime_api import new_trace_id, trace_documents, trace_header
from lx_schema import validate_subsegment
from lx_servers import QuietServer

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray._layer_parts import PARTS
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path
from cdk_lambda_xray.local.collector import Collector

pytestmark = pytest.mark.timeout(180)

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
OTHER_MINOR = 12 if sys.version_info[:2] != (3, 12) else 13

# The function: imports http.client after the layer's import hook is in place (so it is
# patched when imported), uses the user API, fails on request.
APP = """
import http.client
import os

from lambda_xray import annotate, metadata, subsegment


@subsegment("work")
def work():
    return 1


def handler(event, context):
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("import"):
        try:
            __import__(event["import"])
        except ImportError as exc:
            return {"import_error": str(exc)}
        return {"imported": event["import"]}
    with subsegment("fetch") as scope:
        scope.annotate("step", "fetch")
        annotate("tenant", "acme")
        metadata("request", {"size": 3})
        work()
        port = int(os.environ.get("TEST_HTTP_PORT", "9"))
        if event.get("http"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/ok")
            status = conn.getresponse().status
            conn.close()
            return {"status": status}
    return {"ok": True}
"""

# Runs the wrapper as Lambda's runtime does (import, look ``handler`` up: Init; then invoke),
# with a UDP socket of its own as the daemon. Prints what it saw as one JSON line.
DRIVER = r"""
import json, os, socket, sys

config = json.loads(sys.argv[1])
layer = config["layer"]
compiled = []


def audit(event, args):
    if event == "compile" and isinstance(args[1], str) and args[1].startswith(layer):
        compiled.append(args[1])


sys.addaudithook(audit)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
sock.settimeout(1.0)
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % sock.getsockname()[1]
os.environ["LAMBDA_XRAY_HANDLER"] = "app.handler"
sys.path[:0] = [config["task"], layer]
finders = [(f if isinstance(f, type) else type(f)).__name__ for f in sys.meta_path]
import lambda_xray.handler as wrapper

handler = wrapper.handler  # the runtime's Init look-up
results = []
for event in config["events"]:
    os.environ["_X_AMZN_TRACE_ID"] = (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=%d"
        % event.pop("sampled", 1)
    )
    try:
        results.append(handler(event, None))
    except ValueError as exc:
        results.append(repr(exc))
datagrams = []
try:
    while True:
        datagrams.append(sock.recv(65535).decode())
except socket.timeout:
    pass
late = "lambda_xray.wire_trim"
loaded_before = late in sys.modules
sys.path_importer_cache.clear()  # the path hook finds the bundles again
__import__(late)
print(json.dumps({
    "compiled": compiled,
    "results": results,
    "datagrams": datagrams,
    "late": [loaded_before, type(sys.modules[late].__loader__).__name__],
    "future": "__future__" in sys.modules,
    "finders": [finders, [(f if isinstance(f, type) else type(f)).__name__ for f in sys.meta_path]],
    "modules": {
        name: [type(m.__loader__).__name__, getattr(m, "__file__", None)]
        for name, m in sys.modules.items()
        if name.startswith("lambda_xray")
    },
}))
"""


@pytest.fixture(scope="module")
def builds() -> Path:
    path = layer_builds_path()
    _bytecode.ensure_built(layer_asset_path(), path)
    return path


def read_only_layer(builds: Path, runtime: str, parts: set[str], dest: Path) -> Path:
    """A read-only copy of the layer a function with ``parts`` gets; its ``python/``."""
    tree = _bytecode.assemble_layer(builds, runtime, frozenset(parts))
    shutil.copytree(tree, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return dest / "python"


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    return root


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = QuietServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def drive(
    python: str,
    layer: Path,
    task: Path,
    events: list[dict[str, Any]],
    env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Run :data:`DRIVER` with ``python``; what it printed, and its stderr."""
    config = {"layer": str(layer), "task": str(task), "events": events}
    done = subprocess.run(
        [python, "-c", DRIVER, json.dumps(config)],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def documents(datagrams: list[str]) -> list[dict[str, Any]]:
    """The X-Ray documents of ``datagrams`` (header line, then the document)."""
    docs = []
    for datagram in datagrams:
        header, _, body = datagram.partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}, datagram[:80]
        docs.append(json.loads(body))
    return docs


@pytest.fixture(scope="module", params=[10, 11, 12, 13])
def bundled_run(
    request: pytest.FixtureRequest,
    builds: Path,
    task_root: Path,
    http_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[int, Path, dict[str, Any]]:
    minor: int = request.param
    python = _bytecode.find_interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} here")
    # The function uses the user API: the planner gives it the core and the api part.
    layer = read_only_layer(
        builds, f"python3.{minor}", {"api"}, tmp_path_factory.mktemp(f"opt{minor}") / "opt"
    )
    events = [{"http": True}, {"fail": True}]
    out, _ = drive(python, layer, task_root, events, {"TEST_HTTP_PORT": str(http_port)})
    return minor, layer, out


def test_a_read_only_layer_of_bundles_compiles_nothing(
    bundled_run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, layer, out = bundled_run
    assert out["compiled"] == []
    modules = out["modules"]
    # The package from its .pyc; every other module from a bundle, named where Lambda has it.
    assert modules.pop("lambda_xray") == ["SourceFileLoader", f"{layer}/lambda_xray/__init__.py"]
    assert {name: loader for name, (loader, _) in modules.items()} == dict.fromkeys(
        modules, "Bundles"
    )
    assert modules["lambda_xray.handler"][1] == f"{layer}/lambda_xray/handler.py"
    assert modules["lambda_xray.patches"][1] == f"{layer}/lambda_xray/patches/__init__.py"
    # ``from __future__ import annotations`` was compiled in, not imported (~0.6 M instructions).
    assert out["future"] is False


def test_a_layer_of_bundles_traces_the_invocation(
    bundled_run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, out = bundled_run
    assert out["results"] == [{"status": 200}, "ValueError('boom')"]
    docs = documents(out["datagrams"])
    for doc in docs:
        validate_subsegment(doc)
    names = sorted(doc["name"] for doc in docs)
    assert names == ["## app.handler", "## app.handler", "127.0.0.1", "fetch", "work"]
    (call,) = [doc for doc in docs if doc["name"] == "127.0.0.1"]
    assert call["http"]["response"]["status"] == 200
    (fetch,) = [doc for doc in docs if doc["name"] == "fetch"]
    assert fetch["annotations"] == {"step": "fetch", "tenant": "acme"}


def test_a_library_imported_after_install_is_patched_from_the_bundle(
    bundled_run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, out = bundled_run
    assert out["modules"]["lambda_xray.patches.plain_http"][0] == "Bundles"
    before, after = out["finders"]
    # No finder in front of every import: the patches' hook stands in for PathFinder, that's all.
    assert after == [f if f != "PathFinder" else "PostImportFinder" for f in before]


def test_a_handler_fault_records_the_users_line_and_no_layer_frame(
    bundled_run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, out = bundled_run
    (fault,) = [d for d in documents(out["datagrams"]) if d.get("fault")]
    (exception,) = fault["cause"]["exceptions"]
    stack = exception["stack"]
    assert stack and stack[-1]["path"] == "app.py"
    assert stack[-1]["line"] == APP.splitlines().index('        raise ValueError("boom")') + 1
    assert not [frame for frame in stack if "lambda_xray" in frame["path"]]


def test_a_layer_module_is_found_after_the_import_caches_are_cleared(
    bundled_run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, out = bundled_run
    assert out["late"] == [False, "Bundles"]


SOURCE_IMPORT = r"""
import json, sys

sys.path.insert(0, sys.argv[1])
hooks, cached = list(sys.path_hooks), set(sys.path_importer_cache)
import lambda_xray.handler

print(json.dumps({
    "hooks_added": len(sys.path_hooks) - len(hooks),
    "cached_by_layer": [
        path for path, finder in sys.path_importer_cache.items()
        if path not in cached and type(finder).__name__ != "FileFinder"
    ],
    "loaders": sorted({type(m.__loader__).__name__ for n, m in sys.modules.items()
                       if n.startswith("lambda_xray")}),
    "bundle_modules": [n for n in ("lambda_xray._bundles", "lambda_xray._untraced")
                       if n in sys.modules],
}))
"""


def test_from_the_source_the_loader_changes_nothing() -> None:
    """No ``core.bundle`` beside ``__init__`` (the checkout, the wheel's copy): files as ever."""
    source = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
    done = subprocess.run(
        [sys.executable, "-c", SOURCE_IMPORT, str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "hooks_added": 0,
        "cached_by_layer": [],
        "loaders": ["SourceFileLoader"],
        "bundle_modules": [],
    }


# --- a function whose layer lacks a part -----------------------------------------------------


@pytest.fixture(scope="module")
def core_only(builds: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    runtime = _bytecode.runtime_name(sys.version_info[1])
    return read_only_layer(builds, runtime, set(), tmp_path_factory.mktemp("core") / "opt")


def test_otlp_without_its_part_sends_xray_documents_and_says_so_once(
    core_only: Path, task_root: Path
) -> None:
    out, stderr = drive(
        sys.executable, core_only, task_root, [{}, {}], {"LAMBDA_XRAY_FORMAT": "otlp"}
    )
    assert out["results"] == [{"ok": True}, {"ok": True}]
    assert sorted(d["name"] for d in documents(out["datagrams"])).count("## app.handler") == 2
    said = [line for line in stderr.splitlines() if "no OTLP part" in line]
    assert len(said) == 1, stderr
    assert "trace_format=TraceFormat.OTLP" in said[0]


def test_otlp_unsampled_without_its_part_sends_nothing_for_unsampled_invocations(
    core_only: Path, task_root: Path
) -> None:
    """X-Ray documents stand in for spans here, and X-Ray would store an unsampled one."""
    env = {"LAMBDA_XRAY_FORMAT": "otlp", "LAMBDA_XRAY_OTLP_UNSAMPLED": "true"}
    out, _ = drive(sys.executable, core_only, task_root, [{"sampled": 0}, {}], env)
    assert out["results"] == [{"ok": True}, {"ok": True}]
    assert [d["name"] for d in documents(out["datagrams"])] == ["## app.handler"]


def test_otlp_with_its_part_sends_spans(builds: Path, task_root: Path, tmp_path: Path) -> None:
    runtime = _bytecode.runtime_name(sys.version_info[1])
    layer = read_only_layer(builds, runtime, {"otlp"}, tmp_path / "opt")
    out, stderr = drive(sys.executable, layer, task_root, [{}], {"LAMBDA_XRAY_FORMAT": "otlp"})
    assert out["datagrams"] and all(d.split("\n")[1].startswith("T1S") for d in out["datagrams"])
    assert out["modules"]["lambda_xray.otlp.emitter"][0] == "Bundles"
    assert "OTLP part" not in stderr


def test_a_library_whose_patch_is_in_a_missing_part_is_left_unpatched_and_named_once(
    core_only: Path, task_root: Path
) -> None:
    """Under awslambdaric, with calls: ``test_missing_part.py``."""
    out, stderr = drive(sys.executable, core_only, task_root, [{"import": "httpx"}, {}])
    assert out["results"] == [{"imported": "httpx"}, {"ok": True}]
    assert "lambda_xray.patches.httpx" not in out["modules"]
    assert stderr.count("httpx is left unpatched") == 1 and "patching" not in stderr


def test_importing_a_module_of_a_missing_part_names_the_part(
    core_only: Path, task_root: Path
) -> None:
    out, _ = drive(sys.executable, core_only, task_root, [{"import": "lambda_xray.otlp"}])
    (result,) = out["results"]
    assert "in the layer part 'otlp'" in result["import_error"]


def test_every_part_is_known_to_the_core_bundle(builds: Path) -> None:
    """The core's index names each part's modules: a missing part is reported as such."""

    runtime = _bytecode.runtime_name(sys.version_info[1])
    tree = _bytecode.tree_path(builds, runtime) / "python" / "lambda_xray"
    index, _ = lambda_xray._bundle_contents(memoryview((tree / "core.bundle").read_bytes())[10:])
    assert set(index.values()) == set(PARTS)


# --- under the Lambda runtime (awslambdaric): bundled, and built for another Python ----------


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def test_under_the_lambda_runtime_a_layer_of_bundles_traces(
    builds: Path, task_root: Path, collector: Collector, tmp_path: Path
) -> None:
    # The function uses the user API: the planner gives it the core and the api part.
    runtime = _bytecode.runtime_name(sys.version_info[1])
    layer = read_only_layer(builds, runtime, {"api"}, tmp_path / "opt")
    with traced_function(layer, task_root, collector, tmp_path / "log") as (api, proc):
        trace_id = new_trace_id()
        outcome = api.invoke({}, trace_id=trace_header(trace_id), timeout=30)
        assert outcome.kind == "response", proc.log()[-3000:]
        assert outcome.json() == {"ok": True}
        docs = trace_documents(collector, trace_id, 3, log=proc.log, timeout=10, settle=0.05)
        assert sorted(d["name"] for d in docs) == ["## app.handler", "fetch", "work"]
        assert "tracing is off" not in proc.log()


def test_a_layer_built_for_another_python_runs_the_handler_untraced(
    builds: Path, task_root: Path, collector: Collector, tmp_path: Path
) -> None:
    """Lambda does not enforce a layer's compatible runtimes: the function keeps working."""
    other = _bytecode.runtime_name(OTHER_MINOR)
    built = _bytecode.read_manifest(builds, other)
    if built is None or not built.has_bytecode:
        pytest.skip(f"no {other} interpreter here")
    layer = read_only_layer(builds, other, set(), tmp_path / "opt")
    with traced_function(layer, task_root, collector, tmp_path / "log") as (api, proc):
        api.wait_polling()  # Init is over: the line is already there
        assert "tracing is off" in proc.log()
        trace_id = new_trace_id()
        first = api.invoke({}, trace_id=trace_header(trace_id), timeout=30)
        second = api.invoke({"fail": True}, trace_id=trace_header(trace_id), timeout=30)
        assert first.kind == "response", proc.log()[-3000:]
        assert first.json() == {"ok": True}  # the user API did nothing, without failing
        assert second.kind == "error" and second.json()["errorType"] == "ValueError"
        time.sleep(0.3)
        assert [d for d in collector.documents if d.get("trace_id") == trace_id] == []
        said = [line for line in proc.log().splitlines() if "tracing is off" in line]
    assert len(said) == 1, proc.log()[-3000:]
    assert f"built for Python 3.{OTHER_MINOR} (python3.{OTHER_MINOR})" in said[0]
    assert f"the function runs Python {HERE}" in said[0]
    assert "Redeploy it through the cdk-lambda-xray constructs" in said[0]


# --- what Init imports anyway runs when the package is imported ------------------------------

PRELOAD_PROBE = r"""
import json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
os.environ["LAMBDA_XRAY_HANDLER"] = "plain.handler"
import lambda_xray
after_package = sorted(m for m in sys.modules if m.startswith("lambda_xray."))
import lambda_xray.handler as wrapper
wrapper.handler  # the runtime's Init look-up
after_init = sorted(m for m in sys.modules if m.startswith("lambda_xray."))
bundles = sys.modules.get("lambda_xray._bundles")  # None from the source
def attributes(name):
    m = sys.modules[name]
    return [m.__name__, m.__spec__.name, type(m.__loader__).__name__, m.__file__, m.__package__,
            getattr(sys.modules[name.rpartition(".")[0]], name.rpartition(".")[2]) is m]
print(json.dumps({
    "init_modules": list(bundles.INIT_MODULES) if bundles else [],
    "after_package": after_package,
    "after_init": after_init,
    "attributes": {
        name: attributes(name) for name in after_init if bundles and name != "lambda_xray._bundles"
    },
}))
"""


def test_the_package_import_runs_what_init_needs_and_init_then_imports_nothing(
    builds: Path, tmp_path: Path
) -> None:
    """``_bundles.INIT_MODULES`` stays what a function's Init loads, each module set up as
    ``import`` would (name, spec, loader, ``/opt`` file, package, the parent's attribute)."""
    runtime = _bytecode.runtime_name(sys.version_info[1])
    layer = read_only_layer(builds, runtime, set(), tmp_path / "opt")
    task = tmp_path / "task"
    task.mkdir()
    (task / "plain.py").write_text("def handler(event, context):\n    return 1\n")
    done = subprocess.run(
        [sys.executable, "-c", PRELOAD_PROBE, str(layer), str(task)],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(done.stdout)
    preloaded = ["lambda_xray._bundles", *out["init_modules"]]
    assert out["after_package"] == sorted(preloaded)
    assert out["after_init"] == out["after_package"]  # Init imported no other layer module
    # What a plain function's Init loads; plus the HTTP and threads patches, loaded by
    # every function through http.client and threading (imported here by nothing).
    http = ["lambda_xray.patches._common", "lambda_xray.patches.plain_http", "lambda_xray.threads"]
    plain = subprocess.run(
        [sys.executable, "-c", PRELOAD_PROBE, str(layer_asset_path() / "python"), str(task)],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    from_source = json.loads(plain.stdout)["after_init"]
    assert sorted([*from_source, *http]) == sorted(out["init_modules"])
    for name, (own, spec, loader, file, package, on_parent) in out["attributes"].items():
        relative = name.replace(".", "/")
        assert (own, spec, loader, on_parent) == (name, name, "Bundles", True)
        assert file.endswith((f"/{relative}.py", f"/{relative}/__init__.py")), file
        assert package == name.rpartition(".")[0] or package == name, (name, package)
