"""The grammar of every environment value the layer reads: one file for both halves.

The layer's ``config`` parses the environment with it; the construct library
and the review load this very file (``cdk_lambda_xray._shared``) to judge the
values a template sets, so what synth refuses and what the layer reads cannot
drift apart. Stdlib only, no absolute import of ``lambda_xray``; importing it
defines functions and small tables, nothing else (no regex, no ``typing``).

Two readings of one value:

* **The layer** (run time, must never break the function): unset or blank is
  the default, silently; a value its parser returns ``None`` for logs one
  warning (:data:`GRAMMAR` says what is accepted) and the default is used.
* **Synth** (``TracedFunction``, ``XRayTracing``, the review): :func:`synth_problem`
  refuses every value the layer would ignore, and is stricter only where
  :data:`SYNTH_STRICTER` says, each row with its reason. Everything else the
  layer accepts passes at synth too.
"""

from __future__ import annotations

from . import _contract as c

TYPE_CHECKING = False  # no `typing` import at run time: it costs cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

    Parser = Callable[[str], object]

#: Annotation values are limited to 1000 characters; the layer cuts a longer service name.
MAX_SERVICE_NAME: Final = 1000

_NAME_CHARS: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
_IPV6_CHARS: Final = "0123456789abcdefABCDEF:."


# --- the layer's grammar: one parser per value, ``None`` for a value it cannot use ----------


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
    return value if value in c.CONTEXT_MISSING_VALUES else None


def wire_format(raw: str) -> str | None:
    """``xray`` or ``otlp``, in any case."""
    value = raw.strip().lower()
    return value if value in c.FORMATS else None


def aws_names(raw: str) -> str | None:
    """``layer`` or ``sdk``, in any case."""
    value = raw.strip().lower()
    return value if value in c.AWS_NAMES else None


def service_name(raw: str) -> str | None:
    """Any text that is not blank, cut to the annotation limit of 1000 characters."""
    return raw[:MAX_SERVICE_NAME] if raw.strip() else None


def handler_name(raw: str) -> tuple[str, str] | None:
    """``(module, function)`` of ``module.function``; the module may be a path (``pkg/mod``).

    The rule Lambda's Python runtime loads a handler by: the function a Python
    name, no empty name in the module path, no whitespace, not a built-in module.
    """
    import sys  # always loaded: costs a dictionary look-up

    if raw != raw.strip() or " " in raw or "\t" in raw:
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


# --- where synth is stricter: the forms every other reader of the value parses --------------


def context_missing_as_sdks_read(raw: str) -> bool:
    """The exact name: aws-xray-sdk (Python) compares it as written."""
    return raw in c.CONTEXT_MISSING_VALUES


def daemon_address_as_sdks_read(raw: str) -> bool:
    """What aws-xray-sdk parses: split on one space, then on ``:``; ``tcp``/``udp`` lower case."""
    parts = raw.split(" ")
    if len(parts) == 1:
        found = endpoint(raw)
        return found is not None and ":" not in found[0]
    if len(parts) != 2:
        return False
    schemes = sorted(part.partition(":")[0] for part in parts)
    return schemes == ["tcp", "udp"] and all(
        daemon_address_as_sdks_read(part.partition(":")[2]) for part in parts
    )


def service_name_whole(raw: str) -> bool:
    """At most 1000 characters: the layer would cut a longer one."""
    return len(raw) <= MAX_SERVICE_NAME


# --- the tables ------------------------------------------------------------------------------

_BOOLEAN: Final = "true or false (also 1/0, yes/no, on/off, any case)"

#: Every variable the layer reads: name -> (parser, default, what a value is, what is
#: accepted). ``parser(raw)`` is ``None`` for a value the layer ignores (one warning).
GRAMMAR: Final[dict[str, tuple[Parser, str, str, str]]] = {
    c.ENV_HANDLER: (
        handler_name,
        "none: every invocation fails (Runtime.MalformedHandlerName)",
        "a Python handler",
        "'module.function' (the module may be a path, 'pkg/mod.function')",
    ),
    c.ENV_SERVICE_NAME: (service_name, "the function name", "a service name", "any text"),
    c.ENV_CAPTURE_RESPONSE: (boolean, "false", "a boolean", _BOOLEAN),
    c.ENV_CAPTURE_ERROR: (boolean, "true", "a boolean", _BOOLEAN),
    c.ENV_DISABLED: (boolean, "false", "a boolean", _BOOLEAN),
    c.ENV_OTLP_UNSAMPLED: (boolean, "false", "a boolean", _BOOLEAN),
    c.ENV_CAPTURE_SQL: (boolean, "false", "a boolean", _BOOLEAN),
    c.ENV_FORMAT: (wire_format, c.FORMAT_XRAY, "a wire format", "one of " + ", ".join(c.FORMATS)),
    c.ENV_AWS_NAMES: (
        aws_names,
        c.AWS_NAMES_LAYER,
        "a naming scheme",
        "one of " + ", ".join(c.AWS_NAMES),
    ),
    c.ENV_CONTEXT_MISSING: (
        context_missing,
        c.DEFAULT_CONTEXT_MISSING,
        "a context-missing strategy",
        "one of " + ", ".join(c.CONTEXT_MISSING_VALUES),
    ),
    c.ENV_DAEMON_ADDRESS: (
        daemon_address,
        c.DEFAULT_DAEMON_ADDRESS,
        "a daemon address",
        "'host:port' or 'tcp:host:port udp:host:port' (IPv6 as '[::1]:2000')",
    ),
}


def _not_blank(name: str, raw: str) -> bool:
    return bool(raw.strip())


def _usable(name: str, raw: str) -> bool:
    return GRAMMAR[name][0](raw) is not None


#: Where synth refuses a value the layer accepts, one row per decision: (variable, or
#: ``"*"`` for all; test(name, raw) the value must pass; the form synth accepts, in words
#: (``""``: what the layer accepts); what the value is when it fails; the fix; why synth
#: is stricter). ``{name}``, ``{kind}``, ``{accepts}`` (the form synth accepts),
#: ``{default}`` and ``{value}`` (what the layer reads) are filled in.
SYNTH_STRICTER: Final[tuple[tuple[str, Callable[[str, str], bool], str, str, str, str], ...]] = (
    (
        "*",
        _not_blank,
        "",
        "is blank",
        "remove {name}, or set it to {accepts}",
        "the layer reads a blank value as unset and uses its default ({default}), so the "
        "variable looks like a setting and does nothing",
    ),
    (
        "*",
        _usable,
        "",
        "is not {kind}",
        "set {name} to {accepts}",
        "the layer would ignore it with one warning and run with its default ({default}); "
        "an error now is cheaper than a function without the setting you gave it",
    ),
    (
        c.ENV_CONTEXT_MISSING,
        lambda name, raw: context_missing_as_sdks_read(raw),
        "exactly " + " or ".join(c.CONTEXT_MISSING_VALUES),
        "is not written exactly as the X-Ray SDKs read it",
        "set {name} to {value}",
        "the layer reads it as {value}, but aws-xray-sdk and the X-Ray SDKs of other runtimes "
        "compare the exact name and silently ignore a missing context for any other spelling",
    ),
    (
        c.ENV_DAEMON_ADDRESS,
        lambda name, raw: daemon_address_as_sdks_read(raw),
        "'host:port' (e.g. '127.0.0.1:2000') or 'tcp:host:port udp:host:port' (lower case, "
        "one space, an IPv4 address or a host name)",
        "is not in the form every X-Ray SDK reads",
        "write {name} as {accepts}, or remove it: Lambda sets it",
        "the layer can send to it, but aws-xray-sdk raises InvalidDaemonAddressException "
        "for an IPv6 host, 'TCP:'/'UDP:' or extra spaces, so a function that also uses it fails",
    ),
    (
        c.ENV_SERVICE_NAME,
        lambda name, raw: service_name_whole(raw),
        f"any text of at most {MAX_SERVICE_NAME} characters",
        f"is longer than {MAX_SERVICE_NAME} characters",
        f"shorten {{name}} to at most {MAX_SERVICE_NAME} characters",
        "the layer cuts it to the annotation limit, so the Service annotation would not be "
        "the name you set",
    ),
)


def synth_accepts(name: str) -> str:
    """What synth accepts for the variable ``name``, in words (the layer's form unless stricter)."""
    own = [row[2] for row in SYNTH_STRICTER if row[0] == name]
    return own[0] if own else GRAMMAR[name][3]


def synth_problem(name: str, raw: str) -> tuple[str, str] | None:
    """Why synth refuses ``raw`` for the variable ``name``: ``(problem, fix)``, or ``None``.

    ``raw`` is a plain string (tokens are never judged); a variable outside
    :data:`GRAMMAR` is not judged here. The first row of :data:`SYNTH_STRICTER`
    the value fails decides; the problem says why when the layer would accept it.
    """
    grammar = GRAMMAR.get(name)
    if grammar is None:
        return None
    parse, default, kind, _ = grammar
    for variable, test, _form, says, fix, why in SYNTH_STRICTER:
        if variable in ("*", name) and not test(name, raw):
            fill = {"name": name, "accepts": synth_accepts(name), "default": default, "kind": kind}
            fill["value"] = str(parse(raw))
            problem = f"{name}={raw[:80]!r} {says.format(**fill)}"
            if variable == name:  # the layer accepts it: say why synth does not
                problem += f" ({why.format(**fill)})"
            return problem, fix.format(**fill)
    return None


def layer_value(name: str, raw: str | None) -> tuple[object, bool]:
    """What the layer makes of ``raw``: ``(value, warned)``; a ``None`` value means the default."""
    if raw is None or not raw.strip():
        return None, False
    found = GRAMMAR[name][0](raw)
    return found, found is None
