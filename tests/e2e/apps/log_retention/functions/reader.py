"""Report the retention of the audit log group and of this function's own log group."""

import os

import boto3

LOGS = boto3.client("logs")


def _retention(name):
    groups = LOGS.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((g.get("retentionInDays") for g in groups if g["logGroupName"] == name), None)


def handler(event, context):
    return {
        "audit": _retention(os.environ["AUDIT_LOG_GROUP"]),
        "own": _retention(f"/aws/lambda/{context.function_name}"),
    }
