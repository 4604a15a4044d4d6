"""Cold start as Lambda runs it: the layer against aws-xray-sdk 2.15 and Powertools, end to end.

Each sample is a fresh interpreter that has already imported what Lambda's
runtime (``awslambdaric.bootstrap``) imports before it loads a handler, then,
timed from one ``gc.collect()`` to another (so every tool pays for the garbage
it makes, and none for a collection another one tipped):

- Init: import the handler module. For the layer, ``lambda_xray.handler`` from
  a read-only copy of the layer version Lambda would mount for this Python
  (``_layer_builds/python3XY``, or the source alone for the "no .pyc" row),
  with ``PYTHONDONTWRITEBYTECODE=1``; it loads the function's module itself.
  For the SDK and Powertools: the function's module, which sets them up at
  its top as their docs say (``patch_all()`` / ``Tracer()`` + the
  ``capture_lambda_handler`` decorator), from their pip installs (with .pyc).
- the first invocation: the function's module creates a boto3 DynamoDB client
  at import (as most do) and its handler makes one ``PutItem`` (a canned
  response, no network).

The collector is equalised: the layer ends its Init with ``gc.freeze()``, so
every tool's Init is frozen at the same point (after the runtime's look-up of
the handler) and the closing ``gc.collect()`` walks only what the first
invocation left, for each. Without that, the closing collection walks the
baseline's whole boto3-sized heap but not the layer's, and the layer reads
cheaper than no tracer at all; that figure ("as shipped") is a context row.

Two settings, both measured in every run (see ``SETTINGS``): "pip", the
headline, where each tool's child sees only what pip installs for it beside
boto3 and the runtime (``python -S`` and a folder of that dependency closure),
and "preloaded", this venv with every library aws-xray-sdk's ``patch_all()``
would import loaded beforehand (``PRELOAD``) for every tool.

The baseline is the same function without any tracer. Also measured:

- invoke received -> ``## handler`` start (the layer's subsegment, read back
  from the UDP daemon address) on a cold start;
- what the layer's own code allocates (tracemalloc) at import and on the
  first invocation;
- ``gc.freeze()`` at the end of Init: the first invocation (cold) and a full
  collection after warm invocations, with and without it;
- the zip of each layer version (what a function downloads).

``python bench/bench_cold_start.py`` prints the rows; ``make bench`` runs it
with the other benchmarks. ``python bench/bench_cold_start.py alloc`` prints
the layer's top allocation sites; ``... instructions`` only the instruction
counts (both settings); ``... stages [pip|preloaded]`` where the layer's
instructions go: per stage (package import, handler import, Init, first
invocation; X-Ray and OTLP formats; a boto3 and a trivial function), each the
difference of two runs stopped at its boundaries, and per layer module
(unmarshalling its code, running its body); ``... compare TREE [ROUNDS]``
another checkout's layer build against this one, interleaved (CPU).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from _child_context import LAMBDA_CONTEXT
from _rows import row as _make_row

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "constructs" / "cdk_lambda_xray"
sys.path.insert(0, str(REPO_ROOT / "constructs"))

from cdk_lambda_xray import _bytecode  # noqa: E402  (the checkout's package)
from cdk_lambda_xray._layer_parts import PARTS  # noqa: E402

LAYER_SOURCE = REPO_ROOT / "layers" / "lambda_xray"
SAMPLES = int(os.environ.get("BENCH_COLD_SAMPLES", "15"))
FREEZE_SAMPLES = int(os.environ.get("BENCH_FREEZE_SAMPLES", "7"))

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

# Goals from issue 8.
GOAL_OVER_MS = 3.0
GOAL_RATIO = 0.15
GOAL_INVOKE_TO_HANDLER_MS = 1.0
GOAL_ZIP_KB = 60.0

# The function: a boto3 client created at import, one AWS call per invocation.
APP = """
import boto3
from botocore.awsrequest import AWSResponse
{setup}

class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **_):
        return [self._body]


def _canned(request, **_):
    headers = {{"x-amzn-RequestId": "BENCH", "Content-Type": "application/x-amz-json-1.0"}}
    return AWSResponse(request.url, 200, headers, _Raw(b"{{}}"))


client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
client.meta.events.register("before-send.dynamodb.PutItem", _canned)


{decorator}
def handler(event, context):
    client.put_item(TableName="bench-table", Item={{"pk": {{"S": "bench"}}}})
    return "ok"
"""

NOOP_APP = "def handler(event, context):\n    return 'ok'\n"

TOOLS: dict[str, tuple[str, str]] = {
    "none": ("", ""),
    "layer": ("", ""),
    "layer, no .pyc": ("", ""),
    "xray-sdk": ("from aws_xray_sdk.core import patch_all\npatch_all()", ""),
    "powertools": (
        "from aws_lambda_powertools import Tracer\ntracer = Tracer(service='bench')",
        "@tracer.capture_lambda_handler",
    ),
}

#: Imported by every tool's child (the baseline's too) before the timer starts.
#: aws-xray-sdk's ``patch_all()`` imports each library of its
#: ``SUPPORTED_MODULES`` that is installed (here, by import name): with the
#: async HTTP and database clients in this venv, that would charge it for
#: loading httpx, aiohttp, aiobotocore, psycopg... which this function never
#: uses. Loaded beforehand for every tool, as if the function imported them,
#: each tool pays only for patching them (the layer patches them too). Then
#: frozen (``gc.freeze()``): otherwise the final ``gc.collect()`` of every tool
#: but the layer (which freezes at the end of Init) would walk them all.
#: Only in the "cold" mode, where the tools are compared.
PRELOAD: tuple[str, ...] = (
    "aiobotocore.client",
    "aiohttp",
    "httpx",
    "requests",
    "pymysql",
    "psycopg2",
    "psycopg",
    "pynamodb",
    "pg8000",
    "pymongo",
    "mysql.connector",
    "sqlalchemy",
    "sqlite3",
)


#: The headline setting ("pip installs"): each tool's child sees only what pip
#: installs for it, beside the function package (boto3) and the runtime
#: (awslambdaric), as in a Lambda whose deployment package holds the function,
#: boto3 and the tool. aws-xray-sdk's ``patch_all()`` then patches what it
#: finds there (botocore, and sqlite3 from the standard library); the layer
#: patches what the function imports. Built from this venv's installed
#: distributions (their dependency closure), symlinked into one folder per tool;
#: the child runs with ``python -S`` so the venv's site-packages is not on its path.
RUNTIME_REQUIREMENTS: tuple[str, ...] = ("awslambdaric",)
FUNCTION_REQUIREMENTS: tuple[str, ...] = ("boto3",)
TOOL_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "xray-sdk": ("aws-xray-sdk",),
    "powertools": ("aws-lambda-powertools[tracer]",),
}

#: The two settings every comparison runs in: "pip" (the headline, above) and
#: "preloaded" (this venv, every library of PRELOAD loaded before the clock).
SETTINGS: tuple[str, ...] = ("pip", "preloaded")
SETTING_NAMES = {
    "pip": "each tool as pip installs it, function package = boto3",
    "preloaded": "every patch_all library preloaded",
}


def distributions(requirements: tuple[str, ...]) -> set[str]:
    """The installed distributions pip would install for ``requirements`` (their closure)."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()  # (distribution, extra) already expanded
    pending = [(Requirement(r), "") for r in requirements]
    while pending:
        requirement, extra = pending.pop()
        marker = requirement.marker
        if marker is not None and not marker.evaluate({"extra": extra}):
            continue
        distribution = metadata.distribution(requirement.name)
        name = distribution.metadata["Name"].lower().replace("_", "-")
        for key in [(name, e) for e in ("", *sorted(requirement.extras))]:
            if key not in seen:
                seen.add(key)
                pending += [(Requirement(r), key[1]) for r in distribution.requires or []]
    return {name for name, _ in seen}


def site_folder(requirements: tuple[str, ...], dest: Path) -> Path:
    """A folder holding the files of those distributions (symlinks into this venv)."""
    import importlib.metadata as metadata

    dest.mkdir(parents=True)
    for name in sorted(distributions(requirements)):
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            parts = file.parts
            if not parts or parts[0] in ("..", "") or parts[0].endswith(".pth"):
                continue
            # A package or .dist-info folder as a whole; a top-level module and
            # its __pycache__ entries file by file.
            top = parts[:2] if parts[0] == "__pycache__" else parts[:1]
            link = dest.joinpath(*top)
            if link.exists() or link.is_symlink():
                continue
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(str(distribution.locate_file(Path(*top)))))
    return dest


def installed(names: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` this interpreter can import."""
    import importlib.util

    found = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is not None:
                found.append(name)
        except ImportError:  # its package is not installed
            pass
    return found


# Runs in each fresh interpreter. argv: entry module, mode ("cold": the tools
# compared, Init frozen for each; "shipped": the same without that freeze;
# "alloc", "memory", "freeze", "nofreeze", "garbage"), layer python dir or "",
# the function's folder, the modules to load before timing (comma-separated,
# see PRELOAD; "cold" and "shipped" only), and the folder of the tool's pip
# installs or "" (the "pip" setting, run with ``python -S``: see SETTINGS).
CHILD = (
    r"""
import gc, sys, time
if sys.argv[6:7] != [""]:
    sys.path.insert(0, sys.argv[6])  # what pip installed for this tool, with -S: nothing else
import awslambdaric.bootstrap  # what the runtime has loaded before it imports a handler
import json, socket

entry, mode, layer = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, sys.argv[4])
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
import os
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
preload = [name for name in sys.argv[5].split(",") if name]
if preload:  # untimed, for every tool: see PRELOAD
    for name in preload:
        __import__(name)
    # Frozen: what was loaded before Init is walked by no tool's collection
    # (the layer freezes at the end of Init; the others would walk it).
    gc.collect()
    gc.freeze()
if layer:
    # After the function's folder, as on Lambda; and after the preload, which stands for
    # the function's own imports: on Lambda those run after the wrapper's import (and its
    # finder for the layer's root), so they must not pay the standard one's misses here.
    sys.path.insert(1, layer)


"""
    + LAMBDA_CONTEXT
    + r"""

out = {}
import tracemalloc
if mode == "alloc":
    tracemalloc.start(200)
elif mode == "memory":
    tracemalloc.start(1)
gc.collect()
t0, c0 = time.perf_counter(), time.process_time()
stop_at = os.environ.get("LX_BENCH_STOP_AT")  # the "stages" mode: see STAGES


def boundary(stage):
    if stage == stop_at:
        os._exit(0)  # counted up to here (cachegrind), nothing after


boundary("start")
if stop_at and layer:
    __import__("lambda_xray")  # the package: its bundles and the Init modules it preloads
boundary("package")
__import__(entry)  # Init: the runtime imports the handler's module...
boundary("import")
handler = sys.modules[entry].handler  # ...and looks the handler up (the layer loads the function)
if mode == "cold":
    # The collector equalised: every tool's Init frozen, as the layer freezes its
    # own, so the closing gc.collect() walks only what the first invocation left
    # (else the layer's freeze would hide the baseline's whole heap from it).
    gc.freeze()
# "shipped": as each tool ships (only the layer freezes, in its own Init).
elif mode == "nofreeze":
    gc.unfreeze()  # undo the layer's own gc.freeze() at the end of Init
elif mode == "garbage":
    # What gc.freeze() here keeps for ever: Init's unreachable cycles.
    gc.unfreeze()
    garbage = gc.collect()
boundary("init")
t_init, c_init = time.perf_counter(), time.process_time()
if mode == "alloc":
    out["init"] = tracemalloc.take_snapshot()
invoked = time.time()
handler({}, Context())
boundary("first")
if mode == "alloc":
    out["first"] = tracemalloc.take_snapshot()
full_collections = gc.get_stats()[2]["collections"]
gc.collect()
t1, c1 = time.perf_counter(), time.process_time()
result = {
    "total_ms": (t1 - t0) * 1e3,
    "init_ms": (t_init - t0) * 1e3,
    "cpu_ms": (c1 - c0) * 1e3,
    "init_cpu_ms": (c_init - c0) * 1e3,
    "invoked": invoked,
    "full_collections": full_collections,
}
if mode == "garbage":
    result["init_garbage_objects"] = garbage
result["modules"] = len(sys.modules)
result["layer_modules"] = sorted(m for m in sys.modules if m.startswith("lambda_xray"))
if mode == "memory":
    result["live_kb"] = tracemalloc.get_traced_memory()[0] / 1024

if mode == "alloc":
    import linecache, sysconfig
    stdlib = sysconfig.get_paths()["stdlib"]

    def owner(traceback):
        # The layer's own allocation: made under a layer frame with no frame of
        # other code (the function, boto3, any library) in the traceback: what
        # botocore does inside a patched call, or a module the function imports
        # through the layer's import hook, is the function's. Stdlib frames
        # (the layer's json/socket imports) count for the code that called them.
        mine = None
        for frame in traceback:
            name = frame.filename
            if name.startswith(layer):
                line = linecache.getline(name, frame.lineno)
                if "__import__(" in line or "import_module(" in line:
                    return None  # the wrapper importing the function's module: its cost
                mine = frame
            elif not (name.startswith(stdlib) or name.startswith("<")):
                return None
        return mine

    def layer_sizes(snapshot, base=None):
        stats = snapshot.compare_to(base, "traceback") if base else snapshot.statistics("traceback")
        sites = {}
        for s in stats:
            frame = owner(s.traceback)
            size = s.size_diff if base else s.size
            if frame is not None and size > 0:
                key = (frame.filename[len(layer) + 1:], frame.lineno)
                sites[key] = sites.get(key, 0) + size
        return [[f, line, size] for (f, line), size in sites.items()]

    result["init_alloc"] = layer_sizes(out["init"])
    result["first_alloc"] = layer_sizes(out["first"], out["init"])
if mode in ("freeze", "nofreeze"):
    # Warm invocations, then what a full collection costs the function.
    full = []
    for _ in range(15):
        for _ in range(20):
            handler({}, Context())
        t = time.process_time()
        gc.collect()
        full.append((time.process_time() - t) * 1e3)
    full.sort()
    result["warm_full_gc_ms"] = full[len(full) // 2]
daemon.setblocking(False)
starts = []
while True:
    try:
        data = daemon.recv(65536)
    except OSError:
        break
    doc = json.loads(data.split(b"\n", 1)[1])
    if doc.get("name", "").startswith("## "):
        starts.append(doc["start_time"])
if starts:
    result["invoke_to_handler_ms"] = (min(starts) - invoked) * 1e3
print(json.dumps(result))
"""
)


def _env(task_root: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_XRAY_HANDLER": "lx_bench_app.handler",
        "_X_AMZN_TRACE_ID": TRACE_SAMPLED,
    }


class Workspace:
    """Read-only layer copies, one function folder per tool and one site folder per tool's
    pip installs (the "pip" setting), in a temp dir."""

    def __init__(self, root: Path) -> None:
        builds = _bytecode.default_builds_path()
        built = _bytecode.ensure_built(LAYER_SOURCE, builds, minors=(sys.version_info[1],))[0]
        self.cache_tag = built.cache_tag
        self._root = root
        self._layers: dict[frozenset[str], Path] = {}
        #: Another layer tree run in this one's place (``compare``).
        self.other: Path | None = None
        self.bare = _read_only_copy(LAYER_SOURCE, root / "opt-source")
        self.tasks: dict[str, Path] = {}
        self.preload = installed(PRELOAD)
        for tool, (setup, decorator) in TOOLS.items():
            task = root / "task" / tool.replace(" ", "").replace(",", "-").replace(".", "")
            task.mkdir(parents=True)
            (task / "lx_bench_app.py").write_text(APP.format(setup=setup, decorator=decorator))
            self.tasks[tool] = task
        # Interpreter start + the runtime's imports + a trivial function: what
        # the instruction counts subtract to leave the timed part.
        self.tasks["noop"] = root / "task" / "noop"
        self.tasks["noop"].mkdir()
        (self.tasks["noop"] / "lx_bench_app.py").write_text(NOOP_APP)
        # The "pip" setting: the runtime and the function package for every
        # tool, plus the tool's own distributions for aws-xray-sdk and Powertools.
        base = RUNTIME_REQUIREMENTS + FUNCTION_REQUIREMENTS
        self.sites: dict[str, Path] = {"": site_folder(base, root / "site" / "base")}
        for tool, requirements in TOOL_REQUIREMENTS.items():
            self.sites[tool] = site_folder(base + requirements, root / "site" / tool)

    def layer_for(self, loaded: Iterable[str], wire: str = "xray") -> Path:
        """The layer a function that loads the modules ``loaded`` gets (read-only, made
        once): the core, the client parts they call for, the OTLP part in OTLP ``wire``."""
        parts = client_parts(loaded) | (frozenset({"otlp"}) if wire == "otlp" else frozenset())
        if parts not in self._layers:
            runtime = _bytecode.runtime_name(sys.version_info[1])
            tree = _bytecode.assemble_layer(_bytecode.default_builds_path(), runtime, parts)
            dest = self._root / "-".join(["opt", *sorted(parts)])
            self._layers[parts] = _read_only_copy(tree, dest)
        return self._layers[parts]

    def command(
        self,
        tool: str,
        mode: str = "cold",
        setting: str = "preloaded",
        function: str = "",
        wire: str = "xray",
    ) -> list[str]:
        """The child's command line for ``tool`` (``none``, ``layer``, ... or ``noop``);
        ``function`` names another tool's function folder (``noop``: the trivial one);
        ``wire`` the layer's format (its OTLP part)."""
        layered = tool.startswith("layer")
        compared = mode in ("cold", "shipped")  # the tools compared
        layer = None
        if tool == "layer":  # with the PRELOAD clients' parts where they are loaded
            loaded = self.preload if compared and setting != "pip" else ()
            layer = self.other or self.layer_for(loaded, wire)
        elif tool == "layer, no .pyc":
            layer = self.bare
        entry = "lambda_xray.handler" if layered else "lx_bench_app"
        task = self.tasks[function or tool]
        args = [entry, mode, str(layer / "python") if layer else "", str(task)]
        if setting == "pip":
            site = self.sites.get(tool, self.sites[""])
            return [sys.executable, "-S", "-c", CHILD, *args, "", str(site)]
        preload = ",".join(self.preload) if compared else ""
        return [sys.executable, "-c", CHILD, *args, preload, ""]

    def run(self, tool: str, mode: str = "cold", setting: str = "preloaded") -> dict[str, Any]:
        done = subprocess.run(
            self.command(tool, mode, setting),
            env=_env(self.tasks[tool]),
            capture_output=True,
            text=True,
            timeout=600,  # tracemalloc with full tracebacks on a loaded machine: minutes
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"cold-start child {tool}/{mode}/{setting} failed:\n{done.stderr[-3000:]}"
            )
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def client_parts(loaded: Iterable[str]) -> frozenset[str]:
    """The layer parts a function that loads the modules ``loaded`` gets for them (the
    planner's rule: a part whose libraries the function ships), in the parts' order."""
    tops = {name.partition(".")[0] for name in loaded}
    return frozenset(name for name, part in PARTS.items() if tops & set(part.libraries))


def _read_only_copy(tree: Path, dest: Path) -> Path:
    shutil.copytree(
        tree, dest, ignore=shutil.ignore_patterns("__pycache__") if tree == LAYER_SOURCE else None
    )
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return dest


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


_row = functools.partial(_make_row, "cold")


def _top(sites: list[list[Any]], count: int = 3) -> str:
    ranked = sorted(sites, key=lambda s: -s[2])[:count]
    return ", ".join(f"{f}:{line} {size / 1024:.1f} KB" for f, line, size in ranked)


def run() -> list[dict[str, Any]]:
    """Measure everything; return rows for bench/run.py."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp))
        try:
            return _measure(workspace)
        finally:
            _make_writable(Path(tmp))


def _measure(ws: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tools = list(TOOLS)
    compared = ("none", "layer", "xray-sdk", "powertools")
    # (setting, tool, mode): the compared tools in both settings, the layer
    # without .pyc (preloaded), all with the collector equalised ("cold"); the
    # layer and the baseline as shipped (only the layer freezes Init's objects).
    runs = [("pip", t, "cold") for t in compared] + [("preloaded", t, "cold") for t in tools]
    runs += [("preloaded", "none", "shipped"), ("preloaded", "layer", "shipped")]
    for setting, tool, mode in runs:  # warm the page cache once
        ws.run(tool, mode, setting)
    samples: dict[tuple[str, str, str], list[dict[str, Any]]] = {r: [] for r in runs}
    for i in range(SAMPLES):
        for key in runs if i % 2 == 0 else runs[::-1]:
            samples[key].append(ws.run(key[1], key[2], key[0]))
    sdk = {}
    for setting in SETTINGS:
        present = compared if setting == "pip" else tools
        cold = {t: samples[(setting, t, "cold")] for t in present}
        rows += _comparison(ws, setting, cold)
        sdk[setting] = _over(cold, "xray-sdk")
    shipped = _over({t: samples[("preloaded", t, "shipped")] for t in ("none", "layer")}, "layer")
    rows.append(
        _row(
            "cold start over no tracer: layer as shipped (its gc.freeze(), the others none)",
            shipped,
            "ms",
            detail=(
                f"{SETTING_NAMES['preloaded']}; the layer freezes what Init allocated, so the "
                "closing gc.collect() skips the boto3-sized heap the baseline's walks: a real "
                "saving when the first invocation tips a full collection, not the layer's own "
                "cost (the rows above)"
            ),
        )
    )
    rows.append(
        _row(
            "cold start over no tracer: layer without .pyc",
            _over({t: samples[("preloaded", t, "cold")] for t in tools}, "layer, no .pyc"),
            "ms",
            detail=(
                f"{SETTING_NAMES['preloaded']}; source only (what a version built without its "
                "interpreter ships)"
            ),
        )
    )
    invoke = [
        s["invoke_to_handler_ms"]
        for s in samples[("pip", "layer", "cold")]
        if "invoke_to_handler_ms" in s
    ]
    if invoke:
        value = statistics.median(invoke)
        rows.append(
            _row(
                "invoke received -> ## handler start (cold)",
                value,
                "ms",
                f"< {GOAL_INVOKE_TO_HANDLER_MS:g} ms",
                value < GOAL_INVOKE_TO_HANDLER_MS,
                "the layer's ## subsegment start_time minus the time the handler was called",
            )
        )
    for setting in SETTINGS:
        baseline_cpu = statistics.median(s["cpu_ms"] for s in samples[(setting, "none", "cold")])
        rows += _instructions(ws, setting, baseline_cpu)
    rows += _allocations(ws)
    rows += _freeze(ws)
    rows += _zips()
    return rows


def _over(samples: dict[str, list[dict[str, Any]]], tool: str) -> float:
    """Median CPU ms of ``tool`` minus the baseline of the same round (machine drift cancels)."""
    return statistics.median(
        s["cpu_ms"] - b["cpu_ms"] for s, b in zip(samples[tool], samples["none"], strict=True)
    )


def _comparison(
    ws: Workspace, setting: str, samples: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The judged rows of one setting: baseline, the layer over it, the ratio to the SDK."""
    named = SETTING_NAMES[setting]
    # CPU time of the process: what a cold start costs when the core is yours
    # (Lambda's is); wall time on this shared machine mostly measures the others.
    total = {t: statistics.median(s["cpu_ms"] for s in v) for t, v in samples.items()}
    wall = {t: statistics.median(s["total_ms"] for s in v) for t, v in samples.items()}
    over = {t: _over(samples, t) for t in samples if t != "none"}
    sdk, powertools = over["xray-sdk"], over["powertools"]
    modules = {t: statistics.median(s["modules"] for s in v) for t, v in samples.items()}
    layer_modules = samples["layer"][0]["layer_modules"]
    return [
        _row(
            f"cold start, no tracer (baseline) [{named}]",
            total["none"],
            "ms",
            detail=(
                "CPU time: import the function (boto3 + a DynamoDB client) + first invocation "
                f"(1 PutItem), gc.collect() at both ends, Init frozen (gc.freeze()) for every "
                f"tool; median of {SAMPLES} fresh interpreters (wall {wall['none']:.0f} ms); "
                f"{modules['none']:.0f} modules loaded"
            ),
        ),
        _row(
            f"cold start over no tracer: layer [{named}]",
            over["layer"],
            "ms",
            f"≤ {GOAL_OVER_MS:g} ms",
            over["layer"] <= GOAL_OVER_MS,
            f"read-only layer with {ws.cache_tag} .pyc, PYTHONDONTWRITEBYTECODE=1; "
            f"xray-sdk +{sdk:.1f} ms, powertools +{powertools:.1f} ms (CPU, median of "
            "the differences to the baseline of the same round); wall: "
            + ", ".join(f"{t} +{wall[t] - wall['none']:.1f}" for t in over)
            + "; modules loaded over the baseline: "
            + ", ".join(f"{t} +{modules[t] - modules['none']:.0f}" for t in over)
            + f" (layer: {len(layer_modules)} of its own)",
        ),
        _row(
            f"cold start ratio layer / xray-sdk [{named}]",
            over["layer"] / sdk if sdk > 0 else float("nan"),
            "x",
            f"≤ {GOAL_RATIO:g}x",
            sdk > 0 and over["layer"] / sdk <= GOAL_RATIO,
            (
                f"layer / powertools {over['layer'] / powertools:.2f}x, "
                f"powertools / xray-sdk {powertools / sdk:.2f}x"
            )
            if sdk > 0 and powertools > 0
            else "",
        ),
    ]


def _instructions(ws: Workspace, setting: str, baseline_cpu_ms: float) -> list[dict[str, Any]]:
    """Instructions executed (valgrind cachegrind): the same on a loaded machine."""
    if shutil.which("valgrind") is None:
        return []
    counts = {}
    for tool in ("noop", "none", "layer", "xray-sdk", "powertools"):
        counts[tool] = instruction_count(ws, tool, setting)
        if counts[tool] is None:
            return []
    timed = counts["none"] - counts["noop"]
    layer = counts["layer"] - counts["none"]
    sdk = counts["xray-sdk"] - counts["none"]
    powertools = counts["powertools"] - counts["none"]
    named = SETTING_NAMES[setting]
    return [
        _row(
            f"cold start over no tracer: layer, instructions [{named}]",
            layer / timed * baseline_cpu_ms,
            "ms",
            f"≤ {GOAL_OVER_MS:g} ms",
            layer / timed * baseline_cpu_ms <= GOAL_OVER_MS,
            f"+{layer / 1e6:.1f} M instructions = {layer / timed:.2%} of the baseline's "
            f"{timed / 1e6:.0f} M, times its CPU time (cachegrind, one run each, "
            f"PYTHONHASHSEED=0, Init frozen for every tool); xray-sdk +{sdk / 1e6:.1f} M, "
            f"powertools +{powertools / 1e6:.1f} M",
        ),
        _row(
            f"cold start ratio layer / xray-sdk, instructions [{named}]",
            layer / sdk if sdk > 0 else float("nan"),
            "x",
            f"≤ {GOAL_RATIO:g}x",
            sdk > 0 and layer / sdk <= GOAL_RATIO,
            f"layer / powertools {layer / powertools:.3f}x" if powertools > 0 else "",
        ),
    ]


def instruction_count(
    ws: Workspace,
    tool: str,
    setting: str,
    extra_env: dict[str, str] | None = None,
    function: str = "",
) -> int | None:
    """User-space instructions of one child under cachegrind (``PYTHONHASHSEED=0``);
    ``extra_env`` adds variables (the stages mode's stop and wire format), ``function``
    runs another tool's function (see :meth:`Workspace.command`)."""
    env = {**_env(ws.tasks[function or tool]), "PYTHONHASHSEED": "0", **(extra_env or {})}
    wire = env.get("LAMBDA_XRAY_FORMAT", "xray")
    return counted(ws.command(tool, "cold", setting, function, wire), env)


def counted(command: list[str], env: dict[str, str]) -> int | None:
    """User-space instructions ``command`` executes under cachegrind; ``None`` if it failed.

    ``command`` starts with the real interpreter (``sys.executable``), never a
    wrapper script such as a pyenv shim, whose shell valgrind would count instead.
    """
    out = Path(tempfile.mkdtemp()) / "cachegrind.out"
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
    done = subprocess.run(
        [*valgrind, f"--cachegrind-out-file={out}", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    shutil.rmtree(out.parent, ignore_errors=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        return None
    return int(found[1].replace(",", ""))


def _allocations(ws: Workspace) -> list[dict[str, Any]]:
    live = {t: [ws.run(t, "memory")["live_kb"] for _ in range(3)] for t in ("none", "layer")}
    added = statistics.median(live["layer"]) - statistics.median(live["none"])
    alloc = ws.run("layer", "alloc")
    init = sum(s[2] for s in alloc["init_alloc"]) / 1024
    first = sum(s[2] for s in alloc["first_alloc"]) / 1024
    return [
        _row(
            "layer: memory it adds, live after the first invocation",
            added,
            "KB",
            detail=(
                f"tracemalloc, layer {statistics.median(live['layer']):.0f} KB - no tracer "
                f"{statistics.median(live['none']):.0f} KB, after gc.collect()"
            ),
        ),
        _row(
            "layer: allocated by its own code in Init (import + handler look-up)",
            init,
            "KB",
            detail=f"tracemalloc, live after Init; top: {_top(alloc['init_alloc'])}",
        ),
        _row(
            "layer: allocated by its own code on the first invocation",
            first,
            "KB",
            detail=f"tracemalloc, live after it; top: {_top(alloc['first_alloc'])}",
        ),
    ]


def _freeze(ws: Workspace) -> list[dict[str, Any]]:
    runs: dict[str, list[dict[str, Any]]] = {"freeze": [], "nofreeze": []}
    for i in range(FREEZE_SAMPLES):
        for mode in ("freeze", "nofreeze") if i % 2 == 0 else ("nofreeze", "freeze"):
            runs[mode].append(ws.run("layer", mode))

    cold = {m: statistics.median(r["cpu_ms"] - r["init_cpu_ms"] for r in runs[m]) for m in runs}
    warm = {m: statistics.median(r["warm_full_gc_ms"] for r in runs[m]) for m in runs}
    garbage = ws.run("layer", "garbage")["init_garbage_objects"]
    return [
        _row(
            "gc.freeze() at end of Init: first invocation",
            cold["freeze"] - cold["nofreeze"],
            "ms",
            detail=(
                f"with {cold['freeze']:.2f} ms, without {cold['nofreeze']:.2f} ms CPU (invocation "
                f"+ gc.collect(); Init = wrapper + function module); median of {FREEZE_SAMPLES}; "
                f"unreachable objects at the end of Init (kept for ever when frozen): {garbage}"
            ),
        ),
        _row(
            "gc.freeze() at end of Init: full collection, warm",
            warm["freeze"] - warm["nofreeze"],
            "ms",
            detail=(
                f"with {warm['freeze']:.2f} ms, without {warm['nofreeze']:.2f} ms CPU "
                "(gc.collect() after 20 warm invocations, median of 15 per process)"
            ),
        ),
    ]


def _zips() -> list[dict[str, Any]]:
    """Zip size per layer version, judged on its core part; with every part beside."""
    builds = _bytecode.default_builds_path()
    rows = []
    for minor in _bytecode.PYTHON_MINORS:
        runtime = _bytecode.runtime_name(minor)
        built = _bytecode.read_manifest(builds, runtime)
        if built is None or not _bytecode.tree_path(builds, runtime).is_dir():
            continue
        size = _bytecode.zipped_kb(_bytecode.assemble_layer(builds, runtime, frozenset()))
        every = _bytecode.zipped_kb(_bytecode.assemble_layer(builds, runtime, frozenset(PARTS)))
        contents = f"{built.cache_tag} bytecode" if built.cache_tag else "source only"
        rows.append(
            _row(
                f"layer zip, {runtime}",
                size,
                "KB",
                f"≤ {GOAL_ZIP_KB:g} KB",
                size <= GOAL_ZIP_KB,
                f"{contents}, core part (a boto3/HTTP function); with every part "
                f"({', '.join(PARTS)}) {every:.1f} KB; deflate level 9",
            )
        )
    return rows


def _print_allocations() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        try:
            alloc = ws.run("layer", "alloc")
        finally:
            _make_writable(Path(tmp))
    for phase in ("init_alloc", "first_alloc"):
        print(f"{phase}: {sum(s[2] for s in alloc[phase]) / 1024:.1f} KB")
        for f, line, size in sorted(alloc[phase], key=lambda s: -s[2])[:15]:
            print(f"  {size / 1024:7.1f} KB  {f}:{line}")


def _print_instructions() -> None:
    """Instructions over no tracer for each tool and setting (no timing: quick, load-proof)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        try:
            for setting in SETTINGS:
                counts = {
                    t: instruction_count(ws, t, setting)
                    for t in ("none", "layer", "xray-sdk", "powertools")
                }
                base = counts["none"] or 0
                print(
                    SETTING_NAMES[setting]
                    + ": "
                    + ", ".join(
                        f"{t} +{((c or 0) - base) / 1e6:.2f} M"
                        for t, c in counts.items()
                        if t != "none"
                    )
                )
        finally:
            _make_writable(Path(tmp))


# -- the stages mode: where the layer's cold start goes ---------------------------------

#: The boundaries of a cold start, in order: with ``LX_BENCH_STOP_AT`` naming one, the
#: child (:data:`CHILD`) ends there with ``os._exit(0)``, so the instructions of a stage
#: are the difference of two counts. ``package`` and ``import`` only for the layer.
STAGES: tuple[str, ...] = ("start", "package", "import", "init", "first")
#: What each stage of the layer costs, over the same stage without a tracer.
STAGE_NAMES: dict[str, str] = {
    "package": "import lambda_xray (its bundles + the Init modules it preloads)",
    "import": "import lambda_xray.handler (after the package)",
    "init": "Init: handler look-up (function's import) - the same without a tracer",
    "first": "first invocation - the same without a tracer",
}
#: The layer's wire formats: the layer version each gets and its ``LAMBDA_XRAY_FORMAT``.
WIRE_FORMATS: dict[str, str] = {"X-Ray": "xray", "OTLP": "otlp"}
#: The functions the stages are counted for: bench's boto3 one and a trivial one.
STAGE_FUNCTIONS: dict[str, str] = {"boto3 function": "", "trivial function": "noop"}


def stage_costs(ws: Workspace, setting: str, wire: str, function: str) -> dict[str, int]:
    """Instructions the layer adds per stage (:data:`STAGE_NAMES`), plus ``total``.

    One cachegrind run per boundary, for the layer (in ``wire`` format) and for
    the same function without a tracer.
    """
    env = {"LAMBDA_XRAY_FORMAT": wire}
    lay = {
        s: instruction_count(ws, "layer", setting, {**env, "LX_BENCH_STOP_AT": s}, function)
        for s in STAGES
    }
    bare = {
        s: instruction_count(ws, "none", setting, {"LX_BENCH_STOP_AT": s}, function)
        for s in ("start", "init", "first")
    }
    if None in lay.values() or None in bare.values():
        raise RuntimeError(f"a stages child failed ({setting}, {wire}, {function or 'boto3'})")
    c: dict[str, int] = {**{f"layer {s}": v or 0 for s, v in lay.items()}}
    c.update({f"none {s}": v or 0 for s, v in bare.items()})
    costs = {
        "package": c["layer package"] - c["layer start"],
        "import": c["layer import"] - c["layer package"],
        "init": (c["layer init"] - c["layer import"]) - (c["none init"] - c["none start"]),
        "first": (c["layer first"] - c["layer init"]) - (c["none first"] - c["none init"]),
    }
    costs["total"] = sum(costs.values())
    return costs


# Runs in a fresh interpreter: the layer's modules one by one, each in two steps (found
# and unmarshalled; then made and run), ending (os._exit) after the step numbered by
# argv[4]; "order" runs a cold start instead and prints the layer modules in the
# order they finished running (leaves first). argv: the pip base site (python -S),
# the layer's python dir, the function's folder, the mode, the modules (comma-separated).
MODULE_CHILD = (
    r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import awslambdaric.bootstrap  # what the runtime has loaded before it imports a handler
import json, socket
layer, task, mode = sys.argv[2], sys.argv[3], sys.argv[4]
names = [name for name in sys.argv[5].split(",") if name]
sys.path.insert(0, layer)
sys.path.insert(0, task)
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
stand_in = type(sys)("stand-in")
for name in names:
    sys.modules[name] = stand_in  # the package's preload leaves loaded modules alone
if mode == "start":
    os._exit(0)
import lambda_xray
for name in names:
    del sys.modules[name]
finder = sys.modules["lambda_xray._bundles"].__loader__
"""
    + LAMBDA_CONTEXT
    + r"""
if mode == "order":
    done = []
    run = finder.exec_module

    def exec_module(module):
        run(module)
        done.append(module.__name__)

    finder.exec_module = exec_module
    finder.preload(tuple(names))
    import lambda_xray.handler
    lambda_xray.handler.handler({}, Context())
    print(json.dumps(done), flush=True)
    os._exit(0)
stop, step = int(mode), 0
module_from_spec = sys.modules["_frozen_importlib"].module_from_spec
if step == stop:
    os._exit(0)
for name in names:
    spec = finder.find_spec(name)
    code = finder.get_code(name)
    step += 1
    if step == stop:
        os._exit(0)
    module = module_from_spec(spec)
    sys.modules[name] = module
    exec(code, module.__dict__)
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    step += 1
    if step == stop:
        os._exit(0)
"""
)


def _init_modules() -> tuple[str, ...]:
    """``lambda_xray._bundles.INIT_MODULES`` of this checkout's layer source."""
    import importlib.util

    path = LAYER_SOURCE / "python" / "lambda_xray" / "_bundles.py"
    spec = importlib.util.spec_from_file_location("_lx_bench_bundles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: tuple[str, ...] = module.INIT_MODULES
    return names


def module_costs(ws: Workspace, wire: str) -> tuple[int, list[tuple[str, int, int]]]:
    """The package's own import (without its modules) and, for every layer module the
    boto3 function's cold start runs in ``wire`` format, leaves first: ``(name,
    instructions to find and unmarshal it, instructions to make and run it)``."""
    from concurrent.futures import ThreadPoolExecutor

    layer = ws.layer_for((), wire)  # the boto3 function's: no other clients
    task = ws.tasks["layer"]
    env = {**_env(task), "PYTHONHASHSEED": "0", "LAMBDA_XRAY_FORMAT": wire}
    init = ",".join(_init_modules())

    def command(mode: str, names: str) -> list[str]:
        args = [str(ws.sites[""]), str(layer / "python"), str(task), mode, names]
        return [sys.executable, "-S", "-c", MODULE_CHILD, *args]

    done = subprocess.run(
        command("order", init), env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"module order child failed:\n{done.stderr[-3000:]}")
    order: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    names = ",".join(order)
    modes = ["start", *(str(step) for step in range(2 * len(order) + 1))]
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda mode: counted(command(mode, names), env), modes))
    if None in counts:
        raise RuntimeError("a module child failed")
    c = [n or 0 for n in counts]
    rows = [
        (name, c[2 + 2 * i] - c[1 + 2 * i], c[3 + 2 * i] - c[2 + 2 * i])
        for i, name in enumerate(order)
    ]
    return c[1] - c[0], rows


def _print_stages(setting: str) -> None:
    """Instructions per stage (X-Ray and OTLP format) and per bundled module."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        try:
            for function, task in STAGE_FUNCTIONS.items():
                table = {f: stage_costs(ws, setting, w, task) for f, w in WIRE_FORMATS.items()}
                print(f"{function} [{SETTING_NAMES[setting]}], M instructions over no tracer:")
                print(f"  {'stage':<74}" + "".join(f"{f:>9}" for f in table))
                for stage, named in [*STAGE_NAMES.items(), ("total", "total")]:
                    print(
                        f"  {named:<74}" + "".join(f"{t[stage] / 1e6:9.2f}" for t in table.values())
                    )
            for name, wire in WIRE_FORMATS.items():
                own, rows = module_costs(ws, wire)
                print(
                    f"layer modules of the boto3 function's cold start, {name} format "
                    f"(M instructions; package __init__ + bundle table without them: "
                    f"{own / 1e6:.3f} M):"
                )
                print(f"  {'module':<34}{'unmarshal':>10}{'body':>9}{'total':>9}")
                for module, load, body in rows:
                    print(
                        f"  {module:<34}{load / 1e6:10.3f}{body / 1e6:9.3f}"
                        f"{(load + body) / 1e6:9.3f}"
                    )
                loads, bodies = sum(r[1] for r in rows), sum(r[2] for r in rows)
                total = (loads + bodies) / 1e6
                print(f"  {'sum':<34}{loads / 1e6:10.3f}{bodies / 1e6:9.3f}{total:9.3f}")
        finally:
            _make_writable(Path(tmp))


def _compare(other_tree: Path, rounds: int) -> None:
    """CPU ms over no tracer of another layer tree (an assembled core-only layer of another
    checkout) against this one's core, interleaved in the same rounds, in the "pip"
    setting (a boto3 function: the core alone, in both)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        other = _read_only_copy(other_tree, Path(tmp) / "opt-other")
        tools = ("none", "other", "this", "xray-sdk", "powertools")
        try:
            for setting in ("pip",):
                samples: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
                for i in range(rounds):
                    for tool in tools if i % 2 == 0 else tools[::-1]:
                        ws.other = other if tool == "other" else None
                        name = "layer" if tool in ("other", "this") else tool
                        samples[tool].append(ws.run(name, "cold", setting))
                ws.other = None
                over = {t: _over(samples, t) for t in tools if t != "none"}
                print(
                    f"{SETTING_NAMES[setting]}: "
                    + ", ".join(f"{t} +{v:.2f} ms" for t, v in over.items())
                    + f"; layer / xray-sdk: other {over['other'] / over['xray-sdk']:.3f}x, "
                    f"this {over['this'] / over['xray-sdk']:.3f}x"
                )
        finally:
            _make_writable(Path(tmp))


if __name__ == "__main__":
    if sys.argv[1:] == ["alloc"]:
        _print_allocations()
    elif sys.argv[1:] == ["instructions"]:
        _print_instructions()
    elif sys.argv[1:2] == ["stages"]:  # stages [pip|preloaded]
        _print_stages(sys.argv[2] if len(sys.argv) > 2 else "pip")
    elif sys.argv[1:2] == ["compare"]:  # compare OTHER_LAYER_TREE [ROUNDS]
        _compare(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 21)
    else:
        for r in run():
            print(r)
