"""Trace a Python Lambda function with AWS X-Ray: a stdlib-only layer.

Point the function's handler at ``lambda_xray.handler.handler`` and put the
original one in ``LAMBDA_XRAY_HANDLER`` (the ``cdk_lambda_xray`` constructs do
both). Every invocation then gets a ``## <handler>`` subsegment and every
boto3/botocore and HTTP call a subsegment of its own.

The small user API::

    from lambda_xray import annotate, metadata, subsegment

    @subsegment("resize")            # or: with subsegment("resize"): ...
    def resize(image): ...

    annotate("tenant", "acme")       # indexed, searchable
    metadata("request", {"size": 3}) # any JSON, not indexed

Importing this package loads nothing but itself: the names below are
resolved on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.api import annotate, metadata, subsegment
    from lambda_xray.context_missing import ContextMissingError

__all__ = ["ContextMissingError", "annotate", "metadata", "subsegment"]

_LAZY = {
    "annotate": "lambda_xray.api",
    "metadata": "lambda_xray.api",
    "subsegment": "lambda_xray.api",
    "ContextMissingError": "lambda_xray.context",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_xray' has no attribute {name!r}")
    import sys

    __import__(module_name)  # importlib.import_module without loading importlib
    value = getattr(sys.modules[module_name], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
