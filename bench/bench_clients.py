"""Added cost per traced call of the async/HTTP client patches, beside aws-xray-sdk's.

For httpx (sync and async), aiohttp and aiobotocore, each tool in a fresh
process per case, sampled (``Sampled=1``) and unsampled (``Sampled=0``):

- the layer: the real handler wrapper (``lambda_xray.handler.handler``) runs
  a handler that makes the calls, so every call is inside a real invocation;
- aws-xray-sdk 2.15 in Lambda mode (``LAMBDA_TASK_ROOT`` set, the trace
  header in ``_X_AMZN_TRACE_ID``): its httpx transport wrapper (what its
  ``patch(["httpx"])`` installs on every new client), its aiohttp
  ``aws_xray_trace_config()`` and its aiobotocore patch.

Added CPU per call = the median, over alternating rounds in one process
(ABBA order), of the per-call CPU time with the tool on minus off; each
tool's rounds are split over ``BENCH_CLIENT_CHUNKS`` (3) children, the two
tools taking turns, so a change of load during the run reaches both. The
layer is switched by putting the original methods back on the classes, the
SDK by using an uninstrumented client/session (or the original methods) for
the "off" rounds. No network where it is not needed: httpx answers from
``httpx.MockTransport``, aiobotocore from a ``before-send`` handler with a
canned response; aiohttp talks to a keep-alive aiohttp server in another
process on 127.0.0.1 (its CPU is not counted). Documents go to a UDP socket
that is bound but never read, for both tools alike.

``python bench/bench_clients.py`` alone, or ``make bench`` for all benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"

ROUNDS = int(os.environ.get("BENCH_CLIENT_ROUNDS", "150"))
CALLS_PER_ROUND = int(os.environ.get("BENCH_CLIENT_CALLS_PER_ROUND", "10"))
#: Each tool's rounds are split over this many children, the tools taking turns.
CHUNKS = int(os.environ.get("BENCH_CLIENT_CHUNKS", "3"))

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_UNSAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"

CLIENTS = tuple(os.environ.get("BENCH_CLIENTS", "httpx,httpx-async,aiohttp,aiobotocore").split(","))
GOAL_RATIO = 0.25
GOAL_UNSAMPLED_US = 10.0


# -- the calls, off and on (run in a child process) ------------------------------------


class Case:
    """One client: ``call()`` makes one request; ``switch(on)`` turns the tool on or off."""

    is_async = False

    def call(self) -> Any:
        raise NotImplementedError

    def switch(self, on: bool) -> None:
        raise NotImplementedError


class ClassSwap(Case):
    """Tool on/off by swapping methods on classes (captured before and after patching)."""

    def __init__(self, points: list[tuple[Any, str]]) -> None:
        self.points = points
        self.off = [getattr(owner, name) for owner, name in points]
        self.on: list[Any] = []

    def patched(self) -> None:
        self.on = [getattr(owner, name) for owner, name in self.points]

    def switch(self, on: bool) -> None:
        for (owner, name), fn in zip(self.points, self.on if on else self.off, strict=True):
            setattr(owner, name, fn)


def _mock_httpx(is_async: bool) -> Any:
    import httpx

    def answer(request: Any) -> Any:
        return httpx.Response(200, content=b"{}")

    return httpx.MockTransport(answer)


def httpx_case(tool: str, is_async: bool) -> Case:
    import httpx

    url = "http://api.example.com/v1/items?limit=10"
    if tool == "xray-sdk":
        from aws_xray_sdk.ext.httpx.patch import (  # type: ignore[import-untyped]
            AsyncInstrumentedTransport,
            SyncInstrumentedTransport,
        )

        wrapper = AsyncInstrumentedTransport if is_async else SyncInstrumentedTransport
        plain_cls = httpx.AsyncClient if is_async else httpx.Client
        mock = _mock_httpx(is_async)
        clients = {False: plain_cls(transport=mock), True: plain_cls(transport=wrapper(mock))}

        class Sdk(Case):
            current = clients[False]

            def call(self) -> Any:
                return self.current.get(url)

            def switch(self, on: bool) -> None:
                self.current = clients[on]

        case: Case = Sdk()
    else:
        swap = ClassSwap(
            [
                (httpx.Client, "send"),
                (httpx.AsyncClient, "send"),
                (httpx.Response, "close"),
                (httpx.Response, "aclose"),
            ]
        )
        from lambda_xray import patches

        patches.install()
        swap.patched()
        client = (httpx.AsyncClient if is_async else httpx.Client)(transport=_mock_httpx(is_async))
        swap.call = lambda: client.get(url)  # type: ignore[method-assign]
        case = swap
    case.is_async = is_async
    return case


def aiohttp_case(tool: str, server_url: str) -> Case:
    import aiohttp

    url = server_url + "/v1/items?limit=10"
    sessions: dict[bool, Any] = {}

    timeout = aiohttp.ClientTimeout(total=10)  # a stalled call fails the row, never hangs

    async def get(session: Any) -> int:
        async with session.get(url, timeout=timeout) as response:
            await response.read()
            return int(response.status)

    if tool == "xray-sdk":
        from aws_xray_sdk.ext.aiohttp.client import (  # type: ignore[import-untyped]
            aws_xray_trace_config,
        )

        class Sdk(Case):
            is_async = True
            on = False

            def call(self) -> Any:
                if not sessions:
                    sessions[False] = aiohttp.ClientSession()
                    sessions[True] = aiohttp.ClientSession(trace_configs=[aws_xray_trace_config()])
                return get(sessions[self.on])

            def switch(self, on: bool) -> None:
                self.on = on

        return Sdk()
    swap = ClassSwap([(aiohttp.ClientSession, "_request")])
    from lambda_xray import patches

    patches.install()
    swap.patched()

    def call() -> Any:
        if not sessions:
            sessions[True] = aiohttp.ClientSession()
        return get(sessions[True])

    swap.call = call  # type: ignore[method-assign]
    swap.is_async = True
    return swap


class _CannedBody:
    async def read(self) -> bytes:
        return b"{}"


def aiobotocore_case(tool: str) -> Case:
    from aiobotocore.awsrequest import AioAWSResponse  # type: ignore[import-untyped]
    from aiobotocore.client import AioBaseClient  # type: ignore[import-untyped]
    from aiobotocore.endpoint import AioEndpoint  # type: ignore[import-untyped]
    from aiobotocore.session import get_session  # type: ignore[import-untyped]

    swap = ClassSwap(
        [
            (AioBaseClient, "_make_api_call"),
            (AioEndpoint, "create_request"),
            (AioEndpoint, "prepare_request"),
        ]
    )
    if tool == "xray-sdk":
        from aws_xray_sdk.core import patch  # type: ignore[import-untyped]

        patch(["aiobotocore"])
    else:
        from lambda_xray import patches

        patches.install()
    swap.patched()
    headers = {
        "x-amzn-RequestId": "BENCHREQUEST0000000000000000000000000000000000000000",
        "Content-Type": "application/x-amz-json-1.0",
    }

    def canned(request: Any, **_: Any) -> Any:
        return AioAWSResponse(request.url, 200, headers, _CannedBody())

    clients: list[Any] = []
    item = {"pk": {"S": "bench"}}

    async def call() -> Any:
        if not clients:
            creator = get_session().create_client(
                "dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
            )
            client = await creator.__aenter__()
            client.meta.events.register("before-send.dynamodb.PutItem", canned)
            clients.append(client)
        return await clients[0].put_item(TableName="bench-table", Item=item)

    swap.call = call  # type: ignore[method-assign]
    swap.is_async = True
    return swap


def _rounds(case: Case, rounds: int, calls: int) -> dict[str, list[float]]:
    """CPU µs per call of every round, tool off and on, ABBA order."""
    loop = asyncio.new_event_loop()

    def one_round(on: bool) -> float:
        case.switch(on)
        if case.is_async:

            async def batch(n: int) -> None:
                for _ in range(n):
                    await case.call()

            loop.run_until_complete(batch(1))  # refill caches after the swap
            t0 = time.process_time()
            loop.run_until_complete(batch(calls))
        else:
            case.call()
            t0 = time.process_time()
            for _ in range(calls):
                case.call()
        return (time.process_time() - t0) / calls * 1e6

    for _ in range(10):  # warm both paths
        one_round(False)
        one_round(True)
    base: list[float] = []
    traced: list[float] = []
    for i in range(rounds):
        if i % 2:
            traced.append(one_round(True))
            base.append(one_round(False))
        else:
            base.append(one_round(False))
            traced.append(one_round(True))
    case.switch(True)
    loop.close()
    return {"base": base, "traced": traced}


class _Context:
    aws_request_id = "bench-request"
    function_name = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _child(client: str, tool: str, server_url: str, rounds: int, calls: int) -> dict[str, Any]:
    if client in ("httpx", "httpx-async"):
        case = httpx_case(tool, client == "httpx-async")
    elif client == "aiohttp":
        case = aiohttp_case(tool, server_url)
    else:
        case = aiobotocore_case(tool)
    if tool == "xray-sdk":
        return _rounds(case, rounds, calls)
    import types

    result: dict[str, Any] = {}
    target = types.ModuleType("lx_bench_target")

    def handler(event: Any, context: Any) -> str:
        result.update(_rounds(case, rounds, calls))
        return "ok"

    target.handler = handler  # type: ignore[attr-defined]
    sys.modules["lx_bench_target"] = target
    import lambda_xray.handler

    lambda_xray.handler.handler({}, _Context())
    return result


# -- a keep-alive HTTP server for aiohttp (its own process) ------------------------------


def _serve() -> None:
    from aiohttp import web

    async def answer(request: Any) -> Any:
        return web.Response(body=b"{}")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- orchestration ---------------------------------------------------------------------


def _env(daemon: str, trace: str) -> dict[str, str]:
    return {
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
        "LAMBDA_XRAY_HANDLER": "lx_bench_target.handler",
        "_X_AMZN_TRACE_ID": trace,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }


def _added(samples: dict[str, list[float]]) -> float:
    return statistics.median(t - b for t, b in zip(samples["traced"], samples["base"], strict=True))


def _row(
    metric: str, value: float, goal: str | None, passed: bool | None, detail: str
) -> dict[str, Any]:
    return {
        "bench": "clients",
        "metric": metric,
        "value": round(value, 2),
        "unit": "µs" if not metric.endswith("ratio") else "x",
        "goal": goal,
        "passed": passed,
        "detail": detail,
    }


def _run_child(
    client: str, tool: str, server_url: str, trace: str, daemon: str, rounds: int
) -> dict[str, list[float]]:
    """One child's rounds (``rounds // CHUNKS`` of them)."""
    share = max(1, rounds // CHUNKS)
    args = ["child", client, tool, server_url, str(share), str(CALLS_PER_ROUND)]
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        env=_env(daemon, trace),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{proc.stderr[-3000:]}")
    samples: dict[str, list[float]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return samples


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, Any]]:
    """``{client: {"layer": µs, "layer_unsampled": µs, "sdk": µs, "sdk_unsampled": µs, ...}}``."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    daemon = f"127.0.0.1:{sink.getsockname()[1]}"
    server = subprocess.Popen(
        [sys.executable, __file__, "serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        server_url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        out: dict[str, dict[str, Any]] = {}
        for client in CLIENTS:
            got: dict[str, Any] = {}
            for label, trace in (("", TRACE_SAMPLED), ("_unsampled", TRACE_UNSAMPLED)):
                samples: dict[str, dict[str, list[float]]] = {}
                # The tools take turns, CHUNKS children each (order reversed
                # every other turn): a machine that slows down during the run
                # slows both, not only the one measured last.
                for chunk in range(CHUNKS):
                    tools = ("layer", "xray-sdk") if chunk % 2 == 0 else ("xray-sdk", "layer")
                    for tool in tools:
                        part = _run_child(client, tool, server_url, trace, daemon, rounds)
                        into = samples.setdefault(tool, {"base": [], "traced": []})
                        into["base"] += part["base"]
                        into["traced"] += part["traced"]
                for tool, both in samples.items():
                    key = ("layer" if tool == "layer" else "sdk") + label
                    got[key] = _added(both)
                    got[key + "_base"] = statistics.median(both["base"])
            out[client] = got
        return out
    finally:
        server.terminate()
        server.wait(timeout=10)
        sink.close()


def run() -> list[dict[str, Any]]:
    """Measure every client; return rows for bench/run.py."""
    rows: list[dict[str, Any]] = []
    for client, got in measure().items():
        base = got["layer_base"]
        ratio = got["layer"] / got["sdk"] if got["sdk"] > 0 else float("nan")
        rows.append(
            _row(
                f"{client}: added per sampled call, layer",
                got["layer"],
                None,
                None,
                f"xray-sdk +{got['sdk']:.1f} µs; the call itself {base:.0f} µs CPU "
                f"(median of {ROUNDS} rounds x {CALLS_PER_ROUND})",
            )
        )
        rows.append(
            _row(
                f"{client}: sampled layer / xray-sdk ratio",
                ratio,
                f"≤ {GOAL_RATIO:g}x",
                ratio <= GOAL_RATIO,
                "added CPU per call, measured in one run",
            )
        )
        rows.append(
            _row(
                f"{client}: added per Sampled=0 call, layer",
                got["layer_unsampled"],
                f"≤ {GOAL_UNSAMPLED_US:g} µs",
                got["layer_unsampled"] <= GOAL_UNSAMPLED_US,
                f"xray-sdk +{got['sdk_unsampled']:.1f} µs (the header is still forwarded)",
            )
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        _serve()
    elif len(sys.argv) > 1 and sys.argv[1] == "child":
        client, tool, server_url, rounds, calls = sys.argv[2:7]
        print(json.dumps(_child(client, tool, server_url, int(rounds), int(calls))))
    else:
        for result in run():
            value = f"{result['value']} {result['unit']}"
            print(f"{result['metric']:<48} {value:>10}  {result['detail']}")
