"""Rule on functions that use the AWS X-Ray SDK for Python (``aws_xray_sdk``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..._tracers import XRAY_SDK_FIX
from ..model import Model
from ..tracers import OURS, is_xray_sdk
from .base import Finding, Rule, Severity


def _xray_sdk(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        sdk = next((t for t in fn.tracers if is_xray_sdk(t)), None)
        if sdk is None:
            continue
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
    fix=XRAY_SDK_FIX[:1].upper() + XRAY_SDK_FIX[1:] + ".",
    check=_xray_sdk,
)
