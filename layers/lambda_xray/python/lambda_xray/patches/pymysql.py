"""PyMySQL: one ``remote`` subsegment per connect, ``execute``, ``executemany``, ``callproc``.

Class-level wraps (connections opened before the layer loaded are traced
too): ``Connection.connect`` and ``Cursor.execute``/``executemany``/
``callproc``, which every cursor class (``DictCursor``, ``SSCursor``, ...)
inherits. ``executemany`` runs ``execute`` per batch: that stays one
subsegment. See :mod:`lambda_xray.patches._sql` for the ``sql`` block.
"""

from __future__ import annotations

import sys

from lambda_xray.patches import _common, _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

_TARGET: Final = "_lambda_xray_target"
_driver: list[str] = []


def patch(module: ModuleType) -> None:
    """Wrap ``pymysql.connections.Connection.connect`` and the ``Cursor`` calls (idempotent)."""
    cursors = sys.modules.get("pymysql.cursors") or __import__("pymysql.cursors").cursors
    pymysql = sys.modules.get("pymysql")
    # pymysql.__version__ is the MySQLdb version it poses as; VERSION_STRING is its own.
    version = getattr(pymysql, "VERSION_STRING", "")
    _driver[:] = [f"PyMySQL {version}".strip()]
    _common.wrap(module.Connection, "connect", _wrap_connect)
    cursor = cursors.Cursor
    _common.wrap(cursor, "execute", lambda original: _wrap_cursor(original, _sql.STATEMENT))
    _common.wrap(cursor, "executemany", lambda original: _wrap_cursor(original, _sql.STATEMENT))
    _common.wrap(cursor, "callproc", lambda original: _wrap_cursor(original, _sql.CALL))


def describe(connection: Any) -> _sql.Target:
    """The connection's target, cached on it until its database or server changes."""
    version = getattr(connection, "server_version", None)  # known once connected
    key = (connection.db, version, connection.host, connection.port)
    cached = connection.__dict__.get(_TARGET)
    if cached is not None and cached[0] == key:
        target: _sql.Target = cached[1]
        return target
    target = _sql.Target(
        database_type="MySQL",
        scheme="mysql",
        host=connection.host,
        port=connection.port,
        database=_text(connection.db),
        user=_text(connection.user),
        driver_version=_driver[0] if _driver else "PyMySQL",
        database_version=_server_version(version),
        secret=_text(connection.password),
        mysql=True,
    )
    connection.__dict__[_TARGET] = (key, target)
    return target


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _server_version(raw: Any) -> str | None:
    """``10.11.19-MariaDB-...`` for MariaDB's ``5.5.5-10.11.19-MariaDB-...`` handshake."""
    if not isinstance(raw, str) or not raw:
        return None
    if raw.startswith("5.5.5-") and "MariaDB" in raw:
        return raw[len("5.5.5-") :]
    return raw


def _describe_cursor(cursor: Any) -> _sql.Target | None:
    connection = cursor.connection
    return None if connection is None else describe(connection)


def _wrap_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    call = _sql.call

    def connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(original, describe, None, self, args, kwargs, refresh=True)

    return connect


def _wrap_cursor(original: Callable[..., Any], preparation: str) -> Callable[..., Any]:
    call = _sql.call

    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(original, _describe_cursor, preparation, self, args, kwargs)

    return traced
