"""What the extractors share while one model is built: indexes, the resolver, edges.

:class:`Extraction` holds the assembly, the model being filled in, resources by
type and the name indexes (functions, roles); it resolves references, follows a
reference to the function (or role) it names, and records each event-source
edge once, with its hop judged by :mod:`..hops`. Anything it cannot resolve goes
to :attr:`Model.unresolved`, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..assembly import Assembly, Template
from ..aws_facts import LAMBDA_ARN, ROLE_ARN
from ..hops import Hop, judge_hop
from ..model import EventSource, Model, Role, Unresolved
from ..resolve import Resolver, ResourceId, StackScope, Target, Value

__all__ = [
    "Extraction",
    "as_list",
    "mapping",
    "props",
    "str_or_none",
    "truthy",
]

_INVOCATIONS_ARN = re.compile(r"functions/(arn:[^/]+)/invocations")


class Extraction:
    """The model under construction and what every extractor needs to add to it."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.templates = assembly.templates
        scopes = {
            key: StackScope(
                key=key,
                resources=t.resources,
                parameters=mapping(t.body.get("Parameters")),
                outputs=mapping(t.body.get("Outputs")),
                parent=t.parent,
                children=t.children,
            )
            for key, t in self.templates.items()
        }
        self.resolver = Resolver(scopes)
        self.model = Model(source=str(assembly.root), stacks=list(self.templates))
        self.by_type: dict[str, list[tuple[ResourceId, dict[str, Any]]]] = {}
        self.functions_by_name: dict[str, ResourceId] = {}
        self.roles_by_name: dict[str, ResourceId] = {}
        self._edge_keys: set[tuple[object, ...]] = set()

    # -- the index ------------------------------------------------------------------
    def index(self) -> None:
        """Record every resource's type and display path, and group resources by type."""
        for key, template in self.templates.items():
            for logical_id, resource in template.resources.items():
                if not isinstance(resource, dict):
                    continue
                rid = ResourceId(key, logical_id)
                rtype = str(resource.get("Type", ""))
                self.model.types[rid] = rtype
                self.model.paths[rid] = _display_path(template, logical_id)
                self.by_type.setdefault(rtype, []).append((rid, resource))
                if rtype == "AWS::Serverless::Function":
                    self.unresolved(
                        rid,
                        "Type",
                        rtype,
                        "SAM resources are not expanded; review the processed template "
                        "(sam build / aws cloudformation get-template --template-stage Processed)",
                    )

    def of_type(self, *types: str) -> Iterator[tuple[ResourceId, dict[str, Any]]]:
        """The resources of ``types``, in template order."""
        for rtype in types:
            yield from self.by_type.get(rtype, ())

    def resource(self, rid: ResourceId) -> dict[str, Any]:
        """The template body of resource ``rid``."""
        found: dict[str, Any] = self.templates[rid.stack].resources[rid.logical_id]
        return found

    def template(self, rid: ResourceId) -> Template:
        return self.templates[rid.stack]

    # -- values -------------------------------------------------------------------
    def resolve(self, rid: ResourceId, expr: Any) -> Value:
        return self.resolver.resolve(rid.stack, expr)

    def unresolved(self, rid: ResourceId, prop: str, expression: str, reason: str) -> None:
        where = f"{self.model.path_of(rid)} ({prop})"
        self.model.unresolved.append(Unresolved(where, expression, reason))

    def note_unknowns(self, rid: ResourceId, prop: str, value: Value) -> None:
        for part in value.unknowns:
            self.unresolved(rid, prop, part.expression, part.reason)

    def asset_of(self, res: Mapping[str, Any], content: Any) -> Path | None:
        """The staged asset of a function's code or a layer's content, if in the assembly."""
        meta = mapping(res.get("Metadata")).get("aws:asset:path")
        if isinstance(meta, str):
            return self.assembly.asset_path(meta, "layer aws:asset:path")
        key = mapping(content).get("S3Key")
        return self.assembly.asset_for_key(key) if isinstance(key, str) else None

    # -- references -----------------------------------------------------------------
    def role_of(self, value: Value) -> Role | None:
        """The role a value names (reference, ARN or role name), when it is in the app."""
        target = value.only_target()
        if target is not None:
            return self.model.roles.get(target.resource)
        text = value.concrete
        if text:
            match = ROLE_ARN.search(text)
            rid = self.roles_by_name.get(match.group(1) if match else text)
            return self.model.roles.get(rid) if rid else None
        return None

    def function_of(self, rid: ResourceId, prop: str, expr: Any) -> ResourceId | None:
        """The function a property points to (Ref/GetAtt, alias, version, name or ARN)."""
        return self.function_from_value(rid, prop, self.resolve(rid, expr), 0)

    def function_from_value(
        self, rid: ResourceId, prop: str, value: Value, depth: int
    ) -> ResourceId | None:
        for target in value.targets:
            rtype = self.model.types.get(target.resource)
            if rtype == "AWS::Lambda::Function":
                return target.resource
            if rtype in {"AWS::Lambda::Alias", "AWS::Lambda::Version"} and depth < 4:
                inner = self.resolve(
                    target.resource, props(self.resource(target.resource)).get("FunctionName")
                )
                return self.function_from_value(target.resource, "FunctionName", inner, depth + 1)
        text = value.concrete
        if text:
            match = LAMBDA_ARN.match(text)
            name = match.group(1) if match else text.split(":", 1)[0]
            return self.functions_by_name.get(name)
        self.note_unknowns(rid, prop, value)
        return None

    def lambda_in_uri(self, rid: ResourceId, expr: Any) -> ResourceId | None:
        """The function an API Gateway integration URI invokes."""
        value = self.resolve(rid, expr)
        for target in value.targets:
            fn = self.function_from_value(rid, "Uri", Value((target,)), 0)
            if fn is not None:
                return fn
        match = _INVOCATIONS_ARN.search(value.literal or "")
        if match:
            return self.function_from_value(rid, "Uri", Value((match.group(1),)), 0)
        return None

    def is_function(self, target: Target) -> bool:
        return self.model.types.get(target.resource) == "AWS::Lambda::Function"

    # -- edges ------------------------------------------------------------------------
    def edge(
        self,
        kind: str,
        source: ResourceId | None,
        function: ResourceId,
        via: ResourceId | None,
        *,
        label: str | None = None,
        hop: Hop | None = None,
    ) -> None:
        """Record ``source -> function`` once (the first way it is found wins).

        The hop is judged here, once, by :func:`..hops.judge_hop`, unless the
        caller knows it from the kind of mapping (``hop``).
        """
        key: tuple[object, ...] = (source, function) if source else (kind, label, function)
        if key in self._edge_keys:
            return
        self._edge_keys.add(key)
        judged = hop if hop is not None else judge_hop(self.model, kind, source)
        self.model.event_sources.append(
            EventSource(
                kind=kind,
                label=label or self.model.path_of(source),
                function=function,
                source=source,
                via=via,
                hop=judged.status,
                detail=judged.detail,
                switched_off=judged.switched_off,
            )
        )


# -- plain JSON helpers ------------------------------------------------------------------


def props(res: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's ``Properties`` (empty when missing or not an object)."""
    found = res.get("Properties")
    return found if isinstance(found, dict) else {}


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` as a list: None is empty, a single value is a list of one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _display_path(template: Template, logical_id: str) -> str:
    path = template.paths.get(logical_id)
    if path is None:
        return f"{template.display_name}/{logical_id}"
    return path.removesuffix("/Resource")
