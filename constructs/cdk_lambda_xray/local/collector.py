"""A local stand-in for the X-Ray daemon: receives segment documents over UDP and keeps them.

The wire format is the daemon's: one datagram per document, the header line
``{"format": "json", "version": 1}``, a newline, then one JSON document. A
datagram with a missing or wrong header, a body that is not a JSON object, or
an object without ``id`` and ``trace_id`` is counted in :attr:`Collector.rejects`
(with a short reason in :attr:`Collector.reject_reasons`) and otherwise dropped,
as the real daemon drops it.

Example::

    with Collector() as collector:
        env["AWS_XRAY_DAEMON_ADDRESS"] = collector.address
        ...  # run traced code
        docs = collector.wait_for(lambda d: len(d) >= 3, timeout=10)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

#: The daemon reads at most this many bytes per datagram.
MAX_DATAGRAM = 65_535
#: How many reject reasons are kept (the count itself is unbounded).
MAX_REJECT_REASONS = 100

DocumentCallback = Callable[[dict[str, Any]], None]


class Collector:
    """Listen on UDP like the X-Ray daemon and keep every valid segment document.

    ``port=0`` (the default) picks a free port; :attr:`address` is the value for
    ``AWS_XRAY_DAEMON_ADDRESS``. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`. ``on_document`` is called (on the receiver
    thread) for each accepted document; an exception it raises is counted as a
    callback error and never stops the collector.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_document: DocumentCallback | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._on_document = on_document
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        self._documents: list[dict[str, Any]] = []
        self._rejects = 0
        self._reject_reasons: list[str] = []
        self.callback_errors = 0

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        """Bind the socket and start the receiver thread; returns ``self``."""
        if self._sock is not None:
            raise RuntimeError("collector already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind((self._host, self._port))
            sock.settimeout(0.2)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="xray-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self, drain: float = 0.2) -> None:
        """Stop receiving (after draining for up to ``drain`` seconds) and close the socket."""
        sock, thread = self._sock, self._thread
        if sock is None or thread is None:
            return
        if drain > 0:
            time.sleep(drain)
        self._stopping.set()
        thread.join(timeout=5)
        sock.close()
        self._sock = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(drain=0)

    # -- results ---------------------------------------------------------------

    @property
    def address(self) -> str:
        """``HOST:PORT`` the collector listens on (for ``AWS_XRAY_DAEMON_ADDRESS``)."""
        if self._sock is None:
            raise RuntimeError("collector not started")
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    @property
    def port(self) -> int:
        """The UDP port the collector listens on."""
        return int(self.address.rsplit(":", 1)[1])

    @property
    def documents(self) -> list[dict[str, Any]]:
        """A copy of the accepted documents, in arrival order."""
        with self._cond:
            return list(self._documents)

    @property
    def rejects(self) -> int:
        """How many datagrams were dropped (bad header, bad JSON, not a document)."""
        with self._cond:
            return self._rejects

    @property
    def reject_reasons(self) -> list[str]:
        """Why datagrams were dropped (the first :data:`MAX_REJECT_REASONS`)."""
        with self._cond:
            return list(self._reject_reasons)

    def clear(self) -> None:
        """Forget every document and reject seen so far."""
        with self._cond:
            self._documents.clear()
            self._rejects = 0
            self._reject_reasons.clear()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> list[dict[str, Any]]:
        """Block until ``predicate(documents)`` is true; return the documents.

        Raises :class:`TimeoutError` after ``timeout`` seconds; its message says
        how many documents (and which names) arrived, so a failing test shows
        what was missing.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                snapshot = list(self._documents)
                if predicate(snapshot):
                    return snapshot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = sorted({str(d.get("name")) for d in snapshot})
                    raise TimeoutError(
                        f"collector: condition not met after {timeout:g}s; "
                        f"{len(snapshot)} documents ({', '.join(names) or 'none'}), "
                        f"{self._rejects} rejects"
                    )
                self._cond.wait(timeout=min(remaining, 0.5))

    # -- receiving -------------------------------------------------------------

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                data = sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            self._accept(data)

    def _accept(self, data: bytes) -> None:
        document, reason = parse_datagram(data)
        with self._cond:
            if document is None:
                self._rejects += 1
                if len(self._reject_reasons) < MAX_REJECT_REASONS:
                    self._reject_reasons.append(reason)
            else:
                self._documents.append(document)
            self._cond.notify_all()
        if document is not None and self._on_document is not None:
            try:
                self._on_document(document)
            except Exception:
                self.callback_errors += 1


def parse_datagram(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """Parse one daemon datagram; returns ``(document, "")`` or ``(None, reason)``."""
    header_bytes, sep, body = data.partition(b"\n")
    if not sep:
        return None, "no header line"
    try:
        header = json.loads(header_bytes)
    except ValueError:
        return None, "header is not JSON"
    if not isinstance(header, dict) or header.get("format") != "json" or header.get("version") != 1:
        return None, f"bad header {header_bytes[:80]!r}"
    if body[:3] in (b"T1S", b"T1U"):
        return None, "OpenTelemetry span (not a segment document)"
    try:
        document = json.loads(body)
    except ValueError:
        return None, "body is not JSON"
    if not isinstance(document, dict):
        return None, "body is not a JSON object"
    if not isinstance(document.get("id"), str) or not isinstance(document.get("trace_id"), str):
        return None, "document has no id or trace_id"
    return document, ""
