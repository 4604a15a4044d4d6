"""The X-Ray write permission on a function's role.

A role the function created itself (``<function>/ServiceRole``) gets the
statement as an inline policy of its ``AWS::IAM::Role`` resource: no extra
resource, and the function already waits for its role. Any other role of the
app gets it in a policy of its own next to the function
(``<function>/LambdaXrayWritePolicy``), which the function depends on. Either
way the holder of the statement carries the cdk-nag acknowledgement and holds
nothing else.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, Dependable

from .nag import acknowledge_xray_wildcard

__all__ = [
    "INLINE_POLICY_NAME",
    "POLICY_ID",
    "XRAY_WRITE_ACTIONS",
    "add_inline_xray_statement",
    "grant_xray_write",
    "xray_write_document",
    "xray_write_statement",
]

#: Construct id of the separate policy, a child of the function construct.
POLICY_ID = "LambdaXrayWritePolicy"

#: Name of the inline policy on a role the function created itself.
INLINE_POLICY_NAME = "LambdaXrayWrite"

#: What Lambda's X-Ray daemon needs to send the function's traces.
XRAY_WRITE_ACTIONS: tuple[str, ...] = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

_SID = "LambdaXrayWrite"


def xray_write_statement() -> iam.PolicyStatement:
    """``xray:PutTraceSegments`` + ``xray:PutTelemetryRecords`` on ``*``.

    X-Ray supports no resource scoping for these actions.
    """
    return iam.PolicyStatement(sid=_SID, actions=list(XRAY_WRITE_ACTIONS), resources=["*"])


def xray_write_document() -> dict[str, Any]:
    """The same statement as a plain policy document (no jsii object needed)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": _SID, "Effect": "Allow", "Action": list(XRAY_WRITE_ACTIONS), "Resource": "*"}
        ],
    }


def grant_xray_write(
    scope: Construct,
    role: iam.IRole,
    function: cdk.CfnResource,
    *,
    policy_id: str = POLICY_ID,
    owned: bool | None = None,
    own_role: bool = False,
    fresh: bool = False,
) -> bool:
    """Give ``role`` the X-Ray write statement; ``function`` waits for it.

    ``own_role=True`` says ``role`` is the function's own ``ServiceRole``
    (created by ``lambda_.Function`` for this function alone): the statement
    becomes an inline policy of its ``AWS::IAM::Role`` resource, acknowledged
    for cdk-nag on that resource only. ``fresh=True`` says the role was created
    just now, so it cannot hold inline policies yet (one jsii call less);
    otherwise a role that already has inline policies falls through to the
    separate policy below, so nothing the user set is replaced. ``fresh`` also
    skips looking for an earlier policy under ``scope``.

    Any other role defined in the app (``iam.Role``) gets the statement in its
    own policy, a child of ``scope`` with the id ``policy_id``, acknowledged for
    cdk-nag; a second call finds it and changes nothing. ``owned=True`` treats
    a role reference as such a role (a raw ``CfnRole`` of the same stack). Any
    other imported role gets it through ``add_to_principal_policy`` (its
    default policy, not acknowledged: other statements may share it). Returns
    ``False`` when the role accepts no statement (imported with
    ``mutable=False``): the caller says so.
    """
    if own_role and _add_inline(role, fresh=fresh):
        return True
    if not fresh and scope.node.try_find_child(policy_id) is not None:
        return True
    if not (isinstance(role, iam.Role) if owned is None else owned):
        result = role.add_to_principal_policy(xray_write_statement())
        dependable = result.policy_dependable
        # An immutable role claims success but creates nothing to depend on.
        if not result.statement_added or dependable is None:
            return False
        if not Dependable.of(dependable).dependency_roots:
            return False
        function.node.add_dependency(dependable)
        return True
    policy = iam.Policy(scope, policy_id, statements=[xray_write_statement()])
    policy.attach_to_role(role)
    acknowledge_xray_wildcard(policy)
    # Lambda checks the role can write traces when Active tracing is created.
    function.node.add_dependency(policy)
    return True


def _add_inline(role: iam.IRole, *, fresh: bool) -> bool:
    """Put the statement inline into ``role``'s own resource; False if that is not possible.

    Not possible when the role renders no ``AWS::IAM::Role`` (``customizeRoles``
    pre-created roles) or, unless ``fresh``, already has inline policies. The
    function depends on its role already (``lambda_.Function`` adds it), and an
    inline policy exists as soon as its role does, so Lambda's check of the
    permission at create time passes.
    """
    resource = role.node.default_child
    if not isinstance(resource, iam.CfnRole):
        return False
    if not fresh and resource.policies is not None:
        return False
    add_inline_xray_statement(resource)
    return True


def add_inline_xray_statement(resource: iam.CfnRole) -> None:
    """Make the X-Ray statement the inline policy of a role nobody else gave inline policies.

    For the ``AWS::IAM::Role`` of a function's own ``ServiceRole`` only: it
    replaces the resource's ``Policies``, and acknowledges cdk-nag's
    ``AwsSolutions-IAM5[Resource::*]`` on that resource (which then holds no
    other inline statement; the role's ``DefaultPolicy`` is a resource of its
    own and keeps being checked).
    """
    resource.policies = [
        iam.CfnRole.PolicyProperty(
            policy_name=INLINE_POLICY_NAME, policy_document=xray_write_document()
        )
    ]
    acknowledge_xray_wildcard(resource)
