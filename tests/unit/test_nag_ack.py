"""cdk-nag 3 under every serverless pack: tracing adds no finding, hides none of the user's."""

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

from cdk_lambda_xray._permissions import MANAGED_POLICY_ID
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


#: Every cdk-nag pack a serverless team uses.
PACKS = (
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.ServerlessChecks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.PCIDSS321Checks,
)


def _synth_with_every_pack(app: cdk.App, outdir: Path) -> dict[str, set[str]]:
    """Synthesize under every pack; rule name -> construct paths it flags."""
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PACKS))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    data = json.loads((outdir / "validation-report.json").read_text())
    findings: dict[str, set[str]] = {}
    for plugin in data["pluginReports"]:
        for violation in plugin["violations"]:
            paths = {c["constructPath"] for c in violation["violatingConstructs"]}
            findings.setdefault(violation["ruleName"], set()).update(paths)
    return findings


def _app(outdir: Path, *, traced: bool) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Nag")
    if traced:
        fn: lambda_.Function = TracedFunction(
            stack, "Traced", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
        )
    else:
        fn = lambda_.Function(
            stack, "Traced", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
        )
    # The user's own wildcard: must still be reported.
    fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    passed_role = iam.Role(
        stack, "PassedRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    kind = TracedFunction if traced else lambda_.Function
    kind(
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
    # A Lambda role with a wildcard in an inline policy of the user's: the control
    # that Serverless-LambdaStarPermissions does fire.
    starred = iam.Role(
        stack,
        "StarredRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={
            "Mine": iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["*"])]
            )
        },
    )
    lambda_.Function(
        stack,
        "Starred",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=CODE,
        role=starred,
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    _xray_policy(stack, "NotAcknowledged", role)
    acknowledge_xray_wildcard(_xray_policy(stack, "Acknowledged", role))
    if traced:
        trace_app(app, exclude=[untraced])
    return app, stack


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("nag")
    app, stack = _app(outdir, traced=True)
    findings = _synth_with_every_pack(app, outdir)
    template = json.loads((outdir / "Nag.template.json").read_text())
    baseline_dir = tmp_path_factory.mktemp("nag-baseline")
    baseline = _synth_with_every_pack(_app(baseline_dir, traced=False)[0], baseline_dir)
    return SimpleNamespace(
        findings=findings,
        baseline=baseline,
        xray_holders=_xray_holders(stack, template),
    )


def _xray_holders(stack: cdk.Stack, template: dict[str, Any]) -> set[str]:
    """Construct paths of the resources that hold an X-Ray write statement."""
    holders = set()
    for construct in stack.node.find_all():
        if not isinstance(construct, (iam.CfnPolicy, iam.CfnRole, iam.CfnManagedPolicy)):
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


SHARED = f"Nag/{MANAGED_POLICY_ID}/Resource"


def test_the_constructs_hold_the_statement_in_one_managed_policy(report: SimpleNamespace) -> None:
    ours = report.xray_holders - {"Nag/NotAcknowledged/Resource", "Nag/Acknowledged/Resource"}
    assert ours == {SHARED}


def test_the_shared_managed_policy_is_acknowledged(report: SimpleNamespace) -> None:
    assert SHARED not in report.findings[IAM5]


def test_tracing_adds_no_finding_in_any_pack(report: SimpleNamespace) -> None:
    new = {
        (rule, path)
        for rule, paths in report.findings.items()
        for path in paths
        if path not in report.baseline.get(rule, set())
    }
    assert new == set()


def test_the_serverless_star_permissions_rule_passes_for_traced_functions(
    report: SimpleNamespace,
) -> None:
    flagged = report.findings.get("Serverless-LambdaStarPermissions", set())
    assert flagged == {"Nag/StarredRole/Resource"}


def test_no_inline_policy_rule_flags_what_tracing_added(report: SimpleNamespace) -> None:
    for rule in (
        "HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
    ):
        assert SHARED not in report.findings[rule]
        assert "Nag/StarredRole/Resource" in report.findings[rule]  # the control fires


def test_other_wildcards_of_the_same_role_are_still_reported(report: SimpleNamespace) -> None:
    assert "Nag/Traced/ServiceRole/DefaultPolicy/Resource" in report.findings[IAM5]
    assert "Nag/StarredRole/Resource" in report.findings[IAM5]


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
