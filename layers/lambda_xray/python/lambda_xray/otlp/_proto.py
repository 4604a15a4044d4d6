"""A minimal protobuf writer: exactly the wire types OTLP traces use.

Every function returns ``bytes`` ready to be joined: a field is its key
(``field_number << 3 | wire_type``) followed by its value. Messages are
built inside out (a nested message is written, then wrapped with its
length), which is all OTLP's small, bounded spans need.

Values follow proto3: strings are UTF-8 (a lone surrogate becomes ``?``, so
the real parser always accepts them), ``int64`` is written as its 64-bit
two's complement varint, ``double`` and ``fixed64`` little-endian.

:func:`any_value` writes OpenTelemetry's ``AnyValue`` for any Python value a
subsegment can hold: ``str``, ``bool``, ``int`` (outside int64 as text),
``float``, ``bytes``, lists/tuples/sets (``ArrayValue``), dicts
(``KeyValueList``); anything else as its ``repr``. Nesting deeper than
:data:`MAX_DEPTH` and cycles are written as text.
"""

from __future__ import annotations

from sys import byteorder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

VARINT: Final = 0
I64: Final = 1
LEN: Final = 2
I32: Final = 5

#: Containers nested deeper than this are written as their ``repr``.
MAX_DEPTH: Final = 16
#: Items of a list or dict written into one ``AnyValue``; more are cut.
MAX_ITEMS: Final = 1000

# Fixed-size values are written with int.to_bytes and memoryview, not _struct: an
# extension module the X-Ray format never loads (its import is about 0.6 M
# instructions of the OTLP cold start).
_LITTLE_ENDIAN: Final = byteorder == "little"
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_MASK64: Final = 2**64 - 1


def varint(value: int) -> bytes:
    """``value`` (0 ≤ value < 2**64) as a base-128 varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    """The key of field ``field`` with ``wire_type``."""
    return varint(field << 3 | wire_type)


def uint_field(field: int, value: int) -> bytes:
    """An unsigned varint field (``uint32``, ``uint64``, an enum); empty for 0."""
    return key(field, VARINT) + varint(value) if value else b""


def int64_field(field: int, value: int) -> bytes:
    """An ``int64`` field (negative values as their two's complement)."""
    return key(field, VARINT) + varint(value & _MASK64)


def bool_field(field: int, value: bool) -> bytes:
    """A ``bool`` field."""
    return key(field, VARINT) + (b"\x01" if value else b"\x00")


def double_field(field: int, value: float) -> bytes:
    """A ``double`` field."""
    return key(field, I64) + double_bytes(value)


def double_bytes(value: float) -> bytes:
    """``value`` as an IEEE 754 double, little-endian (``struct.pack("<d", value)``)."""
    buffer = bytearray(8)
    memoryview(buffer).cast("d")[0] = value  # native order
    return bytes(buffer) if _LITTLE_ENDIAN else bytes(buffer[::-1])


def fixed64_field(field: int, value: int) -> bytes:
    """A ``fixed64`` field."""
    return key(field, I64) + (value & _MASK64).to_bytes(8, "little")


def fixed32_field(field: int, value: int) -> bytes:
    """A ``fixed32`` field."""
    return key(field, I32) + (value & 0xFFFFFFFF).to_bytes(4, "little")


def bytes_field(field: int, value: bytes) -> bytes:
    """A length-delimited field: ``bytes`` or an already written message."""
    size = len(value)
    if size < 0x80 and field < 16:  # key and length one byte each: most fields
        return bytes((field << 3 | LEN, size)) + value
    return key(field, LEN) + varint(size) + value


def string_field(field: int, value: str) -> bytes:
    """A ``string`` field, always valid UTF-8."""
    return bytes_field(field, utf8(value))


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; what UTF-8 cannot hold (lone surrogates) becomes ``?``."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


# -- OpenTelemetry common.proto ------------------------------------------------


def text_attribute(field: int, name_field: bytes, value: str) -> bytes:
    """:func:`attribute` for a ``str`` value, the short way (``name_field`` is
    ``string_field(1, name)``, written once by the caller): the same bytes."""
    text = utf8(value)
    any_body = b"\x0a" + varint(len(text)) + text
    body = name_field + b"\x12" + varint(len(any_body)) + any_body
    return key(field, LEN) + varint(len(body)) + body


def key_value(name: str, value: object) -> bytes:
    """A ``KeyValue`` message body: ``key`` = ``name``, ``value`` = ``AnyValue``."""
    return _key_value(name, any_value(value))


def _key_value(name: str, value_body: bytes) -> bytes:
    # proto3 leaves an empty string out; so does this writer (the bytes stay canonical).
    return (string_field(1, name) if name else b"") + bytes_field(2, value_body)


def attribute(field: int, name: str, value: object) -> bytes:
    """A ``KeyValue`` written as field ``field`` of the enclosing message.

    The same bytes as ``bytes_field(field, key_value(name, value))``; one short
    enough for one-byte lengths (most of a span's and the resource's
    attributes) is written in one formatting step.
    """
    try:
        label = name.encode()
    except UnicodeEncodeError:
        label = name.encode("utf-8", "replace")
    if type(value) is str:
        try:
            text = value.encode()
        except UnicodeEncodeError:
            text = value.encode("utf-8", "replace")
        size = len(text)
        if label and field < 16 and len(label) + size < 122:  # every length one byte
            return b"%c%c\x0a%c%s\x12%c\x0a%c%s" % (
                field << 3 | LEN,
                len(label) + size + 6,
                len(label),
                label,
                size + 2,
                size,
                text,
            )
        value_body = b"\x0a" + varint(size) + text
    else:
        if value is True or value is False:
            value_body = b"\x10\x01" if value else b"\x10\x00"  # bool_field(2, value)
        elif type(value) is int and 0 <= value < 0x80:
            value_body = bytes((0x18, value))  # int64_field(3, value), a one-byte varint
        else:
            value_body = any_value(value)
        size = len(value_body)
        if label and field < 16 and len(label) + size < 124:
            return b"%c%c\x0a%c%s\x12%c%s" % (
                field << 3 | LEN,
                len(label) + size + 4,
                len(label),
                label,
                size,
                value_body,
            )
    return bytes_field(field, _key_value(name, value_body))


def any_value(value: object, _depth: int = 0, _path: frozenset[int] = frozenset()) -> bytes:
    """An ``AnyValue`` message body for ``value`` (see the module docs). Never raises."""
    if isinstance(value, str):
        return string_field(1, value)
    if isinstance(value, bool):
        return bool_field(2, value)
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return int64_field(3, value)
        return string_field(1, f"<int of {value.bit_length()} bits>")
    if isinstance(value, float):
        return double_field(4, value)
    if isinstance(value, (bytes, bytearray)):
        return bytes_field(7, bytes(value))
    if value is None:
        return b""  # an empty AnyValue: the attribute is present, its value unset
    if _depth >= MAX_DEPTH or id(value) in _path:
        return string_field(1, _text(value)[:200])
    path = _path | {id(value)}
    if isinstance(value, dict):
        items = b"".join(
            bytes_field(
                1, _key_value(k if isinstance(k, str) else _text(k), any_value(v, _depth + 1, path))
            )
            for k, v in list(value.items())[:MAX_ITEMS]
        )
        return bytes_field(6, items)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = b"".join(
            bytes_field(1, any_value(v, _depth + 1, path)) for v in list(value)[:MAX_ITEMS]
        )
        return bytes_field(5, items)
    return string_field(1, _text(value))


def _text(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"
    return text[:4096] if isinstance(text, str) else "<bad repr>"
