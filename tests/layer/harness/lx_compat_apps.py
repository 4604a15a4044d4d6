"""Two Lambda handlers written the way real functions use aws-xray-sdk and Powertools Tracer.

Each is a template: only its first line, the import, differs between the
original library (``*_IMPORT_ORIGINAL``) and ``lambda_xray.compat``
(``*_IMPORT_COMPAT``); the rest of the file runs unchanged. The events:
``{"url": <canned server>, "order": {"id": "o-1"}}`` (two AWS calls: a
DynamoDB ``PutItem`` and a Step Functions ``StartExecution``, both against
the canned server's ``/ok`` route) and ``"bad": true`` in the order to fail.
"""

from __future__ import annotations

SDK_IMPORT_ORIGINAL = "from aws_xray_sdk.core import patch_all, xray_recorder"
SDK_IMPORT_COMPAT = "from lambda_xray.compat import patch_all, xray_recorder"

SDK_APP = """{import_line}
import asyncio

import boto3
from botocore.config import Config

patch_all()


def _client(service, url):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    config = Config(retries={{"total_max_attempts": 1}}, connect_timeout=2, read_timeout=5)
    return session.client(service, endpoint_url=url + "/ok", config=config)


@xray_recorder.capture("validate_order")
def validate(order):
    xray_recorder.put_annotation("order_id", order["id"])
    if order.get("bad"):
        raise ValueError("order " + order["id"] + " is invalid")


@xray_recorder.capture_async("fetch_price")
async def fetch_price(sku):
    await asyncio.sleep(0)
    return 10


async def prices(skus):
    async with xray_recorder.in_subsegment_async("prices") as subsegment:
        subsegment.put_annotation("count", len(skus))
        return [await fetch_price(sku) for sku in skus]


def handler(event, context):
    order = event["order"]
    validate(order)
    with xray_recorder.in_subsegment("save_order") as subsegment:
        subsegment.put_annotation("table", "orders")
        subsegment.put_metadata("order", {{"id": order["id"], "items": 2}}, "orders")
        _client("dynamodb", event["url"]).put_item(
            TableName="orders", Item={{"pk": {{"S": order["id"]}}}}
        )
    subsegment = xray_recorder.begin_subsegment("notify")
    try:
        subsegment.put_annotation("channel", "sfn")
        _client("stepfunctions", event["url"]).start_execution(
            stateMachineArn="arn:aws:states:eu-west-1:000000000000:stateMachine:ship",
            input="{{}}",
        )
        xray_recorder.current_subsegment().put_metadata("sent", True)
    finally:
        xray_recorder.end_subsegment()
    total = sum(asyncio.run(prices(["a", "b"])))
    return {{"order": order["id"], "total": total}}
"""

POWERTOOLS_IMPORT_ORIGINAL = "from aws_lambda_powertools import Tracer"
POWERTOOLS_IMPORT_COMPAT = "from lambda_xray.compat import Tracer"

POWERTOOLS_APP = """{import_line}
import asyncio
import contextlib

import boto3
from botocore.config import Config

tracer = Tracer(service="payment")


def _client(service, url):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    config = Config(retries={{"total_max_attempts": 1}}, connect_timeout=2, read_timeout=5)
    return session.client(service, endpoint_url=url + "/ok", config=config)


@tracer.capture_method
def charge(order, url):
    tracer.put_annotation("PaymentStatus", "CONFIRMED")
    tracer.put_metadata("charge", {{"order": order["id"]}})
    if order.get("bad"):
        raise ValueError("card declined for " + order["id"])
    _client("dynamodb", url).put_item(TableName="payments", Item={{"pk": {{"S": order["id"]}}}})
    return {{"charged": order["id"]}}


@tracer.capture_method
async def fetch_rate(currency):
    await asyncio.sleep(0)
    return 1.0


@tracer.capture_method
def line_items(order):
    yield from ("a", "b")


@contextlib.contextmanager
@tracer.capture_method
def ledger(order):
    yield {{"order": order["id"]}}


@tracer.capture_lambda_handler
def handler(event, context):
    order = event["order"]
    charge(order, event["url"])
    items = list(line_items(order))
    with ledger(order) as entry:
        tracer.put_annotation("ledger", entry["order"])
    rate = asyncio.run(fetch_rate("EUR"))
    _client("stepfunctions", event["url"]).start_execution(
        stateMachineArn="arn:aws:states:eu-west-1:000000000000:stateMachine:ship", input="{{}}"
    )
    return {{"order": order["id"], "items": len(items), "rate": rate}}
"""


def sdk_app(import_line: str) -> str:
    """The aws-xray-sdk handler with ``import_line`` as its first line."""
    return SDK_APP.format(import_line=import_line)


def powertools_app(import_line: str) -> str:
    """The Powertools Tracer handler with ``import_line`` as its first line."""
    return POWERTOOLS_APP.format(import_line=import_line)
