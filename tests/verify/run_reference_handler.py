"""Run one of the reference app's handlers under the real layer; print what it sent.

Usage: ``python run_reference_handler.py CONFIG_JSON``. CONFIG_JSON is
``{"handler": "record_upload.handler", "env": {...}, "invocations":
[{"event": {...}, "trace_header": "Root=...;Parent=...;Sampled=1"}, ...]}``.
The environment is set as Lambda sets it (the layer's variables, the
function's own, ``_X_AMZN_TRACE_ID`` per invocation); the handler runs through
``lambda_xray.handler.handler`` with an ``InMemoryEmitter``, and every
document the layer would have sent is printed as one JSON line. Run in a
process of its own, so the function's environment and module state never
leak into the test process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "layers" / "lambda_xray" / "python"), str(REPO / "functions")]


def main() -> int:
    config = json.loads(sys.argv[1])
    os.environ.update(config["env"])
    os.environ["LAMBDA_XRAY_HANDLER"] = config["handler"]
    from lambda_xray import handler
    from lambda_xray.testing import InMemoryEmitter

    with InMemoryEmitter() as xray:
        for invocation in config["invocations"]:
            os.environ["_X_AMZN_TRACE_ID"] = invocation["trace_header"]
            with contextlib.suppress(Exception):  # the failure flow raises, as asked
                handler.handler(invocation["event"], None)
    for document in xray.documents:
        print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
