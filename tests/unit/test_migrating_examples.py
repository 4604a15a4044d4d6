"""docs/migrating.md: the Python blocks marked ``<!-- runnable -->`` run and assert what they show.

Each block runs in a fresh interpreter with the layer on ``sys.path`` (as
``/opt/python`` in Lambda) and nothing of the layer's settings in the
environment; a block checks its own results with ``assert``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
GUIDE = (REPO_ROOT / "docs" / "migrating.md").read_text()
MARKER = "<!-- runnable -->"
RUNNABLE = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)```", GUIDE, flags=re.DOTALL)


def test_every_marker_precedes_a_python_block() -> None:
    assert GUIDE.count(MARKER) == len(RUNNABLE)
    assert len(RUNNABLE) >= 2  # one for aws-xray-sdk, one for Powertools Tracer


def test_the_after_examples_import_only_the_compat_api() -> None:
    for block in RUNNABLE:
        assert "aws_xray_sdk" not in block and "aws_lambda_powertools" not in block


@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_runnable_example_runs_and_its_assertions_hold(index: int) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAYER_PYTHON),
        "AWS_LAMBDA_FUNCTION_NAME": "orders",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUNNABLE[index]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
