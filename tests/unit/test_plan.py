"""The instrumentation planner: one table of facts + options -> plan.

``TracedFunction``, the ``XRayTracing`` aspect and the review all decide through
:func:`cdk_lambda_xray._plan.plan`; the thin tests of each applier live with it
(test_traced_function.py, test_aspect.py, test_validation.py, the review's
tests). These cases need no CDK: the planner is pure and stdlib-only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray import _contract
from cdk_lambda_xray._plan import (
    APPLICATION_SIGNALS_POLICY,
    UNKNOWN,
    FunctionFacts,
    Level,
    Plan,
    TraceFormat,
    TracingOptions,
    completeness_findings,
    plan,
)
from cdk_lambda_xray._tracers import TRACERS

WRAPPER = _contract.WRAPPER_HANDLER
CM = _contract.ENV_CONTEXT_MISSING
HANDLER = _contract.ENV_HANDLER
RESPONSE = _contract.ENV_CAPTURE_RESPONSE
ERROR = _contract.ENV_CAPTURE_ERROR
SERVICE = _contract.ENV_SERVICE_NAME
FORMAT = "LAMBDA_XRAY_FORMAT"
UNSAMPLED = "LAMBDA_XRAY_OTLP_UNSAMPLED"

#: what a Python function with the layer gets by default, in this order
LAYER_ENV = ((CM, "LOG_ERROR"), (HANDLER, "app.handler"), (RESPONSE, "false"), (ERROR, "true"))

EXPLICIT = TracingOptions(explicit=True)
SWEEP = TracingOptions(explicit=False)


def py(runtime: str = "python3.12", **kwargs: Any) -> FunctionFacts:
    return FunctionFacts(runtime=runtime, **{"handler": "app.handler", **kwargs})


def options(explicit: bool, **kwargs: Any) -> TracingOptions:
    return TracingOptions(explicit=explicit, **kwargs)


@dataclass(frozen=True)
class Case:
    """One row: facts and options in, the plan's parts out (``None``: not checked)."""

    name: str
    facts: FunctionFacts
    options: TracingOptions
    findings: tuple[tuple[str, Level], ...] = ()
    layer: bool | None = None
    handler: str | bool | None = False  # False: not checked
    environment: tuple[tuple[str, str], ...] | None = None
    tracing: str | bool | None = False  # False: not checked
    grant: bool | None = None
    policies: tuple[str, ...] = field(default=())


CASES = [
    # --- every traced Python function: tracing, permission, layer, redirect, variables
    Case(
        "python: layer, redirect, default variables",
        py(),
        EXPLICIT,
        layer=True,
        handler=WRAPPER,
        environment=LAYER_ENV,
        tracing="Active",
        grant=True,
    ),
    Case(
        "python, swept: the same", py(), SWEEP, layer=True, handler=WRAPPER, environment=LAYER_ENV
    ),
    Case(
        "options become variables",
        py(),
        options(True, context_missing="IGNORE_ERROR", service_name="orders", capture_error=False),
        environment=(
            (CM, "IGNORE_ERROR"),
            (HANDLER, "app.handler"),
            (SERVICE, "orders"),
            (RESPONSE, "false"),
            (ERROR, "false"),
        ),
    ),
    Case(
        "a variable the user set is kept when the option is left out",
        py(environment={RESPONSE: "true", CM: "RUNTIME_ERROR"}),
        EXPLICIT,
        environment=((HANDLER, "app.handler"), (ERROR, "true")),
    ),
    Case(
        "explicit: the same value as the variable is no conflict",
        py(environment={CM: "IGNORE_ERROR"}),
        options(True, context_missing="IGNORE_ERROR"),
        environment=(
            (CM, "IGNORE_ERROR"),
            (HANDLER, "app.handler"),
            (RESPONSE, "false"),
            (ERROR, "true"),
        ),
    ),
    Case(
        "explicit: an option that differs from the user's variable is an error",
        py(environment={SERVICE: "billing"}),
        options(True, service_name="orders"),
        findings=(("Conflict", Level.ERROR),),
    ),
    Case(
        "explicit: a token variable is never judged",
        py(environment={CM: UNKNOWN}),
        options(True, context_missing="IGNORE_ERROR"),
        findings=(),
    ),
    Case(
        "swept: the function's variable wins over the aspect's option",
        py(environment={RESPONSE: "true"}),
        options(False, capture_response=False),
        environment=((CM, "LOG_ERROR"), (HANDLER, "app.handler"), (ERROR, "true")),
    ),
    Case(
        "unknown context-missing option",
        py(),
        options(True, context_missing="LOG"),
        findings=(("ContextMissing", Level.ERROR),),
    ),
    Case(
        "a token context-missing option is not judged",
        py(),
        options(True, context_missing="${Token[TOKEN.1]}"),
        findings=(),
    ),
    # --- tracing mode and permission
    Case(
        "explicit PassThrough: no permission",
        py(),
        options(True, tracing="PassThrough"),
        tracing="PassThrough",
        grant=False,
    ),
    Case(
        "explicit disabled: no config, no permission",
        py(),
        options(True, tracing=None),
        tracing=None,
        grant=False,
    ),
    Case(
        "swept: the function's own mode is kept",
        py(tracing="PassThrough"),
        SWEEP,
        tracing=None,
        grant=False,
    ),
    Case(
        "swept: an Active function still gets the permission",
        py(tracing="Active"),
        SWEEP,
        tracing=None,
        grant=True,
    ),
    Case(
        "swept: an unreadable mode is left alone",
        py(tracing=UNKNOWN),
        SWEEP,
        tracing=None,
        grant=False,
    ),
    # --- runtimes the layer does not serve
    Case(
        "node: traced by Lambda, context missing only",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler"),
        EXPLICIT,
        findings=(("NoLayer", Level.INFO),),
        layer=False,
        handler=None,
        environment=((CM, "LOG_ERROR"),),
        grant=True,
    ),
    Case(
        "container image: traced by Lambda",
        FunctionFacts(runtime=None, image=True),
        SWEEP,
        findings=(("NoLayer", Level.INFO),),
        layer=False,
    ),
    Case(
        "old Python: warned, no layer",
        py("python3.9"),
        EXPLICIT,
        findings=(("UnsupportedPython", Level.WARNING),),
        layer=False,
        grant=True,
    ),
    Case(
        "old Python, swept: the same warning",
        py("python3.9"),
        SWEEP,
        findings=(("UnsupportedPython", Level.WARNING),),
        layer=False,
    ),
    Case(
        "old Python with the user's own layer",
        py("python3.9"),
        options(True, own_layer=True),
        layer=True,
        handler=WRAPPER,
    ),
    Case(
        "a tracing layer for a non-Python runtime is an error",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler"),
        options(True, own_layer=True),
        findings=(("LayerNotPython", Level.ERROR), ("NoLayer", Level.INFO)),
    ),
    Case(
        "unknown runtime, swept",
        FunctionFacts(runtime=UNKNOWN, handler="a.b"),
        SWEEP,
        findings=(("UnknownRuntime", Level.WARNING),),
        layer=False,
    ),
    # --- what stops the redirect: explicit errors, swept warnings
    Case(
        "exec wrapper",
        py(environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}),
        EXPLICIT,
        findings=(("WrapperConflict", Level.ERROR),),
    ),
    Case(
        "exec wrapper, swept: traced, not redirected",
        py(environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}),
        SWEEP,
        findings=(("WrapperConflict", Level.WARNING),),
        layer=False,
        handler=None,
        environment=((CM, "LOG_ERROR"),),
        tracing="Active",
    ),
    Case(
        "adot_instrumentation",
        py(adot_instrumentation=True),
        EXPLICIT,
        findings=(("WrapperConflict", Level.ERROR),),
    ),
    Case(
        "five layers already",
        py(layer_count=5),
        EXPLICIT,
        findings=(("TooManyLayers", Level.ERROR),),
    ),
    Case(
        "five layers, swept",
        py(layer_count=5),
        SWEEP,
        findings=(("TooManyLayers", Level.WARNING),),
        layer=False,
    ),
    Case("four layers: the fifth is ours", py(layer_count=4), EXPLICIT, layer=True),
    Case(
        "original-handler variable set by hand",
        py(environment={HANDLER: "x.y"}),
        EXPLICIT,
        findings=(("HandlerVariable", Level.ERROR),),
    ),
    Case(
        "original-handler variable set by hand, swept",
        py(environment={HANDLER: "x.y"}),
        SWEEP,
        findings=(("HandlerVariable", Level.WARNING),),
        layer=False,
    ),
    Case(
        "the wrapper as handler without the original",
        py(handler=WRAPPER),
        EXPLICIT,
        findings=(("HandlerVariable", Level.ERROR),),
    ),
    Case(
        "the wrapper as handler with the original: layer added, handler kept",
        py(handler=WRAPPER, environment={HANDLER: "app.handler"}),
        EXPLICIT,
        layer=True,
        handler=None,
        environment=((CM, "LOG_ERROR"), (RESPONSE, "false"), (ERROR, "true")),
    ),
    Case(
        "explicit: a token handler moves to the variable as it is",
        py(handler="${Token[TOKEN.7]}"),
        EXPLICIT,
        findings=(),
        handler=WRAPPER,
        environment=(
            (CM, "LOG_ERROR"),
            (HANDLER, "${Token[TOKEN.7]}"),
            (RESPONSE, "false"),
            (ERROR, "true"),
        ),
    ),
    Case(
        "swept: redirected by hand already, nothing to add",
        py(handler=WRAPPER),
        SWEEP,
        findings=(),
        layer=False,
        handler=None,
    ),
    Case(
        "swept: token handler",
        py(handler=UNKNOWN),
        SWEEP,
        findings=(("Unresolved", Level.WARNING),),
        layer=False,
    ),
    Case(
        "swept: token environment",
        py(environment=UNKNOWN),
        SWEEP,
        findings=(("Unresolved", Level.WARNING),),
        layer=False,
        environment=(),
    ),
    Case(
        "swept: token layer list",
        py(layer_count=UNKNOWN),
        SWEEP,
        findings=(("UnknownLayers", Level.WARNING),),
        layer=False,
    ),
    # --- OpenTelemetry output and Application Signals
    Case(
        "OTLP format",
        py(),
        options(True, trace_format=TraceFormat.OTLP),
        layer=True,
        environment=(*LAYER_ENV, (FORMAT, "otlp")),
        policies=(),
    ),
    Case(
        "an explicit X-Ray format is written too",
        py(),
        options(True, trace_format=TraceFormat.XRAY),
        environment=(*LAYER_ENV, (FORMAT, "xray")),
    ),
    Case(
        "OTLP on a non-Python function is an error",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler"),
        options(True, trace_format=TraceFormat.OTLP),
        findings=(("NoLayer", Level.INFO), ("OtlpWithoutLayer", Level.ERROR)),
    ),
    Case(
        "OTLP swept over a non-Python function: said, not stopped",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler"),
        options(False, trace_format=TraceFormat.OTLP),
        findings=(("NoLayer", Level.INFO), ("OtlpWithoutLayer", Level.INFO)),
    ),
    Case(
        "OTLP on an old Python is an error",
        py("python3.9"),
        options(True, trace_format=TraceFormat.OTLP),
        findings=(("UnsupportedPython", Level.WARNING), ("OtlpWithoutLayer", Level.ERROR)),
    ),
    Case(
        "OTLP against the user's X-Ray variable",
        py(environment={FORMAT: "xray"}),
        options(True, trace_format=TraceFormat.OTLP),
        findings=(("Conflict", Level.ERROR),),
    ),
    Case(
        "Application Signals: OTLP, unsampled spans, the managed policy",
        py(),
        options(True, application_signals=True),
        environment=(*LAYER_ENV, (FORMAT, "otlp"), (UNSAMPLED, "true")),
        policies=(APPLICATION_SIGNALS_POLICY,),
        grant=True,
    ),
    Case(
        "Application Signals with an explicit OTLP format",
        py(),
        options(True, application_signals=True, trace_format=TraceFormat.OTLP),
        findings=(),
        policies=(APPLICATION_SIGNALS_POLICY,),
    ),
    Case(
        "Application Signals with the X-Ray format is an error",
        py(),
        options(True, application_signals=True, trace_format=TraceFormat.XRAY),
        findings=(("TraceFormat", Level.ERROR),),
        policies=(APPLICATION_SIGNALS_POLICY,),
    ),
    Case(
        "Application Signals on an imported role: said, no policy",
        py(role_in_app=False),
        options(True, application_signals=True),
        findings=(("ApplicationSignalsPolicy", Level.WARNING),),
        policies=(),
    ),
    Case(
        "Application Signals on a non-Python function is an error",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler"),
        options(True, application_signals=True),
        findings=(("NoLayer", Level.INFO), ("OtlpWithoutLayer", Level.ERROR)),
        policies=(),
    ),
]
for _tracer in TRACERS:  # every handler module of the catalogue is another tracer's wrapper
    for _module in _tracer.handler_modules:
        CASES.append(
            Case(
                f"{_tracer.name} handler",
                py(handler=f"{_module}.handler"),
                SWEEP,
                findings=(("WrapperConflict", Level.WARNING),),
                layer=False,
            )
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    decided: Plan = plan(case.facts, case.options)
    if case.findings or case.layer is None:
        assert [(f.id, f.level) for f in decided.findings] == list(case.findings), decided
    if case.layer is not None:
        assert decided.layer is case.layer
    if case.handler is not False:
        assert decided.handler == case.handler
    if case.environment is not None:
        assert decided.environment == case.environment
    if case.tracing is not False:
        assert decided.tracing == case.tracing
    if case.grant is not None:
        assert decided.grant_xray_write is case.grant
    assert decided.managed_policies == case.policies
    for finding in decided.findings:  # every finding reads as an annotation: what, then fix
        assert finding.message.startswith(f"lambda-xray: {finding.problem}")
        assert finding.level is Level.INFO or finding.fix


def test_errors_name_the_value_and_the_fix() -> None:
    [error] = plan(
        py(environment={SERVICE: "billing"}), options(True, service_name="orders")
    ).errors
    assert error.problem == (
        "service_name='orders' conflicts with environment variable "
        "LAMBDA_XRAY_SERVICE_NAME='billing'"
    )
    assert "set only one of them" in error.fix


# --- the review judges a function as it is, with the same module -----------------------------

COMPLETE = {HANDLER: "app.handler"}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (py(handler=WRAPPER, environment=COMPLETE, our_layer=True), []),
        (
            py(handler=WRAPPER, environment=COMPLETE, our_layer=False),
            [("RedirectWithoutLayer", Level.ERROR)],
        ),
        (py(handler=WRAPPER, our_layer=True), [("HandlerVariable", Level.ERROR)]),
        (
            py(handler=WRAPPER, environment={HANDLER: WRAPPER}, our_layer=True),
            [("HandlerVariable", Level.ERROR)],
        ),
        (py(environment=COMPLETE, our_layer=True), [("HandlerVariable", Level.WARNING)]),
        (py(our_layer=True), [("LayerWithoutRedirect", Level.WARNING)]),
        (
            FunctionFacts(runtime="nodejs22.x", handler="i.h", our_layer=True),
            [("LayerWithoutRedirect", Level.WARNING), ("LayerNotPython", Level.WARNING)],
        ),
        (py(), []),
    ],
)
def test_completeness(facts: FunctionFacts, expected: list[tuple[str, Level]]) -> None:
    assert [(f.id, f.level) for f in completeness_findings(facts)] == expected


# --- one module, no CDK, one catalogue of other tracers ---------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "constructs" / "cdk_lambda_xray"


def test_the_planner_loads_neither_the_cdk_nor_jsii() -> None:
    code = (
        "import sys, cdk_lambda_xray._plan, cdk_lambda_xray.review.rules.instrumentation\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'aws_cdk', 'jsii', "
        "'constructs'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_other_tracers_are_described_only_in_the_catalogue() -> None:
    """Other tracers' handler modules, variables and wrapper scripts: in _tracers.py only."""
    marks = {m for t in TRACERS for m in t.handler_modules}
    marks |= {t.handler_env for t in TRACERS if t.handler_env}
    marks |= {"/opt/otel", "/opt/lumigo", "/opt/dynatrace", "/opt/datadog", "elasticapm"}
    offenders = [
        f"{path.relative_to(PACKAGE)}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_tracers.py"
        for text in _string_constants(path)
        if any(mark in text for mark in marks)
    ]
    assert offenders == []


def test_the_variables_are_the_ones_the_layer_reads() -> None:
    """The format variables are spelled as the layer reads them, with the values it accepts."""
    layer = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
    code = (
        "from lambda_xray import config\n"
        "c = config.from_environ({config.ENV_FORMAT: 'otlp', config.ENV_OTLP_UNSAMPLED: 'true'})\n"
        "print(config.ENV_FORMAT, config.ENV_OTLP_UNSAMPLED, *config.FORMATS, c.format, "
        "c.otlp_unsampled)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PYTHONPATH": str(layer), "PATH": "/usr/bin:/bin"},
    )
    formats = [m.value for m in TraceFormat]
    assert result.stdout.split() == [FORMAT, UNSAMPLED, *formats, "otlp", "True"]
