"""Find what a function's code and its other layers hold, at synth, for the layer parts.

The planner (:mod:`._plan_parts`) decides from :class:`~._plan_model.CodeFacts`;
this module reads them where CDK put the code: the staged code asset (the
folder CDK copied, or bundled, into the cloud assembly), inline code, and the
staged assets of the function's other layers. Anything it cannot look into (a
bucket, a zip file, a layer imported by ARN, a value only known at deploy
time) makes the facts unreadable, and the function gets every part.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from ._code_scan import combined, scan_directory, scan_inline, unreadable
from ._instrument import stack_of
from ._plan_model import CodeFacts
from ._reflect import resolved_properties
from .validation import is_unresolved

__all__ = [
    "asset_facts",
    "function_code_facts",
    "layer_facts",
    "resource_code_facts",
    "staged_asset_path",
]


def asset_facts(path: Path, what: str) -> CodeFacts:
    """The facts of a staged asset: a folder is read; a zip file or nothing is not.

    A staged asset never changes (its folder is named by its hash), so each is
    read once per process, however many functions share it.
    """
    return _asset_facts(str(path), what)


@functools.lru_cache(maxsize=512)
def _asset_facts(path: str, what: str) -> CodeFacts:
    staged = Path(path)
    if staged.is_dir():
        return scan_directory(staged, what)
    if staged.is_file():
        return unreadable(f"{what} is a zip file, which is not looked into")
    return unreadable(f"{what} is not in the cloud assembly")


def _staging(scope: IConstruct) -> cdk.AssetStaging | None:
    return next((c for c in scope.node.find_all() if isinstance(c, cdk.AssetStaging)), None)


def layer_facts(layers: Iterable[lambda_.ILayerVersion]) -> list[CodeFacts]:
    """The facts of the function's other layers (as ``TracedFunction`` receives them)."""
    from .layer import TracingLayer

    found = []
    for layer in layers:
        if isinstance(layer, TracingLayer):
            continue
        staging = _staging(layer)
        what = f"layer {layer.node.path}"
        if staging is None:
            found.append(unreadable(f"{what} is imported, so its contents are not known"))
        else:
            found.append(asset_facts(Path(staging.absolute_staged_path), what))
    return found


def function_code_facts(
    code: lambda_.Code,
    staging: cdk.AssetStaging | None,
    cfn: lambda_.CfnFunction,
    layers: Iterable[lambda_.ILayerVersion],
) -> CodeFacts:
    """The facts of a function made by ``TracedFunction``: its staged code or inline code.

    ``staging`` is the staging of the code asset when the function made it
    (the first function given that ``code``); the facts of a ``code`` shared
    by several functions are read once.
    """
    own = _CODE.get(code)
    if own is None:
        own = _CODE[code] = _own_code_facts(staging, cfn)
    others = layer_facts(layers)
    return combined([own, *others]) if others else own


#: code object -> what it holds (a ``Code`` is often shared by several functions)
_CODE: weakref.WeakKeyDictionary[lambda_.Code, CodeFacts] = weakref.WeakKeyDictionary()


def _own_code_facts(staging: cdk.AssetStaging | None, cfn: lambda_.CfnFunction) -> CodeFacts:
    if staging is not None:
        return asset_facts(Path(staging.absolute_staged_path), "the code asset")
    # The L1's properties as one plain mapping: one jsii call (``cfn.code``
    # would read each field of the struct, one call each).
    code = cfn._cfn_properties.get("code")
    inline = code.get("zipFile") if isinstance(code, Mapping) else None
    if isinstance(inline, str) and not is_unresolved(inline):
        return scan_inline(inline)
    # An asset another function staged first: found in the assembly by its key.
    path = staged_asset_path(cfn, code.get("s3Key") if isinstance(code, Mapping) else None)
    if path is not None:
        return asset_facts(path, "the code asset")
    return unreadable(_NOT_AN_ASSET)


_NOT_AN_ASSET = (
    "the code is not a code asset or inline code of this app (an S3 bucket or a parameter)"
)


def staged_asset_path(resource: cdk.CfnResource, key: object) -> Path | None:
    """The staged asset whose S3 object key is ``key`` (``<hash>.zip``), folder or zip."""
    if not isinstance(key, str) or "/" in key or not key.endswith(".zip"):
        return None
    outdir = _outdir(stack_of(resource))
    if outdir is None:
        return None
    digest = key.removesuffix(".zip")
    for candidate in (outdir / f"asset.{digest}", outdir / f"asset.{digest}.zip"):
        if candidate.exists():
            return candidate
    return None


#: stack -> the cloud assembly folder its assets are staged in
_OUTDIRS: weakref.WeakKeyDictionary[cdk.Stack, Path | None] = weakref.WeakKeyDictionary()


def _outdir(stack: cdk.Stack) -> Path | None:
    if stack not in _OUTDIRS:
        stage = cdk.Stage.of(stack)
        _OUTDIRS[stack] = Path(stage.outdir) if stage is not None else None
    return _OUTDIRS[stack]


def resource_code_facts(resource: cdk.CfnResource, props: dict[str, Any]) -> CodeFacts:
    """The facts of any function resource (the aspect), from its resolved properties."""
    code = props.get("Code")
    if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
        own = scan_inline(code["ZipFile"])
    else:
        key = code.get("S3Key") if isinstance(code, dict) else None
        path = staged_asset_path(resource, key)
        own = unreadable(_NOT_AN_ASSET) if path is None else asset_facts(path, "the code asset")
    layers = props.get("Layers")
    found = [own]
    for layer in layers if isinstance(layers, list) else []:
        found.append(_layer_reference_facts(resource, layer))
    return combined(found)


def _layer_reference_facts(resource: cdk.CfnResource, layer: object) -> CodeFacts:
    logical_id = layer.get("Ref") if isinstance(layer, dict) else None
    construct = _stack_layer(resource, logical_id) if isinstance(logical_id, str) else None
    if construct is None:
        shown = layer if isinstance(layer, str) else "a layer given by reference"
        return unreadable(f"{shown} is imported, so its contents are not known")
    known = _LAYER_FACTS.setdefault(stack_of(resource), {})
    if construct not in known:
        known[construct] = _layer_version_facts(construct)
    return known[construct]


#: stack -> what each of its layer versions ships (read once per layer)
_LAYER_FACTS: weakref.WeakKeyDictionary[cdk.Stack, dict[lambda_.CfnLayerVersion, CodeFacts]] = (
    weakref.WeakKeyDictionary()
)


def _layer_version_facts(construct: lambda_.CfnLayerVersion) -> CodeFacts:
    content = (resolved_properties(construct) or {}).get("Content")
    key = content.get("S3Key") if isinstance(content, dict) else None
    path = staged_asset_path(construct, key)
    what = f"layer {construct.node.path}"
    if path is None:
        return unreadable(f"{what} is not a layer asset of this app")
    return asset_facts(path, what)


#: stack -> its layer versions by logical id (found once per stack)
_LAYERS: weakref.WeakKeyDictionary[cdk.Stack, dict[str, lambda_.CfnLayerVersion]] = (
    weakref.WeakKeyDictionary()
)


def _stack_layer(resource: cdk.CfnResource, logical_id: str) -> lambda_.CfnLayerVersion | None:
    """The stack's layer version ``logical_id`` (the stack is searched again for a new one)."""
    stack = stack_of(resource)
    found = _LAYERS.get(stack)
    if found is None or logical_id not in found:
        found = _LAYERS[stack] = {
            stack.resolve(c.logical_id): c
            for c in stack.node.find_all()
            if isinstance(c, lambda_.CfnLayerVersion)
        }
    return found.get(logical_id)
