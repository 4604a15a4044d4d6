"""The one demo run the e2e tests share (session scope: a deploy costs a minute or more)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_lambda_xray.local.demo import DemoOptions, DemoResult, run_demo

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoResult, str]]:
    """``make demo`` against MiniStack: its result and everything it printed."""
    out = io.StringIO()
    # Timeouts well inside pytest's, so a hang fails here and still tears down.
    options = DemoOptions(
        app_dir=REPO_ROOT,
        work_dir=tmp_path_factory.mktemp("demo"),
        bootstrap_timeout=100,
        deploy_timeout=120,
        trace_timeout=30,
    )
    result = run_demo(options, out)
    text = out.getvalue()
    print(text)  # shown with -s or on failure
    yield result, text
