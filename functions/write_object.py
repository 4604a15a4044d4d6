"""Synchronous flow: invoked directly, writes one object to S3.

Event: ``{"key": str, "body": str}``; ``"fail": true`` raises
``ValueError("requested failure")`` (the demo's failure path). Writes to the
bucket named by ``BUCKET_NAME`` and returns ``{"bucket", "key", "etag"}``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3  # type: ignore[import-untyped]

_s3 = boto3.client("s3")


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Put ``event["body"]`` at ``event["key"]``; returns where it went."""
    if event.get("fail") is True:
        raise ValueError("requested failure")
    key = event.get("key")
    body = event.get("body", "")
    if not isinstance(key, str) or not key:
        raise ValueError('event needs a non-empty string "key"')
    if not isinstance(body, str):
        raise ValueError('"body" must be a string')
    bucket = os.environ["BUCKET_NAME"]
    response = _s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    return {"bucket": bucket, "key": key, "etag": str(response.get("ETag", "")).strip('"')}
