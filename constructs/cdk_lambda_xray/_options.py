"""Typed options shared by ``TracedFunction`` and the ``XRayTracing`` aspect."""

from __future__ import annotations

import enum

from . import _contract

__all__ = ["ContextMissing"]


class ContextMissing(enum.Enum):
    """What the tracing code does when it runs outside a traced invocation.

    Written to ``AWS_XRAY_CONTEXT_MISSING``; the X-Ray SDKs of other languages
    read the same variable.
    """

    #: Log an error and carry on (Lambda's default).
    LOG_ERROR = "LOG_ERROR"
    #: Raise an error: the function fails. Choose it only in tests.
    RUNTIME_ERROR = "RUNTIME_ERROR"
    #: Carry on silently.
    IGNORE_ERROR = "IGNORE_ERROR"


assert tuple(m.value for m in ContextMissing) == _contract.CONTEXT_MISSING_VALUES
