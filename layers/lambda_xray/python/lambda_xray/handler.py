"""The handler Lambda runs: ``lambda_xray.handler.handler`` wraps the function's own handler.

The function's handler is named in ``LAMBDA_XRAY_HANDLER`` exactly as in
Lambda's ``Handler`` setting (``module.func``, ``dir/module.func``,
``pkg.sub.module.func``) and is imported during Init, the way the Lambda
Python runtime does it: when the runtime looks ``handler`` up in this module
(see :func:`__getattr__`). A bad name or a failing import is logged once
there and fails the first invocation with the runtime's own error types
(``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ...) and the
runtime's wording; the next invocation tries again. The wrapper itself never
fails Init.

Each invocation runs the handler inside a ``## <handler>`` subsegment (when
the trace header says to record) whose exception, if any, is recorded and
re-raised unchanged: the same object, with its traceback.

Importing this module defines things and installs the client patches (which
import nothing themselves); it reads no environment and opens nothing. The
first invocation's ``## <handler>`` carries ``InitDuration``: the seconds the
function's module took to import during Init.
"""

from __future__ import annotations

import sys
from os import environ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from lambda_xray._load_errors import (
        BuiltInModuleConflict,
        HandlerError,
        HandlerNotFound,
        ImportModuleError,
        MalformedHandlerName,
        UserCodeSyntaxError,
    )

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


_user_handler: UserHandler | None = None
_handler_name = ""
#: Why the handler could not be loaded during Init; raised by the first invocation.
_init_error: Exception | None = None
#: Seconds the function's own module took to import during Init (first ``## handler`` only).
_init_seconds: float | None = None
_initialized = False
_bound = False
# Bound by _bind() during Init (or on the first invocation), so importing this module loads nothing.
if TYPE_CHECKING:
    from contextvars import ContextVar

    from lambda_xray._recorder import finish_invocation, start_invocation
    from lambda_xray.document import Subsegment

    current: ContextVar[Subsegment | None]
    ENV_TRACE_ID: str


def handler(event: Any, context: Any) -> Any:
    """Run the function's handler for one invocation, traced."""
    global _init_seconds
    user_handler = _user_handler
    if user_handler is None:
        user_handler = _load()
    invocation = start_invocation(_handler_name, environ.get(ENV_TRACE_ID), context)
    root = invocation.root
    if _init_seconds is not None:  # the first invocation only, sampled or not
        if root is not None:
            root.annotations["InitDuration"] = round(_init_seconds, 6)
        _init_seconds = None
    if root is None:
        try:
            return user_handler(event, context)
        finally:
            _finish(invocation)
    token = current.set(root)
    try:
        response = user_handler(event, context)
    except BaseException as exc:
        current.reset(token)
        _finish(invocation, error=exc)
        raise
    current.reset(token)
    _finish(invocation, response=response, has_response=True)
    return response


_handler = handler
if not TYPE_CHECKING:
    del handler  # looked up through __getattr__ below: that look-up is the runtime's Init


def __getattr__(name: str) -> object:
    """``handler``: resolving it is the runtime's Init, so the function's module loads now.

    The runtime imports this module and then looks ``handler`` up, both during
    Init (provisioned concurrency and SnapStart run exactly that): the first
    look-up binds the recorder and imports the function's handler module, so
    the first invocation does neither. Importing this module alone still only
    defines things and reads no environment.
    """
    if name != "handler":
        if name in _LOAD_ERRORS:  # the error classes, created on first need
            from lambda_xray import _load_errors

            value: object = getattr(_load_errors, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _initialize()
    globals()["handler"] = _handler
    return _handler


_LOAD_ERRORS = frozenset(__all__) - {"handler", "load_handler", "reset"}


def _finish(
    invocation: Any,
    error: BaseException | None = None,
    response: Any = None,
    has_response: bool = False,
) -> None:
    """``finish_invocation``, contained: nothing a recorded object does escapes from here.

    A response or exception whose ``repr``/``str`` raises anything, even
    ``KeyboardInterrupt``/``SystemExit``, must leave the function's outcome
    exactly as without the layer (``finish_invocation`` ends the invocation
    in its ``finally`` either way).
    """
    try:
        finish_invocation(invocation, error=error, response=response, has_response=has_response)
    except BaseException:  # see the docstring
        return


def _initialize() -> None:
    """Init: bind the recorder and import the function's handler module. Never raises.

    A handler that cannot be loaded is logged once and kept: the first
    invocation raises it (``Runtime.ImportModuleError``, ...), later ones try
    again, as without the layer.
    """
    global _initialized, _user_handler, _handler_name, _init_error, _init_seconds
    if _initialized:
        return
    _initialized = True
    try:
        _bind()
        from lambda_xray import config

        name = config.get().handler
        if name is None or _user_handler is not None:
            return  # unset: the first invocation reports it
        from time import perf_counter

        began = perf_counter()
        try:
            loaded = load_handler(name)
        except Exception as exc:
            _init_error = exc
            _log_init_error(name, exc)
        else:
            _user_handler, _handler_name = loaded, name
        _init_seconds = perf_counter() - began
        _freeze_init_objects()
    except Exception:  # the wrapper never fails Init; the first invocation tries again
        _init_error = None


def _freeze_init_objects() -> None:
    """``gc.freeze()`` once Init's imports are done (measured in ``make bench``).

    Everything Init allocated (boto3's and the function's modules, the layer's)
    lives for the life of the environment; frozen, the collector stops walking
    it, so the full collection that Init's allocations would otherwise tip into
    the first invocation (30-35 ms CPU on a boto3-sized heap) and every later
    full collection (about 30 ms warm) cost about a tenth of a millisecond.
    Cyclic garbage already unreachable at this point is kept, not freed: four
    objects in the measurement. Never raises.
    """
    try:
        import gc

        gc.freeze()
    except Exception:
        return


def _log_init_error(name: str, exc: Exception) -> None:
    try:
        from lambda_xray import _log
        from lambda_xray._snapshot import text_of

        _log.error_once(
            "init-handler",
            "lambda_xray: the function's handler %r could not be loaded during Init "
            "(%s: %s); invocations fail with this error until it loads",
            name,
            type(exc).__name__,
            text_of(exc),  # the module's own exception: its str may raise anything
        )
    except Exception:
        return


def _bind() -> None:
    """Import the recorder and bind what every invocation uses (once)."""
    global _bound, start_invocation, finish_invocation, current, ENV_TRACE_ID
    if _bound:
        return
    from lambda_xray import _contract, _recorder, context

    start_invocation = _recorder.start_invocation
    finish_invocation = _recorder.finish_invocation
    current = context.current
    ENV_TRACE_ID = _contract.ENV_TRACE_ID
    _bound = True


def _load() -> UserHandler:
    """An invocation without a loaded handler: raise the Init error, or load it now."""
    global _user_handler, _handler_name, _init_error
    _bind()
    from lambda_xray import _contract, config

    failed = _init_error
    if failed is not None:
        _init_error = None  # the next invocation tries again
        raise failed
    name = config.get().handler
    if name is None:
        raise _errors().MalformedHandlerName(
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
        raise _errors().MalformedHandlerName(
            f"Bad handler '{name}': {_contract.ENV_HANDLER} names the layer's own wrapper; "
            "set it to the function's handler (what Handler was before tracing)"
        )
    modname, dot, fname = name.rpartition(".")
    if not dot or not modname or not fname:
        raise _errors().MalformedHandlerName(
            f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)"
        )
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _errors().BuiltInModuleConflict(
            f"Cannot use built-in module {modname} as a handler module"
        )
    dotted = modname.replace("/", ".")
    try:
        __import__(dotted)  # importlib.import_module without loading importlib
        module = sys.modules[dotted]
    except ImportError as e:
        raise _errors().ImportModuleError(f"Unable to import module '{modname}': {e}") from e
    except SyntaxError as e:
        raise _errors().UserCodeSyntaxError(f"Syntax error in module '{modname}': {e}") from e
    try:
        found = getattr(module, fname)
    except AttributeError:
        raise _errors().HandlerNotFound(
            f"Handler '{fname}' missing on module '{modname}'"
        ) from None
    if not callable(found):
        raise _errors().HandlerNotFound(f"Handler '{fname}' on module '{modname}' is not callable")
    loaded: UserHandler = found
    return loaded


def _errors() -> ModuleType:
    """:mod:`lambda_xray._load_errors`, loaded by the first handler that fails to load."""
    from lambda_xray import _load_errors

    return _load_errors


def reset() -> None:
    """Back to before Init: the next look-up of ``handler`` runs Init again (tests)."""
    global _user_handler, _handler_name, _init_error, _init_seconds, _initialized
    _user_handler, _handler_name = None, ""
    _init_error = _init_seconds = None
    _initialized = False
    globals().pop("handler", None)


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
