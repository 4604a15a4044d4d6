"""The one demo run of the session, shared by every e2e module that asserts on it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_lambda_xray.local.appdir import load_flows
from cdk_lambda_xray.local.deploy import CdkCli
from cdk_lambda_xray.local.localaws import LocalAws
from cdk_lambda_xray.local.runner import RunOptions, RunResult, run_app

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The reference app's stack and flows (``demo_flows.py`` next to ``app.py``).
REFERENCE = load_flows(REPO_ROOT / "demo_flows.py")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunResult, str]]:
    """What ``make demo`` did (reference app deployed to MiniStack, flows run) and printed."""
    out = io.StringIO()
    # Timeouts well inside pytest's, so a hang fails here and still tears down.
    options = RunOptions(
        app_dir=REPO_ROOT,
        work_dir=tmp_path_factory.mktemp("demo"),
        stack=REFERENCE.stack,
        flows=REFERENCE.flows,
        bootstrap_timeout=100,
        deploy_timeout=120,
        trace_timeout=30,
    )
    result = run_app(options, out)
    text = out.getvalue()
    print(text)  # shown with -s or on failure
    yield result, text


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """One collector and MiniStack, already bootstrapped, shared by the e2e modules that deploy.

    Every document the collector accepts is also in ``local_aws.traces_path``,
    as with ``python -m cdk_lambda_xray local start``.
    """
    work = tmp_path_factory.mktemp("local-aws")
    with LocalAws(work, node_modules=REPO_ROOT / "node_modules") as local:
        bootstrap_dir = work / "bootstrap"  # no cdk.json: bootstrap needs no app
        bootstrap_dir.mkdir()
        CdkCli(bootstrap_dir, work, endpoint_url=local.endpoint_url, cli_root=REPO_ROOT).bootstrap(
            timeout=100
        )
        yield local
