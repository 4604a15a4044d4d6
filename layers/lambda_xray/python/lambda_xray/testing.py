"""Helpers for testing traced code: keep documents in memory instead of sending them.

In your own tests::

    from lambda_xray.testing import InMemoryEmitter, invocation

    def test_resize_is_traced():
        with InMemoryEmitter() as xray, invocation():
            resize(b"...")                     # your code, using lambda_xray / boto3
        assert "resize" in xray.names()

``InMemoryEmitter`` receives exactly the documents the layer would send (the
same encoding, trimming included). ``invocation()`` stands in for the handler
wrapper: it opens a sampled trace context with a fresh trace id, so code that
records outside ``lambda_xray.handler.handler`` has somewhere to record. To
run a function through the real wrapper instead, set ``LAMBDA_XRAY_HANDLER``
and ``_X_AMZN_TRACE_ID`` and call ``lambda_xray.handler.handler(event, None)``;
call :func:`reset` between tests that change the environment.
"""

from __future__ import annotations

import os
import sys
import time

from lambda_xray import _log, _recorder, config, context, document, emitter, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from lambda_xray.document import Subsegment

__all__ = [
    "InMemoryEmitter",
    "invocation",
    "new_trace_id",
    "reset",
    "subsegments",
    "trace_header",
]


class InMemoryEmitter:
    """An emitter that keeps every document, for assertions in tests.

    ``with InMemoryEmitter() as xray:`` installs it for the block (and puts the
    previous emitter back after); :meth:`install`/:meth:`uninstall` do the
    same by hand. :attr:`datagrams` holds the raw bytes that would have been
    sent; :attr:`documents` every subsegment in them, decoded, in the order
    they closed: one embedded in its parent's document (``subsegments``, see
    :mod:`lambda_xray.batch`) is listed on its own, before its parent, with
    the ``type``, ``trace_id`` and ``parent_id`` X-Ray gives it from there,
    and the parent's entry without its ``subsegments``.
    """

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.datagrams: list[bytes] = []
        self._previous: Any = None
        self._installed = False

    def send(self, sub: Subsegment) -> None:
        """Keep ``sub`` (encoded and decoded again, exactly as it would be sent)."""
        self.send_datagram(wire.encode(sub))

    def send_datagram(self, data: bytes) -> None:
        """Keep ``data``, a datagram already encoded, as the UDP emitter would send it.

        The layer's short ways (a successful AWS or HTTP call) hand their bytes
        here directly, as to the UDP emitter, so tests see what is really sent.
        """
        import json

        self.datagrams.append(data)
        self.documents += subsegments([json.loads(data[len(wire.HEADER) :])])

    def install(self) -> InMemoryEmitter:
        """Receive every document from now on; returns ``self``."""
        if not self._installed:
            self._previous = emitter.set_emitter(self)
            self._installed = True
        return self

    def uninstall(self) -> None:
        """Put the previous emitter back."""
        if self._installed:
            emitter.set_emitter(self._previous)
            self._installed = False

    def __enter__(self) -> InMemoryEmitter:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def clear(self) -> None:
        """Forget what was received so far."""
        self.documents.clear()
        self.datagrams.clear()

    def names(self) -> list[str]:
        """The names of the received documents, in order."""
        return [str(doc.get("name")) for doc in self.documents]

    def named(self, name: str) -> list[dict[str, Any]]:
        """The received documents called ``name``."""
        return [doc for doc in self.documents if doc.get("name") == name]

    def children_of(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        """The received documents whose ``parent_id`` is ``parent``'s id."""
        return [doc for doc in self.documents if doc.get("parent_id") == parent.get("id")]


def subsegments(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every subsegment in ``documents`` (as received from the daemon's socket), each on its own.

    A subsegment embedded in its parent's document (``subsegments``: see
    :mod:`lambda_xray.batch`) comes before its parent, with the ``type``,
    ``trace_id`` and ``parent_id`` X-Ray gives it from there; each entry is
    a copy without ``subsegments``. Documents without any are returned as they are.
    """
    found: list[dict[str, Any]] = []
    for received in documents:
        _flatten(received, found)
    return found


def _flatten(received: dict[str, Any], into: list[dict[str, Any]]) -> None:
    children = received.get("subsegments")
    if not isinstance(children, list):
        into.append(received)
        return
    for child in children:
        if isinstance(child, dict):
            _flatten(
                {
                    "type": "subsegment",
                    "trace_id": received.get("trace_id"),
                    "parent_id": received.get("id"),
                    **child,
                },
                into,
            )
    into.append({key: value for key, value in received.items() if key != "subsegments"})


def new_trace_id() -> str:
    """A fresh X-Ray trace id (``1-<epoch hex>-<96 random bits>``)."""
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def trace_header(*, sampled: bool | None = True, lineage: str | None = None) -> str:
    """A trace header like Lambda's: new Root, new Parent, ``Sampled`` as asked.

    ``sampled=None`` leaves ``Sampled`` out (Lambda's PassThrough shape is
    ``Root`` only: build that one yourself).
    """
    value = f"Root={new_trace_id()};Parent={document.new_id()}"
    if sampled is not None:
        value += ";Sampled=" + ("1" if sampled else "0")
    if lineage is not None:
        value += ";Lineage=" + lineage
    return value


class _InvocationScope:
    def __init__(self, name: str, header: str | None) -> None:
        self._name = name
        self._header = header
        self._invocation: context.Invocation | None = None
        self._token: Any = None

    def __enter__(self) -> Subsegment | None:
        invocation = _recorder.start_invocation(self._name, self._header)
        self._invocation = invocation
        if invocation.root is not None:
            self._token = context.current.set(invocation.root)
        return invocation.root

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            context.current.reset(self._token)
            self._token = None
        if self._invocation is not None:
            _recorder.finish_invocation(self._invocation, error=exc)
            self._invocation = None


def invocation(name: str = "test", *, header: str | None = None) -> _InvocationScope:
    """Run a block as one traced invocation with root subsegment ``## <name>``.

    ``header`` is the ``_X_AMZN_TRACE_ID`` value to use (default: a fresh
    sampled one from :func:`trace_header`). The block's value is the root
    :class:`~lambda_xray.document.Subsegment` (``None`` when not sampled).
    """
    return _InvocationScope(name, header if header is not None else trace_header())


def reset() -> None:
    """Forget what the layer learnt in this process, as if it had just started.

    Settings (the environment is read again), the loaded handler (the next
    look-up of ``lambda_xray.handler.handler`` runs Init again), the phase
    (Init again: no invocation has started), the cold start flag, once-only
    log messages and the UDP socket. An installed ``InMemoryEmitter`` stays
    installed.
    """
    from lambda_xray import handler

    config.reset()
    _log.forget()
    _recorder.reset()
    handler.reset()
    current = emitter.set_emitter(None)
    otlp = sys.modules.get("lambda_xray.otlp.emitter")
    if otlp is not None and isinstance(current, otlp.OTLPEmitter):
        current.udp.close()  # the format is chosen again from the environment
    elif isinstance(current, emitter.UDPEmitter):
        current.close()
    elif current is not None:
        emitter.set_emitter(current)
