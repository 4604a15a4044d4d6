"""httpx, sync and async: a ``remote`` subsegment per ``Client.send`` / ``AsyncClient.send``.

``send`` is what every request of a client ends in (``get``, ``post``,
``request``, ``stream``, and the SDKs built on httpx, which build a request
and call ``send`` themselves). It is wrapped at the class level, so clients
created before the layer loaded are traced too. Redirects and authentication
round trips happen inside the one ``send``: one subsegment with the final
status, and every request of it carries the header (httpx copies the headers
onto a redirect).

When the call ends:

- a response ``send`` reads itself (the default, ``stream=False``): when
  ``send`` returns;
- a streamed response (``stream=True``, ``client.stream(...)``): when it is
  closed, which httpx also does once the body has been read to the end
  (``Response.close`` / ``Response.aclose``, wrapped);
- a streamed response never read nor closed: when the invocation ends.

While a call is recorded, a transport built on another traced library
(urllib3, requests) does not record it again; the aiobotocore patch records
its own calls and this one passes them through.
"""

from __future__ import annotations

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from lambda_xray._recorder import Subsegment
    from lambda_xray.context import Invocation


def patch(module: ModuleType) -> None:
    """Wrap ``Client.send``, ``AsyncClient.send``, ``Response.close``/``aclose`` (idempotent)."""
    response = module.Response
    _common.wrap(response, "close", _wrap_close)
    _common.wrap(response, "aclose", _wrap_aclose)
    _common.wrap(module.Client, "send", _wrap_send)
    _common.wrap(module.AsyncClient, "send", _wrap_async_send)


def _forward(request: Any, invocation: Invocation) -> None:
    """Put the header of a call not recorded (``Sampled=0``, pass-through) on ``request``."""
    header = _common.forwarded(invocation)
    if header is not None:
        _put_header(request, header)


def _put_header(request: Any, header: str) -> None:
    try:
        request.headers[_common.TRACE_HEADER] = header  # case-insensitive, replaces
    except Exception:
        _common.warn_once("httpx-header", "could not add the trace header")


def _open(request: Any) -> Subsegment | None:
    """Open the call's subsegment and put the trace header on ``request``.

    For a caller that has just asked :func:`_common.unrecorded` (answer
    ``None``). Only ``ContextMissingError`` (``RUNTIME_ERROR`` mode) propagates.
    """
    try:
        url = request.url
        name = url.host
    except Exception:
        _common.warn_once("httpx-describe", "could not describe an HTTP request")
        return None
    sub, header = _common.begin_asked(name, "remote")
    if header is not None:
        _put_header(request, header)
    if sub is not None:
        try:
            target = url.raw_path.decode("ascii", "replace")
            full_url = _common.clean_url(url.scheme, name, url.port, target)
            sub.http["request"] = {"method": request.method, "url": full_url}
        except Exception:
            _common.warn_once("httpx-describe", "could not describe an HTTP request")
    return sub


def _settle(sub: Subsegment, response: Any) -> None:
    """End ``sub`` now, or when ``response`` (streamed, still open) is closed."""
    try:
        status = response.status_code
        if response.is_closed:
            _common.end(sub, status=status)
            return
        sub.http["response"] = {"status": status}  # what the invocation's end would send
        _common.hold_on(response, sub)
    except Exception:
        _common.end(sub)


def _close_pending(response: Any) -> None:
    try:
        sub = _common.take_pending(response)
        if sub is not None:
            _common.end_held(sub, status=response.status_code)
    except Exception:
        _common.warn_once("httpx-close", "could not close a streamed response's subsegment")


def _wrap_send(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    unrecorded = _common.unrecorded

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if guard.get() is not None:
            return original(self, request, *args, **kwargs)
        invocation = unrecorded()
        if invocation is not None:  # Sampled=0 or pass-through: the header only
            _forward(request, invocation)
            sub = None
        else:
            sub = _open(request)
        token = guard.set("")
        try:
            response = original(self, request, *args, **kwargs)
        except BaseException as exc:
            if sub is not None:
                _common.end(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _settle(sub, response)
        return response

    return send


def _wrap_async_send(original: Callable[..., Any]) -> Callable[..., Any]:
    """``AsyncClient.send`` that returns the original coroutine itself when nothing is recorded.

    As for aiohttp: a call inside another recorded call, or one that only
    forwards the header (``Sampled=0``, pass-through), gets the original
    coroutine (with the header added), no extra coroutine; any other call
    gets ``traced``'s, which times the awaited call.
    """
    guard = _common.in_traced_call
    unrecorded = _common.unrecorded

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if guard.get() is not None:
            return original(self, request, *args, **kwargs)
        invocation = unrecorded()
        if invocation is not None:
            _forward(request, invocation)
            return original(self, request, *args, **kwargs)
        return traced(self, request, args, kwargs)

    async def traced(self: Any, request: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        sub = _open(request)
        token = guard.set("")
        try:
            response = await original(self, request, *args, **kwargs)
        except BaseException as exc:
            if sub is not None:
                _common.end(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _settle(sub, response)
        return response

    return send


def _wrap_close(original: Callable[..., Any]) -> Callable[..., Any]:
    def close(self: Any) -> None:
        try:
            original(self)
        finally:
            if _common.PENDING in self.__dict__:
                _close_pending(self)

    return close


def _wrap_aclose(original: Callable[..., Any]) -> Callable[..., Any]:
    async def aclose(self: Any) -> None:
        try:
            await original(self)
        finally:
            if _common.PENDING in self.__dict__:
                _close_pending(self)

    return aclose
