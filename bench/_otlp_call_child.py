"""bench_otlp.py's per-call child: one tool, paired rounds of one invocation each.

``python bench/_otlp_call_child.py TOOL ROUNDS CALLS`` (``TOOL``: ``layer``,
``otlp``, ``xray-sdk``, ``powertools``, ``adot``) prints a JSON object: the
added CPU per call of every round pair (``diffs``, µs) and what the tool
patched. It runs in a Lambda-like environment that ``bench_otlp.py`` sets
(the layer on ``PYTHONPATH``, or ADOT's variables under ``.venv-adot``'s
interpreter), so it imports nothing but the standard library, botocore and
the tool.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from _child_context import LambdaContext

HARNESS = Path(__file__).resolve().parents[1] / "tests" / "layer" / "harness"


class _Raw:
    """Stands in for urllib3's response body: what AWSResponse.content reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _child_per_call(tool: str, rounds: int, calls: int) -> dict[str, Any]:
    """Paired rounds (one invocation of ``calls`` PutItems each), patches in and out."""
    import types

    import boto3  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped]
    from botocore.client import BaseClient  # type: ignore[import-untyped]
    from botocore.endpoint import Endpoint  # type: ignore[import-untyped]

    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    headers = {
        "x-amzn-RequestId": "BENCHREQUEST0000000000000000000000000000000000000000",
        "Content-Type": "application/x-amz-json-1.0",
    }
    client.meta.events.register(
        "before-send.dynamodb.PutItem",
        lambda request, **_: AWSResponse(request.url, 200, headers, _Raw(b"{}")),
    )
    item = {"pk": {"S": "bench"}}
    classes = (BaseClient, Endpoint, type(client))
    before = [dict(vars(cls)) for cls in classes]

    def handler(event: Any, context: Any) -> str:
        for _ in range(calls):
            client.put_item(TableName="bench-table", Item=item)
        return "ok"

    target = types.ModuleType("lx_bench_target")
    target.handler = handler  # type: ignore[attr-defined]
    sys.modules["lx_bench_target"] = target
    invoke: Any
    if tool in ("layer", "otlp"):
        import lambda_xray.handler

        invoke = lambda_xray.handler.handler
    elif tool == "adot":
        sys.path.insert(0, str(HARNESS / "adot_layer"))
        import lx_adot_wrapper  # type: ignore[import-not-found]

        invoke = lx_adot_wrapper.lambda_handler
    elif tool == "xray-sdk":
        from aws_xray_sdk.core import patch_all  # type: ignore[import-untyped]

        patch_all()
        invoke = handler
    elif tool == "powertools":
        from aws_lambda_powertools import Tracer

        invoke = Tracer(service="bench").capture_lambda_handler(handler)
    else:
        raise ValueError(tool)
    invoke({}, LambdaContext())  # the first invocation: patches installed, caches filled
    swaps = []
    for cls, old in zip(classes, before, strict=True):
        for name, value in vars(cls).items():
            if old.get(name, _MISSING) is not value:
                swaps.append((cls, name, old.get(name, _MISSING), value))
    if not swaps:
        raise RuntimeError(f"{tool} patched nothing in botocore")

    def one_round(traced: bool) -> float:
        for cls, name, original, patched in swaps:
            value = patched if traced else original
            if value is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value)
        invoke({}, LambdaContext())  # refill caches after the swap
        t0 = time.process_time()
        invoke({}, LambdaContext())
        return (time.process_time() - t0) * 1e6

    for _ in range(10):
        one_round(False)
        one_round(True)
    diffs = []
    for i in range(rounds):
        if i % 2:
            traced = one_round(True)
            base = one_round(False)
        else:
            base = one_round(False)
            traced = one_round(True)
        diffs.append((traced - base) / calls)
    return {"diffs": diffs, "swapped": sorted(f"{c.__name__}.{n}" for c, n, _, _ in swaps)}


_MISSING = object()


if __name__ == "__main__":
    print(json.dumps(_child_per_call(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
