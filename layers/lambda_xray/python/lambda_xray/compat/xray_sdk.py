"""aws-xray-sdk's ``xray_recorder``, ``patch_all`` and ``patch`` on the layer's recorder.

``from lambda_xray.compat import xray_recorder, patch_all`` in place of
``from aws_xray_sdk.core import xray_recorder, patch_all``. Subsegments are
the layer's: they nest where the SDK would nest them, go out in the format
``LAMBDA_XRAY_FORMAT`` chooses, and honour ``AWS_XRAY_CONTEXT_MISSING``
exactly as the SDK does with no active segment (``LOG_ERROR``: one log line
and nothing recorded; ``RUNTIME_ERROR``: :class:`~lambda_xray.ContextMissingError`;
``IGNORE_ERROR``: nothing). Under Lambda the SDK's segment is Lambda's own
(a "facade"); here the function's work hangs under ``## <handler>``.
"""

from __future__ import annotations

from contextvars import ContextVar

from lambda_xray import _recorder, api, context
from lambda_xray.compat._support import (
    SubsegmentView,
    annotate,
    clean_namespace,
    ignored_call,
    info_once,
    metadata,
    patched_by_the_layer,
    recording_root,
    unsupported,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, Final, TypeVar

    from lambda_xray.document import Subsegment

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Recorder", "patch", "patch_all", "xray_recorder"]

#: aws-xray-sdk module names -> the module whose import the layer patches.
_SDK_MODULES: Final = {
    "botocore": "botocore.client",
    "boto3": "botocore.client",
    "requests": "requests.sessions",
    "httplib": "http.client",
    "urllib3": "urllib3.connectionpool",
}

#: Subsegments opened by ``begin_subsegment`` in this context, innermost last,
#: each with the subsegment that was current before it (``None`` entries: not recorded).
_opened: ContextVar[tuple[tuple[Subsegment | None, Subsegment | None], ...]] = ContextVar(
    "lambda_xray_compat_opened", default=()
)


class _InSubsegment(api.Scope):
    """``xray_recorder.in_subsegment(name)``: an :class:`~lambda_xray.api.Scope`
    (context manager, sync and async, and decorator) that yields a
    :class:`SubsegmentView`; as a decorator without a name it takes the
    function's ``__name__``, as aws-xray-sdk does."""

    __slots__ = ("_given",)

    def __init__(self, name: Any, namespace: str | None) -> None:
        self._given = name
        super().__init__(name or "unnamed", namespace)

    def __enter__(self) -> SubsegmentView:  # type: ignore[override]  # the SDK's view
        return SubsegmentView(super().__enter__().subsegment)

    async def __aenter__(self) -> SubsegmentView:  # type: ignore[override]
        return self.__enter__()

    def __call__(self, func: F) -> F:
        name = self._given or getattr(func, "__name__", None) or "unnamed"
        return api.Scope(name, self.namespace)(func)


class Recorder:
    """The part of aws-xray-sdk's ``AWSXRayRecorder`` that Lambda functions call.

    Any other attribute is a callable that logs one warning and does nothing.
    """

    def capture(self, name: Any = None) -> Any:
        """Decorator: each call of the function is a subsegment ``name`` (default:
        the function's name). ``async def`` functions are timed until they finish."""
        if callable(name):  # @xray_recorder.capture without parentheses
            return _InSubsegment(None, None)(name)
        return _InSubsegment(name, None)

    def capture_async(self, name: Any = None) -> Any:
        """:meth:`capture` for ``async def`` functions."""
        return self.capture(name)

    def in_subsegment(self, name: Any = None, **subsegment_kwargs: Any) -> _InSubsegment:
        """``with xray_recorder.in_subsegment("name") as subsegment:``; also a decorator."""
        return _InSubsegment(name, clean_namespace(subsegment_kwargs.get("namespace")))

    def in_subsegment_async(self, name: Any = None, **subsegment_kwargs: Any) -> _InSubsegment:
        """``async with xray_recorder.in_subsegment_async("name") as subsegment:``."""
        return self.in_subsegment(name, **subsegment_kwargs)

    def begin_subsegment(self, name: Any, namespace: str = "local") -> SubsegmentView:
        """Open a subsegment and make it the current one until :meth:`end_subsegment`."""
        sub = _recorder.begin_subsegment(
            api._clean_name(name), api._clean_namespace(clean_namespace(namespace))
        )
        previous = context.current.get()
        if sub is not None:
            context.current.set(sub)
        _opened.set((*_live(_opened.get()), (sub, previous)))
        return SubsegmentView(sub)

    def end_subsegment(self, end_time: float | None = None) -> None:
        """Close and send the subsegment the last :meth:`begin_subsegment` of this
        context opened; the one current before it is current again."""
        if end_time is not None:
            unsupported("xray_recorder.end_subsegment(end_time=...)")
        opened = _live(_opened.get())
        if not opened:
            _opened.set(())
            return
        sub, previous = opened[-1]
        _opened.set(opened[:-1])
        if sub is None:
            return
        if context.current.get() is sub:
            context.current.set(previous)
        _recorder.end_subsegment(sub)

    def current_subsegment(self) -> SubsegmentView:
        """The subsegment new work attaches to here (``## <handler>`` outside any other)."""
        return SubsegmentView(_current("current_subsegment"))

    def get_trace_entity(self) -> SubsegmentView:
        """Same as :meth:`current_subsegment`."""
        return SubsegmentView(_current("get_trace_entity"))

    def current_segment(self) -> SubsegmentView:
        """The invocation's ``## <handler>`` subsegment: it stands for the SDK's
        segment, which Lambda owns (annotations on it land on ``## <handler>``)."""
        _current("current_segment")
        return SubsegmentView(recording_root())

    def put_annotation(self, key: str, value: Any) -> None:
        """Annotate the current subsegment (see :func:`lambda_xray.annotate`)."""
        annotate(key, value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Add metadata to the current subsegment (see :func:`lambda_xray.metadata`)."""
        metadata(key, value, namespace)

    def is_sampled(self) -> bool:
        """True when this invocation records."""
        return context.parent_for() is not None

    def configure(self, **settings: Any) -> None:
        """Accepted and ignored: the layer takes its settings from the environment."""
        if settings:
            info_once(
                "configure",
                "lambda_xray.compat: xray_recorder.configure(%s) is ignored; the layer's "
                "settings come from the environment (AWS_XRAY_CONTEXT_MISSING, "
                "LAMBDA_XRAY_SERVICE_NAME, ...)",
                ", ".join(sorted(settings)),
            )

    def set_trace_entity(self, trace_entity: Any) -> None:
        """Not needed (one INFO line): threads and tasks started during an invocation
        carry the current subsegment themselves."""
        _context_is_carried("set_trace_entity")

    def clear_trace_entities(self) -> None:
        """Not needed (one INFO line), see :meth:`set_trace_entity`."""
        _context_is_carried("clear_trace_entities")

    def begin_segment(self, *args: Any, **kwargs: Any) -> SubsegmentView:
        """Not in Lambda (the SDK discards it too): warns once, records nothing."""
        unsupported("xray_recorder.begin_segment()")
        return SubsegmentView(None)

    def end_segment(self, *args: Any, **kwargs: Any) -> None:
        """Not in Lambda (the SDK discards it too): warns once."""
        unsupported("xray_recorder.end_segment()")

    def in_segment(self, *args: Any, **kwargs: Any) -> _InSubsegment:
        """Not in Lambda: warns once; the block runs as a subsegment ``name``."""
        unsupported("xray_recorder.in_segment()")
        name = args[0] if args else kwargs.get("name")
        return _InSubsegment(name, None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return ignored_call(f"xray_recorder.{name}()")


def _context_is_carried(call: str) -> None:
    info_once(
        call,
        "lambda_xray.compat: xray_recorder.%s() does nothing and is not needed: threads, "
        "executors and asyncio tasks started during an invocation carry the current "
        "subsegment",
        call,
    )


def _live(
    opened: tuple[tuple[Subsegment | None, Subsegment | None], ...],
) -> tuple[tuple[Subsegment | None, Subsegment | None], ...]:
    """``opened`` without what an earlier invocation left open (never ended)."""
    active = context.active
    if all(sub is None or sub.invocation is active for sub, _ in opened):
        return opened
    return tuple(entry for entry in opened if entry[0] is None or entry[0].invocation is active)


def _current(call: str) -> Subsegment | None:
    """The current subsegment, applying the context-missing strategy when there is none."""
    sub = context.parent_for()
    if sub is None and context.is_missing():
        from lambda_xray.context_missing import report

        report(call)
    return sub


def patch_all(double_patch: bool = False) -> None:
    """Nothing to do: the layer traces the client libraries by itself."""
    info_once(
        "patch_all",
        "lambda_xray.compat: patch_all() does nothing; the layer patches the clients "
        "defined in %s by itself",
        ", ".join(patched_by_the_layer()),
    )


def patch(modules_to_patch: Iterable[str], raise_errors: bool = True, **kwargs: Any) -> None:
    """Nothing to do for the libraries the layer traces; one warning for the others."""
    info_once(
        "patch",
        "lambda_xray.compat: patch() does nothing; the layer patches the clients "
        "defined in %s by itself",
        ", ".join(patched_by_the_layer()),
    )
    for module in _untraced(modules_to_patch):
        unsupported(f"patch([{module!r}]) (the layer does not trace {module})")


def _untraced(modules: Iterable[str]) -> list[str]:
    """The names in ``modules`` (aws-xray-sdk's names) no patch of the layer covers."""
    try:
        targets = patched_by_the_layer()
        names = [modules] if isinstance(modules, str) else list(modules)
    except Exception:
        return []
    untraced = []
    for module in names:
        target = _SDK_MODULES.get(str(module))
        if target in targets:
            continue
        if any(t == module or t.startswith(f"{module}.") for t in targets):
            continue
        untraced.append(str(module))
    return untraced


#: The recorder functions use, as ``aws_xray_sdk.core.xray_recorder``.
xray_recorder = Recorder()
