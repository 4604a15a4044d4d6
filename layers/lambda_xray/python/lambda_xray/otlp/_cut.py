"""A span cut down to fit one datagram (see :func:`._spans.encode_span`).

Loaded by the first span too large to send whole.
"""

from __future__ import annotations

from lambda_xray.otlp._events import event_body
from lambda_xray.otlp._proto import attribute, bytes_field, uint_field
from lambda_xray.otlp._spans import CUT_STRING, MAX_MESSAGE, MAX_STACK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.otlp._attributes import Attributes
    from lambda_xray.otlp._spans import Event


def cut(
    head: bytes,
    local: bytes,
    core: Attributes,
    extra_fields: list[bytes],
    found: list[Event],
    status: bytes,
    limit: int,
) -> bytes:
    """The span whose parts are given, at most ``limit`` bytes: it loses its annotation
    and metadata attributes (largest first), its exception stacks, its events, the
    length of its strings, in this order, and counts what it lost."""
    events = [
        bytes_field(
            11, event_body(when, kind[:CUT_STRING], message[:MAX_MESSAGE], stack[:MAX_STACK])
        )
        for when, kind, message, stack in found
    ]
    core_bytes = local + b"".join(attribute(9, name, value) for name, value in core)
    fixed = len(head) + len(core_bytes) + len(status) + 12  # room for the counts
    budget = limit - fixed - sum(len(e) for e in events)
    kept: list[bytes] = []
    dropped = 0
    for field in sorted(extra_fields, key=len):  # keep the small ones
        if len(field) <= budget:
            kept.append(field)
            budget -= len(field)
        else:
            dropped += 1
    counts = uint_field(10, dropped)
    span = head + core_bytes + b"".join(kept) + counts + b"".join(events) + status
    if len(span) <= limit:
        return span
    # Events without their stacks, then no events at all.
    light = [
        bytes_field(11, event_body(when, kind[:CUT_STRING], message[:CUT_STRING], ""))
        for when, kind, message, _ in found
    ]
    span = head + core_bytes + b"".join(kept) + counts + b"".join(light) + status
    if len(span) <= limit:
        return span
    counts = uint_field(10, dropped + len(kept)) + uint_field(12, len(events))
    cut_core = local + b"".join(attribute(9, name, _cut_value(value)) for name, value in core)
    span = head + cut_core + counts + status
    if len(span) <= limit:
        return span
    counts = uint_field(10, dropped + len(kept) + len(core)) + uint_field(12, len(events))
    return head + counts + status


def _cut_value(value: object) -> object:
    if isinstance(value, str):
        return value[:CUT_STRING]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_cut_value(v) for v in list(value)[:16]]
    return value
