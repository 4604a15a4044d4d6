"""OTLP spans as X-Ray segment documents, so the local tools show both formats the same way.

The collector turns every sampled span it receives into the document the X-Ray
format would have sent for the same recording; the trace view, the trace map
and ``verify`` then read one kind of data. The mapping follows the
OpenTelemetry semantic conventions and the attributes the layer's
``LAMBDA_XRAY_FORMAT=otlp`` output and ADOT's Lambda exporter set:

- ids: the 32-hex trace id becomes ``1-<8 hex>-<24 hex>``; span and parent ids
  are the subsegment ``id`` and ``parent_id``. A span with a parent is a
  ``subsegment``; one without is a segment named after ``service.name``.
- the invocation (a ``SERVER`` span from ``cloud.platform=aws_lambda``) is
  ``## <span name>``, as the X-Ray format names it;
- AWS calls (``rpc.system=aws-api``): namespace ``aws``, named after
  ``rpc.service``, with ``operation``, ``region`` and the resource names;
  HTTP calls: namespace ``remote``, named after ``server.address``, with the
  ``http`` request (method, ``url.full``) and response status; database calls
  (``db.system.name``): namespace ``remote`` and the ``sql`` block;
- status ``ERROR``: ``error`` for a 4xx response (and ``throttle`` for 429),
  ``fault`` otherwise; each ``exception`` event is one exception in ``cause``;
- annotations: the attributes listed in ``aws.xray.annotations``; metadata:
  ``lambda_xray.metadata.<namespace>.<key>``; any other attribute the
  mapping does not use is kept under metadata ``otel``.

A span whose ids are not 16 and 8 bytes is not a document: it is counted by
the caller (:func:`span_document` returns ``None``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from cdk_lambda_xray.local.otlp_wire import OtlpSpan

__all__ = ["span_document", "xray_trace_id"]

KIND_SERVER: Final = 2
STATUS_ERROR: Final = 2

#: Attributes that route a span (they are read by the mapping, never copied as metadata).
_ROUTING: Final = frozenset(
    {
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "http.request.method",
        "http.response.status_code",
        "url.full",
        "server.address",
        "server.port",
        "aws.xray.annotations",
        "aws.xray.throttle",
        "aws.span.kind",
        "aws.local.service",
        "aws.local.operation",
        "aws.local.environment",
        "aws.remote.service",
        "aws.remote.operation",
        "aws.remote.resource.type",
        "aws.remote.resource.identifier",
        "aws.remote.environment",
        "faas.coldstart",
        "cloud.region",
    }
)
#: Span attributes that become fields of the X-Ray ``aws`` block.
_AWS_FIELDS: Final = {
    "aws.request_id": "request_id",
    "aws.extended_request_id": "id_2",
    "aws.s3.bucket": "bucket_name",
    "aws.sqs.queue.url": "queue_url",
    "aws.sqs.queue.name": "queue_name",
    "aws.dynamodb.index_name": "index_name",
    "aws.lambda.function.name": "function_name",
    "aws.sns.topic.arn": "topic_arn",
}
#: Span attributes that become fields of the X-Ray ``sql`` block.
_SQL_FIELDS: Final = {
    "db.system.name": "database_type",
    "db.system": "database_type",
    "db.query.text": "sanitized_query",
    "db.version": "database_version",
    "db.driver.version": "driver_version",
}
_METADATA_PREFIX: Final = "lambda_xray.metadata."
_ANNOTATION_KEY = re.compile(r"[A-Za-z0-9_]{1,500}")
_FRAME = re.compile(r'\s*File "(?P<path>.*)", line (?P<line>\d+), in (?P<label>.*)')


def xray_trace_id(trace_id: bytes) -> str:
    """The 16-byte OTLP trace id as an X-Ray trace id (``1-5759e988-bd862e3f...``)."""
    text = trace_id.hex()
    return f"1-{text[:8]}-{text[8:]}"


def span_document(span: OtlpSpan) -> dict[str, Any] | None:
    """The segment document for ``span``, or ``None`` when its ids are not valid."""
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.span_id):
        return None
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return None
    attrs = dict(span.attributes)
    doc: dict[str, Any] = {
        "name": "",
        "id": span.span_id.hex(),
        "trace_id": xray_trace_id(span.trace_id),
        "start_time": span.start_time_unix_nano / 1e9,
    }
    if span.end_time_unix_nano:
        doc["end_time"] = span.end_time_unix_nano / 1e9
    else:
        doc["in_progress"] = True
    if span.parent_span_id:
        doc["type"] = "subsegment"
        doc["parent_id"] = span.parent_span_id.hex()
    doc["name"] = _name(span, attrs)
    if not span.parent_span_id and span.resource.get("cloud.platform") == "aws_lambda":
        doc["origin"] = "AWS::Lambda::Function"
    _call(doc, attrs)
    _flags(doc, span, attrs)
    _cause(doc, span)
    _annotations_and_metadata(doc, attrs)
    return doc


def _name(span: OtlpSpan, attrs: dict[str, Any]) -> str:
    if attrs.get("rpc.system") == "aws-api" and _text(attrs.get("rpc.service")):
        return str(attrs["rpc.service"])
    if "http.request.method" in attrs:
        host = _text(attrs.get("server.address")) or _host(_text(attrs.get("url.full")))
        if host:
            return host
    if not span.parent_span_id:
        return _text(span.resource.get("service.name")) or span.name or "unknown"
    if span.kind == KIND_SERVER and span.resource.get("cloud.platform") == "aws_lambda":
        return f"## {span.name}"
    return span.name or "unknown"


def _call(doc: dict[str, Any], attrs: dict[str, Any]) -> None:
    if attrs.get("rpc.system") == "aws-api":
        doc["namespace"] = "aws"
        aws: dict[str, Any] = {}
        if _text(attrs.get("rpc.method")):
            aws["operation"] = attrs["rpc.method"]
        if _text(attrs.get("cloud.region")):
            aws["region"] = attrs["cloud.region"]
        for name in list(attrs):
            if name in _AWS_FIELDS:
                aws[_AWS_FIELDS[name]] = attrs.pop(name)
        tables = attrs.pop("aws.dynamodb.table_names", None)
        if isinstance(tables, list) and len(tables) == 1:
            aws["table_name"] = tables[0]
        elif isinstance(tables, list):
            aws["table_names"] = tables
        doc["aws"] = aws
    method = attrs.get("http.request.method")
    if isinstance(method, str):
        doc["namespace"] = "remote"
        request: dict[str, Any] = {"method": method}
        url = _text(attrs.get("url.full"))
        if url:
            request["url"] = url.split("?", 1)[0].split("#", 1)[0]
        doc["http"] = {"request": request}
    status = attrs.get("http.response.status_code")
    if isinstance(status, int) and not isinstance(status, bool):
        doc.setdefault("http", {})["response"] = {"status": status}
    sql = {
        _SQL_FIELDS[name]: attrs.pop(name)
        for name in list(attrs)
        if name in _SQL_FIELDS and isinstance(attrs[name], str)
    }
    if sql:
        doc.setdefault("namespace", "remote")
        doc["sql"] = sql


def _flags(doc: dict[str, Any], span: OtlpSpan, attrs: dict[str, Any]) -> None:
    status = doc.get("http", {}).get("response", {}).get("status")
    if attrs.get("aws.xray.throttle") is True or status == 429:
        doc["throttle"] = True
    if span.status_code != STATUS_ERROR:
        return
    if isinstance(status, int) and 400 <= status < 500:
        doc["error"] = True
    else:
        doc["fault"] = True


def _cause(doc: dict[str, Any], span: OtlpSpan) -> None:
    exceptions = []
    for index, event in enumerate(span.events):
        if event.name != "exception":
            continue
        exception: dict[str, Any] = {
            "id": f"{int.from_bytes(span.span_id, 'big') ^ (index + 1):016x}",
            "type": _text(event.attributes.get("exception.type")) or "Exception",
            "message": _text(event.attributes.get("exception.message")),
        }
        stack, truncated = _stack(_text(event.attributes.get("exception.stacktrace")))
        if stack:
            exception["stack"] = stack
        if truncated:
            exception["truncated"] = truncated
        exceptions.append(exception)
    if exceptions:
        doc["cause"] = {"exceptions": exceptions}


def _stack(text: str) -> tuple[list[dict[str, Any]], int]:
    frames: list[dict[str, Any]] = []
    truncated = 0
    for line in text.splitlines():
        found = _FRAME.match(line)
        if found is not None:
            frames.append(
                {
                    "path": found["path"],
                    "line": int(found["line"]),
                    "label": found["label"],
                }
            )
        elif line.strip().startswith("...") and line.strip().endswith("more frames"):
            number = line.strip()[3:].split()[0]
            truncated = int(number) if number.isdigit() else 0
    return frames, truncated


def _annotations_and_metadata(doc: dict[str, Any], attrs: dict[str, Any]) -> None:
    listed = attrs.get("aws.xray.annotations")
    annotations: dict[str, Any] = {}
    if isinstance(listed, list):
        for key in listed:
            value = attrs.pop(key, None) if isinstance(key, str) else None
            if _ANNOTATION_KEY.fullmatch(str(key)) and _annotation_value(value):
                annotations[str(key)] = value
    if annotations:
        doc["annotations"] = annotations
    metadata: dict[str, dict[str, Any]] = {}
    other: dict[str, Any] = {}
    for name, value in attrs.items():
        if name.startswith(_METADATA_PREFIX):
            namespace, _, key = name[len(_METADATA_PREFIX) :].partition(".")
            metadata.setdefault(namespace, {})[key] = value
        elif name not in _ROUTING:
            other[name] = value
    if other:
        metadata.setdefault("otel", {}).update(other)
    if metadata:
        doc["metadata"] = metadata


def _annotation_value(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= 1000
    return isinstance(value, (bool, int, float)) and value == value  # not NaN


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _host(url: str) -> str:
    _, sep, rest = url.partition("://")
    if not sep:
        return ""
    authority = rest.split("/", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    return authority.partition(":")[0]
