"""Small facts about functions shared by ``TracedFunction`` and the aspect.

Every read of a construct's property is a round trip to the jsii runtime (a
node process), which costs far more than the Python around it. Facts that can
never change for a given object (a runtime's name and family, a construct's
stack) are therefore remembered per object, weakly, so building many functions
asks node for them once.
"""

from __future__ import annotations

import functools
import weakref

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from . import ids

__all__ = [
    "MARKER_ID",
    "is_image_runtime",
    "is_instrumented",
    "is_python_runtime",
    "mark_instrumented",
    "runtime_name",
    "stack_of",
    "tracing_mode",
]

#: Id of an empty child construct that marks a function resource as handled by
#: the aspect. It renders nothing into the template; it makes instrumenting
#: idempotent. (A ``TracedFunction`` is recognized by its type instead.)
MARKER_ID = ids.INSTRUMENTED_MARKER

_RUNTIMES: weakref.WeakKeyDictionary[lambda_.Runtime, tuple[str, lambda_.RuntimeFamily | None]] = (
    weakref.WeakKeyDictionary()
)
_STACKS: weakref.WeakKeyDictionary[IConstruct, cdk.Stack] = weakref.WeakKeyDictionary()


def _runtime_facts(runtime: lambda_.Runtime) -> tuple[str, lambda_.RuntimeFamily | None]:
    facts = _RUNTIMES.get(runtime)
    if facts is None:
        facts = _RUNTIMES[runtime] = (runtime.name, runtime.family)
    return facts


def runtime_name(runtime: lambda_.Runtime) -> str:
    """``runtime.name`` (e.g. ``python3.12``), read from jsii once per runtime object."""
    return _runtime_facts(runtime)[0]


def is_python_runtime(runtime: lambda_.Runtime) -> bool:
    """True for the Python runtimes (``python3.x``)."""
    return _runtime_facts(runtime)[1] == lambda_.RuntimeFamily.PYTHON


def is_image_runtime(runtime: lambda_.Runtime) -> bool:
    """True for ``Runtime.FROM_IMAGE`` (container image functions)."""
    name, family = _runtime_facts(runtime)
    return family is None and name == _from_image_name()


@functools.cache
def _from_image_name() -> str:
    return lambda_.Runtime.FROM_IMAGE.name


def stack_of(scope: IConstruct) -> cdk.Stack:
    """``Stack.of(scope)``, asked once per construct (a construct never changes stack)."""
    if isinstance(scope, cdk.Stack):
        return scope  # Stack.of returns a stack itself
    stack = _STACKS.get(scope)
    if stack is None:
        stack = _STACKS[scope] = cdk.Stack.of(scope)
    return stack


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
