"""S3 upload trigger (aws-samples "s3-lambda" pattern): bucket notification, auto-delete."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S3Trigger")
    bucket = s3.Bucket(
        stack, "Uploads", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    fn = lambda_.Function(stack, "OnUpload", runtime=PY, handler="index.handler", code=plain_code())
    bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED,
        s3n.LambdaDestination(fn),
        s3.NotificationKeyFilter(suffix=".csv"),
    )
    bucket.grant_read(fn)
