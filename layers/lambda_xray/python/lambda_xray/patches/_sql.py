"""What the database patches share: the ``sql`` block, query hygiene, the call wrappers.

One recorded database call is one ``remote`` subsegment named
``<database>@<host>`` carrying the X-Ray ``sql`` block of its connection
(:class:`Target`, described once per connection). The query text is added
only when ``LAMBDA_XRAY_CAPTURE_SQL`` is on, and then only as
:func:`sanitize` leaves it: string, number, hex and dollar-quoted literals
become ``?`` and comments are dropped, so an inline literal (``WHERE
email = 'bob@example.com'``) never reaches trace data; placeholders
(``%s``, ``%(name)s``, ``$1``, ``?``, ``:name``) stay as written. Parameters
are never read.

Errors are ``fault`` with their cause. A database server quotes values in
its error messages (``Duplicate entry 'bob@example.com'``, ``DETAIL: Key
(email)=(...)``), so the message of an error the server answered with is
replaced by its error code (``SQLSTATE 23505``, ``MySQL error 1062``,
``WRONGTYPE``); an error raised before any statement reached the server
(connection refused, authentication failed) keeps its message, with the
connection's password removed should it appear there.
"""

from __future__ import annotations

from lambda_xray import _recorder, config
from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from lambda_xray._recorder import Subsegment

    Render = Callable[[Any, Any], str]

__all__ = ["Target", "call", "call_async", "sanitize"]

#: Longest query text recorded (characters); longer text is cut and marked.
MAX_QUERY: Final = 2000
#: ``preparation`` values: a stored procedure call, or any other statement.
CALL: Final = "call"
STATEMENT: Final = "statement"

_patterns: dict[bool, Any] = {}

# Literal and comment syntax; the first alternative that matches at a position
# wins. Joined and compiled on first need (importing this module does no work).
_NUMBER: Final = (
    r"(?P<number>(?<![\w$.:%])"
    r"(?:0[xX][0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"(?![\w$]))"
)
_POSTGRESQL: Final = (
    r"(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))",
    r"(?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*|)\$.*?(?:\$(?P=tag)\$|\Z))",
    r"(?P<escaped>(?<![\w$])[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z))",
    r"(?P<string>[BbXxNn]?'(?:[^']|'')*(?:'|\Z))",
    r"(?P<identifier>\"(?:[^\"]|\"\")*(?:\"|\Z))",
    _NUMBER,
)
_MYSQL: Final = (
    r"(?P<comment>(?:--\s|\#)[^\n]*|/\*.*?(?:\*/|\Z))",
    r"(?P<string>(?:_[A-Za-z0-9]+)?[BbXxNn]?'(?:[^'\\]|''|\\.)*(?:'|\Z))",
    r"(?P<dstring>\"(?:[^\"\\]|\"\"|\\.)*(?:\"|\Z))",
    r"(?P<identifier>`(?:[^`]|``)*(?:`|\Z))",
    _NUMBER,
)


def _pattern(mysql: bool) -> Any:
    pattern = _patterns.get(mysql)
    if pattern is None:
        import re

        syntax = "|".join(_MYSQL if mysql else _POSTGRESQL)
        pattern = _patterns[mysql] = re.compile(syntax, re.DOTALL)
    return pattern


def _replace(match: Any) -> str:
    kind = match.lastgroup
    if kind == "comment":
        return " "
    if kind == "identifier":
        return str(match.group(0))
    return "?"


def sanitize(query: str, *, mysql: bool = False) -> str:
    """``query`` with every literal replaced by ``?`` and every comment removed.

    PostgreSQL syntax by default (``'...'`` strings with ``''`` escapes,
    ``E'...'`` strings with backslash escapes, ``$tag$...$tag$`` bodies,
    ``"names"`` kept); ``mysql``: MySQL's (backslash escapes in every string,
    ``"text"`` is a string, `` `names` `` kept, ``#`` comments). Numbers,
    hexadecimal and bit literals become ``?`` too; placeholders stay. The
    result is at most :data:`MAX_QUERY` characters (``...`` marks a cut).
    """
    text = _pattern(mysql).sub(_replace, query)
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUERY else text[: MAX_QUERY - 3] + "..."


def query_text(query: Any, render: Render | None = None, owner: Any = None) -> str | None:
    """The text of ``query`` (``str``, ``bytes`` or a driver's composed object), or ``None``.

    ``render(owner, query)`` turns a composed query (psycopg's ``sql.SQL``)
    into text; it may inline literals, which :func:`sanitize` then removes.
    """
    if isinstance(query, str):
        return query
    if isinstance(query, (bytes, bytearray, memoryview)):
        return bytes(query).decode("utf-8", "replace")
    if render is not None:
        try:
            return render(owner, query)
        except Exception:
            return None
    return None


class Target:
    """A database as its subsegments name and describe it (one per connection).

    ``sql`` is the X-Ray ``sql`` block without ``preparation`` and query
    (``url`` never holds a password); ``secret`` is the connection's password,
    kept only to scrub it from connection error messages.
    """

    __slots__ = ("mysql", "name", "prepared", "secret", "sql")

    def __init__(
        self,
        *,
        database_type: str,
        scheme: str,
        host: str | None,
        port: int | str | None,
        database: str | None,
        user: str | None,
        driver_version: str,
        database_version: str | None = None,
        secret: str | None = None,
        mysql: bool = False,
    ) -> None:
        host_text = host or "localhost"
        self.name = f"{database}@{host_text}" if database else host_text
        authority = host_text if ":" not in host_text else f"[{host_text}]"
        if host_text.startswith("/"):  # a Unix socket directory
            authority = "localhost"
        if port:
            authority += f":{port}"
        userinfo = f"{user}@" if user else ""
        sql: dict[str, Any] = {
            "url": f"{scheme}://{userinfo}{authority}/{database or ''}",
            "database_type": database_type,
            "driver_version": driver_version,
        }
        if database_version:
            sql["database_version"] = database_version
        if user:
            sql["user"] = user[:250]
        self.sql = sql
        #: ``sql`` with each ``preparation`` value, made on first use.
        self.prepared: dict[str, dict[str, Any]] = {}
        self.secret = secret or None
        self.mysql = mysql


# -- PostgreSQL: psycopg and psycopg2 describe a connection the same way ------------
#
# Both drivers expose the same ``connection.info`` (libpq's view of the open
# connection) and the same connection parameters (``host``, ``port``,
# ``dbname``, ``user``, ``password``). Here rather than in a module of their
# own: every module loaded costs Init time of its own.

_PG_TARGET: Final = "_lambda_xray_target"


def postgresql_server_version(number: Any) -> str | None:
    """``18.6`` for libpq's 180006, ``9.6.24`` for 90624."""
    if type(number) is not int or number <= 0:
        return None
    if number >= 100000:
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def postgresql_target(connection: Any, driver_version: str) -> Target:
    """The open PostgreSQL connection's target (cached on the connection)."""
    found = connection.__dict__.get(_PG_TARGET)
    if found is not None:
        target: Target = found
        return target
    info = connection.info
    target = Target(
        database_type="PostgreSQL",
        scheme="postgresql",
        host=info.host,
        port=info.port,
        database=info.dbname,
        user=info.user,
        driver_version=driver_version,
        database_version=postgresql_server_version(info.server_version),
        secret=info.password,
    )
    connection.__dict__[_PG_TARGET] = target
    return target


def postgresql_params_target(params: dict[str, Any], driver_version: str) -> Target:
    """The target of a PostgreSQL connect about to be made with ``params`` (no round trip).

    Of several hosts (``host=a,b``) the first names it.
    """
    database = params.get("dbname")
    return Target(
        database_type="PostgreSQL",
        scheme="postgresql",
        host=str(params.get("host") or "localhost").split(",", 1)[0],
        port=params.get("port"),
        database=str(database) if database else None,
        user=str(params["user"]) if params.get("user") else None,
        driver_version=driver_version,
        secret=str(params["password"]) if params.get("password") else None,
    )


def begin(
    target: Target,
    preparation: str | None,
    query: Any = None,
    render: Render | None = None,
    owner: Any = None,
) -> Subsegment | None:
    """Open the call's subsegment (``None`` when nothing is recorded)."""
    sub = _recorder.begin_subsegment(target.name, "remote")
    if sub is None:
        return None
    if preparation is None:  # a connect: completed once connected
        sub.sql = dict(target.sql)
        return sub
    prepared = target.prepared.get(preparation)
    if prepared is None:
        prepared = target.prepared[preparation] = {**target.sql, "preparation": preparation}
    if config.get().capture_sql:
        text = query_text(query, render, owner)
        if text is not None:
            prepared = {**prepared, "sanitized_query": sanitize(text, mysql=target.mysql)}
    sub.sql = prepared  # shared by the target's calls: never changed once made
    return sub


def finish(sub: Subsegment, error: BaseException | None, target: Target | None) -> None:
    """Close and send ``sub``; an ``error`` makes it a fault with a scrubbed cause."""
    try:
        if error is not None:
            sub.fault = True
            code = server_error_code(error)
            sub.add_exception(error, remote=code is not None)
            _scrub(sub.cause, error, code, target.secret if target is not None else None)
        _recorder.end_subsegment(sub)
    except Exception:
        _common.warn_once("sql-end", "could not close a database subsegment")


def server_error_code(error: BaseException) -> str | None:
    """The code of an error the server answered with, ``None`` for any other error."""
    module = type(error).__module__ or ""
    if module.startswith("pymysql"):
        args = error.args
        if args and type(args[0]) is int and args[0] < 2000:  # 2000+: client-side errors
            return f"MySQL error {args[0]}"
        return None
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return f"SQLSTATE {sqlstate}"
    if module.startswith(("redis", "valkey")) and type(error).__name__ not in _REDIS_CLIENT_ERRORS:
        head = str(error).split(" ", 1)[0]
        return head if head.isupper() and head.isalpha() else type(error).__name__
    return None


_REDIS_CLIENT_ERRORS: Final = frozenset(
    {
        "ConnectionError",
        "TimeoutError",
        "AuthenticationError",
        "BusyLoadingError",
        "ChildDeadlockedError",
        "DataError",
        "InvalidResponse",
        "MaxConnectionsError",
    }
)


def _scrub(cause: Any, error: BaseException, code: str | None, secret: str | None) -> None:
    if not isinstance(cause, dict):
        return  # the id of an exception already recorded (and scrubbed) elsewhere
    for exception in cause.get("exceptions", ()):
        message = exception.get("message")
        if not isinstance(message, str):
            continue
        if code is not None:
            exception["message"] = code
            code = None  # the exceptions it was raised from keep only their type
        elif exception is not cause["exceptions"][0]:
            exception["message"] = ""
        else:
            if secret and secret in message:
                message = message.replace(secret, "****")
            from lambda_xray.redact import redact

            exception["message"] = redact(message)


# -- the call wrappers -----------------------------------------------------------


def _refresh(sub: Subsegment, describe: Callable[[Any], Target | None], owner: Any) -> None:
    try:
        target = describe(owner)
        if target is not None:
            sub.sql.update(target.sql)
    except Exception:
        _common.warn_once("sql-refresh", "could not describe a database connection")


def _open(
    describe: Callable[[Any], Target | None],
    preparation: str | None,
    owner: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    render: Render | None,
) -> tuple[Subsegment | None, Target | None]:
    """The call's subsegment and target, ``(None, None)`` when nothing is recorded.

    Never raises but :class:`ContextMissingError` (``RUNTIME_ERROR`` mode).
    """
    if _common.in_traced_call.get() is not None:
        return None, None
    try:
        target = describe(owner)
        if target is None:
            return None, None
        query = args[0] if args else kwargs.get("query")
        return begin(target, preparation, query, render, owner), target
    except ContextMissingError:
        raise
    except Exception:
        _common.warn_once("sql-begin", "could not trace a database call")
        return None, None


def run(
    sub: Subsegment,
    target: Target | None,
    original: Callable[..., Any],
    first: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """``original(first, *args, **kwargs)`` inside ``sub``'s call: nested calls are
    not recorded again, and an error closes ``sub`` as a fault (see :func:`finish`)
    and is raised on. On success ``sub`` is left open for the caller to close."""
    guard = _common.in_traced_call
    token = guard.set("")
    try:
        return original(first, *args, **kwargs)
    except BaseException as exc:
        finish(sub, exc, target)
        raise
    finally:
        guard.reset(token)


async def run_async(
    sub: Subsegment,
    target: Target | None,
    original: Callable[..., Any],
    first: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """:func:`run` for a coroutine function (the guard is per task)."""
    guard = _common.in_traced_call
    token = guard.set("")
    try:
        return await original(first, *args, **kwargs)
    except BaseException as exc:
        finish(sub, exc, target)
        raise
    finally:
        guard.reset(token)


def call(
    original: Callable[..., Any],
    describe: Callable[[Any], Target | None],
    preparation: str | None,
    self: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    render: Render | None = None,
    refresh: bool = False,
) -> Any:
    """Run ``original(self, *args, **kwargs)`` as one recorded database call.

    ``describe(self)`` names the database (``None``: not traced); the query
    is the first argument (or ``query=``). ``refresh``: describe ``self`` again once the call
    succeeded (a connect learns the server version) and update the block.
    """
    sub, target = _open(describe, preparation, self, args, kwargs, render)
    if sub is None:
        return original(self, *args, **kwargs)
    result = run(sub, target, original, self, args, kwargs)
    if refresh:
        _refresh(sub, describe, self)
    _recorder.end_subsegment(sub)  # never raises
    return result


async def call_async(
    original: Callable[..., Any],
    describe: Callable[[Any], Target | None],
    preparation: str | None,
    self: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    render: Render | None = None,
    refresh: bool = False,
) -> Any:
    """:func:`call` for a coroutine function (the guard is per task)."""
    sub, target = _open(describe, preparation, self, args, kwargs, render)
    if sub is None:
        return await original(self, *args, **kwargs)
    result = await run_async(sub, target, original, self, args, kwargs)
    if refresh:
        _refresh(sub, describe, self)
    _recorder.end_subsegment(sub)  # never raises
    return result
