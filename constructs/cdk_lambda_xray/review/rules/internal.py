"""Rule on functions CDK adds by itself (S3 notifications, custom resource providers, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..model import Model
from .base import Finding, Rule, Severity


def _internal_untraced(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if fn.internal is not None and not fn.traced:
            yield INTERNAL_UNTRACED.finding(
                model,
                fn.id,
                f"CDK-internal function ({fn.internal}) is not traced: what it does at "
                "deploy time is invisible in X-Ray",
                functions=(fn.id,),
            )


INTERNAL_UNTRACED: Final = Rule(
    id="XRAY013",
    name="cdk-internal-function-untraced",
    severity=Severity.WARNING,
    summary="A function CDK created for you (bucket notifications, custom resource "
    "provider, log retention, auto-delete objects) is not traced.",
    fix="Apply trace_app(app): the aspect also traces functions CDK adds; or suppress "
    "with a reason if deploy-time calls do not matter to you.",
    check=_internal_untraced,
    applied_fix="Set the function's tracing to Active where it is created (trace_app keeps a "
    "mode a function sets), or suppress with a reason if deploy-time calls do not matter.",
)
