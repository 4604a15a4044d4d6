"""Typed options shared by ``TracedFunction`` and the ``XRayTracing`` aspect."""

from __future__ import annotations

import enum

from . import _contract
from .errors import TracingConfigError

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

    @classmethod
    def _missing_(cls, value: object) -> ContextMissing:
        """``ContextMissing("x")``: a :class:`TracingConfigError`, as every other bad input."""
        names = ", ".join(f"ContextMissing.{m.name}" for m in cls)
        raise TracingConfigError(
            "ContextMissing",
            f"{value!r:.80} is not a context-missing strategy",
            f"use one of {names} (or its value, e.g. 'LOG_ERROR')",
        )


assert tuple(m.value for m in ContextMissing) == _contract.CONTEXT_MISSING_VALUES
