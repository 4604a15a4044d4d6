"""Old and new Python runtimes: 3.7-3.9 (deprecated, no layer) and 3.14."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from ._shared import Reason, plain_code

OLD = ("3.7", "3.8", "3.9")

REASONS = [
    Reason(
        "XRAY003",
        f"Runtimes/Python{version.replace('.', '')}",
        "the tracing layer needs python3.10+; the function keeps Active tracing and the fix "
        "is moving it to a supported runtime",
    )
    for version in OLD
]


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Runtimes")
    for version in OLD:
        lambda_.Function(
            stack,
            f"Python{version.replace('.', '')}",
            runtime=lambda_.Runtime(f"python{version}", lambda_.RuntimeFamily.PYTHON),
            handler="index.handler",
            code=plain_code(),
        )
    lambda_.Function(
        stack,
        "Python314",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=plain_code(),
    )
