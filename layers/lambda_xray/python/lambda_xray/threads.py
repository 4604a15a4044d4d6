"""Threads and executors carry the current subsegment to the work they run.

A thread starts with an empty ``contextvars`` context, so without help the
work handed to ``threading.Thread`` or ``ThreadPoolExecutor`` would attach to
the invocation's ``## <handler>`` subsegment instead of the ``subsegment(...)``
the user opened around it. Two methods are wrapped, once (marked, like the
client patches):

- ``threading.Thread.start`` takes the starter's current subsegment and the
  new thread runs with it;
- ``concurrent.futures.ThreadPoolExecutor.submit`` (``map`` calls it) takes it
  at submit time and the task runs with it, in whichever worker picks it up.

Only the layer's own context variables are carried (the user's stay as
Python sets them), and only when there is something to carry: outside an
invocation, before the first one, the original method runs untouched.
Work that outlives its invocation still carries it, so it never attaches to
a later invocation (it is "context missing" then, see
:mod:`lambda_xray.context`).

The patches are applied by :func:`lambda_xray.patches.install` when
``threading`` / ``concurrent.futures.thread`` is (or gets) imported; this
module imports nothing on its own, and each wrapper only looks the layer's
context up in ``sys.modules`` (absent until an invocation ran).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from lambda_xray.context import Invocation
    from lambda_xray.document import Subsegment

    Carried = tuple[Subsegment | None, Invocation | None]

__all__ = ["patch"]

#: The mark every wrapper of the layer carries (``patches._common.MARK``, whose
#: module is not imported here: it loads the recorder).
MARK = "__lambda_xray_wrapped__"
_CONTEXT = "lambda_xray.context"


def patch(module: ModuleType) -> None:
    """Wrap ``Thread.start`` or ``ThreadPoolExecutor.submit`` in ``module`` (idempotent)."""
    if module.__name__ == "threading":
        _wrap(module.Thread, "start", _wrap_start)
    elif module.__name__ == "concurrent.futures.thread":
        _wrap(module.ThreadPoolExecutor, "submit", _wrap_submit)


def _wrap(owner: Any, attr: str, make: Callable[[Any], Callable[..., Any]]) -> None:
    original = getattr(owner, attr)
    if getattr(original, MARK, False):
        return
    wrapper: Any = make(original)
    setattr(wrapper, MARK, True)
    wrapper.__wrapped__ = original
    wrapper.__doc__ = original.__doc__
    wrapper.__name__ = getattr(original, "__name__", attr)
    wrapper.__qualname__ = getattr(original, "__qualname__", attr)
    setattr(owner, attr, wrapper)


def capture() -> Carried | None:
    """What work started here must carry, or ``None`` when there is nothing.

    The current subsegment if there is one, else the invocation the work
    belongs to (one that records nothing, or the one that started this
    thread). Never raises.
    """
    context = sys.modules.get(_CONTEXT)
    if context is None:
        return None
    try:
        sub: Subsegment | None = context.current.get()
        if sub is not None:
            return sub, None
        owner: Invocation | None = context.started_in.get() or context.active
        return None if owner is None else (None, owner)
    except Exception:
        return None


def run_carried(carried: Carried, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` with the layer's context set from ``carried``, then restore it."""
    context = sys.modules[_CONTEXT]
    sub, owner = carried
    if sub is not None:
        token = context.current.set(sub)
        try:
            return func(*args, **kwargs)
        finally:
            context.current.reset(token)
    previous = context.current.set(None)
    token = context.started_in.set(owner)
    try:
        return func(*args, **kwargs)
    finally:
        context.started_in.reset(token)
        context.current.reset(previous)


# The two carriers are closures, not classes: creating a class costs a cold start
# about as much as a small module's body.


def _carried_call(carried: Carried, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` bound to what it carries; what the executor really runs."""

    def carried_call(*args: Any, **kwargs: Any) -> Any:
        return run_carried(carried, func, *args, **kwargs)

    return carried_call


def _carried_run(carried: Carried, thread: Any) -> Callable[[], None]:
    """``thread``'s ``run`` with what it carries, to be set as its ``run``; removes
    itself from the thread once run (no cycle left: it is marked, not named)."""
    run: Callable[[], Any] = thread.run

    def carried_run() -> None:
        try:
            run_carried(carried, run)
        finally:
            if getattr(thread.__dict__.get("run"), _CARRIER, False):
                del thread.__dict__["run"]

    setattr(carried_run, _CARRIER, True)
    return carried_run


_CARRIER = "_lambda_xray_carrier"


def _wrap_start(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def start(self: Any) -> None:
        carried = capture()
        if carried is None:
            return original(self)
        try:
            self.run = carrier = _carried_run(carried, self)
        except Exception:  # a Thread subclass that forbids it: started untouched
            return original(self)
        try:
            return original(self)
        except BaseException:  # not started (started twice, no threads left): undo
            if self.__dict__.get("run") is carrier:
                del self.__dict__["run"]
            raise

    return start


def _wrap_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        carried = capture()
        if carried is not None:
            fn = _carried_call(carried, fn)
        return original(self, fn, *args, **kwargs)

    return submit
