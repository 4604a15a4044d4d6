"""The subsegment document: the model and its encoding for the daemon.

A :class:`Subsegment` is a plain slotted object; :func:`encode` turns a closed
one into the exact datagram the daemon receives: the header line, a newline
and one JSON document, never longer than :data:`MAX_DATAGRAM` bytes. Its
``cause`` is built by :mod:`lambda_xray.causes`, its name goes through
:func:`lambda_xray.redact.redact` like every recorded message.

Encoding is one call of the C JSON encoder on a dict built field by field (no
reflection). Only when that fails (a value JSON cannot hold: NaN, a
non-string key, a cycle, an object without a JSON form) is the document
rebuilt with every such value replaced by a safe form (``repr`` for objects).
Only when the result is too large is it trimmed, in this order: metadata
(largest entries first), exception stacks and messages, long strings, and as
a last resort everything but the identity, timing and flags. What was cut is
marked: exceptions carry ``truncated`` (frames dropped) and the metadata
namespace ``lambda_xray`` gets ``truncated: true`` and the dropped keys.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

#: The daemon's header line, sent before every document.
HEADER: Final = b'{"format": "json", "version": 1}\n'
#: Largest document (JSON bytes after the header line) the layer sends. X-Ray
#: documents may be up to 64 kB; the datagram also has to fit UDP (65,507 bytes).
MAX_DOCUMENT: Final = 64_000
#: Largest datagram the layer sends.
MAX_DATAGRAM: Final = len(HEADER) + MAX_DOCUMENT
#: Segment names: at most this many characters.
MAX_NAME: Final = 200
#: Metadata namespace where trimming notes what it dropped.
TRUNCATION_NAMESPACE: Final = "lambda_xray"
#: Exception messages are cut to this many characters.
MAX_MESSAGE: Final = 4096
#: ``http.request`` strings are limited to this many characters by the schema.
MAX_HTTP_STRING: Final = 250

_NAME_ASCII: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/%&#=+-@"
)
#: Every text :func:`lambda_xray.redact.redact` changes holds one of these
#: (a property test checks it): names without any, such as ``## app.handler``
#: or ``DynamoDB``, skip loading that module at cold start.
REDACTION_HINTS: Final = (":", "?", "/", "=", "'", "alue")
_name_cache: dict[str, str] = {}
_NAME_CACHE_SIZE: Final = 512


#: Entity ids not handed out yet, drawn from the OS's secure random source 64
#: at a time (one system call instead of one per subsegment). ``list.pop`` is
#: atomic, so threads never share an id. A forked child starts a fresh pool,
#: and so does every invocation (:func:`drop_unused_ids`): ids drawn before a
#: SnapStart snapshot are never handed out by the restored copies.
_ids: list[str] = []
_IDS_PER_DRAW: Final = 64


def _draw_ids() -> str:
    """Refill the id pool; returns one more id for the caller."""
    text = os.urandom(8 * _IDS_PER_DRAW).hex()
    _ids.extend([text[i : i + 16] for i in range(16, len(text), 16)])
    return text[:16]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.clear)


def drop_unused_ids() -> None:
    """Forget the ids drawn but not handed out (called when an invocation starts)."""
    _ids.clear()


def new_id() -> str:
    """A new 16-hex-digit entity id (from the OS's secure random source, never repeated)."""
    try:
        return _ids.pop()
    except IndexError:
        return _draw_ids()


def sanitize_name(name: str) -> str:
    """``name`` redacted (as every recorded string), with the characters X-Ray
    rejects removed, cut to 200 characters."""
    if not isinstance(name, str):
        name = str(name)
    cached = _name_cache.get(name)
    if cached is not None:
        return cached
    text = name[: 5 * MAX_NAME]  # bounded work: the name is cut to 200 characters anyway
    for hint in REDACTION_HINTS:
        if hint in text:
            from lambda_xray.redact import redact

            text = redact(text)
            break
    if text.isascii():
        clean = "".join(ch for ch in text if ch in _NAME_ASCII)
    else:
        from lambda_xray._names import DISALLOWED

        clean = DISALLOWED.sub("", text)
    clean = clean[:MAX_NAME] or "unnamed"
    if len(_name_cache) >= _NAME_CACHE_SIZE:
        _name_cache.clear()
    _name_cache[name] = clean
    return clean


class Subsegment:
    """One X-Ray subsegment, sent on its own once closed.

    ``http`` (``request``/``response`` dicts), ``aws``, ``sql``, ``annotations`` and
    ``metadata`` (``{namespace: {key: value}}``) are plain dicts that callers
    fill in; empty ones are left out of the document.
    """

    __slots__ = (
        "annotations",
        "aws",
        "cause",
        "end_time",
        "error",
        "fault",
        "http",
        "id",
        "invocation",
        "metadata",
        "name",
        "namespace",
        "parent_id",
        "sql",
        "start_time",
        "throttle",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        trace_id: str,
        parent_id: str,
        namespace: str | None = None,
        invocation: object = None,
    ) -> None:
        try:
            self.id: str = _ids.pop()
        except IndexError:
            self.id = _draw_ids()
        self.trace_id = trace_id
        self.parent_id = parent_id
        clean = _name_cache.get(name) if type(name) is str else None
        self.name = clean if clean is not None else sanitize_name(name)
        self.namespace = namespace
        self.start_time: float = time.time()
        self.end_time: float | None = None
        self.http: dict[str, Any] = {}
        self.aws: dict[str, Any] = {}
        self.sql: dict[str, Any] = {}
        self.annotations: dict[str, str | int | float | bool] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.error = False
        self.throttle = False
        self.fault = False
        self.cause: dict[str, Any] | str | None = None
        #: The invocation this subsegment belongs to (opaque to this module).
        self.invocation = invocation

    def add_exception(
        self, exc: BaseException, remote: bool = False, at_call: bool = False
    ) -> None:
        """Record ``exc`` as this subsegment's ``cause`` (see :mod:`lambda_xray.causes`).

        An exception already recorded on another subsegment of the same
        invocation is referenced by its id instead of being copied; messages
        are redacted; ``at_call`` (a client patch handling the exception
        where the call was made) adds the calling code to the stack. Flags
        are left to the caller. Never raises.
        """
        try:
            from lambda_xray.causes import cause_for

            self.cause = cause_for(exc, remote, at_call)
        except Exception:
            self.cause = None

    def to_dict(self) -> dict[str, Any]:
        """The document as a dict (shares the caller's dicts; do not mutate it)."""
        doc: dict[str, Any] = {
            "type": "subsegment",
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "start_time": self.start_time,
        }
        if self.end_time is not None:
            doc["end_time"] = self.end_time
        else:
            doc["in_progress"] = True
        if self.namespace:
            doc["namespace"] = self.namespace
        if self.error:
            doc["error"] = True
        if self.throttle:
            doc["throttle"] = True
        if self.fault:
            doc["fault"] = True
        if self.http:
            doc["http"] = _clamp_http(self.http)
        if self.aws:
            doc["aws"] = self.aws
        if self.sql:
            doc["sql"] = self.sql
        if self.annotations:
            doc["annotations"] = self.annotations
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.cause is not None:
            doc["cause"] = self.cause
        return doc

    def __repr__(self) -> str:
        return f"Subsegment(name={self.name!r}, id={self.id!r}, parent_id={self.parent_id!r})"


def _clamp_http(http: dict[str, Any]) -> dict[str, Any]:
    request = http.get("request")
    if not isinstance(request, dict):
        return http
    for value in request.values():
        if isinstance(value, str) and len(value) > MAX_HTTP_STRING:
            break
    else:
        return http
    clamped = {k: v[:MAX_HTTP_STRING] if isinstance(v, str) else v for k, v in request.items()}
    return {**http, "request": clamped}


# -- exceptions -----------------------------------------------------------------


def forget_exceptions() -> None:
    """Drop the invocation's exception registry (called when an invocation ends).

    The registry lives in :mod:`lambda_xray.causes`, imported on the first
    failure only: until then there is nothing to forget.
    """
    causes = sys.modules.get("lambda_xray.causes")
    if causes is not None:
        causes.forget()


# -- encoding -------------------------------------------------------------------


def _default(value: Any) -> Any:
    """JSON form of a value ``json`` cannot encode: sets as lists, the rest as text."""
    if isinstance(value, (set, frozenset)):
        return list(value)
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return str(value)
    isoformat = getattr(type(value), "isoformat", None)
    if isoformat is not None and type(value).__module__ == "datetime":
        return str(isoformat(value))
    return _repr(value)


def _repr(value: Any) -> str:
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

        encoder = pure.JSONEncoder(separators=(",", ":"), default=_default, allow_nan=False)
        return encoder.encode, pure.py_encode_basestring_ascii
    # Built once: no spaces, ASCII output (so bytes == characters), NaN rejected,
    # no circularity markers (a cycle ends in RecursionError and takes the safe path).
    c_encode = make_encoder(
        None, _default, encode_basestring_ascii, None, ":", ",", False, False, False
    )

    def dumps(obj: Any) -> str:
        return "".join(c_encode(obj, 0))

    return dumps, encode_basestring_ascii


def _lazy_dumps(obj: Any) -> str:
    global _dumps, _quote
    _dumps, _quote = _make_dumps()
    return _dumps(obj)


def _lazy_quote(text: str) -> str:
    global _dumps, _quote
    _dumps, _quote = _make_dumps()
    return _quote(text)


_dumps: Callable[[Any], str] = _lazy_dumps
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
        body = _checked_body(sub)
    return HEADER + body.encode("ascii")


def _fast_body(sub: Subsegment) -> str | None:
    """The usual case, the same JSON as ``to_dict`` gives, with as little work
    as possible: the identity fields quoted once per (trace, parent, name), the
    usual ``http`` (a response status only) and ``namespace`` written
    directly, the rest encoded in one call. ``None`` when a time is not a plain
    finite float (the checked path handles that)."""
    start, end = sub.start_time, sub.end_time
    if type(start) is not float or start - start != 0.0:
        return None
    quote = _quote
    key = (sub.trace_id, sub.parent_id, sub.name)
    identity = _identities.get(key)
    if identity is None:
        identity = _identity(key)
    body = f'{{"type":"subsegment","id":{quote(sub.id)}{identity},"start_time":{start!r}'
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
            body += ',"http":' + _dumps(_clamp_http(http))
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
        return body + "," + _dumps(rest)[1:]
    if aws:
        body += ',"aws":' + _dumps(aws)
    if sql:
        body += ',"sql":' + _sql_block(sql)
    return body + "}"


# id(sql block) -> (a copy of it, its JSON): a database's block is encoded once.
_sql_json: dict[int, tuple[dict[str, Any], str]] = {}
_SQL_JSON_SIZE: Final = 64


def _sql_block(sql: dict[str, Any]) -> str:
    """``_dumps(sql)``; a block equal to the one last seen at the same id is not encoded again."""
    known = _sql_json.get(id(sql))
    if known is not None and known[0] == sql:
        return known[1]
    text = _dumps(sql)
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


def encode_aws_call(
    sub: Subsegment,
    status: int,
    end: float,
    request_id: object = None,
    host_id: object = None,
    retries: object = None,
) -> bytes | None:
    """The datagram of a successful AWS call, or ``None`` when ``sub`` holds
    anything this short way does not cover (the caller takes the general one).

    ``sub.aws`` holds the request's fields (operation, region, resources);
    the call ended at ``end`` with ``status`` (below 400) and the response's
    ``RequestId``, ``HostId`` and ``RetryAttempts``. The bytes are the same as
    :func:`encode` gives once the call is recorded the general way:
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
    key = (sub.trace_id, sub.parent_id, sub.name)
    identity = _identities.get(key)
    if identity is None:
        identity = _identity(key)
    body = (
        f'{{"type":"subsegment","id":{quote(sub.id)}{identity},"start_time":{sub.start_time!r},'
        f'"end_time":{end!r},"namespace":"aws","http":{{"response":{{"status":{status}}}}},'
        f'"aws":{{{fields}}}}}'
    )
    if len(body) > MAX_DOCUMENT:
        return None
    return HEADER + body.encode("ascii")


def encode_http_call(sub: Subsegment, status: int, end: float) -> bytes | None:
    """The datagram of an HTTP call answered below 400, or ``None`` when ``sub``
    holds anything this short way does not cover (the caller takes the general one).

    ``sub`` is a ``remote`` subsegment whose ``http`` holds its ``request``
    (and, for a response read later, ``response`` with a status only); the
    call ended at ``end`` with ``status``. The bytes are the same as
    :func:`encode` gives once :func:`lambda_xray._recorder.end_subsegment`
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
    key = (sub.trace_id, sub.parent_id, sub.name)
    identity = _identities.get(key)
    if identity is None:
        identity = _identity(key)
    datagram = (
        f'{_HEADER_TEXT}{{"type":"subsegment","id":{_quote(sub.id)}{identity},'
        f'"start_time":{sub.start_time!r},"end_time":{end!r},"namespace":"remote",'
        f'"http":{{"request":{request_json},"response":{{"status":{status}}}}}}}'
    )
    if len(datagram) > MAX_DATAGRAM:
        return None
    return datagram.encode("ascii")  # ASCII only: one byte per character


_HEADER_TEXT: Final = HEADER.decode("ascii")
_REQUEST_ONLY: Final = ("request",)
_REQUEST_RESPONSE: Final = ("request", "response")
_STATUS_ONLY: Final = ("status",)
# tuple(http["request"].items()) -> the request's JSON (clamped as _clamp_http does).
_http_requests: dict[tuple[tuple[str, Any], ...], str] = {}


def _http_request_json(fields: tuple[tuple[str, Any], ...]) -> str | None:
    try:
        text = _dumps(_clamp_http({"request": dict(fields)})["request"])
    except Exception:  # a value JSON cannot hold: the general way makes it safe
        return None
    if len(_http_requests) >= _IDENTITIES_SIZE:
        _http_requests.clear()
    _http_requests[fields] = text
    return text


# tuple(aws.items()) of a call's request fields -> their JSON, without braces.
_static_fields: dict[tuple[Any, ...], str] = {}


def _static_json(static: tuple[tuple[str, Any], ...], key: tuple[Any, ...]) -> str:
    fields = _dumps(dict(static))[1:-1]
    if len(_static_fields) >= _IDENTITIES_SIZE:
        _static_fields.clear()
    _static_fields[key] = fields
    return fields


# (trace_id, parent_id, name) -> '","trace_id":...,"name":...' quoted once.
_identities: dict[tuple[str, str, str], str] = {}
_IDENTITIES_SIZE: Final = 256


def _identity(key: tuple[str, str, str]) -> str:
    trace_id, parent_id, name = key
    quote = _quote
    text = f',"trace_id":{quote(trace_id)},"parent_id":{quote(parent_id)},"name":{quote(name)}'
    if len(_identities) >= _IDENTITIES_SIZE:
        _identities.clear()
    _identities[key] = text
    return text


def _checked_body(sub: Subsegment) -> str:
    """Any content: unsafe values replaced, oversized documents trimmed."""
    doc = sub.to_dict()
    try:
        body = _dumps(doc)
    except Exception:
        doc = _safe_document(doc)
        body = _dumps(doc)
    if len(body) <= MAX_DOCUMENT:
        return body
    return _trim(doc, body)


def _safe_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every value JSON cannot hold replaced (fresh containers)."""
    safe = dict(doc)
    for key in ("http", "aws", "sql", "annotations", "metadata", "cause"):
        if key in safe:
            safe[key] = make_safe(safe[key])
    for key in ("start_time", "end_time"):
        value = safe.get(key)
        if not isinstance(value, float) or value != value or value in (_INF, -_INF):
            safe[key] = time.time() if key == "start_time" else safe.get("start_time", 0.0)
    return safe


_INF: Final = float("inf")
_MAX_DEPTH: Final = 32
_INT_LIMIT: Final = 2**64


def make_safe(value: Any, _depth: int = 0, _path: frozenset[int] = frozenset()) -> Any:
    """A JSON-encodable copy of ``value``: objects become their ``repr``, NaN a string.

    Depth is capped (deeper values become ``repr`` text) and cycles end in the
    string ``"<cycle>"``.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if -_INT_LIMIT < value < _INT_LIMIT else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if value == value and value not in (_INF, -_INF) else repr(value)
    if _depth >= _MAX_DEPTH:
        return _repr(value)[:200]
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in _path:
            return "<cycle>"
        path = _path | {id(value)}
        if isinstance(value, dict):
            return {
                (k if isinstance(k, str) else _repr(k)): make_safe(v, _depth + 1, path)
                for k, v in list(value.items())
            }
        return [make_safe(v, _depth + 1, path) for v in list(value)]
    converted = _default(value)
    return converted if isinstance(converted, str) else make_safe(converted, _depth + 1, _path)


def _trim(doc: dict[str, Any], body: str) -> str:
    """Cut ``doc`` down until its JSON fits :data:`MAX_DOCUMENT`; returns the JSON."""
    doc = dict(doc)
    for step in (_trim_metadata, _trim_cause, _trim_strings):
        if step(doc, len(body) - MAX_DOCUMENT):
            try:
                body = _dumps(doc)
            except Exception:
                doc = _safe_document(doc)
                body = _dumps(doc)
            if len(body) <= MAX_DOCUMENT:
                return body
    return _dumps(_minimal(doc))


def _trim_metadata(doc: dict[str, Any], excess: int) -> bool:
    metadata = doc.get("metadata")
    if not metadata:
        return False
    sized: list[tuple[int, str, str]] = []
    for namespace, entries in metadata.items():
        if isinstance(entries, dict):
            for key, value in entries.items():
                sized.append((_size(value) + len(str(key)) + 4, namespace, key))
    sized.sort(key=lambda item: item[0], reverse=True)
    trimmed = {ns: dict(entries) for ns, entries in metadata.items() if isinstance(entries, dict)}
    dropped: list[str] = []
    budget = excess + 1024  # room for the note added below
    for size, namespace, key in sized:
        if budget <= 0:
            break
        del trimmed[namespace][key]
        dropped.append(f"{str(namespace)[:100]}.{str(key)[:100]}")
        budget -= size
    trimmed = {ns: entries for ns, entries in trimmed.items() if entries}
    note = dict(trimmed.get(TRUNCATION_NAMESPACE, {}))
    note["truncated"] = True
    note["dropped"] = dropped[:5]
    if len(dropped) > 5:
        note["dropped_count"] = len(dropped)
    trimmed[TRUNCATION_NAMESPACE] = note
    doc["metadata"] = trimmed
    return True


def _size(value: Any) -> int:
    try:
        return len(_dumps(value))
    except Exception:
        return len(_dumps(make_safe(value)))


def _trim_cause(doc: dict[str, Any], excess: int) -> bool:
    cause = doc.get("cause")
    if not isinstance(cause, dict) or not cause.get("exceptions"):
        return False
    trimmed = []
    for exc in cause["exceptions"]:
        exc = dict(exc)
        stack = exc.get("stack") or []
        exc["truncated"] = int(exc.get("truncated") or 0) + len(stack)
        exc["stack"] = []
        message = exc.get("message")
        if isinstance(message, str) and len(message) > 1024:
            exc["message"] = message[:1024]
        trimmed.append(exc)
    doc["cause"] = {**cause, "exceptions": trimmed}
    return True


def _trim_strings(doc: dict[str, Any], excess: int) -> bool:
    for key in ("http", "aws", "annotations", "metadata", "cause"):
        if key in doc:
            doc[key] = _cut_strings(doc[key], 256)
    return True


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, dict):
        return {str(k)[:limit]: _cut_strings(v, limit) for k, v in list(value.items())[:100]}
    if isinstance(value, list):
        return [_cut_strings(v, limit) for v in value[:100]]
    return value


def _minimal(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("type", "id", "trace_id", "parent_id", "name", "start_time", "end_time")
    minimal = {k: doc[k] for k in keep if k in doc}
    for flag in ("in_progress", "error", "throttle", "fault", "namespace"):
        if flag in doc:
            minimal[flag] = doc[flag]
    minimal["metadata"] = {TRUNCATION_NAMESPACE: {"truncated": True}}
    return minimal
