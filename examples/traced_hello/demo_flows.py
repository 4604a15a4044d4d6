"""The example's flows: ``python -m cdk_lambda_xray demo --app-dir examples/traced_hello``."""

from __future__ import annotations

from cdk_lambda_xray.local.flows import FlowSpec, invoke

STACK = "TracedHello"
FLOWS = (
    FlowSpec(
        "hello",
        "invoke Hello -> DynamoDB",
        "hello.handler",
        (("DynamoDB", "ListTables"),),
        action=invoke("HelloFunctionName", {"name": "demo {stamp}"}),
    ),
    FlowSpec(
        "fail",
        "invoke Hello with fail=true",
        "hello.handler",
        fault_message="asked to fail",
        action=invoke("HelloFunctionName", {"fail": True}, expect_error=True),
    ),
)
