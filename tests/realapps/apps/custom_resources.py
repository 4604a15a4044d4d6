"""AwsCustomResource and log retention: CDK's hidden provider functions (Node.js)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "CustomResources")
    lambda_.Function(
        stack,
        "Retained",
        runtime=PY,
        handler="index.handler",
        code=plain_code(),
        log_retention=logs.RetentionDays.ONE_WEEK,
    )
    cr.AwsCustomResource(
        stack,
        "ReadParameter",
        on_update=cr.AwsSdkCall(
            service="SSM",
            action="getParameter",
            parameters={"Name": "/app/config"},
            physical_resource_id=cr.PhysicalResourceId.of("app-config"),
        ),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
            resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
        ),
        log_retention=logs.RetentionDays.ONE_DAY,
        install_latest_aws_sdk=False,
    )
