"""Rules on environment variables: context-missing strategy, reserved names, our switches.

Values are judged by the layer's own grammar (``_env_values``), exactly as
``TracedFunction`` and the ``XRayTracing`` aspect judge them at synth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..._contract import (
    CONTEXT_MISSING_VALUES,
    DEFAULT_CONTEXT_MISSING,
    ENV_CONTEXT_MISSING,
    ENV_DAEMON_ADDRESS,
    RESERVED_ENV_VARS,
    WRAPPER_HANDLER,
)
from ..._env_values import judged_variables, value_problem
from ..model import Model
from .base import Finding, Rule, Severity


def _context_missing(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        value = fn.environment.get(ENV_CONTEXT_MISSING)
        if value is None:
            if fn.handler == WRAPPER_HANDLER:
                yield CONTEXT_MISSING.finding(
                    model,
                    fn.id,
                    f"{ENV_CONTEXT_MISSING} is not set: lambda_xray falls back to "
                    f"{DEFAULT_CONTEXT_MISSING}",
                    severity=Severity.INFO,
                    functions=(fn.id,),
                )
            continue
        text = value.literal
        if text is None:
            yield CONTEXT_MISSING.finding(
                model,
                fn.id,
                f"{ENV_CONTEXT_MISSING} is computed ({value.text()}) and cannot be checked",
                severity=Severity.INFO,
                functions=(fn.id,),
            )
        else:
            found = value_problem(ENV_CONTEXT_MISSING, text)
            if found is not None:
                yield CONTEXT_MISSING.finding(
                    model, fn.id, found[0], fix=_sentence(found[1]), functions=(fn.id,)
                )


def _sentence(fix: str) -> str:
    return fix[:1].upper() + fix[1:] + ("" if fix.endswith(".") else ".")


CONTEXT_MISSING: Final = Rule(
    id="XRAY007",
    name="context-missing-strategy",
    severity=Severity.ERROR,
    summary=f"{ENV_CONTEXT_MISSING} is invalid (error) or unset on an instrumented "
    "function (info).",
    fix="Use TracedFunction(context_missing=ContextMissing.LOG_ERROR) (or RUNTIME_ERROR / "
    f"IGNORE_ERROR); when setting it by hand use one of {', '.join(CONTEXT_MISSING_VALUES)}.",
    check=_context_missing,
    applied_fix=f"Set {ENV_CONTEXT_MISSING} to one of {', '.join(CONTEXT_MISSING_VALUES)}, or "
    f"remove it (the constructs then set {DEFAULT_CONTEXT_MISSING}).",
)


def _reserved(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        for name in sorted(fn.environment):
            if name in RESERVED_ENV_VARS:
                yield RESERVED_VARIABLE.finding(
                    model,
                    fn.id,
                    f"{name} is reserved by Lambda: the deployment is rejected",
                    functions=(fn.id,),
                )
            elif name == ENV_DAEMON_ADDRESS:
                text = fn.environment[name].literal
                found = None if text is None else value_problem(name, text)
                if found is not None:  # a value synth refuses: the same error as at synth
                    yield RESERVED_VARIABLE.finding(
                        model, fn.id, found[0], fix=_sentence(found[1]), functions=(fn.id,)
                    )
                    continue
                yield RESERVED_VARIABLE.finding(
                    model,
                    fn.id,
                    f"{name} is set by Lambda; overriding it sends segments somewhere "
                    "other than Lambda's X-Ray daemon",
                    severity=Severity.WARNING,
                    functions=(fn.id,),
                )


RESERVED_VARIABLE: Final = Rule(
    id="XRAY008",
    name="reserved-variable-set",
    severity=Severity.ERROR,
    summary="A function sets a variable Lambda reserves (or the X-Ray daemon address).",
    fix="Remove the variable from the function's environment; Lambda sets it.",
    check=_reserved,
)


def _layer_variables(model: Model) -> Iterator[Finding]:
    ours = [name for name in judged_variables() if name.startswith("LAMBDA_XRAY_")]
    for fn in model.functions.values():
        for name in ours:
            value = fn.environment.get(name)
            text = None if value is None else value.literal
            found = None if text is None else value_problem(name, text)
            if found is not None:
                yield LAYER_VARIABLE.finding(
                    model, fn.id, found[0], fix=_sentence(found[1]), functions=(fn.id,)
                )


LAYER_VARIABLE: Final = Rule(
    id="XRAY016",
    name="layer-variable-invalid",
    severity=Severity.ERROR,
    summary="A LAMBDA_XRAY_* variable has a value the layer ignores (it warns and uses the "
    "default) or a blank one.",
    fix="Set the variable to a value docs/layer.md lists under Environment values, or remove it.",
    check=_layer_variables,
)
