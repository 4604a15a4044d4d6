"""Parse untrusted JSON (datagrams, JSON-lines files) within bounds; one exception type.

``json.loads`` recurses once per nesting level, so a 60 KB run of ``[`` raises
``RecursionError`` (not a ``ValueError``) -- on a receiving thread that ends the
thread. :func:`loads_bounded` measures the nesting depth first, without
recursion, and refuses anything deeper than :data:`MAX_DEPTH`; what it raises is
always a :class:`JsonRejected` whose ``kind`` is one of a few fixed reasons
(for counting) and whose message is one line.

The collector and the trace file reader both use it, so a document the
collector keeps is one the reader can read back.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "NOT_JSON",
    "NOT_UTF8",
    "TOO_DEEP",
    "JsonRejected",
    "loads_bounded",
    "nesting_depth",
]

#: The deepest nesting of objects and arrays accepted. Real segment documents
#: (subsegments within subsegments, metadata objects) stay far below it.
MAX_DEPTH = 128

NOT_UTF8 = "not UTF-8"
TOO_DEEP = f"nests deeper than {MAX_DEPTH} levels"
NOT_JSON = "not JSON"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonRejected(ValueError):
    """The text is not acceptable JSON.

    ``kind`` is :data:`NOT_UTF8`, :data:`TOO_DEEP` or :data:`NOT_JSON`.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind} ({detail})" if detail else kind)
        self.kind = kind


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in ``text``, ignoring brackets inside strings.

    Iterative and linear. It is an upper bound, never too low: when the text
    has few brackets their count is returned without scanning, and for text
    that is not valid JSON (an unterminated string) it may be too high.
    """
    openers = text.count("[") + text.count("{")
    if openers <= MAX_DEPTH:
        return openers
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_bounded(data: bytes | str) -> Any:
    """``json.loads`` for untrusted input: strict UTF-8, depth checked first, one exception type.

    ``NaN`` and ``Infinity`` are accepted (Python's ``json`` writes them); the
    trace view shows such values as odd fields.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            detail = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
            raise JsonRejected(NOT_UTF8, detail) from None
    else:
        text = data
    if nesting_depth(text) > MAX_DEPTH:
        raise JsonRejected(TOO_DEEP, "")
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonRejected(TOO_DEEP, "") from None
    except ValueError as exc:
        raise JsonRejected(NOT_JSON, _first_line(str(exc))) from None


def _first_line(text: str) -> str:
    return text.splitlines()[0][:120] if text else ""
