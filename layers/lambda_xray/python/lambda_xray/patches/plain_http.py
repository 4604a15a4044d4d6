"""Plain HTTP, under every client: http.client (and so urllib.request) and urllib3.

One module for both, because a function that loads one has loaded the other
(botocore and requests sit on urllib3, which sits on http.client): one module
to load at cold start, not two. Each records a ``remote`` subsegment per
request; the guard (``_common.in_traced_call``) makes the outermost patched
layer the only one that records a call.

**http.client**: ``HTTPConnection.request`` opens the subsegment and adds the
trace header; ``HTTPConnection.getresponse`` records the status and closes
it. A request that fails before a response (connection refused, timeout) is
closed as a fault with its cause; one whose response is never asked for (no
``getresponse``) is closed when the invocation ends. Calls to the Lambda
Runtime API itself pass straight through (the runtime client uses
http.client to report init errors).

**urllib3**: ``HTTPConnectionPool.urlopen`` is the one method every urllib3
request goes through (``PoolManager`` and ``request()`` end there too). It
calls itself for retries and redirects; the guard makes the outermost call
the only one recorded, so retries and redirects belong to one subsegment.
"""

from __future__ import annotations

import os

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType
    from typing import Any, Final

#: aws_xray_sdk's patch of these modules (see ``_common.xray_sdk_records``).
_XRAY_SDK_COVERS: Final = ("httplib",)

_runtime_api: list[str | None] = []  # lazily read AWS_LAMBDA_RUNTIME_API, once


def patch(module: ModuleType) -> None:
    """Wrap ``http.client``'s ``HTTPConnection.request``/``getresponse`` or
    ``urllib3.connectionpool``'s ``HTTPConnectionPool.urlopen`` (idempotent)."""
    if module.__name__ == "urllib3.connectionpool":
        _common.wrap(module.HTTPConnectionPool, "urlopen", _wrap_urlopen)
        return
    connection = module.HTTPConnection
    _common.wrap(connection, "request", lambda original: _wrap_request(original, module))
    _common.wrap(connection, "getresponse", _wrap_getresponse)


# -- http.client ---------------------------------------------------------------------------


def _is_runtime_api(host: str, port: int | None) -> bool:
    if not _runtime_api:
        _runtime_api.append(os.environ.get("AWS_LAMBDA_RUNTIME_API"))
    api = _runtime_api[0]
    return api is not None and api == f"{host}:{port}"


def _wrap_request(original: Callable[..., Any], module: ModuleType) -> Callable[..., Any]:
    guard = _common.in_traced_call
    https = getattr(module, "HTTPSConnection", None)
    header_name = _common.TRACE_HEADER
    header_lower = _common.TRACE_HEADER_LOWER

    def request(
        self: Any,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        if headers is None:
            headers = {}
        if guard.get() is not None or _common.xray_sdk_records(_XRAY_SDK_COVERS):
            return original(self, method, url, body, headers, **kwargs)
        try:
            host = self._tunnel_host or self.host
            port = self._tunnel_port if self._tunnel_host else self.port
            if _is_runtime_api(host, port):
                return original(self, method, url, body, headers, **kwargs)
            scheme = "https" if https is not None and isinstance(self, https) else "http"
            name = host.rpartition("@")[2]  # urllib.request leaves user:password@ in it
            full_url = _common.clean_url(scheme, host, port, url)
        except Exception:
            _common.warn_once("http.client-describe", "could not describe an HTTP request")
            return original(self, method, url, body, headers, **kwargs)
        sub, header = _common.begin(name, "remote")
        if header is not None:
            try:
                headers = _WithTraceHeader(headers, header_name, header_lower, header)
            except Exception:
                _common.warn_once("http.client-header", "could not add the trace header")
        if sub is not None:
            sub.http["request"] = {"method": method, "url": full_url}
        token = guard.set("")
        try:
            original(self, method, url, body, headers, **kwargs)
        except BaseException as exc:
            if sub is not None:
                _common.end(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _common.hold_on(self, sub)  # sent at the invocation's end if getresponse never comes
        return None

    return request


class _WithTraceHeader:
    """The caller's headers, every line kept in order (repeated names too), with the
    trace header in place of any the caller set; the caller's object is not changed.

    ``HTTPConnection.request`` only iterates the names and calls ``items()``.
    """

    __slots__ = ("_lines",)

    def __init__(self, headers: Any, name: str, lower: str, value: str) -> None:
        lines = [(k, v) for k, v in headers.items() if _lower_name(k) != lower]
        lines.append((name, value))
        self._lines = lines

    def __iter__(self) -> Iterator[Any]:
        return iter([k for k, _ in self._lines])

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self._lines)

    def items(self) -> list[tuple[Any, Any]]:
        return list(self._lines)


def _lower_name(name: Any) -> Any:
    if isinstance(name, bytes):
        return name.decode("latin-1").lower()
    return name.lower()


def _wrap_getresponse(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call

    def getresponse(self: Any) -> Any:
        sub = _common.take_pending(self)
        if sub is None:
            return original(self)
        token = guard.set("")
        try:
            response = original(self)
        except BaseException as exc:
            _common.end_held(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        _common.end_held(sub, status=getattr(response, "status", None))
        return response

    return getresponse


# -- urllib3 -------------------------------------------------------------------------------


def _wrap_urlopen(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    header_name = _common.TRACE_HEADER
    header_lower = _common.TRACE_HEADER_LOWER

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if guard.get() is not None:
            return original(self, method, url, *args, **kwargs)
        if _common.xray_sdk_records(_XRAY_SDK_COVERS):  # aws_xray_sdk records this call
            token = guard.set("")
            try:
                return original(self, method, url, *args, **kwargs)
            finally:
                guard.reset(token)
        try:
            host = self.host
            full_url = _common.clean_url(self.scheme, host, self.port, url)
            name = _common.hostname(full_url.partition("://")[2].partition("/")[0])
        except Exception:
            _common.warn_once("urllib3-describe", "could not describe an HTTP request")
            return original(self, method, url, *args, **kwargs)
        sub, header = _common.begin(name, "remote")
        if header is not None:
            try:
                args, kwargs = _with_header(self, args, kwargs, header_name, header_lower, header)
            except Exception:
                _common.warn_once("urllib3-header", "could not add the trace header")
        if sub is not None:
            sub.http["request"] = {"method": method, "url": full_url}
        token = guard.set("")
        try:
            response = original(self, method, url, *args, **kwargs)
        except BaseException as exc:
            if sub is not None:
                _common.end(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _common.end(sub, status=getattr(response, "status", None))
        return response

    return urlopen


def _with_header(
    pool: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    name: str,
    lower: str,
    value: str,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return the arguments with a copy of the headers that carries the trace header.

    ``headers`` is ``urlopen``'s 4th argument (``args[1]`` here) or a keyword;
    missing means the pool's default headers. The caller's mapping is never
    modified.
    """
    positional = len(args) >= 2
    headers = args[1] if positional else kwargs.get("headers")
    if headers is None:
        headers = pool.headers
    if isinstance(headers, dict) or not hasattr(headers, "copy"):
        copied: Any = {k: v for k, v in headers.items() if k.lower() != lower}
    else:  # HTTPHeaderDict and friends: case-insensitive, keep their type
        copied = headers.copy()
    copied[name] = value
    if positional:
        return (args[0], copied, *args[2:]), kwargs
    kwargs["headers"] = copied
    return args, kwargs
