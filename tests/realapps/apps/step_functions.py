"""A Step Functions workflow of two functions (aws-samples "stepfunctions-job-poller" shape)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "StepFunctions")
    submit = lambda_.Function(
        stack, "Submit", runtime=PY, handler="index.handler", code=plain_code()
    )
    check = lambda_.Function(stack, "Check", runtime=PY, handler="index.handler", code=plain_code())
    definition = tasks.LambdaInvoke(stack, "SubmitJob", lambda_function=submit).next(
        tasks.LambdaInvoke(stack, "CheckJob", lambda_function=check)
    )
    sfn.StateMachine(
        stack,
        "Poller",
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=cdk.Duration.minutes(5),
    )
