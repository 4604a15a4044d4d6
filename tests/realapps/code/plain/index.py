"""A plain handler: the code asset of most regression apps."""

import os

import boto3

TABLE = os.environ.get("TABLE_NAME", "none")


def handler(event, context):
    boto3.client("s3").list_buckets()
    return {"statusCode": 200, "body": TABLE}
