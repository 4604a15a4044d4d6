"""Custom resource (through CDK's provider framework): put a seed item into the table."""

import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    if event["RequestType"] == "Create":
        TABLE.put_item(Item={"pk": "seed", "body": "seeded by the provider framework"})
    return {"PhysicalResourceId": "seed"}
