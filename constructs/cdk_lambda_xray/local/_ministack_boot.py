"""Start MiniStack with one addition: CloudFormation accepts ``AWS::XRay::ResourcePolicy``.

MiniStack (1.5.x) emulates no X-Ray service, and its CloudFormation refuses
templates with X-Ray resource types ("Unrecognized resource types"). The
reference app's SNS active tracing needs an X-Ray resource policy in AWS, and
the local deploy must use the very template that goes to AWS. So this launcher
registers a provisioner that *records* the policy (name and document, kept in
memory; ``Ref`` is the policy name, as in AWS) and deletes it again on stack
deletion. Nothing enforces it locally -- there is no X-Ray service to enforce
it, and local traces go to the collector, not through X-Ray.

Run as ``python -m cdk_lambda_xray.local._ministack_boot`` (same arguments and
environment as ``python -m ministack``).
"""

from __future__ import annotations

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


def register() -> None:
    """Add the X-Ray resource-policy provisioner unless MiniStack already has one."""
    from ministack.services.cloudformation import provisioners  # type: ignore[import-untyped]

    handlers: dict[str, dict[str, Any]] = provisioners._RESOURCE_HANDLERS
    handlers.setdefault(XRAY_RESOURCE_POLICY, {"create": _create, "delete": _delete})


def main() -> None:
    """Register the addition, then run MiniStack's own entry point."""
    register()
    from ministack.app import main as ministack_main  # type: ignore[import-untyped]

    ministack_main()


if __name__ == "__main__":
    main()
