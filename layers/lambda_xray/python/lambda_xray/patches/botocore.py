"""botocore (and so boto3): one ``aws`` subsegment per API call, retries included.

Two class-level wraps, so clients created before the layer loaded are traced
too (every client class derives from ``BaseClient``, every client owns an
``Endpoint``):

- ``BaseClient._make_api_call``: opens the subsegment named after the service
  id (``DynamoDB``, ``S3``, ``SQS``, ...), records operation, region, resource
  identifiers, request id, retries and status, sets the flags and closes it.
- ``Endpoint.create_request``: called for every attempt, puts the trace
  header of the current call on the request (after botocore's own recursion
  detection header, which it replaces with one naming this subsegment).

X-Ray's own API is never traced. While a call is recorded the HTTP layer
below (urllib3, http.client) is not traced again.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextvars import ContextVar

from lambda_xray.patches import _common
from lambda_xray.patches._resources import THROTTLING_CODES, ResourceExtractor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

_MARK: Final = "__lambda_xray_wrapped__"
_SKIPPED_SERVICES: Final = frozenset({"XRay"})

# The header for the call in progress in this context (None: leave as is).
_header: ContextVar[str | None] = ContextVar("lambda_xray_botocore_header", default=None)

# service name (botocore's, e.g. "dynamodb") -> (subsegment name or None to skip, extractor)
_services: dict[str, tuple[str | None, ResourceExtractor]] = {}


def patch(client_module: ModuleType) -> None:
    """Wrap ``BaseClient._make_api_call`` and ``Endpoint.create_request`` (idempotent)."""
    endpoint_module = sys.modules.get("botocore.endpoint")
    if endpoint_module is None:  # botocore.client imports it; this is only a fallback
        __import__("botocore.endpoint")
        endpoint_module = sys.modules["botocore.endpoint"]
    base_client = client_module.BaseClient
    endpoint = endpoint_module.Endpoint
    make_api_call = base_client._make_api_call
    create_request = endpoint.create_request
    if not getattr(make_api_call, _MARK, False):
        base_client._make_api_call = _wrap_make_api_call(make_api_call)
    if not getattr(create_request, _MARK, False):
        endpoint.create_request = _wrap_create_request(create_request)


def _service(client: Any) -> tuple[str | None, ResourceExtractor]:
    model = client._service_model
    key = model.service_name
    found = _services.get(key)
    if found is None:
        service_id = str(model.service_id)
        name = None if service_id in _SKIPPED_SERVICES else service_id
        found = _services[key] = (name, ResourceExtractor(service_id))
    return found


def _wrap_make_api_call(original: Callable[..., Any]) -> Callable[..., Any]:
    begin = _common.begin
    header_var = _header
    guard = _common.in_traced_call

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        try:
            name, extractor = _service(self)
        except Exception:
            _common.warn_once("botocore-service", "unknown botocore client; call not traced")
            return original(self, operation_name, api_params)
        if name is None:
            return original(self, operation_name, api_params)
        sub, header = begin(name, "aws")
        if sub is not None:
            _describe(sub, self, operation_name, api_params, extractor)
        header_token = header_var.set(header)
        guard_token = guard.set(True)
        try:
            result = original(self, operation_name, api_params)
        except BaseException as exc:
            if sub is not None:
                _finish_error(sub, exc)
            raise
        finally:
            guard.reset(guard_token)
            header_var.reset(header_token)
        if sub is not None:
            _finish(sub, result)
        return result

    setattr(_make_api_call, _MARK, True)
    _make_api_call.__wrapped__ = original  # type: ignore[attr-defined]
    _make_api_call.__doc__ = original.__doc__
    return _make_api_call


def _wrap_create_request(original: Callable[..., Any]) -> Callable[..., Any]:
    header_var = _header
    name = _common.TRACE_HEADER

    def create_request(self: Any, params: Any, operation_model: Any = None) -> Any:
        value = header_var.get()
        if value is not None:
            try:
                params["headers"][name] = value
            except Exception:
                _common.warn_once("botocore-header", "could not add the trace header")
        return original(self, params, operation_model)

    setattr(create_request, _MARK, True)
    create_request.__wrapped__ = original  # type: ignore[attr-defined]
    create_request.__doc__ = original.__doc__
    return create_request


def _describe(
    sub: Any, client: Any, operation: str, params: Any, extractor: ResourceExtractor
) -> None:
    try:
        aws = sub.aws
        aws["operation"] = operation
        region = client.meta.region_name
        if region:
            aws["region"] = region
        if extractor and isinstance(params, Mapping):
            extractor.extract(params, aws)
    except Exception:
        _common.warn_once("botocore-describe", "could not describe an AWS call")


def _record_metadata(sub: Any, response: Any) -> int | None:
    """Copy request id and retries from ``ResponseMetadata``; return the status."""
    meta = response.get("ResponseMetadata") if isinstance(response, Mapping) else None
    if not isinstance(meta, Mapping):
        return None
    aws = sub.aws
    request_id = meta.get("RequestId")
    if request_id:
        aws["request_id"] = request_id
    host_id = meta.get("HostId")
    if host_id:
        aws["id_2"] = host_id
    retries = meta.get("RetryAttempts")
    if retries is not None:
        aws["retries"] = retries
    status = meta.get("HTTPStatusCode")
    return status if type(status) is int else None


def _finish(sub: Any, result: Any) -> None:
    try:
        status = _record_metadata(sub, result)
    except Exception:
        status = None
        _common.warn_once("botocore-result", "could not read an AWS response")
    _common.end(sub, status=status)


def _finish_error(sub: Any, exc: BaseException) -> None:
    status: int | None = None
    try:
        # ClientError and its modeled subclasses carry the parsed error response.
        response = getattr(exc, "response", None)
        if isinstance(response, Mapping):
            status = _record_metadata(sub, response)
            error = response.get("Error")
            code = error.get("Code") if isinstance(error, Mapping) else None
            if code in THROTTLING_CODES:
                sub.throttle = True
                sub.error = True
    except Exception:
        _common.warn_once("botocore-error", "could not read an AWS error response")
    _common.end(sub, status=status, error=exc)
