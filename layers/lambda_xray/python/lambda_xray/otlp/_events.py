"""A span's ``exception`` events: what a recorded cause says (see :mod:`._spans`).

Loaded by the first span that has a cause: a cold start without an error
never unmarshals it.
"""

from __future__ import annotations

from lambda_xray.otlp._proto import attribute, bytes_field, fixed64_field, string_field
from lambda_xray.otlp._spans import _nanos

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from lambda_xray.document import Subsegment
    from lambda_xray.otlp._spans import Event


def exception_events(sub: Subsegment, seen: dict[str, tuple[str, str, str]]) -> list[Event]:
    """One ``exception`` event (time, type, message, stack) per exception in ``sub.cause``.

    ``seen`` maps the exception ids recorded earlier in the invocation to
    (type, message, stack text): a cause that refers to one of them (the
    call's exception, re-raised out of the handler) gets the same event.
    """
    cause = sub.cause
    if cause is None:
        return []
    end = sub.end_time if isinstance(sub.end_time, float) else sub.start_time
    when = _nanos(end)
    if isinstance(cause, str):
        known = seen.get(cause)
        return [] if known is None else [(when, *known)]
    found = cause.get("exceptions") if isinstance(cause, dict) else None
    if not isinstance(found, list):
        return []
    events = []
    for entry in found:
        if not isinstance(entry, dict):
            continue
        described = (
            str(entry.get("type") or "Exception"),
            str(entry.get("message") or ""),
            _stack_text(entry),
        )
        exc_id = entry.get("id")
        if isinstance(exc_id, str):
            seen[exc_id] = described
        events.append((when, *described))
    return events


def _stack_text(entry: Mapping[str, Any]) -> str:
    lines = []
    stack = entry.get("stack")
    if isinstance(stack, list):
        for frame in stack:
            if isinstance(frame, dict):
                lines.append(
                    f'  File "{frame.get("path", "?")}", line {frame.get("line", "?")}, '
                    f"in {frame.get('label', '?')}"
                )
    truncated = entry.get("truncated")
    if truncated:
        lines.append(f"  ... {truncated} more frames")
    return "\n".join(lines)


def event_body(when: int, exc_type: str, message: str, stack: str) -> bytes:
    body = fixed64_field(1, when) + string_field(2, "exception")
    body += attribute(3, "exception.type", exc_type)
    body += attribute(3, "exception.message", message)
    if stack:
        body += attribute(3, "exception.stacktrace", stack)
    return body


def event_fields(found: list[Event]) -> bytes:
    """``found`` as ``events`` fields of a ``Span``."""
    return b"".join([bytes_field(11, event_body(*event)) for event in found])
