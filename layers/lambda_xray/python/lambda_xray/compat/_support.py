"""What both facades share: once-only notes, and a recorded subsegment seen through
aws-xray-sdk's ``Subsegment`` methods.

Nothing here raises into the function: an unsupported call logs one warning
(naming the call and the guide's section) and does nothing.
"""

from __future__ import annotations

from lambda_xray import _log, api, context
from lambda_xray._snapshot import snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from lambda_xray.document import Subsegment

#: Where the guide lists what the compatibility API does not do.
NOT_SUPPORTED: Final = "docs/migrating.md, section 'Not supported'"


def patched_by_the_layer() -> list[str]:
    """The modules whose import makes the layer patch a client library (``botocore.client``,
    ``http.client``, ...), as :mod:`lambda_xray.patches` lists them."""
    try:
        from lambda_xray import patches

        return sorted(
            target
            for target, patch in patches._TARGETS.items()
            if patch.startswith("lambda_xray.patches.")
        )
    except Exception:
        return []


def unsupported(call: str) -> None:
    """Log once per process that ``call`` is not supported and was ignored. Never raises."""
    try:
        _log.warning_once(
            "compat:" + call,
            "lambda_xray.compat: %s is not supported by the lambda_xray layer; "
            "the call did nothing (see %s)",
            call,
            NOT_SUPPORTED,
        )
    except Exception:  # logging failed: stay silent rather than break the function
        return


def info_once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at INFO the first time ``key`` is seen (shares ``_log``'s memory,
    so ``lambda_xray.testing.reset`` forgets it too). Never raises."""
    try:
        said = _log._said
        if "compat:" + key not in said:
            said.add("compat:" + key)
            _log._logger().info(message, *args)
    except Exception:
        pass


def annotate(key: Any, value: Any) -> None:
    """:func:`lambda_xray.annotate`, but invalid input is dropped with one warning in
    every mode, as aws-xray-sdk drops it (context missing still follows its mode)."""
    try:
        api.annotate(key, value)
    except (ValueError, TypeError) as exc:
        _dropped(exc)


def metadata(key: Any, value: Any, namespace: Any = "default") -> None:
    """:func:`lambda_xray.metadata`, invalid input dropped as in :func:`annotate`."""
    try:
        api.metadata(key, value, namespace)
    except (ValueError, TypeError) as exc:
        _dropped(exc)


def valid_annotation(key: Any, value: Any) -> bool:
    """Whether ``key``/``value`` make an annotation; invalid ones are dropped (one warning)."""
    try:
        return api._valid_annotation(key, value)
    except (ValueError, TypeError) as exc:
        return _dropped(exc)


def valid_metadata(key: Any, namespace: Any) -> bool:
    """Whether ``key``/``namespace`` are valid for metadata; invalid ones are dropped."""
    try:
        return api._valid_metadata(key, namespace)
    except (ValueError, TypeError) as exc:
        return _dropped(exc)


def _dropped(exc: Exception) -> bool:
    """Say once per kind of problem (the message without its quoted values and numbers,
    so keys built from data do not log on every call) that the input was dropped."""
    try:
        kind = "".join(ch for ch in "".join(str(exc).split("'")[::2]) if not ch.isdigit())
        _log.warning_once(
            "compat:input:" + kind[:100],
            "lambda_xray.compat: %s; dropped, as aws-xray-sdk drops it",
            exc,
        )
    except Exception:  # logging failed: stay silent rather than break the function
        return False
    return False


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


def ignored_call(call: str) -> Any:
    """A callable standing in for the unsupported ``call``: warns once, returns ``None``."""
    unsupported(call)
    return _ignore


def clean_namespace(namespace: object) -> str | None:
    """aws-xray-sdk's ``"local"`` (its default) is the layer's ``None``."""
    return None if namespace in (None, "local") else str(namespace)


def recording_root() -> Subsegment | None:
    """The running invocation's ``## <handler>`` subsegment, when this context records in it."""
    invocation = context.active
    if invocation is None or context.parent_for() is None:
        return None
    return invocation.root


def invocation_running() -> bool:
    """True while an invocation runs (the handler wrapper, or ``lambda_xray.testing``)."""
    return context.active is not None


class SubsegmentView:
    """A recorded subsegment with aws-xray-sdk's ``Subsegment`` methods.

    ``put_annotation``, ``put_metadata``, ``add_exception``, the ``add_*_flag``
    methods and the ids. When nothing is recorded (``Sampled=0``, Init, context
    missing) every method does nothing and the view is falsy. Other methods
    log one warning and do nothing.
    """

    __slots__ = ("_sub",)

    def __init__(self, sub: Subsegment | None) -> None:
        self._sub = sub

    def __bool__(self) -> bool:
        return self._sub is not None

    def __repr__(self) -> str:
        return f"SubsegmentView({self._sub!r})"

    @property
    def name(self) -> str | None:
        return self._sub.name if self._sub is not None else None

    @property
    def id(self) -> str | None:
        return self._sub.id if self._sub is not None else None

    @property
    def trace_id(self) -> str | None:
        return self._sub.trace_id if self._sub is not None else None

    @property
    def parent_id(self) -> str | None:
        return self._sub.parent_id if self._sub is not None else None

    @property
    def namespace(self) -> str:
        """``"aws"``, ``"remote"`` or the SDK's ``"local"``."""
        return (self._sub.namespace if self._sub is not None else None) or "local"

    @property
    def sampled(self) -> bool:
        return self._sub is not None

    def put_annotation(self, key: str, value: Any) -> None:
        """Add an indexed annotation (the rules of :func:`lambda_xray.annotate`)."""
        if valid_annotation(key, value) and self._sub is not None:
            self._sub.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Add metadata (the rules of :func:`lambda_xray.metadata`)."""
        if valid_metadata(key, namespace) and self._sub is not None:
            self._sub.metadata.setdefault(namespace, {})[key] = snapshot(value)

    def add_exception(
        self, exception: BaseException, stack: Any = None, remote: bool = False
    ) -> None:
        """Record ``exception`` as the cause and mark the subsegment ``fault``
        (the layer takes the stack from the exception; ``stack`` is not used)."""
        sub = self._sub
        if sub is not None and isinstance(exception, BaseException):
            sub.fault = True
            sub.add_exception(exception, bool(remote))

    def add_fault_flag(self) -> None:
        if self._sub is not None:
            self._sub.fault = True

    def add_error_flag(self) -> None:
        if self._sub is not None:
            self._sub.error = True

    def add_throttle_flag(self) -> None:
        if self._sub is not None:
            self._sub.throttle = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return ignored_call(f"subsegment.{name}()")
