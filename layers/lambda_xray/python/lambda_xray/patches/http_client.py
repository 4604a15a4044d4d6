"""http.client (and so urllib.request): a ``remote`` subsegment per request.

``HTTPConnection.request`` opens the subsegment and adds the trace header;
``HTTPConnection.getresponse`` records the status and closes it. A request
that fails before a response (connection refused, timeout) is closed as a
fault with its cause; one whose response is never asked for (no
``getresponse``) is closed when the invocation ends. Calls made while an
outer layer (requests, urllib3, botocore) records the call pass straight
through, and so do calls to the Lambda Runtime API itself (the runtime client
uses http.client to report init errors).
"""

from __future__ import annotations

import os

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType
    from typing import Any, Final

#: aws_xray_sdk's patch of this module (see ``_common.xray_sdk_records``).
_XRAY_SDK_COVERS: Final = ("httplib",)

_runtime_api: list[str | None] = []  # lazily read AWS_LAMBDA_RUNTIME_API, once


def patch(module: ModuleType) -> None:
    """Wrap ``HTTPConnection.request`` and ``HTTPConnection.getresponse`` (idempotent)."""
    connection = module.HTTPConnection
    _common.wrap(connection, "request", lambda original: _wrap_request(original, module))
    _common.wrap(connection, "getresponse", _wrap_getresponse)


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
