"""Layer versions and functions: settings, role, layers, and how each is instrumented."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..._tracers import (
    XRAY_SDK,
    XRAY_SDK_MODULE,
    layer_tracer,
    xray_sdk_in_code,
    xray_sdk_in_tree,
)
from ..assembly import Template
from ..aws_facts import INTERNAL_MARKERS
from ..bundled import POWERTOOLS_MODULE, powertools_tracer_in_code, powertools_tracer_in_tree
from ..files import asset_contains
from ..model import Function, Layer
from ..resolve import ResourceId
from ..tracers import OURS, detect, is_xray_sdk, layer_tracer_from_arn, xray_sdk_tracer
from .context import Extraction, as_list, mapping, props, str_or_none

__all__ = ["FunctionExtractor"]

_OUR_LAYER_FILES: Final = ("python/lambda_xray/handler.py", "python/lambda_xray/_contract.py")
_OUR_DESCRIPTION = re.compile(r"lambda[-_]xray", re.I)


class FunctionExtractor:
    """Reads layer versions, then functions (a function's layers point at the former)."""

    def __init__(self, ctx: Extraction) -> None:
        self.ctx = ctx
        self.layers: dict[ResourceId, Layer] = {}
        self._our_assets: dict[Path, bool] = {}
        #: code asset -> Powertools Tracer evidence (functions often share one asset)
        self._powertools: dict[Path, str | None] = {}

    def extract(self) -> None:
        self._layers()
        self._functions()

    # -- layers ---------------------------------------------------------------------
    def _layers(self) -> None:
        ctx = self.ctx
        for rid, res in ctx.of_type("AWS::Lambda::LayerVersion"):
            p = props(res)
            description = ctx.resolve(rid, p.get("Description")).literal
            name = ctx.resolve(rid, p.get("LayerName")).literal
            layer = Layer(label=name or ctx.model.path_of(rid), id=rid, description=description)
            asset = ctx.asset_of(res, p.get("Content"))
            if asset is not None and self._is_our_asset(asset):
                layer.tracer, layer.evidence = OURS, f"asset {asset.name} contains lambda_xray"
            elif description and _OUR_DESCRIPTION.search(description):
                layer.tracer, layer.evidence = OURS, f"description {description!r}"
            else:
                sdk = _xray_sdk_layer(asset, name, description)
                if sdk is not None:
                    layer.tracer, layer.evidence = XRAY_SDK.name, sdk
            self.layers[rid] = layer

    def _is_our_asset(self, asset: Path) -> bool:
        """Whether the layer asset holds lambda_xray (each asset looked at once)."""
        if asset not in self._our_assets:
            self._our_assets[asset] = asset_contains(asset, _OUR_LAYER_FILES)
        return self._our_assets[asset]

    def _layer(self, fn: ResourceId, ref: Any) -> Layer:
        value = self.ctx.resolve(fn, ref)
        target = value.only_target()
        if target is not None and target.resource in self.layers:
            return self.layers[target.resource]
        text = value.concrete
        if text:
            name = text.split(":layer:", 1)[-1]
            return Layer(label=name, arn=text, tracer=layer_tracer_from_arn(text))
        self.ctx.note_unknowns(fn, "Layers", value)
        return Layer(label=value.text(), arn=None, evidence="unresolved")

    # -- functions ------------------------------------------------------------------
    def _functions(self) -> None:
        ctx = self.ctx
        for rid, res in ctx.of_type("AWS::Lambda::Function"):
            fn = self._function(rid, res)
            ctx.model.functions[rid] = fn
            if fn.name:
                ctx.functions_by_name[fn.name] = rid

    def _function(self, rid: ResourceId, res: Mapping[str, Any]) -> Function:
        ctx = self.ctx
        p = props(res)
        env_vars = mapping(mapping(p.get("Environment")).get("Variables"))
        environment = {str(k): ctx.resolve(rid, v) for k, v in env_vars.items()}
        role_value = ctx.resolve(rid, p.get("Role"))
        role = ctx.role_of(role_value)
        role_text = None
        if role is None:
            role_text = role_value.text()
            ctx.note_unknowns(rid, "Role", role_value)
        description = ctx.resolve(rid, p.get("Description")).text() or None
        path = ctx.model.path_of(rid)
        fn = Function(
            id=rid,
            path=path,
            name=ctx.resolve(rid, p.get("FunctionName")).literal or None,
            runtime=str_or_none(p.get("Runtime")),
            architectures=tuple(str(a) for a in as_list(p.get("Architectures"))) or ("x86_64",),
            handler=str_or_none(p.get("Handler")),
            package_type=str(p.get("PackageType") or "Zip"),
            tracing_mode=str_or_none(mapping(p.get("TracingConfig")).get("Mode")),
            environment=environment,
            layers=[self._layer(rid, ref) for ref in as_list(p.get("Layers"))],
            role=role,
            role_text=role_text,
            description=description,
        )
        template = ctx.template(rid)
        fn.internal = _internal_kind(template, rid.logical_id, path, description)
        fn.tracers = detect(fn)
        if fn.is_python:
            code = _Code(ctx, res, p.get("Code"))
            if not any(is_xray_sdk(t) for t in fn.tracers):
                sdk = xray_sdk_tracer(fn, self._xray_sdk_code(code))
                if sdk is not None:
                    fn.tracers.append(sdk)
            fn.powertools_tracer = self._powertools_code(code)
        full = template.paths.get(rid.logical_id)
        if full:
            fn.annotations = template.annotations_for(full)
        return fn

    def _xray_sdk_code(self, code: _Code) -> str | None:
        """Evidence that the function's own code (inline or its asset) uses aws_xray_sdk."""
        if code.inline is not None:
            found = xray_sdk_in_code(code.inline)
            return f"inline code imports {XRAY_SDK_MODULE}" if found else None
        asset = code.asset()
        return xray_sdk_in_tree(asset) if asset is not None else None

    def _powertools_code(self, code: _Code) -> str | None:
        """Evidence that the function's code (inline or its asset) uses Powertools' Tracer."""
        if code.inline is not None:
            found = powertools_tracer_in_code(code.inline)
            return f"inline code imports Tracer from {POWERTOOLS_MODULE}" if found else None
        asset = code.asset()
        if asset is None:
            return None
        if asset not in self._powertools:
            self._powertools[asset] = powertools_tracer_in_tree(asset)
        return self._powertools[asset]


class _Code:
    """A function's ``Code``: inline source, or its asset (looked up once, when first needed)."""

    _UNSET: Final = object()

    def __init__(self, ctx: Extraction, res: Mapping[str, Any], code: Any) -> None:
        inline = mapping(code).get("ZipFile")
        self.inline = inline if isinstance(inline, str) else None
        self._lookup = (ctx, res, code)
        self._asset: object = self._UNSET

    def asset(self) -> Path | None:
        """The staged code asset in the assembly (a path outside it is noted once)."""
        if self._asset is self._UNSET:
            ctx, res, code = self._lookup
            self._asset = ctx.asset_of(res, code)
        return self._asset if isinstance(self._asset, Path) else None


def _internal_kind(
    template: Template, logical_id: str, path: str, description: str | None
) -> str | None:
    """What kind of CDK-internal function this is (None for the app's own functions)."""
    haystack = f"{path}\n{logical_id}\n{description or ''}"
    for kind, marker in INTERNAL_MARKERS:
        if marker in haystack:
            return kind
    full = template.paths.get(logical_id, "")
    if any(full.startswith(marker + "/") for marker in template.handler_markers):
        return "custom resource handler"
    return None


def _xray_sdk_layer(asset: Path | None, name: str | None, description: str | None) -> str | None:
    """Evidence that a layer version of the assembly is the AWS X-Ray SDK."""
    for label, text in (("name", name), ("description", description)):
        if text and layer_tracer(text) is XRAY_SDK:
            return f"{label} {text!r}"
    found = xray_sdk_in_tree(asset) if asset is not None else None
    return f"asset: {found}" if found else None
