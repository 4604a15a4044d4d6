"""cdk-nag acknowledgement for the X-Ray write statement (no cdk-nag import).

X-Ray's write actions (``xray:PutTraceSegments``, ``xray:PutTelemetryRecords``)
support no resource-level permissions, so their statement must use
``Resource: "*"``; cdk-nag's ``AwsSolutions-IAM5`` flags that as
``AwsSolutions-IAM5[Resource::*]``. The constructs put the statement in a
customer managed policy of its own (one per stack, see ``_permissions``) and
acknowledge exactly that finding on that policy, with CDK's own
``Validations.of(...).acknowledge`` (what cdk-nag 3 reads), so other wildcard
findings of the same role stay visible. No other pack (Serverless, HIPAA
Security, NIST 800-53 rev 5, PCI DSS 3.2.1) flags a customer managed policy of
this kind, so nothing else needs acknowledging. cdk-nag itself is an optional
extra.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

from . import _inputs

__all__ = ["XRAY_WILDCARD_FINDING", "XRAY_WILDCARD_REASON", "acknowledge_xray_wildcard"]

#: The cdk-nag finding the X-Ray statement raises.
XRAY_WILDCARD_FINDING = "AwsSolutions-IAM5[Resource::*]"

#: Why it is acceptable; shown in cdk-nag's reports and audit trails.
XRAY_WILDCARD_REASON = (
    "X-Ray write actions (xray:PutTraceSegments, xray:PutTelemetryRecords) support no "
    "resource-level permissions; AWS requires Resource '*' for them."
)


@_inputs.entry(
    "acknowledge_xray_wildcard",
    _inputs.at("construct"),
    construct=_inputs.CONSTRUCT,
    reason=_inputs.optional(_inputs.text(non_empty=True, example="'X-Ray allows no scoping'")),
)
def acknowledge_xray_wildcard(construct: IConstruct, reason: str | None = None) -> None:
    """Acknowledge ``AwsSolutions-IAM5[Resource::*]`` on ``construct``.

    Use it on an IAM policy that holds only X-Ray write statements, e.g. one
    you wrote yourself. The acknowledgement covers the construct and all its
    children, so give it the policy, not the stack: on a scope that also holds
    other ``Resource: "*"`` statements it would hide those findings too.
    ``TracedFunction`` and the ``XRayTracing`` aspect call it on the policy
    they create. ``reason`` defaults to :data:`XRAY_WILDCARD_REASON`.
    """
    cdk.Validations.of(construct).acknowledge(
        cdk.Acknowledgment(id=XRAY_WILDCARD_FINDING, reason=reason or XRAY_WILDCARD_REASON)
    )
