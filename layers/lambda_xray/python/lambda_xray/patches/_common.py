"""Pieces every client patch shares: the one-layer guard, URL hygiene, safe calls.

The guard: requests sits on urllib3, which sits on http.client, and botocore
sits on urllib3. The outermost patched layer records the call and sets
``in_traced_call`` (to a string) for its duration; the layers below see it is
not ``None`` and pass the call straight through, so one logical call is one
subsegment, carrying one header.
"""

from __future__ import annotations

import sys
from _contextvars import ContextVar  # not contextvars.py: see lambda_xray.context

from lambda_xray import _recorder
from lambda_xray import context as _context
from lambda_xray.context import ContextMissingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from lambda_xray._recorder import Subsegment
    from lambda_xray.context import Invocation

#: Set on every wrapper the patches install, so a method is never wrapped twice.
MARK = "__lambda_xray_wrapped__"
TRACE_HEADER = "X-Amzn-Trace-Id"
TRACE_HEADER_LOWER = "x-amzn-trace-id"

# Not None while an outer patched layer is recording the current call; for
# botocore it holds the trace header to put on every attempt ("" for none).
in_traced_call: ContextVar[str | None] = ContextVar("lambda_xray_in_traced_call", default=None)


#: Where aws_xray_sdk lists what it patched (``patch_all()``, ``patch([...])``).
_XRAY_SDK_PATCHER = "aws_xray_sdk.core.patcher"


def xray_sdk_records(libraries: tuple[str, ...]) -> bool:
    """Whether aws_xray_sdk has patched one of ``libraries`` (its names: ``botocore``, ``httplib``).

    A function that uses aws_xray_sdk records its calls with it, under its own
    subsegments; recording them here too would show every call twice. So
    where aws_xray_sdk records a call, it wins and this layer passes the call
    through (the handler subsegment and every library it did not patch stay
    ours). Asked on every call: aws_xray_sdk may patch after this layer did.
    """
    patcher = sys.modules.get(_XRAY_SDK_PATCHER)
    if patcher is None:
        return False
    try:
        patched = patcher._PATCHED_MODULES
        return any(name in patched for name in libraries)
    except Exception:  # another aws_xray_sdk layout: record as usual
        return False


def warn_once(key: str, message: str) -> None:
    """Log ``message`` (with the current exception, if any) the first time only."""
    from lambda_xray import _log  # only when there is something to say

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


def unrecorded() -> Invocation | None:
    """The running invocation, when it records nothing and this is its own context.

    Then a call only forwards the invocation's header (``Sampled=0`` or the
    pass-through value, :meth:`Invocation.forward_header`): nothing to open,
    describe or encode, and no context-missing case to report, so the patches
    ask this first, before any per-call work. ``None`` means
    :func:`begin` decides (a recorded call, or no invocation of this context).
    """
    invocation = _context.active
    if invocation is None or invocation.root is not None or _context.current.get() is not None:
        return None
    owner = _context.started_in.get()
    return invocation if owner is None or owner is invocation else None


def begin(name: str, namespace: str) -> tuple[Subsegment | None, str | None]:
    """Open a subsegment and compute the header to send with the call.

    Returns ``(None, header)`` when nothing is recorded (the header may still
    carry ``Sampled=0`` or a pass-through value). ``ContextMissingError``
    (RUNTIME_ERROR mode, the user's choice) propagates; anything else is
    contained.
    """
    invocation = unrecorded()
    if invocation is not None:
        return None, forwarded(invocation)
    return begin_asked(name, namespace)


def begin_asked(name: str, namespace: str) -> tuple[Subsegment | None, str | None]:
    """:func:`begin` for a caller that has just asked :func:`unrecorded` (answer ``None``)."""
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


def forwarded(invocation: Invocation) -> str | None:
    """The header an :func:`unrecorded` call sends; ``None`` (warned) if it cannot be built."""
    try:
        return invocation.forward_header()
    except Exception:
        warn_once("header", "could not build the outgoing trace header")
        return None


def end(sub: Subsegment, status: int | None = None, error: BaseException | None = None) -> None:
    """Close ``sub``; contained like everything else here.

    An ``error`` is recorded as the cause the way every cause is
    (:mod:`lambda_xray.causes`: message redacted, layer frames left out),
    with the stack starting at the code that made the call.
    """
    try:
        if error is not None:
            sub.add_exception(error, remote=status is not None, at_call=True)
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


#: The attribute of a connection or response whose call's subsegment is still open.
PENDING: Final = "_lambda_xray_subsegment"


def hold_on(owner: Any, sub: Subsegment) -> None:
    """:func:`hold` ``sub`` until the call ``owner`` (connection, response) finishes.

    Whoever sees it finish takes it back with :func:`take_pending` and ends it
    with :func:`end_held`; the invocation's end sends it otherwise.
    """
    setattr(owner, PENDING, sub)
    hold(sub)


def take_pending(owner: Any) -> Subsegment | None:
    """The subsegment :func:`hold_on` left on ``owner``, removed from it (``None``: none)."""
    sub: Subsegment | None = owner.__dict__.pop(PENDING, None)
    return sub


#: (scheme, host, port, target) -> :func:`clean_url`'s answer: a function calls
#: the same few endpoints again and again, so each is worked out once.
_clean_urls: dict[tuple[str, str, int | None, str], str] = {}
_CLEAN_URLS_SIZE = 256


def clean_url(scheme: str, host: str, port: int | None, target: str) -> str:
    """``scheme://host[:port]/path`` without userinfo, query string, fragment or S3 object key.

    ``target`` is what the client put on the request line: usually a path
    (``/a/b?q=1``), an absolute URL when talking to a proxy (or the whole
    URL, for requests). The path is then redacted as every recorded URL is
    (:func:`lambda_xray.redact.url_path`). A pure function of its arguments,
    remembered for the last few hundred of them.
    """
    key = (scheme, host, port, target)
    try:
        known = _clean_urls.get(key)
    except TypeError:  # not hashable: not a str/int as documented, worked out as given
        return _clean_url(scheme, host, port, target)
    if known is None:
        known = _clean_url(scheme, host, port, target)
        if len(_clean_urls) >= _CLEAN_URLS_SIZE:
            _clean_urls.clear()
        _clean_urls[key] = known
    return known


def _clean_url(scheme: str, host: str, port: int | None, target: str) -> str:
    if "://" in target:
        scheme, _, rest = target.partition("://")
        ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
        cut = min(ends) if ends else len(rest)
        authority, target = rest[:cut].rpartition("@")[2], rest[cut:]
    else:
        authority = _authority(scheme, host.rpartition("@")[2], port)
    path = target.split("?", 1)[0].split("#", 1)[0] or "/"
    if not path.startswith("/"):
        path = "/" + path
    from lambda_xray.redact import url_path

    return f"{scheme}://{authority}{url_path(scheme, authority, path)}"


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
