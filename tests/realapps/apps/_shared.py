"""What the regression apps share: code assets, a Python runtime, documented reasons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

CODE_DIR = Path(__file__).resolve().parents[1] / "code"
PY = lambda_.Runtime.PYTHON_3_12


def plain_code() -> lambda_.Code:
    """The code asset most functions use (a handler calling S3)."""
    return lambda_.Code.from_asset(str(CODE_DIR / "plain"))


@dataclass(frozen=True)
class Reason:
    """Why a review finding of warning or above stays after trace_app (a documented suppression)."""

    rule: str
    resource: str
    reason: str
