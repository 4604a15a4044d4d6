"""Reference app: the seed document's two Lambda traces, plus SNS, traced with X-Ray.

- asynchronous: an object uploaded to ``UploadBucket`` invokes ``RecordUpload``,
  which calls DynamoDB ``ListTables`` and then ``PutItem`` into ``Table``;
- synchronous: ``WriteObject``, invoked directly, writes an object to
  ``WriterBucket`` (S3 ``PutObject``);
- SNS: a message published to ``Topic`` (active tracing) invokes ``Notify``,
  which stores it in ``Table``; ``Notify`` sends its trace as OpenTelemetry
  spans (``TraceFormat.OTLP``), the others in the X-Ray format.

``trace_app`` also traces the functions CDK adds on its own (the S3
notifications handler and the auto-delete-objects provider).

Run ``python app.py`` or ``npx cdk synth``; both work offline. Everything is
created with ``RemovalPolicy.DESTROY`` so a demo stack tears down cleanly.
What ``make demo`` does with the deployed stack (its flows, and what each
flow's trace must show) is in ``demo_flows.py`` next to this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_lambda_xray import (
    TracedFunction,
    TracedS3EventSource,
    TracedSnsEventSource,
    TraceFormat,
    trace_app,
)

STACK_ID: Final = "LambdaXrayReference"
FUNCTIONS_DIR: Final = Path(__file__).resolve().parent / "functions"
RUNTIME: Final = lambda_.Runtime.PYTHON_3_12


class ReferenceStack(cdk.Stack):
    """The reference app's single stack (environment-agnostic)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = lambda_.Code.from_asset(
            str(FUNCTIONS_DIR), exclude=["__pycache__", "*.pyc", ".mypy_cache"]
        )

        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        upload_bucket = _demo_bucket(self, "UploadBucket")
        writer_bucket = _demo_bucket(self, "WriterBucket")
        topic = sns.Topic(self, "Topic")

        # Asynchronous: S3 upload -> RecordUpload -> DynamoDB ListTables + PutItem.
        record_upload = TracedFunction(
            self,
            "RecordUpload",
            runtime=RUNTIME,
            code=code,
            handler="record_upload.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"TABLE_NAME": table.table_name},
            service_name="record-upload",
        )
        table.grant_write_data(record_upload)
        record_upload.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:ListTables"], resources=["*"])
        )
        record_upload.add_event_source(
            TracedS3EventSource(
                upload_bucket, sources.S3EventSourceProps(events=[s3.EventType.OBJECT_CREATED])
            )
        )

        # Synchronous: direct invoke -> WriteObject -> S3 PutObject.
        writer = TracedFunction(
            self,
            "WriteObject",
            runtime=RUNTIME,
            code=code,
            handler="write_object.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"BUCKET_NAME": writer_bucket.bucket_name},
            service_name="write-object",
        )
        writer_bucket.grant_put(writer)

        # SNS: publish -> Topic (active tracing) -> Notify -> DynamoDB PutItem,
        # traced as OpenTelemetry spans (the collector shows them like the others).
        notify = TracedFunction(
            self,
            "Notify",
            runtime=RUNTIME,
            code=code,
            handler="notify.handler",
            timeout=cdk.Duration.seconds(10),
            environment={"TABLE_NAME": table.table_name},
            service_name="notify",
            trace_format=TraceFormat.OTLP,
        )
        table.grant_write_data(notify)
        notify.add_event_source(TracedSnsEventSource(topic))  # also turns on topic tracing

        # demo_flows.py (``make demo``) drives the flows through these outputs.
        outputs = {
            "UploadBucketName": upload_bucket.bucket_name,
            "UploadFunctionName": record_upload.function_name,
            "WriterFunctionName": writer.function_name,
            "WriterBucketName": writer_bucket.bucket_name,
            "TopicArn": topic.topic_arn,
            "NotifyFunctionName": notify.function_name,
            "TableName": table.table_name,
        }
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)


def _demo_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )


def build_app(outdir: str | None = None) -> cdk.App:
    """Build (not synthesize) the reference app; ``outdir`` is the cloud assembly dir."""
    app = cdk.App(outdir=outdir)
    ReferenceStack(app, STACK_ID, description="cdk-lambda-xray reference app (X-Ray traced)")
    trace_app(app)
    return app


if __name__ == "__main__":
    build_app().synth()
