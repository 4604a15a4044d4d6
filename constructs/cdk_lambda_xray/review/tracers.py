"""Recognize how a function is instrumented: this project's layer, or another tracer.

This project's instrumentation is the handler redirect (``Handler`` set to the
wrapper, the user's handler in ``LAMBDA_XRAY_HANDLER``) plus the layer. Other
tracers are recognized by the marks they leave in a template: an
``AWS_LAMBDA_EXEC_WRAPPER`` script (ADOT, Lumigo, Elastic, ...), a handler
redirect of their own (Datadog, New Relic) or their published layer's name
(Powertools, which traces only if the code uses its ``Tracer``), or, for the
AWS X-Ray SDK, its package in the code or a layer. A vendor
layer that needs a wrapper or redirect to do anything (ADOT without
``AWS_LAMBDA_EXEC_WRAPPER``) is recognized as ``inactive``.
"""

from __future__ import annotations

import re
from typing import Final

from .._contract import ENV_EXEC_WRAPPER, ENV_HANDLER, WRAPPER_HANDLER
from .._tracers import TRACERS, XRAY_SDK, foreign_handler_tracer
from .model import Function, Layer, Tracer

OURS: Final = "lambda_xray"
#: mechanism of a vendor layer that is attached but not switched on
INACTIVE: Final = "inactive"


#: Other tracers, recognized by their layer name, exec wrapper or handler redirect
#: (the catalogue the constructs read too). The X-Ray SDK is a library the code
#: calls: recognized apart, see :func:`xray_sdk_tracer`.
VENDORS: Final = tuple(t for t in TRACERS if t is not XRAY_SDK)


_OUR_LAYER_NAME = re.compile(r":layer:[^:]*lambda[-_]?xray", re.I)


def layer_tracer_from_arn(arn: str) -> str | None:
    """Which tracer a layer ARN belongs to, by its published name."""
    if _OUR_LAYER_NAME.search(arn):
        return OURS
    for vendor in TRACERS:
        if vendor.layer_pattern is not None and vendor.layer_pattern.search(arn):
            return vendor.name
    return None


def detect(fn: Function) -> list[Tracer]:
    """Every instrumentation ``fn`` shows, ours first (empty when none)."""
    found: list[Tracer] = []
    ours = _ours(fn)
    if ours is not None:
        found.append(ours)
    wrapper = fn.env_literal(ENV_EXEC_WRAPPER)
    handler_tracer = foreign_handler_tracer(fn.handler) if fn.handler else None
    for vendor in VENDORS:
        if vendor is handler_tracer:
            found.append(Tracer(vendor.name, "handler", f"Handler {fn.handler}"))
        elif wrapper and vendor.wrapper_pattern and vendor.wrapper_pattern.search(wrapper):
            found.append(Tracer(vendor.name, "exec-wrapper", f"{ENV_EXEC_WRAPPER}={wrapper}"))
        elif vendor.handler_env and vendor.handler_env in fn.environment:
            found.append(Tracer(vendor.name, "handler", f"{vendor.handler_env} is set"))
        else:
            layer = _layer_of(fn.layers, vendor.name)
            if layer is not None:
                mechanism = INACTIVE if vendor.needs_activation else "layer"
                found.append(Tracer(vendor.name, mechanism, f"layer {layer.label}"))
    if ENV_EXEC_WRAPPER in fn.environment and not any(t.mechanism == "exec-wrapper" for t in found):
        shown = wrapper if wrapper is not None else fn.environment[ENV_EXEC_WRAPPER].text()
        found.append(Tracer("exec wrapper", "exec-wrapper", f"{ENV_EXEC_WRAPPER}={shown}"))
    sdk = xray_sdk_tracer(fn)
    if sdk is not None:
        found.append(sdk)
    return found


def xray_sdk_tracer(fn: Function, code_evidence: str | None = None) -> Tracer | None:
    """The AWS X-Ray SDK on ``fn``: in a layer, or (``code_evidence``) in its own code."""
    layer = _layer_of(fn.layers, XRAY_SDK.name)
    evidence = code_evidence or (f"layer {layer.label}" if layer is not None else None)
    return Tracer(XRAY_SDK.name, "layer", evidence) if evidence else None


def is_xray_sdk(tracer: Tracer) -> bool:
    """Whether ``tracer`` is the AWS X-Ray SDK (a library; its rule is XRAY014)."""
    return tracer.name == XRAY_SDK.name


def _ours(fn: Function) -> Tracer | None:
    evidence = []
    if fn.handler == WRAPPER_HANDLER:
        evidence.append(f"Handler {WRAPPER_HANDLER}")
    if ENV_HANDLER in fn.environment:
        evidence.append(f"{ENV_HANDLER} is set")
    layer = _layer_of(fn.layers, OURS)
    if layer is not None:
        evidence.append(f"layer {layer.label}")
    if not evidence:
        return None
    mechanism = "handler" if fn.handler == WRAPPER_HANDLER else "layer"
    return Tracer(OURS, mechanism, "; ".join(evidence))


def _layer_of(layers: list[Layer], tracer: str) -> Layer | None:
    return next((layer for layer in layers if layer.tracer == tracer), None)


def active(fn: Function) -> list[Tracer]:
    """The tracers that can record something (inactive vendor layers left out)."""
    return [t for t in fn.tracers if t.mechanism != INACTIVE]


def our_layer(fn: Function) -> Layer | None:
    """This project's layer on ``fn``, if attached."""
    return _layer_of(fn.layers, OURS)
