"""Inside MiniStack's process: carry the trace header across hops, send Lambda's segments.

Applied by :mod:`cdk_lambda_xray.local._ministack_boot` before MiniStack starts
(the only place that knows when an invocation starts and ends, whether it is a
cold start, whether it came through Lambda's queue and which attempt it is).
What each patch does, and why (MiniStack 1.5.x; ``docs/local.md``, "Connected traces"):

- **every request**: the ``X-Amzn-Trace-Id`` header of the HTTP request being
  served is kept in a context variable. MiniStack copies context variables into
  every thread it starts for the request (S3 notifications, SNS deliveries,
  ``run_reentrant``), so the header reaches the invocation it causes;
- **invocations** (``_execute_function_dispatch``, the one point every executor
  passes through): the function receives ``Root=<caller's trace>;Parent=<its
  AWS::Lambda::Function segment>;Sampled=1`` (MiniStack would start a new trace
  each time), and after it returns the ``AWS::Lambda`` and
  ``AWS::Lambda::Function`` documents (:mod:`.lambda_segments`) go to
  ``AWS_XRAY_DAEMON_ADDRESS`` over UDP, as the layer's own documents do;
- **asynchronous invocations** (``invoke_async_with_retry``: S3 notifications,
  ``InvocationType=Event``; and SNS deliveries): the time of acceptance and the
  attempt number, for ``Dwelling Time`` and ``Attempt #n``;
- **cold starts** (``Worker._spawn``: starting the process and importing the
  handler module, i.e. the code run before the handler): the ``Initialization`` span;
- **SQS**: ``SendMessage`` stores the request's header as the ``AWSTraceHeader``
  system attribute when the caller did not set one (as SQS does), and an event
  source mapping's batch is invoked under the first record's ``AWSTraceHeader``.

Nothing here may break MiniStack: every addition is guarded, and the original
function always runs exactly once.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._contract import ENV_DAEMON_ADDRESS
from .lambda_segments import (
    Invocation,
    async_service_segment,
    attempt_subsegment,
    dwell_subsegment,
    function_segment,
    new_id,
    new_trace_id,
    parse_header,
    recording_decision,
    sync_service_segment,
)
from .xray_udp import parse_daemon_address, send_documents

__all__ = ["INBOUND_HEADER", "register"]

logger = logging.getLogger("cdk_lambda_xray.ministack_tracing")

#: ``X-Amzn-Trace-Id`` of the request (or hop) that causes what runs in this context.
INBOUND_HEADER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cdk_lambda_xray_inbound_header", default=None
)


@dataclass
class _Queued:
    """One asynchronous invocation: accepted once, attempted one or more times."""

    inbound: str | None
    queued_at: float
    accepted_at: float = 0.0
    trace_id: str | None = None
    service_id: str = field(default_factory=new_id)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Current:
    """The invocation in flight in this context: the header it gets, what is recorded."""

    header: str | None
    invocation: Invocation | None = None


_QUEUED: contextvars.ContextVar[_Queued | None] = contextvars.ContextVar(
    "cdk_lambda_xray_queued", default=None
)
_CURRENT: contextvars.ContextVar[_Current | None] = contextvars.ContextVar(
    "cdk_lambda_xray_current", default=None
)
#: Set by the ``_execute_function`` wrapper; the dispatch wrapper notes it was reached.
_DISPATCHED: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "cdk_lambda_xray_dispatched", default=None
)


# -- the patches ------------------------------------------------------------------


def _tracing_mode(config: dict[str, Any]) -> str | None:
    mode = (config.get("TracingConfig") or {}).get("Mode")
    return mode if isinstance(mode, str) else None


def _begin(func: dict[str, Any], config: dict[str, Any], request_id: str) -> _Current:
    """Decide what this invocation records and which header the function gets."""
    queued = _QUEUED.get()
    inbound = parse_header(queued.inbound if queued is not None else INBOUND_HEADER.get())
    if not recording_decision(_tracing_mode(config), inbound):
        return _Current(header=inbound.header() if inbound is not None else None)
    now = time.time()
    name = str(config.get("FunctionName") or "unknown")
    arn = str(config.get("FunctionArn") or name)
    parent = inbound.parent if inbound is not None else None
    if queued is None:
        trace_id = inbound.root if inbound is not None else new_trace_id(now)
        inv = Invocation(name, arn, trace_id, now, now, parent_id=parent, request_id=request_id)
    else:
        with queued.lock:
            if queued.trace_id is None:
                queued.trace_id = inbound.root if inbound is not None else new_trace_id(now)
            queued.attempts += 1
            attempt = queued.attempts
        inv = Invocation(
            name,
            arn,
            queued.trace_id,
            now,
            now,
            parent_id=parent,
            request_id=request_id,
            service_id=queued.service_id,
            attempt=attempt,
            queued_at=queued.queued_at,
        )
    return _Current(header=inv.header, invocation=inv)


def _finish(current: _Current, result: object) -> None:
    """Record the outcome and send the Lambda service's documents."""
    inv = current.invocation
    if inv is None:
        return
    inv.end = time.time()
    if isinstance(result, dict) and result.get("error"):
        body = result.get("body")
        body = body if isinstance(body, dict) else {}
        inv.throttled = result.get("throttle") is True
        error_type = body.get("__type") if inv.throttled else body.get("errorType")
        message = body.get("message") if inv.throttled else body.get("errorMessage")
        inv.error_type = error_type if isinstance(error_type, str) else "Error"
        inv.error_message = message if isinstance(message, str) else None
    documents: list[dict[str, Any]] = []
    queued = _QUEUED.get()
    if queued is None:
        documents.append(sync_service_segment(inv))
    else:
        if inv.attempt == 1:
            documents.append(async_service_segment(inv, queued.accepted_at))
            documents.append(dwell_subsegment(inv))
        documents.append(attempt_subsegment(inv))
    if not inv.throttled:  # a throttled function never ran
        documents.append(function_segment(inv))
    send_documents(documents, parse_daemon_address(os.environ.get(ENV_DAEMON_ADDRESS)))


def _wrap_dispatch(original: Callable[..., Any]) -> Callable[..., Any]:
    def dispatch(
        func: dict[str, Any], config: dict[str, Any], event: Any, request_id: str, started: float
    ) -> Any:
        try:
            current: _Current | None = _begin(func, config, request_id)
        except Exception:  # never break MiniStack
            logger.debug("trace emulation: begin failed", exc_info=True)
            current = None
        reached = _DISPATCHED.get()
        if reached is not None:
            reached.append(True)
        token = _CURRENT.set(current)
        try:
            result = original(func, config, event, request_id, started)
        finally:
            _CURRENT.reset(token)
        if current is not None:
            try:
                _finish(current, result)
            except Exception:
                logger.debug("trace emulation: finish failed", exc_info=True)
        return result

    return dispatch


def _wrap_execute(original: Callable[..., Any]) -> Callable[..., Any]:
    """Throttles refused before any executor runs still show as a 429 service segment."""

    def execute(func: dict[str, Any], event: Any) -> Any:
        if _DISPATCHED.get() is not None:  # re-entered (account/region scope): the outer records
            return original(func, event)
        reached: list[bool] = []
        token = _DISPATCHED.set(reached)
        try:
            result = original(func, event)
        finally:
            _DISPATCHED.reset(token)
        if not reached and isinstance(result, dict) and result.get("throttle") is True:
            try:
                config = func.get("config") or func
                _finish(_begin(func, config, ""), result)
            except Exception:
                logger.debug("trace emulation: throttle record failed", exc_info=True)
        return result

    return execute


def _wrap_trace_id(original: Callable[..., Any]) -> Callable[..., Any]:
    def trace_id_for_invocation(
        config: dict[str, Any], inbound_trace_header: str | None = None
    ) -> Any:
        current = _CURRENT.get()
        if current is not None:
            return current.header
        return original(config, inbound_trace_header)

    return trace_id_for_invocation


def _queued_call(original: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``original`` (which starts the attempts) as one asynchronous invocation."""

    def queued(*args: Any, **kwargs: Any) -> Any:
        state = _Queued(inbound=INBOUND_HEADER.get(), queued_at=time.time())
        state.accepted_at = time.time()
        token = _QUEUED.set(state)
        try:
            return original(*args, **kwargs)
        finally:
            _QUEUED.reset(token)

    return queued


def _wrap_spawn(original: Callable[..., Any]) -> Callable[..., Any]:
    def spawn(self: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.time()
        result = original(self, *args, **kwargs)
        current = _CURRENT.get()
        if current is not None and current.invocation is not None:
            current.invocation.init = (began, time.time())
        return result

    return spawn


def _wrap_send_sys_attrs(original: Callable[..., Any]) -> Callable[..., Any]:
    def build(now: float, sys_attrs_input: Any) -> Any:
        result = original(now, sys_attrs_input)
        header = INBOUND_HEADER.get()
        if isinstance(result, dict) and "AWSTraceHeader" not in result and parse_header(header):
            result["AWSTraceHeader"] = header
        return result

    return build


def _wrap_sqs_batch(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_batch(esm: Any, func_rec: Any, event: Any, *args: Any) -> Any:
        header = None
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            header = event["Records"][0]["attributes"].get("AWSTraceHeader")
        token = INBOUND_HEADER.set(header if isinstance(header, str) else None)
        try:
            return original(esm, func_rec, event, *args)
        finally:
            INBOUND_HEADER.reset(token)

    return run_batch


def _wrap_asgi(original: Callable[..., Any]) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        header = None
        if scope.get("type") == "http":
            for name, value in scope.get("headers") or ():
                if name.lower() == b"x-amzn-trace-id":
                    header = value.decode("latin-1")
        token = INBOUND_HEADER.set(header if parse_header(header) else None)
        try:
            await original(scope, receive, send)
        finally:
            INBOUND_HEADER.reset(token)

    return app


_TraceHook = tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]


def register() -> None:
    """Apply every patch above to MiniStack's modules (once; before it serves)."""
    import ministack.app as ministack_app  # type: ignore[import-untyped]
    from ministack.core import lambda_runtime  # type: ignore[import-untyped]
    from ministack.services import lambda_svc, sns, sqs  # type: ignore[import-untyped]

    hooks: list[_TraceHook] = [
        (ministack_app, "app", _wrap_asgi),
        (lambda_svc, "_execute_function", _wrap_execute),
        (lambda_svc, "_execute_function_dispatch", _wrap_dispatch),
        (lambda_svc, "_xray_trace_id_for_invocation", _wrap_trace_id),
        (lambda_svc, "invoke_async_with_retry", _queued_call),
        (lambda_svc, "_run_sqs_batch", _wrap_sqs_batch),
        (sns, "_deliver_to_lambda", _queued_call),
        (sqs, "_build_send_sys_attrs", _wrap_send_sys_attrs),
        (getattr(lambda_runtime, "Worker", lambda_runtime), "_spawn", _wrap_spawn),
        (getattr(lambda_runtime, "ProvidedWorker", lambda_runtime), "_spawn", _wrap_spawn),
    ]
    for owner, name, wrap in hooks:
        original = getattr(owner, name, None)
        if original is None:  # another MiniStack version: run without this part, say so
            where = getattr(owner, "__name__", repr(owner))
            print(
                f"cdk-lambda-xray: MiniStack has no {where}.{name}; "
                "connected traces are incomplete (docs/local.md, Connected traces)",
                file=sys.stderr,
            )
            continue
        if getattr(original, "_cdk_lambda_xray", False):
            continue
        wrapped = wrap(original)
        wrapped._cdk_lambda_xray = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapped)
