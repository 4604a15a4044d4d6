"""A bounded, plain copy of any value the user hands to the layer (a response, metadata).

:func:`snapshot` walks the value once and returns only ``dict``/``list``/
``str``/``int``/``float``/``bool``/``None``, at most :data:`BUDGET` characters
of JSON, so the document that carries it is encoded once and never has to be
trimmed for it. The walk stops when the budget is spent: a 50 MB response
costs what its first few kilobytes cost. It is total: an object whose
``repr``, ``__iter__``, ``items`` or ``__len__`` fails, with any exception
(``KeyboardInterrupt`` and ``SystemExit`` included), becomes a short marker
instead, so one odd value never costs the document that holds it.

Strings cut short end with :data:`CUT`; containers cut short end with a
``"<N more>"`` entry (``"..."`` as the key in a dict).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["BUDGET", "CUT", "snapshot", "text_of"]

#: Characters of JSON a snapshot may take (metadata values and captured responses).
BUDGET: Final = 16_000
#: Appended to a string that was cut short.
CUT: Final = "...[truncated]"
_MAX_DEPTH: Final = 32
_INT_LIMIT: Final = 2**64
_INF: Final = float("inf")


def text_of(value: object, limit: int = 1000) -> str:
    """``str(value)``, at most ``limit`` characters; a marker if ``str`` fails in any way."""
    try:
        text = value if type(value) is str else str(value)
        if not isinstance(text, str):
            raise TypeError
    except BaseException:  # user code may raise anything here
        return _marker(value, "str")
    return text[:limit]


def snapshot(value: object, budget: int = BUDGET) -> Any:
    """A JSON-ready copy of ``value`` using at most ``budget`` characters; never raises."""
    try:
        return _Walk(budget).copy(value, 0)
    except BaseException:  # even a failing marker must not escape
        return "<unreadable>"


class _Walk:
    __slots__ = ("left",)

    def __init__(self, budget: int) -> None:
        self.left = budget

    def copy(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if value is None or kind is bool:
            self.left -= 5
            return value
        if kind is str:
            return self._text(value)
        if kind is int:
            self.left -= 8
            if -_INT_LIMIT < value < _INT_LIMIT:
                return value
            return f"<int of {value.bit_length()} bits>"
        if kind is float:
            self.left -= 12
            return value if value == value and value not in (_INF, -_INF) else repr(value)
        if depth >= _MAX_DEPTH:
            return self._text(f"<{_type_name(value)} nested too deep>")
        try:
            if isinstance(value, dict):
                return self._mapping(value, depth)
            if isinstance(value, (list, tuple, set, frozenset)):
                return self._sequence(value, depth)
            if isinstance(value, str):  # a str subclass
                return self._text(str.__str__(value))
            if isinstance(value, (bytes, bytearray)):
                return self._text(f"<{type(value).__name__} of {len(value)}>")
            if isinstance(value, (bool, int, float)):
                return self.copy(_plain_number(value), depth)
        except BaseException:
            return self._text(_marker(value, "container"))
        return self._text(_other(value))

    def _text(self, text: str) -> str:
        # JSON escapes a non-ASCII character as \\uXXXX: count six for each then.
        width = 1 if text.isascii() else 6
        room = self.left // width - 2
        if len(text) > room:
            text = text[: max(room - len(CUT), 0)] + CUT
        self.left -= len(text) * width + 2
        return text

    def _mapping(self, value: dict[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for seen, (key, item) in enumerate(value.items()):
            if self.left <= 0:
                out["..."] = f"<{_more(value, seen)} more>"
                break
            name = self._text(key if type(key) is str else text_of(key, 200))
            out[name] = self.copy(item, depth + 1)
            self.left -= 2
        self.left -= 2
        return out

    def _sequence(self, value: Any, depth: int) -> list[Any]:
        out: list[Any] = []
        for item in value:
            if self.left <= 0:
                out.append(f"<{_more(value, len(out))} more>")
                break
            out.append(self.copy(item, depth + 1))
            self.left -= 1
        self.left -= 2
        return out


def _plain_number(value: Any) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    return float(value)


def _more(value: Any, seen: int) -> int | str:
    try:
        return len(value) - seen
    except BaseException:
        return "?"


def _other(value: Any) -> str:
    """Text for a value JSON has no form for: dates as ISO text, the rest as ``repr``."""
    decimal = sys.modules.get("decimal")
    try:
        if decimal is not None and isinstance(value, decimal.Decimal):
            return str(value)
        isoformat = getattr(type(value), "isoformat", None)
        if isoformat is not None and type(value).__module__ == "datetime":
            return str(isoformat(value))
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError
    except BaseException:
        return _marker(value, "repr")
    return text[:BUDGET]


def _marker(value: object, what: str) -> str:
    return f"<unreadable {_type_name(value)}: {what} failed>"


def _type_name(value: object) -> str:
    try:
        return str(type(value).__name__)
    except BaseException:
        return "object"
