"""E2E app: SQS -> Python worker -> DynamoDB, with two of CDK's Node.js providers.

The shape real apps use: ``SqsEventSource`` on a plain ``Function``, a table it
writes to, a bucket with ``auto_delete_objects`` (CDK's Node.js handler,
``@aws-sdk/client-s3``) and a custom resource through CDK's provider framework
(``cr.Provider``: a Node.js function invoking a Python one with
``@aws-sdk/client-lambda``) that seeds the table. Two stacks from one definition:
``E2eQueueWorkerBaseline`` as written and ``E2eQueueWorkerTraced`` with
``trace_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_lambda_xray import trace_app

FUNCTIONS: Final = Path(__file__).resolve().parent / "functions"


class QueueWorkerStack(cdk.Stack):
    """A queue feeding a worker that stores each job in a table."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        queue = sqs.Queue(self, "Jobs", visibility_timeout=cdk.Duration.seconds(30))
        table = dynamodb.Table(
            self,
            "Done",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        s3.Bucket(
            self,
            "Archive",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        code = lambda_.Code.from_asset(str(FUNCTIONS), exclude=["__pycache__"])
        seed = lambda_.Function(
            self,
            "Seed",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=code,
            handler="seed.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"TABLE_NAME": table.table_name},
        )
        table.grant_write_data(seed)
        provider = cr.Provider(self, "SeedProvider", on_event_handler=seed)
        cdk.CustomResource(self, "SeedItem", service_token=provider.service_token)
        worker = lambda_.Function(
            self,
            "Worker",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=code,
            handler="worker.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"TABLE_NAME": table.table_name},
        )
        table.grant_write_data(worker)
        worker.add_event_source(sources.SqsEventSource(queue, batch_size=1))
        cdk.CfnOutput(self, "QueueUrl", value=queue.queue_url)
        cdk.CfnOutput(self, "TableName", value=table.table_name)


def build_app() -> cdk.App:
    """The app with both stacks; only the traced one gets ``trace_app``."""
    app = cdk.App()
    QueueWorkerStack(app, "E2eQueueWorkerBaseline")
    trace_app(QueueWorkerStack(app, "E2eQueueWorkerTraced"))
    return app


if __name__ == "__main__":
    build_app().synth()
