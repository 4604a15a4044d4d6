"""Read the OTLP spans in one ``T1S``/``T1U`` daemon datagram, with the standard library only.

The Lambda OTLP exporters (ADOT's and the layer's ``LAMBDA_XRAY_FORMAT=otlp``)
send one datagram per batch: the daemon header line, ``T1S`` (sampled) or
``T1U`` (unsampled), then standard base64 of a serialized
``ExportTraceServiceRequest``. :func:`read_spans` decodes the payload after the
prefix into :class:`OtlpSpan` values.

The reader is total and bounded: it reads only the bytes it is given (a
datagram is at most 64 KiB), never recurses deeper than :data:`MAX_DEPTH`
nested values, and any input that is not that message (bad base64, a
truncated field, a wire type OTLP never uses, a string that is not UTF-8)
raises :class:`OtlpRejected` with a one-line reason. Fields it does not know
are skipped, as protobuf readers do. A ``double`` that is NaN or infinite is
read as its text (``'nan'``, ``'inf'``), so every value is plain JSON.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["MAX_DEPTH", "OtlpEvent", "OtlpRejected", "OtlpSpan", "read_spans"]

#: ``AnyValue`` arrays and key-value lists nested deeper than this are rejected.
MAX_DEPTH: Final = 32

_VARINT: Final = 0
_I64: Final = 1
_LEN: Final = 2
_I32: Final = 5
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")


class OtlpRejected(ValueError):
    """The payload is not a serialized ``ExportTraceServiceRequest``; the message is one line."""


@dataclass
class OtlpEvent:
    """One span event: its time (Unix nanoseconds), name and attributes."""

    time_unix_nano: int = 0
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class OtlpSpan:
    """One span with its resource's attributes (ids as raw bytes, times in Unix nanoseconds)."""

    trace_id: bytes = b""
    span_id: bytes = b""
    parent_span_id: bytes = b""
    name: str = ""
    kind: int = 0
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[OtlpEvent] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


def read_spans(payload: bytes) -> list[OtlpSpan]:
    """The spans in the base64 payload of a ``T1S``/``T1U`` datagram (after the prefix).

    Raises :class:`OtlpRejected` for anything that is not base64 of an
    ``ExportTraceServiceRequest``.
    """
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise OtlpRejected("payload is not standard base64") from None
    spans: list[OtlpSpan] = []
    for number, wire, value in _fields(raw):
        if number == 1:
            spans.extend(_resource_spans(_message(wire, value)))
    return spans


# -- messages -----------------------------------------------------------------------------


def _resource_spans(data: bytes) -> list[OtlpSpan]:
    resource: dict[str, Any] = {}
    scoped: list[OtlpSpan] = []
    for number, wire, value in _fields(data):
        if number == 1:
            for inner, kind, item in _fields(_message(wire, value)):
                if inner == 1:
                    _key_value(_message(kind, item), resource, 0)
        elif number == 2:
            scoped.extend(_scope_spans(_message(wire, value)))
    for span in scoped:
        span.resource = resource
    return scoped


def _scope_spans(data: bytes) -> list[OtlpSpan]:
    scope = ""
    spans: list[OtlpSpan] = []
    for number, wire, value in _fields(data):
        if number == 1:
            for inner, kind, item in _fields(_message(wire, value)):
                if inner == 1:
                    scope = _text(kind, item)
        elif number == 2:
            spans.append(_span(_message(wire, value)))
    for span in spans:
        span.scope = scope
    return spans


def _span(data: bytes) -> OtlpSpan:
    span = OtlpSpan()
    for number, wire, value in _fields(data):
        if number == 1:
            span.trace_id = _message(wire, value)
        elif number == 2:
            span.span_id = _message(wire, value)
        elif number == 4:
            span.parent_span_id = _message(wire, value)
        elif number == 5:
            span.name = _text(wire, value)
        elif number == 6:
            span.kind = _int(wire, value)
        elif number == 7:
            span.start_time_unix_nano = _int(wire, value)
        elif number == 8:
            span.end_time_unix_nano = _int(wire, value)
        elif number == 9:
            _key_value(_message(wire, value), span.attributes, 0)
        elif number == 11:
            span.events.append(_event(_message(wire, value)))
        elif number == 15:
            for inner, kind, item in _fields(_message(wire, value)):
                if inner == 2:
                    span.status_message = _text(kind, item)
                elif inner == 3:
                    span.status_code = _int(kind, item)
    return span


def _event(data: bytes) -> OtlpEvent:
    event = OtlpEvent()
    for number, wire, value in _fields(data):
        if number == 1:
            event.time_unix_nano = _int(wire, value)
        elif number == 2:
            event.name = _text(wire, value)
        elif number == 3:
            _key_value(_message(wire, value), event.attributes, 0)
    return event


def _key_value(data: bytes, into: dict[str, Any], depth: int) -> None:
    key = ""
    value: Any = None
    for number, wire, item in _fields(data):
        if number == 1:
            key = _text(wire, item)
        elif number == 2:
            value = _any_value(_message(wire, item), depth + 1)
    into[key] = value


def _any_value(data: bytes, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise OtlpRejected(f"values nest deeper than {MAX_DEPTH}")
    value: Any = None
    for number, wire, item in _fields(data):
        if number == 1:
            value = _text(wire, item)
        elif number == 2:
            value = bool(_int(wire, item))
        elif number == 3:
            raw = _int(wire, item)
            value = raw - (1 << 64) if raw >= 1 << 63 else raw
        elif number == 4:
            number_value = _DOUBLE.unpack(_fixed(wire, item, 8))[0]
            finite = number_value - number_value == 0  # not NaN or an infinity
            value = number_value if finite else repr(number_value)
        elif number == 5:
            value = [
                _any_value(_message(kind, inner), depth + 1)
                for index, kind, inner in _fields(_message(wire, item))
                if index == 1
            ]
        elif number == 6:
            mapping: dict[str, Any] = {}
            for index, kind, inner in _fields(_message(wire, item)):
                if index == 1:
                    _key_value(_message(kind, inner), mapping, depth)
            value = mapping
        elif number == 7:
            value = _message(wire, item).hex()
    return value


# -- the wire format ----------------------------------------------------------------------

_Field = tuple[int, int, int | bytes]


def _fields(data: bytes) -> Iterator[_Field]:
    """(field number, wire type, value) for each field: an ``int`` for a varint, else ``bytes``."""
    position = 0
    end = len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise OtlpRejected("field number 0")
        if wire_type == _VARINT:
            value, position = _varint(data, position)
            yield number, wire_type, value
            continue
        if wire_type == _LEN:
            width, position = _varint(data, position)
        elif wire_type in (_I64, _I32):
            width = 8 if wire_type == _I64 else 4
        else:
            raise OtlpRejected(f"wire type {wire_type} is not used by OTLP")
        if width > end - position:
            raise OtlpRejected("a field runs past the end of the payload")
        yield number, wire_type, data[position : position + width]
        position += width


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= len(data):
            raise OtlpRejected("a number runs past the end of the payload")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift >= 70:
            raise OtlpRejected("a number is longer than 10 bytes")


def _message(wire: int, value: int | bytes) -> bytes:
    if wire != _LEN or not isinstance(value, bytes):
        raise OtlpRejected("a number where a message, string or bytes belong")
    return value


def _text(wire: int, value: int | bytes) -> str:
    try:
        return _message(wire, value).decode("utf-8")
    except UnicodeDecodeError:
        raise OtlpRejected("a string is not UTF-8") from None


def _fixed(wire: int, value: int | bytes, width: int) -> bytes:
    if wire not in (_I64, _I32) or not isinstance(value, bytes) or len(value) != width:
        raise OtlpRejected(f"expected a {width * 8}-bit fixed value")
    return value


def _int(wire: int, value: int | bytes) -> int:
    """A varint, or a ``fixed64``/``fixed32`` value (span times are ``fixed64``)."""
    if wire == _VARINT and isinstance(value, int):
        return value
    if wire == _I64:
        return int(_FIXED64.unpack(_fixed(wire, value, 8))[0])
    if wire == _I32:
        return int(_FIXED32.unpack(_fixed(wire, value, 4))[0])
    raise OtlpRejected("bytes where a number belongs")
