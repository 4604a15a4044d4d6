"""Which invocation is running, which subsegment is current, and where new work attaches.

The current subsegment is a ``ContextVar``, so asyncio tasks created during an
invocation follow it, and so do threads and ``ThreadPoolExecutor`` work
started during one (:mod:`lambda_xray.threads` carries it over). A thread
that was not given a context (started during Init, or by code the layer does
not patch) falls back to the running invocation itself (a module global, set
for its duration), so its work attaches to the ``## <handler>`` subsegment.

Three phases decide what an attempt to record means (:func:`parent_for`):

- **Init** (no invocation has started in this process yet): not traced,
  silently; never "context missing" (module-level clients, config loads).
- **An invocation is running**: the current subsegment, else its root.
- **Afterwards, outside any invocation** (a thread or task that outlived its
  invocation, whatever it carries): "context missing", handled by
  :mod:`lambda_xray.context_missing`. Work started by an ended invocation is
  never attached to a later one.
"""

from __future__ import annotations

# The C module itself: contextvars.py only re-exports it, and finding and loading that
# file costs a function that never imports it 0.43 M instructions of its cold start.
from _contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.document import Subsegment
    from lambda_xray.header import TraceHeader


class ContextMissingError(RuntimeError):
    """Raised in ``RUNTIME_ERROR`` mode when code records outside its invocation.

    Defined here, where "missing" is decided (:func:`is_missing`), so the
    recorder and the client patches can name it without loading
    :mod:`lambda_xray.context_missing`, which applies the strategy and is
    loaded only when a context is missing.
    """


class Invocation:
    """One handler invocation: its trace header and its root (handler) subsegment.

    ``root`` is ``None`` when nothing is recorded (``Sampled=0``, pass-through
    or missing header, tracing disabled).
    """

    __slots__ = ("header", "root")

    def __init__(self, trace_header: TraceHeader | None, root: Subsegment | None) -> None:
        self.header = trace_header
        self.root = root

    def forward_header(self) -> str | None:
        """Outgoing header for a call that is not recorded (see ``TraceHeader.forward``)."""
        trace_header = self.header
        if trace_header is None:
            return None
        if self.root is not None:  # recording: the caller's parent is the current subsegment
            return trace_header.child((current_subsegment() or self.root).id)
        return trace_header.forward()


#: The subsegment new subsegments attach to, in this context.
current: ContextVar[Subsegment | None] = ContextVar("lambda_xray_current", default=None)

#: The invocation that started this context's thread or task, when it carried
#: no subsegment (an invocation that records nothing); set only by
#: :mod:`lambda_xray.threads`.
started_in: ContextVar[Invocation | None] = ContextVar("lambda_xray_started_in", default=None)

#: The running invocation, visible from every thread; ``None`` between invocations.
active: Invocation | None = None

#: True once the first invocation started: before that, the process is in Init.
started = False


def activate(invocation: Invocation | None) -> None:
    """Make ``invocation`` the running one (``None`` when it ends); ends Init."""
    global active, started
    active = invocation
    if invocation is not None:
        started = True


def reset() -> None:
    """Back to Init: no invocation running, none started yet (tests, ``testing.reset``)."""
    global active, started
    active = None
    started = False


def in_init() -> bool:
    """True before the first invocation of this process started."""
    return not started


def parent_for() -> Subsegment | None:
    """The subsegment new work attaches to here, or ``None`` when nothing is recorded.

    Never reports anything; :func:`is_missing` tells whether a ``None`` is a
    missing context.
    """
    sub = current.get()
    invocation = active
    if sub is not None:
        return sub if sub.invocation is invocation and invocation is not None else None
    if invocation is None:
        return None
    owner = started_in.get()
    if owner is not None and owner is not invocation:
        return None
    return invocation.root


def is_missing() -> bool:
    """True when recording here is "context missing": after Init, outside this
    context's invocation (see the module docs)."""
    if not started:
        return False
    invocation = active
    if invocation is None:
        return True
    sub = current.get()
    if sub is not None:
        return sub.invocation is not invocation
    owner = started_in.get()
    return owner is not None and owner is not invocation


def current_subsegment() -> Subsegment | None:
    """The subsegment to attach to here (see :func:`parent_for`)."""
    return parent_for()
