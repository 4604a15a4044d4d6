"""A function that uses aws_xray_sdk next to the lambda_xray layer (run in a subprocess).

aws_xray_sdk's patches cannot be undone, so each case runs in a fresh process:
``python lx_xray_sdk_app.py ORDER LIBRARY SDK_PATCHES URL`` where ORDER is
``sdk-first`` (the function patches before the layer installs) or
``sdk-after``; LIBRARY is the client the call uses (``botocore`` or
``requests``); SDK_PATCHES is what the function passes to ``patch()``. Prints
``{"ours": [...], "theirs": [...]}``: the documents each tracer sent.
aws_xray_sdk's are taken with an emitter of its own interface (its UDP
emitter replaced, nothing else).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class Capture:
    """aws_xray_sdk's emitter interface, keeping what it would send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str) -> None:
        pass


def patch_with_sdk(capture: Capture, modules: list[str]) -> None:
    from aws_xray_sdk.core import patch, xray_recorder  # type: ignore[import-untyped]

    xray_recorder.configure(emitter=capture, streaming_threshold=0, context_missing="LOG_ERROR")
    patch(modules)


def call(library: str, url: str) -> None:
    try:
        if library == "botocore":
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]

            session = boto3.session.Session(
                aws_access_key_id="t", aws_secret_access_key="t", region_name="eu-west-1"
            )
            once = Config(retries={"total_max_attempts": 1}, connect_timeout=2)
            session.client("dynamodb", endpoint_url=url, config=once).list_tables()
        else:
            import requests  # type: ignore[import-untyped]

            requests.get(url + "/path", timeout=2)
    except Exception:
        pass  # the port is closed: both tracers record a fault


def main() -> None:
    order, library, sdk_patches, url = sys.argv[1:5]
    # aws_xray_sdk decides at import whether it runs in Lambda (facade segment).
    os.environ.update(
        _X_AMZN_TRACE_ID=TRACE_HEADER, LAMBDA_TASK_ROOT="/tmp", AWS_LAMBDA_FUNCTION_NAME="f"
    )
    from lambda_xray import patches, testing
    from lambda_xray.testing import InMemoryEmitter

    theirs = Capture()
    if order == "sdk-first":
        patch_with_sdk(theirs, sdk_patches.split(","))
    patches.install()
    import boto3  # noqa: F401  - the layer patches on import
    import requests  # noqa: F401

    if order == "sdk-after":
        patch_with_sdk(theirs, sdk_patches.split(","))
    with InMemoryEmitter() as ours, testing.invocation():
        call(library, url)
    print(json.dumps({"ours": ours.documents, "theirs": theirs.sent}))


if __name__ == "__main__":
    main()
