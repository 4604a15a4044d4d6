"""cdk-lambda-xray: trace Python AWS Lambda applications end to end with AWS X-Ray.

The public API is ``__all__``. Names load on first use, so the command-line
tools (``python -m cdk_lambda_xray collect``) start without loading the CDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    # --- traced functions, layer, validation (constructs core) ---
    "ContextMissing": "function",
    "TracedFunction": "function",
    "TraceFormat": "function",
    "LayerParts": "function",
    "TracingLayer": "layer",
    "TracingConfigError": "errors",
    # --- tracing aspect ---
    "XRayTracing": "aspect",
    "trace_app": "aspect",
    # --- event wiring and upstream tracing ---
    "TracedEvents": "events",
    "trace_events": "events",
    "TracedDynamoEventSource": "event_sources",
    "TracedKinesisEventSource": "event_sources",
    "TracedLambdaTarget": "event_sources",
    "TracedS3EventSource": "event_sources",
    "TracedSnsEventSource": "event_sources",
    "TracedSqsEventSource": "event_sources",
    "TransactionSearch": "transaction_search",
    "SnsTracingPolicy": "upstream",
    "trace_topic": "upstream",
    "trace_rest_api": "upstream",
    "trace_state_machine": "upstream",
    # --- cdk-nag ---
    "acknowledge_xray_wildcard": "nag",
}

__all__ = [
    "ContextMissing",
    "LayerParts",
    "SnsTracingPolicy",
    "TraceFormat",
    "TracedDynamoEventSource",
    "TracedEvents",
    "TracedFunction",
    "TracedKinesisEventSource",
    "TracedLambdaTarget",
    "TracedS3EventSource",
    "TracedSnsEventSource",
    "TracedSqsEventSource",
    "TracingConfigError",
    "TracingLayer",
    "TransactionSearch",
    "XRayTracing",
    "acknowledge_xray_wildcard",
    "trace_app",
    "trace_events",
    "trace_rest_api",
    "trace_state_machine",
    "trace_topic",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .aspect import XRayTracing, trace_app
    from .errors import TracingConfigError
    from .event_sources import (
        TracedDynamoEventSource,
        TracedKinesisEventSource,
        TracedLambdaTarget,
        TracedS3EventSource,
        TracedSnsEventSource,
        TracedSqsEventSource,
    )
    from .events import TracedEvents, trace_events
    from .function import ContextMissing, LayerParts, TracedFunction, TraceFormat
    from .layer import TracingLayer
    from .nag import acknowledge_xray_wildcard
    from .transaction_search import TransactionSearch
    from .upstream import SnsTracingPolicy, trace_rest_api, trace_state_machine, trace_topic


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cdk_lambda_xray' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cdk_lambda_xray.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
