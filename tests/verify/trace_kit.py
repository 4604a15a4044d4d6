"""Realistic trace files for the verify and trace map tests, from the layer's real documents.

:func:`reference_flows` runs the reference app's handlers (``functions/``)
under the real layer, in a process of their own, against a local HTTP server
standing in for DynamoDB and S3 (real botocore, real HTTP; only the answers
are canned), with the names a deployment gives (``LambdaXrayReference-...``)
and the environment the reference app's template sets. What comes back is
exactly what the layer sends in Lambda: the ``## handler`` subsegment and its
call subsegments, under a parent nobody sent -- as in today's local demo.

:func:`connect` adds what the Lambda service and the caller send in AWS (a
client segment, the ``AWS::Lambda`` and ``AWS::Lambda::Function`` segments),
built by hand here; the layer's documents are reparented under them, which is
what the emulated segments of the local tooling do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "layer" / "harness"))

from lx_servers import Canned, CannedServer  # noqa: E402

STACK = "LambdaXrayReference"
TABLE = f"{STACK}-TableCD117FA1-E3E15EE480FCB"
UPLOAD_BUCKET = "lambdaxrayreference-uploadbucketd2c1da78-96b8a0c9877e0"
WRITER_BUCKET = "lambdaxrayreference-writerbucket017ba20c-94f8966cfaacc"
TOPIC_ARN = f"arn:aws:sns:us-east-1:000000000000:{STACK}-TopicBFC7AF6E-Qx1"
FUNCTIONS = {
    "upload": f"{STACK}-RecordUpload8CEBC921-AbCdEf123456",
    "writer": f"{STACK}-WriteObjectC2BE56CC-FCE11EA691520",
    "notify": f"{STACK}-Notify29C25B1B-ZyXwVu987654",
}

#: flow -> (function, handler, service name, extra environment, events)
_FLOWS: dict[str, tuple[str, str, str, dict[str, str], list[dict[str, Any]]]] = {
    "upload": (
        "upload",
        "record_upload.handler",
        "record-upload",
        {"TABLE_NAME": TABLE},
        [
            {
                "Records": [
                    {
                        "eventTime": "2026-11-30T06:00:00Z",
                        "s3": {
                            "bucket": {"name": UPLOAD_BUCKET},
                            "object": {"key": "uploads/demo.txt", "size": 12},
                        },
                    }
                ]
            }
        ],
    ),
    "invoke": (
        "writer",
        "write_object.handler",
        "write-object",
        {"BUCKET_NAME": WRITER_BUCKET},
        [{"key": "demo/a.txt", "body": "hello"}, {"fail": True}],
    ),
    "publish": (
        "notify",
        "notify.handler",
        "notify",
        {"TABLE_NAME": TABLE},
        [
            {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "Sns": {
                            "TopicArn": TOPIC_ARN,
                            "MessageId": "m-1",
                            "Subject": "demo",
                            "Message": "hello",
                            "Timestamp": "2026-11-30T06:00:00Z",
                        },
                    }
                ]
            }
        ],
    ),
}


def new_id() -> str:
    return os.urandom(8).hex()


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def reference_flows(flows: Sequence[str] = ("upload", "invoke", "publish")) -> dict[str, Any]:
    """``{flow: [(trace id, parent id, [documents]) per invocation]}`` from the real layer."""
    routes = {
        "": Canned(200, b'{"TableNames": []}', {"Content-Type": "application/x-amz-json-1.0"}),
        WRITER_BUCKET: Canned(200, b"", {"ETag": '"0123"'}),
    }
    result: dict[str, Any] = {}
    with CannedServer(routes) as server:
        for flow in flows:
            function, handler, service, extra, events = _FLOWS[flow]
            invocations = []
            for event in events:
                trace_id, parent = new_trace_id(), new_id()
                invocations.append((trace_id, parent, event))
            config = {
                "handler": handler,
                "env": {
                    **extra,
                    "AWS_LAMBDA_FUNCTION_NAME": FUNCTIONS[function],
                    "LAMBDA_XRAY_SERVICE_NAME": service,
                    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                    "AWS_ENDPOINT_URL": server.url,
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test",
                },
                "invocations": [
                    {"event": e, "trace_header": f"Root={t};Parent={p};Sampled=1"}
                    for t, p, e in invocations
                ],
            }
            run = subprocess.run(
                [sys.executable, str(HERE / "run_reference_handler.py"), json.dumps(config)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
                env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")},
            )
            documents = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
            result[flow] = [
                (t, p, [d for d in documents if d.get("trace_id") == t]) for t, p, _ in invocations
            ]
    return result


def disconnected(flows: dict[str, Any], keep: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The layer's documents of ``keep`` (default: every flow), as the collector kept them."""
    return [
        doc
        for flow, runs in flows.items()
        if keep is None or flow in keep
        for _, _, documents in runs
        for doc in documents
    ]


def _segment(trace_id: str, name: str, start: float, end: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "trace_id": trace_id,
        "name": name,
        "start_time": start,
        "end_time": end,
        "annotations": {"emulated": True},
        **fields,
    }


def connect(flows: dict[str, Any]) -> list[dict[str, Any]]:
    """Every flow as one connected trace: client -> (bucket|topic) -> Lambda -> function."""
    entries = {
        "upload": ("S3", "PutObject", {"bucket_name": UPLOAD_BUCKET}),
        "invoke": ("Lambda", "Invoke", {"function_name": FUNCTIONS["writer"]}),
        "publish": ("SNS", "Publish", {"topic_arn": TOPIC_ARN}),
    }
    out: list[dict[str, Any]] = []
    for flow, runs in flows.items():
        service, operation, resource = entries[flow]
        function = FUNCTIONS[_FLOWS[flow][0]]
        for trace_id, parent, documents in runs:
            starts = [d["start_time"] for d in documents] or [time.time()]
            ends = [d.get("end_time", d["start_time"]) for d in documents] or starts
            start, end = min(starts) - 0.05, max(ends) + 0.01
            failed = any(d.get("fault") for d in documents)
            call = {
                "id": new_id(),
                "name": service,
                "namespace": "aws",
                "start_time": start,
                "end_time": end,
                "aws": {"operation": operation, **resource},
                "http": {"response": {"status": 200}},
            }
            client = _segment(trace_id, "demo client", start - 0.01, end + 0.01)
            client["subsegments"] = [call]
            lam = _segment(
                trace_id, function, start + 0.01, end, origin="AWS::Lambda", parent_id=call["id"]
            )
            fn = _segment(trace_id, function, start + 0.02, end, origin="AWS::Lambda::Function")
            fn["parent_id"] = lam["id"]
            fn["id"] = parent  # the Parent the function received in _X_AMZN_TRACE_ID
            if failed:
                fn["fault"] = True
            out += [client, lam, fn, *documents]
    return out


def write_jsonl(path: Path, documents: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    return path
