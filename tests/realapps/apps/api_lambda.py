"""API Gateway REST API in front of functions (aws-samples "api-cors-lambda" shape)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "ApiLambda")
    table = dynamodb.Table(
        stack,
        "Items",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    )
    get_items = lambda_.Function(
        stack,
        "GetItems",
        runtime=PY,
        handler="index.handler",
        code=plain_code(),
        environment={"TABLE_NAME": table.table_name},
    )
    table.grant_read_data(get_items)
    api = apigw.RestApi(stack, "ItemsApi")
    items = api.root.add_resource("items")
    items.add_method("GET", apigw.LambdaIntegration(get_items))
    apigw.LambdaRestApi(
        stack,
        "ProxyApi",
        handler=lambda_.Function(
            stack, "Proxy", runtime=PY, handler="index.handler", code=plain_code()
        ),
    )
