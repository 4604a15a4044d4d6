"""A Node.js function next to a Python one (mixed-runtime apps)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "NodeJs")
    lambda_.Function(
        stack,
        "Frontend",
        runtime=lambda_.Runtime.NODEJS_22_X,
        handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => ({ statusCode: 200 });"),
    )
    lambda_.Function(stack, "Backend", runtime=PY, handler="index.handler", code=plain_code())
