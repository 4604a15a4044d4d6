"""Small facts about functions shared by ``TracedFunction`` and the aspect."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_

from constructs import Construct, IConstruct

__all__ = [
    "MARKER_ID",
    "is_image_runtime",
    "is_instrumented",
    "is_python_runtime",
    "mark_instrumented",
    "tracing_mode",
]

#: Id of an empty child construct that marks a function resource as handled.
#: It renders nothing into the template; it makes instrumenting idempotent.
MARKER_ID = "LambdaXrayInstrumented"


def is_python_runtime(runtime: lambda_.Runtime) -> bool:
    """True for the Python runtimes (``python3.x``)."""
    return runtime.family == lambda_.RuntimeFamily.PYTHON


def is_image_runtime(runtime: lambda_.Runtime) -> bool:
    """True for ``Runtime.FROM_IMAGE`` (container image functions)."""
    return runtime.family is None and runtime.name == lambda_.Runtime.FROM_IMAGE.name


def tracing_mode(tracing: lambda_.Tracing) -> str | None:
    """The CloudFormation ``TracingConfig.Mode`` for ``tracing`` (None: no config)."""
    return {
        lambda_.Tracing.ACTIVE: "Active",
        lambda_.Tracing.PASS_THROUGH: "PassThrough",
    }.get(tracing)


def mark_instrumented(resource: IConstruct | None) -> None:
    """Record that ``resource`` (a function's L1) has been handled."""
    if isinstance(resource, Construct) and resource.node.try_find_child(MARKER_ID) is None:
        Construct(resource, MARKER_ID)


def is_instrumented(resource: IConstruct) -> bool:
    """True when ``TracedFunction`` or the aspect already handled ``resource``."""
    return resource.node.try_find_child(MARKER_ID) is not None
