"""What happens when code records outside its invocation (``AWS_XRAY_CONTEXT_MISSING``).

- ``LOG_ERROR`` (Lambda's default): one ERROR line per process, then silence.
- ``RUNTIME_ERROR``: raise :class:`ContextMissingError` at the recording call.
- ``IGNORE_ERROR``: silence.

Context missing means recording after the first invocation started, outside
the invocation the work belongs to: a thread or task that outlived its
invocation. During Init (before the first invocation: module-level clients,
config loads) nothing is recorded and nothing is reported, in every mode:
that is "not traced: init". Inside an invocation that is not sampled, or
whose header carries no sampling decision, nothing is recorded and nothing is
reported either: that is tracing saying "not this one".
"""

from __future__ import annotations

from lambda_xray import _log, config, context
from lambda_xray.context import ContextMissingError

__all__ = ["ContextMissingError", "report"]


def report(what: str) -> None:
    """Apply the context-missing strategy to an attempt to record ``what``.

    Raises :class:`ContextMissingError` only in ``RUNTIME_ERROR`` mode; silent
    during Init and when tracing is disabled.
    """
    if context.in_init():
        return
    settings = config.get()
    if settings.disabled:
        return
    mode = settings.context_missing
    if mode == config.IGNORE_ERROR:
        return
    message = (
        f"lambda_xray: cannot record {what!r}: its invocation is not active (the code "
        "runs in a thread or task that outlived the invocation it was started in); "
        "nothing was recorded."
    )
    if mode == config.RUNTIME_ERROR:
        raise ContextMissingError(message)
    _log.error_once(
        "context-missing",
        "%s Logged once per process; set AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR to "
        "silence it or RUNTIME_ERROR to raise instead.",
        message,
    )
