"""urllib3: a ``remote`` subsegment per ``HTTPConnectionPool.urlopen`` call.

``urlopen`` is the one method every urllib3 request goes through (``PoolManager``
and ``request()`` end there too). It calls itself for retries and redirects;
the guard makes the outermost call the only one recorded, so retries and
redirects belong to one subsegment. botocore and requests set the guard, so
their calls are recorded by their own patch, not again here.
"""

from __future__ import annotations

from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final


#: aws_xray_sdk patches that record this call (see ``_common.xray_sdk_records``).
_XRAY_SDK_COVERS: Final = ("httplib",)


def patch(module: ModuleType) -> None:
    """Wrap ``HTTPConnectionPool.urlopen`` (idempotent)."""
    _common.wrap(module.HTTPConnectionPool, "urlopen", _wrap_urlopen)


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
