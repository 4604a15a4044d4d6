"""What the psycopg and psycopg2 patches share: how a PostgreSQL connection is described.

Both drivers expose the same ``connection.info`` (libpq's view of the open
connection) and the same connection parameters (``host``, ``port``,
``dbname``, ``user``, ``password``), so the :class:`~lambda_xray.patches._sql.Target`
of a connection, and of a connect about to be made, is built here once.
"""

from __future__ import annotations

from lambda_xray.patches import _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

_TARGET: Final = "_lambda_xray_target"


def server_version(number: Any) -> str | None:
    """``18.6`` for libpq's 180006, ``9.6.24`` for 90624."""
    if type(number) is not int or number <= 0:
        return None
    if number >= 100000:
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def describe(connection: Any, driver_version: str) -> _sql.Target:
    """The open connection's target (cached on the connection)."""
    found = connection.__dict__.get(_TARGET)
    if found is not None:
        target: _sql.Target = found
        return target
    info = connection.info
    target = _sql.Target(
        database_type="PostgreSQL",
        scheme="postgresql",
        host=info.host,
        port=info.port,
        database=info.dbname,
        user=info.user,
        driver_version=driver_version,
        database_version=server_version(info.server_version),
        secret=info.password,
    )
    connection.__dict__[_TARGET] = target
    return target


def describe_params(params: dict[str, Any], driver_version: str) -> _sql.Target:
    """The target of a connect about to be made with ``params`` (no round trip).

    Of several hosts (``host=a,b``) the first names it.
    """
    database = params.get("dbname")
    return _sql.Target(
        database_type="PostgreSQL",
        scheme="postgresql",
        host=str(params.get("host") or "localhost").split(",", 1)[0],
        port=params.get("port"),
        database=str(database) if database else None,
        user=str(params["user"]) if params.get("user") else None,
        driver_version=driver_version,
        secret=str(params["password"]) if params.get("password") else None,
    )
