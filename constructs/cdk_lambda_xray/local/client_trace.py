"""The client side of a flow: one segment for the caller, one subsegment per AWS call.

In AWS, a traced client (an application using an X-Ray SDK) opens a segment,
records each AWS call as a subsegment and sends ``X-Amzn-Trace-Id:
Root=<trace>;Parent=<that subsegment>;Sampled=1`` with the request; S3, SNS,
SQS and Lambda carry it on to the function they invoke. The demo does the same
for its flows, so each flow is one trace from the client to DynamoDB::

    with ClientTrace("upload", collector_address) as trace:
        s3 = trace.instrument(session.client("s3", ...))
        s3.put_object(...)

Only resource identifiers go into the subsegments (bucket, topic, queue,
function), never keys, payloads or messages. The segment is sent to the given
daemon address when the block ends (also when it raises, marked ``fault``).
"""

from __future__ import annotations

import functools
import time
from types import TracebackType
from typing import Any, Final, Self

from .lambda_segments import new_id, new_trace_id
from .traceview import Trace
from .xray_udp import parse_daemon_address, send_documents

__all__ = ["CLIENT_SEGMENT_NAME", "FLOW_ANNOTATION", "ClientTrace", "disconnection"]

#: Name of every client segment the demo sends.
CLIENT_SEGMENT_NAME: Final = "cdk-lambda-xray-demo"
#: Annotation naming the flow a client segment belongs to.
FLOW_ANNOTATION: Final = "flow"
_CONTEXT_KEY: Final = "cdk_lambda_xray_subsegment"
_RESOURCES_KEY: Final = "cdk_lambda_xray_resources"
#: Request parameter -> ``aws`` field (identifiers of resources only).
_RESOURCE_FIELDS: Final = {
    "Bucket": "bucket_name",
    "TopicArn": "topic_arn",
    "QueueUrl": "queue_url",
    "FunctionName": "function_name",
    "TableName": "table_name",
}


class ClientTrace:
    """A client segment for one flow; :meth:`instrument` makes a boto3 client record into it."""

    def __init__(self, flow: str, daemon_address: str | None) -> None:
        self.flow = flow
        self.trace_id = new_trace_id()
        self.segment_id = new_id()
        self.subsegments: list[dict[str, Any]] = []
        self._address = parse_daemon_address(daemon_address)
        self._start = 0.0
        self.document: dict[str, Any] | None = None

    def __enter__(self) -> Self:
        self._start = time.time()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        doc: dict[str, Any] = {
            "name": CLIENT_SEGMENT_NAME,
            "id": self.segment_id,
            "trace_id": self.trace_id,
            "start_time": self._start,
            "end_time": max(time.time(), self._start),
            "annotations": {FLOW_ANNOTATION: self.flow},
            "metadata": {
                "cdk_lambda_xray": {
                    "client": "the demo's own AWS calls (python -m cdk_lambda_xray demo)"
                }
            },
            "subsegments": self.subsegments,
        }
        if exc is not None:
            doc["fault"] = True
        self.document = doc
        send_documents([doc], self._address)

    def header(self, parent_id: str) -> str:
        """The ``X-Amzn-Trace-Id`` value of a call recorded as ``parent_id``."""
        return f"Root={self.trace_id};Parent={parent_id};Sampled=1"

    def instrument(self, client: Any) -> Any:
        """Record ``client``'s calls here and send the trace header with each; returns it."""
        events = client.meta.events
        region = getattr(client.meta, "region_name", None)
        events.register("before-parameter-build.*.*", self._before_parameter_build)
        events.register("before-call.*.*", functools.partial(self._before_call, region=region))
        events.register("after-call.*.*", self._after_call)
        events.register("after-call-error.*.*", self._after_call_error)
        return client

    # -- botocore event handlers ------------------------------------------------

    def _before_parameter_build(self, params: Any, context: Any, **_: Any) -> None:
        aws: dict[str, Any] = {}
        if isinstance(params, dict):
            for param, field in _RESOURCE_FIELDS.items():
                value = params.get(param)
                if isinstance(value, str):
                    aws[field] = value
        context[_RESOURCES_KEY] = aws

    def _before_call(
        self, model: Any, params: Any, context: Any, region: str | None = None, **_: Any
    ) -> None:
        aws: dict[str, Any] = {"operation": model.name}
        if region:
            aws["region"] = region
        aws.update(context.pop(_RESOURCES_KEY, {}))
        sub: dict[str, Any] = {
            "name": str(model.service_model.service_id),
            "id": new_id(),
            "start_time": time.time(),
            "namespace": "aws",
            "aws": aws,
        }
        if isinstance(params, dict) and isinstance(params.get("headers"), dict):
            params["headers"]["X-Amzn-Trace-Id"] = self.header(sub["id"])
        context[_CONTEXT_KEY] = sub

    def _after_call(self, http_response: Any, parsed: Any, context: Any, **_: Any) -> None:
        sub = context.pop(_CONTEXT_KEY, None)
        if sub is None:
            return
        status = int(getattr(http_response, "status_code", 0) or 0)
        metadata = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
        if metadata.get("RequestId"):
            sub["aws"]["request_id"] = metadata["RequestId"]
        if isinstance(parsed, dict) and isinstance(parsed.get("FunctionError"), str):
            sub["aws"]["function_error"] = parsed["FunctionError"]
            sub["error"] = True
        if status:
            sub["http"] = {"response": {"status": status}}
        if status == 429:
            sub["throttle"] = sub["error"] = True
        elif 400 <= status < 500:
            sub["error"] = True
        elif status >= 500:
            sub["fault"] = True
        self._close(sub)

    def _after_call_error(self, exception: BaseException, context: Any, **_: Any) -> None:
        sub = context.pop(_CONTEXT_KEY, None)
        if sub is None:
            return
        sub["fault"] = True
        sub["cause"] = {
            "exceptions": [{"id": new_id(), "type": type(exception).__name__, "remote": True}]
        }
        self._close(sub)

    def _close(self, sub: dict[str, Any]) -> None:
        sub["end_time"] = max(time.time(), sub["start_time"])
        self.subsegments.append(sub)


def disconnection(trace: Trace) -> str | None:
    """Why ``trace`` is not one connected flow trace, or ``None`` when it is.

    Connected: a single root, the client segment, and every parent received
    (the emulated Lambda segments included).
    """
    names = [root.raw_name for root in trace.roots]
    if names != [CLIENT_SEGMENT_NAME] or not trace.roots[0].received:
        shown = ", ".join(root.name for root in trace.roots)
        return f"roots are [{shown}], not the client segment alone"
    missing = [node.id for _, node in trace.nodes() if not node.received]
    return f"parents not received: {', '.join(missing)}" if missing else None
