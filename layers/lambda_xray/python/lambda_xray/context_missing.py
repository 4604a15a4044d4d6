"""What happens when code records outside an invocation (``AWS_XRAY_CONTEXT_MISSING``).

- ``LOG_ERROR`` (Lambda's default): one ERROR line per process, then silence.
- ``RUNTIME_ERROR``: raise :class:`ContextMissingError` at the recording call.
- ``IGNORE_ERROR``: silence.

Inside an invocation that is not sampled, or whose header carries no sampling
decision, nothing is recorded and nothing is reported: that is not a missing
context, it is tracing saying "not this one".
"""

from __future__ import annotations

from lambda_xray import _log, config


class ContextMissingError(RuntimeError):
    """Raised in ``RUNTIME_ERROR`` mode when code records outside an invocation."""


def report(what: str) -> None:
    """Apply the context-missing strategy to an attempt to record ``what``.

    Raises :class:`ContextMissingError` only in ``RUNTIME_ERROR`` mode; silent
    when tracing is disabled.
    """
    settings = config.get()
    if settings.disabled:
        return
    mode = settings.context_missing
    if mode == config.IGNORE_ERROR:
        return
    message = (
        f"lambda_xray: cannot record {what!r}: no invocation is active (the code ran "
        "outside the handler, e.g. at import time, or in a thread that outlived its "
        "invocation); nothing was recorded."
    )
    if mode == config.RUNTIME_ERROR:
        raise ContextMissingError(message)
    _log.error_once(
        "context-missing",
        "%s Logged once per process; set AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR to "
        "silence it or RUNTIME_ERROR to raise instead.",
        message,
    )
