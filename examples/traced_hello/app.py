"""A tiny traced app for ``python -m cdk_lambda_xray local`` (docs/local.md).

One stack, ``TracedHello``, with one ``TracedFunction`` (``hello.handler``) that
lists the DynamoDB tables and greets whoever the event names. Its output
``HelloFunctionName`` is what ``local invoke`` takes::

    python -m cdk_lambda_xray local start &
    python -m cdk_lambda_xray local deploy --app-dir examples/traced_hello --stack TracedHello
    python -m cdk_lambda_xray local invoke HelloFunctionName --payload '{"name": "you"}'
    python -m cdk_lambda_xray local traces --wait-for hello.handler
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_lambda_xray import TracedFunction

STACK_ID: Final = "TracedHello"
FUNCTIONS: Final = Path(__file__).resolve().parent / "functions"


class HelloStack(cdk.Stack):
    """One traced Python function and its name as an output."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        hello = TracedFunction(
            self,
            "Hello",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=lambda_.Code.from_asset(str(FUNCTIONS), exclude=["__pycache__", "*.pyc"]),
            handler="hello.handler",
            timeout=cdk.Duration.seconds(10),
            service_name="hello",
        )
        hello.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:ListTables"], resources=["*"])
        )
        cdk.CfnOutput(self, "HelloFunctionName", value=hello.function_name)


if __name__ == "__main__":
    app = cdk.App()
    HelloStack(app, STACK_ID)
    app.synth()
