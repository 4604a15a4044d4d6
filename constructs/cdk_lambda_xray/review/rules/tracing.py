"""Rules on the function itself: tracing mode and the role's X-Ray permission."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Final

from ..aws_facts import XRAY_WRITE_ACTIONS, XRAY_WRITE_MANAGED_POLICIES
from ..model import Function, Model, Role
from ..resolve import Value
from .base import Finding, Rule, Severity


def _tracing_not_active(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if fn.internal is not None or fn.traced:
            continue
        mode = fn.tracing_mode or "not set (Lambda's default is PassThrough)"
        yield TRACING_NOT_ACTIVE.finding(
            model,
            fn.id,
            f"tracing mode is {mode}: Lambda records this function only when a caller "
            "already sampled the request, so most invocations are missing from X-Ray",
            functions=(fn.id,),
        )


TRACING_NOT_ACTIVE: Final = Rule(
    id="XRAY001",
    name="function-tracing-not-active",
    severity=Severity.ERROR,
    summary="A function's tracing mode is not Active.",
    fix="Use TracedFunction, apply trace_app(app), or set tracing=lambda_.Tracing.ACTIVE "
    "(raw CfnFunction: tracing_config={'mode': 'Active'}).",
    check=_tracing_not_active,
    applied_fix="Set tracing=lambda_.Tracing.ACTIVE on the function itself (raw CfnFunction: "
    "tracing_config={'mode': 'Active'}): trace_app keeps a tracing mode a function sets.",
)


def missing_xray_actions(role: Role) -> list[str]:
    """The X-Ray write actions ``role`` does not allow (explicit Deny wins)."""
    if any(_managed_name(arn) in XRAY_WRITE_MANAGED_POLICIES for arn in role.managed_policies):
        allowed = set(XRAY_WRITE_ACTIONS)
    else:
        allowed = set()
    for st in role.statements:
        if st.effect == "Allow" and _applies_to_any(st.resources):
            allowed |= {a for a in XRAY_WRITE_ACTIONS if _grants(st.actions, st.not_actions, a)}
    for st in role.statements:
        if st.effect == "Deny" and _applies_to_any(st.resources):
            allowed -= {a for a in XRAY_WRITE_ACTIONS if _grants(st.actions, st.not_actions, a)}
    return [a for a in XRAY_WRITE_ACTIONS if a not in allowed]


def _managed_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _applies_to_any(resources: tuple[Value, ...]) -> bool:
    # X-Ray's write actions support no resource scoping: only "*" grants them.
    return any(r.literal == "*" for r in resources)


def _grants(actions: tuple[str, ...], not_actions: tuple[str, ...], action: str) -> bool:
    wanted = action.lower()
    if actions:
        return any(fnmatchcase(wanted, a.lower()) for a in actions)
    return bool(not_actions) and not any(fnmatchcase(wanted, a.lower()) for a in not_actions)


def _no_xray_permission(model: Model) -> Iterator[Finding]:
    for fn in model.functions.values():
        if not fn.traced:
            continue
        finding = _permission_finding(model, fn)
        if finding is not None:
            yield finding


def _permission_finding(model: Model, fn: Function) -> Finding | None:
    if fn.role is None:
        return NO_XRAY_PERMISSION.finding(
            model,
            fn.id,
            f"the execution role ({fn.role_text or 'unknown'}) is not defined in this app, "
            "so its X-Ray write permission cannot be checked",
            severity=Severity.INFO,
            functions=(fn.id,),
        )
    missing = missing_xray_actions(fn.role)
    if not missing:
        return None
    return NO_XRAY_PERMISSION.finding(
        model,
        fn.id,
        f"role {fn.role.path} does not allow {', '.join(missing)} on '*': "
        "Lambda cannot send this function's segments",
        functions=(fn.id,),
    )


NO_XRAY_PERMISSION: Final = Rule(
    id="XRAY002",
    name="function-role-missing-xray-write",
    severity=Severity.ERROR,
    summary="A traced function's role cannot write to X-Ray.",
    fix="Use TracedFunction (it grants the actions), or add a statement allowing "
    "xray:PutTraceSegments and xray:PutTelemetryRecords on '*' (or attach "
    "AWSXRayDaemonWriteAccess).",
    check=_no_xray_permission,
    applied_fix="Add xray:PutTraceSegments and xray:PutTelemetryRecords on '*' to the role where "
    "it is defined (or attach AWSXRayDaemonWriteAccess): the constructs could not change it.",
)
