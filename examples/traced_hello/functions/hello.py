"""Greets the event's ``name`` after one traced AWS call (DynamoDB ``ListTables``)."""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped]

_dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``{"greeting": "hello, NAME", "tables": N}``; raises if the event asks to fail."""
    if event.get("fail") is True:
        raise ValueError("asked to fail")
    tables = _dynamodb.list_tables(Limit=10).get("TableNames", [])
    return {"greeting": f"hello, {event.get('name', 'world')}", "tables": len(tables)}
