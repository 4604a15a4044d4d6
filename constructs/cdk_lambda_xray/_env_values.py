"""Synth's judgement of the environment values the layer reads, by the layer's own grammar.

``TracedFunction``, the ``XRayTracing`` aspect and the review judge a value with
:func:`value_problem`: the layer's own parser (its ``_contract.py``, loaded from
the layer through ``_shared``, never copied) decides what the value means, and
:data:`SYNTH_STRICTER`, the one place that says so, decides where synth refuses
a value the layer would accept, and why. Everything else the layer accepts
passes at synth too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

from . import _contract

if TYPE_CHECKING:  # the same file, under the name mypy finds it by
    from lambda_xray import _contract as grammar
else:
    from ._shared import _contract as grammar

__all__ = [
    "SYNTH_STRICTER",
    "grammar",
    "judged_variables",
    "same_value",
    "synth_accepts",
    "value_problem",
    "value_problems",
]

# --- the forms every other reader of a value parses ------------------------------------------


def context_missing_as_sdks_read(raw: str) -> bool:
    """The exact name: aws-xray-sdk (Python) compares it as written."""
    return raw in _contract.CONTEXT_MISSING_VALUES


def daemon_address_as_sdks_read(raw: str) -> bool:
    """What aws-xray-sdk parses: split on one space, then on ``:``; ``tcp``/``udp`` lower case."""
    parts = raw.split(" ")
    if len(parts) == 1:
        found = grammar.endpoint(raw)
        return found is not None and ":" not in found[0]
    if len(parts) != 2:
        return False
    schemes = sorted(part.partition(":")[0] for part in parts)
    return schemes == ["tcp", "udp"] and all(
        daemon_address_as_sdks_read(part.partition(":")[2]) for part in parts
    )


def service_name_whole(raw: str) -> bool:
    """At most 1000 characters: the layer would cut a longer one."""
    return len(raw) <= grammar.MAX_SERVICE_NAME


def _not_blank(name: str, raw: str) -> bool:
    return bool(raw.strip())


def _usable(name: str, raw: str) -> bool:
    return grammar.GRAMMAR[name][0](raw) is not None


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
        _contract.ENV_CONTEXT_MISSING,
        lambda name, raw: context_missing_as_sdks_read(raw),
        "exactly " + " or ".join(_contract.CONTEXT_MISSING_VALUES),
        "is not written exactly as the X-Ray SDKs read it",
        "set {name} to {value}",
        "the layer reads it as {value}, but aws-xray-sdk and the X-Ray SDKs of other runtimes "
        "compare the exact name and silently ignore a missing context for any other spelling",
    ),
    (
        _contract.ENV_DAEMON_ADDRESS,
        lambda name, raw: daemon_address_as_sdks_read(raw),
        "'host:port' (e.g. '127.0.0.1:2000') or 'tcp:host:port udp:host:port' (lower case, "
        "one space, an IPv4 address or a host name)",
        "is not in the form every X-Ray SDK reads",
        "write {name} as {accepts}, or remove it: Lambda sets it",
        "the layer can send to it, but aws-xray-sdk raises InvalidDaemonAddressException "
        "for an IPv6 host, 'TCP:'/'UDP:' or extra spaces, so a function that also uses it fails",
    ),
    (
        _contract.ENV_SERVICE_NAME,
        lambda name, raw: service_name_whole(raw),
        f"any text of at most {grammar.MAX_SERVICE_NAME} characters",
        f"is longer than {grammar.MAX_SERVICE_NAME} characters",
        f"shorten {{name}} to at most {grammar.MAX_SERVICE_NAME} characters",
        "the layer cuts it to the annotation limit, so the Service annotation would not be "
        "the name you set",
    ),
)


def synth_accepts(name: str) -> str:
    """What synth accepts for the variable ``name``, in words (the layer's form unless stricter)."""
    own = [row[2] for row in SYNTH_STRICTER if row[0] == name]
    return own[0] if own else grammar.GRAMMAR[name][3]


def value_problem(name: str, raw: str) -> tuple[str, str] | None:
    """Why synth refuses ``raw`` for the variable ``name``: ``(problem, fix)``, or ``None``.

    ``raw`` is a plain string (tokens are never judged); a variable outside
    :data:`_contract.GRAMMAR` is not judged here. The first row of :data:`SYNTH_STRICTER`
    the value fails decides; the problem says why when the layer would accept it.
    """
    row = grammar.GRAMMAR.get(name)
    if row is None:
        return None
    parse, default, kind, _ = row
    for variable, test, _form, says, fix, why in SYNTH_STRICTER:
        if variable in ("*", name) and not test(name, raw):
            fill = {"name": name, "accepts": synth_accepts(name), "default": default, "kind": kind}
            fill["value"] = str(parse(raw))
            problem = f"{name}={raw[:80]!r} {says.format(**fill)}"
            if variable == name:  # the layer accepts it: say why synth does not
                problem += f" ({why.format(**fill)})"
            return problem, fix.format(**fill)
    return None


def judged_variables() -> tuple[str, ...]:
    """Every variable whose value synth judges: the ones the layer reads, in the grammar's order."""
    return tuple(grammar.GRAMMAR)


def value_problems(env: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """``(problem, fix)`` for each refused value in ``env``; only plain strings are judged.

    Leave tokens out of ``env``: their values are known only at deploy time.
    """
    for name in grammar.GRAMMAR:
        value = env.get(name)
        if isinstance(value, str):
            found = value_problem(name, value)
            if found is not None:
                yield found


def same_value(name: str, first: str, second: str) -> bool:
    """Whether the layer reads ``first`` and ``second`` as the same value (``yes`` and ``true``)."""
    grammar_row = grammar.GRAMMAR.get(name)
    if grammar_row is None or first == second:
        return first == second
    parsed = grammar_row[0](first)
    return parsed is not None and parsed == grammar_row[0](second)
