"""CDK-side appliers: carry out a plan (:mod:`._plan`) on a function resource and its role.

``TracedFunction`` applies its plan on the props it passes to ``lambda_.Function``
and on the L1 afterwards; the aspect applies its plan through
:class:`FunctionTarget`, which writes to the L2 where there is one (so CDK
renders the change) and to raw overrides otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from ._plan import Finding, Level
from .validation import Problem

__all__ = ["FunctionTarget", "attach_aws_managed_policies", "role_of", "same_construct"]


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


@dataclass
class FunctionTarget:
    """One function resource being instrumented, and how to change it."""

    resource: cdk.CfnResource
    props: dict[str, Any]
    l2: lambda_.Function | None

    @property
    def owner(self) -> IConstruct:
        return self.l2 if self.l2 is not None else self.resource

    @property
    def env(self) -> dict[str, Any]:
        variables = (self.props.get("Environment") or {}).get("Variables") or {}
        return dict(variables) if isinstance(variables, dict) else {}

    def env_is_readable(self) -> bool:
        environment = self.props.get("Environment")
        if environment is None:
            return True
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        return variables is None or isinstance(variables, dict)

    def info(self, message: str) -> None:
        cdk.Annotations.of(self.owner).add_info(f"lambda-xray: {message}")

    def report(self, finding: Finding) -> None:
        if finding.level is Level.INFO:
            cdk.Annotations.of(self.owner).add_info(finding.message)
        elif finding.level is Level.WARNING:
            cdk.Annotations.of(self.owner).add_warning_v2(
                f"lambda-xray:{finding.id}", finding.message
            )
        else:
            cdk.Annotations.of(self.owner).add_error(finding.message)

    def warn(self, id: str, problem: Problem) -> None:
        cdk.Annotations.of(self.owner).add_warning_v2(
            f"lambda-xray:{id}", f"lambda-xray: {problem.problem}. Fix: {problem.fix}"
        )

    def error(self, problem: Problem) -> None:
        cdk.Annotations.of(self.owner).add_error(
            f"lambda-xray: {problem.problem}. Fix: {problem.fix}"
        )

    def set_env(self, key: str, value: str) -> None:
        if self.l2 is not None:
            self.l2.add_environment(key, value)
        else:
            self.resource.add_property_override(f"Environment.Variables.{key}", value)

    def set_tracing(self, mode: str) -> None:
        # Set the L1 property where there is one: rule checkers (cdk-nag) read it,
        # not raw overrides.
        if isinstance(self.resource, lambda_.CfnFunction):
            self.resource.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=mode)
        else:
            self.resource.add_property_override("TracingConfig.Mode", mode)

    def set_handler(self, handler: str) -> None:
        if isinstance(self.resource, lambda_.CfnFunction):
            self.resource.handler = handler
        else:
            self.resource.add_property_override("Handler", handler)

    def add_layer(self, layer: lambda_.ILayerVersion, existing: list[Any]) -> None:
        if self.l2 is not None:
            self.l2.add_layers(layer)
        else:
            self.resource.add_property_override("Layers", [*existing, layer.layer_version_arn])


def same_construct(a: IConstruct | None, b: IConstruct | None) -> bool:
    """Same construct? jsii may hand out two Python proxies for one object: compare paths."""
    return a is not None and b is not None and (a is b or a.node.path == b.node.path)


def _parent(resource: cdk.CfnResource) -> Construct:
    scope = resource.node.scope
    return scope if isinstance(scope, Construct) else resource


def role_of(resource: cdk.CfnResource, role_arn: object) -> iam.IRole | None:
    """The role a raw function's ``Role`` points at, if it is a role of this stack."""
    if not (isinstance(role_arn, dict) and list(role_arn) == ["Fn::GetAtt"]):
        return None
    logical_id, attribute = ([*role_arn["Fn::GetAtt"], "", ""])[:2]
    if attribute != "Arn":
        return None
    stack = cdk.Stack.of(resource)
    for candidate in stack.node.find_all():
        if (
            isinstance(candidate, cdk.CfnResource)
            and candidate.cfn_resource_type == "AWS::IAM::Role"
            and same_construct(cdk.Stack.of(candidate), stack)
            and stack.resolve(candidate.logical_id) == logical_id
        ):
            parent = candidate.node.scope
            if isinstance(parent, iam.Role) and same_construct(
                parent.node.default_child, candidate
            ):
                return parent
            return iam.Role.from_role_name(
                _parent(resource),
                f"{resource.node.id}LambdaXrayRoleRef",
                candidate.ref,
            )
    return None
