"""Pieces every client patch shares: the one-layer guard, URL hygiene, safe calls.

The guard: requests sits on urllib3, which sits on http.client, and botocore
sits on urllib3. The outermost patched layer records the call and sets
``in_traced_call`` (to a string) for its duration; the layers below see it is
not ``None`` and pass the call straight through, so one logical call is one
subsegment, carrying one header.
"""

from __future__ import annotations

from contextvars import ContextVar

from lambda_xray import _log, _recorder
from lambda_xray.context_missing import ContextMissingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_xray._recorder import Subsegment

#: Set on every wrapper the patches install, so a method is never wrapped twice.
MARK = "__lambda_xray_wrapped__"
TRACE_HEADER = "X-Amzn-Trace-Id"
TRACE_HEADER_LOWER = "x-amzn-trace-id"

# Not None while an outer patched layer is recording the current call; for
# botocore it holds the trace header to put on every attempt ("" for none).
in_traced_call: ContextVar[str | None] = ContextVar("lambda_xray_in_traced_call", default=None)


def warn_once(key: str, message: str) -> None:
    """Log ``message`` (with the current exception, if any) the first time only."""
    _log.warning_once("patch:" + key, "lambda_xray: %s", message, exc_info=True)


def wrap(owner: Any, attr: str, make: Callable[[Any], Callable[..., Any]]) -> None:
    """Replace ``owner.attr`` by ``make(original)``, unless it is one of ours already.

    The wrapper gets :data:`MARK`, ``__wrapped__`` and the original's docstring.
    """
    original = getattr(owner, attr)
    if getattr(original, MARK, False):
        return
    wrapper: Any = make(original)
    setattr(wrapper, MARK, True)
    wrapper.__wrapped__ = original
    wrapper.__doc__ = original.__doc__
    setattr(owner, attr, wrapper)


def begin(name: str, namespace: str) -> tuple[Subsegment | None, str | None]:
    """Open a subsegment and compute the header to send with the call.

    Returns ``(None, header)`` when nothing is recorded (the header may still
    carry ``Sampled=0`` or a pass-through value). ``ContextMissingError``
    (RUNTIME_ERROR mode, the user's choice) propagates; anything else is
    contained.
    """
    try:
        sub = _recorder.begin_subsegment(name, namespace)
    except ContextMissingError:
        raise
    except Exception:
        warn_once("begin", "could not open a subsegment; call not traced")
        return None, None
    try:
        return sub, _recorder.outgoing_trace_header(sub)
    except Exception:
        warn_once("header", "could not build the outgoing trace header")
        return sub, None


def end(sub: Subsegment, status: int | None = None, error: BaseException | None = None) -> None:
    """Close ``sub``; contained like everything else here.

    An ``error`` is recorded as the cause with URLs in its messages cut down
    to ``scheme://host[:port]`` and query strings removed: client errors
    quote the request URL (an S3 object key, a query string with a token),
    which must not reach trace data.
    """
    try:
        if error is not None:
            remote = status is not None
            sub.add_exception(error, remote=remote)
            _redact_cause(sub.cause)
            if status is None or status < 400:
                sub.fault = True  # a failure without an error response
        _recorder.end_subsegment(sub, status=status)
    except Exception:
        warn_once("end", "could not close a subsegment")


def hold(sub: Subsegment) -> None:
    """Keep ``sub`` open past the patched call; the invocation's end closes it at the latest.

    For calls that end when their response is read or closed: a response the
    function never reads is still sent. Close it with :func:`end_held`.
    """
    _recorder.hold_open(sub)


def end_held(
    sub: Subsegment, status: int | None = None, error: BaseException | None = None
) -> None:
    """:func:`end` for a subsegment kept open by :func:`hold`."""
    _recorder.release_held(sub)
    end(sub, status, error)


_url_patterns: list[Any] = []


def redact(message: str) -> str:
    """``message`` with absolute URLs reduced to their origin and query strings removed."""
    if "://" not in message and "?" not in message:
        return message
    if not _url_patterns:
        import re

        _url_patterns.append(re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s\"'<>]*)[^\s\"'<>]*"))
        _url_patterns.append(re.compile(r"(/[^\s\"'<>?#]*)[?#][^\s\"'<>]*"))
    absolute, query = _url_patterns
    message = absolute.sub(lambda m: m.group(1) + m.group(2).rpartition("@")[2], message)
    return str(query.sub(r"\1", message))


def _redact_cause(cause: Any) -> None:
    if not isinstance(cause, dict):
        return  # None, or the id of an exception recorded elsewhere
    for exception in cause.get("exceptions", ()):
        message = exception.get("message")
        if isinstance(message, str):
            exception["message"] = redact(message)


def clean_url(scheme: str, host: str, port: int | None, target: str) -> str:
    """``scheme://host[:port]/path`` without userinfo, query string or fragment.

    ``target`` is what the client put on the request line: usually a path
    (``/a/b?q=1``), an absolute URL when talking to a proxy.
    """
    if "://" in target:
        scheme, _, rest = target.partition("://")
        authority, slash, path = rest.partition("/")
        authority = authority.rpartition("@")[2]
        target = slash + path
    else:
        authority = _authority(scheme, host, port)
    path = target.split("?", 1)[0].split("#", 1)[0] or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{authority}{path}"


def hostname(authority: str) -> str:
    """Host part of ``[userinfo@]host[:port]`` (IPv6 brackets removed)."""
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _authority(scheme: str, host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return host if port is None or port == default else f"{host}:{port}"
