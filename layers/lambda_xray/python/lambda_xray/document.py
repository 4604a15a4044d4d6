"""The subsegment document: its model, its ids and its name.

A :class:`Subsegment` is a plain slotted object that the recorder, the client
patches and the user API fill in; :mod:`lambda_xray.wire` turns a closed one
into the datagram the daemon receives, and :mod:`lambda_xray.causes` builds
its ``cause`` from an exception. Ids come from the OS's secure random source;
names go through :func:`lambda_xray.redact.redact` like every recorded text
and lose the characters X-Ray rejects.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

#: Segment names: at most this many characters.
MAX_NAME: Final = 200
#: Exception messages (and the ``repr`` of values JSON cannot hold) are cut to this many characters.
MAX_MESSAGE: Final = 4096
#: ``http.request`` strings are limited to this many characters by the schema.
MAX_HTTP_STRING: Final = 250

_NAME_ASCII: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/%&#=+-@"
)
#: Every text :func:`lambda_xray.redact.redact` changes holds one of these
#: (a property test checks it): names without any, such as ``## app.handler``
#: or ``DynamoDB``, skip loading that module at cold start.
REDACTION_HINTS: Final = (":", "?", "/", "=", "'", "alue")
_name_cache: dict[str, str] = {}
_NAME_CACHE_SIZE: Final = 512


#: Entity ids not handed out yet, drawn from the OS's secure random source 64
#: at a time (one system call instead of one per subsegment). ``list.pop`` is
#: atomic, so threads never share an id. A forked child starts a fresh pool,
#: and so does every invocation (:func:`drop_unused_ids`): ids drawn before a
#: SnapStart snapshot are never handed out by the restored copies.
_ids: list[str] = []
_IDS_PER_DRAW: Final = 64


def _draw_ids() -> str:
    """Refill the id pool; returns one more id for the caller."""
    text = os.urandom(8 * _IDS_PER_DRAW).hex()
    _ids.extend([text[i : i + 16] for i in range(16, len(text), 16)])
    return text[:16]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.clear)


def drop_unused_ids() -> None:
    """Forget the ids drawn but not handed out (called when an invocation starts)."""
    _ids.clear()


def new_id() -> str:
    """A new 16-hex-digit entity id (from the OS's secure random source, never repeated)."""
    try:
        return _ids.pop()
    except IndexError:
        return _draw_ids()


def sanitize_name(name: str) -> str:
    """``name`` redacted (as every recorded string), with the characters X-Ray
    rejects removed, cut to 200 characters."""
    if not isinstance(name, str):
        name = str(name)
    cached = _name_cache.get(name)
    if cached is not None:
        return cached
    text = name[: 5 * MAX_NAME]  # bounded work: the name is cut to 200 characters anyway
    for hint in REDACTION_HINTS:
        if hint in text:
            from lambda_xray.redact import redact

            text = redact(text)
            break
    if text.isascii():
        clean = "".join(ch for ch in text if ch in _NAME_ASCII)
    else:
        from lambda_xray._names import DISALLOWED

        clean = DISALLOWED.sub("", text)
    clean = clean[:MAX_NAME] or "unnamed"
    if len(_name_cache) >= _NAME_CACHE_SIZE:
        _name_cache.clear()
    _name_cache[name] = clean
    return clean


class Subsegment:
    """One X-Ray subsegment, sent once closed (in its parent's document, or on its own).

    ``http`` (``request``/``response`` dicts), ``aws``, ``sql``, ``annotations`` and
    ``metadata`` (``{namespace: {key: value}}``) are plain dicts that callers
    fill in; empty ones are left out of the document. ``parent`` is the
    subsegment it was opened under when that one is recorded here (``None``
    for the ``## <handler>`` subsegment, whose parent is Lambda's segment);
    ``children`` belongs to :mod:`lambda_xray.batch` (closed children waiting
    for this subsegment's document).
    """

    __slots__ = (
        "annotations",
        "aws",
        "cause",
        "children",
        "end_time",
        "error",
        "fault",
        "http",
        "id",
        "invocation",
        "metadata",
        "name",
        "namespace",
        "parent",
        "parent_id",
        "sql",
        "start_time",
        "throttle",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        trace_id: str,
        parent_id: str,
        namespace: str | None = None,
        invocation: object = None,
        parent: Subsegment | None = None,
    ) -> None:
        try:
            self.id: str = _ids.pop()
        except IndexError:
            self.id = _draw_ids()
        self.trace_id = trace_id
        self.parent_id = parent_id
        clean = _name_cache.get(name) if type(name) is str else None
        self.name = clean if clean is not None else sanitize_name(name)
        self.namespace = namespace
        self.start_time: float = time.time()
        self.end_time: float | None = None
        self.http: dict[str, Any] = {}
        self.aws: dict[str, Any] = {}
        self.sql: dict[str, Any] = {}
        self.annotations: dict[str, str | int | float | bool] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.error = False
        self.throttle = False
        self.fault = False
        self.cause: dict[str, Any] | str | None = None
        #: The invocation this subsegment belongs to (opaque to this module).
        self.invocation = invocation
        self.parent = parent
        self.children: Any = None

    def add_exception(
        self, exc: BaseException, remote: bool = False, at_call: bool = False
    ) -> None:
        """Record ``exc`` as this subsegment's ``cause`` (see :mod:`lambda_xray.causes`).

        An exception already recorded on another subsegment of the same
        invocation is referenced by its id instead of being copied; messages
        are redacted; ``at_call`` (a client patch handling the exception
        where the call was made) adds the calling code to the stack. Flags
        are left to the caller. Never raises.
        """
        try:
            from lambda_xray.causes import cause_for

            self.cause = cause_for(exc, remote, at_call)
        except Exception:
            self.cause = None

    def to_dict(self) -> dict[str, Any]:
        """The document as a dict (shares the caller's dicts; do not mutate it)."""
        doc: dict[str, Any] = {
            "type": "subsegment",
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "start_time": self.start_time,
        }
        if self.end_time is not None:
            doc["end_time"] = self.end_time
        else:
            doc["in_progress"] = True
        if self.namespace:
            doc["namespace"] = self.namespace
        if self.error:
            doc["error"] = True
        if self.throttle:
            doc["throttle"] = True
        if self.fault:
            doc["fault"] = True
        if self.http:
            doc["http"] = clamp_http(self.http)
        if self.aws:
            doc["aws"] = self.aws
        if self.sql:
            doc["sql"] = self.sql
        if self.annotations:
            doc["annotations"] = self.annotations
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.cause is not None:
            doc["cause"] = self.cause
        return doc

    def __repr__(self) -> str:
        return f"Subsegment(name={self.name!r}, id={self.id!r}, parent_id={self.parent_id!r})"


def clamp_http(http: dict[str, Any]) -> dict[str, Any]:
    """``http`` with its request's strings cut to :data:`MAX_HTTP_STRING` (a copy when cut)."""
    request = http.get("request")
    if not isinstance(request, dict):
        return http
    for value in request.values():
        if isinstance(value, str) and len(value) > MAX_HTTP_STRING:
            break
    else:
        return http
    clamped = {k: v[:MAX_HTTP_STRING] if isinstance(v, str) else v for k, v in request.items()}
    return {**http, "request": clamped}
