"""The findings the planner can make: one function per thing that stops or changes tracing.

Standard library only. Each finding's id is its ``lambda-xray:<id>`` annotation
id; the wording is said once, here, for ``TracedFunction``, the aspect and the
review alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from . import _contract
from ._plan_model import (
    MAX_LAYERS,
    MIN_PYTHON_MINOR,
    Finding,
    FunctionFacts,
    Level,
    TraceFormat,
    TracingOptions,
    is_python,
)
from ._plan_parts import layer_parts_finding
from ._tracers import XRAY_SDK_FIX, foreign_handler_tracer

__all__ = [
    "completeness_findings",
    "context_missing_finding",
    "is_token_text",
    "layer_count_finding",
    "options_findings",
    "redirect_findings",
    "unsupported_python_finding",
    "wrapper_conflict",
    "xray_sdk_finding",
]


def context_missing_finding(value: str) -> Finding | None:
    """An error when ``value`` is not a context-missing strategy name."""
    if value in _contract.CONTEXT_MISSING_VALUES:
        return None
    allowed = ", ".join(_contract.CONTEXT_MISSING_VALUES)
    return Finding(
        "ContextMissing",
        Level.ERROR,
        f"context_missing={value!r} is not a context-missing strategy",
        "use ContextMissing.LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR (unknown "
        f"context-missing value {value!r} (expected one of {allowed}))",
    )


def wrapper_conflict(facts: FunctionFacts, level: Level = Level.ERROR) -> Finding | None:
    """Another tracer already wraps the function, so a redirect would trace every call twice.

    ``AWS_LAMBDA_EXEC_WRAPPER`` (ADOT, vendor layers), a handler pointing at
    another tracer's module (from the catalogue in :mod:`._tracers`), or
    CDK's ``adot_instrumentation``.
    """
    env = facts.environment
    if isinstance(env, Mapping) and _contract.ENV_EXEC_WRAPPER in env:
        value = env[_contract.ENV_EXEC_WRAPPER]
        shown = repr(value) if isinstance(value, str) else "a token"
        return Finding(
            "WrapperConflict",
            level,
            f"{_contract.ENV_EXEC_WRAPPER} is set ({shown}): another tracer (ADOT or a "
            "vendor layer) already wraps this function",
            f"use one tracer: remove {_contract.ENV_EXEC_WRAPPER} and its layer, or keep "
            "that tracer and exclude this function from lambda-xray",
        )
    handler = facts.handler
    if isinstance(handler, str) and not is_token_text(handler):
        tracer = foreign_handler_tracer(handler)
        if tracer is not None:
            module = handler.partition(".")[0].partition("/")[0]
            return Finding(
                "WrapperConflict",
                level,
                f"the handler {handler!r} belongs to another tracer ({tracer.name}: {module})",
                "use one tracer: restore your own handler and drop that tracer, or keep "
                "it and exclude this function from lambda-xray",
            )
    if facts.adot_instrumentation:
        return Finding(
            "WrapperConflict",
            level,
            "adot_instrumentation is set: ADOT already wraps this function",
            "use one tracer: drop adot_instrumentation, or use a plain lambda_.Function",
        )
    return None


def redirect_findings(facts: FunctionFacts, *, explicit: bool) -> list[Finding]:
    """Whether ``Handler`` and ``LAMBDA_XRAY_HANDLER`` agree before the redirect is added.

    Explicit: the wrapper as handler needs the original in the variable, and a
    variable set by hand beside the user's handler is refused. Sweeping: the
    variable without the redirect is a warning (the redirect is not added).
    """
    env = facts.environment if isinstance(facts.environment, Mapping) else {}
    key = _contract.ENV_HANDLER
    handler = facts.handler
    if handler == _contract.WRAPPER_HANDLER:
        if explicit and key not in env:
            return [
                Finding(
                    "HandlerVariable",
                    Level.ERROR,
                    f"handler is {handler!r} but {key} does not name your handler",
                    "pass your own handler (e.g. 'app.handler'); the construct redirects it",
                )
            ]
        return []
    if key not in env:
        return []
    if explicit:
        return [
            Finding(
                "HandlerVariable",
                Level.ERROR,
                f"environment variable {key}={env[key]!r} is set by hand",
                f"remove {key}: TracedFunction sets it from handler={handler!r}",
            )
        ]
    return [
        Finding(
            "HandlerVariable",
            Level.WARNING,
            f"{key} is set but the handler is {handler!r}, not the tracing wrapper, so the "
            "redirect was not added",
            f"remove {key}; the aspect sets it when it redirects",
        )
    ]


def layer_count_finding(existing: int, level: Level) -> Finding | None:
    """Adding the tracing layer would exceed Lambda's limit."""
    if existing + 1 <= MAX_LAYERS:
        return None
    return Finding(
        "TooManyLayers",
        level,
        f"the function already has {existing} layers; the tracing layer would make "
        f"{existing + 1} and Lambda allows {MAX_LAYERS}",
        "merge or drop one of the function's layers",
    )


def xray_sdk_finding(evidence: str) -> Finding:
    """The function also uses aws_xray_sdk (``evidence``: where that shows)."""

    return Finding(
        "XRaySdk",
        Level.WARNING,
        f"the function uses aws_xray_sdk ({evidence}); it gets the tracing layer too, and "
        "each call is recorded once (aws_xray_sdk keeps the calls of the libraries it "
        "patched)",
        XRAY_SDK_FIX,
    )


def unsupported_python_finding(runtime: str) -> Finding:
    """An old Python: traced by Lambda, without the layer."""
    return Finding(
        "UnsupportedPython",
        Level.WARNING,
        f"the tracing layer needs python3.{MIN_PYTHON_MINOR} or newer; {runtime} is traced "
        "by Lambda without it",
        "move the function to a supported Python runtime (the old one is deprecated by Lambda)",
    )


def options_findings(options: TracingOptions) -> list[Finding]:
    """Options that contradict each other, whatever the function."""
    found: list[Finding] = []
    if options.context_missing is not None and not is_token_text(options.context_missing):
        bad = context_missing_finding(options.context_missing)
        if bad is not None:
            found.append(bad)
    parts = layer_parts_finding(options)
    if parts is not None:
        found.append(parts)
    if options.application_signals and options.trace_format is TraceFormat.XRAY:
        found.append(
            Finding(
                "TraceFormat",
                Level.ERROR,
                "application_signals=True needs OpenTelemetry spans but trace_format is "
                "TraceFormat.XRAY",
                "drop trace_format (application_signals sends OTLP) or use TraceFormat.OTLP",
            )
        )
    return found


#: Every encoded CDK string token holds this text (CDK's own first test for one).
_TOKEN_TEXT: Final = "${Token["


def is_token_text(value: str) -> bool:
    """Whether ``value`` is an encoded CDK string token (never judged as a value)."""
    return _TOKEN_TEXT in value


def completeness_findings(facts: FunctionFacts) -> list[Finding]:
    """Whether the handler redirect, the original-handler variable and the layer agree.

    Judges a function as it is (the review, on a synthesized template); the
    constructs set all three together, so they never leave one of these.
    """
    env = facts.environment if isinstance(facts.environment, Mapping) else {}
    key, wrapper = _contract.ENV_HANDLER, _contract.WRAPPER_HANDLER
    redirected = facts.handler == wrapper
    found: list[Finding] = []
    fix = f"let TracedFunction or trace_app set Handler, the layer and {key} together"
    if redirected and facts.our_layer is False:
        found.append(
            Finding(
                "RedirectWithoutLayer",
                Level.ERROR,
                f"Handler is {wrapper} but the lambda_xray layer is not attached: every "
                "invocation fails with Runtime.ImportModuleError",
                fix,
            )
        )
    if redirected and key not in env:
        found.append(
            Finding(
                "HandlerVariable", Level.ERROR, f"Handler is {wrapper} but {key} is not set", fix
            )
        )
    if env.get(key) == wrapper:
        found.append(
            Finding(
                "HandlerVariable",
                Level.ERROR,
                f"{key} points at the wrapper itself ({wrapper})",
                f"set {key} to your own handler",
            )
        )
    if not redirected and key in env:
        found.append(
            Finding(
                "HandlerVariable",
                Level.WARNING,
                f"{key} is set but Handler is {facts.handler}: the wrapper never runs",
                fix,
            )
        )
    elif not redirected and facts.our_layer:
        found.append(
            Finding(
                "LayerWithoutRedirect",
                Level.WARNING,
                f"the lambda_xray layer is attached but Handler is {facts.handler}, not the "
                "wrapper: nothing is instrumented",
                fix,
            )
        )
    if facts.our_layer and isinstance(facts.runtime, str) and not is_python(facts):
        found.append(
            Finding(
                "LayerNotPython",
                Level.WARNING,
                f"the lambda_xray layer is Python-only; runtime is {facts.runtime}",
                "remove the layer from this function",
            )
        )
    return found
