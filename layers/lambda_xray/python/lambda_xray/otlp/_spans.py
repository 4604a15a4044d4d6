"""A closed subsegment as an OTLP ``Span``, and the process's ``Resource``.

The same recording the X-Ray format sends becomes one span:

- ids: the trace id is the X-Ray root without ``1-`` and the dash, the span
  id is the subsegment id, the parent span id its ``parent_id`` (for the
  handler span, ``Parent`` from the trace header);
- kind: ``SERVER`` for the invocation (``## <handler>``), ``CLIENT`` for AWS
  calls (namespace ``aws``) and other downstream calls (``remote``),
  ``INTERNAL`` for the user's own subsegments; ``flags`` as ADOT's Lambda
  exporter sets them (sampled bit, "parent is remote" known and set for the
  invocation's span);
- attributes: OpenTelemetry's semantic conventions (``rpc.*``, ``http.*``,
  ``url.full``, ``server.*``, ``db.*``, ``aws.*``) and ADOT's Application
  Signals attributes (``aws.local.*`` on every span, ``aws.remote.*`` on
  calls), the annotations under their own keys and listed in
  ``aws.xray.annotations``, the metadata as
  ``lambda_xray.metadata.<namespace>.<key>`` (the mapping:
  :mod:`lambda_xray.otlp._attributes`);
- errors: status ``ERROR`` (with ADOT's ``Type: message`` description on
  spans other than the invocation's) and one ``exception`` event per
  recorded exception (type, the redacted message, the stack as text).

``docs/layer.md`` ("OTLP output") has the full table and the differences
from ADOT's output, which ``tests/layer/test_otlp_adot_parity.py`` checks
against the real ADOT distro. A span that would not
fit one datagram is cut down (:func:`encode_span`) and says how much it lost
in ``dropped_attributes_count``/``dropped_events_count``. The exception
events (:mod:`._events`) and the cutting (:mod:`._cut`) are modules of their
own, loaded by the first span that needs them: a cold start without an error
never unmarshals them.
"""

from __future__ import annotations

from lambda_xray.header import RECORD
from lambda_xray.otlp._attributes import attributes, core_fields, extra_attributes
from lambda_xray.otlp._proto import (
    attribute,
    bytes_field,
    string_field,
    uint_field,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final

    from lambda_xray.document import Subsegment
    from lambda_xray.otlp._attributes import Attributes

    Event = tuple[int, str, str, str]

KIND_INTERNAL: Final = 1
KIND_SERVER: Final = 2
KIND_CLIENT: Final = 3
STATUS_ERROR: Final = 2

# Span.flags (field 16) as ADOT's Lambda exporter writes them: bit 0 sampled, bit 8
# "is the parent remote" known, bit 9 the parent is remote (the invocation's span).
_FLAGS: Final = {  # (sampled, remote) -> fixed32_field(16, ...): literals, nothing runs at import
    (False, False): b"\x85\x01\x00\x01\x00\x00",
    (True, False): b"\x85\x01\x01\x01\x00\x00",
    (False, True): b"\x85\x01\x00\x03\x00\x00",
    (True, True): b"\x85\x01\x01\x03\x00\x00",
}
#: ``aws.local.environment`` of a Lambda function, as ADOT sets it.
LOCAL_ENVIRONMENT: Final = "lambda:default"

#: The instrumentation scope every span is reported under.
SCOPE_NAME: Final = "lambda_xray"
#: Longest string attribute value kept when a span has to be cut down.
CUT_STRING: Final = 256
#: Longest exception message and stack text kept when a span has to be cut down.
MAX_MESSAGE: Final = 1024
MAX_STACK: Final = 8192


def otlp_trace_id(xray_trace_id: str) -> bytes:
    """``1-5759e988-bd862e3fe1be46a994272793`` -> the 16 bytes ``5759e988bd86...``."""
    return bytes.fromhex(xray_trace_id[2:10] + xray_trace_id[11:])


def span_kind(sub: Subsegment) -> int:
    """``SERVER`` for the invocation, ``CLIENT`` for downstream calls, else ``INTERNAL``."""
    invocation = sub.invocation
    if invocation is not None and getattr(invocation, "root", None) is sub:
        return KIND_SERVER
    if sub.namespace in ("aws", "remote") or getattr(sub, "sql", None):
        return KIND_CLIENT
    return KIND_INTERNAL


def span_name(sub: Subsegment, kind: int) -> str:
    """The span's name: the handler for the invocation, ``Service.Operation`` for an
    AWS call, the method for an HTTP call, else the subsegment's name."""
    name = sub.name
    if kind == KIND_SERVER:
        return name[3:] if name.startswith("## ") else name
    if sub.namespace == "aws":
        operation = sub.aws.get("operation")
        if isinstance(operation, str) and operation:
            return f"{name}.{operation}"
    request = sub.http.get("request")
    if isinstance(request, dict):
        method = request.get("method")
        if isinstance(method, str) and method:
            return method
    return name


def _nanos(seconds: object) -> int:
    if isinstance(seconds, float) and seconds == seconds and 0 <= seconds < 1e11:
        return int(seconds * 1e9)
    return 0


# -- the span ----------------------------------------------------------------------


def encode_span(
    sub: Subsegment, local: bytes, seen: dict[str, tuple[str, str, str]], limit: int
) -> bytes:
    """The ``Span`` message body for ``sub``, at most ``limit`` bytes.

    ``local`` is :func:`local_attributes` of the process. A span that does
    not fit loses, in this order: its annotation and metadata attributes
    (largest first), its exception stacks, its events, the length of its
    strings; each loss is counted in the span.
    """
    kind = span_kind(sub)
    head = _TRACE_ID_KEY + _trace_id_bytes(sub.trace_id) + _SPAN_ID_KEY + bytes.fromhex(sub.id)
    if sub.parent_id:
        head += _PARENT_ID_KEY + bytes.fromhex(sub.parent_id)
    head += _name_field(sub, kind) + _KINDS[kind]
    start = _nanos(sub.start_time)
    end = _nanos(sub.end_time) or start
    head += _START_FIELD + start.to_bytes(8, "little") + _END_FIELD + end.to_bytes(8, "little")
    core_bytes = local + core_fields(sub, kind)
    trace_header = getattr(sub.invocation, "header", None)
    sampled = trace_header is None or trace_header.mode == RECORD
    flags = _FLAGS[sampled, kind == KIND_SERVER]  # field 16, after the status (15)
    plain = not (sub.fault or sub.error or sub.annotations or sub.metadata)
    if plain and sub.cause is None:  # most calls: no events, status or extra attributes
        span = head + core_bytes + flags
        if len(span) <= limit:
            return span
    extra_fields = [attribute(9, name, value) for name, value in extra_attributes(sub)]
    found: list[Event] = []
    events = b""
    if sub.cause is not None:  # its module is loaded by the first span with a cause
        from lambda_xray.otlp._events import event_fields, exception_events

        found = exception_events(sub, seen)
        events = event_fields(found)
    status = _status(sub, kind, found) + flags
    span = head + core_bytes + b"".join(extra_fields) + events + status
    if len(span) <= limit:
        return span
    from lambda_xray.otlp._cut import cut  # loaded by the first span too large

    core, _ = attributes(sub, kind)
    return cut(head, local, core, extra_fields, found, status, limit)


# The fixed parts of a span's head, as literals (tests/layer/test_otlp_fast.py writes
# them with _proto): keys of trace_id (16 bytes), span_id and parent_span_id (8 bytes
# each), kind, and the two times (fixed64).
_TRACE_ID_KEY: Final = b"\x0a\x10"  # key(1, LEN) + length 16
_SPAN_ID_KEY: Final = b"\x12\x08"  # key(2, LEN) + length 8
_PARENT_ID_KEY: Final = b"\x22\x08"  # key(4, LEN) + length 8
_KINDS: Final = {KIND_INTERNAL: b"\x30\x01", KIND_SERVER: b"\x30\x02", KIND_CLIENT: b"\x30\x03"}
_START_KEY: Final = 0x39  # (7 << 3) | I64
_END_KEY: Final = 0x41  # (8 << 3) | I64
_START_FIELD: Final = b"\x39"
_END_FIELD: Final = b"\x41"
_last_trace: list[Any] = ["", b""]  # the last X-Ray trace id converted, and its bytes


_names: dict[tuple[str, str], bytes] = {}  # (service, operation) -> an AWS call's name field


def _name_field(sub: Subsegment, kind: int) -> bytes:
    """The span's ``name`` field; an AWS call's written once per service and operation."""
    operation = sub.aws.get("operation") if sub.namespace == "aws" else None
    if type(operation) is not str or kind == KIND_SERVER:
        return string_field(5, span_name(sub, kind))
    key = (sub.name, operation)
    found = _names.get(key)
    if found is None:
        if len(_names) >= 256:
            _names.clear()
        found = _names[key] = string_field(5, span_name(sub, kind))
    return found


def _trace_id_bytes(xray_trace_id: str) -> bytes:
    last = _last_trace
    if last[0] != xray_trace_id:
        last[1] = otlp_trace_id(xray_trace_id)
        last[0] = xray_trace_id
    return last[1]  # type: ignore[no-any-return]


def _status(sub: Subsegment, kind: int, found: list[Event]) -> bytes:
    """``ERROR`` for a failed span; but for the invocation's, ADOT's ``Type: message``."""
    if not (sub.fault or sub.error):
        return b""
    body = uint_field(3, STATUS_ERROR)
    if found and kind != KIND_SERVER:
        _, exc_type, message, _ = found[0]
        body = string_field(2, f"{exc_type[:CUT_STRING]}: {message[:MAX_MESSAGE]}") + body
    return bytes_field(15, body)


# -- the resource -----------------------------------------------------------------


# The resource attributes that never change, written: cloud.provider=aws,
# cloud.platform=aws_lambda, telemetry.sdk.name=<SCOPE_NAME>, telemetry.sdk.language=python.
_FIXED_RESOURCE: Final = (
    b"\x0a\x17\x0a\x0ecloud.provider\x12\x05\x0a\x03aws"
    b"\x0a\x1e\x0a\x0ecloud.platform\x12\x0c\x0a\x0aaws_lambda"
    b"\x0a\x23\x0a\x12telemetry.sdk.name\x12\x0d\x0a\x0blambda_xray"
    b"\x0a\x22\x0a\x16telemetry.sdk.language\x12\x08\x0a\x06python"
)
# attribute(9, "aws.local.environment", LOCAL_ENVIRONMENT), written.
_LOCAL_ENVIRONMENT_FIELD: Final = (
    b"\x4a\x29\x0a\x15aws.local.environment\x12\x10\x0a\x0elambda:default"
)


def resource(environ: Mapping[str, str], service: str) -> bytes:
    """The ``Resource`` message body: who sent the spans (read once per process)."""
    attrs: Attributes = []
    for variable, name in (
        ("AWS_REGION", "cloud.region"),
        ("AWS_LAMBDA_FUNCTION_NAME", "faas.name"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "faas.version"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "faas.instance"),
    ):
        value = environ.get(variable)
        if value:
            attrs.append((name, value))
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory.isdigit() and memory.isascii():
        attrs.append(("faas.max_memory", int(memory) * 1024 * 1024))
    group = environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
    if group:
        attrs.append(("aws.log.group.names", group))  # a string, as ADOT's Lambda layer sends it
    found = [attribute(1, name, value) for name, value in attrs]
    return attribute(1, "service.name", service) + _FIXED_RESOURCE + b"".join(found)


def local_attributes(environ: Mapping[str, str], service: str) -> bytes:
    """``aws.local.service``/``operation``/``environment``, as ADOT puts them on every span.

    The operation is ``<function name>/FunctionHandler`` (ADOT's), else the
    service name. Encoded once per process: every span carries these bytes.
    """
    function = environ.get("AWS_LAMBDA_FUNCTION_NAME")
    operation = f"{function}/FunctionHandler" if function else service
    return (
        attribute(9, "aws.local.service", service)
        + attribute(9, "aws.local.operation", operation)
        + _LOCAL_ENVIRONMENT_FIELD
    )


def scope(version: str) -> bytes:
    """The ``InstrumentationScope`` message body."""
    return string_field(1, SCOPE_NAME) + (string_field(2, version) if version else b"")
