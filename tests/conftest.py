"""Shared test set-up: the environment and import path every test process needs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

LAYER_PYTHON = Path(__file__).resolve().parents[1] / "layers" / "lambda_xray" / "python"

# jsii prints a Node 20 end-of-life banner in every process that loads the CDK.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The runtime package lives where a layer puts it (/opt/python); make it importable.
if str(LAYER_PYTHON) not in sys.path:
    sys.path.insert(0, str(LAYER_PYTHON))


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """Close aws-xray-sdk's socket, if a test imported it.

    Importing ``aws_xray_sdk.core`` (tests compare our grammar and migration
    with the real SDK) makes its global recorder, whose UDP emitter opens a
    socket it never closes: an ``unclosed socket`` ResourceWarning when the
    interpreter exits.
    """
    core = sys.modules.get("aws_xray_sdk.core")
    recorder = getattr(core, "xray_recorder", None)
    sock = getattr(getattr(recorder, "emitter", None), "_socket", None)
    if sock is not None:
        sock.close()
