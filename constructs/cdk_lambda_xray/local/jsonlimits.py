"""Parse untrusted JSON (datagrams, JSON-lines files) within bounds; one exception type.

``json.loads`` recurses once per nesting level, so a 60 KB run of ``[`` raises
``RecursionError`` (not a ``ValueError``) -- on a receiving thread that ends the
thread -- and a document nested a few hundred levels deep breaks whatever
walks it later (``json.dumps`` when it is saved). :func:`loads_bounded` turns
both into a refusal: ``RecursionError`` while parsing, or a value nested more
than :data:`MAX_DEPTH` levels (measured without recursion), is
:data:`TOO_DEEP`. What it raises is always a :class:`JsonRejected` whose
``kind`` is one of a few fixed reasons (for counting) and whose message is one
line.

The collector and the trace file reader both use it, so a document the
collector keeps is one the reader can read back.
"""

from __future__ import annotations

import json
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


class JsonRejected(ValueError):
    """The text is not acceptable JSON.

    ``kind`` is :data:`NOT_UTF8`, :data:`TOO_DEEP` or :data:`NOT_JSON`.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind} ({detail})" if detail else kind)
        self.kind = kind


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply objects and arrays nest in a parsed value (``5`` is 0, ``[[]]`` is 2).

    Iterative; stops counting once past ``limit`` (returns ``limit + 1``).
    """
    deepest = 0
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return limit + 1
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
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
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonRejected(TOO_DEEP, "") from None
    except ValueError as exc:
        raise JsonRejected(NOT_JSON, _first_line(str(exc))) from None
    # Fewer opening brackets than the limit cannot nest deeper: skip the walk.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(value) > MAX_DEPTH:
        raise JsonRejected(TOO_DEEP, "")
    return value


def _first_line(text: str) -> str:
    return text.splitlines()[0][:120] if text else ""
