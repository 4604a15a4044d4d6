"""The wire form of a subsegment: the exact datagram the daemon receives.

:func:`encode` turns a closed :class:`~lambda_xray.document.Subsegment` into
the header line, a newline and one JSON document, never longer than
:data:`MAX_DATAGRAM` bytes. The usual document is written with one call of
the C JSON encoder for what is not written directly (no reflection); the
identity fields are quoted once per (trace, parent, name). Two short ways
write the commonest documents straight from a call's fields, byte for byte
what :func:`encode` gives once the call is recorded the general way:
:func:`aws_call_rest` (an AWS call that succeeded) and
:func:`http_call_rest` (an HTTP call answered below 400).

A document is written in two parts: its identity and the ``rest``
(:func:`rest_of`, :func:`aws_call_rest`, :func:`http_call_rest`), so the
same ``rest`` makes a standalone document (:func:`standalone`) or one
embedded in its parent's ``subsegments`` (:func:`embedded`; see
:mod:`lambda_xray.batch`, which keeps closed calls for their parent's
document). :func:`with_children` decides how many embedded documents a
document holds.

A document the fast way cannot write (a value JSON cannot hold: NaN, a
non-string key, a cycle, an object without a JSON form) or one that is too
large goes to :mod:`lambda_xray.wire_trim`, loaded only then.
"""

from __future__ import annotations

import sys

from lambda_xray.document import MAX_MESSAGE, clamp_http

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from lambda_xray.document import Subsegment

#: The daemon's header line, sent before every document.
HEADER: Final = b'{"format": "json", "version": 1}\n'
#: Largest document (JSON bytes after the header line) the layer sends. X-Ray
#: documents may be up to 64 kB; the datagram also has to fit UDP (65,507 bytes).
MAX_DOCUMENT: Final = 64_000
#: Largest datagram the layer sends.
MAX_DATAGRAM: Final = len(HEADER) + MAX_DOCUMENT


def json_default(value: Any) -> Any:
    """JSON form of a value ``json`` cannot encode: sets as lists, the rest as text."""
    if isinstance(value, (set, frozenset)):
        return list(value)
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return str(value)
    isoformat = getattr(type(value), "isoformat", None)
    if isoformat is not None and type(value).__module__ == "datetime":
        return str(isoformat(value))
    return safe_repr(value)


def safe_repr(value: Any) -> str:
    """``repr(value)`` cut to ``MAX_MESSAGE`` characters; a placeholder if it fails."""
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"
    return text[:MAX_MESSAGE] if isinstance(text, str) else "<bad repr>"


def _make_dumps() -> tuple[Callable[[Any], str], Callable[[str], str]]:
    """The JSON encoder and the string quoter, built once on first use."""
    try:
        # The C encoder straight from _json: json/__init__ would also load the
        # decoder and re, which encoding never needs.
        from _json import encode_basestring_ascii, make_encoder
    except ImportError:  # pragma: no cover - CPython always has _json
        import json.encoder as pure

        encoder = pure.JSONEncoder(separators=(",", ":"), default=json_default, allow_nan=False)
        return encoder.encode, pure.py_encode_basestring_ascii
    # Built once: no spaces, ASCII output (so bytes == characters), NaN rejected,
    # no circularity markers (a cycle ends in RecursionError and takes the safe path).
    c_encode = make_encoder(
        None, json_default, encode_basestring_ascii, None, ":", ",", False, False, False
    )

    def compact(obj: Any) -> str:
        return "".join(c_encode(obj, 0))

    return compact, encode_basestring_ascii


def _lazy_dumps(obj: Any) -> str:
    global dumps, _quote
    dumps, _quote = _make_dumps()
    return dumps(obj)


def _lazy_quote(text: str) -> str:
    global dumps, _quote
    dumps, _quote = _make_dumps()
    return _quote(text)


#: Compact ASCII JSON of a value (NaN rejected, :func:`json_default` for other objects).
dumps: Callable[[Any], str] = _lazy_dumps
#: ``"text"`` as a JSON string literal, ASCII only.
_quote: Callable[[str], str] = _lazy_quote


def encode(sub: Subsegment) -> bytes:
    """The datagram for ``sub``: header line + JSON, at most :data:`MAX_DATAGRAM` bytes.

    Never raises for any content a caller put in the subsegment.
    """
    try:
        body = _fast_body(sub)
    except Exception:
        body = None
    if body is None or len(body) > MAX_DOCUMENT:
        from lambda_xray.wire_trim import checked_body

        body = checked_body(sub)
    return HEADER + body.encode("ascii")


def datagram(body: str) -> bytes:
    """The datagram carrying ``body``, a document from this module (ASCII JSON)."""
    return HEADER + body.encode("ascii")


def standalone(sub: Subsegment, rest: str) -> str:
    """``sub``'s standalone document: ``type``, ``id``, the identity fields, then ``rest``
    (what :func:`rest_of`, :func:`aws_call_rest` or :func:`http_call_rest` wrote)."""
    key = (sub.trace_id, sub.parent_id, sub.name)
    identity = _identities.get(key)
    if identity is None:
        identity = _identity(key)
    return f'{{"type":"subsegment","id":{_quote(sub.id)}{identity}{rest}'


def embedded(sub: Subsegment, rest: str) -> str:
    """``sub``'s document as embedded in its parent's ``subsegments``: ``id``, ``name``,
    then ``rest`` (X-Ray takes the trace and the parent from the document holding it)."""
    name = _embedded_names.get(sub.name)
    if name is None:
        name = _embedded_name(sub.name)
    return f'{{"id":{_quote(sub.id)}{name}{rest}'


def as_standalone(embedded_body: str, trace_id: str, parent_id: str) -> str:
    """An :func:`embedded` document made standalone again: the same fields, plus
    ``type``, ``trace_id`` and ``parent_id`` (for one its parent's document cannot hold)."""
    return (
        f'{{"type":"subsegment","trace_id":{_quote(trace_id)},'
        f'"parent_id":{_quote(parent_id)},{embedded_body[1:]}'
    )


def with_children(
    head_and_rest: str, children: list[str], size: int, limit: int = MAX_DOCUMENT
) -> tuple[str, list[str]]:
    """A document (``head_and_rest``, from :func:`standalone` or :func:`embedded`) with
    ``children`` (embedded documents, ``size`` bytes together) in its ``subsegments``.

    The one place a document's size with its children is decided: as many
    children as fit ``limit`` go in, in order; the others are returned, to be
    sent as standalone documents. ``children`` is not changed.
    """
    if not children:
        return head_and_rest, []
    room = limit - len(head_and_rest) - len(_CHILDREN_OPEN) - 1
    if size + len(children) - 1 <= room:
        return f"{head_and_rest[:-1]}{_CHILDREN_OPEN}{','.join(children)}]}}", []
    kept: list[str] = []
    left: list[str] = []
    for child in children:
        cost = len(child) + (1 if kept else 0)
        if cost <= room:
            kept.append(child)
            room -= cost
        else:
            left.append(child)
    if not kept:
        return head_and_rest, left
    return f"{head_and_rest[:-1]}{_CHILDREN_OPEN}{','.join(kept)}]}}", left


_CHILDREN_OPEN: Final = ',"subsegments":['
#: The longest ``rest`` the short ways and :func:`rest_of` write: what stays
#: below :data:`MAX_DOCUMENT` with the longest identity fields in front (a
#: name of 200 characters, each escaped to ``\uXXXX``). Longer: the checked path.
MAX_REST: Final = MAX_DOCUMENT - 2048


def _fast_body(sub: Subsegment) -> str | None:
    """The usual case, the same JSON as ``to_dict`` gives (see :func:`rest_of`)."""
    rest = rest_of(sub)
    return None if rest is None else standalone(sub, rest)


def rest_of(sub: Subsegment) -> str | None:
    """``sub``'s document after its identity (from ``,"start_time"`` to the closing
    brace), the same JSON as ``to_dict`` gives, with as little work as possible:
    the usual ``http`` (a response status only) and ``namespace`` written
    directly, the rest encoded in one call. ``None`` when the checked path
    must write it (a time that is not a plain finite float, a value JSON
    cannot hold, longer than :data:`MAX_REST`). Never raises."""
    try:
        rest = _fast_rest(sub)
    except Exception:
        return None
    return rest if rest is not None and len(rest) <= MAX_REST else None


def _fast_rest(sub: Subsegment) -> str | None:
    start, end = sub.start_time, sub.end_time
    if type(start) is not float or start - start != 0.0:
        return None
    quote = _quote
    body = f',"start_time":{start!r}'
    if end is None:
        body += ',"in_progress":true'
    elif type(end) is float and end - end == 0.0:
        body += f',"end_time":{end!r}'
    else:
        return None
    namespace = sub.namespace
    if namespace:
        body += ',"namespace":"aws"' if namespace == "aws" else ',"namespace":' + quote(namespace)
    if sub.error:
        body += ',"error":true'
    if sub.throttle:
        body += ',"throttle":true'
    if sub.fault:
        body += ',"fault":true'
    http = sub.http
    if http:
        response = http.get("response") if len(http) == 1 else None
        status = response.get("status") if type(response) is dict and len(response) == 1 else None
        if type(status) is int:
            body += f',"http":{{"response":{{"status":{status}}}}}'
        else:
            body += ',"http":' + dumps(clamp_http(http))
    aws = sub.aws
    sql = sub.sql
    if sub.annotations or sub.metadata or sub.cause is not None:
        rest: dict[str, Any] = {}
        if aws:
            rest["aws"] = aws
        if sql:
            rest["sql"] = sql
        if sub.annotations:
            rest["annotations"] = sub.annotations
        if sub.metadata:
            rest["metadata"] = sub.metadata
        if sub.cause is not None:
            rest["cause"] = sub.cause
        return body + "," + dumps(rest)[1:]
    if aws:
        body += ',"aws":' + dumps(aws)
    if sql:
        body += ',"sql":' + _sql_block(sql)
    return body + "}"


# id(sql block) -> (a copy of it, its JSON): a database's block is encoded once.
_sql_json: dict[int, tuple[dict[str, Any], str]] = {}
_SQL_JSON_SIZE: Final = 64


def _sql_block(sql: dict[str, Any]) -> str:
    """``dumps(sql)``; a block equal to the one last seen at the same id is not encoded again."""
    known = _sql_json.get(id(sql))
    if known is not None and known[0] == sql:
        return known[1]
    text = dumps(sql)
    if len(_sql_json) >= _SQL_JSON_SIZE:
        _sql_json.clear()
    _sql_json[id(sql)] = (dict(sql), text)
    return text


def _plain_success(sub: Subsegment, status: object, end: object) -> bool:
    """Whether ``sub``, ended at ``end`` with ``status``, is a plain success the
    short ways below encode: finite float times, a status below 400, no sql,
    annotations, metadata, cause or flags (anything else takes :func:`encode`)."""
    start = sub.start_time
    return not (
        type(start) is not float
        or start - start != 0.0
        or type(end) is not float
        or end - end != 0.0
        or type(status) is not int
        or not 100 <= status < 400
        or sub.sql
        or sub.annotations
        or sub.metadata
        or sub.cause is not None
        or sub.error
        or sub.throttle
        or sub.fault
    )


def _text_only(items: tuple[tuple[Any, Any], ...]) -> bool:
    """Whether every key and value is a ``str``: the short ways cache JSON by
    these items, and ``1``, ``1.0`` and ``True`` are equal keys but not the same JSON."""
    return all(type(key) is str and type(value) is str for key, value in items)


def aws_call_rest(
    sub: Subsegment,
    status: int,
    end: float,
    request_id: object = None,
    host_id: object = None,
    retries: object = None,
) -> str | None:
    """The document of a successful AWS call after its identity (see :func:`rest_of`),
    or ``None`` when ``sub`` holds anything this short way does not cover (the
    caller takes the general one).

    ``sub.aws`` holds the request's fields (operation, region, resources);
    the call ended at ``end`` with ``status`` (below 400) and the response's
    ``RequestId``, ``HostId`` and ``RetryAttempts``. The JSON is the same as
    :func:`rest_of` gives once the call is recorded the general way:
    ``end_time``, ``http.response.status``, then ``aws.request_id`` and
    ``aws.id_2`` (when not empty) and ``aws.retries`` (when given) added
    after the request's fields. The request's fields' JSON is written once
    per distinct value (the same table, bucket or queue every time). ``sub``
    is not changed.
    """
    aws = sub.aws
    if sub.namespace != "aws" or not aws or sub.http or not _plain_success(sub, status, end):
        return None
    static = tuple(aws.items())
    # Text is the usual case; otherwise the types join the key (1, 1.0 and True
    # are equal keys but not the same JSON).
    cache_key: tuple[Any, ...] = (
        static if _text_only(static) else tuple((k, type(v), v) for k, v in static)
    )
    try:
        fields = _static_fields.get(cache_key)
    except TypeError:  # a list value (DynamoDB batch table names): not cached
        return None
    if fields is None:
        fields = _static_json(static, cache_key)
    quote = _quote
    if request_id:
        if type(request_id) is not str or "request_id" in aws:
            return None
        fields += ',"request_id":' + quote(request_id)
    if host_id:
        if type(host_id) is not str or "id_2" in aws:
            return None
        fields += ',"id_2":' + quote(host_id)
    if retries is not None:
        if type(retries) is not int or "retries" in aws:
            return None
        fields += f',"retries":{retries}'
    rest = (
        f',"start_time":{sub.start_time!r},"end_time":{end!r},"namespace":"aws",'
        f'"http":{{"response":{{"status":{status}}}}},"aws":{{{fields}}}}}'
    )
    return rest if len(rest) <= MAX_REST else None


def http_call_rest(sub: Subsegment, status: int, end: float) -> str | None:
    """The document of an HTTP call answered below 400 after its identity (see
    :func:`rest_of`), or ``None`` when ``sub`` holds anything this short way
    does not cover (the caller takes the general one).

    ``sub`` is a ``remote`` subsegment whose ``http`` holds its ``request``
    (and, for a response read later, ``response`` with a status only); the
    call ended at ``end`` with ``status``. The JSON is the same as
    :func:`rest_of` gives once :func:`lambda_xray._recorder.end_subsegment`
    recorded the status: ``end_time``, then ``http`` with the request's fields
    (clamped as always) and ``response.status``. The request's JSON is written
    once per distinct request (method and URL). ``sub`` is not changed.
    """
    http = sub.http
    if sub.namespace != "remote" or sub.aws or not _plain_success(sub, status, end):
        return None
    keys = tuple(http)
    if keys != _REQUEST_ONLY:
        if keys != _REQUEST_RESPONSE:
            return None
        response = http["response"]
        if type(response) is not dict or tuple(response) != _STATUS_ONLY:
            return None
    request = http["request"]
    if type(request) is not dict:
        return None
    fields = tuple(request.items())
    if not _text_only(fields):
        return None
    request_json = _http_requests.get(fields)
    if request_json is None:
        request_json = _http_request_json(fields)
        if request_json is None:
            return None
    rest = (
        f',"start_time":{sub.start_time!r},"end_time":{end!r},"namespace":"remote",'
        f'"http":{{"request":{request_json},"response":{{"status":{status}}}}}}}'
    )
    return rest if len(rest) <= MAX_REST else None


_REQUEST_ONLY: Final = ("request",)
_REQUEST_RESPONSE: Final = ("request", "response")
_STATUS_ONLY: Final = ("status",)
# tuple(http["request"].items()) -> the request's JSON (clamped as _clamp_http does).
_http_requests: dict[tuple[tuple[str, Any], ...], str] = {}


def _http_request_json(fields: tuple[tuple[str, Any], ...]) -> str | None:
    try:
        text = dumps(clamp_http({"request": dict(fields)})["request"])
    except Exception:  # a value JSON cannot hold: the general way makes it safe
        return None
    if len(_http_requests) >= _IDENTITIES_SIZE:
        _http_requests.clear()
    _http_requests[fields] = text
    return text


# tuple(aws.items()) of a call's request fields -> their JSON, without braces.
_static_fields: dict[tuple[Any, ...], str] = {}


def _static_json(static: tuple[tuple[str, Any], ...], key: tuple[Any, ...]) -> str:
    fields = dumps(dict(static))[1:-1]
    if len(_static_fields) >= _IDENTITIES_SIZE:
        _static_fields.clear()
    _static_fields[key] = fields
    return fields


# (trace_id, parent_id, name) -> '","trace_id":...,"name":...' quoted once.
_identities: dict[tuple[str, str, str], str] = {}
_IDENTITIES_SIZE: Final = 256


# name -> ',"name":...' quoted once (the embedded documents' identity).
_embedded_names: dict[str, str] = {}


def _embedded_name(name: str) -> str:
    text = ',"name":' + _quote(name)
    if len(_embedded_names) >= _IDENTITIES_SIZE:
        _embedded_names.clear()
    _embedded_names[name] = text
    return text


def _identity(key: tuple[str, str, str]) -> str:
    trace_id, parent_id, name = key
    quote = _quote
    text = f',"trace_id":{quote(trace_id)},"parent_id":{quote(parent_id)},"name":{quote(name)}'
    if len(_identities) >= _IDENTITIES_SIZE:
        _identities.clear()
    _identities[key] = text
    return text
