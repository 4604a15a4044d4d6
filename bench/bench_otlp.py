"""The layer's OTLP mode beside its X-Ray format, aws-xray-sdk, Powertools and ADOT lite mode.

All in one run, each tool in its own fresh processes, in Lambda mode (the
function's spans or documents go to a UDP socket that is bound but never
read, the same for every tool):

- cold start: a fresh interpreter that has loaded what ``awslambdaric``
  loads before a handler, then Init (import the handler module; for the
  layer its wrapper, for ADOT its lite-mode wrapper ``lx_adot_wrapper``, for
  the SDK and Powertools the function, which sets them up at its top) and the
  first invocation (one DynamoDB ``PutItem`` with a canned response), CPU
  time from a ``gc.collect()`` to the end of the invocation, minus the same
  function without a tracer in the same interpreter (paired per round,
  median). ``bench_cold_start.py`` also counts a closing ``gc.collect()``;
  that number is in the detail column, not judged: the layer freezes Init's
  objects (``gc.freeze()``), so its closing collection walks fewer objects
  than the baseline's and it can come out below no tracer at all. The function, the layer
  copies and the tools' set-up are ``bench_cold_start.py``'s. ADOT runs in
  ``.venv-adot`` (its pins conflict with ours) with the variables its Lambda
  layer's ``otel-instrument`` exports, lite mode
  (``OTEL_AWS_LAMBDA_FAST_START=true``); its baseline is the same function
  without a tracer in that interpreter.
- per sampled call: one round is one invocation of the traced handler making
  10 ``PutItem`` calls (canned responses, no network), so each tool's work at
  the end of an invocation (the layer's OTLP batch, ADOT's flush and export)
  is counted; the tool's botocore patches are swapped in and out of the
  classes in alternating rounds (ABBA) in one process, and the added CPU per
  call is the median of the paired differences divided by 10. Each tool's
  rounds run in 3 children, the tools taking turns.

``python bench/bench_otlp.py`` prints the rows; ``make bench`` runs it with
the other benchmarks. Two more modes look inside the OTLP cold start, in
instructions (valgrind cachegrind, no ADOT needed):

- ``python bench/bench_otlp.py stages [nogc]``: the OTLP cold child minus the
  X-Ray one, by what runs (reading and unmarshalling each module of the OTLP
  part, their bodies and import machinery, the resource, the first spans,
  the flush), as differences of children stopped at chosen points
  (:data:`STAGES`); ``nogc`` turns the cyclic collector off after Init so a
  collection falling in one stage and not the next does not blur them.
- ``python bench/bench_otlp.py count CASE STEP...``: one such child (``CASE``
  ``layer`` or ``otlp``; the steps: :data:`STAGES_CHILD`).
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
from pathlib import Path
from typing import Any

from _child_context import LAMBDA_CONTEXT
from _rows import row as _make_row

REPO_ROOT = Path(__file__).resolve().parents[1]
HARNESS = REPO_ROOT / "tests" / "layer" / "harness"
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
#: The per-call child (it runs under ADOT's interpreter too: standard library and the tool only).
CALL_CHILD = Path(__file__).resolve().parent / "_otlp_call_child.py"

COLD_SAMPLES = int(os.environ.get("BENCH_OTLP_COLD_SAMPLES", "11"))
CALL_ROUNDS = int(os.environ.get("BENCH_OTLP_CALL_ROUNDS", "100"))
CALLS_PER_ROUND = 10
CHILDREN = 3

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

# Goals from issue 10.
GOAL_COLD_OVER_XRAY_MS = 1.0
GOAL_COLD_RATIO = 0.05
GOAL_CALL_RATIO = 0.25

# Runs in each fresh interpreter (cold start). argv: the entry module, a
# directory to put first on sys.path ("" for none), the function's folder,
# the modules to load before timing (comma-separated; see bench_cold_start.PRELOAD),
# optionally "count" (under cachegrind: exit right after the first invocation).
COLD_CHILD = (
    r"""
import gc, sys, time
import awslambdaric.bootstrap  # what the runtime has loaded before it imports a handler
import os, socket

entry, first, task, preload = sys.argv[1:5]
counting = sys.argv[5:] == ["count"]  # under cachegrind: stop right after the invocation
sys.path.insert(0, task)
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
for name in filter(None, preload.split(",")):
    __import__(name)
gc.collect()
gc.freeze()
if first:  # after the preload (the function's imports), as in bench_cold_start's CHILD
    sys.path.insert(1, first)


"""
    + LAMBDA_CONTEXT
    + r"""

gc.collect()
c0 = time.process_time()
__import__(entry)  # Init
handler = sys.modules[entry].handler
# The collector equalised, as in bench_cold_start: every case's Init frozen (the layer
# freezes its own), so no case's first invocation or closing collection walks Init's heap.
gc.freeze()
handler({}, Context())
if counting:
    os._exit(0)  # no closing collection, no interpreter shutdown in the count
c_open = time.process_time()  # before the closing collection
gc.collect()
c1 = time.process_time()
daemon.setblocking(False)
sent = 0
while True:
    try:
        sent += bool(daemon.recv(65536))
    except OSError:
        break
print(
    '{"cpu_ms": %r, "open_cpu_ms": %r, "datagrams": %d}'
    % ((c1 - c0) * 1e3, (c_open - c0) * 1e3, sent)
)
"""
)

#: The handler module ADOT's wrapper loads (as Lambda's ``_HANDLER`` would name it).
ADOT_ENTRY = "from lx_adot_wrapper import lambda_handler as handler\n"

_row = functools.partial(_make_row, "otlp")


def _lambda_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "_X_AMZN_TRACE_ID": TRACE_SAMPLED,
    }
    env.update(extra or {})
    return env


def _adot_environment(env: dict[str, str], handler: str) -> dict[str, str]:
    sys.path.insert(0, str(HARNESS))
    import lx_adot

    return lx_adot.lite_environment(env, handler)


def _adot_python() -> str | None:
    python = REPO_ROOT / ".venv-adot" / "bin" / "python"
    return str(python) if python.is_file() else None


# -- cold start ------------------------------------------------------------------


class ColdStart:
    """The cold-start children: bench_cold_start's workspace plus the OTLP and ADOT cases."""

    def __init__(self, root: Path, adot_python: str | None) -> None:
        import bench_cold_start

        self.cold = bench_cold_start
        self.ws = bench_cold_start.Workspace(root)
        self.adot_python = adot_python or ""
        self.adot_opt = root / "adot-opt"
        self.adot_opt.mkdir()
        # One set of libraries loaded before the clock for every case: the PRELOAD
        # libraries both environments have (ADOT's venv holds few of them), so each
        # tool instruments the same libraries; without ADOT (``stages``) ours.
        self.preload = ",".join(self.ws.preload)
        if adot_python is not None:
            shutil.copy(HARNESS / "adot_layer" / "lx_adot_wrapper.py", self.adot_opt)
            (self.adot_opt / "lx_bench_adot.py").write_text(ADOT_ENTRY)
            probe = subprocess.run(
                [adot_python, "-c", _FIND_SPECS, ",".join(self.ws.preload)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            self.preload = probe.stdout.strip()
        # The layer a function that loads those libraries gets (core, their client
        # parts, the OTLP part in OTLP mode): bench_cold_start's Workspace.layer_for.
        self.loaded = [name for name in self.preload.split(",") if name]

    def command(self, case: str) -> tuple[list[str], dict[str, str]]:
        ws = self.ws
        python, preload = sys.executable, self.preload
        extra: dict[str, str] = {}
        if case in ("layer", "otlp"):
            layer = ws.layer_for(self.loaded, "otlp" if case == "otlp" else "xray")
            entry, first, task = "lambda_xray.handler", str(layer / "python"), ws.tasks["layer"]
            extra = {
                "LAMBDA_XRAY_HANDLER": "lx_bench_app.handler",
                "LAMBDA_XRAY_FORMAT": "otlp" if case == "otlp" else "xray",
            }
        elif case in ("adot", "adot-none", "adot-noop"):
            python = self.adot_python
            task = ws.tasks["noop" if case == "adot-noop" else "none"]
            entry, first = (
                ("lx_bench_adot", str(self.adot_opt))
                if case == "adot"
                else (
                    "lx_bench_app",
                    "",
                )
            )
        else:  # none, noop, xray-sdk, powertools: the function sets the tool up itself
            entry, first, task = "lx_bench_app", "", ws.tasks[case]
        env = _lambda_env({"LAMBDA_TASK_ROOT": str(task), **extra})
        if case == "adot":
            env |= _adot_environment(env, "lx_bench_app.handler")
        return [python, "-c", COLD_CHILD, entry, first, str(task), preload], env

    def run(self, case: str) -> dict[str, Any]:
        command, env = self.command(case)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"cold-start child {case} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        if case not in ("none", "noop", "adot-none", "adot-noop") and not result["datagrams"]:
            raise RuntimeError(f"cold-start child {case} sent nothing: not traced")
        return result


_FIND_SPECS = r"""
import importlib.util, sys
found = []
for name in sys.argv[1].split(","):
    try:
        if importlib.util.find_spec(name) is not None:
            found.append(name)
    except ImportError:
        pass
print(",".join(found))
"""

COLD_CASES = ("none", "layer", "otlp", "xray-sdk", "powertools", "adot-none", "adot")


def _cold_rows(adot_python: str) -> tuple[list[dict[str, Any]], dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        cold = ColdStart(Path(tmp), adot_python)
        parts = sorted(cold.cold.client_parts(cold.loaded) | {"otlp"})
        setup = (
            f"every case loads {', '.join(cold.loaded) or 'no library'} before the "
            f"clock; the layer holds core + {', '.join(parts)}"
        )
        try:
            for case in COLD_CASES:  # page cache
                cold.run(case)
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in COLD_CASES}
            for i in range(COLD_SAMPLES):
                for case in COLD_CASES if i % 2 == 0 else COLD_CASES[::-1]:
                    runs[case].append(cold.run(case))
            counts = _instructions(cold)
        finally:
            cold.cold._make_writable(Path(tmp))
    samples = {c: [r["open_cpu_ms"] for r in v] for c, v in runs.items()}
    closed = {c: [r["cpu_ms"] for r in v] for c, v in runs.items()}

    def over(case: str, base: str, found: dict[str, list[float]] = samples) -> float:
        return statistics.median(s - b for s, b in zip(found[case], found[base], strict=True))

    added = {c: over(c, "none") for c in ("layer", "otlp", "xray-sdk", "powertools")}
    added["adot"] = over("adot", "adot-none")
    otlp_minus_xray = over("otlp", "layer")
    ratio = added["otlp"] / added["adot"] if added["adot"] > 0 else float("nan")
    with_gc = {c: over(c, "none", closed) for c in ("layer", "otlp")}
    with_gc["adot"] = over("adot", "adot-none", closed)
    others = ", ".join(f"{c} +{added[c]:.1f} ms" for c in ("layer", "xray-sdk", "powertools"))
    rows = [
        _row(
            "cold start over no tracer: layer, OTLP",
            added["otlp"],
            "ms",
            detail=(
                f"CPU, Init + first invocation (1 PutItem); median of {COLD_SAMPLES} paired "
                f"rounds; X-Ray format: {others}; no tracer "
                f"{statistics.median(samples['none']):.0f} ms; with a closing gc.collect(): "
                + ", ".join(f"{c} {v:+.1f} ms" for c, v in with_gc.items())
                + f"; {setup}"
            ),
        ),
        _row(
            "cold start: OTLP minus X-Ray format",
            otlp_minus_xray,
            "ms",
            f"≤ {GOAL_COLD_OVER_XRAY_MS:g} ms",
            otlp_minus_xray <= GOAL_COLD_OVER_XRAY_MS,
            "paired per round (the OTLP modules load on the first invocation)",
        ),
        _row(
            "cold start over no tracer: ADOT lite",
            added["adot"],
            "ms",
            detail=(
                "aws-opentelemetry-distro 0.21.0, OTEL_AWS_LAMBDA_FAST_START=true, .venv-adot; "
                f"its no-tracer baseline {statistics.median(samples['adot-none']):.0f} ms"
            ),
        ),
        _row(
            "cold start ratio OTLP / ADOT lite",
            ratio,
            "x",
            f"≤ {GOAL_COLD_RATIO:g}x",
            ratio <= GOAL_COLD_RATIO,
        ),
    ]
    if counts:
        rows += _instruction_rows(counts, samples)
    return rows, added


def _instructions(cold: ColdStart) -> dict[str, int]:
    """Instructions each case executes (valgrind cachegrind): what no load disturbs."""
    if shutil.which("valgrind") is None:
        return {}
    counts = {}
    for case in ("noop", "none", "layer", "otlp", "adot-noop", "adot-none", "adot"):
        command, env = cold.command(case)
        found = _count([*command, "count"], env)
        if found is None:
            return {}
        counts[case] = found
    return counts


def _count(command: list[str], env: dict[str, str]) -> int | None:
    """The instructions ``command`` executes under cachegrind; ``None`` if it failed.

    ``command[0]`` is the interpreter itself (a venv's ``python`` links to the
    real binary; a pyenv shim would be a shell script, counted instead of Python).
    """
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                f"--cachegrind-out-file={out}/cachegrind.out",
                *command,
            ],
            env={**env, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            timeout=600,
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stderr[-3000:], file=sys.stderr)
        return None
    return int(found[1].replace(",", ""))


def _instruction_rows(counts: dict[str, int], samples: dict[str, list[float]]) -> list[Any]:
    """The cold-start rows again, counted in instructions, as ms of the baseline's speed."""
    timed = counts["none"] - counts["noop"]  # the baseline's own Init + first invocation
    ms_per = statistics.median(samples["none"]) / timed
    otlp, xray = counts["otlp"] - counts["none"], counts["layer"] - counts["none"]
    adot = counts["adot"] - counts["adot-none"]
    return [
        _row(
            "cold start: OTLP minus X-Ray format, instructions",
            (otlp - xray) * ms_per,
            "ms",
            f"≤ {GOAL_COLD_OVER_XRAY_MS:g} ms",
            (otlp - xray) * ms_per <= GOAL_COLD_OVER_XRAY_MS,
            f"+{(otlp - xray) / 1e6:.2f} M instructions, as ms at the baseline's "
            f"{timed / 1e6:.0f} M per {statistics.median(samples['none']):.0f} ms "
            "(cachegrind, one run each, PYTHONHASHSEED=0)",
        ),
        _row(
            "cold start ratio OTLP / ADOT lite, instructions",
            otlp / adot,
            "x",
            f"≤ {GOAL_COLD_RATIO:g}x",
            otlp / adot <= GOAL_COLD_RATIO,
            f"OTLP +{otlp / 1e6:.1f} M, X-Ray format +{xray / 1e6:.1f} M, ADOT lite "
            f"+{adot / 1e6:.0f} M instructions over no tracer (each in its own interpreter)",
        ),
    ]


# -- where the OTLP-only cold start goes (``python bench/bench_otlp.py stages``) -------

#: COLD_CHILD up to Init, then the steps in argv[6] (each followed by ``\x1f``,
#: then padding to a fixed length: a longer argv moves every later object's
#: address, which changes the order of sets and dicts keyed by objects and blurs
#: the differences by ~0.1 M), then the count stops. One script for every
#: stage, so its compilation cancels out: ``import:M`` imports M;
#: ``code:M`` finds M in the layer's bundles and unmarshals its code without
#: running it; ``emitter`` asks for the emitter in use (what the first send does:
#: in OTLP mode this imports the OTLP part); ``envelope`` has the OTLP emitter
#: write its resource, scope and aws.local.* attributes; ``noflush`` makes the
#: OTLP emitter drop its batches instead of writing and sending them; ``nogc``
#: turns the cyclic collector off (a collection that falls in one stage and not
#: the next blurs their difference); ``invoke`` is the first invocation;
#: ``exec:CODE`` runs CODE (``sys`` and ``emitter``, the layer's, at hand).
STAGES_CHILD = (
    COLD_CHILD.split("__import__(entry)  # Init")[0]
    + r"""__import__(entry)  # Init
handler = sys.modules[entry].handler
emitter = sys.modules["lambda_xray.emitter"]
for step in sys.argv[6].split("\x1f")[:-1]:  # the rest pads every stage's argv alike
    action, _, name = step.partition(":")
    if action == "import":
        __import__(name)
    elif action == "code":
        finder = sys.path_importer_cache[sys.modules["lambda_xray"].__path__[0]]
        finder.find_spec(name)
        finder.get_code(name)
    elif action == "emitter":
        emitter.get_emitter()
    elif action == "envelope":
        emitter.get_emitter()._make_envelope()
    elif action == "noflush":
        type(emitter.get_emitter())._flush_locked = lambda self: self._pending.clear()
    elif action == "nogc":
        gc.disable()
    elif action == "invoke":
        handler({}, Context())
    elif action == "exec":
        exec(name, {"sys": sys, "emitter": emitter})
    else:
        raise SystemExit("unknown step " + step)
os._exit(0)
"""
)

_OTLP_MODULES = (
    "lambda_xray.otlp",
    "lambda_xray.otlp._proto",
    "lambda_xray.otlp._attributes",
    "lambda_xray.otlp._spans",
    "lambda_xray.otlp.emitter",
)

#: (name, case, steps): each counted once, from a fresh interpreter.
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("xray init", "layer", ()),
    ("xray emitter", "layer", ("emitter",)),
    ("xray full", "layer", ("invoke",)),
    ("otlp init", "otlp", ()),
    *(
        (f"otlp code {i}", "otlp", tuple(f"code:{m}" for m in _OTLP_MODULES[: i + 1]))
        for i in range(len(_OTLP_MODULES))
    ),
    ("otlp import", "otlp", ("import:lambda_xray.otlp.emitter",)),
    ("otlp emitter", "otlp", ("emitter",)),
    ("otlp envelope", "otlp", ("emitter", "envelope")),
    ("otlp noflush", "otlp", ("emitter", "envelope", "noflush", "invoke")),
    ("otlp after envelope", "otlp", ("emitter", "envelope", "invoke")),
    ("otlp full", "otlp", ("invoke",)),
)


def stages(prefix: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """The OTLP cold child's instructions minus the X-Ray child's, by what runs.

    Each stage is a fresh interpreter counted under cachegrind up to a chosen
    point (:data:`STAGES`); the rows are differences of those counts, in M
    instructions. ``prefix``: steps every stage runs first (``nogc``). Needs
    valgrind; no ADOT.
    """
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is missing")
    with tempfile.TemporaryDirectory() as tmp:
        cold = ColdStart(Path(tmp), None)
        try:
            c: dict[str, int] = {}
            for name, case, steps in STAGES:
                command, env = cold.command(case)
                command[2] = STAGES_CHILD
                found = _count([*command, "count", _steps_argument((*prefix, *steps))], env)
                if found is None:
                    raise RuntimeError(f"stage {name!r} failed")
                c[name] = found
                print(f"  {name}: {found:,}", file=sys.stderr, flush=True)
        finally:
            cold.cold._make_writable(Path(tmp))
    rows = [("Init (OTLP minus X-Ray)", c["otlp init"] - c["xray init"])]
    before = c["otlp init"]
    for i, module in enumerate(_OTLP_MODULES):  # the package's row: + reading its bundle
        rows.append((f"unmarshal {module}", c[f"otlp code {i}"] - before))
        before = c[f"otlp code {i}"]
    code = c[f"otlp code {len(_OTLP_MODULES) - 1}"]
    xray_emitter = c["xray emitter"] - c["xray init"]
    rows += [
        ("read + unmarshal, the part's modules", code - c["otlp init"]),
        ("import of the part (the package preloads the rest)", c["otlp import"] - c["otlp init"]),
        ("  of which module bodies + import machinery", c["otlp import"] - code),
        (
            "get_emitter() minus the imports, minus X-Ray's",
            (c["otlp emitter"] - c["otlp import"] - xray_emitter),
        ),
        ("envelope (resource, scope, aws.local.*)", c["otlp envelope"] - c["otlp emitter"]),
        (
            "invocation without the flush, minus X-Ray's invocation",
            (c["otlp noflush"] - c["otlp envelope"]) - (c["xray full"] - c["xray emitter"]),
        ),
        ("flush (join, base64, send)", c["otlp after envelope"] - c["otlp noflush"]),
        ("OTLP minus X-Ray, whole cold child", c["otlp full"] - c["xray full"]),
        (
            "  check: the same, as the sum of the stages",
            c["otlp after envelope"] - c["xray full"],
        ),
    ]
    return rows


# -- per sampled call ------------------------------------------------------------

CALL_TOOLS = ("otlp", "layer", "xray-sdk", "powertools", "adot")


def _run_call_child(tool: str, daemon: str, adot_python: str) -> dict[str, Any]:
    python = adot_python if tool == "adot" else sys.executable
    extra = {"LAMBDA_TASK_ROOT": str(LAYER_PYTHON), "AWS_XRAY_DAEMON_ADDRESS": daemon}
    if tool in ("layer", "otlp"):
        extra |= {
            "PYTHONPATH": str(LAYER_PYTHON),
            "LAMBDA_XRAY_HANDLER": "lx_bench_target.handler",
            "LAMBDA_XRAY_FORMAT": "otlp" if tool == "otlp" else "xray",
        }
    env = _lambda_env(extra)
    if tool == "adot":
        env |= _adot_environment(env, "lx_bench_target.handler")
    done = subprocess.run(
        [python, str(CALL_CHILD), tool, str(CALL_ROUNDS), str(CALLS_PER_ROUND)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"per-call child {tool} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _call_rows(adot_python: str) -> list[dict[str, Any]]:
    import socket

    diffs: dict[str, list[float]] = {t: [] for t in CALL_TOOLS}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        daemon = f"127.0.0.1:{sink.getsockname()[1]}"
        for i in range(CHILDREN):
            for tool in CALL_TOOLS if i % 2 == 0 else CALL_TOOLS[::-1]:
                diffs[tool] += _run_call_child(tool, daemon, adot_python)["diffs"]
    per_call = {t: statistics.median(d) for t, d in diffs.items()}
    ratio = per_call["otlp"] / per_call["adot"] if per_call["adot"] > 0 else float("nan")
    n = CHILDREN * CALL_ROUNDS
    return [
        _row(
            "added per sampled AWS call: layer, OTLP",
            per_call["otlp"],
            "µs",
            detail=(
                f"CPU; rounds of one invocation with {CALLS_PER_ROUND} PutItems (canned), "
                f"patches in/out ABBA, median of {n} paired rounds; X-Ray format "
                f"{per_call['layer']:.1f} µs, xray-sdk {per_call['xray-sdk']:.1f} µs, "
                f"powertools {per_call['powertools']:.1f} µs"
            ),
        ),
        _row(
            "added per sampled AWS call: ADOT lite",
            per_call["adot"],
            "µs",
            detail="botocore instrumentation + its share of the flush and UDP export",
        ),
        _row(
            "per sampled call ratio OTLP / ADOT lite",
            ratio,
            "x",
            f"≤ {GOAL_CALL_RATIO:g}x",
            ratio <= GOAL_CALL_RATIO,
        ),
    ]


def run() -> list[dict[str, Any]]:
    """Measure everything; return rows for bench/run.py."""
    adot_python = _adot_python()
    if adot_python is None:
        raise RuntimeError(".venv-adot is missing: run `make setup` (it builds it)")
    rows, _ = _cold_rows(adot_python)
    return rows + _call_rows(adot_python)


def _steps_argument(steps: tuple[str, ...] | list[str]) -> str:
    """``steps`` as the stage child's one argument, padded to a fixed length."""
    joined = "".join(step + "\x1f" for step in steps)
    if len(joined) > _STEPS_LENGTH:
        raise ValueError(f"steps longer than {_STEPS_LENGTH} characters: {joined!r}")
    return joined.ljust(_STEPS_LENGTH)


_STEPS_LENGTH = 1000


def count_stage(case: str, steps: list[str]) -> int | None:
    """The instructions of one cold child of ``case`` (``layer``, ``otlp``) with ``steps``."""
    with tempfile.TemporaryDirectory() as tmp:
        cold = ColdStart(Path(tmp), None)
        try:
            command, env = cold.command(case)
            command[2] = STAGES_CHILD
            return _count([*command, "count", _steps_argument(steps)], env)
        finally:
            cold.cold._make_writable(Path(tmp))


if __name__ == "__main__":
    if sys.argv[1:2] == ["stages"]:  # stages [nogc]
        for what, found in stages(tuple(sys.argv[2:])):
            print(f"{found / 1e6:+8.3f} M  {what}")
    elif sys.argv[1:2] == ["count"]:  # count CASE STEP...
        print(count_stage(sys.argv[2], sys.argv[3:]))
    else:
        for r in run():
            print(r)
