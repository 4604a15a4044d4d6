"""cdk-nag 3: the X-Ray statement is acknowledged, nothing else is hidden."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n

from cdk_lambda_xray.aspect import trace_app
from cdk_lambda_xray.function import TracedFunction
from cdk_lambda_xray.nag import XRAY_WILDCARD_FINDING, acknowledge_xray_wildcard

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
IAM5 = "AwsSolutions-IAM5[Resource::*]"


def _xray_policy(scope: cdk.Stack, id: str, role: iam.IRole) -> iam.Policy:
    policy = iam.Policy(
        scope,
        id,
        statements=[
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
            )
        ],
    )
    policy.attach_to_role(role)
    return policy


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("nag")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Nag")
    traced = TracedFunction(
        stack, "Traced", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
    )
    # The user's own wildcard: must still be reported.
    traced.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    passed_role = iam.Role(
        stack, "PassedRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    TracedFunction(
        stack,
        "TracedPassedRole",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=CODE,
        role=passed_role,
    )
    plain = lambda_.Function(
        stack, "Plain", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
    )
    s3.Bucket(stack, "Uploads").add_object_created_notification(s3n.LambdaDestination(plain))
    untraced = lambda_.Function(
        stack, "Untraced", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    _xray_policy(stack, "NotAcknowledged", role)
    acknowledge_xray_wildcard(_xray_policy(stack, "Acknowledged", role))
    trace_app(app, exclude=[untraced])
    cdk.Validations.of(app).add_plugins(
        cdk_nag.AwsSolutionsChecks(app), cdk_nag.ServerlessChecks(app)
    )
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    data = json.loads((Path(outdir) / "validation-report.json").read_text())
    template = json.loads((Path(outdir) / "Nag.template.json").read_text())
    findings: dict[str, set[str]] = {}
    for plugin in data["pluginReports"]:
        for violation in plugin["violations"]:
            paths = {c["constructPath"] for c in violation["violatingConstructs"]}
            findings.setdefault(violation["ruleName"], set()).update(paths)
    notifications = next(
        c.node.path
        for c in stack.node.find_all()
        if isinstance(c, iam.CfnPolicy)
        and "BucketNotificationsHandler" in c.node.path
        and "LambdaXrayWritePolicy" in c.node.path
    )
    return SimpleNamespace(
        findings=findings,
        notifications_policy=notifications,
        xray_holders=_xray_holders(stack, template),
    )


def _xray_holders(stack: cdk.Stack, template: dict[str, Any]) -> set[str]:
    """Construct paths of the resources that hold an X-Ray write statement."""
    holders = set()
    for construct in stack.node.find_all():
        if not isinstance(construct, (iam.CfnPolicy, iam.CfnRole)):
            continue
        resource = template["Resources"][stack.resolve(construct.logical_id)]
        documents = [resource["Properties"].get("PolicyDocument")] + [
            p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])
        ]
        if any(
            "xray:PutTraceSegments" in s["Action"] for d in documents if d for s in d["Statement"]
        ):
            holders.add(construct.node.path)
    return holders


def test_traced_function_role_inline_statement_is_acknowledged(report: SimpleNamespace) -> None:
    assert "Nag/Traced/ServiceRole/Resource" in report.xray_holders
    assert "Nag/Traced/ServiceRole/Resource" not in report.findings[IAM5]


def test_traced_function_policy_for_a_passed_role_is_acknowledged(
    report: SimpleNamespace,
) -> None:
    assert "Nag/TracedPassedRole/LambdaXrayWritePolicy/Resource" in report.xray_holders
    assert "Nag/TracedPassedRole/LambdaXrayWritePolicy/Resource" not in report.findings[IAM5]


def test_aspect_policy_on_cdk_handler_is_acknowledged(report: SimpleNamespace) -> None:
    assert report.notifications_policy in report.xray_holders
    assert report.notifications_policy not in report.findings[IAM5]


def test_aspect_statement_on_plain_function_role_is_acknowledged(report: SimpleNamespace) -> None:
    assert "Nag/Plain/ServiceRole/Resource" in report.xray_holders
    assert "Nag/Plain/ServiceRole/Resource" not in report.findings[IAM5]


def test_every_xray_statement_of_the_constructs_is_acknowledged(report: SimpleNamespace) -> None:
    ours = report.xray_holders - {"Nag/NotAcknowledged/Resource", "Nag/Acknowledged/Resource"}
    assert len(ours) == 4
    assert not ours & report.findings[IAM5]


def test_other_wildcards_of_the_same_role_are_still_reported(report: SimpleNamespace) -> None:
    assert "Nag/Traced/ServiceRole/DefaultPolicy/Resource" in report.findings[IAM5]


def test_an_unacknowledged_xray_policy_is_reported(report: SimpleNamespace) -> None:
    assert "Nag/NotAcknowledged/Resource" in report.findings[IAM5]


def test_acknowledge_xray_wildcard_helper(report: SimpleNamespace) -> None:
    assert "Nag/Acknowledged/Resource" not in report.findings[IAM5]


def test_traced_functions_have_no_lambda_tracing_finding(report: SimpleNamespace) -> None:
    flagged = report.findings.get("Serverless-LambdaTracing", set())
    assert not {p for p in flagged if not p.startswith("Nag/Untraced/")}


def test_lambda_tracing_rule_is_active(report: SimpleNamespace) -> None:
    assert "Nag/Untraced/Resource" in report.findings["Serverless-LambdaTracing"]


def test_finding_id_matches_cdk_nag() -> None:
    assert XRAY_WILDCARD_FINDING == IAM5


def test_the_constructs_do_not_import_cdk_nag() -> None:
    code = (
        "import sys, cdk_lambda_xray.function, cdk_lambda_xray.aspect, cdk_lambda_xray.nag;"
        "sys.exit('cdk_nag' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
