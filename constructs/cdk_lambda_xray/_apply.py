"""CDK-side helpers that carry out parts of a plan (:mod:`._plan`) on a function's role."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_iam as iam

__all__ = ["attach_aws_managed_policies"]


def attach_aws_managed_policies(role: iam.IRole, names: Iterable[str]) -> bool:
    """Attach AWS managed policies (by name) to ``role``, a role of the app.

    Returns ``False`` for a role that is not an ``iam.Role`` of the app: an
    imported role ignores managed policies, and the caller says so.
    """
    if not isinstance(role, iam.Role):
        return False
    for name in names:
        role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(name))
    return True
