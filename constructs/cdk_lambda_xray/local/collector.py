"""A local stand-in for the X-Ray daemon: receives segment documents over UDP and keeps them.

The wire format is the daemon's: the header line ``{"format": "json",
"version": 1}``, a newline, then either one JSON segment document or, as the
Lambda OTLP exporters send, ``T1S``/``T1U`` and base64 of an OTLP
``ExportTraceServiceRequest``. Sampled OTLP spans (``T1S``) are kept as the
segment documents the X-Ray format would have sent (:mod:`.otlp_documents`),
so both formats look the same downstream; unsampled ones (``T1U``, sent for
Application Signals' metrics, never shown as traces by X-Ray) are only
counted in :attr:`Collector.unsampled_spans`. Every datagram is either kept
or counted in :attr:`Collector.rejects`, by reason in
:attr:`Collector.reject_counts` (one of :data:`REJECT_KINDS`) and with its
detail in :attr:`Collector.reject_reasons`. Nothing a sender can put in a datagram stops
the receiving thread: parsing is bounded (:mod:`.jsonlimits`) and any
unexpected failure is itself counted (``internal error``).

Example::

    with Collector() as collector:
        env["AWS_XRAY_DAEMON_ADDRESS"] = collector.address
        ...  # run traced code
        docs = collector.wait_for(lambda d: len(d) >= 3, timeout=10)
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from cdk_lambda_xray.local.datagram import (
    BAD_HEADER,
    BODY_NOT_JSON,
    BODY_NOT_UTF8,
    BODY_TOO_DEEP,
    EMPTY,
    INTERNAL,
    MAX_DATAGRAM,
    NO_HEADER,
    NO_IDS,
    NOT_AN_OBJECT,
    OTLP_NO_IDS,
    OTLP_NOT_DECODABLE,
    REJECT_KINDS,
    TOO_LARGE,
    DatagramRejected,
    Received,
    parse_datagram,
    read_datagram,
)
from cdk_lambda_xray.local.docmodel import safe_text

# The datagram reader's names are re-exported: tests and tools import them from here.
__all__ = [
    "BAD_HEADER",
    "BODY_NOT_JSON",
    "BODY_NOT_UTF8",
    "BODY_TOO_DEEP",
    "EMPTY",
    "INTERNAL",
    "MAX_DATAGRAM",
    "MAX_REJECT_REASONS",
    "NOT_AN_OBJECT",
    "NO_HEADER",
    "NO_IDS",
    "OTLP_NOT_DECODABLE",
    "OTLP_NO_IDS",
    "REJECT_KINDS",
    "TOO_LARGE",
    "Collector",
    "DatagramRejected",
    "DocumentCallback",
    "Received",
    "is_loopback",
    "parse_datagram",
    "read_datagram",
]

#: How many reject reasons are kept (the counts themselves are unbounded).
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
        self._reject_counts: dict[str, int] = {}
        self._reject_reasons: list[str] = []
        self._otlp_spans = 0
        self._otlp_ids: set[str] = set()
        self._unsampled_spans = 0
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
        except BaseException:  # OSError, or TypeError/OverflowError for a malformed address
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
    def loopback(self) -> bool:
        """Whether the bound address accepts datagrams from this machine only."""
        host = self.address.rsplit(":", 1)[0]
        return is_loopback(host)

    @property
    def rejects(self) -> int:
        """How many datagrams were rejected, for any reason."""
        with self._cond:
            return sum(self._reject_counts.values())

    @property
    def reject_counts(self) -> dict[str, int]:
        """Rejected datagrams by reason (keys from :data:`REJECT_KINDS`)."""
        with self._cond:
            return dict(self._reject_counts)

    @property
    def reject_reasons(self) -> list[str]:
        """Why datagrams were dropped (the first :data:`MAX_REJECT_REASONS`)."""
        with self._cond:
            return list(self._reject_reasons)

    @property
    def otlp_spans(self) -> int:
        """How many sampled OTLP spans (``T1S``) were received and kept as documents."""
        with self._cond:
            return self._otlp_spans

    def came_as_otlp(self, document: dict[str, Any]) -> bool:
        """Whether ``document`` was kept for an OTLP span (rather than sent as a document)."""
        with self._cond:
            return document.get("id") in self._otlp_ids

    @property
    def unsampled_spans(self) -> int:
        """How many unsampled OTLP spans (``T1U``) were received (counted, never kept)."""
        with self._cond:
            return self._unsampled_spans

    def clear(self) -> None:
        """Forget every document, span count and reject seen so far."""
        with self._cond:
            self._otlp_spans = 0
            self._otlp_ids.clear()
            self._unsampled_spans = 0
            self._documents.clear()
            self._reject_counts.clear()
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
                    names = sorted({safe_text(d.get("name"), 60) for d in snapshot})
                    raise TimeoutError(
                        f"collector: condition not met after {timeout:g}s; "
                        f"{len(snapshot)} documents ({', '.join(names) or 'none'}), "
                        f"{sum(self._reject_counts.values())} rejects"
                    )
                self._cond.wait(timeout=min(remaining, 0.5))

    # -- receiving -------------------------------------------------------------

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                data, _, flags, _ = sock.recvmsg(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            try:
                self._accept(data, truncated=bool(flags & socket.MSG_TRUNC))
            except Exception as exc:  # the receiving loop never ends on a datagram
                with contextlib.suppress(Exception):
                    self._reject(INTERNAL, f"{INTERNAL}: {type(exc).__name__}")

    def _accept(self, data: bytes, *, truncated: bool = False) -> None:
        try:
            received = read_datagram(data, truncated=truncated)
        except DatagramRejected as rejected:
            self._reject(rejected.kind, str(rejected))
            return
        with self._cond:
            self._documents.extend(received.documents)
            if received.otlp:
                self._otlp_spans += len(received.documents)
                self._otlp_ids.update(doc["id"] for doc in received.documents)
            self._unsampled_spans += received.unsampled_spans
            self._cond.notify_all()
        for _ in range(received.spans_without_ids):
            self._reject(OTLP_NO_IDS, OTLP_NO_IDS)
        if self._on_document is not None:
            for document in received.documents:
                try:
                    self._on_document(document)
                except Exception:
                    self.callback_errors += 1

    def _reject(self, kind: str, reason: str) -> None:
        with self._cond:
            self._reject_counts[kind] = self._reject_counts.get(kind, 0) + 1
            if len(self._reject_reasons) < MAX_REJECT_REASONS:
                self._reject_reasons.append(reason)
            self._cond.notify_all()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address as bound) is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
