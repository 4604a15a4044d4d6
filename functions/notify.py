"""SNS flow: each notification from the topic becomes one DynamoDB item.

Subscribed to the stack's topic; for every record it calls ``PutItem`` into the
table named by ``TABLE_NAME``, keyed by the SNS message id.
"""

from __future__ import annotations

import os
from typing import Any

import boto3  # type: ignore[import-untyped]

_dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Store every SNS message; returns the message ids stored."""
    table = os.environ["TABLE_NAME"]
    ids: list[str] = []
    for record in event.get("Records", []):
        message = record["Sns"]
        message_id = message["MessageId"]
        _dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"sns#{message_id}"},
                "source": {"S": "sns"},
                "subject": {"S": message.get("Subject") or ""},
                "message": {"S": message.get("Message", "")},
                "topic_arn": {"S": message.get("TopicArn", "")},
                "timestamp": {"S": message.get("Timestamp", "")},
            },
        )
        ids.append(message_id)
    return {"stored": ids}
