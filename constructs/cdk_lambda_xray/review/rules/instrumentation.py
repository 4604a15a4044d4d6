"""Rules on how a Python function's code is instrumented (this layer or another tracer).

XRAY003 and XRAY004 judge by the planner the constructs use (:mod:`..._plan`):
the facts read from the template go through the same decision as
``TracedFunction`` and ``trace_app``, so the review and the constructs agree on
what instrumenting a function takes and on what stands in its way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..._contract import ENV_HANDLER, WRAPPER_HANDLER
from ..._plan import (
    UNKNOWN,
    FunctionFacts,
    Level,
    TracingOptions,
    completeness_findings,
    plan,
)
from ..model import Function, Model, Tracer
from ..tracers import INACTIVE, OURS, active, is_xray_sdk, our_layer
from .base import Finding, Rule, Severity

#: What ``trace_app(app)`` does with its defaults: the plan the review compares with.
TRACE_APP_DEFAULTS: Final = TracingOptions(explicit=False)

_SEVERITY: Final = {
    Level.ERROR: Severity.ERROR,
    Level.WARNING: Severity.WARNING,
    Level.INFO: Severity.INFO,
}


def facts_of(fn: Function) -> FunctionFacts:
    """The planner's facts for a function of the model (unresolved values as UNKNOWN)."""
    image = fn.package_type == "Image"
    return FunctionFacts(
        runtime=None if image else fn.runtime if fn.runtime is not None else UNKNOWN,
        handler=fn.handler if fn.handler is not None or image else UNKNOWN,
        environment={
            key: value.literal if value.literal is not None else UNKNOWN
            for key, value in fn.environment.items()
        },
        layer_count=len(fn.layers),
        image=image,
        tracing=fn.tracing_mode,
        our_layer=our_layer(fn) is not None,
    )


def _not_instrumented(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        # any recognized tracer, even one not switched on, is reported by XRAY004-006
        if fn.internal is None and fn.is_python and not fn.tracers:
            message = (
                f"Python function ({fn.runtime}) has no tracing layer and no handler redirect: "
                "X-Ray shows the invocation but none of its AWS or HTTP calls"
            )
            decided = plan(facts_of(fn), TRACE_APP_DEFAULTS)
            stop = next((f for f in decided.findings if f.level is not Level.INFO), None)
            if not decided.layer and stop is not None:
                message += f"; trace_app cannot add them: {stop.problem}"
            yield NOT_INSTRUMENTED.finding(model, fn.id, message, functions=(fn.id,))


NOT_INSTRUMENTED: Final = Rule(
    id="XRAY003",
    name="python-function-not-instrumented",
    severity=Severity.WARNING,
    summary="A Python function has neither the tracing layer nor another tracer.",
    fix="Use TracedFunction or trace_app(app): they add the lambda_xray layer and point "
    f"Handler at {WRAPPER_HANDLER} (the original handler goes to {ENV_HANDLER}).",
    check=_not_instrumented,
    applied_fix="Remove what keeps the layer off this function (see its lambda-xray warning; "
    "for python3.7-3.9: move to python3.10 or newer); it keeps Active tracing meanwhile.",
)


def _incomplete_problems(fn: Function) -> list[tuple[Severity, str]]:
    return [(_SEVERITY[f.level], f.problem) for f in completeness_findings(facts_of(fn))]


def _incomplete(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if not any(t.name == OURS for t in fn.tracers):
            continue
        for severity, message in _incomplete_problems(fn):
            yield INCOMPLETE.finding(model, fn.id, message, severity=severity, functions=(fn.id,))


INCOMPLETE: Final = Rule(
    id="XRAY004",
    name="instrumentation-incomplete",
    severity=Severity.ERROR,
    summary="The handler redirect, the original-handler variable and the layer do not all agree.",
    fix="Let TracedFunction or trace_app(app) set Handler, the layer and "
    f"{ENV_HANDLER} together instead of setting any of them by hand.",
    check=_incomplete,
    applied_fix=f"Remove the Handler, layer or {ENV_HANDLER} you set by hand: the constructs "
    "then set all three together.",
)


def _others(fn: Function) -> list[Tracer]:
    """The active tracers XRAY005/006 judge (the X-Ray SDK has a rule of its own: XRAY014)."""
    return [t for t in active(fn) if not is_xray_sdk(t)]


def _conflicts(fn: Function) -> tuple[Severity, str] | None:
    wrappers = [t for t in _others(fn) if t.mechanism != "layer"]
    libraries = [t for t in _others(fn) if t.mechanism == "layer"]
    if len(wrappers) >= 2:
        names = " and ".join(f"{t.name} ({t.evidence})" for t in wrappers)
        return Severity.ERROR, (
            f"two tracers wrap the handler: {names}; each records the same calls and "
            "they fight over the handler"
        )
    if any(t.name == OURS for t in wrappers) and libraries:
        names = ", ".join(f"{t.name} ({t.evidence})" for t in libraries)
        return Severity.WARNING, (
            f"lambda_xray wraps the handler and {names} is also attached: if the code "
            "uses that tracer too, every AWS call is recorded twice"
        )
    return None


def _wrapper_conflict(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        conflict = _conflicts(fn)
        if conflict is not None:
            yield WRAPPER_CONFLICT.finding(
                model, fn.id, conflict[1], severity=conflict[0], functions=(fn.id,)
            )


WRAPPER_CONFLICT: Final = Rule(
    id="XRAY005",
    name="wrapper-conflict",
    severity=Severity.ERROR,
    summary="Two tracers instrument the same function (e.g. AWS_LAMBDA_EXEC_WRAPPER plus "
    "the lambda_xray handler redirect).",
    fix="Keep one tracer: remove AWS_LAMBDA_EXEC_WRAPPER and the other tracer's layer, "
    "or exclude the function from trace_app(app, exclude=...).",
    check=_wrapper_conflict,
)


def _other_tracer(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if any(t.name == OURS for t in fn.tracers) or _conflicts(fn):
            continue
        others = [t for t in _others(fn) if t.name != OURS]
        others += [t for t in fn.tracers if t.mechanism == INACTIVE]
        if not others:
            continue
        tracer = others[0]
        if tracer.mechanism == INACTIVE:
            yield OTHER_TRACER.finding(
                model,
                fn.id,
                f"{tracer.name} ({tracer.evidence}) is attached but not switched on (no exec "
                "wrapper or handler redirect): it records nothing",
                severity=Severity.WARNING,
                fix=f"Switch {tracer.name} on as its documentation says, or remove the layer "
                "and use TracedFunction.",
                functions=(fn.id,),
            )
            continue
        if tracer.mechanism == "layer":
            message = (
                f"{tracer.name} ({tracer.evidence}) is attached: the function is traced only "
                "where its code uses that tracer, which a template cannot show"
            )
        else:
            message = (
                f"instrumented by {tracer.name} ({tracer.evidence}) instead of lambda_xray: "
                "fine, but its traces follow that tracer's conventions"
            )
        yield OTHER_TRACER.finding(model, fn.id, message, functions=(fn.id,))


OTHER_TRACER: Final = Rule(
    id="XRAY006",
    name="other-tracer",
    severity=Severity.INFO,
    summary="A function is instrumented by another tracer (ADOT, Powertools, Datadog, ...).",
    fix="Nothing to fix; to use lambda_xray instead, remove the other tracer and use "
    "TracedFunction.",
    check=_other_tracer,
    applied_fix="Nothing to fix; to use lambda_xray instead, remove the other tracer: the "
    "constructs then add the layer.",
)
