"""redis-py, sync and asyncio: one ``remote`` subsegment per command or pipeline.

Class-level wraps, so clients made before the layer loaded are traced too:
``Redis.execute_command`` and ``Pipeline.execute`` of ``redis.client`` and
of ``redis.asyncio.client`` (patched when that module is imported: it has
its own trigger). A pipeline (or ``MULTI``/``EXEC`` transaction) is one
subsegment, however many commands it sends.

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
from lambda_xray.context_missing import ContextMissingError
from lambda_xray.patches import _common, _sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

    from lambda_xray._recorder import Subsegment

#: Longest list of command names recorded for one pipeline.
MAX_COMMANDS: Final = 50
_NAMESPACE: Final = "redis"


def patch(module: ModuleType) -> None:
    """Wrap ``Redis.execute_command`` and ``Pipeline.execute`` of ``module`` (idempotent).

    ``module`` is ``redis.client`` or ``redis.asyncio.client``.
    """
    is_async = module.__name__.startswith("redis.asyncio")
    if is_async:
        _common.wrap(module.Redis, "execute_command", _wrap_command_async)
        _common.wrap(module.Pipeline, "execute", _wrap_pipeline_async)
    else:
        _common.wrap(module.Redis, "execute_command", _wrap_command)
        _common.wrap(module.Pipeline, "execute", _wrap_pipeline)


def _command_name(args: Any) -> str:
    """The command's name (``GET``, ``CLIENT SETNAME``), never an argument."""
    if args:
        name = args[0]
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if isinstance(name, str) and name.replace(" ", "").replace("_", "").isalpha():
            return name.upper()[:64]
    return "UNKNOWN"


def _begin(client: Any, metadata: dict[str, Any]) -> Subsegment | None:
    """Open the subsegment for ``client`` (``None`` when nothing is recorded)."""
    kwargs = client.connection_pool.connection_kwargs
    host = kwargs.get("host") or ("localhost" if kwargs.get("path") else None) or "redis"
    sub = _recorder.begin_subsegment(host, "remote")
    if sub is not None:
        database = kwargs.get("db")
        if type(database) is int:
            metadata["database"] = database
        sub.metadata[_NAMESPACE] = metadata
    return sub


def _pipeline_metadata(pipeline: Any) -> dict[str, Any]:
    names = [_command_name(entry[0]) for entry in pipeline.command_stack[:MAX_COMMANDS]]
    return {
        "commands": names,
        "command_count": len(pipeline.command_stack),
        "transaction": bool(pipeline.transaction or pipeline.explicit_transaction),
    }


def _start(client: Any, describe: Callable[[], dict[str, Any]]) -> Subsegment | None:
    if _common.in_traced_call.get() is not None:
        return None
    try:
        return _begin(client, describe())
    except ContextMissingError:
        raise
    except Exception:
        _common.warn_once("redis-begin", "could not trace a Redis call")
        return None


def _wrap_command(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    finish = _sql.finish

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        sub = _start(self, lambda: {"command": _command_name(args)})
        if sub is None:
            return original(self, *args, **options)
        token = guard.set("")
        try:
            result = original(self, *args, **options)
        except BaseException as exc:
            finish(sub, exc, None)
            raise
        finally:
            guard.reset(token)
        finish(sub, None, None)
        return result

    return execute_command


def _wrap_command_async(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    finish = _sql.finish

    async def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        sub = _start(self, lambda: {"command": _command_name(args)})
        if sub is None:
            return await original(self, *args, **options)
        token = guard.set("")
        try:
            result = await original(self, *args, **options)
        except BaseException as exc:
            finish(sub, exc, None)
            raise
        finally:
            guard.reset(token)
        finish(sub, None, None)
        return result

    return execute_command


def _wrap_pipeline(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    finish = _sql.finish

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.command_stack and not self.watching:
            return original(self, *args, **kwargs)  # nothing is sent
        sub = _start(self, lambda: _pipeline_metadata(self))
        if sub is None:
            return original(self, *args, **kwargs)
        token = guard.set("")
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            finish(sub, exc, None)
            raise
        finally:
            guard.reset(token)
        finish(sub, None, None)
        return result

    return execute


def _wrap_pipeline_async(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    finish = _sql.finish

    async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.command_stack and not self.watching:
            return await original(self, *args, **kwargs)
        sub = _start(self, lambda: _pipeline_metadata(self))
        if sub is None:
            return await original(self, *args, **kwargs)
        token = guard.set("")
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as exc:
            finish(sub, exc, None)
            raise
        finally:
            guard.reset(token)
        finish(sub, None, None)
        return result

    return execute
