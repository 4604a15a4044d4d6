"""Why the function's handler could not be loaded: the Lambda runtime's own error types.

Loaded only when loading the handler fails (and by ``lambda_xray.handler``'s
attribute look-up for these names): a function whose handler loads never
creates these classes. Each subclass is named like the runtime's error type
for the same problem, so the invocation's ``errorType`` reads the same as
without the layer (``Runtime.HandlerNotFound``, ...).
"""

from __future__ import annotations

__all__ = [
    "BuiltInModuleConflict",
    "HandlerError",
    "HandlerNotFound",
    "ImportModuleError",
    "MalformedHandlerName",
    "UserCodeSyntaxError",
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
