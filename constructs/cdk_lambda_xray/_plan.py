"""The one instrumentation decision: facts about a function + tracing options -> a plan.

Standard library only, no CDK and no jsii: ``TracedFunction`` (which raises on
an error finding), the ``XRayTracing`` aspect (which annotates with every
finding) and the review's instrumentation rules (which judge a synthesized
template) all call :func:`plan` on the facts they read, so the three can no
longer disagree on what a traced function needs or on what stops it.

A plan says what to change (tracing mode, the X-Ray write permission, the
layer, the handler redirect, environment variables, AWS managed policies) and
lists findings, each with a stable id (the ``lambda-xray:<id>`` annotation id),
a level and a problem/fix pair (:mod:`._plan_checks` words them).

Two kinds of caller differ only in who wins a disagreement, and say so with
:attr:`TracingOptions.explicit`:

* explicit (``TracedFunction``): the user asked for tracing on this function,
  so its options override the function's tracing mode, and a setting that
  cannot work is an error;
* sweeping (the aspect, and the review asking "what would ``trace_app`` do"):
  the function's own settings win over the options, and what stops the layer is
  a warning (the function is still traced by Lambda).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from . import _contract
from ._env_values import same_value
from ._plan_checks import (
    completeness_findings,
    context_missing_finding,
    layer_count_finding,
    options_findings,
    redirect_findings,
    unsupported_python_finding,
    wrapper_conflict,
    xray_sdk_finding,
)
from ._plan_model import (
    APPLICATION_SIGNALS_POLICY,
    ENV_FORMAT,
    ENV_OTLP_UNSAMPLED,
    MAX_LAYERS,
    MIN_PYTHON_MINOR,
    UNKNOWN,
    CodeFacts,
    Finding,
    FunctionFacts,
    LayerParts,
    Level,
    Plan,
    TraceFormat,
    TracingOptions,
    is_python,
    layer_supports_runtime,
    runtime_label,
)
from ._plan_parts import ALL_LAYER_PARTS, ALL_PARTS_FINDING, choose_layer_parts

__all__ = [
    "ALL_LAYER_PARTS",
    "APPLICATION_SIGNALS_POLICY",
    "MAX_LAYERS",
    "MIN_PYTHON_MINOR",
    "UNKNOWN",
    "CodeFacts",
    "Finding",
    "FunctionFacts",
    "LayerParts",
    "Level",
    "Plan",
    "TraceFormat",
    "TracingOptions",
    "completeness_findings",
    "context_missing_finding",
    "layer_count_finding",
    "layer_parts_of",
    "layer_supports_runtime",
    "options_findings",
    "plan",
    "redirect_findings",
    "tracing_decision",
    "unsupported_python_finding",
    "wrapper_conflict",
    "xray_sdk_finding",
]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _otlp(options: TracingOptions) -> bool:
    return options.application_signals or options.trace_format is TraceFormat.OTLP


class _Builder:
    """Collects the plan's variables and findings while :func:`plan` decides."""

    def __init__(self, facts: FunctionFacts, options: TracingOptions) -> None:
        self.facts = facts
        self.options = options
        self.env: Mapping[str, object] = (
            facts.environment if isinstance(facts.environment, Mapping) else {}
        )
        self.readable = isinstance(facts.environment, Mapping)
        self.sets: list[tuple[str, str]] = []
        self.findings: list[Finding] = []

    def variable(self, key: str, value: str | None, default: str | None, prop: str) -> None:
        """Set ``key`` to the option's ``value`` (or ``default``) where the caller's rule allows.

        Explicit: the option wins, and an option that differs from a variable
        the user set is an error (no good guess which one they meant); the same
        value in another spelling (``yes`` for ``true``) keeps the user's.
        Sweeping: a variable the function sets wins.
        """
        if not self.readable:
            return
        user = self.env.get(key)
        if value is None or not self.options.explicit:
            chosen = value if value is not None else default
            if user is None and chosen is not None:
                self.sets.append((key, chosen))
            return
        if isinstance(user, str) and not same_value(key, user, value):
            self.findings.append(
                Finding(
                    "Conflict",
                    Level.ERROR,
                    f"{prop}={value!r} conflicts with environment variable {key}={user!r}",
                    f"set only one of them (the {prop} prop or {key})",
                )
            )
            return
        if not isinstance(user, str) or user == value:  # else: the user's spelling stays
            self.sets.append((key, value))


def tracing_decision(current: object, options: TracingOptions) -> tuple[str | None, bool]:
    """The mode to set (``None``: leave it) and whether the function ends up Active.

    ``current`` is the mode the function has (``None``: no tracing config). An
    explicit caller sets its own; a sweep keeps any mode the function chose.
    """
    if options.explicit or current is None:
        return options.tracing, options.tracing == "Active"
    return None, current == "Active"


def plan(facts: FunctionFacts, options: TracingOptions) -> Plan:
    """What tracing ``facts``' function with ``options`` changes, and what stands in the way.

    Findings come in the order a reader fixes them: the options, then the
    tracing mode and context-missing strategy every runtime gets, then what
    stops the layer and handler redirect (Python zip functions only).
    """
    build = _Builder(facts, options)
    explicit = options.explicit
    python = is_python(facts)
    if explicit and options.own_layer and not python:
        build.findings.append(
            Finding(
                "LayerNotPython",
                Level.ERROR,
                f"tracing_layer was given for {runtime_label(facts)}, which cannot use the "
                "Python tracing layer",
                "drop tracing_layer; for a container image, install lambda_xray in the image "
                f"and set its CMD to {_contract.WRAPPER_HANDLER}",
            )
        )
    build.findings.extend(options_findings(options))

    tracing, active = tracing_decision(facts.tracing, options)
    build.variable(
        _contract.ENV_CONTEXT_MISSING,
        options.context_missing,
        _contract.DEFAULT_CONTEXT_MISSING,
        "context_missing",
    )

    layer_runtime = python and (
        layer_supports_runtime(str(facts.runtime)) or (explicit and options.own_layer)
    )
    layered = _layer_and_redirect(build, python)
    if layered:
        build.variable(_contract.ENV_SERVICE_NAME, options.service_name, None, "service_name")
        build.variable(
            _contract.ENV_CAPTURE_RESPONSE,
            None if options.capture_response is None else _bool(options.capture_response),
            "false",
            "capture_response",
        )
        build.variable(
            _contract.ENV_CAPTURE_ERROR,
            None if options.capture_error is None else _bool(options.capture_error),
            "true",
            "capture_error",
        )
    policies = _open_telemetry(build, layered)
    parts: tuple[str, ...] = ()
    if layered and not options.own_layer:
        parts, finding = choose_layer_parts(facts.code, options, _sends_otlp(build))
        build.findings.extend([finding] if finding is not None else [])
    handler = None
    if layered and facts.handler != _contract.WRAPPER_HANDLER:
        assert isinstance(facts.handler, str)
        build.sets.insert(_handler_position(build), (_contract.ENV_HANDLER, facts.handler))
        handler = _contract.WRAPPER_HANDLER
    return Plan(
        tracing=tracing,
        grant_xray_write=active,
        layer=layered,
        layer_runtime=layer_runtime,
        handler=handler,
        environment=tuple(build.sets),
        managed_policies=policies,
        layer_parts=parts,
        findings=tuple(build.findings),
    )


def layer_parts_of(
    facts: FunctionFacts, code: CodeFacts, options: TracingOptions
) -> tuple[tuple[str, ...], tuple[Finding, ...]]:
    """The layer parts :func:`plan` gives ``facts``' function once its ``code`` is known.

    For a caller that learns what the code holds only after the function
    exists (``TracedFunction`` reads its staged asset): the same plan, of
    which it takes the parts and the finding about them.
    """
    decided = plan(replace(facts, code=code), options)
    return decided.layer_parts, tuple(f for f in decided.findings if f.id == ALL_PARTS_FINDING)


def _sends_otlp(build: _Builder) -> bool | None:
    """Whether the layer will send OTLP spans (``None``: the variable is a token)."""
    value = next((v for key, v in build.sets if key == ENV_FORMAT), None)
    if value is None:
        if not build.readable:
            return None
        user = build.env.get(ENV_FORMAT)
        if user is None:
            return False
        if not isinstance(user, str):
            return None
        value = user
    return same_value(ENV_FORMAT, value, TraceFormat.OTLP.value)


def _handler_position(build: _Builder) -> int:
    """The original handler goes right after the context-missing variable (as it always did)."""
    return sum(1 for key, _ in build.sets if key == _contract.ENV_CONTEXT_MISSING)


def _layer_and_redirect(build: _Builder, python: bool) -> bool:
    """Whether the layer and redirect are added; records what stops them."""
    facts, options = build.facts, build.options
    explicit = options.explicit
    if not python:
        return _not_python(build)
    assert isinstance(facts.runtime, str)
    if not layer_supports_runtime(facts.runtime) and not (explicit and options.own_layer):
        build.findings.append(unsupported_python_finding(facts.runtime))
        return False
    level = Level.ERROR if explicit else Level.WARNING
    if not explicit and facts.handler == _contract.WRAPPER_HANDLER:
        return False  # redirected by hand or by an earlier tool: nothing to add
    stops: list[Finding] = []
    if explicit:
        stops += [f for f in [wrapper_conflict(facts, level)] if f is not None]
        stops += redirect_findings(facts, explicit=True)
    else:
        stops += redirect_findings(facts, explicit=False)[:1]
        if not stops:
            stops += [f for f in [wrapper_conflict(facts, level)] if f is not None]
        if not stops and (not build.readable or not isinstance(facts.handler, str)):
            stops.append(
                Finding(
                    "Unresolved",
                    Level.WARNING,
                    "the handler or the environment is a token, so the handler redirect could "
                    "not be added",
                    "use literal values, or TracedFunction for this function",
                )
            )
        if not stops and not isinstance(facts.layer_count, int):
            stops.append(
                Finding(
                    "UnknownLayers",
                    Level.WARNING,
                    "the layer list is a token, so the tracing layer could not be added "
                    f"safely (Lambda allows {MAX_LAYERS})",
                    "use a literal list of layers, or TracedFunction for this function",
                )
            )
    if not stops and isinstance(facts.layer_count, int):
        too_many = layer_count_finding(facts.layer_count, level)
        if too_many is not None:
            stops.append(too_many)
    build.findings.extend(stops)
    return not stops


def _not_python(build: _Builder) -> bool:
    """Traced by Lambda only: say so (and what options cannot apply)."""
    facts, options = build.facts, build.options
    if facts.runtime is UNKNOWN and not facts.image:
        build.findings.append(
            Finding(
                "UnknownRuntime",
                Level.WARNING,
                "the runtime is not known at synth time (a token), so the tracing layer was "
                "not added",
                "use a literal runtime, or TracedFunction for this function",
            )
        )
        return False
    if facts.image:
        text = (
            "container image function: traced by Lambda (tracing, permission, context "
            "missing) without the Python tracing layer (layers do not apply to images); "
            f"install lambda_xray in the image and set CMD to {_contract.WRAPPER_HANDLER} "
            "for subsegments"
        )
    else:
        text = (
            f"{facts.runtime} function: traced by Lambda (tracing, permission, context "
            "missing) without the Python tracing layer: no subsegments for downstream calls"
        )
    ignored = [
        name
        for name, value in (
            ("service_name", options.service_name),
            ("capture_response", options.capture_response),
            ("capture_error", options.capture_error),
        )
        if value is not None and options.explicit
    ]
    if ignored:
        text += f" ({', '.join(ignored)} apply only with the layer)"
    build.findings.append(Finding("NoLayer", Level.INFO, text, ""))
    return False


def _open_telemetry(build: _Builder, layered: bool) -> tuple[str, ...]:
    """``trace_format`` and ``application_signals``: variables, policy, what stops them."""
    options, facts = build.options, build.facts
    if options.trace_format is None and not options.application_signals:
        return ()
    otlp = _otlp(options)
    if otlp and not layered:
        what = (
            "application_signals=True"
            if options.application_signals
            else "trace_format=TraceFormat.OTLP"
        )
        where = facts.runtime if is_python(facts) else runtime_label(facts)
        build.findings.append(
            Finding(
                "OtlpWithoutLayer",
                Level.ERROR if options.explicit else Level.INFO,
                f"{what} needs the Python tracing layer, which {where} does not get: "
                "Lambda traces it in the X-Ray format only",
                "drop the option for this function, or use a Python runtime the layer supports "
                f"(python3.{MIN_PYTHON_MINOR} or newer) without another tracer",
            )
        )
        return ()
    if not layered:
        return ()
    fmt = TraceFormat.OTLP if otlp else TraceFormat.XRAY
    explicit_format = options.trace_format.value if options.trace_format is not None else None
    build.variable(ENV_FORMAT, explicit_format, fmt.value, "trace_format")
    if not options.application_signals:
        return ()
    build.variable(ENV_OTLP_UNSAMPLED, "true", None, "application_signals")
    if not facts.role_in_app:
        build.findings.append(
            Finding(
                "ApplicationSignalsPolicy",
                Level.WARNING,
                "the function's role is not an iam.Role of this app (it is imported, or a raw "
                f"CfnRole), so the AWS managed policy {APPLICATION_SIGNALS_POLICY} was not "
                "attached",
                f"attach {APPLICATION_SIGNALS_POLICY} to that role where it is defined",
            )
        )
        return ()
    return (APPLICATION_SIGNALS_POLICY,)
