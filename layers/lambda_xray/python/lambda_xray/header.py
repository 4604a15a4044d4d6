"""The X-Ray trace header: ``Root=...;Parent=...;Sampled=...;Lineage=...``.

Parsed once per invocation from ``_X_AMZN_TRACE_ID``. Every value the layer
will later send downstream is prepared here, so a traced call only joins two
strings with the new subsegment's id.

A malformed header is treated as missing (``parse`` returns ``None``): no
``Root`` or a bad one, a bad ``Parent``, a duplicated key, a field without
``=``, or any character outside printable ASCII (so nothing received can
smuggle a line break into an outgoing HTTP header).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: Longer values are not trace headers (Lambda's, with Lineage, are ~120 chars).
MAX_HEADER_LENGTH: Final = 2048

#: What the invocation does with its header.
RECORD: Final = "record"  # Sampled=1 with a Parent: record subsegments
UNSAMPLED: Final = "unsampled"  # Sampled=0: record nothing, propagate Sampled=0
PASS_THROUGH: Final = "pass-through"  # no usable decision: record nothing, forward as received

_HEX: Final = frozenset("0123456789abcdefABCDEF")


class TraceHeader:
    """A parsed trace header and the outgoing values derived from it.

    ``root``, ``parent`` and ``sampled`` are the values received (``parent``
    and ``sampled`` may be ``None``); ``extra`` holds every other field,
    verbatim and in order (``Lineage=...``, ``Self=...``); ``raw`` is the value
    exactly as received.
    """

    __slots__ = (
        "_forward",
        "_prefix",
        "_tail",
        "extra",
        "mode",
        "parent",
        "raw",
        "root",
        "sampled",
    )

    def __init__(
        self, raw: str, root: str, parent: str | None, sampled: str | None, extra: tuple[str, ...]
    ) -> None:
        self.raw = raw
        self.root = root
        self.parent = parent
        self.sampled = sampled
        self.extra = extra
        suffix = "".join(";" + field for field in extra)
        if sampled == "1" and parent is not None:
            self.mode = RECORD
        elif sampled == "0":
            self.mode = UNSAMPLED
        else:
            self.mode = PASS_THROUGH
        self._prefix = f"Root={root};Parent="
        # A Sampled=0 invocation recorded for OTLP's unsampled spans keeps telling
        # downstream services not to sample.
        self._tail = (";Sampled=0" if self.mode == UNSAMPLED else ";Sampled=1") + suffix
        self._forward = f"Root={root};Sampled=0{suffix}" if self.mode == UNSAMPLED else raw

    def child(self, parent_id: str) -> str:
        """Outgoing header for a recorded call whose subsegment id is ``parent_id``."""
        return self._prefix + parent_id + self._tail

    def forward(self) -> str:
        """Outgoing header when nothing is recorded for the call.

        ``Sampled=0`` invocations send ``Root=...;Sampled=0`` plus the other
        fields; pass-through invocations send the header as received.
        """
        return self._forward

    def __repr__(self) -> str:
        return f"TraceHeader({self.raw!r})"


def is_trace_id(value: str) -> bool:
    """``1-`` + 8 hex digits + ``-`` + 24 hex digits."""
    return (
        len(value) == 35
        and value[0:2] == "1-"
        and value[10] == "-"
        and _HEX.issuperset(value[2:10])
        and _HEX.issuperset(value[11:])
    )


def is_entity_id(value: str) -> bool:
    """16 hex digits (segment, subsegment and exception ids)."""
    return len(value) == 16 and _HEX.issuperset(value)


_KNOWN_KEYS: Final = frozenset({"root", "parent", "sampled"})


def parse(value: str | None) -> TraceHeader | None:
    """Parse a trace header; ``None`` when it is absent or malformed. Never raises."""
    if not value or len(value) > MAX_HEADER_LENGTH:
        return None
    if not (value.isascii() and value.isprintable()):
        return None
    parts = value.split(";")
    if (
        len(parts) >= 3
        and parts[0][:5] == "Root="
        and parts[1][:7] == "Parent="
        and parts[2][:8] == "Sampled="
        and " " not in value
    ):
        # Lambda's own shape (Root;Parent;Sampled[;more]): no general parsing needed.
        extra = parts[3:]
        if all(
            field[:1] not in ("", "=")
            and "=" in field
            and field.partition("=")[0].lower() not in _KNOWN_KEYS
            for field in extra
        ):
            root, parent = parts[0][5:], parts[1][7:]
            if is_trace_id(root) and is_entity_id(parent):
                return TraceHeader(value, root, parent, parts[2][8:], tuple(extra))
            return None
    return _parse_general(parts, value)


def _parse_general(parts: list[str], value: str) -> TraceHeader | None:
    root: str | None = None
    parent: str | None = None
    sampled: str | None = None
    extra: list[str] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or not key:
            return None
        val = val.strip()
        lowered = key.lower()
        if lowered == "root":
            if root is not None:
                return None
            root = val
        elif lowered == "parent":
            if parent is not None:
                return None
            parent = val
        elif lowered == "sampled":
            if sampled is not None:
                return None
            sampled = val
        else:
            extra.append(part)
    if root is None or not is_trace_id(root):
        return None
    if parent is not None and not is_entity_id(parent):
        return None
    return TraceHeader(value, root, parent, sampled, tuple(extra))
