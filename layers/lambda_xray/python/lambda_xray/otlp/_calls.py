"""The span of a successful plain call, written the short way (most spans an invocation sends).

:func:`aws_call_span` writes the span of an AWS call answered below 400
straight from its fields, the same bytes :func:`._spans.encode_span` writes
once the call has been recorded the general way (``aws.request_id``,
``aws.id_2`` and ``aws.retries`` added to ``sub.aws``,
``http.response.status`` set); :func:`http_call_span` does the same for an
HTTP call. The parts that repeat from call to call are written once and
kept (at most :data:`CACHE_SIZE` entries each):

- per trace and parent: the trace id field, the span id's key, the parent id
  field;
- per call site (the service and the request's fields, or the method and
  URL): the name and kind fields, the call's attributes;
- per status and sampling decision: the status code attribute and ``flags``.

A call pays for its span id, its two times and its request id. Anything the
short way does not cover (a field that is not text, an annotation, a
failure, a span that would have to be cut down) returns ``None`` and the
caller takes the general way; ``sub`` is never changed.
"""

from __future__ import annotations

from _struct import Struct  # loaded after the first batch (see OTLPEmitter._short_parts)

from lambda_xray.otlp._attributes import _NAME_FIELDS, core_fields
from lambda_xray.otlp._proto import attribute, text_attribute, varint
from lambda_xray.otlp._spans import (
    _END_KEY,
    _FLAGS,
    _KINDS,
    _PARENT_ID_KEY,
    _SPAN_ID_KEY,
    _START_KEY,
    _TRACE_ID_KEY,
    KIND_CLIENT,
    _name_field,
    otlp_trace_id,
)
from lambda_xray.wire import _plain_success

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TypeVar

    from lambda_xray.document import Subsegment

    K = TypeVar("K")
    V = TypeVar("V")

# A span's start and end fields (keys and fixed64 nanoseconds), in one call.
_TIMES: Final = Struct("<BQBQ")
#: Entries kept in each cache; a full cache starts again.
CACHE_SIZE: Final = 256

_REQUEST_ID: Final = _NAME_FIELDS["request_id"]
_ID_2: Final = _NAME_FIELDS["id_2"]
_CLIENT: Final = _KINDS[KIND_CLIENT]

# (trace id, parent id) -> (trace id field + span id key, parent id field).
_ids: dict[tuple[str, str | None], tuple[bytes, bytes]] = {}
# (service, request fields) or (name, method, url) -> (name + kind, the call's attributes).
_sites: dict[object, tuple[bytes, bytes]] = {}
# The last (trace id, parent id) and its entry in _ids.
_last_ids: list[Any] = [object(), object(), ()]
# status -> the status code attribute + flags, of a sampled and an unsampled span.
_sampled_tails: dict[int, bytes] = {}
_unsampled_tails: dict[int, bytes] = {}
# retry count -> its attribute.
_retries: dict[int, bytes] = {}
# A request id's (an extended request id's) length -> the attribute's bytes before its text.
_request_ids: dict[int, bytes] = {}
_host_ids: dict[int, bytes] = {}
# A span's length -> its key and length as a field of ScopeSpans.
_field_keys: dict[int, bytes] = {}


def aws_call_span(
    sub: Subsegment,
    status: int,
    end: float,
    request_id: object,
    host_id: object,
    retries: object,
    local: bytes,
    sampled: bool,
    limit: int,
) -> bytes | None:
    """The ``Span`` message body of ``sub``, an AWS call that ended at ``end``
    with ``status`` and the response's ``RequestId``, ``HostId`` and
    ``RetryAttempts``; ``None`` when the general way must write it.

    ``local`` is the process's ``aws.local.*`` attributes, ``sampled`` the
    invocation's decision, ``limit`` the largest span that fits a datagram.
    """
    aws = sub.aws
    if sub.namespace != "aws" or sub.http or not _plain_success(sub, status, end):
        return None
    key = (sub.name, tuple(aws.items()))
    try:
        site = _sites.get(key)
    except TypeError:  # a list value (DynamoDB batch table names)
        return None
    if site is None:
        if not all(type(k) is str and type(v) is str for k, v in key[1]):
            return None  # True and 1 are equal keys but not the same attribute
        if "request_id" in aws or "id_2" in aws or "retries" in aws:
            return None  # recorded before: the general way says which one counts
        site = _keep(_sites, key, _site(sub))
    response = b""
    if request_id:
        if type(request_id) is not str:
            return None
        response = _text(_request_ids, _REQUEST_ID, request_id)
    if host_id:
        if type(host_id) is not str:
            return None
        response += _text(_host_ids, _ID_2, host_id)
    if retries is not None:
        if type(retries) is not int:
            return None
        found = _retries.get(retries)
        if found is None:
            found = _keep(_retries, retries, attribute(9, "retry_attempts", retries))
        response += found
    return _span(sub, end, site, local, response, status, sampled, limit)


def http_call_span(
    sub: Subsegment, status: int, end: float, local: bytes, sampled: bool, limit: int
) -> bytes | None:
    """The ``Span`` message body of ``sub``, an HTTP call (namespace ``remote``,
    ``http`` holding its ``request``) answered with ``status`` at ``end``;
    ``None`` when the general way must write it."""
    http = sub.http
    if sub.namespace != "remote" or sub.aws or not _plain_success(sub, status, end):
        return None
    if len(http) != 1:  # a response recorded earlier (a body read later): the general way
        return None
    request = http.get("request")
    if type(request) is not dict:
        return None
    method, url = request.get("method"), request.get("url")
    if type(method) is not str or type(url) is not str:
        return None
    key = (sub.name, method, url)  # a 3-tuple: never an AWS call's key
    site = _sites.get(key)
    if site is None:
        site = _keep(_sites, key, _site(sub))
    return _span(sub, end, site, local, b"", status, sampled, limit)


def _span(
    sub: Subsegment,
    end: float,
    site: tuple[bytes, bytes],
    local: bytes,
    response: bytes,
    status: int,
    sampled: bool,
    limit: int,
) -> bytes | None:
    trace_id, parent_id = sub.trace_id, sub.parent_id
    last = _last_ids
    if trace_id is last[0] and parent_id is last[1]:  # the usual case: the same parent
        ids: tuple[bytes, bytes] = last[2]
    else:
        found = _ids_of(trace_id, parent_id)
        if not found:
            return None
        ids = found
    tail = (_sampled_tails if sampled else _unsampled_tails).get(status)
    if tail is None:
        tail = _tail(status, sampled)
    start = sub.start_time  # a finite float (_plain_success), as _spans._nanos reads it
    start_ns = int(start * 1e9) if 0 <= start < 1e11 else 0
    end_ns = (int(end * 1e9) if 0 <= end < 1e11 else 0) or start_ns
    span = b"".join(
        (
            ids[0],
            bytes.fromhex(sub.id),
            ids[1],
            site[0],
            _TIMES.pack(_START_KEY, start_ns, _END_KEY, end_ns),
            local,
            site[1],
            response,
            tail,
        )
    )
    return span if len(span) <= limit else None


def _ids_of(trace_id: str, parent_id: str | None) -> tuple[bytes, bytes] | tuple[()]:
    """The trace id field + the span id's key, the parent id field; ``()`` without a
    parent (the general way leaves the field out)."""
    if not parent_id:
        return ()
    key = (trace_id, parent_id)
    ids = _ids.get(key)
    if ids is None:
        prefix = _TRACE_ID_KEY + otlp_trace_id(trace_id) + _SPAN_ID_KEY
        ids = _keep(_ids, key, (prefix, _PARENT_ID_KEY + bytes.fromhex(parent_id)))
    _last_ids[:] = (trace_id, parent_id, ids)
    return ids


def _tail(status: int, sampled: bool) -> bytes:
    """The status code attribute and ``flags`` (a span with no other status)."""
    tails = _sampled_tails if sampled else _unsampled_tails
    written = attribute(9, "http.response.status_code", status) + _FLAGS[sampled, False]
    return _keep(tails, status, written)


def _site(sub: Subsegment) -> tuple[bytes, bytes]:
    """The call site's parts (name + kind, the call's attributes), written by the
    general way's own functions while ``sub`` holds only the request."""
    return _name_field(sub, KIND_CLIENT) + _CLIENT, core_fields(sub, KIND_CLIENT)


def _text(prefixes: dict[int, bytes], name_field: bytes, value: str) -> bytes:
    """``text_attribute(9, name_field, value)``: everything before the text depends
    only on its length, written once per length."""
    try:
        data = value.encode()
    except UnicodeEncodeError:  # a lone surrogate: text_attribute replaces it
        return text_attribute(9, name_field, value)
    size = len(data)
    prefix = prefixes.get(size)
    if prefix is None:
        prefix = _keep(prefixes, size, text_attribute(9, name_field, "x" * size)[:-size])
    return prefix + data


def field(span: bytes) -> bytes:
    """``span`` as field 2 of ``ScopeSpans`` (what a batch holds)."""
    size = len(span)
    prefix = _field_keys.get(size)
    if prefix is None:
        prefix = _keep(_field_keys, size, b"\x12" + varint(size))
    return prefix + span


def _keep(cache: dict[K, V], key: K, value: V) -> V:
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value
