"""One daemon datagram read: an X-Ray segment document or OTLP spans, or a named rejection.

The wire format is the X-Ray daemon's: the header line ``{"format": "json",
"version": 1}``, a newline, then either one JSON segment document or, as the
Lambda OTLP exporters send, ``T1S``/``T1U`` and base64 of an OTLP
``ExportTraceServiceRequest``. :func:`read_datagram` is total: it returns what
the datagram holds (:class:`Received`) or raises :class:`DatagramRejected`
whose ``kind`` is one of :data:`REJECT_KINDS`; parsing is bounded
(:mod:`.jsonlimits`, :mod:`.otlp_wire`). The collector (:mod:`.collector`)
receives datagrams and keeps what this module reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk_lambda_xray.local.jsonlimits import JsonRejected, loads_bounded
from cdk_lambda_xray.local.otlp_documents import span_document
from cdk_lambda_xray.local.otlp_wire import OtlpRejected, read_spans

#: The daemon reads at most this many bytes per datagram (64 KiB).
MAX_DATAGRAM = 65_536

EMPTY = "empty datagram"
TOO_LARGE = "datagram over 64 KiB"
NO_HEADER = "no header line"
BAD_HEADER = "bad header"
OTLP_NOT_DECODABLE = "OTLP payload not decodable"
OTLP_NO_IDS = "OTLP span has no valid trace or span id"
BODY_NOT_UTF8 = "body is not UTF-8"
BODY_TOO_DEEP = "body nests too deeply"
BODY_NOT_JSON = "body is not JSON"
NOT_AN_OBJECT = "body is not a JSON object"
NO_IDS = "document has no id or trace_id"
INTERNAL = "internal error"
#: Every reason a datagram is rejected for, in the order they are checked.
REJECT_KINDS = (
    EMPTY,
    TOO_LARGE,
    NO_HEADER,
    BAD_HEADER,
    OTLP_NOT_DECODABLE,
    OTLP_NO_IDS,
    BODY_NOT_UTF8,
    BODY_TOO_DEEP,
    BODY_NOT_JSON,
    NOT_AN_OBJECT,
    NO_IDS,
    INTERNAL,
)
_BODY_KINDS = {"not UTF-8": BODY_NOT_UTF8, "not JSON": BODY_NOT_JSON}


class DatagramRejected(ValueError):
    """A datagram the collector does not keep; ``kind`` is one of :data:`REJECT_KINDS`."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True)
class Received:
    """What one datagram brought: the documents to keep and the spans only counted."""

    documents: list[dict[str, Any]]
    #: Whether the documents came from OTLP spans (``T1S``).
    otlp: bool = False
    #: Spans of a ``T1U`` datagram (unsampled: counted, not kept).
    unsampled_spans: int = 0
    #: ``T1S`` spans left out because their ids are not valid.
    spans_without_ids: int = 0


def read_datagram(data: bytes, *, truncated: bool = False) -> Received:
    """The documents in one daemon datagram, either format; raises :class:`DatagramRejected`.

    A ``T1S`` datagram yields one document per span with valid ids (the others
    are counted in :attr:`Received.spans_without_ids`); a ``T1U`` datagram
    yields none and counts its spans.
    """
    body = _body(data, truncated=truncated)
    prefix = body[:3]
    if prefix not in (b"T1S", b"T1U"):
        return Received([_json_document(body)])
    try:
        spans = read_spans(body[3:])
    except OtlpRejected as exc:
        raise DatagramRejected(OTLP_NOT_DECODABLE, str(exc)) from None
    if prefix == b"T1U":
        return Received([], otlp=True, unsampled_spans=len(spans))
    documents = [doc for doc in map(span_document, spans) if doc is not None]
    return Received(documents, otlp=True, spans_without_ids=len(spans) - len(documents))


def parse_datagram(data: bytes, *, truncated: bool = False) -> dict[str, Any]:
    """The segment document in one X-Ray format datagram; raises :class:`DatagramRejected`.

    An OTLP datagram is rejected here as :data:`OTLP_NOT_DECODABLE`: use
    :func:`read_datagram` for both formats.

    ``truncated`` says the datagram was longer than :data:`MAX_DATAGRAM` (the
    socket cut it). The detail of a rejection never quotes more than 40 bytes
    of the datagram, and quotes them escaped.
    """
    body = _body(data, truncated=truncated)
    if body[:3] in (b"T1S", b"T1U"):
        raise DatagramRejected(OTLP_NOT_DECODABLE, "an OTLP datagram (read_datagram reads it)")
    return _json_document(body)


def _body(data: bytes, *, truncated: bool) -> bytes:
    """The datagram after its daemon header line."""
    if truncated or len(data) > MAX_DATAGRAM:
        raise DatagramRejected(TOO_LARGE)
    if not data:
        raise DatagramRejected(EMPTY)
    header_bytes, sep, body = data.partition(b"\n")
    if not sep:
        raise DatagramRejected(NO_HEADER, f"starts {data[:40]!r}")
    try:
        header = loads_bounded(header_bytes)
    except JsonRejected:
        header = None
    if not _is_daemon_header(header):
        raise DatagramRejected(BAD_HEADER, f"{header_bytes[:40]!r}")
    return body


def _json_document(body: bytes) -> dict[str, Any]:
    try:
        document = loads_bounded(body)
    except JsonRejected as exc:
        raise DatagramRejected(_BODY_KINDS.get(exc.kind, BODY_TOO_DEEP), str(exc)) from None
    if not isinstance(document, dict):
        raise DatagramRejected(NOT_AN_OBJECT, f"a JSON {_json_type(document)}")
    if not isinstance(document.get("id"), str) or not isinstance(document.get("trace_id"), str):
        raise DatagramRejected(NO_IDS, "both must be strings")
    return document


def _is_daemon_header(header: object) -> bool:
    """``{"format": "json", "version": 1}`` (``true`` is not ``1`` here)."""
    if not isinstance(header, dict) or header.get("format") != "json":
        return False
    version = header.get("version")
    return type(version) is int and version == 1


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return "literal"
    return "number"
