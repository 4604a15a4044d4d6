"""requests: a ``remote`` subsegment per ``Session.send`` (redirects included).

``Session.send`` is what ``requests.get``/``post``/... and every session call
end in. It is wrapped at the class level, so sessions created before the layer
loaded are traced too. Redirects call ``send`` again inside the first call;
the guard keeps them in the one subsegment, and the urllib3 and http.client
layers below are not recorded again.
"""

from __future__ import annotations

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final


#: aws_xray_sdk patches that record this call (see ``_common.xray_sdk_records``).
_XRAY_SDK_COVERS: Final = ("requests", "httplib")


def patch(module: ModuleType) -> None:
    """Wrap ``requests.sessions.Session.send`` (idempotent)."""
    _common.wrap(module.Session, "send", _wrap_send)


def _describe(request: Any) -> tuple[str, str]:
    url: str = request.url
    authority = url.partition("://")[2].partition("/")[0]
    return _common.hostname(authority), _common.clean_url("", "", None, url)


def _wrap_send(original: Callable[..., Any]) -> Callable[..., Any]:
    guard = _common.in_traced_call
    header_name = _common.TRACE_HEADER

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        if guard.get() is not None:
            return original(self, request, **kwargs)
        if _common.xray_sdk_records(_XRAY_SDK_COVERS):  # aws_xray_sdk records this call
            token = guard.set("")
            try:
                return original(self, request, **kwargs)
            finally:
                guard.reset(token)
        try:
            name, full_url = _describe(request)
        except Exception:
            _common.warn_once("requests-describe", "could not describe an HTTP request")
            return original(self, request, **kwargs)
        sub, header = _common.begin(name, "remote")
        if header is not None:
            try:
                request.headers[header_name] = header  # case-insensitive dict
            except Exception:
                _common.warn_once("requests-header", "could not add the trace header")
        if sub is not None:
            sub.http["request"] = {"method": request.method, "url": full_url}
        token = guard.set("")
        try:
            response = original(self, request, **kwargs)
        except BaseException as exc:
            if sub is not None:
                _common.end(sub, error=exc)
            raise
        finally:
            guard.reset(token)
        if sub is not None:
            _common.end(sub, status=getattr(response, "status_code", None))
        return response

    return send
