"""L2 functions with their own roles, a passed role shared by two, singletons."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Roles")
    shared = iam.Role(
        stack,
        "SharedRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaBasicExecutionRole"
            )
        ],
    )
    for name in ("First", "Second"):
        lambda_.Function(
            stack, name, runtime=PY, handler="index.handler", code=plain_code(), role=shared
        )
    own = lambda_.Function(stack, "Own", runtime=PY, handler="index.handler", code=plain_code())
    own.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    with_xray = iam.Role(
        stack,
        "XrayRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AWSXrayWriteOnlyAccess")],
    )
    lambda_.Function(
        stack, "HasXray", runtime=PY, handler="index.handler", code=plain_code(), role=with_xray
    )
    for user in ("UserA", "UserB"):
        lambda_.SingletonFunction(
            stack,
            f"Singleton{user}",
            uuid="5d1e7f3a-0d51-4c4f-9b5e-5a4b3c2d1e0f",
            runtime=PY,
            handler="index.handler",
            code=plain_code(),
        )
