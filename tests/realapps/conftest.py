"""The regression apps, synthesized once per session: baseline and with ``trace_app``.

All apps are stacks of one CDK app, so the whole suite costs two synths (each
under every cdk-nag pack a serverless team uses), whatever the number of apps.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import apps
import aws_cdk as cdk
import cdk_nag

from cdk_lambda_xray.aspect import trace_app

APPS: list[ModuleType] = apps.load()

#: Every cdk-nag pack a serverless team uses.
PACKS = (
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.ServerlessChecks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.PCIDSS321Checks,
)


def _synth(
    outdir: Path, *, traced: bool, upstream: bool = True, nag: bool = True
) -> SimpleNamespace:
    app = cdk.App(outdir=str(outdir))
    for module in APPS:
        module.build(app)
    if traced:
        trace_app(app, upstream=upstream)
    if nag:
        cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PACKS))
    try:
        app.synth()
    except Exception as err:  # cdk-nag fails the synth on any finding; the report is written
        if "ValidationFailed" not in str(err) and "Validation failed" not in str(err):
            raise
    findings: set[tuple[str, str]] = set()
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if nag else {"pluginReports": []}
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                findings.add((violation["ruleName"], construct["constructPath"]))
    templates: dict[str, dict[str, Any]] = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }
    return SimpleNamespace(outdir=outdir, nag=findings, templates=templates)


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return _synth(tmp_path_factory.mktemp("realapps-baseline"), traced=False)


@pytest.fixture(scope="session")
def traced(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return _synth(tmp_path_factory.mktemp("realapps-traced"), traced=True)


@pytest.fixture(scope="session")
def functions_only(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """``trace_app(app, upstream=False)``: the functions traced, their callers left (no nag)."""
    outdir = tmp_path_factory.mktemp("realapps-functions-only")
    return _synth(outdir, traced=True, upstream=False, nag=False)
