"""redis-py and valkey-py, sync and asyncio: a ``remote`` subsegment per command or pipeline.

Class-level wraps, so clients made before the layer loaded are traced too:
``Redis.execute_command`` and ``Pipeline.execute`` of ``redis.client`` and
of ``redis.asyncio.client`` (patched when that module is imported: it has
its own trigger), and the same of valkey-py (``Valkey``). A pipeline (or
``MULTI``/``EXEC`` transaction) is one subsegment, however many commands it
sends.

Recorded: the subsegment is named after the server's host; metadata
``redis`` holds ``command`` (``GET``, ``SET``, ...) or, for a pipeline,
``commands`` (the first :data:`MAX_COMMANDS` names, in order) with
``command_count`` and ``transaction``, plus ``database`` (the index).
Never recorded: keys, values, arguments of any kind, the password. Errors
are ``fault`` with the cause; an error reply keeps only its code
(``WRONGTYPE``, ``ERR``, ...), as Lua errors quote script text.
"""

from __future__ import annotations

from lambda_xray import _recorder
from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common, _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

    from lambda_xray._recorder import Subsegment

    #: What a call records in metadata ``redis``: (client, call arguments) -> fields.
    Describe = Callable[[Any, tuple[Any, ...]], dict[str, Any]]

#: Longest list of command names recorded for one pipeline.
MAX_COMMANDS: Final = 50
_NAMESPACE: Final = "redis"


def patch(module: ModuleType) -> None:
    """Wrap ``Redis.execute_command`` and ``Pipeline.execute`` of ``module`` (idempotent).

    ``module`` is ``redis.client`` or ``redis.asyncio.client``, or the same
    modules of valkey-py (``valkey.client``, ``valkey.asyncio.client``), whose
    client class is ``Valkey``.
    """
    wrap = _wrap_async if ".asyncio." in module.__name__ else _wrap_sync
    client = getattr(module, "Redis", None) or module.Valkey
    _common.wrap(client, "execute_command", lambda original: wrap(original, _command))
    _common.wrap(module.Pipeline, "execute", lambda original: wrap(original, _pipeline))


def _command_name(args: Any) -> str:
    """The command's name (``GET``, ``CLIENT SETNAME``), never an argument."""
    if args:
        name = args[0]
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if isinstance(name, str) and name.replace(" ", "").replace("_", "").isalpha():
            return name.upper()[:64]
    return "UNKNOWN"


def _command(client: Any, args: tuple[Any, ...]) -> dict[str, Any]:
    return {"command": _command_name(args)}


def _pipeline(pipeline: Any, args: tuple[Any, ...]) -> dict[str, Any]:
    stack = pipeline.command_stack
    return {
        "commands": [_command_name(entry[0]) for entry in stack[:MAX_COMMANDS]],
        "command_count": len(stack),
        "transaction": bool(pipeline.transaction or pipeline.explicit_transaction),
    }


def _start(client: Any, describe: Describe, args: tuple[Any, ...]) -> Subsegment | None:
    """Open the call's subsegment, ``None`` when nothing is recorded. Never raises but
    :class:`ContextMissingError` (``RUNTIME_ERROR`` mode, the user's choice)."""
    if _common.in_traced_call.get() is not None:
        return None
    if describe is _pipeline and not client.command_stack and not client.watching:
        return None  # an empty pipeline sends nothing
    try:
        kwargs = client.connection_pool.connection_kwargs
        host = kwargs.get("host") or ("localhost" if kwargs.get("path") else "redis")
        sub = _recorder.begin_subsegment(host, "remote")
        if sub is not None:
            metadata = describe(client, args)
            database = kwargs.get("db")
            if type(database) is int:
                metadata["database"] = database
            sub.metadata[_NAMESPACE] = metadata
        return sub
    except ContextMissingError:
        raise
    except Exception:
        _common.warn_once("redis-begin", "could not trace a Redis call")
        return None


def _wrap_sync(original: Callable[..., Any], describe: Describe) -> Callable[..., Any]:
    run, end = _sql.run, _recorder.end_subsegment

    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        sub = _start(self, describe, args)
        if sub is None:
            return original(self, *args, **kwargs)
        result = run(sub, None, original, self, args, kwargs)
        end(sub)  # never raises
        return result

    return traced


def _wrap_async(original: Callable[..., Any], describe: Describe) -> Callable[..., Any]:
    run, end = _sql.run_async, _recorder.end_subsegment

    async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        sub = _start(self, describe, args)
        if sub is None:
            return await original(self, *args, **kwargs)
        result = await run(sub, None, original, self, args, kwargs)
        end(sub)  # never raises
        return result

    return traced
