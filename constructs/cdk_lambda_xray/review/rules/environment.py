"""Rules on environment variables: context-missing strategy and reserved names."""

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
from ..model import Model
from .base import Finding, Rule, Severity


def _context_missing(model: Model) -> Iterator[Finding]:
    allowed = ", ".join(CONTEXT_MISSING_VALUES)
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
        elif text not in CONTEXT_MISSING_VALUES:
            yield CONTEXT_MISSING.finding(
                model,
                fn.id,
                f"{ENV_CONTEXT_MISSING}={text!r} is not one of {allowed}",
                functions=(fn.id,),
            )


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
