"""SNS fan-out to SQS, consumed by a function (serverless pattern "sns-sqs-lambda")."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "SnsSqsLambda")
    topic = sns.Topic(stack, "Orders")
    dlq = sqs.Queue(stack, "Dead")
    queue = sqs.Queue(
        stack,
        "Work",
        visibility_timeout=cdk.Duration.seconds(60),
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=3, queue=dlq),
    )
    topic.add_subscription(subs.SqsSubscription(queue))
    fn = lambda_.Function(
        stack,
        "Consumer",
        runtime=PY,
        handler="index.handler",
        code=plain_code(),
        timeout=cdk.Duration.seconds(30),
    )
    fn.add_event_source(sources.SqsEventSource(queue, batch_size=5))
    # Also a direct topic subscription (serverless pattern "sns-lambda").
    topic.add_subscription(subs.LambdaSubscription(fn))
