"""An EventBridge schedule invoking a function (aws-samples "lambda-cron")."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Schedule")
    fn = lambda_.Function(stack, "Nightly", runtime=PY, handler="index.handler", code=plain_code())
    rule = events.Rule(stack, "Cron", schedule=events.Schedule.cron(minute="0", hour="3"))
    rule.add_target(targets.LambdaFunction(fn))
