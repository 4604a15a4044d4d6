"""Cold start discipline: importing the layer loads only itself, reads no environment, does no I/O.

Each check runs a fresh interpreter (the layer on ``sys.path`` as ``/opt/python``
would be) that records, while the import runs: the modules it adds, every
read of ``os.environ`` and every audit event (files opened, sockets, processes).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

import lambda_xray

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"

PROBE = r"""
import json, os, sys

sys.path.insert(0, sys.argv[1])
reads = []


class RecordingEnviron:
    def __init__(self, real):
        self._real = real

    def __getitem__(self, key):
        reads.append(key)
        return self._real[key]

    def get(self, key, default=None):
        reads.append(key)
        return self._real.get(key, default)

    def __contains__(self, key):
        reads.append(key)
        return key in self._real

    def __iter__(self):
        reads.append("<iter>")
        return iter(self._real)

    def __len__(self):
        return len(self._real)

    def __getattr__(self, name):
        reads.append("<" + name + ">")
        return getattr(self._real, name)


os.environ = RecordingEnviron(os.environ)
events = []
recording = [True]


def hook(event, args):
    if recording[0] and event not in ("exec", "compile", "marshal.loads", "object.__setattr__"):
        events.append([event, [a if isinstance(a, (str, int)) else repr(a) for a in args]])


sys.addaudithook(hook)
before = set(sys.modules)
__import__(sys.argv[2])
recording[0] = False
print(json.dumps({"modules": sorted(set(sys.modules) - before), "reads": reads, "events": events}))
"""


def probe(module: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(LAYER_PYTHON), module],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def handler_import() -> dict[str, Any]:
    return probe("lambda_xray.handler")


def is_layer_module(name: str) -> bool:
    return name == "lambda_xray" or name.startswith("lambda_xray.")


def test_importing_the_handler_loads_only_the_layers_own_modules(
    handler_import: dict[str, Any],
) -> None:
    extra = [m for m in handler_import["modules"] if not is_layer_module(m)]
    # __future__ is what ``from __future__ import annotations`` costs (~0.1 ms).
    assert extra == ["__future__"], f"importing lambda_xray.handler also loaded {extra}"


@pytest.mark.parametrize(
    "heavy",
    [
        "botocore",
        "boto3",
        "urllib3",
        "requests",
        "http.client",
        "socket",
        "json",
        "logging",
        "threading",
        "asyncio",
        "typing",
        "inspect",
        "re",
        "importlib.abc",
        "functools",
    ],
)
def test_importing_the_handler_does_not_load(heavy: str, handler_import: dict[str, Any]) -> None:
    assert heavy not in handler_import["modules"]


def test_importing_the_handler_loads_only_the_layer_modules_it_runs_first(
    handler_import: dict[str, Any],
) -> None:
    layer_modules = {m for m in handler_import["modules"] if is_layer_module(m)}
    # The recorder, document model, emitter and settings wait for the first invocation.
    for later in ("_recorder", "document", "emitter", "config", "api", "_contract"):
        assert f"lambda_xray.{later}" not in layer_modules


def test_importing_the_handler_reads_no_environment(handler_import: dict[str, Any]) -> None:
    assert handler_import["reads"] == []


def test_importing_the_handler_opens_nothing_but_module_files(
    handler_import: dict[str, Any],
) -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    allowed_roots = (str(LAYER_PYTHON), stdlib)
    for event, args in handler_import["events"]:
        assert not event.startswith(("socket.", "subprocess.", "os.system", "os.posix_spawn"))
        if event == "open":
            path, mode = str(args[0]), args[1]
            assert path.startswith(allowed_roots), path
            assert path.endswith((".py", ".pyc")), path
            assert mode in ("r", "rb", None), (path, mode)
        else:
            assert event in ("import", "os.listdir", "sys._getframe"), (event, args)


def test_importing_the_package_loads_nothing_else() -> None:
    result = probe("lambda_xray")
    assert result["modules"] == ["__future__", "lambda_xray"]
    assert result["reads"] == []


FIRST_INVOCATION = r"""
import os, sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
if sys.argv[3] == "preload-typing":
    import typing
os.environ["LAMBDA_XRAY_HANDLER"] = "plain.handler"
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:9"
os.environ["_X_AMZN_TRACE_ID"] = (
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
)
import lambda_xray.handler

before = set(sys.modules)
lambda_xray.handler.handler({}, None)
added = sorted(set(sys.modules) - before)
print(repr(added))
"""


def first_invocation_modules(tmp_path: Path, mode: str) -> list[str]:
    (tmp_path / "plain.py").write_text("def handler(event, context):\n    return 1\n")
    done = subprocess.run(
        [sys.executable, "-c", FIRST_INVOCATION, str(LAYER_PYTHON), str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules: list[str] = ast.literal_eval(done.stdout)
    return modules


def test_the_first_invocation_loads_only_builtin_helpers(tmp_path: Path) -> None:
    modules = first_invocation_modules(tmp_path, "preload-typing")
    extra = [m for m in modules if not is_layer_module(m) and m != "plain"]
    assert sorted(extra) == ["_contextvars", "_json", "_socket", "gc"]


def test_the_first_invocation_does_not_load_typing(tmp_path: Path) -> None:
    assert "typing" not in first_invocation_modules(tmp_path, "plain")


# --- bytecode: what Lambda's read-only /opt sees ------------------------------------------

READ_ONLY_IMPORT = r"""
import json, sys

layer = sys.argv[1]
compiled = []
opened = []


def hook(event, args):
    # importlib compiles a module's source with compile(source, path, "exec").
    if event == "compile" and isinstance(args[1], str) and args[1].startswith(layer):
        compiled.append(args[1])
    if event == "open" and isinstance(args[0], str) and args[0].startswith(layer):
        opened.append(args[0])


sys.addaudithook(hook)
sys.path.insert(0, layer)
names = json.loads(sys.argv[2])
for name in names:
    __import__(name)
print(json.dumps({
    "compiled": compiled,
    "opened": opened,
    "dont_write_bytecode": sys.dont_write_bytecode,
    "cached": {name: getattr(sys.modules[name], "__cached__", None) for name in names},
    "loaders": {name: type(sys.modules[name].__loader__).__name__ for name in names},
}))
"""


def layer_module_names(python_dir: Path) -> list[str]:
    """The modules of a layer tree: its ``.py`` files and the modules in its bundles."""
    package = python_dir / "lambda_xray"
    files = [
        ".".join(p.relative_to(python_dir).with_suffix("").parts).removesuffix(".__init__")
        for p in package.rglob("*.py")
    ]
    # A bundle's outer layout (after a 10-byte header) is plain marshal data any Python reads.
    bundled = [
        name
        for p in package.glob("*.bundle")
        for name in lambda_xray._bundle_contents(memoryview(p.read_bytes())[10:])[1]
    ]
    return sorted(files + bundled)


#: Imported only when the bundles are another Python's (tests/layer/test_bundle_loader.py).
UNTRACED = "lambda_xray._untraced"


def import_read_only(interpreter: str, tree: Path, tmp_path: Path) -> dict[str, Any]:
    """Import every layer module from a read-only copy of ``tree`` as Lambda would."""
    opt = tmp_path / "opt"
    shutil.copytree(tree, opt)
    for path in [opt, *opt.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)  # root ignores it; the listing check below won't
    before = sorted(p.relative_to(opt).as_posix() for p in opt.rglob("*"))
    python_dir = opt / "python"
    names = [name for name in layer_module_names(python_dir) if name != UNTRACED]
    done = subprocess.run(
        [interpreter, "-s", "-v", "-c", READ_ONLY_IMPORT, str(python_dir), json.dumps(names)],
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # The interpreter's own account (-v): where each layer module's code object came from.
    result["code_from"] = [
        line.split("code object from ", 1)[1].strip("'")
        for line in done.stderr.splitlines()
        if "code object from " in line and str(python_dir) in line
    ]
    result["after"] = sorted(p.relative_to(opt).as_posix() for p in opt.rglob("*"))
    result["before"] = before
    result["names"] = names
    return result


@pytest.fixture(scope="module")
def package_builds() -> dict[str, Any]:
    from cdk_lambda_xray import _bytecode
    from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path

    builds = layer_builds_path()
    results = _bytecode.ensure_built(layer_asset_path(), builds)
    return {r.runtime: (r, _bytecode.tree_path(builds, r.runtime)) for r in results}


def test_every_module_a_function_runs_is_in_each_tree(package_builds: dict[str, Any]) -> None:
    from cdk_lambda_xray import _bytecode

    shipped = {
        name
        for name in layer_module_names(LAYER_PYTHON)
        if f"{name.replace('.', '/')}.py" not in _bytecode.LAMBDA_EXCLUDED
    }
    assert "lambda_xray.testing" not in shipped  # the test seam stays in the wheel's source
    for result, tree in package_builds.values():
        assert set(layer_module_names(tree / "python")) == shipped, result.runtime


@pytest.mark.parametrize("minor", [10, 11, 12, 13, 14])
def test_the_layer_imports_from_a_read_only_copy_without_compiling_anything(
    minor: int, package_builds: dict[str, Any], tmp_path: Path
) -> None:
    from cdk_lambda_xray import _bytecode

    interpreter = _bytecode.find_interpreter(minor)
    if interpreter is None:
        pytest.skip(f"no python3.{minor} here: its layer is source only (docs/bytecode.md)")
    result, tree = package_builds[f"python3.{minor}"]
    assert result.cache_tag == f"cpython-3{minor}", result
    imported = import_read_only(interpreter, tree, tmp_path)
    assert imported["dont_write_bytecode"] is True
    assert imported["compiled"] == []
    package = tmp_path / "opt" / "python" / "lambda_xray"
    init_pyc = str(package / "__pycache__" / f"__init__.cpython-3{minor}.pyc")
    # The package's __init__ from its .pyc (the interpreter's own account, -v) ...
    assert imported["cached"]["lambda_xray"] == init_pyc
    assert imported["code_from"] == [init_pyc]
    # ... every other module from a bundle, each bundle read once, and no source read.
    loaders = imported["loaders"]
    assert {name: loaders[name] for name in imported["names"] if name != "lambda_xray"} == {
        name: "Bundles" for name in imported["names"] if name != "lambda_xray"
    }
    bundles = sorted(str(p) for p in package.glob("*.bundle"))
    assert sorted(imported["opened"]) == sorted([init_pyc, *bundles])
    assert imported["after"] == imported["before"]


def test_without_bytecode_the_same_check_sees_every_module_compiled(tmp_path: Path) -> None:
    """The check above can fail: a source-only copy is compiled module by module."""
    source = tmp_path / "source"
    shutil.copytree(LAYER_PYTHON.parent, source, ignore=shutil.ignore_patterns("__pycache__"))
    imported = import_read_only(sys.executable, source, tmp_path)
    assert len(imported["compiled"]) == len(imported["names"])
    assert imported["code_from"] and not any(p.endswith(".pyc") for p in imported["code_from"])
    assert any(p.endswith(".py") for p in imported["opened"])
    assert imported["after"] == imported["before"]


def test_the_first_invocation_loads_no_failure_or_capture_only_module(tmp_path: Path) -> None:
    """Modules needed only when a response is captured, a call fails or text is redacted."""
    modules = first_invocation_modules(tmp_path, "plain")
    assert not {"lambda_xray._snapshot", "lambda_xray.causes", "lambda_xray.redact"} & set(modules)


# --- the whole cold start of a boto3 function: exactly which layer modules it loads ---------

BOTO3_COLD_START = r"""
import json, os, sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
os.environ.update({
    "LAMBDA_XRAY_HANDLER": "dynamo.handler",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
})
import http.client, socket, threading  # loaded by the runtime before Init
import lambda_xray.handler as wrapper

wrapper.handler  # the runtime's Init look-up: loads the function's module (boto3)
wrapper.handler({}, None)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("lambda_xray"))))
"""

DYNAMO_APP = """
import boto3
from botocore.awsrequest import AWSResponse


class _Raw:
    def stream(self, **_):
        return [b"{}"]


def _canned(request, **_):
    return AWSResponse(request.url, 200, {"x-amzn-RequestId": "R"}, _Raw())


client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
client.meta.events.register("before-send.dynamodb.PutItem", _canned)


def handler(event, context):
    client.put_item(TableName="t", Item={"pk": {"S": "1"}})
"""

#: What a traced cold start of a boto3 function loads: Init (the wrapper, its
#: patches, the recorder) and a first invocation with one successful AWS call.
#: Adding a module here costs every function ~0.3-0.7 M instructions of import
#: machinery (bench/README.md): load it on first need instead, or say why here.
BOTO3_COLD_START_MODULES = [
    "lambda_xray",
    "lambda_xray._contract",
    "lambda_xray._recorder",
    "lambda_xray.config",
    "lambda_xray.context",
    "lambda_xray.document",
    "lambda_xray.emitter",
    "lambda_xray.handler",
    "lambda_xray.header",
    "lambda_xray.patches",
    "lambda_xray.patches._common",
    "lambda_xray.patches.botocore",
    "lambda_xray.patches.plain_http",
    "lambda_xray.threads",
    "lambda_xray.wire",
]


def test_a_boto3_functions_cold_start_loads_exactly_these_layer_modules(tmp_path: Path) -> None:
    pytest.importorskip("boto3")
    (tmp_path / "dynamo.py").write_text(DYNAMO_APP)
    done = subprocess.run(
        [sys.executable, "-c", BOTO3_COLD_START, str(LAYER_PYTHON), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == BOTO3_COLD_START_MODULES
    # Only when something fails, is captured, redacted, trimmed or missing its context:
    for later in (
        "causes",
        "redact",
        "_snapshot",
        "wire_trim",
        "_load_errors",
        "context_missing",
        "_log",
    ):
        assert f"lambda_xray.{later}" not in loaded


# --- clients the function already imported: only their patches and the SQL helpers load ----

PRELOADED_COLD_START = BOTO3_COLD_START.replace(
    "import lambda_xray.handler as wrapper",
    "for name in sys.argv[3].split(','):\n"
    "    __import__(name)\n"
    "import lambda_xray.handler as wrapper",
)

#: The drivers whose patches share ``_sql``; each adds its own patch module and
#: nothing else (no ``context_missing``, no ``_log``, no PostgreSQL module of its own).
DRIVERS = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pymysql.connections": "pymysql"}


def test_preloaded_database_drivers_add_only_their_patches_and_the_sql_helpers(
    tmp_path: Path,
) -> None:
    present = [name for name in DRIVERS if _importable(name)]
    if not present:
        pytest.skip("no database driver installed")
    (tmp_path / "dynamo.py").write_text(DYNAMO_APP)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PRELOADED_COLD_START,
            str(LAYER_PYTHON),
            str(tmp_path),
            ",".join(present),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {f"lambda_xray.patches.{DRIVERS[name]}" for name in present}
    assert set(loaded) == set(BOTO3_COLD_START_MODULES) | expected | {"lambda_xray.patches._sql"}


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False
