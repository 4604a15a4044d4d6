"""Regression: small apps in the shapes real public CDK apps have, baseline vs ``trace_app``.

Synth only, no network. Each app in ``apps/`` is one stack; both variants are
synthesized once per session under every serverless cdk-nag pack (conftest).
What a user must be able to rely on after the one line ``trace_app(app)``:
every function Active, only the expected kinds of template change, no new
cfn-lint or cdk-nag finding, and the review gate clean at ``warning`` except
for the reasons each app documents (``REASONS``), which must all still apply.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apps import load
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from cdk_lambda_xray.review.review import review_path
from cdk_lambda_xray.review.rules import Severity
from cdk_lambda_xray.review.suppressions import Suppression

APPS = load()
STACKS = sorted(
    {"S3Trigger", "SnsSqsLambda", "ApiLambda", "Schedule", "StepFunctions", "Kinesis"}
    | {"UserLayers", "CustomResources", "NodeJs", "Vpc", "Runtimes", "Roles", "XraySdk"}
)

#: Resource types trace_app may add.
ADDED_TYPES = {
    "AWS::Lambda::LayerVersion",  # the tracing layer, one per stack
    "AWS::IAM::ManagedPolicy",  # the X-Ray write policy (and the state machines' one)
    "AWS::XRay::ResourcePolicy",  # lets SNS send its segments
}
#: Resource type -> the properties trace_app may change.
CHANGED_PROPERTIES = {
    "AWS::Lambda::Function": {"TracingConfig", "Handler", "Layers", "Environment"},
    "AWS::IAM::Role": {"ManagedPolicyArns"},
    "AWS::SNS::Topic": {"TracingConfig"},
    "AWS::ApiGateway::Stage": {"TracingEnabled"},
    "AWS::StepFunctions::StateMachine": {"TracingConfiguration"},
    "AWS::IAM::ManagedPolicy": {"Roles"},
}


def _functions(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}/{logical_id}": resource
        for stack, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def test_every_app_is_synthesized(baseline: SimpleNamespace, traced: SimpleNamespace) -> None:
    assert sorted(baseline.templates) == sorted(traced.templates) == STACKS
    assert len(APPS) == len(STACKS)


def test_every_function_is_active_after_trace_app(traced: SimpleNamespace) -> None:
    modes = {
        name: resource["Properties"].get("TracingConfig")
        for name, resource in _functions(traced.templates).items()
    }
    assert len(modes) >= 25
    assert {name: mode for name, mode in modes.items() if mode != {"Mode": "Active"}} == {}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, str]]:
    """(resource type, what changed) for every difference between two templates."""
    kinds: set[tuple[str, str]] = set()
    old, new = before["Resources"], after["Resources"]
    for logical_id in old.keys() - new.keys():
        kinds.add((old[logical_id]["Type"], "removed"))
    for logical_id in new.keys() - old.keys():
        kinds.add((new[logical_id]["Type"], "added"))
    for logical_id in old.keys() & new.keys():
        a, b = old[logical_id], new[logical_id]
        for key in (a.keys() | b.keys()) - {"Properties"}:
            if a.get(key) != b.get(key):
                kinds.add((a["Type"], key))
        props_a, props_b = a.get("Properties", {}), b.get("Properties", {})
        for prop in props_a.keys() | props_b.keys():
            if props_a.get(prop) != props_b.get(prop):
                kinds.add((a["Type"], prop))
    return kinds


def _expected(kind: tuple[str, str]) -> bool:
    rtype, what = kind
    if what == "added":
        return rtype in ADDED_TYPES
    if what == "DependsOn":  # a raw function waits for the policy attached to its raw role
        return rtype == "AWS::Lambda::Function"
    return what in CHANGED_PROPERTIES.get(rtype, set())


@pytest.mark.parametrize("stack", STACKS)
def test_only_expected_template_changes(
    baseline: SimpleNamespace, traced: SimpleNamespace, stack: str
) -> None:
    kinds = _changes(baseline.templates[stack], traced.templates[stack])
    assert any(rtype == "AWS::Lambda::Function" for rtype, _ in kinds)
    assert {kind for kind in kinds if not _expected(kind)} == set()


def test_no_new_cdk_nag_finding_in_any_pack(
    baseline: SimpleNamespace, traced: SimpleNamespace
) -> None:
    assert traced.nag - baseline.nag == set()
    # The packs ran and do report things (the user's own findings stay visible).
    rules = {rule.split("-", 1)[0] for rule, _ in traced.nag}
    assert {
        "AwsSolutions",
        "Serverless",
        "HIPAA.Security",
        "NIST.800.53.R5",
        "PCI.DSS.321",
    } <= rules
    own_wildcard = (
        "AwsSolutions-IAM5[Resource::*]",
        "Roles/Own/ServiceRole/DefaultPolicy/Resource",
    )
    assert own_wildcard in traced.nag


def _lint(outdir: Any, stack: str) -> set[str]:
    config = ManualArgs(regions=["us-east-1"], ignore_checks=["W3005"])
    matches = lint_file(outdir / f"{stack}.template.json", config=config)
    return {f"{m.rule.id} {m.message}" for m in matches}


def test_no_new_cfn_lint_finding(baseline: SimpleNamespace, traced: SimpleNamespace) -> None:
    new: dict[str, set[str]] = {}
    for stack in STACKS:
        found = _lint(traced.outdir, stack)
        if found:  # lint the baseline only where there is something to compare
            found -= _lint(baseline.outdir, stack)
        if found:
            new[stack] = found
    assert new == {}


def _documented() -> list[Suppression]:
    return [
        Suppression(reason.rule, reason.resource, reason.reason, f"apps.{module.__name__}")
        for module in APPS
        for reason in module.REASONS
    ]


def test_the_review_is_clean_at_warning_except_documented_reasons(
    traced: SimpleNamespace,
) -> None:
    review = review_path(traced.outdir, _documented())
    gating = [f"{f.rule_id} {f.path}: {f.message}" for f in review.findings]
    assert not review.failed(Severity.WARNING), gating
    assert review.unused_suppressions == []  # every documented reason still applies
    assert review.traced == review.total


def test_documented_findings_name_the_next_step_not_trace_app(traced: SimpleNamespace) -> None:
    review = review_path(traced.outdir, _documented())
    fixes = {finding.path: finding.fix for finding, _ in review.suppressed}
    assert fixes["Runtimes/Python39"] == (
        "Move the function to a supported Python runtime (the old one is deprecated by Lambda)."
    )
    assert "merge or drop" in fixes["UserLayers/FiveLayers"].lower()


def test_the_baseline_fails_the_gate(baseline: SimpleNamespace) -> None:
    """The control: the same apps without trace_app fail the gate, so the test above can fail."""
    review = review_path(baseline.outdir)
    assert review.failed(Severity.WARNING)
    assert {"XRAY001", "XRAY003", "XRAY013"} <= {f.rule_id for f in review.findings}


def test_the_aws_xray_sdk_function_is_reported_with_the_migration_path(
    traced: SimpleNamespace,
) -> None:
    review = review_path(traced.outdir)
    (finding,) = [f for f in review.findings if f.rule_id == "XRAY014"]
    assert finding.path == "XraySdk/Traced"
    assert "recorded once" in finding.message
    (fn,) = [f for f in review.model.functions.values() if f.path == "XraySdk/Traced"]
    assert any(m.startswith("lambda-xray:") and "aws_xray_sdk" in m for _, m in fn.annotations)


def test_a_role_with_aws_xray_write_access_gets_no_second_policy(traced: SimpleNamespace) -> None:
    roles = {
        logical_id: resource["Properties"]
        for logical_id, resource in traced.templates["Roles"]["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    (xray_role,) = [props for lid, props in roles.items() if lid.startswith("XrayRole")]
    ours = [arn for arn in xray_role["ManagedPolicyArns"] if isinstance(arn, dict) and "Ref" in arn]
    assert ours == []


def test_the_review_cli_gate_passes_at_warning(traced: SimpleNamespace, tmp_path: Path) -> None:
    """What CI runs: ``review cdk.out --fail-on warning`` with the documented reasons."""
    entries = [{"rule": s.rule, "resource": s.resource, "reason": s.reason} for s in _documented()]
    suppressions = tmp_path / "suppressions.json"
    suppressions.write_text(json.dumps(entries))
    command = [sys.executable, "-m", "cdk_lambda_xray", "review", str(traced.outdir)]
    gate = ["--fail-on", "warning", "--format", "json"]
    passed = subprocess.run(
        [*command, *gate, "--suppressions", str(suppressions)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert passed.returncode == 0, passed.stderr
    failed = subprocess.run([*command, *gate], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1  # without the reasons, the old runtimes fail the gate


def test_without_its_callers_traced_the_review_warns_about_them(
    functions_only: SimpleNamespace,
) -> None:
    """What one line used to leave (issue: XRAY011/XRAY012 after trace_app): the control."""
    review = review_path(functions_only.outdir, _documented())
    upstream = {(f.rule_id, f.path) for f in review.findings}
    assert {
        ("XRAY009", "SnsSqsLambda/Orders"),
        ("XRAY011", "ApiLambda/ItemsApi/DeploymentStage.prod"),
        ("XRAY012", "StepFunctions/Poller"),
    } <= upstream
