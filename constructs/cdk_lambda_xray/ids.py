"""Every public id of ``cdk_lambda_xray``, in one table: one prefix, one spelling.

Ids are a public contract: you acknowledge a warning by its id, set a context
key on the command line, and CloudFormation derives logical ids from construct
ids (renaming one replaces the resource in every deployed stack). docs/ids.md
shows this table; a test keeps it complete.

The prefix is ``lambda-xray`` (``lambda-xray:<Name>`` for annotation ids,
``@lambda-xray/<name>`` for context keys) and ``LambdaXray`` in construct ids.
Spellings used before are listed in :data:`DEPRECATED` and still accepted for
one release. Construct ids that reach templates keep their old spelling where
renaming them would replace deployed resources (see :data:`KEPT_SPELLINGS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from constructs import IConstruct

__all__ = [
    "ALL_LAYER_PARTS",
    "ANNOTATION_IDS",
    "ANNOTATION_PREFIX",
    "CONSTRUCT_IDS",
    "CONTEXT_KEYS",
    "CONTEXT_LAYER_PYTHON_OVERRIDE",
    "CONTEXT_REVIEW_SUPPRESSIONS",
    "CONTEXT_SNS_RESOURCE_POLICY",
    "DEPRECATED",
    "EVENT_TARGET_NOT_TRACED",
    "HANDLER_VARIABLE",
    "IMMUTABLE_ROLE",
    "INFO_IDS",
    "INSTRUMENTED_MARKER",
    "KEPT_SPELLINGS",
    "LAYER_PYTHON_OVERRIDE",
    "MESSAGE_PREFIX",
    "NO_PERMISSION",
    "REVIEW_REPORT_SCHEMA",
    "ROLE_REF_SUFFIX",
    "SNS_TRACING_POLICY",
    "STATEMENT_IDS",
    "STATE_MACHINE_TRACING_POLICY",
    "TOO_MANY_LAYERS",
    "TRACED_EVENTS_RULE",
    "TRACE_EVENTS_DEPRECATED",
    "TRACING_LAYER_PREFIX",
    "UNKNOWN_LAYERS",
    "UNKNOWN_RUNTIME",
    "UNREADABLE",
    "UNRESOLVED",
    "UNSUPPORTED_PYTHON",
    "UPSTREAM_NOT_TRACED",
    "WRAPPER_CONFLICT",
    "WRITE_ACCESS_POLICY",
    "XRAY_SDK",
    "add_warning",
    "context_value",
    "spellings",
]

PREFIX: Final = "lambda-xray"
#: Every annotation id starts so: ``Annotations.of(fn).acknowledge_warning("lambda-xray:...")``.
ANNOTATION_PREFIX: Final = f"{PREFIX}:"
#: Every annotation message starts so; the review recognises this library's annotations by it.
MESSAGE_PREFIX: Final = f"{PREFIX}: "

# --- annotation ids (warnings you may acknowledge) -----------------------------------------

#: A Python runtime older than the layer supports: traced by Lambda without the layer.
UNSUPPORTED_PYTHON: Final = "lambda-xray:UnsupportedPython"
#: The code or a layer uses aws_xray_sdk.
XRAY_SDK: Final = "lambda-xray:XRaySdk"
#: The function's role accepts no new policy: the X-Ray write permission was not added.
IMMUTABLE_ROLE: Final = "lambda-xray:ImmutableRole"
#: The aspect could not add the X-Ray write permission.
NO_PERMISSION: Final = "lambda-xray:NoPermission"
#: The aspect could not read the function's properties.
UNREADABLE: Final = "lambda-xray:Unreadable"
#: The runtime is a token or unknown.
UNKNOWN_RUNTIME: Final = "lambda-xray:UnknownRuntime"
#: ``LAMBDA_XRAY_HANDLER`` set by hand on a handler that is not redirected.
HANDLER_VARIABLE: Final = "lambda-xray:HandlerVariable"
#: Another tracer already wraps the function (``AWS_LAMBDA_EXEC_WRAPPER``, a vendor handler).
WRAPPER_CONFLICT: Final = "lambda-xray:WrapperConflict"
#: The handler or environment is a token.
UNRESOLVED: Final = "lambda-xray:Unresolved"
#: The layer list is a token.
UNKNOWN_LAYERS: Final = "lambda-xray:UnknownLayers"
#: Five layers already: no room for the tracing layer.
TOO_MANY_LAYERS: Final = "lambda-xray:TooManyLayers"
#: A caller (topic, stage, state machine) of a traced function is kept untraced.
UPSTREAM_NOT_TRACED: Final = "lambda-xray:UpstreamNotTraced"
#: A function wired to event sources is not traced (was ``cdk-lambda-xray:eventTargetNotTraced``).
EVENT_TARGET_NOT_TRACED: Final = "lambda-xray:EventTargetNotTraced"
#: ``trace_events()``/``TracedEvents`` is deprecated (one warning per wired function).
TRACE_EVENTS_DEPRECATED: Final = "lambda-xray:TraceEventsDeprecated"

# --- info annotations (CDK gives info no id; these name them in docs and tests) ----------

#: A function gets every part of the tracing layer because its code could not be read.
ALL_LAYER_PARTS: Final = "lambda-xray:AllLayerParts"
#: The layers carry another Python's build (:data:`CONTEXT_LAYER_PYTHON_OVERRIDE`).
LAYER_PYTHON_OVERRIDE: Final = "lambda-xray:LayerPythonOverride"

INFO_IDS: Final = (ALL_LAYER_PARTS, LAYER_PYTHON_OVERRIDE)

ANNOTATION_IDS: Final = (
    UNSUPPORTED_PYTHON,
    XRAY_SDK,
    IMMUTABLE_ROLE,
    NO_PERMISSION,
    UNREADABLE,
    UNKNOWN_RUNTIME,
    HANDLER_VARIABLE,
    WRAPPER_CONFLICT,
    UNRESOLVED,
    UNKNOWN_LAYERS,
    TOO_MANY_LAYERS,
    UPSTREAM_NOT_TRACED,
    EVENT_TARGET_NOT_TRACED,
    TRACE_EVENTS_DEPRECATED,
)

# --- context keys ----------------------------------------------------------------------------

#: ``false``: helpers do not create the account's SNS X-Ray resource policy.
CONTEXT_SNS_RESOURCE_POLICY: Final = "@lambda-xray/sns-xray-resource-policy"

#: In ``cdk.json``: the review's suppressions (docs/review.md).
CONTEXT_REVIEW_SUPPRESSIONS: Final = "@lambda-xray/review:suppressions"

#: ``3.11``: every tracing layer carries the build of that Python, whatever the
#: function's runtime (a local emulator that runs every function with one
#: interpreter; ``python -m cdk_lambda_xray local`` sets it). Never for AWS.
CONTEXT_LAYER_PYTHON_OVERRIDE: Final = "@lambda-xray/layer-python-override"

CONTEXT_KEYS: Final = (
    CONTEXT_SNS_RESOURCE_POLICY,
    CONTEXT_REVIEW_SUPPRESSIONS,
    CONTEXT_LAYER_PYTHON_OVERRIDE,
)

#: The ``schema`` of the review's JSON report; a format version, not a prefix (kept).
REVIEW_REPORT_SCHEMA: Final = "cdk-lambda-xray/review/v1"

# --- construct ids (they reach templates: logical ids derive from them) ---------------------

#: ``LambdaXrayTracingLayerPython312``: the stack's shared layer for ``python3.12``
#: with the core alone; with parts, their names follow in the order of
#: ``_layer_parts.PARTS``: ``LambdaXrayTracingLayerPython312OtlpAsyncHttp``.
TRACING_LAYER_PREFIX: Final = "LambdaXrayTracingLayer"
#: The stack's X-Ray write managed policy, listed by every traced function's role.
WRITE_ACCESS_POLICY: Final = "LambdaXrayWriteAccess"
#: The stack's X-Ray managed policy for traced state machines' roles.
STATE_MACHINE_TRACING_POLICY: Final = "LambdaXrayStateMachineTracing"
#: ``<function id>LambdaXrayRoleRef``: reference to a raw function's role (renders nothing).
ROLE_REF_SUFFIX: Final = "LambdaXrayRoleRef"
#: Under each function the aspect handled: idempotence marker (renders nothing).
INSTRUMENTED_MARKER: Final = "LambdaXrayInstrumented"
#: The account's ``AWS::XRay::ResourcePolicy`` letting SNS send traces (old spelling, kept).
SNS_TRACING_POLICY: Final = "SnsXRayTracingPolicy"
#: Default id of the EventBridge rule ``trace_events(fn).from_eventbridge(...)`` creates.
TRACED_EVENTS_RULE: Final = "TracedEventsRule"

CONSTRUCT_IDS: Final = (
    TRACING_LAYER_PREFIX,
    WRITE_ACCESS_POLICY,
    STATE_MACHINE_TRACING_POLICY,
    ROLE_REF_SUFFIX,
    INSTRUMENTED_MARKER,
    SNS_TRACING_POLICY,
    TRACED_EVENTS_RULE,
)

#: IAM statement ids in the policies above (they reach templates too).
STATEMENT_IDS: Final = ("LambdaXrayWrite", "LambdaXrayStateMachineTracing", "SnsActiveTracing")

#: Ids that keep a spelling outside the scheme, and why.
KEPT_SPELLINGS: Final = {
    SNS_TRACING_POLICY: (
        "the logical id of the account's one X-Ray resource policy for SNS: renaming it makes "
        "CloudFormation create a policy with the same PolicyName before deleting the old one, "
        "which X-Ray refuses, so the update of every deployed stack fails"
    ),
    REVIEW_REPORT_SCHEMA: "the version id of a file format other tools read; not a prefix",
    TRACED_EVENTS_RULE: "a default you can override (rule_id=); renaming it replaces the rule",
    "SnsActiveTracing": "a statement id inside that policy; renaming it rewrites the policy",
}

#: Old spelling -> the id that replaces it; the old one is still accepted for one release.
DEPRECATED: Final = {
    "cdk-lambda-xray:eventTargetNotTraced": EVENT_TARGET_NOT_TRACED,
    "@cdk-lambda-xray/sns-xray-resource-policy": CONTEXT_SNS_RESOURCE_POLICY,
    "@cdk-lambda-xray/review:suppressions": CONTEXT_REVIEW_SUPPRESSIONS,
}


def _old_spellings(current: str) -> list[str]:
    return [old for old, new in DEPRECATED.items() if new == current]


def spellings(current: str) -> tuple[str, ...]:
    """``current`` and its deprecated spellings, the current one first."""
    return (current, *_old_spellings(current))


def add_warning(scope: IConstruct, id: str, message: str) -> None:
    """``Annotations.of(scope).add_warning_v2(id, message)``, honouring a deprecated id.

    A warning acknowledged under its old id stays acknowledged for one release
    (CDK keeps acknowledgements private, so the old id is tried first: CDK
    drops a warning acknowledged under it, and a probe it kept is removed).
    """
    from aws_cdk import Annotations

    annotations = Annotations.of(scope)
    for old in _old_spellings(id):
        before = len(scope.node.metadata)
        annotations.add_warning_v2(old, message)
        if len(scope.node.metadata) == before:
            return  # acknowledged under the deprecated id
        annotations.acknowledge_warning(old)  # removes the probe again
    annotations.add_warning_v2(id, message)


def context_value(scope: IConstruct, key: str) -> object:
    """The CDK context value of ``key``, else of its deprecated spelling (with a deprecation)."""
    value = scope.node.try_get_context(key)
    if value is not None:
        return value
    for old in _old_spellings(key):
        value = scope.node.try_get_context(old)
        if value is not None:
            from aws_cdk import Annotations

            Annotations.of(scope).add_deprecation(
                f"CDK context key {old}", f"use {key} (the old key is read for one more release)"
            )
            return value
    return None
