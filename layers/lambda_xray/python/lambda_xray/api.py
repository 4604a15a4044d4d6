"""The user API: ``subsegment``, ``annotate`` and ``metadata``.

All three work on the *current* subsegment: the innermost open
``subsegment`` in this context (asyncio tasks inherit it), else the
invocation's ``## <handler>`` subsegment (also from worker threads).

During Init they record nothing, silently; in a thread or task that outlived
its invocation they apply ``AWS_XRAY_CONTEXT_MISSING``; inside an invocation
that records nothing (``Sampled=0``) they do nothing. Invalid input (an
annotation key with other characters than ``[A-Za-z0-9_]``, a list as
annotation value, the reserved metadata namespace ``AWS.``) raises
``ValueError``/``TypeError`` in ``RUNTIME_ERROR`` mode and is logged once and
ignored otherwise. A subsegment name that is not a ``str`` is used as its
text, a namespace other than ``"aws"``/``"remote"`` is dropped (one warning
each, never an error). Metadata values are kept as a bounded plain copy
taken at the call (:mod:`lambda_xray._snapshot`), so no value can cost the
document that holds it.
"""

from __future__ import annotations

from lambda_xray import _log, _recorder, config, context
from lambda_xray._snapshot import snapshot, text_of
from lambda_xray.context_missing import report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextvars import Token
    from types import TracebackType
    from typing import Any, Final, TypeVar, overload

    from lambda_xray.document import Subsegment

    F = TypeVar("F", bound=Callable[..., Any])
else:

    def overload(func: object) -> object:
        return func


__all__ = ["Scope", "annotate", "metadata", "subsegment"]

#: The namespaces X-Ray defines for subsegments (AWS SDK calls, other downstream calls).
NAMESPACES: Final = ("aws", "remote")
#: Longest metadata key or namespace accepted.
MAX_METADATA_KEY: Final = 250
MAX_NAME: Final = 200
_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
MAX_ANNOTATION_KEY: Final = 500
MAX_ANNOTATION_STRING: Final = 1000
_CO_COROUTINE: Final = 0x80  # inspect.CO_COROUTINE, without importing inspect


class Scope:
    """One ``subsegment(...)``: a context manager (sync and async) and a decorator.

    As a context manager it yields itself; :attr:`subsegment` is the open
    :class:`~lambda_xray.document.Subsegment`, or ``None`` when nothing is
    recorded. :meth:`annotate` and :meth:`metadata` act on it. An exception
    leaving the block marks the subsegment ``fault`` with the exception as
    ``cause`` and propagates unchanged. As a decorator each call opens a scope
    of its own; ``async def`` functions are awaited inside theirs.
    """

    __slots__ = ("_token", "name", "namespace", "subsegment")

    def __init__(self, name: str, namespace: str | None = None) -> None:
        self.name = _clean_name(name)
        self.namespace = _clean_namespace(namespace)
        self.subsegment: Subsegment | None = None
        self._token: Token[Subsegment | None] | None = None

    def __enter__(self) -> Scope:
        try:
            sub = _recorder.begin_subsegment(self.name, self.namespace)
        except _recorder.ContextMissingError:
            raise
        except BaseException:  # tracing never raises into the block
            sub = None
        if sub is not None:
            self._token = context.current.set(sub)
        self.subsegment = sub
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sub, token = self.subsegment, self._token
        if sub is None:
            return
        self.subsegment = self._token = None
        if token is not None:
            try:
                context.current.reset(token)
            except ValueError:  # exited in another context than it was entered in
                context.current.set(None)
        _recorder.end_subsegment(sub, error=exc if isinstance(exc, Exception) else None)

    async def __aenter__(self) -> Scope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        name, namespace = self.name, self.namespace
        code = getattr(func, "__code__", None)
        if code is not None and code.co_flags & _CO_COROUTINE:

            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                with Scope(name, namespace):
                    return await func(*args, **kwargs)

            return _wraps(traced_async, func)

        def traced(*args: Any, **kwargs: Any) -> Any:
            with Scope(name, namespace):
                return func(*args, **kwargs)

        return _wraps(traced, func)

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """Add an annotation to this scope's subsegment (see :func:`annotate`)."""
        if _valid_annotation(key, value) and self.subsegment is not None:
            self.subsegment.annotations[key] = value

    def metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Add metadata to this scope's subsegment (see :func:`metadata`)."""
        if _valid_metadata(key, namespace) and self.subsegment is not None:
            self.subsegment.metadata.setdefault(namespace, {})[key] = snapshot(value)


@overload
def subsegment(name: F, *, namespace: str | None = None) -> F: ...


@overload
def subsegment(name: str | None = None, *, namespace: str | None = None) -> Scope: ...  # noqa: F811


def subsegment(name: Any = None, *, namespace: str | None = None) -> Any:  # noqa: F811
    """Record a block or a function as a subsegment of the current one.

    ``with subsegment("resize"):``, ``async with subsegment("fetch"):``,
    ``@subsegment("resize")``, ``@subsegment()`` or plain ``@subsegment`` (the
    last two name it after the function's qualified name). ``namespace`` is
    ``"remote"`` or ``"aws"`` for a downstream call you trace by hand, and is
    usually left out.
    """
    if callable(name):
        return Scope(_name_of(name), namespace)(name)
    if name is None:
        return _Deferred(namespace)
    return Scope(name, namespace)


class _Deferred(Scope):
    """``subsegment()`` without a name: named after the function it decorates."""

    __slots__ = ()

    def __init__(self, namespace: str | None) -> None:
        super().__init__("unnamed", namespace)

    def __call__(self, func: F) -> F:
        return Scope(_name_of(func), self.namespace)(func)


def annotate(key: str, value: str | int | float | bool) -> None:
    """Add an indexed annotation to the current subsegment.

    ``key``: 1-500 characters of ``[A-Za-z0-9_]``; ``value``: a string of at
    most 1000 characters, an int, a finite float or a bool. X-Ray indexes up
    to 50 annotations per trace; use them for what you will search by.
    """
    if not _valid_annotation(key, value):
        return
    sub = context.parent_for()
    if sub is not None:
        sub.annotations[key] = value
    elif context.is_missing():
        report(f"annotation {key}")


def metadata(key: str, value: Any, namespace: str = "default") -> None:
    """Add metadata (any value; not indexed) to the current subsegment.

    Values JSON cannot hold are sent as their ``repr``; a document that would
    be too large sheds its largest metadata first. The ``AWS.`` namespace
    prefix is reserved by X-Ray.
    """
    if not _valid_metadata(key, namespace):
        return
    sub = context.parent_for()
    if sub is not None:
        sub.metadata.setdefault(namespace, {})[key] = snapshot(value)
    elif context.is_missing():
        report(f"metadata {key}")


def _valid_annotation(key: object, value: object) -> bool:
    if not isinstance(key, str):
        return _bad(
            TypeError,
            "annotation-key-type",
            f"annotation key must be a str, got {type(key).__name__}",
        )
    if not 0 < len(key) <= MAX_ANNOTATION_KEY or not _KEY_CHARS.issuperset(key):
        return _bad(
            ValueError,
            "annotation-key",
            f"annotation key {key[:100]!r} must be 1-{MAX_ANNOTATION_KEY} characters of "
            "A-Z, a-z, 0-9 and _",
        )
    if isinstance(value, str):
        if len(value) > MAX_ANNOTATION_STRING:
            return _bad(
                ValueError,
                "annotation-string",
                f"annotation {key!r}: a string value may have at most "
                f"{MAX_ANNOTATION_STRING} characters, got {len(value)}",
            )
    elif isinstance(value, float):
        if value != value or value in (_INF, -_INF):
            return _bad(
                ValueError,
                "annotation-number",
                f"annotation {key!r}: {value!r} is not a finite number",
            )
    elif not isinstance(value, int):  # bool is an int
        return _bad(
            TypeError,
            "annotation-type",
            f"annotation {key!r}: value must be str, int, float or bool, "
            f"got {type(value).__name__}",
        )
    return True


_INF: Final = float("inf")


def _valid_metadata(key: object, namespace: object) -> bool:
    if not isinstance(key, str):
        return _bad(
            TypeError, "metadata-key-type", f"metadata key must be a str, got {type(key).__name__}"
        )
    if not isinstance(namespace, str):
        return _bad(
            TypeError,
            "metadata-namespace-type",
            f"metadata namespace must be a str, got {type(namespace).__name__}",
        )
    if not namespace:
        return _bad(ValueError, "metadata-namespace-empty", "metadata namespace must not be empty")
    if len(key) > MAX_METADATA_KEY or len(namespace) > MAX_METADATA_KEY:
        return _bad(
            ValueError,
            "metadata-length",
            f"metadata key and namespace may have at most {MAX_METADATA_KEY} characters",
        )
    if namespace.startswith("AWS."):
        return _bad(
            ValueError,
            "metadata-reserved",
            f"metadata namespace {namespace[:100]!r}: the prefix 'AWS.' is reserved",
        )
    return True


def _bad(kind: type[Exception], problem: str, message: str) -> bool:
    """Invalid input: raise in RUNTIME_ERROR mode, else log once per kind of ``problem``
    (not per value: keys built from data must not log on every call). Returns False."""
    settings = config.get()
    if settings.context_missing == config.RUNTIME_ERROR:
        raise kind(message)
    if not settings.disabled:
        _log.warning_once("input:" + problem, "lambda_xray: %s; ignored", message)
    return False


def _clean_name(name: object) -> str:
    """A subsegment name: a ``str`` (other values as their text, with one warning)."""
    if type(name) is str:
        return name
    _normalised("name", "subsegment name must be a str, got " + type(name).__name__)
    return text_of(name, MAX_NAME) or "unnamed"


def _clean_namespace(namespace: object) -> str | None:
    """``"aws"``, ``"remote"`` or ``None``: X-Ray knows no other namespace."""
    if namespace is None or namespace in NAMESPACES:
        return namespace
    kind = type(namespace).__name__
    shown = text_of(namespace, 50) if isinstance(namespace, str) else kind
    _normalised("namespace", f"subsegment namespace must be 'aws', 'remote' or None, got {shown!r}")
    return None


def _normalised(problem: str, message: str) -> None:
    """A user-API value the layer replaced: one warning per kind of problem, never raises."""
    try:
        if not config.get().disabled:
            _log.warning_once("input:" + problem, "lambda_xray: %s; used a safe value", message)
    except Exception:
        pass


def _name_of(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", "unnamed"))


def _wraps(wrapper: Callable[..., Any], wrapped: F) -> F:
    """``functools.wraps`` without importing functools at cold start."""
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        if hasattr(wrapped, attr):
            setattr(wrapper, attr, getattr(wrapped, attr))
    wrapper.__dict__.update(getattr(wrapped, "__dict__", {}))
    wrapper.__wrapped__ = wrapped  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
