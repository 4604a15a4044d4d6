"""The runtime layer against aws-xray-sdk (patch_all, Lambda mode) and Powertools Tracer, per call.

Measured in one run, each tool in its own fresh processes, as ratios (cold
start and the layer's zip size: ``bench_cold_start.py``):

- added CPU per traced AWS call: a real boto3 DynamoDB client whose
  ``before-send`` handler returns a canned response (no network), with the
  tool's patch switched on and off in alternating rounds in the same process
  (median of the per-round differences), sampled and unsampled; for the layer
  each round is one invocation of its wrapper (after a cold one), as in
  ``bench_clients``;
- cost per emitted document: open + close + serialise + ``sendto`` of one
  subsegment, next to the floor (``json.dumps`` + ``sendto`` of a similar
  document).

``python bench/bench_layer.py compare OLD/python [PAIRS]`` compares another
version of the layer (its ``python`` directory) with this one and the SDK,
per sampled call, their children taking turns under the same machine load.

Documents go to a UDP socket that is bound but never read (the kernel drops
what overflows; the sender pays the same ``sendto``), for every tool alike.
Run ``python bench/bench_layer.py`` alone, or ``make bench`` for all benchmarks.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _child_context import LambdaContext, wrapper_invoker
from _rows import row as _make_row

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_ROOT = REPO_ROOT / "layers" / "lambda_xray"
LAYER_PYTHON = LAYER_ROOT / "python"

CALL_ROUNDS = int(os.environ.get("BENCH_CALL_ROUNDS", "500"))
CALLS_PER_ROUND = int(os.environ.get("BENCH_CALLS_PER_ROUND", "10"))
DOCS = int(os.environ.get("BENCH_DOCS", "5000"))

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_UNSAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"

# Goals from the issue.
GOAL_CALL_US = 40.0
GOAL_CALL_RATIO = 0.25
GOAL_UNSAMPLED_US = 10.0
GOAL_DOC_US = 12.0


def _lambda_env(daemon: str, trace: str | None = TRACE_SAMPLED) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAYER_PYTHON),
        "LAMBDA_TASK_ROOT": str(LAYER_PYTHON),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_XRAY_DAEMON_ADDRESS": daemon,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_XRAY_HANDLER": "lx_bench_target.handler",
    }
    if trace is not None:
        env["_X_AMZN_TRACE_ID"] = trace
    return env


def _sink() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# -- per call (runs in a child process) ------------------------------------------


class _Raw:
    """Stands in for urllib3's response body: what AWSResponse.content reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _canned_client() -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped]

    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    headers = {
        "x-amzn-RequestId": "BENCHREQUEST0000000000000000000000000000000000000000",
        "Content-Type": "application/x-amz-json-1.0",
    }

    def canned(request: Any, **_: Any) -> Any:
        return AWSResponse(request.url, 200, headers, _Raw(b"{}"))

    client.meta.events.register("before-send.dynamodb.PutItem", canned)
    return client


def _patch_points() -> list[tuple[Any, str]]:
    from botocore.client import BaseClient  # type: ignore[import-untyped]
    from botocore.endpoint import Endpoint  # type: ignore[import-untyped]

    return [
        (BaseClient, "_make_api_call"),
        (Endpoint, "create_request"),
        (Endpoint, "prepare_request"),
        (Endpoint, "_send_request"),
    ]


def _per_call_rounds(
    client: Any, originals: list[Any], rounds: int, calls: int, invoke: Any = None
) -> dict[str, list[float]]:
    """Alternate untraced/traced rounds; CPU µs per call of every round, both sides.

    With ``invoke`` (the layer) each round is one invocation of the handler
    wrapper (``invoke(work)`` runs ``work`` as the handler), as in Lambda: a
    function making ``calls`` calls per invocation; the wrapper's own cost is
    on both sides and cancels out.
    """
    points = _patch_points()
    traced = [getattr(owner, name) for owner, name in points]
    item = {"pk": {"S": "bench"}}
    run = invoke if invoke is not None else (lambda work: work())

    def put(n: int) -> None:
        for _ in range(n):
            client.put_item(TableName="bench-table", Item=item)

    def one_round(functions: list[Any]) -> float:
        for (owner, name), fn in zip(points, functions, strict=True):
            setattr(owner, name, fn)
        run(lambda: put(1))  # refill caches after the swap
        t0 = time.process_time()
        run(lambda: put(calls))
        return (time.process_time() - t0) / calls * 1e6

    for _ in range(20):  # warm both paths
        one_round(originals)
        one_round(traced)
    base: list[float] = []
    with_tool: list[float] = []
    for i in range(rounds):
        # ABBA order, so a drift in machine speed hits both sides alike.
        if i % 2:
            with_tool.append(one_round(traced))
            base.append(one_round(originals))
        else:
            base.append(one_round(originals))
            with_tool.append(one_round(traced))
    for (owner, name), fn in zip(points, traced, strict=True):
        setattr(owner, name, fn)
    return {"base": base, "traced": with_tool}


def _child_per_call(tool: str, rounds: int, calls: int) -> dict[str, Any]:
    client = _canned_client()
    originals = [getattr(owner, name) for owner, name in _patch_points()]
    if tool == "layer":
        return {"samples": _per_call_rounds(client, originals, rounds, calls, wrapper_invoker())}
    if tool == "xray-sdk":
        from aws_xray_sdk.core import patch_all  # type: ignore[import-untyped]

        patch_all()
    elif tool == "powertools":
        from aws_lambda_powertools import Tracer

        Tracer(service="bench")
    else:
        raise ValueError(tool)
    return {"samples": _per_call_rounds(client, originals, rounds, calls)}


def _child_per_document(count: int) -> dict[str, Any]:
    """Cost of one begin/end/emit inside an invocation, and the floor."""
    import types

    result: dict[str, Any] = {}
    target = types.ModuleType("lx_bench_target")

    def handler(event: Any, context: Any) -> str:
        from lambda_xray import _recorder

        begin, end = _recorder.begin_subsegment, _recorder.end_subsegment
        for _ in range(200):
            warm = begin("DynamoDB", "aws")
            if warm is not None:
                end(warm, status=200)
        t0 = time.process_time()
        for _ in range(count):
            sub = begin("DynamoDB", "aws")
            if sub is None:
                raise RuntimeError("the layer did not record inside a sampled invocation")
            sub.aws["operation"] = "PutItem"
            sub.aws["table_name"] = "bench-table"
            end(sub, status=200)
        result["per_document_us"] = (time.process_time() - t0) / count * 1e6
        return "ok"

    target.handler = handler  # type: ignore[attr-defined]
    sys.modules["lx_bench_target"] = target
    import lambda_xray.handler

    lambda_xray.handler.handler({}, LambdaContext())

    # Floor: json.dumps + sendto of a document of the same shape.
    host, _, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    doc = {
        "name": "DynamoDB",
        "id": "53995c3f42cd8ad8",
        "start_time": time.time(),
        "end_time": time.time(),
        "type": "subsegment",
        "trace_id": "1-6745a1b2-0123456789abcdef01234567",
        "parent_id": "53995c3f42cd8ad9",
        "namespace": "aws",
        "http": {"response": {"status": 200}},
        "aws": {"operation": "PutItem", "region": "us-east-1", "table_name": "bench-table"},
    }
    header = b'{"format": "json", "version": 1}\n'
    dumps = json.dumps
    t0 = time.process_time()
    for _ in range(count):
        sock.sendto(header + dumps(doc).encode(), (host, int(port)))
    result["floor_us"] = (time.process_time() - t0) / count * 1e6
    sock.close()
    return result


def _run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- orchestration ---------------------------------------------------------------


_row = functools.partial(_make_row, "layer")


def run() -> list[dict[str, Any]]:
    """Measure everything; return rows for bench/run.py."""
    rows: list[dict[str, Any]] = []

    per_call: dict[str, tuple[float, float]] = {}
    with _sink() as sink:
        daemon = f"127.0.0.1:{sink.getsockname()[1]}"
        # The two numbers of the main ratio are measured twice, in A B ... A B
        # order, so a change in machine load between processes hits both.
        plan = [
            ("layer", TRACE_SAMPLED),
            ("xray-sdk", TRACE_SAMPLED),
            ("layer", TRACE_UNSAMPLED),
            ("xray-sdk", TRACE_UNSAMPLED),
            ("powertools", TRACE_SAMPLED),
            ("layer", TRACE_SAMPLED),
            ("xray-sdk", TRACE_SAMPLED),
        ]
        runs: dict[str, list[tuple[float, float]]] = {}
        for tool, trace in plan:
            out = _run_child(
                ["per-call", tool, str(CALL_ROUNDS), str(CALLS_PER_ROUND)],
                _lambda_env(daemon, trace),
            )
            base, traced = out["samples"]["base"], out["samples"]["traced"]
            key = tool if trace is TRACE_SAMPLED else f"{tool} unsampled"
            diffs = [t - b for t, b in zip(traced, base, strict=True)]
            runs.setdefault(key, []).append((statistics.median(diffs), statistics.median(base)))
        for key, measured in runs.items():
            per_call[key] = (
                statistics.fmean(m[0] for m in measured),
                statistics.fmean(m[1] for m in measured),
            )
        docs = _run_child(["per-document", str(DOCS)], _lambda_env(daemon))

    layer_call, base_call = per_call["layer"]
    sdk_call = per_call["xray-sdk"][0]
    rows.append(
        _row(
            "per AWS call: untraced botocore (baseline)",
            base_call,
            "µs",
            detail=(
                f"canned response; median of {CALL_ROUNDS} paired rounds of "
                f"{CALLS_PER_ROUND} calls, tool off/on alternating (layer and SDK: mean of 2 runs)"
            ),
        )
    )
    rows.append(
        _row(
            "per AWS call added: layer, sampled",
            layer_call,
            "µs",
            f"≤ {GOAL_CALL_US:g} µs",
            layer_call <= GOAL_CALL_US,
            f"xray-sdk +{sdk_call:.0f} µs, powertools +{per_call['powertools'][0]:.0f} µs",
        )
    )
    rows.append(
        _row(
            "per AWS call ratio layer / xray-sdk",
            layer_call / sdk_call if sdk_call > 0 else float("nan"),
            "x",
            f"≤ {GOAL_CALL_RATIO:g}x",
            sdk_call > 0 and layer_call / sdk_call <= GOAL_CALL_RATIO,
        )
    )
    unsampled = per_call["layer unsampled"][0]
    rows.append(
        _row(
            "per AWS call added: layer, Sampled=0",
            unsampled,
            "µs",
            f"≤ {GOAL_UNSAMPLED_US:g} µs",
            unsampled <= GOAL_UNSAMPLED_US,
            f"xray-sdk Sampled=0 +{per_call['xray-sdk unsampled'][0]:.0f} µs",
        )
    )
    rows.append(
        _row(
            "per emitted document (open+close+send)",
            docs["per_document_us"],
            "µs",
            f"≤ {GOAL_DOC_US:g} µs",
            docs["per_document_us"] <= GOAL_DOC_US,
            f"floor json.dumps+sendto {docs['floor_us']:.1f} µs",
        )
    )
    return rows


def compare(other: Path, pairs: int = 6, rounds: int = 300) -> dict[str, list[float]]:
    """µs added per sampled call by another version of the layer, this one and the SDK.

    ``other`` is that version's ``python`` directory (e.g. from ``git archive
    <commit> layers/lambda_xray``). The three run as per-call children in
    turn, ``pairs`` times (order reversed every other time), so a change in
    machine load hits all three alike: compare them round by round.
    """
    trees = {"other": other, "this": LAYER_PYTHON}
    added: dict[str, list[float]] = {"other": [], "this": [], "xray-sdk": []}
    with _sink() as sink:
        daemon = f"127.0.0.1:{sink.getsockname()[1]}"
        for i in range(pairs):
            order = ["other", "this", "xray-sdk"]
            for name in order if i % 2 == 0 else order[::-1]:
                env = _lambda_env(daemon)
                if name in trees:
                    env["PYTHONPATH"] = str(trees[name])
                tool = "xray-sdk" if name == "xray-sdk" else "layer"
                out = _run_child(["per-call", tool, str(rounds), str(CALLS_PER_ROUND)], env)
                samples = out["samples"]
                diffs = [t - b for t, b in zip(samples["traced"], samples["base"], strict=True)]
                added[name].append(statistics.median(diffs))
    return added


def _print_comparison(added: dict[str, list[float]]) -> None:
    sdk = added["xray-sdk"]
    for name, values in added.items():
        print(
            f"{name:9s} median +{statistics.median(values):5.1f} µs  rounds: "
            + " ".join(f"{v:5.1f}" for v in values)
        )
    for name in ("other", "this"):
        ratios = [v / s for v, s in zip(added[name], sdk, strict=True) if s > 0]
        print(f"{name:9s} / xray-sdk per round: " + " ".join(f"{r:.2f}" for r in ratios))


def _child_main(argv: list[str]) -> None:
    if argv[0] == "per-call":
        out = _child_per_call(argv[1], int(argv[2]), int(argv[3]))
    elif argv[0] == "per-document":
        out = _child_per_document(int(argv[1]))
    else:
        raise SystemExit(f"unknown child mode {argv[0]!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "compare":
        # python bench/bench_layer.py compare OTHER_LAYER_PYTHON [PAIRS]
        _print_comparison(compare(Path(sys.argv[2]), *(int(a) for a in sys.argv[3:4])))
    elif len(sys.argv) > 1:
        _child_main(sys.argv[1:])
    else:
        for r in run():
            print(r)
