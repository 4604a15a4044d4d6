"""Upstream resources that can trace a hop: SNS topics, REST API stages, state machines,
and the X-Ray resource policies that let a service send segments."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from ..files import AssemblyError, parse_json_text
from ..model import ApiStage, StateMachine, Topic, XRayPolicy
from ..resolve import ResourceId, Value
from .context import Extraction, as_list, mapping, props, str_or_none, truthy

__all__ = ["extract_upstream"]


def extract_upstream(ctx: Extraction) -> None:
    """Topics, stages, state machines and X-Ray resource policies (before event sources)."""
    _topics(ctx)
    _stages(ctx)
    _state_machines(ctx)
    _xray_policies(ctx)


def _topics(ctx: Extraction) -> None:
    for rid, res in ctx.of_type("AWS::SNS::Topic"):
        tracing = str_or_none(props(res).get("TracingConfig"))
        ctx.model.topics[rid] = Topic(id=rid, path=ctx.model.path_of(rid), tracing=tracing)


def _stage(ctx: Extraction, rid: ResourceId, p: Mapping[str, Any], tracing: Any) -> ApiStage:
    api = ctx.resolve(rid, p.get("RestApiId")).only_target()
    return ApiStage(
        id=rid,
        path=ctx.model.path_of(rid),
        api=api.resource if api else None,
        stage_name=str_or_none(p.get("StageName")),
        tracing_enabled=truthy(tracing),
    )


def _stages(ctx: Extraction) -> None:
    for rid, res in ctx.of_type("AWS::ApiGateway::Stage"):
        p = props(res)
        ctx.model.stages.append(_stage(ctx, rid, p, p.get("TracingEnabled")))
    for rid, res in ctx.of_type("AWS::ApiGateway::Deployment"):
        p = props(res)
        if p.get("StageName"):  # a deployment that creates its stage
            tracing = mapping(p.get("StageDescription")).get("TracingEnabled")
            ctx.model.stages.append(_stage(ctx, rid, p, tracing))


def _state_machines(ctx: Extraction) -> None:
    for rid, res in ctx.of_type("AWS::StepFunctions::StateMachine"):
        p = props(res)
        functions: list[ResourceId] = []
        exprs = [p.get("DefinitionString"), p.get("Definition")]
        exprs += list(mapping(p.get("DefinitionSubstitutions")).values())
        for expr in exprs:
            for sub in _walk_values(expr):
                for target in ctx.resolve(rid, sub).targets:
                    fn = ctx.function_from_value(rid, "Definition", Value((target,)), 0)
                    if fn is not None and fn not in functions:
                        functions.append(fn)
        ctx.model.state_machines[rid] = StateMachine(
            id=rid,
            path=ctx.model.path_of(rid),
            tracing_enabled=truthy(mapping(p.get("TracingConfiguration")).get("Enabled")),
            functions=tuple(functions),
            role=ctx.role_of(ctx.resolve(rid, p.get("RoleArn"))),
        )


def _walk_values(expr: Any) -> Iterator[Any]:
    """Yield the intrinsic-bearing leaves of a JSON-ish structure (for definitions)."""
    if isinstance(expr, dict):
        if len(expr) == 1 and next(iter(expr)).startswith(("Fn::", "Ref")):
            yield expr
            return
        for item in expr.values():
            yield from _walk_values(item)
    elif isinstance(expr, list):
        for item in expr:
            yield from _walk_values(item)


def _xray_policies(ctx: Extraction) -> None:
    for rid, res in ctx.of_type("AWS::XRay::ResourcePolicy"):
        value = ctx.resolve(rid, props(res).get("PolicyDocument"))
        ctx.model.xray_policies.append(parse_xray_policy(rid, ctx.model.path_of(rid), value))


def parse_xray_policy(rid: ResourceId, path: str, value: Value) -> XRayPolicy:
    """Read an X-Ray resource policy document whose text may embed references."""
    placeholders: dict[str, Value] = {}
    chunks: list[str] = []
    for index, part in enumerate(value.parts):
        if isinstance(part, str):
            chunks.append(part)
        else:
            token = f"@@ref{index}@@"
            placeholders[token] = Value((part,))
            chunks.append(token)
    try:  # the assembly's JSON limits (numbers, depth) apply to the embedded document too
        document = parse_json_text("".join(chunks), "the policy document")
    except AssemblyError as exc:
        return XRayPolicy(rid, path, frozenset(), None, parse_error=f"not JSON: {exc}")
    services: set[str] = set()
    topics: set[ResourceId] = set()
    unrestricted = False
    for st in as_list(mapping(document).get("Statement")):
        st = mapping(st)
        if st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(st.get("Action"))]
        if not any(fnmatchcase("xray:puttracesegments", a.lower()) for a in actions):
            continue
        granted = {str(s) for s in as_list(mapping(st.get("Principal")).get("Service"))}
        services |= granted
        arns = _source_arns(mapping(st.get("Condition")))
        if arns is None:
            unrestricted = True
            continue
        for arn in arns:
            refs = [placeholders[t] for t in re.findall(r"@@ref\d+@@", arn) if t in placeholders]
            found = [t.resource for v in refs for t in v.targets]
            if not found:
                unrestricted = True  # a literal pattern: not tied to topics in this app
            topics.update(found)
    return XRayPolicy(rid, path, frozenset(services), None if unrestricted else frozenset(topics))


def _source_arns(condition: Mapping[str, Any]) -> list[str] | None:
    found: list[str] | None = None
    for clauses in condition.values():
        for key, values in mapping(clauses).items():
            if key.lower() == "aws:sourcearn":
                found = (found or []) + [str(v) for v in as_list(values)]
    return found
