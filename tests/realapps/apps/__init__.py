"""Small CDK Python apps in the shapes real public apps have (one stack each).

Each module has ``build(app)`` (adds its stack) and ``REASONS``: why a review
finding of warning or above stays after ``trace_app`` (none for most).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["NAMES", "load"]

NAMES = (
    "api_lambda",
    "custom_resources",
    "kinesis",
    "nodejs",
    "roles",
    "runtimes",
    "s3_trigger",
    "schedule",
    "sns_sqs_lambda",
    "step_functions",
    "user_layers",
    "vpc",
    "xray_sdk",
)


def load() -> list[ModuleType]:
    """Every app module, in name order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in NAMES]
