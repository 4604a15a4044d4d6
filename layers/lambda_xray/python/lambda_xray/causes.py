"""Exception causes: the one place a subsegment's ``cause`` is built.

:func:`cause_for` turns an exception into X-Ray's ``cause``: the exception
and the ones it was raised from (``__cause__``/``__context__``, up to
:data:`MAX_CHAINED` more), each with its type, its message and its stack.
An exception already recorded in the invocation (a failed call that then
left the handler) is referenced by its id instead of being copied, so each
message is recorded once.

- **Messages** go through :func:`lambda_xray.redact.redact` (no query
  strings, credentials, object keys or request values), after being cut to
  :data:`~lambda_xray.document.MAX_MESSAGE` characters.
- **Stacks** list frames outermost first and never contain the layer's own
  frames (modules ``lambda_xray.*``). The stack of a failed client call
  (``at_call``) starts at the user's code: the frames between the layer's
  handler and the call (what called the client), then the traceback below
  the call (inside the client library). The handler's own fault starts at
  the function's handler. At most :data:`MAX_FRAMES` frames are kept, the
  innermost ones; ``truncated`` counts the others.
- **Paths** are relative, as X-Ray documents ``path``: to
  ``LAMBDA_TASK_ROOT`` (``app.py``), else to ``/opt`` for layers
  (``python/lib.py``), else to the longest ``sys.path`` directory holding
  the file (``botocore/client.py``); names like ``<frozen runpy>`` stay.

Only failures pay for any of this; the module is imported on the first one.
"""

from __future__ import annotations

import os
import sys

from lambda_xray.document import MAX_MESSAGE, new_id
from lambda_xray.redact import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, FrameType, TracebackType
    from typing import Any, Final

__all__ = ["MAX_CHAINED", "MAX_FRAMES", "cause_for", "forget", "reset"]

#: Frames kept per recorded exception (the innermost ones).
MAX_FRAMES: Final = 32
#: Chained exceptions (``__cause__``/``__context__``) recorded after the first.
MAX_CHAINED: Final = 4
#: Where layers are unpacked in Lambda; their files are recorded relative to it.
LAYERS_ROOT: Final = "/opt"
#: Set by Lambda to the function's code directory (``/var/task``).
ENV_TASK_ROOT: Final = "LAMBDA_TASK_ROOT"

_LAYER_PACKAGE: Final = __name__.partition(".")[0]  # "lambda_xray"
_LAYER_PREFIX: Final = _LAYER_PACKAGE + "."

# id(exception) -> (exception, its cause id), for the current invocation only.
# The exception is kept alive so its id() cannot be reused while it is here.
_recorded: dict[int, tuple[BaseException, str]] = {}
# co_filename -> the path recorded for it.
_paths: dict[str, str] = {}
_PATHS_SIZE: Final = 512
_roots: list[str] = []  # directories paths are made relative to, filled on first use
_cwd: list[str] = []


def forget() -> None:
    """Drop the invocation's exception registry (called when an invocation ends)."""
    _recorded.clear()


def reset() -> None:
    """Forget everything learnt (registry, working directory, path roots); for tests."""
    _recorded.clear()
    _paths.clear()
    _roots.clear()
    _cwd.clear()


def cause_for(exc: BaseException, remote: bool = False, at_call: bool = False) -> Any:
    """The ``cause`` recording ``exc``: a dict, or the id of its earlier record.

    ``remote``: the exception came from a response of the service called.
    ``at_call``: ``exc`` is being handled where a client call was made (a
    client patch), so the stack includes the code that made the call.
    """
    known = _recorded.get(id(exc))
    if known is not None and known[0] is exc:
        return known[1]
    exceptions: list[dict[str, Any]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and len(exceptions) <= MAX_CHAINED and id(current) not in seen:
        seen.add(id(current))
        first = current is exc
        entry = _describe(current, remote and first, at_call and first)
        if exceptions:
            exceptions[-1]["cause"] = entry["id"]
        exceptions.append(entry)
        chained = current.__cause__
        if chained is None and not current.__suppress_context__:
            chained = current.__context__
        current = chained
    _recorded[id(exc)] = (exc, exceptions[0]["id"])
    return {"working_directory": _working_directory(), "exceptions": exceptions}


def _describe(exc: BaseException, remote: bool, at_call: bool) -> dict[str, Any]:
    try:
        message = str.__str__(str(exc))  # a plain str, even from a subclass's __str__
    except BaseException:  # a __str__ that raises anything, even SystemExit
        message = "<exception message could not be read>"
    entry: dict[str, Any] = {
        "id": new_id(),
        "type": type(exc).__name__,
        "message": redact(message[:MAX_MESSAGE]),
    }
    if remote:
        entry["remote"] = True
    frames = _frames(exc.__traceback__, at_call)
    dropped = max(0, len(frames) - MAX_FRAMES)
    entry["stack"] = [_frame(code, line) for code, line in frames[dropped:]]
    if dropped:
        entry["truncated"] = dropped
    return entry


# -- stacks ---------------------------------------------------------------------------


def _is_layer(frame: FrameType) -> bool:
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == _LAYER_PACKAGE or name.startswith(_LAYER_PREFIX))


def _frames(tb: TracebackType | None, at_call: bool) -> list[tuple[CodeType, int | None]]:
    """``(code, line)`` outermost first: the callers (``at_call``), then the traceback."""
    frames = _callers(tb.tb_frame.f_back) if at_call and tb is not None else []
    while tb is not None:
        frame = tb.tb_frame
        if not _is_layer(frame):
            frames.append((frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _callers(frame: FrameType | None) -> list[tuple[CodeType, int | None]]:
    """The frames that led to a call, outermost first, from just inside the
    layer's handler (the outermost layer frame) down; all of them, bar the
    layer's, when no layer frame is above (a thread, a test)."""
    inner_first: list[tuple[CodeType, int | None]] = []
    below_layer = -1
    while frame is not None:
        if _is_layer(frame):
            below_layer = len(inner_first)
        else:
            inner_first.append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    if below_layer >= 0:
        del inner_first[below_layer:]
    inner_first.reverse()
    return inner_first


def _frame(code: CodeType, line: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": _path(code.co_filename), "label": code.co_name}
    if type(line) is int:
        entry["line"] = line
    return entry


# -- paths ----------------------------------------------------------------------------


def _path(filename: str) -> str:
    found = _paths.get(filename)
    if found is None:
        found = _relative(filename)
        if len(_paths) >= _PATHS_SIZE:
            _paths.clear()
        _paths[filename] = found
    return found


def _relative(filename: str) -> str:
    if not os.path.isabs(filename):
        return filename  # "<frozen runpy>", "<string>", already relative
    for root in _search_roots():
        if filename.startswith(root):
            return filename[len(root) :]
    return filename


def _search_roots() -> list[str]:
    """Task root, layers root, then ``sys.path`` directories (longest first), with a final ``/``."""
    if not _roots:
        task_root = os.environ.get(ENV_TASK_ROOT, "")
        ordered = [task_root] if os.path.isabs(task_root) else []
        ordered.append(LAYERS_ROOT)
        found = {p for p in sys.path if isinstance(p, str) and os.path.isabs(p)}
        ordered += sorted(found, key=len, reverse=True)
        roots = (os.path.join(os.path.normpath(p), "") for p in ordered)
        _roots.extend(root for root in roots if root != os.sep)
    return _roots


def _working_directory() -> str:
    if not _cwd:
        try:
            _cwd.append(os.getcwd())
        except OSError:
            _cwd.append("")
    return _cwd[0]
