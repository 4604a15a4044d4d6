"""Powertools for AWS Lambda's ``Tracer`` on the layer's recorder.

``from lambda_xray.compat import Tracer`` in place of
``from aws_lambda_powertools import Tracer``. The layer already wraps the
handler in ``## <handler>`` with the ``ColdStart`` and ``Service``
annotations, so ``capture_lambda_handler`` opens no second one: it sets
``Service`` to the tracer's service and records the handler's response and
error as metadata on ``## <handler>``. ``capture_method`` opens
``## <module>.<qualified name>`` as Powertools does, for functions, ``async
def`` functions, generators and ``@contextlib.contextmanager`` functions.

Settings, explicit argument first: ``service`` > ``POWERTOOLS_SERVICE_NAME``
(> the service of an earlier ``Tracer``, as Powertools shares it);
``disabled`` > ``POWERTOOLS_TRACE_DISABLED``; ``capture_response`` >
``POWERTOOLS_TRACER_CAPTURE_RESPONSE`` > ``LAMBDA_XRAY_CAPTURE_RESPONSE``
(false: unlike Powertools, responses are not recorded unless asked for);
``capture_error`` > ``POWERTOOLS_TRACER_CAPTURE_ERROR`` >
``LAMBDA_XRAY_CAPTURE_ERROR`` (true; the error's type, its message is in the
cause).
"""

from __future__ import annotations

import os

from lambda_xray import _log, api, config
from lambda_xray._snapshot import snapshot
from lambda_xray.compat._support import (
    annotate,
    ignored_call,
    invocation_running,
    metadata,
    recording_root,
    unsupported,
    valid_annotation,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, ClassVar, Final

    from lambda_xray.compat.xray_sdk import Recorder

__all__ = ["Tracer"]

ENV_SERVICE: Final = "POWERTOOLS_SERVICE_NAME"
ENV_DISABLED: Final = "POWERTOOLS_TRACE_DISABLED"
ENV_CAPTURE_RESPONSE: Final = "POWERTOOLS_TRACER_CAPTURE_RESPONSE"
ENV_CAPTURE_ERROR: Final = "POWERTOOLS_TRACER_CAPTURE_ERROR"
_TRUE: Final = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE: Final = frozenset({"0", "n", "no", "f", "false", "off"})
_CO_GENERATOR: Final = 0x20  # inspect.CO_GENERATOR, without importing inspect
_CO_COROUTINE: Final = 0x80


class Tracer:
    """Powertools' ``Tracer``: ``capture_lambda_handler``, ``capture_method``,
    ``put_annotation``, ``put_metadata`` and ``patch``.

    Any other attribute is a callable that logs one warning and does nothing.
    """

    #: Powertools shares the service between ``Tracer`` instances of a process.
    _shared_service: ClassVar[str] = ""

    def __init__(
        self,
        service: str | None = None,
        disabled: bool | None = None,
        auto_patch: bool | None = None,
        patch_modules: Sequence[str] | None = None,
        provider: Any = None,
    ) -> None:
        if provider is not None:
            unsupported("Tracer(provider=...)")
        chosen = service or os.environ.get(ENV_SERVICE) or Tracer._shared_service
        if chosen:
            Tracer._shared_service = chosen
        self.service: str = chosen
        self.disabled: bool = (
            bool(disabled) if disabled is not None else _env_flag(ENV_DISABLED, False)
        )
        if patch_modules is not None and auto_patch is not False:
            self.patch(patch_modules)

    @property
    def provider(self) -> Recorder:
        """``lambda_xray.compat.xray_recorder`` (what Powertools' X-Ray provider is)."""
        from lambda_xray.compat.xray_sdk import xray_recorder

        return xray_recorder

    def put_annotation(self, key: str, value: Any) -> None:
        """Annotate the current subsegment (see :func:`lambda_xray.annotate`)."""
        if not self.disabled:
            annotate(key, value)

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Add metadata to the current subsegment, in ``namespace`` (default: the service)."""
        if not self.disabled:
            metadata(key, value, namespace or self._namespace())

    def patch(self, modules: Sequence[str] | None = None) -> None:
        """Nothing to do for the libraries the layer traces; one warning for the others."""
        from lambda_xray.compat import xray_sdk

        if modules is None:
            xray_sdk.patch_all()
        else:
            xray_sdk.patch(modules)

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Any:
        """Decorator for the handler: ``Service`` and response/error metadata on
        the layer's ``## <handler>`` (no second handler subsegment)."""
        if lambda_handler is None:
            return lambda func: self.capture_lambda_handler(func, capture_response, capture_error)
        handler = lambda_handler
        name = str(getattr(handler, "__name__", "handler"))
        response_on = _choice(capture_response, ENV_CAPTURE_RESPONSE, "capture_response")
        error_on = _choice(capture_error, ENV_CAPTURE_ERROR, "capture_error")

        def traced_handler(event: Any, context: Any, **kwargs: Any) -> Any:
            root = None if self.disabled else recording_root()
            if root is None:
                if not self.disabled and not invocation_running():
                    _not_wrapped()
                return handler(event, context, **kwargs)
            if self.service and valid_annotation("Service", self.service):
                root.annotations["Service"] = self.service
            try:
                response = handler(event, context, **kwargs)
            except Exception as err:
                if error_on:
                    _error_metadata(root.metadata, self._namespace(), name, err)
                raise
            if response_on and response is not None:
                root.metadata.setdefault(self._namespace(), {})[f"{name} response"] = snapshot(
                    response
                )
            return response

        return api._wraps(traced_handler, handler)

    def capture_method(
        self,
        method: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Any:
        """Decorator: each call is a subsegment ``## <module>.<qualified name>``."""
        if method is None:
            return lambda func: self.capture_method(func, capture_response, capture_error)
        method_name = f"{getattr(method, '__module__', '')}.{getattr(method, '__qualname__', '')}"
        capture = _Capture(
            self,
            method_name,
            _choice(capture_response, ENV_CAPTURE_RESPONSE, "capture_response"),
            _choice(capture_error, ENV_CAPTURE_ERROR, "capture_error"),
        )
        flags = _code_flags(method)
        wrapped = getattr(method, "__wrapped__", None)
        if flags & _CO_COROUTINE:
            return api._wraps(capture.coroutine(method), method)
        if flags & _CO_GENERATOR:
            return api._wraps(capture.generator(method), method)
        if wrapped is not None and _code_flags(wrapped) & _CO_GENERATOR:
            return api._wraps(capture.context_manager(method), method)
        return api._wraps(capture.function(method), method)

    def ignore_endpoint(self, hostname: str | None = None, urls: list[str] | None = None) -> None:
        """Not supported: every call the layer patches is traced. Warns once."""
        unsupported("Tracer.ignore_endpoint()")

    def _namespace(self) -> str:
        return self.service or config.get().service

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return ignored_call(f"Tracer.{name}()")


class _Capture:
    """The subsegment of one ``capture_method`` function, for each kind of function."""

    __slots__ = ("error", "name", "response", "tracer")

    def __init__(self, tracer: Tracer, name: str, response: bool, error: bool) -> None:
        self.tracer = tracer
        self.name = name
        self.response = response
        self.error = error

    def _scope(self) -> api.Scope | None:
        return None if self.tracer.disabled else api.Scope("## " + self.name)

    def _done(self, scope: api.Scope, response: Any) -> None:
        sub = scope.subsegment
        if sub is not None and self.response and response is not None:
            namespace = self.tracer._namespace()
            sub.metadata.setdefault(namespace, {})[f"{self.name} response"] = snapshot(response)

    def _failed(self, scope: api.Scope, error: Exception) -> None:
        sub = scope.subsegment
        if sub is not None and self.error:
            _error_metadata(sub.metadata, self.tracer._namespace(), self.name, error)

    def function(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def traced(*args: Any, **kwargs: Any) -> Any:
            scope = self._scope()
            if scope is None:
                return method(*args, **kwargs)
            with scope:
                try:
                    response = method(*args, **kwargs)
                except Exception as err:
                    self._failed(scope, err)
                    raise
                self._done(scope, response)
                return response

        return traced

    def coroutine(self, method: Callable[..., Any]) -> Callable[..., Any]:
        async def traced(*args: Any, **kwargs: Any) -> Any:
            scope = self._scope()
            if scope is None:
                return await method(*args, **kwargs)
            async with scope:
                try:
                    response = await method(*args, **kwargs)
                except Exception as err:
                    self._failed(scope, err)
                    raise
                self._done(scope, response)
                return response

        return traced

    def generator(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def traced(*args: Any, **kwargs: Any) -> Any:
            scope = self._scope()
            if scope is None:
                return (yield from method(*args, **kwargs))
            with scope:
                try:
                    result = yield from method(*args, **kwargs)
                except Exception as err:
                    self._failed(scope, err)
                    raise
                self._done(scope, result)
                return result

        return traced

    def context_manager(self, method: Callable[..., Any]) -> Callable[..., Any]:
        from contextlib import contextmanager

        @contextmanager
        def traced(*args: Any, **kwargs: Any) -> Iterator[Any]:
            scope = self._scope()
            if scope is None:
                with method(*args, **kwargs) as value:
                    yield value
                return
            with scope:
                try:
                    with method(*args, **kwargs) as value:
                        yield value
                except Exception as err:
                    self._failed(scope, err)
                    raise
                self._done(scope, value)

        return traced


def _not_wrapped() -> None:
    """The handler ran outside an invocation: the layer's wrapper is not in front of it."""
    try:
        _log.warning_once(
            "compat:not-wrapped",
            "lambda_xray.compat: the handler ran outside a traced invocation, so nothing is "
            "recorded: deploy the function with the layer (TracedFunction or trace_app set "
            "Handler to lambda_xray.handler.handler); see docs/migrating.md",
        )
    except Exception:  # logging failed: stay silent rather than break the function
        return


def _error_metadata(metadata: dict[str, Any], namespace: str, name: str, error: Exception) -> None:
    """Powertools' ``<name> error`` metadata: the type (the message is in the cause, redacted)."""
    metadata.setdefault(namespace, {})[f"{name} error"] = {"type": type(error).__name__}


def _code_flags(func: Any) -> int:
    code = getattr(func, "__code__", None)
    flags = getattr(code, "co_flags", 0)
    return flags if isinstance(flags, int) else 0


def _choice(explicit: bool | None, variable: str, layer_setting: str) -> bool:
    """Explicit argument > the Powertools variable > the layer's setting."""
    if explicit is not None:
        return bool(explicit)
    settings = config.get()
    default: bool = getattr(settings, layer_setting)
    return _env_flag(variable, default)


def _env_flag(variable: str, default: bool) -> bool:
    raw = os.environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    unsupported(f"{variable}={raw[:50]!r} (not a boolean)")
    return default
