"""Roles, the policies attached to them, and what each function's role lets it call."""

from __future__ import annotations

from typing import Any

from ..aws_facts import NOT_DOWNSTREAM, POLLER_ACTIONS
from ..model import Downstream, Role, Statement
from ..resolve import ResourceId
from .context import Extraction, as_list, props

__all__ = ["extract_downstream", "extract_roles", "statements"]

#: policy resources and the property naming the roles they attach to
_ATTACHERS = (
    ("AWS::IAM::Policy", "Roles"),
    ("AWS::IAM::ManagedPolicy", "Roles"),
    ("AWS::IAM::RolePolicy", "RoleName"),
)


def extract_roles(ctx: Extraction) -> None:
    """Every role with its inline, attached and managed policy statements."""
    #: managed policy -> roles naming it in ManagedPolicyArns (one pass, not roles x policies)
    managed_users: dict[ResourceId, list[ResourceId]] = {}
    for rid, res in ctx.of_type("AWS::IAM::Role"):
        p = props(res)
        role = Role(id=rid, path=ctx.model.path_of(rid))
        for policy in as_list(p.get("Policies")):
            if isinstance(policy, dict):
                name = str(policy.get("PolicyName", "inline"))
                role.statements += statements(ctx, rid, policy.get("PolicyDocument"), name)
        for arn in as_list(p.get("ManagedPolicyArns")):
            value = ctx.resolve(rid, arn)
            target = value.only_target()
            if target is not None and ctx.model.types.get(target.resource) == (
                "AWS::IAM::ManagedPolicy"
            ):
                managed_users.setdefault(target.resource, []).append(rid)
                continue  # attached from the managed policy's side below
            role.managed_policies.append(value.text())
        role_name = ctx.resolve(rid, p.get("RoleName")).literal if "RoleName" in p else None
        if role_name:
            ctx.roles_by_name[role_name] = rid
        ctx.model.roles[rid] = role
    for rtype, key in _ATTACHERS:
        for rid, res in ctx.of_type(rtype):
            p = props(res)
            found = statements(ctx, rid, p.get("PolicyDocument"), ctx.model.path_of(rid))
            for ref in as_list(p.get(key)):
                attached = ctx.role_of(ctx.resolve(rid, ref))
                if attached is not None:
                    attached.statements += found
    for policy, _res in ctx.of_type("AWS::IAM::ManagedPolicy"):
        for role_rid in managed_users.get(policy, ()):
            document = props(ctx.resource(policy)).get("PolicyDocument")
            ctx.model.roles[role_rid].statements += statements(
                ctx, policy, document, ctx.model.path_of(policy)
            )


def statements(ctx: Extraction, rid: ResourceId, document: Any, source: str) -> list[Statement]:
    """The statements of a policy document (resources resolved in ``rid``'s stack)."""
    if not isinstance(document, dict):
        return []
    out = []
    for raw in as_list(document.get("Statement")):
        if not isinstance(raw, dict):
            continue
        out.append(
            Statement(
                effect=str(raw.get("Effect", "Allow")),
                actions=tuple(str(a) for a in as_list(raw.get("Action"))),
                not_actions=tuple(str(a) for a in as_list(raw.get("NotAction"))),
                resources=tuple(ctx.resolve(rid, r) for r in as_list(raw.get("Resource"))),
                source=source,
                has_condition=bool(raw.get("Condition")),
            )
        )
    return out


def extract_downstream(ctx: Extraction) -> None:
    """What each function's role lets its code call: one entry per service and target."""
    model = ctx.model
    for fn in model.functions.values():
        if fn.role is None:
            continue
        seen: dict[tuple[str, ResourceId | None], Downstream] = {}
        for st in fn.role.statements:
            if st.effect != "Allow" or not st.actions:
                continue
            services = {a.split(":", 1)[0].lower() for a in st.actions if ":" in a}
            services -= NOT_DOWNSTREAM
            if not services:
                continue
            calls = tuple(a for a in st.actions if a.split(":", 1)[0].lower() in services)
            if all(a.lower() in POLLER_ACTIONS for a in calls):
                continue  # Lambda's event-source poller, not the function's code
            service = sorted(services)[0]
            for resource in st.resources:
                targets = [t.resource for t in resource.targets]
                if targets and all(t == fn.id for t in targets):
                    continue
                keys: list[ResourceId | None] = list(dict.fromkeys(targets)) or [None]
                for target in keys:
                    entry = seen.get((service, target))
                    if entry is None:
                        label = (
                            model.path_of(target)
                            if target is not None
                            else f"{service} ({resource.text() or '*'})"
                        )
                        entry = Downstream(fn.id, service, label, target, ())
                        seen[(service, target)] = entry
                    entry.actions = tuple(dict.fromkeys(entry.actions + calls))
        model.downstream.extend(seen.values())
