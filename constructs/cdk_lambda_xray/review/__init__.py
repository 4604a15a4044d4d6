"""Review a synthesized cloud assembly (``cdk.out``) for X-Ray tracing coverage.

``python -m cdk_lambda_xray review cdk.out`` runs :func:`cli.main`. The review
reads only the assembly (stdlib + jinja2, no CDK import), so it works on any
CDK app and on hand-written templates.
"""

from __future__ import annotations

from .assembly import AssemblyError, load_assembly
from .build import build_model
from .review import Review, review_path, run_review
from .rules import ALL_RULES, Finding, Rule, Severity
from .suppressions import Suppression, SuppressionError

__all__ = [
    "ALL_RULES",
    "AssemblyError",
    "Finding",
    "Review",
    "Rule",
    "Severity",
    "Suppression",
    "SuppressionError",
    "build_model",
    "load_assembly",
    "review_path",
    "run_review",
]
