"""The handler Lambda runs: ``lambda_xray.handler.handler`` wraps the function's own handler.

The function's handler is named in ``LAMBDA_XRAY_HANDLER`` exactly as in
Lambda's ``Handler`` setting (``module.func``, ``dir/module.func``,
``pkg.sub.module.func``) and is imported once, on the first invocation, the
way the Lambda Python runtime does it. A bad name fails that invocation with
the runtime's own error types (``Runtime.ImportModuleError``,
``Runtime.HandlerNotFound``, ...) and the runtime's wording; the next
invocation tries again.

Each invocation runs the handler inside a ``## <handler>`` subsegment (when
the trace header says to record) whose exception, if any, is recorded and
re-raised unchanged: the same object, with its traceback.

Importing this module defines things and installs the client patches (which
import nothing themselves); it reads no environment and opens nothing.
"""

from __future__ import annotations

import sys
from os import environ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    UserHandler = Callable[[Any, Any], Any]

__all__ = [
    "BuiltInModuleConflict",
    "HandlerError",
    "HandlerNotFound",
    "ImportModuleError",
    "MalformedHandlerName",
    "UserCodeSyntaxError",
    "handler",
    "load_handler",
    "reset",
]


class HandlerError(Exception):
    """The function's handler could not be loaded.

    Each subclass is named like the Lambda runtime's error type for the same
    problem, so the invocation's ``errorType`` reads the same as without the
    layer (``Runtime.HandlerNotFound``, ...).
    """

    error_type = "Runtime.HandlerError"


def _runtime_named(cls: type[HandlerError]) -> type[HandlerError]:
    # The runtime reports ``type(exc).__name__`` as the invocation's errorType.
    cls.__name__ = cls.error_type
    return cls


@_runtime_named
class MalformedHandlerName(HandlerError):
    """``LAMBDA_XRAY_HANDLER`` is unset or not ``module.function``."""

    error_type = "Runtime.MalformedHandlerName"


@_runtime_named
class ImportModuleError(HandlerError):
    """The handler's module could not be imported."""

    error_type = "Runtime.ImportModuleError"


@_runtime_named
class UserCodeSyntaxError(HandlerError):
    """The handler's module has a syntax error."""

    error_type = "Runtime.UserCodeSyntaxError"


@_runtime_named
class BuiltInModuleConflict(HandlerError):
    """The handler's module is named like a module built into Python."""

    error_type = "Runtime.BuiltInModuleConflict"


@_runtime_named
class HandlerNotFound(HandlerError):
    """The module has no such function (or it is not callable)."""

    error_type = "Runtime.HandlerNotFound"


_user_handler: UserHandler | None = None
_handler_name = ""
# Bound by _load() on the first invocation, so importing this module loads nothing.
if TYPE_CHECKING:
    from contextvars import ContextVar

    from lambda_xray._recorder import finish_invocation, start_invocation
    from lambda_xray.document import Subsegment

    current: ContextVar[Subsegment | None]
    ENV_TRACE_ID: str


def handler(event: Any, context: Any) -> Any:
    """Run the function's handler for one invocation, traced."""
    user_handler = _user_handler
    if user_handler is None:
        user_handler = _load()
    invocation = start_invocation(_handler_name, environ.get(ENV_TRACE_ID))
    root = invocation.root
    if root is None:
        try:
            return user_handler(event, context)
        finally:
            finish_invocation(invocation)
    token = current.set(root)
    try:
        response = user_handler(event, context)
    except BaseException as exc:
        current.reset(token)
        finish_invocation(invocation, error=exc)
        raise
    current.reset(token)
    finish_invocation(invocation, response=response, has_response=True)
    return response


def _load() -> UserHandler:
    """First invocation: bind the recorder and load the function's handler."""
    global _user_handler, _handler_name, start_invocation, finish_invocation, current, ENV_TRACE_ID
    from lambda_xray import _contract, _recorder, config, context

    start_invocation = _recorder.start_invocation
    finish_invocation = _recorder.finish_invocation
    current = context.current
    ENV_TRACE_ID = _contract.ENV_TRACE_ID

    name = config.get().handler
    if name is None:
        raise MalformedHandlerName(
            f"Bad handler: {_contract.ENV_HANDLER} is not set; it must name the function's "
            "own handler, e.g. 'app.handler' (the layer's handler "
            f"'{_contract.WRAPPER_HANDLER}' wraps it)"
        )
    loaded = load_handler(name)
    _user_handler, _handler_name = loaded, name
    return loaded


def load_handler(name: str) -> UserHandler:
    """Import and return the handler ``name`` (``module.func``) as Lambda's runtime does."""
    from lambda_xray import _contract

    if name == _contract.WRAPPER_HANDLER:
        raise MalformedHandlerName(
            f"Bad handler '{name}': {_contract.ENV_HANDLER} names the layer's own wrapper; "
            "set it to the function's handler (what Handler was before tracing)"
        )
    modname, dot, fname = name.rpartition(".")
    if not dot or not modname or not fname:
        raise MalformedHandlerName(
            f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)"
        )
    if modname.split(".")[0] in sys.builtin_module_names:
        raise BuiltInModuleConflict(f"Cannot use built-in module {modname} as a handler module")
    dotted = modname.replace("/", ".")
    try:
        __import__(dotted)  # importlib.import_module without loading importlib
        module = sys.modules[dotted]
    except ImportError as e:
        raise ImportModuleError(f"Unable to import module '{modname}': {e}") from e
    except SyntaxError as e:
        raise UserCodeSyntaxError(f"Syntax error in module '{modname}': {e}") from e
    try:
        found = getattr(module, fname)
    except AttributeError:
        raise HandlerNotFound(f"Handler '{fname}' missing on module '{modname}'") from None
    if not callable(found):
        raise HandlerNotFound(f"Handler '{fname}' on module '{modname}' is not callable")
    loaded: UserHandler = found
    return loaded


def reset() -> None:
    """Forget the loaded handler; the next invocation loads it again (tests)."""
    global _user_handler, _handler_name
    _user_handler, _handler_name = None, ""


def _install_patches() -> None:
    try:
        from lambda_xray import patches
    except ImportError:
        return
    try:
        patches.install()
    except Exception:
        from lambda_xray import _log

        _log.warning_once("patches", "lambda_xray: client patches not installed; calls untraced")


_install_patches()
