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

from lambda_xray import _contract, _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

LOG_ERROR: Final = "LOG_ERROR"
RUNTIME_ERROR: Final = "RUNTIME_ERROR"
IGNORE_ERROR: Final = "IGNORE_ERROR"

#: ``LAMBDA_XRAY_FORMAT``: the wire format sent to the daemon.
ENV_FORMAT: Final = "LAMBDA_XRAY_FORMAT"
#: ``LAMBDA_XRAY_OTLP_UNSAMPLED``: in OTLP mode, also send ``Sampled=0`` invocations (``T1U``).
ENV_OTLP_UNSAMPLED: Final = "LAMBDA_XRAY_OTLP_UNSAMPLED"
#: X-Ray segment documents (the default).
FORMAT_XRAY: Final = "xray"
#: OTLP spans (``T1S``/``T1U`` datagrams), see ``lambda_xray.otlp``.
FORMAT_OTLP: Final = "otlp"
FORMATS: Final = (FORMAT_XRAY, FORMAT_OTLP)

#: ``LAMBDA_XRAY_AWS_NAMES``: how subsegments of AWS calls are named (X-Ray format).
ENV_AWS_NAMES: Final = "LAMBDA_XRAY_AWS_NAMES"
#: The service id, as the AWS console shows it: ``DynamoDB``, ``S3``, ``SFN`` (the default).
AWS_NAMES_LAYER: Final = "layer"
#: aws-xray-sdk's names, the endpoint prefix: ``dynamodb``, ``s3``, ``states``.
AWS_NAMES_SDK: Final = "sdk"
AWS_NAMES: Final = (AWS_NAMES_LAYER, AWS_NAMES_SDK)

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})
#: Record database query text (literals removed) in the ``sql`` block; off by default.
ENV_CAPTURE_SQL: Final = "LAMBDA_XRAY_CAPTURE_SQL"
#: Annotation values are limited to 1000 characters.
_MAX_SERVICE: Final = 1000


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
    """Build settings from ``environ``; bad values warn once and use the default."""
    service = (
        environ.get(_contract.ENV_SERVICE_NAME)
        or environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or "unknown"
    )
    return Config(
        handler=environ.get(_contract.ENV_HANDLER) or None,
        service=service[:_MAX_SERVICE],
        capture_response=_flag(environ, _contract.ENV_CAPTURE_RESPONSE, False),
        capture_error=_flag(environ, _contract.ENV_CAPTURE_ERROR, True),
        disabled=_flag(environ, _contract.ENV_DISABLED, False),
        context_missing=_context_missing(environ.get(_contract.ENV_CONTEXT_MISSING)),
        daemon_address=_daemon_address(environ.get(_contract.ENV_DAEMON_ADDRESS)),
        format=_format(environ.get(ENV_FORMAT)),
        otlp_unsampled=_flag(environ, ENV_OTLP_UNSAMPLED, False),
        capture_sql=_flag(environ, ENV_CAPTURE_SQL, False),
        aws_names=_choice(environ, ENV_AWS_NAMES, AWS_NAMES),
    )


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _log.warning_once(
        "env:" + name,
        "lambda_xray: %s=%r is not a boolean (use true or false); using %s",
        name,
        raw,
        "true" if default else "false",
    )
    return default


def _context_missing(raw: str | None) -> str:
    if raw is None or raw == "":
        return _contract.DEFAULT_CONTEXT_MISSING
    value = raw.strip().upper()
    if value in _contract.CONTEXT_MISSING_VALUES:
        return value
    _log.warning_once(
        "env:" + _contract.ENV_CONTEXT_MISSING,
        "lambda_xray: %s=%r is not one of %s; using %s",
        _contract.ENV_CONTEXT_MISSING,
        raw,
        ", ".join(_contract.CONTEXT_MISSING_VALUES),
        _contract.DEFAULT_CONTEXT_MISSING,
    )
    return _contract.DEFAULT_CONTEXT_MISSING


def _format(raw: str | None) -> str:
    if raw is None or raw.strip() == "":
        return FORMAT_XRAY
    value = raw.strip().lower()
    if value in FORMATS:
        return value
    _log.warning_once(
        "env:" + ENV_FORMAT,
        "lambda_xray: %s=%r is not one of %s; using %s",
        ENV_FORMAT,
        raw,
        ", ".join(FORMATS),
        FORMAT_XRAY,
    )
    return FORMAT_XRAY


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case-insensitive); unset or empty: the first; else one warning."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return choices[0]
    value = raw.strip().lower()
    if value in choices:
        return value
    _log.warning_once(
        "env:" + name,
        "lambda_xray: %s=%r is not one of %s; using %s",
        name,
        raw,
        ", ".join(choices),
        choices[0],
    )
    return choices[0]


def parse_daemon_address(raw: str) -> tuple[str, int] | None:
    """The UDP ``(host, port)`` in ``raw``, or ``None`` when it is not valid.

    Accepts ``host:port`` and ``tcp:host:port udp:host:port`` (either order);
    an IPv6 host is written in brackets (``[::1]:2000``).
    """
    parts = raw.split()
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        found = {p.partition(":")[0].lower(): p.partition(":")[2] for p in parts}
        if set(found) != {"tcp", "udp"}:
            return None
        target = found["udp"]
    else:
        return None
    host, sep, port_text = target.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not port_text.isascii():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return None
    port = int(port_text)
    if not host or not 0 < port < 65536:
        return None
    return host, port


def _daemon_address(raw: str | None) -> tuple[str, int]:
    if raw is not None and raw.strip() != "":
        parsed = parse_daemon_address(raw.strip())
        if parsed is not None:
            return parsed
        _log.warning_once(
            "env:" + _contract.ENV_DAEMON_ADDRESS,
            "lambda_xray: %s=%r is not 'host:port' or 'tcp:host:port udp:host:port'; "
            "sending to the default %s",
            _contract.ENV_DAEMON_ADDRESS,
            raw,
            _contract.DEFAULT_DAEMON_ADDRESS,
        )
    host, _, port = _contract.DEFAULT_DAEMON_ADDRESS.rpartition(":")
    return host, int(port)
