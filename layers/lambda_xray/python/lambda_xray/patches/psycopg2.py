"""psycopg2: one ``remote`` subsegment per connect, ``execute``, ``executemany``, ``callproc``.

psycopg2's connection and cursor are C types whose methods cannot be
replaced, so ``psycopg2.connect`` is wrapped instead: it records the connect
and hands psycopg2 a subclass of the connection factory in use (the plain
``connection`` or the caller's own ``connection_factory``) whose ``cursor()``
makes cursors of a traced subclass of the cursor factory in use
(``cursor_factory`` of the call or of the connection, ``RealDictCursor``,
``NamedTupleCursor``, ...). ``isinstance`` checks against the caller's
classes still hold. Connections made before the layer loaded (at module
level, before the handler wrapper ran) are not traced: the layer loads
before the function's module, so that only happens to a module the layer
did not load. See :mod:`lambda_xray.patches._sql` for the ``sql`` block.
"""

from __future__ import annotations

import sys

from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common, _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

#: Marks the classes made here, so a traced class is never subclassed again.
_TRACED: Final = "_lambda_xray_traced"
_driver: list[str] = []
_connection_classes: dict[type, type] = {}
_cursor_classes: dict[type, type] = {}


def patch(module: ModuleType) -> None:
    """Wrap ``psycopg2.connect`` (idempotent)."""
    global _cursor_base, _plain_cursor_method
    if "psycopg2.extensions" not in sys.modules:
        __import__("psycopg2.extensions")
    extensions = sys.modules["psycopg2.extensions"]
    _cursor_base = extensions.cursor
    _plain_cursor_method = extensions.connection.cursor
    version = str(getattr(module, "__version__", "")).split(" ", 1)[0]
    _driver[:] = [f"psycopg2 {version}".strip()]
    _common.wrap(module, "connect", lambda original: _wrap_connect(original, extensions))


def describe(connection: Any) -> _sql.Target:
    """The connection's target (cached on the connection)."""
    return _sql.postgresql_target(connection, _driver[0] if _driver else "psycopg2")


def _describe_dsn(extensions: Any, dsn: Any, kwargs: dict[str, Any]) -> _sql.Target:
    """The target a connect is about to reach, from its arguments (no round trip)."""
    params: dict[str, Any] = {}
    if dsn:
        try:
            params.update(extensions.parse_dsn(dsn))
        except Exception:
            params = {}
    params.update({k: v for k, v in kwargs.items() if v is not None})
    if not params.get("dbname"):  # psycopg2 takes ``database`` for ``dbname``
        params["dbname"] = params.get("database")
    return _sql.postgresql_params_target(params, _driver[0] if _driver else "psycopg2")


def _wrap_connect(original: Callable[..., Any], extensions: Any) -> Callable[..., Any]:
    begin, finish, run = _sql.begin, _sql.finish, _sql.run
    guard = _common.in_traced_call

    def connect(
        dsn: Any = None, connection_factory: Any = None, cursor_factory: Any = None, **kwargs: Any
    ) -> Any:
        try:
            factory = _traced_connection(connection_factory or extensions.connection)
        except Exception:
            _common.warn_once("psycopg2-class", "could not trace a psycopg2 connection class")
            factory = connection_factory
        target = sub = None
        if guard.get() is None:
            try:
                target = _describe_dsn(extensions, dsn, kwargs)
                sub = begin(target, None)
            except ContextMissingError:
                raise
            except Exception:
                _common.warn_once("psycopg2-connect", "could not trace a psycopg2 connect")
        if sub is None:
            return original(dsn, factory, cursor_factory, **kwargs)
        connection = run(sub, target, original, dsn, (factory, cursor_factory), kwargs)
        try:
            sub.sql.update(describe(connection).sql)
        except Exception:
            _common.warn_once("psycopg2-describe", "could not describe a psycopg2 connection")
        finish(sub, None, None)
        return connection

    return connect


def _traced_subclass(
    base: Any, made: dict[type, type], methods: Callable[[Any], dict[str, Any]]
) -> Any:
    """``base`` if it is a class made here, else its subclass with ``methods(base)``
    (made once per base; same name, module and qualified name as ``base``)."""
    if getattr(base, _TRACED, False):
        return base
    cls = made.get(base)
    if cls is None:
        cls = type(base.__name__, (base,), {**methods(base), _TRACED: True})
        cls.__module__ = base.__module__
        cls.__qualname__ = base.__qualname__
        made[base] = cls
    return cls


def _traced_connection(base: Any) -> Any:
    return _traced_subclass(base, _connection_classes, _connection_methods)


def _connection_methods(base: Any) -> dict[str, Any]:
    base_cursor = base.cursor
    # A factory with its own cursor() may pick its own default cursor class
    # (LoggingConnection does): that choice is left alone, untraced.
    own_default = base_cursor is not _plain_cursor_method

    def cursor(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) >= 2:  # cursor(name, cursor_factory, ...)
            chosen = args[1]
            args = (args[0], None, *args[2:])
        else:
            chosen = kwargs.pop("cursor_factory", None)
        chosen = chosen or self.cursor_factory
        if chosen is None:
            if own_default:
                return base_cursor(self, *args, **kwargs)
            chosen = _cursor_base
        try:
            chosen = _traced_cursor(chosen)
        except Exception:
            _common.warn_once("psycopg2-cursor", "could not trace a psycopg2 cursor class")
        if len(args) >= 2:
            return base_cursor(self, args[0], chosen, *args[2:], **kwargs)
        return base_cursor(self, *args, cursor_factory=chosen, **kwargs)

    return {"cursor": cursor}


_cursor_base: Any = None  # psycopg2.extensions.cursor
_plain_cursor_method: Any = None  # psycopg2.extensions.connection.cursor


def _traced_cursor(base: Any) -> Any:
    return _traced_subclass(base, _cursor_classes, _cursor_methods)


def _cursor_methods(base: Any) -> dict[str, Any]:
    call = _sql.call
    execute, executemany, callproc = base.execute, base.executemany, base.callproc

    def traced_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(execute, _describe_cursor, _sql.STATEMENT, self, args, kwargs, _render)

    def traced_executemany(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(executemany, _describe_cursor, _sql.STATEMENT, self, args, kwargs, _render)

    def traced_callproc(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(callproc, _describe_cursor, _sql.CALL, self, args, kwargs)

    return {
        "execute": traced_execute,
        "executemany": traced_executemany,
        "callproc": traced_callproc,
    }


def _describe_cursor(cursor: Any) -> _sql.Target:
    return describe(cursor.connection)


def _render(cursor: Any, query: Any) -> str:
    text = query.as_string(cursor)
    return text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
