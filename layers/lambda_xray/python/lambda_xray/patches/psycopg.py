"""psycopg 3: one ``remote`` subsegment per connect, ``execute`` and ``executemany``.

Class-level wraps, so connections opened before the layer loaded are traced
too: ``Cursor``, ``ServerCursor``, ``AsyncCursor`` and ``AsyncServerCursor``
``execute``/``executemany`` (``ClientCursor``, ``RawCursor`` and
``Connection.execute`` go through them), and the ``connect`` class methods
of ``Connection`` and ``AsyncConnection`` (``psycopg.connect`` is re-pointed
at the wrapped one). psycopg 3 has no ``callproc``. A composed query
(``psycopg.sql.SQL(...)``) is rendered for the query text only when
``LAMBDA_XRAY_CAPTURE_SQL`` is on, and sanitized like any other. See
:mod:`lambda_xray.patches._sql` for the ``sql`` block.
"""

from __future__ import annotations

import sys

from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common, _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_driver: list[str] = []
_conninfo: list[Any] = []  # psycopg.conninfo.conninfo_to_dict


def patch(module: Any) -> None:
    """Wrap the cursor and connect methods of ``psycopg`` (idempotent)."""
    _driver[:] = [f"psycopg {getattr(module, '__version__', '')}".strip()]
    if "psycopg.conninfo" not in sys.modules:
        __import__("psycopg.conninfo")
    _conninfo[:] = [sys.modules["psycopg.conninfo"].conninfo_to_dict]
    for name in ("Cursor", "ServerCursor"):
        cls = getattr(module, name)
        _common.wrap(cls, "execute", _sync)
        _common.wrap(cls, "executemany", _sync)
    for name in ("AsyncCursor", "AsyncServerCursor"):
        cls = getattr(module, name)
        _common.wrap(cls, "execute", _async)
        _common.wrap(cls, "executemany", _async)
    _wrap_connect(module.Connection, is_async=False)
    _wrap_connect(module.AsyncConnection, is_async=True)
    module.connect = module.Connection.connect  # bound at import: point it at ours


def describe(connection: Any) -> _sql.Target:
    """The connection's target (cached on the connection)."""
    return _sql.postgresql_target(connection, _driver[0] if _driver else "psycopg")


def _describe_cursor(cursor: Any) -> _sql.Target:
    return describe(cursor._conn)


def _render(cursor: Any, query: Any) -> str:
    return str(query.as_string(cursor._conn))


def _sync(original: Callable[..., Any]) -> Callable[..., Any]:
    call = _sql.call
    statement = _sql.STATEMENT

    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(original, _describe_cursor, statement, self, args, kwargs, _render)

    return traced


def _async(original: Callable[..., Any]) -> Callable[..., Any]:
    call = _sql.call_async
    statement = _sql.STATEMENT

    async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await call(original, _describe_cursor, statement, self, args, kwargs, _render)

    return traced


def _describe_conninfo(conninfo: Any, kwargs: dict[str, Any]) -> _sql.Target:
    """The target a connect is about to reach, from its arguments (no round trip)."""
    try:
        params = _conninfo[0](conninfo or "", **kwargs)
    except Exception:
        params = {}
    return _sql.postgresql_params_target(params, _driver[0] if _driver else "psycopg")


def _start(conninfo: Any, kwargs: dict[str, Any]) -> tuple[Any, _sql.Target | None]:
    if _common.in_traced_call.get() is not None:
        return None, None
    try:
        target = _describe_conninfo(conninfo, kwargs)
        return _sql.begin(target, None), target
    except ContextMissingError:
        raise
    except Exception:
        _common.warn_once("psycopg-connect", "could not trace a psycopg connect")
        return None, None


def _connected(sub: Any, connection: Any) -> None:
    try:
        sub.sql.update(describe(connection).sql)
    except Exception:
        _common.warn_once("psycopg-describe", "could not describe a psycopg connection")
    _sql.finish(sub, None, None)


def _wrap_connect(cls: Any, *, is_async: bool) -> None:
    """Replace the ``connect`` class method, keeping it a class method (once)."""

    current = cls.__dict__["connect"]
    function = current.__func__  # cls-independent, for subclasses
    if getattr(function, _common.MARK, False):
        return

    def make() -> Any:
        run, run_async = _sql.run, _sql.run_async

        def connect(klass: Any, conninfo: Any = "", **kwargs: Any) -> Any:
            sub, target = _start(conninfo, kwargs)
            if sub is None:
                return function(klass, conninfo, **kwargs)
            connection = run(sub, target, function, klass, (conninfo,), kwargs)
            _connected(sub, connection)
            return connection

        async def connect_async(klass: Any, conninfo: Any = "", **kwargs: Any) -> Any:
            sub, target = _start(conninfo, kwargs)
            if sub is None:
                return await function(klass, conninfo, **kwargs)
            connection = await run_async(sub, target, function, klass, (conninfo,), kwargs)
            _connected(sub, connection)
            return connection

        chosen: Any = connect_async if is_async else connect
        setattr(chosen, _common.MARK, True)
        chosen.__wrapped__ = function
        chosen.__doc__ = function.__doc__
        return classmethod(chosen)

    cls.connect = make()
