"""What a recording says, as OTLP span attributes: the one mapping (``docs/layer.md``).

:func:`attributes` gives a span's attributes as lists (what a span that must
be cut down works with); :func:`core_fields` gives the same core attributes
already encoded, the way every span is written: the parts that repeat from
call to call (an AWS call's service, operation, region and resource, an HTTP
call's method and URL, a status code) are encoded once and kept
(:data:`CACHE_SIZE` entries at most), so a call pays only for its own
request id. ``aws.local.*`` are in neither: they are the same for every span
of the process (``_spans.local_attributes``).
"""

from __future__ import annotations

from lambda_xray.otlp._proto import attribute, text_attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final

    from lambda_xray.document import Subsegment

    Attributes = list[tuple[str, Any]]

#: Encoded attribute groups kept; the cache starts again when it is full.
CACHE_SIZE: Final = 512
#: The invocation's span (``_spans.KIND_SERVER``).
_KIND_SERVER: Final = 2

# X-Ray ``aws`` fields with a semantic-convention name; other fields become ``aws.<field>``.
_AWS_FIELDS: Final = {
    "request_id": "aws.request_id",
    "id_2": "aws.extended_request_id",
    "region": "cloud.region",
    "bucket_name": "aws.s3.bucket",
    "queue_url": "aws.sqs.queue.url",
    "queue_name": "aws.sqs.queue.name",
    "index_name": "aws.dynamodb.index_name",
    "retries": "retry_attempts",
}
# The ``aws`` fields of one call's response: never cached.
_PER_CALL: Final = ("request_id", "id_2", "retries")
# Their names as the key field of a KeyValue (string_field(1, name)), as literals.
_NAME_FIELDS: Final = {
    "request_id": b"\x0a\x0eaws.request_id",
    "id_2": b"\x0a\x17aws.extended_request_id",
    "retries": b"\x0a\x0eretry_attempts",
}
# X-Ray ``sql`` fields -> ``db.*`` attributes (``url`` and ``user`` are left out: credentials).
_SQL_FIELDS: Final = {
    "database_type": "db.system.name",
    "sanitized_query": "db.query.text",
    "database_version": "db.version",
    "driver_version": "db.driver.version",
}
# Annotations the layer adds itself, and their semantic-convention names.
_ANNOTATION_ALIASES: Final = {"ColdStart": "faas.coldstart"}

_cache: dict[object, bytes] = {}


def attributes(sub: Subsegment, kind: int) -> tuple[Attributes, Attributes]:
    """The span's attributes: (the ones that name the call, annotations and metadata).

    The first list is never dropped when a span is cut down; the second is,
    largest first.
    """
    core: Attributes = []
    if sub.namespace == "aws":
        core += _aws_request(sub.name, sub.aws)
        core += _aws_response(sub.aws)
    request = sub.http.get("request") if sub.http else None
    if isinstance(request, dict):
        core += _http_request(request.get("method"), request.get("url"))
    core += _status(sub)
    core += _other(sub, kind)
    return core, _annotations_and_metadata(sub)


def core_fields(sub: Subsegment, kind: int) -> bytes:
    """The first list of :func:`attributes`, encoded (attribute fields of a ``Span``)."""
    out = b""
    if sub.namespace == "aws":
        aws = sub.aws
        key = _request_key(sub.name, aws)
        found = _cache.get(key) if key is not None else None
        if found is None:
            found = _encode(_aws_request(sub.name, aws))
            if key is not None:
                _keep(key, found)
        out = found + _response_fields(aws)
    http = sub.http
    if http:
        request = http.get("request")
        if isinstance(request, dict):
            method, url = request.get("method"), request.get("url")
            if type(method) is str and type(url) is str:
                key = ("http", method, url)
                out += _cache.get(key) or _keep(key, _encode(_http_request(method, url)))
            else:
                out += _encode(_http_request(method, url))
        status = _status(sub)
        if status:
            key = ("status", status[0][1])
            out += _cache.get(key) or _keep(key, _encode(status))
    # A plain AWS call has none of _other's attributes: skip its checks.
    if kind == _KIND_SERVER or sub.namespace != "aws" or sub.annotations or sub.throttle or sub.sql:
        out += _encode(_other(sub, kind))
    return out


def _response_fields(aws: Mapping[str, Any]) -> bytes:
    """:func:`_aws_response` encoded: request ids the short way, retry counts cached."""
    out = b""
    for field in _PER_CALL:
        if field in aws:
            value = aws[field]
            if type(value) is str:
                out += text_attribute(9, _NAME_FIELDS[field], value)
            elif type(value) is int:
                key = (field, value)
                out += _cache.get(key) or _keep(key, attribute(9, _AWS_FIELDS[field], value))
            else:
                out += attribute(9, _AWS_FIELDS[field], value)
    return out


def _request_key(service: str, aws: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The cache key of an AWS call's request part; ``None`` unless every value is text
    (``True`` and ``1`` are equal keys but not equal attributes)."""
    key = ["aws", service]
    for field, value in aws.items():
        if field in _PER_CALL:
            continue
        if type(value) is not str or type(field) is not str:
            return None
        key += (field, value)
    return tuple(key)


def _encode(found: Attributes) -> bytes:
    return b"".join([attribute(9, name, value) for name, value in found])


def _keep(key: object, encoded: bytes) -> bytes:
    if len(_cache) >= CACHE_SIZE:
        _cache.clear()
    _cache[key] = encoded
    return encoded


# -- the groups ----------------------------------------------------------------------


def _aws_request(service: str, aws: Mapping[str, Any]) -> Attributes:
    """An AWS call's service, operation, region and resource (what repeats)."""
    out: Attributes = [("rpc.system", "aws-api"), ("rpc.service", service)]
    operation = aws.get("operation")
    if isinstance(operation, str):
        out.append(("rpc.method", operation))
        out.append(("aws.remote.operation", operation))
    out.append(("aws.remote.service", "AWS::" + service))
    for field, value in aws.items():
        if field == "operation" or field in _PER_CALL:
            continue
        if field == "table_name":
            out.append(("aws.dynamodb.table_names", [value]))
        elif field == "table_names":
            out.append(("aws.dynamodb.table_names", list(value) if _is_list(value) else [value]))
        else:
            out.append((_AWS_FIELDS.get(field) or "aws." + str(field), value))
    resource = _remote_resource(aws)
    if resource is not None:
        out.append(("aws.remote.resource.type", resource[0]))
        out.append(("aws.remote.resource.identifier", resource[1]))
    return out


def _aws_response(aws: Mapping[str, Any]) -> Attributes:
    """An AWS call's own fields: request ids, retries."""
    return [(_AWS_FIELDS[field], aws[field]) for field in _PER_CALL if field in aws]


def _remote_resource(aws: Mapping[str, Any]) -> tuple[str, str] | None:
    """ADOT's ``aws.remote.resource.type``/``identifier`` for a table, bucket or queue."""
    table = aws.get("table_name")
    if table is None:
        tables = aws.get("table_names")
        if isinstance(tables, (list, tuple)) and len(tables) == 1:
            table = tables[0]
    if isinstance(table, str) and table:
        return "AWS::DynamoDB::Table", table
    bucket = aws.get("bucket_name")
    if isinstance(bucket, str) and bucket:
        return "AWS::S3::Bucket", bucket
    queue = aws.get("queue_name")
    if not queue:
        url = aws.get("queue_url")
        queue = url.rstrip("/").rpartition("/")[2] if isinstance(url, str) else None
    if isinstance(queue, str) and queue:
        return "AWS::SQS::Queue", queue
    return None


def _is_list(value: object) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _http_request(method: object, url: object) -> Attributes:
    """An HTTP call's method, URL (never a query string), server and remote."""
    out: Attributes = []
    if isinstance(method, str):
        out.append(("http.request.method", method))
    if isinstance(url, str):
        url = url.split("?", 1)[0].split("#", 1)[0]  # never a query string, whoever filled it
        out.append(("url.full", url))
        scheme, sep, rest = url.partition("://")
        if sep:
            authority, _, path = rest.partition("/")
            host, port = _split_authority(authority.rpartition("@")[2])
            if host:
                out.append(("server.address", host))
            out.append(("server.port", port or (443 if scheme == "https" else 80)))
            if host:  # Application Signals' remote service and operation, as ADOT names them
                out.append(("aws.remote.service", host))
                if isinstance(method, str):
                    out.append(("aws.remote.operation", f"{method} /{path}"))
    return out


def _split_authority(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif authority.count(":") == 1:
        host, _, port_text = authority.partition(":")
    else:
        host, port_text = authority, ""
    port = int(port_text) if port_text.isdigit() and port_text.isascii() else None
    return host, port


def _status(sub: Subsegment) -> Attributes:
    response = sub.http.get("response") if sub.http else None
    if isinstance(response, dict):
        status = response.get("status")
        if type(status) is int:
            return [("http.response.status_code", status)]
    return []


def _other(sub: Subsegment, kind: int) -> Attributes:
    """The rest of the core: a remote without a request, SQL, the invocation, throttle."""
    out: Attributes = []
    if sub.namespace == "remote" and not isinstance(sub.http.get("request"), dict):
        out.append(("server.address", sub.name))
        out.append(("aws.remote.service", sub.name))
    sql = getattr(sub, "sql", None)
    if isinstance(sql, dict):
        for field, value in sql.items():
            name = _SQL_FIELDS.get(field)
            if name is not None and isinstance(value, str):
                out.append((name, value.lower() if field == "database_type" else value))
    if kind == _KIND_SERVER:
        out.append(("aws.span.kind", "LOCAL_ROOT"))
    if sub.throttle:
        out.append(("aws.xray.throttle", True))
    annotations = sub.annotations
    if annotations:
        for name, alias in _ANNOTATION_ALIASES.items():
            if name in annotations:
                out.append((alias, annotations[name]))
    return out


def _annotations_and_metadata(sub: Subsegment) -> Attributes:
    """The annotations, ``aws.xray.annotations`` listing them, and the metadata."""
    extra: Attributes = []
    annotations = sub.annotations
    if annotations:
        extra += annotations.items()
        extra.append(("aws.xray.annotations", list(annotations)))
    for namespace, entries in sub.metadata.items():
        if isinstance(entries, dict):
            for name, value in entries.items():
                extra.append((f"lambda_xray.metadata.{namespace}.{name}", value))
    return extra


def extra_attributes(sub: Subsegment) -> Attributes:
    """The second list of :func:`attributes` (annotations and metadata)."""
    return _annotations_and_metadata(sub) if sub.annotations or sub.metadata else []
