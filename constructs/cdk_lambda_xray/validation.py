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

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk

from . import _contract
from ._env_values import value_problem, value_problems
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
    """A problem when the plain string ``value`` is refused (see ``_env_values``)."""
    if isinstance(value, ContextMissing) or is_unresolved(value):
        return None
    assert isinstance(value, str)
    found = value_problem(_contract.ENV_CONTEXT_MISSING, value)
    return None if found is None else Problem(*found)


def is_valid_daemon_address(value: str) -> bool:
    """``host:port`` or ``tcp:host:port udp:host:port`` as synth accepts it (``_env_values``)."""
    return value_problem(_contract.ENV_DAEMON_ADDRESS, value) is None


def daemon_address_problem(value: object) -> Problem | None:
    """A problem when a user-set ``AWS_XRAY_DAEMON_ADDRESS`` is refused (see ``_env_values``)."""
    if is_unresolved(value):
        return None
    assert isinstance(value, str)
    found = value_problem(_contract.ENV_DAEMON_ADDRESS, value)
    return None if found is None else Problem(*found)


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
    """A problem when a ``LAMBDA_XRAY_*`` value is refused (see ``_env_values``)."""
    if is_unresolved(value):
        return None
    assert isinstance(value, str)
    found = value_problem(key, value)
    return None if found is None else Problem(*found)


def environment_problems(env: Mapping[str, object]) -> list[Problem]:
    """Every value problem in a function's environment, reserved names first.

    The values of the variables the layer reads are judged by the layer's own
    grammar (``_env_values.value_problem``); tokens are never judged.
    """
    plain = {key: value for key, value in env.items() if not is_unresolved(value)}
    return [*reserved_variable_problems(env), *(Problem(*p) for p in value_problems(plain))]
