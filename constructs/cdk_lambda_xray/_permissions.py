"""The X-Ray write permission, as its own IAM policy on a function's role."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from constructs import Construct, Dependable

from .nag import acknowledge_xray_wildcard

__all__ = ["POLICY_ID", "XRAY_WRITE_ACTIONS", "grant_xray_write", "xray_write_statement"]

#: Construct id of the policy, a child of the function construct.
POLICY_ID = "LambdaXrayWritePolicy"

#: What Lambda's X-Ray daemon needs to send the function's traces.
XRAY_WRITE_ACTIONS: tuple[str, ...] = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def xray_write_statement() -> iam.PolicyStatement:
    """``xray:PutTraceSegments`` + ``xray:PutTelemetryRecords`` on ``*``.

    X-Ray supports no resource scoping for these actions.
    """
    return iam.PolicyStatement(
        sid="LambdaXrayWrite", actions=list(XRAY_WRITE_ACTIONS), resources=["*"]
    )


def grant_xray_write(
    scope: Construct,
    role: iam.IRole,
    function: cdk.CfnResource,
    *,
    policy_id: str = POLICY_ID,
    owned: bool | None = None,
) -> bool:
    """Give ``role`` the X-Ray write statement; ``function`` waits for it.

    A role defined in the app (``iam.Role``) gets the statement in its own
    policy, a child of ``scope`` with the id ``policy_id``, acknowledged for
    cdk-nag; a second call finds it and changes nothing. ``owned=True`` treats a
    role reference as such a role (a raw ``CfnRole`` of the same stack). Any
    other imported role gets it through ``add_to_principal_policy`` (its
    default policy, not acknowledged: other statements may share it). Returns ``False`` when the
    role accepts no statement (imported with ``mutable=False``): the caller
    says so.
    """
    if scope.node.try_find_child(policy_id) is not None:
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
