"""Every review rule, in id order. Each rule's id is stable: never reuse or renumber."""

from __future__ import annotations

from typing import Final

from .base import Check, Finding, Rule, Severity
from .environment import CONTEXT_MISSING, LAYER_VARIABLE, RESERVED_VARIABLE
from .instrumentation import INCOMPLETE, NOT_INSTRUMENTED, OTHER_TRACER, WRAPPER_CONFLICT
from .internal import INTERNAL_UNTRACED
from .tracing import NO_XRAY_PERMISSION, TRACING_NOT_ACTIVE
from .upstream import API_STAGE, SNS_POLICY, SNS_TRACING, STATE_MACHINE
from .xray_sdk import POWERTOOLS_TRACER_IN_USE, XRAY_SDK_IN_USE

ALL_RULES: Final[tuple[Rule, ...]] = (
    TRACING_NOT_ACTIVE,
    NO_XRAY_PERMISSION,
    NOT_INSTRUMENTED,
    INCOMPLETE,
    WRAPPER_CONFLICT,
    OTHER_TRACER,
    CONTEXT_MISSING,
    RESERVED_VARIABLE,
    SNS_TRACING,
    SNS_POLICY,
    API_STAGE,
    STATE_MACHINE,
    INTERNAL_UNTRACED,
    XRAY_SDK_IN_USE,
    POWERTOOLS_TRACER_IN_USE,
    LAYER_VARIABLE,
)

RULES_BY_ID: Final = {rule.id: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_ID", "Check", "Finding", "Rule", "Severity"]
