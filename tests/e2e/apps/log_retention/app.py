"""E2E app: ``AwsCustomResource`` and CDK's ``LogRetention`` provider (both Node.js handlers).

The shape real apps use: a log group whose retention an ``AwsCustomResource``
sets with ``CloudWatchLogs.putRetentionPolicy``, and a Python function with
``log_retention`` (CDK adds its ``LogRetention`` provider). Both handlers
``require("@aws-sdk/client-cloudwatch-logs")``, which Lambda's Node.js runtime
provides. The function reports both retentions, so a flow shows that the custom
resources really ran.

Two stacks from one definition: ``E2eLogRetentionBaseline`` as written and
``E2eLogRetentionTraced`` with ``trace_app``. ``installLatestAwsSdk`` is off
through ``cdk.json`` (CDK's recommended flag), as in apps made by ``cdk init``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_lambda_xray import trace_app

FUNCTIONS: Final = Path(__file__).resolve().parent / "functions"
AUDIT_RETENTION_DAYS: Final = 14
OWN_RETENTION: Final = logs.RetentionDays.ONE_WEEK


class LogRetentionStack(cdk.Stack):
    """A log group whose retention ``AwsCustomResource`` sets; a function with ``log_retention``."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        audit = logs.LogGroup(self, "AuditLog", removal_policy=cdk.RemovalPolicy.DESTROY)
        retention = cr.AwsCustomResource(
            self,
            "AuditRetention",
            on_update=cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="putRetentionPolicy",
                parameters={
                    "logGroupName": audit.log_group_name,
                    "retentionInDays": AUDIT_RETENTION_DAYS,
                },
                physical_resource_id=cr.PhysicalResourceId.of(audit.log_group_name),
            ),
            on_delete=cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="deleteRetentionPolicy",
                parameters={"logGroupName": audit.log_group_name},
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[audit.log_group_arn]),
        )
        reader = lambda_.Function(
            self,
            "Reader",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=lambda_.Code.from_asset(str(FUNCTIONS), exclude=["__pycache__"]),
            handler="reader.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"AUDIT_LOG_GROUP": audit.log_group_name},
            log_retention=OWN_RETENTION,
        )
        reader.node.add_dependency(retention)
        reader.add_to_role_policy(
            iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"])
        )
        cdk.CfnOutput(self, "ReaderFunctionName", value=reader.function_name)


def build_app() -> cdk.App:
    """The app with both stacks; only the traced one gets ``trace_app``."""
    app = cdk.App()
    LogRetentionStack(app, "E2eLogRetentionBaseline")
    trace_app(LogRetentionStack(app, "E2eLogRetentionTraced"))
    return app


if __name__ == "__main__":
    build_app().synth()
