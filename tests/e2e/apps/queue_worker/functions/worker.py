"""Store each SQS message body in the jobs table, keyed by the message's job id."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        job = json.loads(record["body"])
        TABLE.put_item(Item={"pk": job["id"], "body": job["body"]})
    return {"stored": len(event["Records"])}
