"""A function already traced with aws_xray_sdk (the X-Ray developer guide's Python sample)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from ._shared import CODE_DIR, PY, Reason

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "XraySdk")
    lambda_.Function(
        stack,
        "Traced",
        runtime=PY,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(CODE_DIR / "with_xray_sdk")),
        tracing=lambda_.Tracing.ACTIVE,
    )
