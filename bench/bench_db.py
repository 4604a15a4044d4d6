"""Database and Redis clients: the layer's added cost per call against aws-xray-sdk's.

Real servers on 127.0.0.1, started here as the tests start them
(``tests/layer/harness/lx_dbservers.py``): PostgreSQL (psycopg 3, psycopg2),
MariaDB (PyMySQL) and Valkey (redis-py). Each tool runs in its own fresh
process, in Lambda mode (``_X_AMZN_TRACE_ID`` sampled or ``Sampled=0``;
documents go to a UDP socket that is bound but never read).

Added CPU per call: one cursor (one client) is called through two entry
points, traced and untraced (the layer's wrapper and the method it wraps;
the SDK's proxy cursor and the cursor inside it), in rounds of
:data:`CALLS_PER_ROUND` calls, alternating ABBA, timed with
``time.process_time()`` (the server's time is not this process's CPU); the
median of the per-round differences. aws-xray-sdk supports psycopg 3,
psycopg2 and PyMySQL, not redis-py. For the layer each round is one
invocation of ``lambda_xray.handler.handler`` (after a cold one), as in
Lambda and as in ``bench_clients``: a closed call leaves in its parent's
document from the second invocation on, and its cost includes that share.

``python bench/bench_db.py`` runs it alone; ``make bench`` runs every benchmark.
"""

from __future__ import annotations

import contextlib
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

from _child_context import wrapper_invoker
from _rows import row as _make_row

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
HARNESS = REPO_ROOT / "tests" / "layer" / "harness"

ROUNDS = int(os.environ.get("BENCH_DB_ROUNDS", "300"))
CALLS_PER_ROUND = int(os.environ.get("BENCH_DB_CALLS_PER_ROUND", "10"))
CLIENTS = ("psycopg", "psycopg2", "pymysql", "redis")
SDK_CLIENTS = ("psycopg", "psycopg2", "pymysql")

TRACE_SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_UNSAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"

GOAL_RATIO = 0.25
GOAL_UNSAMPLED_US = 10.0


def _env(daemon: str, servers: dict[str, Any], trace: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAYER_PYTHON),
        "LAMBDA_TASK_ROOT": str(LAYER_PYTHON),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_XRAY_DAEMON_ADDRESS": daemon,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "LAMBDA_XRAY_HANDLER": "lx_bench_db.handler",
        "_X_AMZN_TRACE_ID": trace,
        "BENCH_DB_SERVERS": json.dumps(servers),
    }


# -- child: the clients and their two entry points ---------------------------------


def _connect(client: str, servers: dict[str, Any]) -> Any:
    """A connection made through the (possibly patched) public ``connect``."""
    if client == "redis":
        import redis

        rd = servers["redis"]
        connection = redis.Redis(host=rd["host"], port=rd["port"], password=rd["password"])
        connection.set("bench", "value")
        return connection
    if client == "pymysql":
        import pymysql

        my = servers["mysql"]
        return pymysql.connect(
            host=my["host"],
            port=my["port"],
            user=my["user"],
            password=my["password"],
            database=my["database"],
            autocommit=True,
        )
    pg = servers["postgresql"]
    kwargs = {
        "host": pg["host"],
        "port": pg["port"],
        "user": pg["user"],
        "password": pg["password"],
        "dbname": pg["database"],
    }
    if client == "psycopg":
        import psycopg

        return psycopg.connect(autocommit=True, **kwargs)
    import psycopg2

    connection = psycopg2.connect(**kwargs)
    connection.autocommit = True
    return connection


def _entry_points(client: str, connection: Any) -> tuple[Any, Any]:
    """(untraced call, traced call): the same cursor or client reached two ways."""
    if client == "redis":
        import redis

        method = redis.Redis.execute_command
        original = getattr(method, "__wrapped__", method)
        return (lambda: original(connection, "GET", "bench")), (lambda: connection.get("bench"))
    cursor = connection.cursor()
    inner = getattr(cursor, "__wrapped__", None)  # the SDK's proxy holds the real cursor
    if inner is not None:
        plain = inner.execute
    else:  # the layer: the method its wrapper (or traced subclass) calls
        method = type(cursor).execute
        original = getattr(method, "__wrapped__", None)
        if original is None:  # psycopg2: a traced subclass of the driver's cursor
            original = type(cursor).__mro__[1].execute
        plain = original.__get__(cursor)

    def untraced() -> None:
        plain("SELECT %s", (1,))
        cursor.fetchall()

    def traced() -> None:
        cursor.execute("SELECT %s", (1,))
        cursor.fetchall()

    return untraced, traced


def _rounds(untraced: Any, traced: Any, rounds: int, calls: int, invoke: Any = None) -> list[float]:
    """Per-round CPU µs differences (traced - untraced), ABBA order.

    With ``invoke`` (the layer) each round is one invocation of the handler
    wrapper, ``invoke(work)`` running ``work`` as the handler, as in Lambda: a
    function making ``calls`` calls per invocation. The wrapper's own cost is
    in both sides of a round and cancels out.
    """
    run = invoke if invoke is not None else (lambda work: work())

    def one(fn: Any) -> float:
        run(fn)  # refill caches after the switch
        t0 = time.process_time()
        run(lambda: [fn() for _ in range(calls)])
        return (time.process_time() - t0) / calls * 1e6

    for _ in range(10):
        one(untraced)
        one(traced)
    diffs: list[float] = []
    for i in range(rounds):
        if i % 2:
            with_tool = one(traced)
            base = one(untraced)
        else:
            base = one(untraced)
            with_tool = one(traced)
        diffs.append(with_tool - base)
    return diffs


def _measure(
    clients: tuple[str, ...], rounds: int, calls: int, invoke: Any = None
) -> dict[str, float]:
    servers = json.loads(os.environ["BENCH_DB_SERVERS"])
    out: dict[str, float] = {}
    for client in clients:
        connection = _connect(client, servers)
        try:
            untraced, traced = _entry_points(client, connection)
            out[client] = statistics.median(_rounds(untraced, traced, rounds, calls, invoke))
        finally:
            connection.close()
    return out


def _child(tool: str, rounds: int, calls: int) -> dict[str, float]:
    if tool == "layer":
        return _measure(CLIENTS, rounds, calls, wrapper_invoker())
    if tool == "xray-sdk":
        from aws_xray_sdk.core import patch  # type: ignore[import-untyped]

        patch(list(SDK_CLIENTS))
        return _measure(SDK_CLIENTS, rounds, calls)
    raise ValueError(tool)


# -- parent ------------------------------------------------------------------------


def _run_child(tool: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "child", tool, str(ROUNDS), str(CALLS_PER_ROUND)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench child {tool} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _servers() -> tuple[contextlib.ExitStack, dict[str, Any]]:
    sys.path.insert(0, str(HARNESS))
    from lx_dbservers import MariaDBServer, PostgresServer, ValkeyServer

    stack = contextlib.ExitStack()
    pg = stack.enter_context(PostgresServer())
    my = stack.enter_context(MariaDBServer())
    rd = stack.enter_context(ValkeyServer())

    def sql(server: Any) -> dict[str, Any]:
        return {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "database": server.database,
        }

    return stack, {
        "postgresql": sql(pg),
        "mysql": sql(my),
        "redis": {"host": rd.host, "port": rd.port, "password": rd.password},
    }


_row = functools.partial(_make_row, "db")


def run() -> list[dict[str, Any]]:
    """Start the servers, measure every tool and trace mode; rows for bench/run.py."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    daemon = f"127.0.0.1:{sink.getsockname()[1]}"
    # The sampled pair is measured twice, A B ... A B, so a change in machine
    # load between processes hits both tools; the two runs are averaged.
    plan = [
        ("layer", "sampled"),
        ("xray-sdk", "sampled"),
        ("layer", "unsampled"),
        ("xray-sdk", "unsampled"),
        ("layer", "sampled"),
        ("xray-sdk", "sampled"),
    ]
    traces = {"sampled": TRACE_SAMPLED, "unsampled": TRACE_UNSAMPLED}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    stack, servers = _servers()
    try:
        for tool, mode in plan:
            got = _run_child(tool, _env(daemon, servers, traces[mode]))
            runs.setdefault((tool, mode), []).append(got)
    finally:
        stack.close()
        sink.close()
    measured = {
        key: {client: statistics.fmean(r[client] for r in done) for client in done[0]}
        for key, done in runs.items()
    }
    rows: list[dict[str, Any]] = []
    detail = (
        f"median of {ROUNDS} paired rounds of {CALLS_PER_ROUND} calls (for the layer each "
        "round one invocation of its wrapper), CPU time; sampled: mean of 2 runs"
    )
    for client in CLIENTS:
        layer = measured["layer", "sampled"][client]
        sdk = measured["xray-sdk", "sampled"].get(client)
        if sdk is not None and sdk > 0:
            ratio = layer / sdk
            rows.append(
                _row(
                    f"{client} call, sampled: layer / xray-sdk",
                    ratio,
                    "x",
                    f"≤ {GOAL_RATIO:g}x",
                    ratio <= GOAL_RATIO,
                    f"layer +{layer:.1f} µs, xray-sdk +{sdk:.1f} µs ({detail})",
                )
            )
        else:
            rows.append(
                _row(
                    f"{client} call, sampled: layer",
                    layer,
                    "µs",
                    detail=f"aws-xray-sdk does not trace {client} ({detail})",
                )
            )
        unsampled = measured["layer", "unsampled"][client]
        sdk_unsampled = measured["xray-sdk", "unsampled"].get(client)
        rows.append(
            _row(
                f"{client} call, Sampled=0: layer",
                unsampled,
                "µs",
                f"≤ {GOAL_UNSAMPLED_US:g} µs",
                unsampled <= GOAL_UNSAMPLED_US,
                (f"xray-sdk +{sdk_unsampled:.1f} µs; " if sdk_unsampled is not None else "")
                + detail,
            )
        )
    return rows


def _main(argv: list[str]) -> None:
    if argv[:1] == ["child"]:
        tool, rounds, calls = argv[1], int(argv[2]), int(argv[3])
        print(json.dumps(_child(tool, rounds, calls)))
        return
    for row in run():
        print(f"{row['metric']:<45} {row['value']:>8.3g} {row['unit']:<3} {row['detail']}")


if __name__ == "__main__":
    _main(sys.argv[1:])
