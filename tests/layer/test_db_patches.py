"""Database patches in fresh interpreters: loaded only on import, applied once, never in the way.

Each case runs in its own ``python -c`` process (whether a module was
imported can only be shown in a fresh one). No server is needed here: the
failures are real ones (a port nothing listens on, a connection never
opened); the servers' side is in ``test_db_sql.py`` and ``test_db_redis.py``.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from lx_process import run_python

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
PASSWORD = "conn-Secret-a41f"

pytestmark = pytest.mark.timeout(60)


def run(code: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAYER_PYTHON),
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "PGCONNECT_TIMEOUT": "2",
    }
    return run_python(code, env)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_nothing_is_loaded_until_the_function_imports_a_driver() -> None:
    got = run(
        """
        import json, sys
        from lambda_xray import patches
        patches.install()
        before = sorted(m for m in sys.modules if m.startswith("lambda_xray.patches."))
        import psycopg, psycopg2, pymysql, redis, redis.asyncio, valkey, valkey.asyncio
        after = sorted(m for m in sys.modules if m.startswith("lambda_xray.patches."))
        print(json.dumps({"before": before, "after": after,
                          "installed": sorted(patches.installed())}))
        """
    )
    drivers = {"psycopg", "psycopg2", "pymysql", "redis", "_sql"}
    assert not {m.rpartition(".")[2] for m in got["before"]} & drivers
    assert drivers <= {m.rpartition(".")[2] for m in got["after"]}
    assert {"psycopg", "psycopg2", "pymysql.connections", "redis.client"} <= set(got["installed"])
    assert "redis.asyncio.client" in got["installed"]
    assert {"valkey.client", "valkey.asyncio.client"} <= set(got["installed"])
    assert got["stderr"] == ""


def test_patching_twice_wraps_once_and_keeps_connect_a_class_method() -> None:
    got = run(
        """
        import json, sys
        from lambda_xray import patches
        patches.install()
        import psycopg, psycopg2, pymysql, redis, redis.asyncio
        from lambda_xray.patches import psycopg as p3, psycopg2 as p2, pymysql as pm, redis as pr
        p3.patch(psycopg); p2.patch(psycopg2); pm.patch(sys.modules["pymysql.connections"])
        pr.patch(sys.modules["redis.client"]); pr.patch(sys.modules["redis.asyncio.client"])

        def depth(f):
            n = 0
            while getattr(f, "__lambda_xray_wrapped__", False):
                n, f = n + 1, f.__wrapped__
            return n

        print(json.dumps({
            "psycopg.connect": depth(psycopg.connect),
            "Connection.connect": depth(psycopg.Connection.connect),
            "AsyncConnection.connect": depth(psycopg.AsyncConnection.connect),
            "classmethod": isinstance(psycopg.Connection.__dict__["connect"], classmethod),
            "Cursor.execute": depth(psycopg.Cursor.execute),
            "AsyncCursor.execute": depth(psycopg.AsyncCursor.execute),
            "psycopg2.connect": depth(psycopg2.connect),
            "pymysql.execute": depth(pymysql.cursors.Cursor.execute),
            "pymysql.connect": depth(pymysql.connections.Connection.connect),
            "Redis.execute_command": depth(redis.Redis.execute_command),
            "Pipeline.execute": depth(redis.client.Pipeline.execute),
            "async Pipeline.execute": depth(redis.asyncio.client.Pipeline.execute),
        }))
        """
    )
    assert got.pop("classmethod") is True
    got.pop("stderr")
    assert got == dict.fromkeys(got, 1)


def test_failed_connects_reach_the_function_unchanged_and_are_faults_without_password() -> None:
    port = closed_port()
    got = run(
        f"""
        import json, asyncio
        from lambda_xray import patches
        patches.install()
        import psycopg, psycopg2, pymysql, redis
        from lambda_xray.testing import InMemoryEmitter, invocation

        raised = {{}}
        with InMemoryEmitter() as xray, invocation():
            for name, call in [
                ("psycopg", lambda: psycopg.connect(
                    "host=127.0.0.1 port={port} dbname=db user=u password={PASSWORD}")),
                ("psycopg2", lambda: psycopg2.connect(
                    "host=127.0.0.1 port={port} dbname=db user=u password={PASSWORD}")),
                ("pymysql", lambda: pymysql.connect(host="127.0.0.1", port={port},
                    user="u", password="{PASSWORD}", database="db", connect_timeout=2)),
                ("redis", lambda: redis.Redis(port={port}, password="{PASSWORD}").ping()),
            ]:
                try:
                    call()
                except Exception as e:
                    raised[name] = type(e).__module__ + "." + type(e).__name__
        print(json.dumps({{"raised": raised, "docs": xray.documents}}))
        """
    )
    assert got["raised"] == {
        "psycopg": "psycopg.OperationalError",
        "psycopg2": "psycopg2.OperationalError",
        "pymysql": "pymysql.err.OperationalError",
        "redis": "redis.exceptions.ConnectionError",
    }
    calls = [d for d in got["docs"] if not d["name"].startswith("## ")]
    assert [d["name"] for d in calls] == ["db@127.0.0.1"] * 3 + ["localhost"]
    for doc in calls:
        assert doc["fault"] is True
        assert doc["namespace"] == "remote"
        assert "Connection refused" in doc["cause"]["exceptions"][0]["message"]
    for doc in calls[:3]:
        assert doc["sql"]["url"].endswith(f"u@127.0.0.1:{port}/db")
        assert doc["sql"]["user"] == "u"
    assert PASSWORD not in json.dumps(got["docs"])


def test_a_call_on_a_connection_never_opened_raises_the_drivers_own_error() -> None:
    got = run(
        """
        import json
        from lambda_xray import patches
        patches.install()
        import pymysql
        from lambda_xray.testing import InMemoryEmitter, invocation

        conn = pymysql.connect(host="127.0.0.1", user="u", database="db", defer_connect=True)
        with InMemoryEmitter() as xray, invocation():
            cursor = conn.cursor()
            try:
                cursor.execute("SELECT 1")
            except Exception as e:
                raised = type(e).__name__
            cursor.close()
            try:
                cursor.execute("SELECT 1")  # a closed cursor: not described, not traced
            except Exception as e:
                closed = type(e).__name__
        print(json.dumps({"raised": raised, "closed": closed, "docs": xray.documents}))
        """
    )
    assert got["raised"] == "InterfaceError"
    assert got["closed"] == "ProgrammingError"
    calls = [d for d in got["docs"] if not d["name"].startswith("## ")]
    (call,) = calls
    assert call["fault"] is True
    assert call["cause"]["exceptions"][0]["type"] == "InterfaceError"
    assert "database_version" not in call["sql"]  # never connected: unknown


def test_an_sql_block_changed_in_place_is_encoded_anew() -> None:
    from lambda_xray import document, wire

    sub = document.Subsegment("db@h", "1-6745a1b2-0123456789abcdef01234567", "53995c3f42cd8ad8")
    sub.namespace = "remote"
    sub.end_time = sub.start_time + 0.5
    sql = {"url": "postgresql://u@h:5432/db", "database_type": "PostgreSQL"}
    sub.sql = sql

    def sent() -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(wire.encode(sub)[len(wire.HEADER) :])
        return doc

    assert sent()["sql"] == sql
    sql["user"] = "u"  # the same dict object, other content: never the stale encoding
    assert sent()["sql"] == {**sql, "user": "u"}
    assert sent() == json.loads(json.dumps(sub.to_dict()))
