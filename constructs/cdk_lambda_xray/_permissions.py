"""The X-Ray write permission on a function's role.

The statement lives in one customer managed policy per stack,
``LambdaXrayWriteAccess`` (an ``AWS::IAM::ManagedPolicy`` at the top of the
stack, holding nothing else), attached to the role of every traced function.
Why a managed policy and not an inline one: cdk-nag's packs judge inline
policies, not customer managed ones, except for wildcards:

- ``AwsSolutions-IAM5`` flags ``Resource: "*"`` in any policy: acknowledged on
  this policy only (it holds only the X-Ray statement);
- ``Serverless-LambdaStarPermissions`` reads only a Lambda role's inline
  ``Policies``: never touched here;
- ``HIPAA.Security`` / ``NIST.800.53.R5`` / ``PCI.DSS.321-IAMNoInlinePolicy``
  flag every ``AWS::IAM::Policy`` and every role with inline ``Policies``: none
  is created;
- ``AwsSolutions-IAM4`` flags only AWS managed policies (``:iam::aws:``).

A role of the app gets it in its ``ManagedPolicyArns``; the function already
waits for its role (``Fn::GetAtt``), so Lambda's check of the permission when
Active tracing is created passes. A role that already has
``AWSXrayWriteOnlyAccess`` or ``AWSXRayDaemonWriteAccess`` gets nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, Dependable

from . import ids
from ._instrument import stack_of
from ._reflect import resolved_properties
from .errors import TracingConfigError
from .nag import acknowledge_xray_wildcard

__all__ = [
    "MANAGED_POLICY_ID",
    "XRAY_WRITE_ACTIONS",
    "XRAY_WRITE_MANAGED_POLICIES",
    "grant_xray_write",
    "has_xray_write_managed_policy",
    "shared_managed_policy",
    "xray_write_policy",
    "xray_write_statement",
]

#: Construct id of the stack's managed policy, a child of the stack. Changing
#: it replaces the policy in every deployed stack (a breaking change).
MANAGED_POLICY_ID = ids.WRITE_ACCESS_POLICY

#: What Lambda's X-Ray daemon needs to send the function's traces.
XRAY_WRITE_ACTIONS: tuple[str, ...] = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

#: AWS managed policies that already grant both actions (nothing to add then).
XRAY_WRITE_MANAGED_POLICIES: frozenset[str] = frozenset(
    {"AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess"}
)

_SID = "LambdaXrayWrite"

#: construct id -> the shared managed policy of each stack found or created so far
_POLICIES: dict[str, weakref.WeakKeyDictionary[cdk.Stack, iam.ManagedPolicy]] = {}
#: role names (tokens) a shared policy names in its ``Roles`` so far
_ATTACHED: weakref.WeakKeyDictionary[iam.ManagedPolicy, set[str]] = weakref.WeakKeyDictionary()


def xray_write_statement() -> iam.PolicyStatement:
    """``xray:PutTraceSegments`` + ``xray:PutTelemetryRecords`` on ``*``.

    X-Ray supports no resource scoping for these actions.
    """
    return iam.PolicyStatement(sid=_SID, actions=list(XRAY_WRITE_ACTIONS), resources=["*"])


def xray_write_policy(scope: Construct) -> iam.ManagedPolicy:
    """The stack's ``LambdaXrayWriteAccess`` managed policy, created on first use.

    It holds only the X-Ray write statement and carries the cdk-nag
    acknowledgement of ``AwsSolutions-IAM5[Resource::*]``.
    """
    return shared_managed_policy(
        scope,
        MANAGED_POLICY_ID,
        xray_write_statement,
        "lambda-xray: lets Lambda send the traces of functions with Active tracing "
        "(X-Ray allows no resource scoping for these actions)",
    )


def shared_managed_policy(
    scope: Construct,
    id: str,
    statement: Callable[[], iam.PolicyStatement],
    description: str,
    reason: str | None = None,
) -> iam.ManagedPolicy:
    """A managed policy at the top of ``scope``'s stack holding only ``statement()``.

    Created on first use, found afterwards (remembered per stack). It holds
    nothing but X-Ray actions on ``*``, so the cdk-nag acknowledgement of
    ``AwsSolutions-IAM5[Resource::*]`` (with ``reason``) covers exactly them.
    """
    stack = stack_of(scope)
    cache = _POLICIES.setdefault(id, weakref.WeakKeyDictionary())
    cached = cache.get(stack)
    if cached is not None:
        return cached
    existing = stack.node.try_find_child(id)
    if existing is None:
        existing = iam.ManagedPolicy(stack, id, description=description, statements=[statement()])
        acknowledge_xray_wildcard(existing, reason)
    if not isinstance(existing, iam.ManagedPolicy):
        raise TracingConfigError(
            existing.node.path,
            f"the construct id {id!r} is taken by a {type(existing).__name__}",
            "rename that construct; cdk_lambda_xray's shared X-Ray policy needs this id",
        )
    cache[stack] = existing
    return existing


def has_xray_write_managed_policy(role: iam.IRole) -> bool:
    """True when ``role`` (a role of the app) already has an AWS managed X-Ray write policy."""
    resource = role.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        return False
    props = resolved_properties(resource) or {}
    return any(_managed_name(arn) in XRAY_WRITE_MANAGED_POLICIES for arn in _list(props))


def _list(props: dict[str, Any]) -> list[Any]:
    arns = props.get("ManagedPolicyArns")
    return arns if isinstance(arns, list) else []


def _managed_name(arn: Any) -> str:
    """The policy name at the end of an ARN, also inside ``Fn::Join`` (CDK's rendering)."""
    if isinstance(arn, dict) and list(arn) == ["Fn::Join"]:
        parts = arn["Fn::Join"][1] if len(arn["Fn::Join"]) == 2 else []
        arn = "".join(p for p in parts if isinstance(p, str))
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) else ""


def grant_xray_write(
    role: iam.IRole,
    function: cdk.CfnResource,
    *,
    owned: bool | None = None,
    fresh: bool = False,
    stack_scope: Construct | None = None,
) -> bool:
    """Give ``role`` the X-Ray write permission; ``function`` can send its traces.

    A role defined in the app (``iam.Role``; ``owned=True`` for a reference to
    a raw ``CfnRole`` of the same stack) gets the stack's
    :func:`xray_write_policy`, unless it already has an AWS managed X-Ray write
    policy. ``fresh=True`` says the role was created just now by
    ``lambda_.Function`` (it cannot have such a policy: one read less);
    ``stack_scope``, any construct of the role's stack, saves asking for it.

    Any other imported role gets the statement through
    ``add_to_principal_policy`` (its default policy, not acknowledged: other
    statements may share it). Returns ``False`` when the role accepts no
    statement (imported with ``mutable=False``): the caller says so.
    """
    app_role = isinstance(role, iam.Role) if owned is None else owned
    if not app_role:
        return _grant_imported(role, function)
    if not fresh and has_xray_write_managed_policy(role):
        return True
    if isinstance(role, iam.Role):
        # In the role's own ManagedPolicyArns: the function waits for its role already.
        role.add_managed_policy(xray_write_policy(stack_scope or role))
        return True
    policy = xray_write_policy(function)
    # Two raw functions may share a raw role (each with its own reference to it).
    attached = _ATTACHED.setdefault(policy, set())
    if role.role_name not in attached:
        attached.add(role.role_name)
        policy.attach_to_role(role)
    function.node.add_dependency(policy)
    return True


def _grant_imported(role: iam.IRole, function: cdk.CfnResource) -> bool:
    result = role.add_to_principal_policy(xray_write_statement())
    dependable = result.policy_dependable
    # An immutable role claims success but creates nothing to depend on.
    if not result.statement_added or dependable is None:
        return False
    if not Dependable.of(dependable).dependency_roots:
        return False
    function.node.add_dependency(dependable)
    return True
