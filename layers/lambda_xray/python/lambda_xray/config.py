"""The layer's settings, read from the environment once, on first need.

Importing this module reads nothing. ``get()`` reads the environment the
first time it is called (during Init, when the runtime looks the wrapper's
handler up; else the first invocation) and keeps the result for the life of
the process; a bad
value falls back to its default with one warning naming the variable, the
value and what is accepted.
"""

from __future__ import annotations

import os

from lambda_xray import _contract

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final

# The names below live in ``_contract`` (shared with the construct library); kept
# here for the modules that read them as ``config.<NAME>``.
LOG_ERROR: Final = "LOG_ERROR"
RUNTIME_ERROR: Final = "RUNTIME_ERROR"
IGNORE_ERROR: Final = "IGNORE_ERROR"
ENV_FORMAT: Final = _contract.ENV_FORMAT
ENV_OTLP_UNSAMPLED: Final = _contract.ENV_OTLP_UNSAMPLED
ENV_CAPTURE_SQL: Final = _contract.ENV_CAPTURE_SQL
ENV_AWS_NAMES: Final = _contract.ENV_AWS_NAMES
FORMAT_XRAY: Final = _contract.FORMAT_XRAY
FORMAT_OTLP: Final = _contract.FORMAT_OTLP
FORMATS: Final = _contract.FORMATS
AWS_NAMES_LAYER: Final = _contract.AWS_NAMES_LAYER
AWS_NAMES_SDK: Final = _contract.AWS_NAMES_SDK
AWS_NAMES: Final = _contract.AWS_NAMES


class Config:
    """Settings for this process (see ``docs/layer.md`` for each variable)."""

    __slots__ = (
        "aws_names",
        "capture_error",
        "capture_response",
        "capture_sql",
        "context_missing",
        "daemon_address",
        "disabled",
        "format",
        "handler",
        "otlp_unsampled",
        "service",
    )

    def __init__(
        self,
        *,
        handler: str | None,
        service: str,
        capture_response: bool,
        capture_error: bool,
        disabled: bool,
        context_missing: str,
        daemon_address: tuple[str, int],
        format: str = FORMAT_XRAY,
        otlp_unsampled: bool = False,
        capture_sql: bool = False,
        aws_names: str = AWS_NAMES_LAYER,
    ) -> None:
        self.handler = handler
        self.service = service
        self.capture_response = capture_response
        self.capture_error = capture_error
        self.disabled = disabled
        self.context_missing = context_missing
        self.daemon_address = daemon_address
        #: ``"xray"`` or ``"otlp"``.
        self.format = format
        #: OTLP mode only: record ``Sampled=0`` invocations too and send them as ``T1U``.
        self.otlp_unsampled = otlp_unsampled
        self.capture_sql = capture_sql
        #: ``"layer"`` or ``"sdk"``: names of AWS call subsegments in the X-Ray format.
        self.aws_names = aws_names


_current: Config | None = None


def get() -> Config:
    """The process's settings, read from ``os.environ`` on the first call."""
    return _current if _current is not None else _load()


def reset() -> None:
    """Forget the settings; the next ``get()`` reads the environment again."""
    global _current
    _current = None


def _load() -> Config:
    global _current
    _current = from_environ(os.environ)
    return _current


def from_environ(environ: Mapping[str, str]) -> Config:
    """Build settings from ``environ``; bad values warn once and use the default.

    Every value is read by its parser in ``_contract`` (the grammar the construct
    library checks templates with): unset or blank is the default, silently.
    """
    c = _contract
    service = _read(environ, c.ENV_SERVICE_NAME, None)
    return Config(
        handler=environ.get(c.ENV_HANDLER) or None,
        service=service or (environ.get("AWS_LAMBDA_FUNCTION_NAME") or "unknown")[:_MAX_SERVICE],
        capture_response=_read(environ, c.ENV_CAPTURE_RESPONSE, False),
        capture_error=_read(environ, c.ENV_CAPTURE_ERROR, True),
        disabled=_read(environ, c.ENV_DISABLED, False),
        context_missing=_read(environ, c.ENV_CONTEXT_MISSING, c.DEFAULT_CONTEXT_MISSING),
        daemon_address=_read(environ, c.ENV_DAEMON_ADDRESS, None) or _default_daemon(),
        format=_read(environ, c.ENV_FORMAT, c.FORMAT_XRAY),
        otlp_unsampled=_read(environ, c.ENV_OTLP_UNSAMPLED, False),
        capture_sql=_read(environ, c.ENV_CAPTURE_SQL, False),
        aws_names=_read(environ, c.ENV_AWS_NAMES, c.AWS_NAMES_LAYER),
    )


_MAX_SERVICE: Final = _contract.MAX_SERVICE_NAME


def _read(environ: Mapping[str, str], name: str, default: Any) -> Any:
    """``name`` parsed by its grammar; unset or blank: ``default``; invalid: one warning."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    parse, default_text, _, accepts = _contract.GRAMMAR[name]
    value = parse(raw)
    if value is not None:
        return value
    from lambda_xray import _log  # loaded only when there is something to say

    _log.warning_once(
        "env:" + name,
        "lambda_xray: %s=%r is not %s; using the default %s",
        name,
        raw,
        accepts,
        default_text,
    )
    return default


def _default_daemon() -> tuple[str, int]:
    host, _, port = _contract.DEFAULT_DAEMON_ADDRESS.rpartition(":")
    return host, int(port)


def parse_daemon_address(raw: str) -> tuple[str, int] | None:
    """The UDP ``(host, port)`` in ``raw``, or ``None`` when it is not valid (see ``_contract``)."""
    return _contract.daemon_address(raw)
