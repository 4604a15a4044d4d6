"""A Kinesis stream consumer (serverless pattern "kinesis-lambda")."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Kinesis")
    stream = kinesis.Stream(stack, "Clicks", shard_count=1)
    fn = lambda_.Function(stack, "Reader", runtime=PY, handler="index.handler", code=plain_code())
    fn.add_event_source(
        sources.KinesisEventSource(stream, starting_position=lambda_.StartingPosition.LATEST)
    )
