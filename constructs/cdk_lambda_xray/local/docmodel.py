"""The one step between an untrusted segment document and what the trace view shows.

:func:`normalise` takes any JSON value -- a well-formed segment document, an
object with ``"http": "x"`` or ``NaN`` times, or the number ``5`` -- and returns
:class:`DocFacts`: every field the view shows, already checked and made safe,
plus an explicit list of odd fields (``odd``) saying what was wrong and what
was shown instead. Nothing raises; a field that is not what the X-Ray schema
says is never guessed at, it is shown as odd.

All text in the facts went through :func:`safe_text`: control and format
characters (escape sequences that set a terminal's title, clear its screen or
make hyperlinks; bidirectional overrides; lone surrogates) are escaped as
``\\x1b``-style text, and length is bounded. The terminal and the HTML
renderers read only these facts, so both show the same thing and neither has
to escape anything but HTML's own characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLAGS",
    "NO_TRACE_ID",
    "TEXT_LIMIT",
    "DocFacts",
    "Key",
    "describe_value",
    "normalise",
    "safe_text",
]

#: Longest text shown for one field (characters, before escaping).
TEXT_LIMIT = 200
_SHORT = 40
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: The documents' status flags, in the order they are shown.
FLAGS = ("fault", "error", "throttle")
#: Shown for documents without a usable ``trace_id`` (they are grouped together).
NO_TRACE_ID = "(no trace id)"

#: How a document is identified for linking: ``("id", <its id>)`` or, for a
#: document without a string id, ``("doc", <its position>)``.
Key = tuple[str, str]


def safe_text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Display text for any value: non-printable characters escaped, at most ``limit`` characters.

    Strings are shown as they are, except every character Python does not
    consider printable (Unicode categories C* and Z* other than the space:
    ESC, BEL, newlines, bidi overrides, zero-width characters, surrogates) is
    written as an escape such as ``\\x1b`` or ``\\u202e``. Other values are
    described (:func:`describe_value`).
    """
    text = value if isinstance(value, str) else describe_value(value)
    clipped = len(text) > limit
    if clipped:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else _escape(c) for c in text)
    return text + "…" if clipped else text


def _escape(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def describe_value(value: object) -> str:
    """A short description of a JSON value (never its whole content, never recursive)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return (
            str(value) if value.bit_length() <= 64 else f"an integer of {value.bit_length()} bits"
        )
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:_SHORT] + ("…" if len(value) > _SHORT else ""))
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class DocFacts:
    """What the trace view shows of one document; every text is safe to print."""

    key: Key
    id: str
    trace_key: str | None
    trace_id: str
    parent_key: Key | None
    name: str
    #: The document's ``name`` if it is a string (unescaped), for matching.
    raw_name: str | None
    operation: str | None
    namespace: str
    start: float | None
    end: float | None
    in_progress: bool
    status: int | None
    flags: tuple[str, ...]
    cold_start: bool
    annotations: tuple[tuple[str, str], ...]
    exceptions: tuple[str, ...]
    odd: tuple[str, ...]


class _Reader:
    """Reads fields of one JSON object, collecting what is odd about them."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.odd: list[str] = []

    def note(self, field: str, what: str, value: object) -> None:
        self.odd.append(f"{field} is {what}: {safe_text(describe_value(value), _SHORT)}")

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.doc.get(field)
        if isinstance(value, str):
            return value
        if field not in self.doc:
            if required:
                self.odd.append(f"no {field}")
        else:
            self.note(field, "not a string", value)
        return None

    def flag(self, field: str) -> bool:
        value = self.doc.get(field)
        if value is None or isinstance(value, bool):
            return value is True
        self.note(field, "not true or false", value)
        return False

    def time(self, field: str) -> float | None:
        value = self.doc.get(field)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value) if abs(value) < 1e300 else math.inf
            if math.isfinite(number):
                return number
        self.note(field, "not a finite number", value)
        return None

    def mapping(self, path: str) -> dict[str, Any]:
        """The object at a dotted ``path`` (``http.response``); ``{}`` if absent or odd."""
        current = self.doc
        for depth, field in enumerate(path.split(".")):
            value = current.get(field)
            if value is None:
                return {}
            if not isinstance(value, dict):
                self.note(".".join(path.split(".")[: depth + 1]), "not an object", value)
                return {}
            current = value
        return current


def normalise(
    value: Any,
    position: int,
    *,
    container_key: Key | None = None,
    container_trace: str | None = None,
) -> tuple[DocFacts, list[Any]]:
    """The facts of one document and its embedded subsegments (raw, for the caller to normalise).

    ``position`` numbers the document among all given, for a document without
    an id. An embedded subsegment (``container_key`` given) belongs to its
    container's trace and parent unless it names its own.
    """
    if not isinstance(value, dict):
        return _not_a_document(value, position, container_key, container_trace), []
    read = _Reader(value)
    raw_id = read.text("id", required=True)
    own_trace = read.text("trace_id", required=container_trace is None)
    trace_key = own_trace if own_trace is not None else container_trace
    parent = read.text("parent_id")
    raw_name = read.text("name", required=True)
    operation = read.mapping("aws").get("operation")
    if operation is not None and not isinstance(operation, str):
        read.note("aws.operation", "not a string", operation)
        operation = None
    start, end = read.time("start_time"), read.time("end_time")
    in_progress = read.flag("in_progress")
    _check_times(read, start, end, in_progress)
    embedded = value.get("subsegments")
    if embedded is not None and not isinstance(embedded, list):
        read.note("subsegments", "not an array", embedded)
        embedded = None
    name = safe_text(raw_name) if raw_name is not None else "(no name)"
    flags = tuple(f for f in FLAGS if read.flag(f))
    annotations, cold_start = _annotations(read)
    facts = DocFacts(
        key=("id", raw_id) if raw_id is not None else ("doc", str(position)),
        id=safe_text(raw_id, _SHORT) if raw_id is not None else f"(no id, document {position})",
        trace_key=trace_key,
        trace_id=safe_text(trace_key, 80) if trace_key is not None else NO_TRACE_ID,
        parent_key=("id", parent) if parent is not None else container_key,
        name=f"{name} {safe_text(operation, _SHORT)}" if operation else name,
        raw_name=raw_name,
        operation=operation,
        namespace=safe_text(read.text("namespace") or "", 12),
        start=start,
        end=end,
        in_progress=in_progress,
        status=_status(read),
        flags=flags,
        cold_start=cold_start,
        annotations=annotations,
        exceptions=_exceptions(read),
        odd=tuple(read.odd),
    )
    return facts, list(embedded or [])


def _not_a_document(
    value: object, position: int, container_key: Key | None, container_trace: str | None
) -> DocFacts:
    """A JSON value that is not an object, shown as such where it was found."""
    return DocFacts(
        key=("doc", str(position)),
        id=f"(no id, document {position})",
        trace_key=container_trace,
        trace_id=safe_text(container_trace, 80) if container_trace is not None else NO_TRACE_ID,
        parent_key=container_key,
        name="(not a segment document)",
        raw_name=None,
        operation=None,
        namespace="",
        start=None,
        end=None,
        in_progress=False,
        status=None,
        flags=(),
        cold_start=False,
        annotations=(),
        exceptions=(),
        odd=(f"not a segment document: {safe_text(describe_value(value), _SHORT)}",),
    )


def _check_times(read: _Reader, start: float | None, end: float | None, in_progress: bool) -> None:
    """Times the schema requires, and the order of the two."""
    if start is None and "start_time" not in read.doc:
        read.odd.append("no start_time")
    if end is None and "end_time" not in read.doc and not in_progress:
        read.odd.append("no end_time, and not in_progress")
    if start is not None and end is not None and end < start:
        read.odd.append("end_time is before start_time")


def _status(read: _Reader) -> int | None:
    status = read.mapping("http.response").get("status")
    if status is None:
        return None
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        return status
    read.note("http.response.status", "not an HTTP status", status)
    return None


def _annotations(read: _Reader) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The annotations as safe ``(key, value)`` pairs, and whether ``ColdStart`` is true."""
    pairs, cold_start = [], False
    for key, value in read.mapping("annotations").items():
        if isinstance(value, str | int | float):
            pairs.append((safe_text(key, _SHORT), safe_text(value)))
            normal = key.lower().replace("_", "")
            cold_start = cold_start or (normal == "coldstart" and value is True)
        else:
            what = "not a string, number or boolean"
            read.note(f"annotation {safe_text(key, _SHORT)}", what, value)
    return tuple(sorted(pairs)), cold_start


def _exceptions(read: _Reader) -> tuple[str, ...]:
    cause = read.doc.get("cause")
    if cause is None:
        return ()
    if isinstance(cause, str):
        return (f"(exception {safe_text(cause, _SHORT)}, recorded in another document)",)
    if not isinstance(cause, dict):
        read.note("cause", "not an object or an exception id", cause)
        return ()
    exceptions = cause.get("exceptions")
    if exceptions is not None and not isinstance(exceptions, list):
        read.note("cause.exceptions", "not an array", exceptions)
        exceptions = None
    lines = []
    for exc in exceptions or []:
        if not isinstance(exc, dict):
            read.note("cause.exceptions item", "not an object", exc)
            continue
        kind, message = exc.get("type"), exc.get("message")
        kind = safe_text(kind) if isinstance(kind, str) and kind else "Exception"
        message = safe_text(message) if isinstance(message, str) else ""
        remote = " (remote)" if exc.get("remote") is True else ""
        lines.append(f"{kind}: {message}{remote}" if message else f"{kind}{remote}")
    message = cause.get("message")
    if not lines and message is not None:
        lines.append(safe_text(message))
    return tuple(lines)
