"""The recording core every instrumentation point uses (handler wrapper, client patches, user API).

- :func:`begin_subsegment` / :func:`end_subsegment`: one recorded call.
- :func:`outgoing_trace_header`: the ``X-Amzn-Trace-Id`` value to send with it.
- :func:`start_invocation` / :func:`finish_invocation`: one handler invocation.

Only :func:`begin_subsegment` may raise, and only :class:`ContextMissingError`
in ``RUNTIME_ERROR`` mode (the user's choice).
"""

from __future__ import annotations

import sys
import time

from lambda_xray import config, context, document, emitter, wire
from lambda_xray import header as _header
from lambda_xray.context import ContextMissingError
from lambda_xray.document import Subsegment

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

__all__ = [
    "ContextMissingError",
    "Subsegment",
    "begin_subsegment",
    "end_subsegment",
    "finish_invocation",
    "hold_open",
    "outgoing_trace_header",
    "release_held",
    "start_invocation",
]

_cold_start = True
#: Subsegments of calls that outlive the function that started them (a response
#: whose body is read later, or never): whatever is still open when the
#: invocation finishes is closed and sent then.
_held: set[Subsegment] = set()
#: :mod:`lambda_xray.batch`, loaded by the second recorded invocation of the process
#: (the first keeps nothing: every document leaves as it closes, as it always did).
_batch: ModuleType | None = None


def begin_subsegment(name: str, namespace: str | None = None) -> Subsegment | None:
    """Open a subsegment under the current one; ``None`` when nothing is recorded.

    The subsegment does not become current (calls made while it is open do not
    nest under it); the user API's ``subsegment`` does that. During Init
    nothing is recorded, silently; outside the invocation the work belongs to
    (see :mod:`lambda_xray.context`) the context-missing strategy applies and
    may raise :class:`ContextMissingError`.
    """
    # context.current_subsegment(), inlined: this runs for every traced call.
    parent = context.current.get()
    invocation = context.active
    if parent is None or parent.invocation is not invocation or invocation is None:
        parent = context.parent_for()
        if parent is None:
            if context.is_missing():
                from lambda_xray.context_missing import report  # loaded only now

                report(name)
            return None
    try:
        return Subsegment(name, parent.trace_id, parent.id, namespace, parent.invocation, parent)
    except Exception:
        return None


def end_subsegment(
    sub: Subsegment, *, status: int | None = None, error: BaseException | None = None
) -> None:
    """Close ``sub``, set its flags from ``status``/``error`` and send it. Never raises.

    429 -> throttle + error; other 4xx -> error; 5xx -> fault; ``error`` with
    no status (or a status below 400) -> fault. ``error`` is recorded as the
    cause (``remote`` when a response was received). A second call is ignored.
    """
    try:
        if sub.end_time is not None:
            return
        end = time.time()
        if error is None and type(status) is int and 100 <= status < 400:
            # The usual HTTP call: written straight from its fields, same bytes (X-Ray
            # document, or the OTLP emitter's span: send_http_call).
            send = emitter._send_datagram or emitter.datagram_sender()
            if send is not None:
                rest = wire.http_call_rest(sub, status, end)
                if rest is not None:
                    sub.end_time = end
                    _close(sub, rest, send)
                    return
            else:
                short = getattr(emitter._emitter, "send_http_call", None)
                if short is not None and short(sub, status, end):
                    if _batch is not None:
                        _batch.flush_if_late(end)
                    return
        sub.end_time = end
        if status is not None:
            response = sub.http.get("response")
            if response is None:
                sub.http["response"] = {"status": status}
            else:
                response["status"] = status
            if status >= 500:
                sub.fault = True
            elif status == 429:
                sub.throttle = True
                sub.error = True
            elif status >= 400:
                sub.error = True
            elif error is not None:
                sub.fault = True
        elif error is not None:
            sub.fault = True
        if error is not None:
            _add_exception(sub, error, remote=status is not None)
        _send(sub, end)
    except BaseException:  # never raise into the caller's code
        pass


def _send(sub: Subsegment, end: float) -> None:
    """Send ``sub``, closed at ``end``, the general way (see :mod:`lambda_xray.batch`)."""
    send = emitter._send_datagram or emitter.datagram_sender()
    keeper = _batch
    if send is None:  # an emitter of subsegments (OTLP): it batches them itself
        emitter.emit(sub)
        if keeper is not None:
            keeper.flush_if_late(end)
        return
    rest = wire.rest_of(sub)
    if rest is not None:
        _close(sub, rest, send)
    elif keeper is None:
        send(wire.encode(sub))  # unsafe values replaced, trimmed to fit
    else:
        keeper.close(sub, None, send)


def _close(sub: Subsegment, rest: str, send: Callable[[bytes], None]) -> None:
    """Keep ``sub`` (closed; its document after the identity is ``rest``) for its
    parent's document, or send it now: in the process's first invocation,
    always now (:mod:`lambda_xray.batch` decides in the others)."""
    keeper = _batch
    if keeper is None:
        send(wire.datagram(wire.standalone(sub, rest)))
    else:
        keeper.close(sub, rest, send)


def end_aws_call(
    sub: Subsegment,
    status: int,
    request_id: object = None,
    host_id: object = None,
    retries: object = None,
) -> bool:
    """Close and send ``sub``, an AWS call that succeeded, the short way.

    With an emitter that takes X-Ray datagrams (``send_datagram``: the UDP
    one, ``testing.InMemoryEmitter``), the document is written straight from
    the call's fields (:func:`wire.aws_call_rest`: the same JSON as
    recording ``aws.request_id``/``id_2``/``retries`` and calling
    :func:`end_subsegment`) and kept or sent (:mod:`lambda_xray.batch`); an
    emitter with ``send_aws_call`` (the OTLP one) does the same with its own
    format. Returns ``False``, having changed nothing, when the general way
    must run: an emitter with neither, a subsegment already closed, or
    content or a status the short way does not cover. Never raises.
    """
    try:
        send = emitter._send_datagram or emitter.datagram_sender()
        if send is None:
            short = getattr(emitter._emitter, "send_aws_call", None)
            if short is None or sub.end_time is not None:
                return False
            end = time.time()
            if not short(sub, status, end, request_id, host_id, retries):
                return False
            if _batch is not None:
                _batch.flush_if_late(end)
            return True
        if sub.end_time is not None:
            return False
        end = time.time()
        rest = wire.aws_call_rest(sub, status, end, request_id, host_id, retries)
        if rest is None:
            return False
        sub.end_time = end
        _close(sub, rest, send)
        return True
    except Exception:
        return False


def hold_open(sub: Subsegment) -> None:
    """Close ``sub`` when its invocation finishes, unless it is closed before.

    For a call whose end is the reading of its response: a response never read
    (or never closed) still sends its subsegment, with the status recorded so
    far (``sub.http["response"]["status"]``). Call :func:`release_held` when
    closing it the usual way.
    """
    _held.add(sub)


def release_held(sub: Subsegment) -> None:
    """Forget ``sub`` held by :func:`hold_open` (it is being closed now)."""
    _held.discard(sub)


def _close_held() -> None:
    for sub in list(_held):
        _held.discard(sub)
        response = sub.http.get("response")
        status = response.get("status") if isinstance(response, dict) else None
        end_subsegment(sub, status=status if type(status) is int else None)


def outgoing_trace_header(sub: Subsegment | None) -> str | None:
    """Value for the outgoing ``X-Amzn-Trace-Id`` of a call (see the module docs).

    For a recorded call (``sub``): Root, ``Parent=<sub.id>``, ``Sampled=1`` and
    the other received fields. With ``sub`` ``None``: ``Root=...;Sampled=0;...``
    in an unsampled invocation, the header as received when it carried no
    sampling decision, ``None`` when there is no trace context.
    """
    if sub is not None:
        trace_header = getattr(sub.invocation, "header", None)
        if trace_header is not None:
            child: str = trace_header.child(sub.id)
            return child
        return f"Root={sub.trace_id};Parent={sub.id};Sampled=1"
    invocation = context.active
    if invocation is None or context.is_missing():  # not this invocation's work
        return None
    return invocation.forward_header()


# -- invocations ----------------------------------------------------------------


def reset() -> None:
    """Back to a fresh process: next invocation is a cold start, none is active."""
    global _cold_start
    _cold_start = True
    _held.clear()
    if _batch is not None:
        _batch.reset()
    context.reset()
    causes = sys.modules.get("lambda_xray.causes")
    if causes is not None:
        causes.reset()  # registry dropped; paths are made relative to what the environment says now


def start_invocation(
    handler_name: str, raw_header: str | None, lambda_context: object = None
) -> context.Invocation:
    """Begin an invocation whose trace header (``_X_AMZN_TRACE_ID``) is ``raw_header``.

    Activates the invocation. Never raises.

    When the header asks for recording, the root subsegment ``## <handler>``
    is opened with the ``ColdStart`` and ``Service`` annotations; the caller
    makes it current (``context.current``) while the handler runs. In OTLP
    mode, ``lambda_context`` (the handler's ``context``) gives the handler
    span its request id and function ARN (in X-Ray, Lambda's function
    segment carries them).
    """
    global _cold_start, _batch
    cold, _cold_start = _cold_start, False
    document.drop_unused_ids()  # fresh random ids, even in a restored snapshot
    try:
        settings = config.get()
        trace_header = None if settings.disabled else _header.parse(raw_header)
        root = None
        if trace_header is not None and _records(trace_header, settings):
            root = Subsegment("## " + handler_name, trace_header.root, trace_header.parent or "")
            root.annotations["ColdStart"] = cold
            root.annotations["Service"] = settings.service
        invocation = context.Invocation(trace_header, root)
        if root is not None:
            root.invocation = invocation
    except Exception:
        invocation = context.Invocation(None, None)
    context.activate(invocation)
    if invocation.root is not None and not cold:
        if _batch is None:
            from lambda_xray import batch

            _batch = batch
        _batch.arm(lambda_context)
    elif _batch is not None:
        _batch.disarm()
    if lambda_context is not None and invocation.root is not None:
        _note_context(invocation, lambda_context)
    return invocation


def _note_context(invocation: context.Invocation, lambda_context: object) -> None:
    """Hand the Lambda context's ids to an emitter that records them (the OTLP one)."""
    try:
        if config.get().format != config.FORMAT_OTLP:
            return
        note = getattr(emitter.get_emitter(), "note_invocation", None)
        if note is not None:
            note(
                invocation,
                getattr(lambda_context, "aws_request_id", None),
                getattr(lambda_context, "invoked_function_arn", None),
            )
    except Exception:
        pass


def _records(trace_header: _header.TraceHeader, settings: config.Config) -> bool:
    """Whether an invocation with ``trace_header`` records subsegments: when sampled,
    and in OTLP mode with ``LAMBDA_XRAY_OTLP_UNSAMPLED`` also when ``Sampled=0``
    (sent as unsampled spans; calls still propagate ``Sampled=0``) by an emitter
    that sends them as such: never as X-Ray documents, which X-Ray would store."""
    mode = trace_header.mode
    if mode == _header.RECORD:
        return True
    return (
        mode == _header.UNSAMPLED
        and settings.otlp_unsampled
        and settings.format == config.FORMAT_OTLP
        and getattr(emitter.get_emitter(), "sends_unsampled", False)
    )


def finish_invocation(
    invocation: context.Invocation,
    *,
    error: BaseException | None = None,
    response: object = None,
    has_response: bool = False,
) -> None:
    """End ``invocation``: close and send its root subsegment, deactivate it. Never raises.

    ``error`` (the handler's exception) makes the root a fault with that
    cause; the response and the error's type are added as metadata when the
    ``LAMBDA_XRAY_CAPTURE_*`` switches say so (the message is recorded once,
    in the cause). Calls still open (see :func:`hold_open`) are closed and
    sent first; calls kept for the root's document (:mod:`lambda_xray.batch`)
    leave in it, and those kept by a subsegment that never closed leave on
    their own.
    """
    try:
        if _held:
            _close_held()  # before the root, so they end within it
        root = invocation.root
        if root is not None and root.end_time is None:
            settings = config.get()
            namespace = (
                settings.service if not settings.service.startswith("AWS.") else "lambda_xray"
            )
            if error is not None:
                root.fault = True
                _add_exception(root, error)
                if settings.capture_error:
                    # The type only: the message is in the cause, once, redacted.
                    root.metadata.setdefault(namespace, {})["error"] = {
                        "type": type(error).__name__
                    }
            elif has_response and settings.capture_response:
                # A bounded plain copy: encoded once, whatever the response holds.
                from lambda_xray._snapshot import snapshot  # only with CAPTURE_RESPONSE

                root.metadata.setdefault(namespace, {})["response"] = snapshot(response)
            root.end_time = end = time.time()
            _send(root, end)
        if _batch is not None:
            _batch.finish(emitter._send_datagram)
    except Exception:
        pass
    finally:
        if context.active is invocation:
            context.activate(None)
        # The invocation's exception registry, in causes (loaded by the first failure only).
        causes = sys.modules.get("lambda_xray.causes")
        if causes is not None:
            causes.forget()


def _add_exception(sub: Subsegment, error: BaseException, remote: bool = False) -> None:
    """``sub.add_exception``, even if the exception's ``str`` raises ``SystemExit``."""
    try:
        sub.add_exception(error, remote)
    except BaseException:  # the handler's outcome must stay the user's
        sub.cause = None
