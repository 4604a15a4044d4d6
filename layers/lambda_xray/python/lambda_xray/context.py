"""Which invocation is running and which subsegment is current.

The current subsegment is a ``ContextVar``, so asyncio tasks created during an
invocation follow it. Threads start with an empty context; for them the
invocation itself (a module global, set for its duration) is the fallback,
so work handed to a ``ThreadPoolExecutor`` or boto3's S3 transfer threads
attaches to the invocation's handler subsegment. A subsegment left behind in
a context (a background task that outlived its invocation) belongs to an
invocation that is no longer active and is ignored.
"""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.document import Subsegment
    from lambda_xray.header import TraceHeader


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

#: The running invocation, visible from every thread; ``None`` between invocations.
active: Invocation | None = None


def activate(invocation: Invocation | None) -> None:
    """Make ``invocation`` the running one (``None`` when it ends)."""
    global active
    active = invocation


def current_subsegment() -> Subsegment | None:
    """The subsegment to attach to here: this context's, else the invocation's root.

    ``None`` outside an invocation and in invocations that record nothing.
    """
    sub = current.get()
    invocation = active
    if sub is not None and sub.invocation is invocation and invocation is not None:
        return sub
    return invocation.root if invocation is not None else None
