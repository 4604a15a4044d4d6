"""The documents the Lambda service sends to X-Ray, built for a local invocation.

In AWS, Lambda itself records two segments per traced invocation (Lambda
developer guide, "Using AWS X-Ray"; see ``docs/local.md``, "Connected traces"):

- the ``AWS::Lambda`` *service* segment. For a synchronous invocation it spans
  the whole request; for an asynchronous one it spans the time to answer 202,
  with a ``Dwelling Time`` subsegment (time in Lambda's queue) and one
  ``Attempt #n`` subsegment per invocation attempt;
- the ``AWS::Lambda::Function`` *user function* segment, child of the service
  segment (of the attempt, when asynchronous), with an ``Initialization``
  subsegment on a cold start (the code run before the handler) and an
  ``Invocation`` subsegment carrying the status and error message.

The function receives ``Root=<trace>;Parent=<function segment id>;Sampled=1``
in ``_X_AMZN_TRACE_ID``, so what the layer sends (``## handler``) hangs under
the function segment. Locally nobody else sends these documents; the MiniStack
shim (:mod:`cdk_lambda_xray.local.ministack_tracing`) builds them here. Every
document built here is marked ``emulated`` (annotation and metadata) so it is
never mistaken for AWS output. Pure functions, no I/O: unit-tested on their own.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "EMULATED_ANNOTATION",
    "EMULATED_NOTE",
    "FUNCTION_ORIGIN",
    "SERVICE_ORIGIN",
    "Invocation",
    "TraceContext",
    "async_service_segment",
    "attempt_subsegment",
    "dwell_subsegment",
    "function_segment",
    "is_emulated",
    "new_id",
    "new_trace_id",
    "parse_header",
    "recording_decision",
    "sync_service_segment",
]

SERVICE_ORIGIN: Final = "AWS::Lambda"
FUNCTION_ORIGIN: Final = "AWS::Lambda::Function"
#: Annotation key set to ``True`` on every document built here.
EMULATED_ANNOTATION: Final = "emulated"
#: Metadata (namespace ``cdk_lambda_xray``) on every document built here.
EMULATED_NOTE: Final = (
    "emulated locally by cdk-lambda-xray (MiniStack shim) in place of the AWS Lambda "
    "service's own segment; not AWS output"
)
_HEX: Final = frozenset("0123456789abcdef")
_MAX_HEADER: Final = 2048


def new_id() -> str:
    """A segment id: 16 hex digits from a secure random source."""
    return secrets.token_hex(8)


def new_trace_id(now: float | None = None) -> str:
    """A trace id: ``1-`` + 8 hex digits of epoch seconds + ``-`` + 24 random hex digits."""
    seconds = int(time.time() if now is None else now)
    return f"1-{seconds:08x}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class TraceContext:
    """A parsed ``X-Amzn-Trace-Id`` value: root, parent and sampling decision."""

    root: str
    parent: str | None = None
    sampled: str | None = None

    def header(self, parent: str | None = None) -> str:
        """The header value naming ``parent`` (default: the parent received)."""
        parts = [f"Root={self.root}"]
        chosen = parent or self.parent
        if chosen:
            parts.append(f"Parent={chosen}")
        if self.sampled is not None:
            parts.append(f"Sampled={self.sampled}")
        return ";".join(parts)


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and set(value.lower()) <= _HEX


def _is_trace_id(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 3 and parts[0] == "1" and _is_hex(parts[1], 8) and _is_hex(parts[2], 24)


def parse_header(value: object) -> TraceContext | None:
    """The trace context in a header value, or ``None`` if it is missing or malformed."""
    if not isinstance(value, str) or not value or len(value) > _MAX_HEADER:
        return None
    if not value.isascii() or not value.isprintable():
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields.setdefault(key, item)
    root = fields.get("Root", "")
    if not _is_trace_id(root):
        return None
    parent = fields.get("Parent")
    if parent is not None and not _is_hex(parent, 16):
        parent = None
    sampled = fields.get("Sampled")
    return TraceContext(root, parent, sampled if sampled in ("0", "1", "?") else None)


def recording_decision(tracing_mode: str | None, inbound: TraceContext | None) -> bool:
    """Whether Lambda records segments for an invocation.

    ``Active``: yes, unless the caller's header says ``Sampled=0``.
    ``PassThrough`` (the default): only when the caller sampled the request.
    """
    if inbound is not None and inbound.sampled == "0":
        return False
    if tracing_mode == "Active":
        return True
    return inbound is not None and inbound.sampled == "1"


@dataclass
class Invocation:
    """What the emulator knows about one invocation attempt of a function.

    ``start``/``end``: the attempt, from the request reaching the function's
    environment to its response (a cold start's ``init`` span lies inside).
    ``queued_at``: when an asynchronous invocation was accepted (``None`` when
    synchronous). ``error_type``/``error_message``: the function's error, if any.
    """

    function_name: str
    function_arn: str
    trace_id: str
    start: float
    end: float
    parent_id: str | None = None
    request_id: str | None = None
    service_id: str = field(default_factory=new_id)
    function_id: str = field(default_factory=new_id)
    attempt_id: str = field(default_factory=new_id)
    attempt: int = 1
    queued_at: float | None = None
    init: tuple[float, float] | None = None
    error_type: str | None = None
    error_message: str | None = None
    #: Refused by a concurrency limit (429): the function did not run.
    throttled: bool = False

    @property
    def asynchronous(self) -> bool:
        """Invoked through Lambda's queue (S3, SNS, ``InvocationType=Event``)."""
        return self.queued_at is not None

    @property
    def header(self) -> str:
        """The ``_X_AMZN_TRACE_ID`` value the function receives."""
        return f"Root={self.trace_id};Parent={self.function_id};Sampled=1"


def _mark(doc: dict[str, Any]) -> dict[str, Any]:
    doc["annotations"] = {EMULATED_ANNOTATION: True}
    doc["metadata"] = {"cdk_lambda_xray": {"emulated": EMULATED_NOTE}}
    return doc


def is_emulated(doc: object) -> bool:
    """Whether a document carries this module's ``emulated`` annotation."""
    if not isinstance(doc, dict):
        return False
    annotations = doc.get("annotations")
    return isinstance(annotations, dict) and annotations.get(EMULATED_ANNOTATION) is True


def _cause(error_type: str | None, message: str | None) -> dict[str, Any]:
    exception: dict[str, Any] = {"id": new_id(), "type": error_type or "Error", "remote": True}
    if message:
        exception["message"] = message[:1000]
    return {"exceptions": [exception]}


def _error_fields(doc: dict[str, Any], inv: Invocation) -> dict[str, Any]:
    if inv.throttled:
        doc["throttle"] = doc["error"] = True
        doc["http"] = {"response": {"status": 429}}
        doc["cause"] = _cause(inv.error_type or "TooManyRequestsException", inv.error_message)
    elif inv.error_type is not None or inv.error_message is not None:
        doc["fault"] = True
        doc["cause"] = _cause(inv.error_type, inv.error_message)
    return doc


def _service_base(inv: Invocation, start: float, end: float, status: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": inv.function_name,
        "id": inv.service_id,
        "trace_id": inv.trace_id,
        "start_time": start,
        "end_time": end,
        "origin": SERVICE_ORIGIN,
        "resource_arn": inv.function_arn,
        "http": {"response": {"status": status}},
        "aws": {"operation": "Invoke"},
    }
    if inv.request_id:
        doc["aws"]["request_id"] = inv.request_id
    if inv.parent_id:
        doc["parent_id"] = inv.parent_id
    return doc


def sync_service_segment(inv: Invocation) -> dict[str, Any]:
    """The ``AWS::Lambda`` segment of a synchronous invocation (whole request; 200, or 429)."""
    doc = _service_base(inv, inv.start, inv.end, 200)
    if inv.throttled:
        return _mark(_error_fields(doc, inv))
    if inv.error_type is not None or inv.error_message is not None:
        doc["error"] = True  # 200 with X-Amz-Function-Error: the caller sees an error
    return _mark(doc)


def async_service_segment(inv: Invocation, accepted_at: float) -> dict[str, Any]:
    """The ``AWS::Lambda`` segment of an asynchronous invocation: queued until the 202."""
    assert inv.queued_at is not None
    return _mark(_service_base(inv, inv.queued_at, max(accepted_at, inv.queued_at), 202))


def _standalone(
    inv: Invocation, name: str, sub_id: str, start: float, end: float
) -> dict[str, Any]:
    return {
        "name": name,
        "id": sub_id,
        "trace_id": inv.trace_id,
        "parent_id": inv.service_id,
        "type": "subsegment",
        "start_time": start,
        "end_time": max(end, start),
    }


def dwell_subsegment(inv: Invocation) -> dict[str, Any]:
    """``Dwelling Time``: from acceptance to the first attempt (asynchronous only)."""
    assert inv.queued_at is not None
    return _mark(_standalone(inv, "Dwelling Time", new_id(), inv.queued_at, inv.start))


def attempt_subsegment(inv: Invocation) -> dict[str, Any]:
    """``Attempt #n`` of an asynchronous invocation, with its status and error (or 429)."""
    doc = _standalone(inv, f"Attempt #{inv.attempt}", inv.attempt_id, inv.start, inv.end)
    doc["http"] = {"response": {"status": 200}}
    return _mark(_error_fields(doc, inv))


def function_segment(inv: Invocation) -> dict[str, Any]:
    """The ``AWS::Lambda::Function`` segment: ``Initialization`` (cold) and ``Invocation``."""
    subsegments: list[dict[str, Any]] = []
    invocation_start = inv.start
    if inv.init is not None:
        init_start, init_end = inv.init
        subsegments.append(
            {"name": "Initialization", "id": new_id(), "start_time": init_start,
             "end_time": max(init_end, init_start)}
        )  # fmt: skip
        invocation_start = max(init_end, inv.start)
    invocation = {
        "name": "Invocation",
        "id": new_id(),
        "start_time": invocation_start,
        "end_time": max(inv.end, invocation_start),
        "http": {"response": {"status": 200}},
    }
    subsegments.append(_error_fields(invocation, inv))
    doc: dict[str, Any] = {
        "name": inv.function_name,
        "id": inv.function_id,
        "trace_id": inv.trace_id,
        "parent_id": inv.attempt_id if inv.asynchronous else inv.service_id,
        "start_time": inv.init[0] if inv.init is not None else inv.start,
        "end_time": inv.end,
        "origin": FUNCTION_ORIGIN,
        "resource_arn": inv.function_arn,
        "subsegments": subsegments,
    }
    if inv.request_id:
        doc["aws"] = {"request_id": inv.request_id}
    return _mark(_error_fields(doc, inv))
