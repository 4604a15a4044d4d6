"""The contract with the construct library: names, and the grammar of their values.

One file for both halves. The layer's ``config`` reads the environment with
the parsers below; the construct library and the review load this very file
(``cdk_lambda_xray._shared``) and judge the values a template sets by the same
parsers, so the handler, the variables and what each value may be cannot drift
apart. Where synth is stricter than the layer, and why, is one table on the
synth side (``cdk_lambda_xray._env_values.SYNTH_STRICTER``).

How the layer reads a value: unset or blank is the default, silently; a value
its parser returns ``None`` for logs one warning (:data:`GRAMMAR` says what is
accepted) and the default is used.

Stdlib only and no absolute import of ``lambda_xray`` (the library loads it
under another package name). It is on the Init path: importing it defines
constants, functions and one table, nothing else (no regex, no ``typing``; the
names and the grammar are one module because each module imported costs
Init time of its own).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` import at run time: it costs cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

    Parser = Callable[[str], object]

#: What ``Handler`` is set to on a traced Python function.
WRAPPER_HANDLER: Final = "lambda_xray.handler.handler"

#: The user's original handler string (``module.func`` or ``pkg/mod.func``).
ENV_HANDLER: Final = "LAMBDA_XRAY_HANDLER"
#: Service name recorded as the ``Service`` annotation (default: function name).
ENV_SERVICE_NAME: Final = "LAMBDA_XRAY_SERVICE_NAME"
#: Boolean: record the handler's response as metadata (default false).
ENV_CAPTURE_RESPONSE: Final = "LAMBDA_XRAY_CAPTURE_RESPONSE"
#: Boolean: record the handler's exception as metadata (default true).
ENV_CAPTURE_ERROR: Final = "LAMBDA_XRAY_CAPTURE_ERROR"
#: Boolean: the layer records nothing (kill switch, default false).
ENV_DISABLED: Final = "LAMBDA_XRAY_DISABLED"
#: The wire format sent to the daemon: ``xray`` (default) or ``otlp``.
ENV_FORMAT: Final = "LAMBDA_XRAY_FORMAT"
#: Boolean, OTLP only: also send ``Sampled=0`` invocations (``T1U``).
ENV_OTLP_UNSAMPLED: Final = "LAMBDA_XRAY_OTLP_UNSAMPLED"
#: Boolean: record database query text (literals removed) in the ``sql`` block.
ENV_CAPTURE_SQL: Final = "LAMBDA_XRAY_CAPTURE_SQL"
#: How subsegments of AWS calls are named in the X-Ray format: ``layer`` or ``sdk``.
ENV_AWS_NAMES: Final = "LAMBDA_XRAY_AWS_NAMES"

#: Context-missing strategy, read by the layer (Lambda's own name, read by
#: every X-Ray SDK too).
ENV_CONTEXT_MISSING: Final = "AWS_XRAY_CONTEXT_MISSING"
#: Where the X-Ray daemon listens; set by Lambda, never by us.
ENV_DAEMON_ADDRESS: Final = "AWS_XRAY_DAEMON_ADDRESS"
#: The trace header Lambda sets per invocation; reserved.
ENV_TRACE_ID: Final = "_X_AMZN_TRACE_ID"

CONTEXT_MISSING_VALUES: Final = ("LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR")
DEFAULT_CONTEXT_MISSING: Final = "LOG_ERROR"
DEFAULT_DAEMON_ADDRESS: Final = "127.0.0.1:2000"

#: X-Ray segment documents (the default).
FORMAT_XRAY: Final = "xray"
#: OTLP spans (``T1S``/``T1U`` datagrams), see ``lambda_xray.otlp``.
FORMAT_OTLP: Final = "otlp"
FORMATS: Final = (FORMAT_XRAY, FORMAT_OTLP)

#: The service id, as the AWS console shows it: ``DynamoDB``, ``S3``, ``SFN`` (the default).
AWS_NAMES_LAYER: Final = "layer"
#: aws-xray-sdk's names, the endpoint prefix: ``dynamodb``, ``s3``, ``states``.
AWS_NAMES_SDK: Final = "sdk"
AWS_NAMES: Final = (AWS_NAMES_LAYER, AWS_NAMES_SDK)

#: Annotation values are limited to 1000 characters; the layer cuts a longer service name.
MAX_SERVICE_NAME: Final = 1000

_NAME_CHARS: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
_IPV6_CHARS: Final = "0123456789abcdefABCDEF:."


# --- the grammar of the values: one parser each, ``None`` for a value the layer cannot use ---


def boolean(raw: str) -> bool | None:
    """``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` in any case."""
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    return None


def context_missing(raw: str) -> str | None:
    """``LOG_ERROR``, ``RUNTIME_ERROR`` or ``IGNORE_ERROR``, in any case."""
    value = raw.strip().upper()
    return value if value in CONTEXT_MISSING_VALUES else None


def wire_format(raw: str) -> str | None:
    """``xray`` or ``otlp``, in any case."""
    value = raw.strip().lower()
    return value if value in FORMATS else None


def aws_names(raw: str) -> str | None:
    """``layer`` or ``sdk``, in any case."""
    value = raw.strip().lower()
    return value if value in AWS_NAMES else None


def service_name(raw: str) -> str | None:
    """Any text that is not blank, cut to the annotation limit of 1000 characters."""
    return raw[:MAX_SERVICE_NAME] if raw.strip() else None


def handler_name(raw: str) -> tuple[str, str] | None:
    """``(module, function)`` of ``module.function``; the module may be a path (``pkg/mod``).

    The rule Lambda's Python runtime loads a handler by: the function a Python
    name, no empty name in the module path, no whitespace, not a built-in module.
    """
    import sys  # always loaded: costs a dictionary look-up

    if not raw or any(ch.isspace() for ch in raw):
        return None
    module, dot, function = raw.rpartition(".")
    if not dot or not module or not function.isidentifier():
        return None
    names = module.replace("/", ".").split(".")
    if "" in names or names[0] in sys.builtin_module_names:
        return None
    return module, function


def endpoint(text: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port``; an IPv6 host in brackets (``[::1]:2000``).

    The host is a name or address (letters, digits, ``.-_``); the port 1-65535.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
        return None
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host or host.strip(_IPV6_CHARS):
            return None
    elif not host or host.strip(_NAME_CHARS):  # strip leaves what is not a name character
        return None
    return host, port


def daemon_address(raw: str) -> tuple[str, int] | None:
    """The UDP ``(host, port)`` in ``host:port`` or ``tcp:host:port udp:host:port``.

    Either order, ``tcp``/``udp`` in any case, any spaces between; the layer
    sends over UDP only, so only the UDP address has to be usable.
    """
    parts = raw.split()
    if len(parts) == 1:
        return endpoint(parts[0])
    if len(parts) != 2:
        return None
    forms = {part.partition(":")[0].lower(): part.partition(":")[2] for part in parts}
    if set(forms) != {"tcp", "udp"} or not forms["tcp"]:
        return None
    return endpoint(forms["udp"])


# --- the tables ------------------------------------------------------------------------------

_BOOLEAN: Final = "true or false (also 1/0, yes/no, on/off, any case)"

#: Every variable the layer reads: name -> (parser, default, what a value is, what is
#: accepted). ``parser(raw)`` is ``None`` for a value the layer ignores (one warning).
GRAMMAR: Final[dict[str, tuple[Parser, str, str, str]]] = {
    ENV_HANDLER: (
        handler_name,
        "none: every invocation fails (Runtime.MalformedHandlerName)",
        "a Python handler",
        "'module.function' (the module may be a path, 'pkg/mod.function')",
    ),
    ENV_SERVICE_NAME: (service_name, "the function name", "a service name", "any text"),
    ENV_CAPTURE_RESPONSE: (boolean, "false", "a boolean", _BOOLEAN),
    ENV_CAPTURE_ERROR: (boolean, "true", "a boolean", _BOOLEAN),
    ENV_DISABLED: (boolean, "false", "a boolean", _BOOLEAN),
    ENV_OTLP_UNSAMPLED: (boolean, "false", "a boolean", _BOOLEAN),
    ENV_CAPTURE_SQL: (boolean, "false", "a boolean", _BOOLEAN),
    ENV_FORMAT: (wire_format, FORMAT_XRAY, "a wire format", "one of " + ", ".join(FORMATS)),
    ENV_AWS_NAMES: (
        aws_names,
        AWS_NAMES_LAYER,
        "a naming scheme",
        "one of " + ", ".join(AWS_NAMES),
    ),
    ENV_CONTEXT_MISSING: (
        context_missing,
        DEFAULT_CONTEXT_MISSING,
        "a context-missing strategy",
        "one of " + ", ".join(CONTEXT_MISSING_VALUES),
    ),
    ENV_DAEMON_ADDRESS: (
        daemon_address,
        DEFAULT_DAEMON_ADDRESS,
        "a daemon address",
        "'host:port' or 'tcp:host:port udp:host:port' (IPv6 as '[::1]:2000')",
    ),
}
