"""Find the AWS X-Ray SDK (``aws_xray_sdk``) in a function at synth time.

Where it looks, with the catalogue's signals (:mod:`._tracers`): inline code
that imports it; the function's staged code asset (``asset.<hash>`` in the
cloud assembly) holding the package or a module importing it; its layers
(an ARN or name like ``aws-xray-sdk``, a layer version of the stack described
as the X-Ray SDK or whose asset holds ``python/aws_xray_sdk/``). A role with
``AWSXrayWriteOnlyAccess`` alone is no evidence: plain Active tracing needs
the same permission.
"""

from __future__ import annotations

import weakref
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from ._code_facts import staged_asset_path
from ._instrument import stack_of
from ._reflect import resolved_properties
from ._tracers import XRAY_SDK, XRAY_SDK_MODULE, layer_tracer, xray_sdk_in_code, xray_sdk_in_tree

__all__ = ["xray_sdk_evidence"]

#: stack -> layer version logical id -> evidence (None: not the SDK)
_LAYERS: weakref.WeakKeyDictionary[cdk.Stack, dict[str, str | None]] = weakref.WeakKeyDictionary()


def xray_sdk_evidence(resource: cdk.CfnResource, props: dict[str, Any]) -> str | None:
    """What shows that the function ``resource`` (properties ``props``) uses aws_xray_sdk."""
    code = props.get("Code")
    if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
        if xray_sdk_in_code(code["ZipFile"]):
            return f"inline code imports {XRAY_SDK_MODULE}"
    elif isinstance(code, dict):
        found = _in_asset(resource, code.get("S3Key"))
        if found:
            return f"code asset: {found}"
    layers = props.get("Layers")
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, str) and layer_tracer(layer) is XRAY_SDK:
            return f"layer {layer}"
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        if isinstance(logical_id, str):
            found = _stack_layers(resource).get(logical_id)
            if found:
                return f"layer {logical_id}: {found}"
    return None


def _in_asset(resource: cdk.CfnResource, key: object) -> str | None:
    """Look into the staged asset whose S3 object key is ``key`` (``<hash>.zip``)."""
    path = staged_asset_path(resource, key)
    return xray_sdk_in_tree(path) if path is not None else None


def _stack_layers(resource: cdk.CfnResource) -> dict[str, str | None]:
    stack = stack_of(resource)
    found = _LAYERS.get(stack)
    if found is None:
        found = _LAYERS[stack] = {}
        for construct in stack.node.find_all():
            if isinstance(construct, lambda_.CfnLayerVersion):
                found[stack.resolve(construct.logical_id)] = _layer_evidence(construct)
    return found


def _layer_evidence(layer: lambda_.CfnLayerVersion) -> str | None:
    props = resolved_properties(layer) or {}
    for label in ("LayerName", "Description"):
        text = props.get(label)
        if isinstance(text, str) and layer_tracer(text) is XRAY_SDK:
            return f"{label.lower()} {text!r}"
    content = props.get("Content")
    return _in_asset(layer, content.get("S3Key")) if isinstance(content, dict) else None
