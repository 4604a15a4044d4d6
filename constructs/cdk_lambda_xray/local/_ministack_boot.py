"""Start MiniStack with two corrections that make it deploy what AWS deploys, and traced hops.

1. CloudFormation accepts ``AWS::XRay::ResourcePolicy``. MiniStack (1.5.x)
   emulates no X-Ray service, and its CloudFormation refuses templates with
   X-Ray resource types ("Unrecognized resource types"). The reference app's
   SNS active tracing needs an X-Ray resource policy in AWS, and the local
   deploy must use the very template that goes to AWS. So a provisioner
   *records* the policy (name and document, kept in memory; ``Ref`` is the
   policy name, as in AWS) and forgets it on stack deletion. Nothing enforces
   it locally: there is no X-Ray service, local traces go to the collector.

2. Inline function code (``Code.ZipFile``) is written to ``index.py`` /
   ``index.js``, as CloudFormation documents ("places it in a file named
   index"). MiniStack names the file after the first part of the handler
   instead, which breaks any function whose handler is not ``index.*`` -- such
   as CDK's S3-notification handler once the tracing aspect redirects its
   handler to ``lambda_xray.handler.handler`` (the original stays in
   ``LAMBDA_XRAY_HANDLER``).

3. Connected traces: the trace header travels across S3 notifications, SNS
   deliveries, SQS (``AWSTraceHeader``) and ``Invoke`` (``X-Amzn-Trace-Id``),
   and the Lambda service's own segments are sent to the collector, as
   :mod:`cdk_lambda_xray.local.ministack_tracing` describes.

Run as ``python -m cdk_lambda_xray.local._ministack_boot`` (same arguments and
environment as ``python -m ministack``).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

XRAY_RESOURCE_POLICY = "AWS::XRay::ResourcePolicy"

#: Policies "created" by stacks in this emulator process: name -> document.
RECORDED_POLICIES: dict[str, Any] = {}


def _create(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, dict[str, Any]]:
    name = str(props.get("PolicyName") or f"{stack_name}-{logical_id}")
    RECORDED_POLICIES[name] = props.get("PolicyDocument")
    return name, {}


def _delete(physical_id: str, props: dict[str, Any]) -> None:
    RECORDED_POLICIES.pop(physical_id, None)


def zip_inline_as_index(
    source: str | None, handler: str, runtime: str = "python3.12"
) -> bytes | None:
    """Package inline source as CloudFormation does: one file named ``index``."""
    if not source:
        return None
    extension = ".js" if runtime.startswith("nodejs") else ".py"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"index{extension}", source)
    return buffer.getvalue()


def register() -> None:
    """Apply the corrections to MiniStack's CloudFormation provisioners, and trace hops."""
    from ministack.services.cloudformation import provisioners  # type: ignore[import-untyped]

    from cdk_lambda_xray.local import ministack_tracing

    handlers: dict[str, dict[str, Any]] = provisioners._RESOURCE_HANDLERS
    handlers.setdefault(XRAY_RESOURCE_POLICY, {"create": _create, "delete": _delete})
    provisioners._zip_inline = zip_inline_as_index
    ministack_tracing.register()


def main() -> None:
    """Apply the corrections, then run MiniStack's own entry point."""
    register()
    from ministack.app import main as ministack_main  # type: ignore[import-untyped]

    ministack_main()


if __name__ == "__main__":
    main()
