"""Asynchronous flow: an object uploaded to S3 is recorded in DynamoDB.

Invoked by the bucket's ``ObjectCreated`` notification. For each record it calls
DynamoDB ``ListTables`` (the downstream call in the seed's asynchronous trace),
then ``PutItem`` into the table named by ``TABLE_NAME``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped]

_dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record every uploaded object; returns the keys recorded."""
    table = os.environ["TABLE_NAME"]
    tables = _dynamodb.list_tables(Limit=10).get("TableNames", [])
    keys: list[str] = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])  # S3 event keys are URL-encoded
        _dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": key},
                "source": {"S": "s3"},
                "bucket": {"S": s3["bucket"]["name"]},
                "size": {"N": str(s3["object"].get("size", 0))},
                "event_time": {"S": record.get("eventTime", "")},
            },
        )
        keys.append(key)
    return {"recorded": keys, "tables_seen": len(tables)}
