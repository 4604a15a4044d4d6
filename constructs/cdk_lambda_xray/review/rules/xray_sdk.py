"""Rules on functions that trace with the AWS X-Ray SDK for Python, directly or through
Powertools' ``Tracer``: both point to the migration guide (``docs/migrating.md``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..._tracers import MIGRATION_GUIDE, XRAY_SDK_FIX
from ..aws_facts import XRAY_SDK_END_OF_SUPPORT
from ..model import Model
from ..tracers import OURS, is_xray_sdk
from .base import Finding, Rule, Severity

#: where the project documents the move (a path in the project's repository)


def _xray_sdk(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        sdk = next((t for t in fn.tracers if is_xray_sdk(t)), None)
        if sdk is None or fn.powertools_tracer is not None:
            continue  # Powertools' Tracer runs on the SDK: XRAY015 gives that migration
        if any(t.name == OURS for t in fn.tracers):
            message = (
                f"uses aws_xray_sdk ({sdk.evidence}) next to lambda_xray: each call is recorded "
                "once (by aws_xray_sdk for the libraries it patched, by lambda_xray for the "
                "rest and the handler), but two tracers shape the trace"
            )
        else:
            message = (
                f"traced with aws_xray_sdk ({sdk.evidence}): only the calls its code patches "
                "are recorded"
            )
        yield XRAY_SDK_IN_USE.finding(model, fn.id, message, functions=(fn.id,))


XRAY_SDK_IN_USE: Final = Rule(
    id="XRAY014",
    name="xray-sdk-in-use",
    severity=Severity.INFO,
    summary="A function uses the AWS X-Ray SDK for Python (aws_xray_sdk in its code or a layer).",
    fix=f"{XRAY_SDK_FIX[:1].upper()}{XRAY_SDK_FIX[1:]}.",
    check=_xray_sdk,
)


def _powertools_tracer(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if fn.powertools_tracer is None:
            continue
        message = (
            f"traced with Powertools Tracer ({fn.powertools_tracer}), which records through "
            f"aws_xray_sdk (AWS support ends {XRAY_SDK_END_OF_SUPPORT})"
        )
        if any(t.name == OURS for t in fn.tracers):
            message += (
                "; next to lambda_xray each call is recorded once, but two tracers shape the trace"
            )
        yield POWERTOOLS_TRACER_IN_USE.finding(model, fn.id, message, functions=(fn.id,))


POWERTOOLS_TRACER_IN_USE: Final = Rule(
    id="XRAY015",
    name="powertools-tracer-in-use",
    severity=Severity.INFO,
    summary="A function's code uses Powertools for AWS Lambda's Tracer (on aws_xray_sdk).",
    fix="Change the import to 'from lambda_xray.compat import Tracer', deploy the function with "
    "the lambda_xray layer (TracedFunction or trace_app) and drop Powertools' tracer extra: "
    f"see {MIGRATION_GUIDE}, section 'Powertools Tracer'.",
    check=_powertools_tracer,
)
