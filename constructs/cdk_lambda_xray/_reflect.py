"""Read a CloudFormation resource's properties as the template will hold them.

Python sees L1 properties through jsii, which converts them to Python types on
the way and loses values that only exist on the JavaScript side (an L2
``Function``'s environment is one: it renders from an internal box). So we
ask jsii's kernel for the raw property value and let ``Stack.resolve`` turn it
into plain template data on the JavaScript side, then render it to
CloudFormation names. Raw overrides (``add_property_override``) are not
included. This uses ``jsii._kernel``, which is not public API: any failure is
reported as ``None`` so callers can say what they could not check.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

__all__ = ["resolved_properties"]


def resolved_properties(resource: cdk.CfnResource) -> dict[str, Any] | None:
    """``resource``'s properties, resolved, with CloudFormation names; ``None`` if unreadable."""
    try:
        rendered = resource._render_properties(_resolve_raw(resource))
    except Exception:  # any jsii change must not break synthesis
        return None
    return dict(rendered) if isinstance(rendered, dict) else None


def _resolve_raw(resource: cdk.CfnResource) -> Any:
    import jsii
    from jsii._kernel import _callback_till_result
    from jsii._kernel.types import Callback, GetRequest, GetResponse, InvokeRequest, InvokeResponse

    kernel = jsii.kernel
    ref = resource.__jsii_ref__  # type: ignore[attr-defined]
    got = kernel.provider.get(GetRequest(objref=ref, property="cfnProperties"))
    # Lazy values written in Python call back into this process while resolving.
    raw = (
        _callback_till_result(kernel, got, GetResponse) if isinstance(got, Callback) else got.value
    )
    stack_ref = cdk.Stack.of(resource).__jsii_ref__  # type: ignore[attr-defined]
    done = kernel.provider.invoke(InvokeRequest(objref=stack_ref, method="resolve", args=[raw]))
    if isinstance(done, Callback):
        return _callback_till_result(kernel, done, InvokeResponse)
    return done.result
