"""A handler traced with aws_xray_sdk, as the X-Ray developer guide's Python samples do."""

import boto3
from aws_xray_sdk.core import patch_all, xray_recorder

patch_all()


@xray_recorder.capture("list buckets")
def handler(event, context):
    return boto3.client("s3").list_buckets()["Buckets"]
