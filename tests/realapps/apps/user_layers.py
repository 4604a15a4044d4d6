"""Functions with their own layers (shared-code layer pattern); one already at Lambda's five."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from ._shared import CODE_DIR, PY, Reason, plain_code

REASONS = [
    Reason(
        "XRAY003",
        "UserLayers/FiveLayers",
        "five layers of its own already: Lambda allows no sixth (it keeps Active tracing)",
    )
]


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "UserLayers")
    shared = lambda_.LayerVersion(
        stack,
        "Shared",
        code=lambda_.Code.from_asset(str(CODE_DIR / "plain")),
        compatible_runtimes=[PY],
        description="shared helpers",
    )
    lambda_.Function(
        stack, "WithLayer", runtime=PY, handler="index.handler", code=plain_code(), layers=[shared]
    )
    arns = [f"arn:aws:lambda:us-east-1:123456789012:layer:lib{i}:1" for i in range(4)]
    lambda_.Function(
        stack,
        "FiveLayers",
        runtime=PY,
        handler="index.handler",
        code=plain_code(),
        layers=[
            shared,
            *(
                lambda_.LayerVersion.from_layer_version_arn(stack, f"Lib{i}", arn)
                for i, arn in enumerate(arns)
            ),
        ],
    )
