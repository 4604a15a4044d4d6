"""Sending OTLP spans to the daemon address, batched per invocation.

Each closed subsegment is encoded as a span (:mod:`lambda_xray.otlp._spans`)
right away and kept; the invocation's spans leave when its handler span
closes, at the end of the invocation, in as few datagrams as fit. A datagram
is what ADOT's Lambda exporter sends: the daemon header line
``{"format":"json","version":1}``, a newline, ``T1S`` (sampled) or ``T1U``
(unsampled), then standard base64 of one serialized
``ExportTraceServiceRequest``. Every datagram is at most
:data:`MAX_DATAGRAM` bytes: a batch that would be larger is split, and a span
too large on its own is cut down (see ``encode_span``), never dropped.

A successful plain AWS or HTTP call's span is written the short way
(:meth:`OTLPEmitter.send_aws_call`, :meth:`OTLPEmitter.send_http_call`, which
the recorder calls: :mod:`lambda_xray.otlp._calls`, the same bytes), from
the process's second batch on. A span closing after its invocation's
handler span (work that outlived the handler) leaves at once, on its own.
Spans that could not be sent (the socket failed) are counted in
:attr:`OTLPEmitter.lost` and said once in the log. Nothing here raises into
the function.
"""

from __future__ import annotations

from _thread import allocate_lock
from binascii import b2a_base64
from os import environ

from lambda_xray import config
from lambda_xray import header as _header
from lambda_xray.emitter import UDPEmitter
from lambda_xray.otlp._proto import attribute, bytes_field
from lambda_xray.otlp._spans import encode_span, local_attributes, resource, scope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Final

    from lambda_xray.document import Subsegment

    #: The resource field, the scope field, the aws.local.* attributes of every
    #: span, the largest batch of span fields a datagram holds beside them.
    Envelope = tuple[bytes, bytes, bytes, int]

#: The daemon's header line, as ADOT sends it.
HEADER: Final = b'{"format":"json","version":1}\n'
#: Prefix of a batch of sampled spans.
SAMPLED: Final = b"T1S"
#: Prefix of a batch of unsampled spans.
UNSAMPLED: Final = b"T1U"
#: Largest datagram sent: under the daemon's 64 KiB and UDP's 65,507 bytes.
MAX_DATAGRAM: Final = 64_000
#: Largest serialized request whose base64 still fits one datagram.
MAX_REQUEST: Final = (MAX_DATAGRAM - len(HEADER) - len(SAMPLED)) // 4 * 3


class OTLPEmitter:
    """Collects an invocation's spans and sends them as OTLP datagrams.

    ``udp`` sends the datagrams (a :class:`~lambda_xray.emitter.UDPEmitter`
    for ``AWS_XRAY_DAEMON_ADDRESS`` unless given).
    """

    __slots__ = (
        "_calls",
        "_envelope",
        "_invocation",
        "_lock",
        "_pending",
        "_pending_size",
        "_root_context",
        "_seen",
        "_warm",
        "batches",
        "lost",
        "spans",
        "udp",
    )

    #: Unsampled recordings leave as ``T1U`` datagrams (what the recorder asks
    #: before it records a ``Sampled=0`` invocation).
    sends_unsampled: Final = True

    def __init__(self, udp: UDPEmitter | None = None) -> None:
        self.udp = udp if udp is not None else UDPEmitter()
        self._lock = allocate_lock()
        self._invocation: object = None
        self._pending: list[bytes] = []  # span fields (key + length + body)
        self._pending_size = 0
        self._seen: dict[str, tuple[str, str, str]] = {}  # exception id -> event parts
        self._envelope: Envelope | None = None
        # The short way's module (lambda_xray.otlp._calls), loaded once a batch has left.
        self._calls: ModuleType | None = None
        self._warm = False
        # An invocation and the attributes its handler span gets from the Lambda context.
        self._root_context: tuple[object, bytes] = (None, b"")
        #: Spans encoded, datagrams handed to the socket, spans that could not be sent.
        self.spans = 0
        self.batches = 0
        self.lost = 0

    def send(self, sub: Subsegment) -> None:
        """Encode ``sub`` as a span; send the batch when its invocation ends. Never raises."""
        try:
            self._add(sub)
        except Exception:
            self.lost += 1
            _warn_once("otlp-encode", "lambda_xray: a span could not be encoded; it was not sent")

    def send_aws_call(
        self,
        sub: Subsegment,
        status: int,
        end: float,
        request_id: object = None,
        host_id: object = None,
        retries: object = None,
    ) -> bool:
        """Close ``sub``, an AWS call answered with ``status`` at ``end``, and keep
        its span written the short way (:func:`._calls.aws_call_span`: the same
        bytes as recording the response's ``RequestId``, ``HostId`` and
        ``RetryAttempts`` and calling :meth:`send`). ``False``, having changed
        nothing, when the general way must run. Never raises."""
        try:
            ready = self._short_parts(sub)
            if ready is None:
                return False
            calls, envelope, recorded = ready
            span = calls.aws_call_span(
                sub,
                status,
                end,
                request_id,
                host_id,
                retries,
                envelope[2],
                recorded,
                envelope[3] - 4,
            )
            if span is None:
                return False
            sub.end_time = end
        except Exception:
            return False
        self._keep(sub, sub.invocation, calls.field(span), envelope[3])
        return True

    def send_http_call(self, sub: Subsegment, status: int, end: float) -> bool:
        """:meth:`send_aws_call` for an HTTP call (:func:`._calls.http_call_span`:
        the same bytes as recording ``http.response.status`` and calling :meth:`send`)."""
        try:
            ready = self._short_parts(sub)
            if ready is None:
                return False
            calls, envelope, recorded = ready
            span = calls.http_call_span(sub, status, end, envelope[2], recorded, envelope[3] - 4)
            if span is None:
                return False
            sub.end_time = end
        except Exception:
            return False
        self._keep(sub, sub.invocation, calls.field(span), envelope[3])
        return True

    def _short_parts(self, sub: Subsegment) -> tuple[ModuleType, Envelope, bool] | None:
        """What both short ways need: the short-way module, the cached envelope
        and whether the call's trace is recorded; ``None`` when it is not loaded yet.

        The module (:mod:`._calls`) is loaded once the process's first batch has
        left: the first invocation (the cold start) loads neither it nor
        ``_struct``, and its few calls take the general way (the same bytes).
        """
        calls = self._calls
        if calls is None:
            if not self._warm:
                return None
            from lambda_xray.otlp import _calls

            calls = self._calls = _calls
        trace_header = getattr(sub.invocation, "header", None)
        recorded = trace_header is None or trace_header.mode == _header.RECORD
        return calls, self._envelope or self._make_envelope(), recorded

    def flush(self) -> None:
        """Send whatever is waiting now."""
        with self._lock:
            self._flush_locked()

    def note_invocation(self, invocation: object, request_id: object, function_arn: object) -> None:
        """The Lambda context of ``invocation``: its handler span gets
        ``faas.invocation_id`` (the request id), ``cloud.resource_id`` (the
        function's ARN as invoked) and ``cloud.account.id``, as ADOT's."""
        found = b""
        if isinstance(request_id, str) and request_id:
            found += attribute(9, "faas.invocation_id", request_id)
        if isinstance(function_arn, str) and function_arn.startswith("arn:"):
            found += attribute(9, "cloud.resource_id", function_arn)
            parts = function_arn.split(":")
            if len(parts) > 4 and parts[4]:
                found += attribute(9, "cloud.account.id", parts[4])
        self._root_context = (invocation, found)

    def _add(self, sub: Subsegment) -> None:
        _, _, local, limit = self._envelope or self._make_envelope()
        invocation = sub.invocation
        noted, context_fields = self._root_context
        if noted is invocation and sub is getattr(invocation, "root", None):
            local += context_fields  # the handler span: the Lambda context's ids
        with self._lock:
            if invocation is not self._invocation:
                self._enter(invocation)
            body = encode_span(sub, local, self._seen, limit - 4)
            self._append(sub, invocation, bytes_field(2, body), limit)

    def _keep(self, sub: Subsegment, invocation: object, span_field: bytes, limit: int) -> None:
        """Batch ``span_field``, a span written the short way (it has no exception)."""
        try:
            with self._lock:
                if invocation is not self._invocation:
                    self._enter(invocation)
                self._append(sub, invocation, span_field, limit)
        except Exception:
            self.lost += 1

    def _enter(self, invocation: object) -> None:
        """Spans of ``invocation`` come next: send those of another one first."""
        self._flush_locked()
        self._invocation = invocation
        self._seen = {}

    def _append(self, sub: Subsegment, invocation: object, span_field: bytes, limit: int) -> None:
        self.spans += 1
        if self._pending_size + len(span_field) > limit:
            self._flush_locked()
        self._pending.append(span_field)
        self._pending_size += len(span_field)
        root = getattr(invocation, "root", None)
        if root is None or root is sub or root.end_time is not None:
            self._flush_locked()  # the invocation ended (or work outlived it)

    def _flush_locked(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending, self._pending_size = [], 0
        self._warm = True
        resource_field, scope_field, _, _ = self._envelope or self._make_envelope()
        scope_spans = bytes_field(2, scope_field + b"".join(pending))
        request = bytes_field(1, resource_field + scope_spans)
        trace_header = getattr(self._invocation, "header", None)
        sampled = getattr(trace_header, "mode", _header.RECORD) == _header.RECORD
        datagram = HEADER + (SAMPLED if sampled else UNSAMPLED) + b2a_base64(request, newline=False)
        if len(datagram) > MAX_DATAGRAM:  # cannot happen: spans are cut to fit
            self._lose(len(pending))
            return
        dropped = self.udp.dropped
        self.udp.send_datagram(datagram)
        if self.udp.dropped != dropped:
            self._lose(len(pending))
        else:
            self.batches += 1

    def _lose(self, count: int) -> None:
        self.lost += count
        _warn_once(
            "otlp-lost",
            "lambda_xray: %d span(s) could not be sent to the daemon; later losses are "
            "counted, not logged",
            count,
        )

    def _make_envelope(self) -> Envelope:
        service = config.get().service
        resource_field = bytes_field(1, resource(environ, service))
        scope_field = bytes_field(1, scope(""))
        limit = MAX_REQUEST - len(resource_field) - len(scope_field) - 16
        self._envelope = (resource_field, scope_field, local_attributes(environ, service), limit)
        return self._envelope


def _warn_once(key: str, message: str, *args: object) -> None:
    """``_log.warning_once``, its module loaded only when there is something to say."""
    from lambda_xray import _log

    _log.warning_once(key, message, *args)
