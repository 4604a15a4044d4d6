"""Reviewing an app with 200 functions takes well under a second (after synthesis)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cdk_lambda_xray._contract import ENV_CONTEXT_MISSING, ENV_HANDLER, WRAPPER_HANDLER
from cdk_lambda_xray.review import report_html, report_json, report_markdown
from cdk_lambda_xray.review.review import review_path

FUNCTIONS = 200
BUDGET_S = 1.0


def _resources(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """CDK-shaped resources for ``n`` traced functions, each fed by its own queue."""
    resources: dict[str, Any] = {
        "Layer": {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {
                "Content": {"S3Bucket": "b", "S3Key": "layer.zip"},
                "Description": "lambda-xray: X-Ray tracing for Python handlers",
            },
        },
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    }
    metadata: dict[str, Any] = {"/S": [{"type": "aws:cdk:templateFile", "data": "S.template.json"}]}
    for i in range(n):
        fn, role, policy, queue, esm = (f"Fn{i}", f"Fn{i}Role", f"Fn{i}Policy", f"Q{i}", f"Esm{i}")
        resources[role] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Statement": []},
                "ManagedPolicyArns": [
                    {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                            ],
                        ]
                    }
                ],
            },
        }
        resources[policy] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": policy,
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            "Resource": "*",
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                            "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                            "Resource": [{"Fn::GetAtt": ["Table", "Arn"]}],
                        },
                    ]
                },
            },
        }
        resources[queue] = {"Type": "AWS::SQS::Queue", "Properties": {}}
        resources[fn] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": WRAPPER_HANDLER,
                "Code": {"S3Bucket": "b", "S3Key": f"{i}.zip"},
                "Role": {"Fn::GetAtt": [role, "Arn"]},
                "Layers": [{"Ref": "Layer"}],
                "TracingConfig": {"Mode": "Active"},
                "Environment": {
                    "Variables": {
                        ENV_HANDLER: "index.handler",
                        ENV_CONTEXT_MISSING: "LOG_ERROR",
                        "TABLE_NAME": {"Ref": "Table"},
                    }
                },
            },
        }
        resources[esm] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
                "FunctionName": {"Ref": fn},
            },
        }
        for logical_id in (fn, role, policy, queue, esm):
            metadata[f"/S/{logical_id}/Resource"] = [
                {"type": "aws:cdk:logicalId", "data": logical_id}
            ]
    return resources, metadata


def _write(root: Path, n: int) -> Path:
    resources, metadata = _resources(n)
    root.mkdir()
    (root / "S.template.json").write_text(json.dumps({"Resources": resources}))
    (root / "S.metadata.json").write_text(json.dumps(metadata))
    manifest = {
        "version": "36.0.0",
        "artifacts": {
            "S": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "S.template.json"},
                "additionalMetadataFile": "S.metadata.json",
            }
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_200_functions_are_reviewed_and_reported_well_under_a_second(tmp_path: Path) -> None:
    out = _write(tmp_path / "cdk.out", FUNCTIONS)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        review = review_path(out)
        for render in (report_markdown.render, report_html.render, report_json.render):
            render(review)
        timings.append(time.perf_counter() - start)
    assert review.total == FUNCTIONS and review.traced == FUNCTIONS
    assert review.findings == []  # every generated function is fully traced
    assert len(review.model.event_sources) == FUNCTIONS
    assert min(timings) < BUDGET_S, f"review + 3 reports took {min(timings):.3f} s"
