"""aiobotocore (and so aioboto3): the same ``aws`` subsegment as a botocore call.

aiobotocore's client and endpoint override botocore's methods with async
ones, so the botocore patch never sees their calls. Two class-level wraps,
as for botocore, whose recording code they use (``_start``, ``_finish``,
``_finish_error`` of :mod:`lambda_xray.patches.botocore`: one definition of
what an AWS call's subsegment holds):

- ``AioBaseClient._make_api_call``: opens the subsegment, awaits the call
  (retries included) and closes it when the awaited call completes.
- ``AioEndpoint.create_request``: called for every attempt, puts the trace
  header of the call on the request (botocore's own header wrap, reused: it
  runs before the coroutine it returns is awaited).

The current subsegment and the header travel in context variables, which
every asyncio task copies when it is created: calls made concurrently by
``asyncio.gather`` each get their own subsegment under the caller's, and each
attempt carries its own call's header. The aiohttp (or httpx) request below
is not recorded again.
"""

from __future__ import annotations

import sys

from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common
from lambda_xray.patches import botocore as _botocore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any


def patch(client_module: ModuleType) -> None:
    """Wrap ``AioBaseClient._make_api_call`` and ``AioEndpoint.create_request`` (idempotent)."""
    endpoint_module = sys.modules.get("aiobotocore.endpoint")
    if endpoint_module is None:  # aiobotocore.client imports it; this is only a fallback
        __import__("aiobotocore.endpoint")
        endpoint_module = sys.modules["aiobotocore.endpoint"]
    _common.wrap(endpoint_module.AioEndpoint, "create_request", _botocore._wrap_create_request)
    _common.wrap(client_module.AioBaseClient, "_make_api_call", _wrap_make_api_call)


def _wrap_make_api_call(original: Callable[..., Any]) -> Callable[..., Any]:
    in_call = _common.in_traced_call
    unrecorded, forwarded = _common.unrecorded, _common.forwarded
    start, finish, finish_error = _botocore._start, _botocore._finish, _botocore._finish_error

    async def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        sub = None
        try:
            invocation = unrecorded()
            if invocation is not None and self._service_model.service_name != "xray":
                # Sampled=0 (or pass-through): only the header, nothing to open.
                header = forwarded(invocation) or ""
            else:
                started = start(self, operation_name, api_params)
                if started is None:  # X-Ray's own API: not traced at any layer
                    header = ""
                else:
                    sub, header = started
        except ContextMissingError:
            raise  # RUNTIME_ERROR mode: the user asked for it
        except Exception:
            _common.warn_once("aiobotocore-start", "could not trace an AWS call")
            header = ""
        # The header for every attempt (AioEndpoint.create_request), and the
        # aiohttp request below is not recorded again.
        token = in_call.set(header)
        try:
            result = await original(self, operation_name, api_params)
        except BaseException as exc:
            if sub is not None:
                finish_error(sub, exc)
            raise
        finally:
            in_call.reset(token)
        if sub is not None:
            finish(sub, result)
        return result

    return _make_api_call
