"""aiohttp client: a ``remote`` subsegment per ``ClientSession._request``.

``_request`` is what every session call ends in (``get``, ``post``,
``request``, ...); it is wrapped at the class level, so
sessions created before the layer loaded are traced too, with no
``trace_configs`` to add. Redirects happen inside it: one subsegment with
the final status, every request of it carrying the header.

``_request`` returns once the response's headers arrived; the body comes
after. The subsegment ends when the whole body has arrived (the response's
``content`` reaches its end), or when the response is released or closed
(``async with`` does that), whichever is first; a response never read nor
released is closed when the invocation ends.

While aiobotocore records an AWS call, the aiohttp request it makes is not
recorded again.
"""

from __future__ import annotations

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

    from lambda_xray._recorder import Subsegment

#: Attribute of a response whose subsegment ends when its body is in or it is released.


def patch(module: ModuleType) -> None:
    """Wrap ``ClientSession._request`` (idempotent).

    ``release``/``close`` are wrapped on the responses whose body is still
    to come only (see :func:`_settle`): the others never pay for it.
    """
    from multidict import CIMultiDict  # aiohttp's own header type

    error_type = module.ClientResponseError
    _common.wrap(
        module.ClientSession,
        "_request",
        lambda original: _wrap_request(original, error_type, CIMultiDict),
    )


def _describe(session: Any, str_or_url: Any) -> tuple[str, str]:
    """Host name and ``scheme://host[:port]/path`` of the URL the session will call.

    Worked out once per (base URL, URL) the function calls: a session calls
    the same few URLs again and again.
    """
    key = (getattr(session, "_base_url", None), str_or_url)
    try:
        known = _described.get(key)
    except TypeError:  # an unhashable URL-like: worked out every time
        return _work_out(session, str_or_url)
    if known is None:
        known = _work_out(session, str_or_url)
        if len(_described) >= _DESCRIBED_SIZE:
            _described.clear()
        _described[key] = known
    return known


#: (session base URL, URL as given) -> what :func:`_describe` answers for them.
_described: dict[tuple[Any, Any], tuple[str, str]] = {}
_DESCRIBED_SIZE: Final = 256


def _work_out(session: Any, str_or_url: Any) -> tuple[str, str]:
    url = session._build_url(str_or_url)  # the session's base_url applied
    host: str | None = url.host
    if not host:
        raise ValueError("not an absolute URL")
    return host, _common.clean_url(url.scheme, host, url.port, url.raw_path)


def _with_header(headers: Any, value: str, make_headers: Any) -> Any:
    """The request's headers with the trace header set; the caller's mapping is not modified.

    No headers given (the usual case): a one-entry dict, no copy. Otherwise a
    case-insensitive copy, so a header the function set itself is replaced,
    not duplicated.
    """
    if not headers:
        return {_common.TRACE_HEADER: value}
    copy = make_headers(headers)
    copy[_common.TRACE_HEADER] = value
    return copy


def _settle(sub: Subsegment, response: Any) -> None:
    """End ``sub`` now if the body is in, else when it is or the response is released."""
    try:
        status = response.status
        if response.closed:
            _common.end(sub, status=status)
            return
        sub.http["response"] = {"status": status}  # what the invocation's end would send
        _common.hold_on(response, sub)
        response.content.on_eof(lambda: _finish_pending(response))
        for name in _FINISHING:  # this response's own: it ends the call when called
            setattr(response, name, _finishing(getattr(response, name), response))
    except Exception:
        _common.end_held(sub)


#: The response methods after which its body will never come.
_FINISHING: Final = ("release", "close")


def _finishing(method: Callable[[], Any], response: Any) -> Callable[[], Any]:
    def finishing() -> Any:
        try:
            return method()
        finally:
            if _common.PENDING in response.__dict__:
                _finish_pending(response)

    return finishing


def _finish_pending(response: Any) -> None:
    try:
        attrs = response.__dict__
        for name in _FINISHING:
            attrs.pop(name, None)  # the class's methods again (and no reference cycle)
        sub = _common.take_pending(response)
        if sub is not None:
            _common.end_held(sub, status=response.status)
    except Exception:
        _common.warn_once("aiohttp-close", "could not close a response's subsegment")


def _wrap_request(
    original: Callable[..., Any], error_type: type[BaseException], make_headers: Any
) -> Callable[..., Any]:
    """``_request`` that returns the original coroutine itself when nothing is recorded.

    ``_request`` is a coroutine function whose result aiohttp awaits; the
    wrapper is a plain function returning an awaitable. A call inside
    another recorded call, or one that only forwards the header
    (``Sampled=0``, pass-through), gets the original coroutine (with the
    header added): no extra coroutine, nothing to do when it ends. Any other
    call gets ``traced``'s coroutine, which opens the subsegment when it is
    awaited and times the call.
    """
    guard = _common.in_traced_call
    with_header = _with_header
    unrecorded, forwarded = _common.unrecorded, _common.forwarded

    def _request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        if guard.get() is not None:
            return original(self, method, str_or_url, **kwargs)
        invocation = unrecorded()
        if invocation is None:
            return traced(self, method, str_or_url, kwargs)
        header = forwarded(invocation)  # Sampled=0 or pass-through: the header only
        if header is not None:
            try:
                kwargs["headers"] = with_header(kwargs.get("headers"), header, make_headers)
            except Exception:
                _common.warn_once("aiohttp-header", "could not add the trace header")
        return original(self, method, str_or_url, **kwargs)

    async def traced(self: Any, method: str, str_or_url: Any, kwargs: dict[str, Any]) -> Any:
        try:
            name, full_url = _describe(self, str_or_url)
        except Exception:  # not a URL: aiohttp raises its own error for it
            return await original(self, method, str_or_url, **kwargs)
        sub, header = _common.begin(name, "remote")
        if header is not None:
            try:
                kwargs["headers"] = with_header(kwargs.get("headers"), header, make_headers)
            except Exception:
                _common.warn_once("aiohttp-header", "could not add the trace header")
        if sub is not None:
            sub.http["request"] = {"method": method.upper(), "url": full_url}
        token = guard.set("")
        try:
            response = await original(self, method, str_or_url, **kwargs)
        except BaseException as exc:
            if sub is not None:
                # raise_for_status=True: an error response, raised inside _request
                status = getattr(exc, "status", None) if isinstance(exc, error_type) else None
                _common.end(sub, status=status if type(status) is int else None, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _settle(sub, response)
        return response

    return _request
