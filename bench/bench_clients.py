"""Added cost per traced call of the async/HTTP client patches, beside aws-xray-sdk's.

For httpx (sync and async), aiohttp, aiobotocore and botocore, sampled
(``Sampled=1``) and unsampled (``Sampled=0``), both tools measured in the
same processes:

- the layer: its patches (``patches.install()``), the calls made inside real
  invocations of the handler wrapper (``lambda_xray.handler.handler``);
- aws-xray-sdk 2.15 in Lambda mode (``LAMBDA_TASK_ROOT`` set, the trace
  header in ``_X_AMZN_TRACE_ID``): its httpx transport wrapper (what its
  ``patch(["httpx"])`` installs on every new client), its aiohttp
  ``aws_xray_trace_config()``, its aiobotocore and botocore patches.

Every round is one invocation of the wrapper (``BENCH_CLIENT_CALLS_PER_ROUND``
calls, 10 by default: a function that makes ten calls per invocation), in
every state, after a first, cold invocation; so the cost of a call includes
its share of the ``## <handler>`` document it now leaves in (the layer keeps
a closed call for its parent's document from the second invocation on:
``lambda_xray.batch``), and the invocation's own cost, the same in every
state, cancels out.

Each child process holds three states of the client -- off, the layer, the
SDK -- and switches between them (the patched methods put on or taken off
the classes, or an instrumented client/session used instead of a plain one),
so the layer's and the SDK's patches are never active at once. A round is
``BENCH_CLIENT_CALLS_PER_ROUND`` (10) calls per state, the three states in a
rotating order; the added CPU per call of a tool is the median over rounds of
(its time - the same round's "off" time). The rounds (``BENCH_CLIENT_ROUNDS``,
300) are split over ``BENCH_CLIENT_CHUNKS`` (3) children; the row gives the
pooled median and the ratio's range over the children, so a ratio can be
judged against its own spread on a loaded machine. No network where it is not
needed: httpx answers from ``httpx.MockTransport``, aiobotocore from a
``before-send`` handler with a canned response; aiohttp talks to a keep-alive
aiohttp server in another process on 127.0.0.1 (its CPU is not counted).
Documents go to a UDP socket that is bound but never read, for both tools.

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

from _child_context import wrapper_invoker

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The layer measured: this tree's, or another version's (``BENCH_CLIENT_LAYER``:
#: its ``layers/lambda_xray/python``, e.g. from ``git archive``) for a before/after.
LAYER_PYTHON = Path(
    os.environ.get("BENCH_CLIENT_LAYER", str(REPO_ROOT / "layers" / "lambda_xray" / "python"))
)

ROUNDS = int(os.environ.get("BENCH_CLIENT_ROUNDS", "300"))
CALLS_PER_ROUND = int(os.environ.get("BENCH_CLIENT_CALLS_PER_ROUND", "10"))
#: The rounds are split over this many children (each measures off, layer and SDK).
CHUNKS = int(os.environ.get("BENCH_CLIENT_CHUNKS", "3"))

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_UNSAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"

CLIENTS = tuple(
    os.environ.get("BENCH_CLIENTS", "httpx,httpx-async,aiohttp,aiobotocore,botocore").split(",")
)
GOAL_RATIO = 0.25
GOAL_UNSAMPLED_US = 10.0


# -- the calls, in three states (run in a child process) -------------------------------

STATES = ("off", "layer", "sdk")


class Case:
    """One client: ``call()`` makes one request in the current state; ``switch`` changes it."""

    is_async = False

    def __init__(self, points: list[tuple[Any, str]]) -> None:
        self.points = points
        self.methods: dict[str, list[Any]] = {"off": self._capture()}
        self.state = "off"

    def _capture(self) -> list[Any]:
        return [owner.__dict__.get(name, getattr(owner, name)) for owner, name in self.points]

    def keep(self, state: str) -> None:
        """Remember the methods on the classes now as ``state``'s, then put "off"'s back."""
        self.methods[state] = self._capture()
        self._put(self.methods["off"])

    def _put(self, methods: list[Any]) -> None:
        for (owner, name), fn in zip(self.points, methods, strict=True):
            setattr(owner, name, fn)

    def switch(self, state: str) -> None:
        self._put(self.methods.get(state, self.methods["off"]))
        self.state = state

    def call(self) -> Any:
        raise NotImplementedError


def _install_layer(case: Case) -> None:
    from lambda_xray import patches

    patches.install()
    case.keep("layer")


def _mock_httpx() -> Any:
    import httpx

    def answer(request: Any) -> Any:
        return httpx.Response(200, content=b"{}")

    return httpx.MockTransport(answer)


def httpx_case(is_async: bool) -> Case:
    import httpx
    from aws_xray_sdk.ext.httpx.patch import (  # type: ignore[import-untyped]
        AsyncInstrumentedTransport,
        SyncInstrumentedTransport,
    )

    url = "http://api.example.com/v1/items?limit=10"
    case = Case(
        [
            (httpx.Client, "send"),
            (httpx.AsyncClient, "send"),
            (httpx.Response, "close"),
            (httpx.Response, "aclose"),
        ]
    )
    _install_layer(case)
    wrapper = AsyncInstrumentedTransport if is_async else SyncInstrumentedTransport
    client_cls = httpx.AsyncClient if is_async else httpx.Client
    plain = client_cls(transport=_mock_httpx())
    clients = {"off": plain, "layer": plain, "sdk": client_cls(transport=wrapper(_mock_httpx()))}
    case.call = lambda: clients[case.state].get(url)  # type: ignore[method-assign]
    case.is_async = is_async
    return case


def aiohttp_case(server_url: str) -> Case:
    import aiohttp
    from aws_xray_sdk.ext.aiohttp.client import (  # type: ignore[import-untyped]
        aws_xray_trace_config,
    )

    url = server_url + "/v1/items?limit=10"
    timeout = aiohttp.ClientTimeout(total=10)  # a stalled call fails the row, never hangs
    case = Case([(aiohttp.ClientSession, "_request")])
    _install_layer(case)
    sessions: dict[str, Any] = {}

    async def call() -> int:
        if not sessions:
            sessions["off"] = sessions["layer"] = aiohttp.ClientSession()
            sessions["sdk"] = aiohttp.ClientSession(trace_configs=[aws_xray_trace_config()])
        async with sessions[case.state].get(url, timeout=timeout) as response:
            await response.read()
            return int(response.status)

    case.call = call  # type: ignore[method-assign]
    case.is_async = True
    return case


class _CannedBody:
    async def read(self) -> bytes:
        return b"{}"


def aiobotocore_case() -> Case:
    from aiobotocore.awsrequest import AioAWSResponse  # type: ignore[import-untyped]
    from aiobotocore.client import AioBaseClient  # type: ignore[import-untyped]
    from aiobotocore.endpoint import AioEndpoint  # type: ignore[import-untyped]
    from aiobotocore.session import get_session  # type: ignore[import-untyped]
    from aws_xray_sdk.core import patch  # type: ignore[import-untyped]

    case = Case(
        [
            (AioBaseClient, "_make_api_call"),
            (AioEndpoint, "create_request"),
            (AioEndpoint, "prepare_request"),
        ]
    )
    _install_layer(case)
    patch(["aiobotocore"])
    case.keep("sdk")
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

    case.call = call  # type: ignore[method-assign]
    case.is_async = True
    return case


class _Raw:
    """Stands in for urllib3's response body: what botocore's AWSResponse reads."""

    def stream(self, **_: Any) -> list[bytes]:
        return [b"{}"]


def botocore_case() -> Case:
    import boto3  # type: ignore[import-untyped]
    from aws_xray_sdk.core import patch, patcher
    from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped]
    from botocore.client import BaseClient  # type: ignore[import-untyped]
    from botocore.endpoint import Endpoint  # type: ignore[import-untyped]

    case = Case(
        [
            (BaseClient, "_make_api_call"),
            (Endpoint, "create_request"),
            (Endpoint, "prepare_request"),
        ]
    )
    _install_layer(case)
    patch(["botocore"])
    case.keep("sdk")
    # The layer passes a call through where aws-xray-sdk says it patched botocore
    # (so a call is never recorded twice); here the two never run at once.
    patcher._PATCHED_MODULES.discard("botocore")
    headers = {
        "x-amzn-RequestId": "BENCHREQUEST0000000000000000000000000000000000000000",
        "Content-Type": "application/x-amz-json-1.0",
    }

    def canned(request: Any, **_: Any) -> Any:
        return AWSResponse(request.url, 200, headers, _Raw())

    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    client.meta.events.register("before-send.dynamodb.PutItem", canned)
    item = {"pk": {"S": "bench"}}
    case.call = lambda: client.put_item(TableName="bench-table", Item=item)  # type: ignore[method-assign]
    return case


def _rounds(case: Case, rounds: int, calls: int, invoke: Any) -> dict[str, list[float]]:
    """CPU µs per call of every round, per state, the states in a rotating order.

    Each round is one invocation: ``invoke(work)`` runs ``work`` as the
    handler, inside the layer's wrapper.
    """
    loop = asyncio.new_event_loop()

    def one_round(state: str) -> float:
        case.switch(state)
        if case.is_async:

            async def batch(n: int) -> None:
                for _ in range(n):
                    await case.call()

            invoke(lambda: loop.run_until_complete(batch(1)))  # refill caches after the switch
            t0 = time.process_time()
            invoke(lambda: loop.run_until_complete(batch(calls)))
        else:

            def sync_batch(n: int) -> None:
                for _ in range(n):
                    case.call()

            invoke(lambda: sync_batch(1))
            t0 = time.process_time()
            invoke(lambda: sync_batch(calls))
        return (time.process_time() - t0) / calls * 1e6

    for _ in range(10):  # warm every path
        for state in STATES:
            one_round(state)
    samples: dict[str, list[float]] = {state: [] for state in STATES}
    for i in range(rounds):
        shift = i % len(STATES)
        order = STATES[shift:] + STATES[:shift]
        for state in order if i % 2 == 0 else tuple(reversed(order)):
            samples[state].append(one_round(state))
    case.switch("off")
    loop.close()
    return samples


def _child(client: str, server_url: str, rounds: int, calls: int) -> dict[str, Any]:
    if client in ("httpx", "httpx-async"):
        case = httpx_case(client == "httpx-async")
    elif client == "aiohttp":
        case = aiohttp_case(server_url)
    elif client == "botocore":
        case = botocore_case()
    else:
        case = aiobotocore_case()
    # Every round of every state is one invocation of the real wrapper, after the
    # process's cold one.
    invoke = wrapper_invoker()
    return _rounds(case, rounds, calls, invoke)


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


def _added(samples: dict[str, list[float]], state: str) -> float:
    """Median over rounds of ``state``'s µs per call minus the same round's "off"."""
    return statistics.median(t - b for t, b in zip(samples[state], samples["off"], strict=True))


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
    client: str, server_url: str, trace: str, daemon: str, rounds: int
) -> dict[str, list[float]]:
    """One child's rounds (``rounds // CHUNKS`` of them), every state."""
    share = max(1, rounds // CHUNKS)
    args = ["child", client, server_url, str(share), str(CALLS_PER_ROUND)]
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        env=_env(daemon, trace),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{proc.stderr[-3000:]}")
    samples: dict[str, list[float]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return samples


def _ratio(samples: dict[str, list[float]]) -> float:
    sdk = _added(samples, "sdk")
    return _added(samples, "layer") / sdk if sdk > 0 else float("nan")


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, Any]]:
    """``{client: {"layer": µs, "sdk": µs, "ratio_range": (lo, hi), ...}}`` (and ``_unsampled``)."""
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
                pooled: dict[str, list[float]] = {state: [] for state in STATES}
                ratios = []
                for _ in range(CHUNKS):
                    part = _run_child(client, server_url, trace, daemon, rounds)
                    ratios.append(_ratio(part))
                    for state in STATES:
                        pooled[state] += part[state]
                got["layer" + label] = _added(pooled, "layer")
                got["sdk" + label] = _added(pooled, "sdk")
                got["base" + label] = statistics.median(pooled["off"])
                got["ratio_range" + label] = (min(ratios), max(ratios))
                got["rounds" + label] = len(pooled["off"])
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
        ratio = got["layer"] / got["sdk"] if got["sdk"] > 0 else float("nan")
        low, high = got["ratio_range"]
        rows.append(
            _row(
                f"{client}: added per sampled call, layer",
                got["layer"],
                None,
                None,
                f"xray-sdk +{got['sdk']:.1f} µs; the call itself {got['base']:.0f} µs CPU "
                f"(median of {got['rounds']} rounds, each one invocation of {CALLS_PER_ROUND} "
                "calls; both tools in each process)",
            )
        )
        rows.append(
            _row(
                f"{client}: sampled layer / xray-sdk ratio",
                ratio,
                f"≤ {GOAL_RATIO:g}x",
                ratio <= GOAL_RATIO,
                f"added CPU per call, pooled; {low:.2f}-{high:.2f}x over the {CHUNKS} processes",
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
        client, server_url, rounds, calls = sys.argv[2:6]
        print(json.dumps(_child(client, server_url, int(rounds), int(calls))))
    else:
        for result in run():
            value = f"{result['value']} {result['unit']}"
            print(f"{result['metric']:<48} {value:>10}  {result['detail']}")
