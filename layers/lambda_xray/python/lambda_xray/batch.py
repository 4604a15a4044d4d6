"""Closed subsegments wait for their parent's document: one datagram for many calls.

From the second invocation of a process on, a closed subsegment whose parent
is still open is kept in its embedded form (:func:`lambda_xray.wire.embedded`)
and leaves in its parent's ``subsegments`` when that closes. Sent at once, on
its own: the root (and its children), one whose parent already left or
whose invocation ended, one its parent cannot keep (:data:`MAX_KEPT`,
:data:`MAX_KEPT_BYTES`), one the checked path writes, and every one closing
within :data:`FLUSH_BEFORE_DEADLINE` seconds of the invocation's deadline,
when a watcher thread also sends everything kept (:func:`flush`, OTLP spans
included). The bounds, the deadline and what can be lost: docs/layer.md,
"How documents are sent".
"""

from __future__ import annotations

from _thread import allocate_lock
from time import time

from lambda_xray import context, emitter, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from lambda_xray.document import Subsegment

    Send = Callable[[bytes], None]

__all__ = [
    "FLUSH_BEFORE_DEADLINE",
    "MAX_KEPT",
    "MAX_KEPT_BYTES",
    "arm",
    "close",
    "disarm",
    "finish",
    "flush",
    "flush_if_late",
    "reset",
]

#: Children a parent keeps at most (the next ones are sent at once).
MAX_KEPT: Final = 200
#: Bytes of embedded children a parent keeps at most. Its own fields are
#: usually a few hundred bytes (16,000 or more only with a captured response
#: or a long stack): with them its document stays under ``wire.MAX_DOCUMENT``,
#: and children that do not fit leave on their own (``wire.with_children``).
MAX_KEPT_BYTES: Final = 48_000
#: Within this many seconds of the invocation's deadline nothing is kept.
FLUSH_BEFORE_DEADLINE: Final = 0.5


class _Kept(list):  # type: ignore[type-arg]
    """A parent's kept children (embedded documents) and their total length."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0


#: ``Subsegment.children`` once its document has left: later children are sent on their own.
_SENT: Final = ("sent",)
_lock = allocate_lock()
#: The parents holding kept children, for :func:`flush`.
_parents: list[Subsegment] = []
#: Whether the running invocation keeps closed children (see the module docs).
keeping = False
_NEVER: Final = float("inf")
#: Wall-clock time after which the running invocation keeps nothing.
_flush_at = _NEVER
#: Wakes the watcher (released by :func:`arm`; held otherwise).
_wake = allocate_lock()
_watching = False
#: Whether the watcher waits for no deadline (and must be woken for a new one).
_idle = False


def flush_if_late(end: float) -> None:
    """A subsegment closed at ``end`` outside this module (an emitter that batches
    itself, OTLP): send everything kept if that is within the deadline's margin."""
    if end >= _flush_at:
        flush()


def close(sub: Subsegment, rest: str | None, send: Send) -> None:
    """``sub`` closed, its document after the identity being ``rest`` (from
    :mod:`lambda_xray.wire`; ``None``: only the checked path can write it):
    keep it for its parent's document, or send it now with its own kept
    children. Never raises."""
    try:
        parent = sub.parent
        end = sub.end_time
        if rest is None:
            kids = _take(sub)
            send(wire.encode(sub))
            _send_each(kids or [], sub, send)
            return
        if (
            keeping
            and parent is not None
            and end is not None
            and end < _flush_at
            and sub.invocation is context.active
            and _has_room(parent.children)  # a hint, without the lock: _keep_locked decides
        ):
            body = wire.embedded(sub, rest)
            with _lock:
                kids = sub.children
                sub.children = _SENT
                if kids is None and _keep_locked(parent, body, len(body)):
                    return
                if kids is not None and kids is not _SENT:
                    _parents.remove(sub)
            if kids is not None and kids is not _SENT:
                # A parent closing: its document with its children, kept in turn if it fits.
                body, left = wire.with_children(body, kids, kids.size, wire.MAX_DOCUMENT - 512)
                _send_each(left, sub, send)
                with _lock:
                    if _keep_locked(parent, body, len(body)):
                        return
            send(wire.datagram(wire.as_standalone(body, sub.trace_id, sub.parent_id)))
            return
        # Nothing is kept while not keeping: no lock to take then.
        kids = _take(sub) if keeping or sub.children is not None else None
        document, left = wire.with_children(
            wire.standalone(sub, rest), kids or [], kids.size if kids else 0
        )
        send(wire.datagram(document))
        _send_each(left, sub, send)
        if end is not None and end >= _flush_at:
            flush(send)
    except Exception:
        _dropped()


def _has_room(kids: Any) -> bool:
    """Whether a parent whose ``children`` are ``kids`` may keep one more (a hint,
    read without the lock: :func:`_keep_locked` decides)."""
    return kids is None or (
        kids is not _SENT and len(kids) < MAX_KEPT and kids.size < MAX_KEPT_BYTES
    )


def _keep_locked(parent: Subsegment, body: str, size: int) -> bool:
    """Add ``body`` to ``parent``'s kept children if it may (``_lock`` held)."""
    kids = parent.children
    if kids is None:
        if size > MAX_KEPT_BYTES:
            return False
        kids = parent.children = _Kept()
        _parents.append(parent)
    elif kids is _SENT or len(kids) >= MAX_KEPT or kids.size + size > MAX_KEPT_BYTES:
        return False
    kids.append(body)
    kids.size += size
    return True


def _take(sub: Subsegment) -> _Kept | None:
    """``sub``'s kept children, taken; later ones are sent on their own."""
    with _lock:
        kids = sub.children
        sub.children = _SENT
        if kids is None or kids is _SENT:
            return None
        _parents.remove(sub)
    kept: _Kept = kids
    return kept


def _send_each(children: list[str], parent: Subsegment, send: Send) -> None:
    """Send embedded documents of ``parent``'s children as standalone ones."""
    for child in children:
        send(wire.datagram(wire.as_standalone(child, parent.trace_id, parent.id)))


def flush(send: Send | None = None) -> None:
    """Send everything kept now, each child on its own (its parents stay open),
    and tell an emitter that batches (OTLP) to send what it holds. Never raises."""
    try:
        if send is None:
            send = emitter._send_datagram
        with _lock:
            taken = [(parent, parent.children) for parent in _parents]
            for parent in _parents:
                parent.children = None
            _parents.clear()
        if send is not None:
            for parent, kids in taken:
                _send_each(kids, parent, send)
        batching = getattr(emitter._emitter, "flush", None)
        if batching is not None:
            batching()
    except Exception:
        _dropped()


def arm(lambda_context: Any) -> None:
    """A recorded invocation (not the process's first) starts: keep closed
    children until its deadline (from ``lambda_context``), less the margin."""
    global keeping, _flush_at
    keeping = True
    try:
        remaining = lambda_context.get_remaining_time_in_millis()
        if type(remaining) is not int and type(remaining) is not float:
            raise TypeError
        _flush_at = time() + remaining / 1000.0 - FLUSH_BEFORE_DEADLINE
    except Exception:  # no Lambda context (a test, a handler called by hand)
        _flush_at = _NEVER
        return
    if not _watching:
        _watch()
    elif _idle:
        _poke()


def reset() -> None:
    """Forget everything kept (a fresh process, for tests)."""
    global keeping, _flush_at
    with _lock:
        _parents.clear()
    keeping, _flush_at = False, _NEVER


def disarm() -> None:
    """The invocation ended: nothing is kept until the next one is armed."""
    global keeping
    keeping = False


def finish(send: Send | None) -> None:
    """The invocation's ``## <handler>`` document left: send what subsegments
    that never closed still keep. Never raises."""
    disarm()
    if _parents:
        flush(send)


def _poke() -> None:
    try:
        _wake.release()  # the watcher looks at the new deadline
    except RuntimeError:  # already released: it will
        return


def _watch() -> None:
    """Start the watcher thread (once per process)."""
    global _watching
    try:
        from _thread import start_new_thread

        _wake.acquire(False)
        start_new_thread(_watcher, ())
        _watching = True
    except Exception:
        return


def _watcher() -> None:
    """Sleep until the running invocation's deadline (less the margin), then flush.

    Deadlines only grow (each invocation starts later, with the same timeout),
    so a watcher asleep until an earlier one wakes in time for the next; only
    one with nothing to wait for (``_idle``) must be woken by :func:`arm`.
    """
    global _idle
    flushed_for = 0.0
    while True:
        try:
            _idle = True  # before reading the deadline: arm() writes it before reading this
            at = _flush_at
            if at in (flushed_for, _NEVER):  # nothing to wait for until poked
                _wake.acquire(True, _LONGEST_SLEEP)
                continue
            _idle = False
            delay = at - time()
            if delay > 0:
                _wake.acquire(True, min(delay, _LONGEST_SLEEP))
                continue
            flushed_for = at
            if keeping:
                flush()
        except Exception:
            _wake.acquire(True, 1.0)


_LONGEST_SLEEP: Final = 3600.0


def _dropped() -> None:
    from lambda_xray import _log

    _log.warning_once("batch", "lambda_xray: a document could not be sent")
