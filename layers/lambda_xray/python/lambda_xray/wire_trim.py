"""Documents the fast encoder cannot write: unsafe values replaced, oversized ones trimmed.

Loaded by :func:`lambda_xray.wire.encode` only when it needs it. When a
document holds a value JSON cannot hold (NaN, a non-string key, a cycle, an
object without a JSON form), it is rebuilt with every such value replaced by
a safe form (``repr`` for objects). When the result is too large it is
trimmed, in this order: metadata (largest entries first), exception stacks
and messages, long strings, and as a last resort everything but the identity,
timing and flags. What was cut is marked: exceptions carry ``truncated``
(frames dropped) and the metadata namespace ``lambda_xray`` gets
``truncated: true`` and the dropped keys.
"""

from __future__ import annotations

import time

from lambda_xray import wire
from lambda_xray.wire import MAX_DOCUMENT, json_default, safe_repr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from lambda_xray.document import Subsegment

#: Metadata namespace where trimming notes what it dropped.
TRUNCATION_NAMESPACE: Final = "lambda_xray"


def checked_body(sub: Subsegment) -> str:
    """Any content: unsafe values replaced, oversized documents trimmed."""
    doc = sub.to_dict()
    try:
        body = wire.dumps(doc)
    except Exception:
        doc = _safe_document(doc)
        body = wire.dumps(doc)
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
        return safe_repr(value)[:200]
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in _path:
            return "<cycle>"
        path = _path | {id(value)}
        if isinstance(value, dict):
            return {
                (k if isinstance(k, str) else safe_repr(k)): make_safe(v, _depth + 1, path)
                for k, v in list(value.items())
            }
        return [make_safe(v, _depth + 1, path) for v in list(value)]
    converted = json_default(value)
    return converted if isinstance(converted, str) else make_safe(converted, _depth + 1, _path)


def _trim(doc: dict[str, Any], body: str) -> str:
    """Cut ``doc`` down until its JSON fits :data:`MAX_DOCUMENT`; returns the JSON."""
    doc = dict(doc)
    for step in (_trim_metadata, _trim_cause, _trim_strings):
        if step(doc, len(body) - MAX_DOCUMENT):
            try:
                body = wire.dumps(doc)
            except Exception:
                doc = _safe_document(doc)
                body = wire.dumps(doc)
            if len(body) <= MAX_DOCUMENT:
                return body
    return wire.dumps(_minimal(doc))


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
        return len(wire.dumps(value))
    except Exception:
        return len(wire.dumps(make_safe(value)))


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
