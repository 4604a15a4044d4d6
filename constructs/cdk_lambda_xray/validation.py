"""Synth-time checks of tracing settings, as pure functions.

Each check returns a :class:`Problem` (what is wrong, how to fix it) or
``None``. ``TracedFunction`` turns a problem into a ``TracingConfigError``; the
``XRayTracing`` aspect turns it into an annotation on the function, because an
aspect cannot stop in the middle of a synthesis. What stops or changes the
instrumentation itself (another tracer's wrapper, the layer limit, ...) is the
planner's decision (:mod:`._plan`), not checked here. Unresolved tokens (``Lazy``,
``Fn``, references) are never judged as values: they are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk

from . import _contract
from ._options import ContextMissing

__all__ = [
    "Problem",
    "context_missing_problem",
    "daemon_address_problem",
    "environment_problems",
    "is_unresolved",
    "parse_context_missing",
    "reserved_variable_problems",
    "switch_problem",
]

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*)"
_ENDPOINT = re.compile(rf"^(?P<host>{_HOST}):(?P<port>[0-9]{{1,5}})$")


@dataclass(frozen=True)
class Problem:
    """One finding: ``problem`` says what was given, ``fix`` what to do."""

    problem: str
    fix: str


#: Every encoded CDK token contains this text; CDK's own ``Token.isUnresolved``
#: tests for it before anything else.
_TOKEN_MARKER = "Token["


def is_unresolved(value: object) -> bool:
    """True for anything that is not a plain string yet: tokens and intrinsics.

    A string without CDK's token marker is answered here, without a round trip
    to the jsii runtime (CDK answers ``False`` for it the same way).
    """
    if not isinstance(value, str):
        return True
    return _TOKEN_MARKER in value and cdk.Token.is_unresolved(value)


def parse_context_missing(value: ContextMissing | str) -> ContextMissing:
    """The enum member for ``value`` (enum member or its exact name).

    :raises ValueError: with the accepted names when ``value`` is unknown.
    """
    if isinstance(value, ContextMissing):
        return value
    try:
        return ContextMissing(value)
    except ValueError:
        allowed = ", ".join(_contract.CONTEXT_MISSING_VALUES)
        raise ValueError(
            f"unknown context-missing value {value!r} (expected one of {allowed})"
        ) from None


def context_missing_problem(value: object) -> Problem | None:
    """A problem when ``value`` is a plain string that is no strategy name."""
    if isinstance(value, ContextMissing) or is_unresolved(value):
        return None
    assert isinstance(value, str)
    if value in _contract.CONTEXT_MISSING_VALUES:
        return None
    return Problem(
        f"{_contract.ENV_CONTEXT_MISSING}={value!r} is not a context-missing strategy",
        "use ContextMissing.LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR "
        f"(one of {', '.join(_contract.CONTEXT_MISSING_VALUES)})",
    )


def _endpoint_ok(text: str) -> bool:
    match = _ENDPOINT.match(text)
    return match is not None and 0 < int(match["port"]) < 65536


def is_valid_daemon_address(value: str) -> bool:
    """``host:port`` or ``tcp:host:port udp:host:port`` (either order)."""
    parts = value.split()
    if len(parts) == 1:
        return _endpoint_ok(parts[0])
    if len(parts) != 2:
        return False
    schemes = sorted(part.partition(":")[0] for part in parts)
    return schemes == ["tcp", "udp"] and all(_endpoint_ok(p.partition(":")[2]) for p in parts)


def daemon_address_problem(value: object) -> Problem | None:
    """A problem when a user-set ``AWS_XRAY_DAEMON_ADDRESS`` cannot be parsed."""
    if is_unresolved(value):
        return None
    assert isinstance(value, str)
    if is_valid_daemon_address(value):
        return None
    return Problem(
        f"{_contract.ENV_DAEMON_ADDRESS}={value!r} is not a daemon address",
        "write it as 'host:port' (e.g. '127.0.0.1:2000') or 'tcp:host:port udp:host:port', "
        "or remove it: Lambda sets it when tracing is Active",
    )


def reserved_variable_problems(env: Mapping[str, object]) -> list[Problem]:
    """One problem per variable Lambda reserves for itself."""
    return [
        Problem(
            f"environment variable {key} is reserved by Lambda and cannot be set",
            f"remove {key} from the function's environment",
        )
        for key in sorted(env)
        if key in _contract.RESERVED_ENV_VARS
    ]


def switch_problem(key: str, value: object) -> Problem | None:
    """A problem when a ``LAMBDA_XRAY_*`` on/off switch is not true/false."""
    if is_unresolved(value):
        return None
    assert isinstance(value, str)
    if value.lower() in {"true", "false"}:
        return None
    return Problem(f"{key}={value!r} is not a switch value", f"set {key} to 'true' or 'false'")


_SWITCHES = (_contract.ENV_CAPTURE_RESPONSE, _contract.ENV_CAPTURE_ERROR, _contract.ENV_DISABLED)


def environment_problems(env: Mapping[str, object]) -> list[Problem]:
    """Every value problem in a function's environment, reserved names first."""
    found: list[Problem | None] = [*reserved_variable_problems(env)]
    if _contract.ENV_CONTEXT_MISSING in env:
        found.append(context_missing_problem(env[_contract.ENV_CONTEXT_MISSING]))
    if _contract.ENV_DAEMON_ADDRESS in env:
        found.append(daemon_address_problem(env[_contract.ENV_DAEMON_ADDRESS]))
    found.extend(switch_problem(key, env[key]) for key in _SWITCHES if key in env)
    return [p for p in found if p is not None]
