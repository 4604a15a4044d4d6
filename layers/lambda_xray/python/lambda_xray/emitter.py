"""Sending documents to ``AWS_XRAY_DAEMON_ADDRESS``: one UDP datagram each.

The socket is created on the first send (never at import), is non-blocking
and, for an IP address, connected once, so each send is a single ``send``
system call. Sending never raises and never blocks: a full buffer, an
unreachable daemon or any other error drops that one document (counted in
:attr:`UDPEmitter.dropped`). A socket that stops working (closed, broken) is
replaced on the next send, with one warning per process. A daemon host given
by name is resolved once, on the first send; if that fails (DNS, a name IDNA
rejects, ...), one warning says so and documents are dropped without trying
again for :data:`RETRY_AFTER` seconds.

Any object with a ``send(sub)`` method can stand in for the UDP emitter
(:func:`set_emitter`). One that also has ``send_datagram(data)`` takes X-Ray
datagrams already encoded (:mod:`lambda_xray.wire`): the recorder then
writes every document itself (the commonest straight from a call's fields,
calls kept for their parent's document by :mod:`lambda_xray.batch`) and
hands it the bytes (:func:`datagram_sender`), the same for every such
emitter; ``lambda_xray.testing.InMemoryEmitter`` is one. An emitter of
another wire format (OTLP) has no ``send_datagram`` and gets every
subsegment, as it closes.
"""

from __future__ import annotations

from _thread import allocate_lock
from time import monotonic

from lambda_xray import config
from lambda_xray.wire import encode

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Protocol

    from lambda_xray.document import Subsegment

    class Emitter(Protocol):
        """Receives every closed subsegment that is to be sent."""

        def send(self, sub: Subsegment) -> None:
            """Send (or keep) ``sub``; must not raise."""

    class DatagramEmitter(Emitter, Protocol):
        """An emitter that also takes X-Ray datagrams already encoded."""

        def send_datagram(self, data: bytes) -> None:
            """Send (or keep) ``data``, one datagram from :mod:`lambda_xray.wire`
            (header line + JSON document); must not raise."""


#: Seconds to wait before trying an address that could not be resolved or connected again.
RETRY_AFTER = 60.0

# Send errors that pass with the moment (a full buffer, the daemon not listening
# yet, a document too large): the socket is fine and is kept. Any other error (a
# closed or broken socket) opens a new socket for the next send.
_PASSING = ("EAGAIN", "EWOULDBLOCK", "ENOBUFS", "ECONNREFUSED", "EMSGSIZE")


class UDPEmitter:
    """Sends each datagram (one document) to the X-Ray daemon.

    ``address`` defaults to ``AWS_XRAY_DAEMON_ADDRESS`` (read on the first
    send, through :mod:`lambda_xray.config`).
    """

    __slots__ = ("_address", "_lock", "_retry_at", "_sock", "dropped", "sent")

    def __init__(self, address: tuple[str, int] | None = None) -> None:
        self._address = address
        self._sock: _socket.socket | None = None
        self._lock = allocate_lock()  # only taken to open the socket
        self._retry_at = 0.0  # after a failed open: drop documents until then
        self.sent = 0
        self.dropped = 0

    def send(self, sub: Subsegment) -> None:
        """Encode ``sub`` and send it; never raises, never blocks."""
        try:
            data = encode(sub)
        except Exception:
            self.dropped += 1
            return
        self.send_datagram(data)

    def send_datagram(self, data: bytes) -> None:
        """Send ``data``, a datagram from ``document``; never raises, never blocks."""
        try:
            sock = self._sock
            if sock is None:
                sock = self._open()
        except Exception:
            self.dropped += 1
            return
        try:
            sock.send(data)
            self.sent += 1
        except Exception as exc:
            self.dropped += 1
            self._broken(sock, exc)

    def _broken(self, sock: _socket.socket, exc: Exception) -> None:
        """A send failed: keep the socket for a passing condition, else open a new one next time."""
        import errno

        if isinstance(exc, OSError) and errno.errorcode.get(exc.errno or 0) in _PASSING:
            return
        with self._lock:
            if self._sock is sock:
                self._sock = None
        _close_quietly(sock)
        from lambda_xray import _log  # only when there is something to say

        _log.warning_once(
            "daemon-socket",
            "lambda_xray: sending to the X-Ray daemon failed (%s: %s); a document was "
            "dropped and the next one goes through a new socket",
            type(exc).__name__,
            exc,
        )

    def close(self) -> None:
        """Close the socket; the next send opens a new one."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _open(self) -> _socket.socket:
        if self._retry_at and monotonic() < self._retry_at:
            raise OSError("the X-Ray daemon address did not work a moment ago")
        with self._lock:  # threads sending their first documents at once share one socket
            if self._sock is None:
                try:
                    self._sock = self._connect()
                except Exception:
                    # Do not resolve (and maybe wait on DNS) again for every document.
                    self._retry_at = monotonic() + RETRY_AFTER
                    raise
            return self._sock

    def _connect(self) -> _socket.socket:
        # _socket, not socket: the same calls without loading socket.py, enum
        # and selectors into a function that may never need them.
        import _socket

        host, port = self._address or config.get().daemon_address
        try:
            # An ASCII host as bytes: a str would load the idna codec first.
            target: str | bytes = host.encode("ascii") if host.isascii() else host
            infos = _socket.getaddrinfo(target, port, 0, _socket.SOCK_DGRAM, _socket.IPPROTO_UDP)
        except Exception as exc:  # OSError; UnicodeError for a name IDNA rejects; ValueError
            from lambda_xray import _log

            _log.warning_once(
                "daemon-resolve",
                "lambda_xray: cannot resolve the X-Ray daemon host %r (%s: %s); documents "
                "are dropped, trying again in %d s",
                host,
                type(exc).__name__,
                exc,
                RETRY_AFTER,
            )
            raise
        family, kind, proto, _, sockaddr = infos[0]
        sock = _socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.connect(sockaddr)
        except OSError:
            sock.close()
            raise
        return sock


def _close_quietly(sock: _socket.socket) -> bool:
    """Close ``sock``; a broken socket may fail to close, and is gone either way."""
    try:
        sock.close()
    except Exception:
        return False
    return True


_emitter: Emitter | None = None
#: The ``send_datagram`` of :data:`_emitter` when it has one (see :func:`datagram_sender`).
_send_datagram: Callable[[bytes], None] | None = None


def get_emitter() -> Emitter:
    """The emitter in use: unless one was set, a :class:`UDPEmitter`, or in OTLP
    mode (``LAMBDA_XRAY_FORMAT=otlp``) a ``lambda_xray.otlp.emitter.OTLPEmitter``."""
    emitter = _emitter
    if emitter is None:
        emitter = _for_format()
        _use(emitter)
    return emitter


def datagram_sender() -> Callable[[bytes], None] | None:
    """The emitter in use's ``send_datagram``, or ``None`` when it takes subsegments only.

    The recorder's short ways encode a document themselves only when there is
    one (the module attribute ``_send_datagram`` holds it once an emitter is in use).
    """
    if _emitter is None:
        get_emitter()
    return _send_datagram


def _use(emitter: Emitter | None) -> None:
    global _emitter, _send_datagram
    _send_datagram = getattr(emitter, "send_datagram", None)
    _emitter = emitter


def _for_format() -> Emitter:
    """The emitter ``LAMBDA_XRAY_FORMAT`` asks for; the OTLP one is loaded only then.

    A layer built without its OTLP part (the function was planned for X-Ray
    documents) sends X-Ray documents, and says so once.
    """
    if config.get().format == config.FORMAT_OTLP:
        try:
            from lambda_xray.otlp.emitter import OTLPEmitter
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("lambda_xray.otlp"):
                raise
            from lambda_xray import _log

            _log.warning_once(
                "otlp-missing",
                "LAMBDA_XRAY_FORMAT=otlp, but this function's layer has no OTLP part: sending "
                "X-Ray segment documents. Set trace_format=TraceFormat.OTLP on the function's "
                "construct so its layer carries the OTLP part.",
            )
            return UDPEmitter()
        return OTLPEmitter()
    return UDPEmitter()


def set_emitter(emitter: Emitter | None) -> Emitter | None:
    """Use ``emitter`` for every document from now on; returns the previous one.

    ``None`` goes back to a fresh :class:`UDPEmitter` on the next send.
    """
    previous = _emitter
    _use(emitter)
    return previous


def emit(sub: Subsegment) -> None:
    """Send ``sub`` with the current emitter. Never raises."""
    emitter = _emitter
    if emitter is None:
        emitter = get_emitter()
    try:
        emitter.send(sub)
    except Exception:
        from lambda_xray import _log

        _log.warning_once("emitter", "lambda_xray: the emitter raised; document dropped")
