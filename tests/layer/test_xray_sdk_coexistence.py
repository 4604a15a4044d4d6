"""A function already traced with aws_xray_sdk: every call is recorded once, by one tracer.

Runs the real aws-xray-sdk (2.15, installed for the tests) and the layer in a
fresh process per case (aws_xray_sdk's patches cannot be undone), with real
botocore/requests calls to a closed port on 127.0.0.1. Where aws_xray_sdk
patched the library a call goes through, it records the call and the layer
passes it on; the layer still records the handler subsegment and every call
aws_xray_sdk does not cover.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lx_servers import closed_port

pytestmark = pytest.mark.timeout(120)

APP = Path(__file__).resolve().parent / "harness" / "lx_xray_sdk_app.py"
LAYER = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"


def run(order: str, library: str, sdk_patches: str) -> dict[str, list[dict[str, Any]]]:
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    url = f"http://127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [sys.executable, str(APP), order, library, sdk_patches, url],
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
        check=True,
    )
    result: dict[str, list[dict[str, Any]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def calls(documents: list[dict[str, Any]]) -> list[str]:
    """Names of the downstream-call subsegments (the handler's own left out)."""
    return [d["name"] for d in documents if d.get("namespace") in ("aws", "remote")]


@pytest.mark.parametrize("order", ["sdk-first", "sdk-after"])
def test_an_aws_call_patched_by_aws_xray_sdk_is_recorded_once_by_it(order: str) -> None:
    docs = run(order, "botocore", "botocore")
    assert calls(docs["theirs"]) == ["dynamodb"]
    assert calls(docs["ours"]) == []


@pytest.mark.parametrize("order", ["sdk-first", "sdk-after"])
def test_a_requests_call_patched_by_aws_xray_sdk_is_recorded_once_by_it(order: str) -> None:
    docs = run(order, "requests", "requests")
    assert calls(docs["theirs"]) == ["127.0.0.1"]
    assert calls(docs["ours"]) == []


def test_the_handler_subsegment_stays_ours() -> None:
    docs = run("sdk-first", "botocore", "botocore")
    assert [d["name"] for d in docs["ours"]] == ["## test"]


def test_a_library_aws_xray_sdk_did_not_patch_is_recorded_by_the_layer() -> None:
    docs = run("sdk-first", "botocore", "requests")
    assert calls(docs["ours"]) == ["DynamoDB"]
    assert calls(docs["theirs"]) == []
