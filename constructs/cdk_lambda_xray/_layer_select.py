"""What one tracing layer version holds: its parts, and the Python whose build it carries.

``TracingLayer`` asks these two questions of its arguments and of the CDK
context; the answers are checked here, with errors that name the construct,
the value and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from constructs import Construct

from . import _bytecode, ids
from ._layer_parts import with_required
from ._plan_model import PYTHON_RUNTIME, LayerParts
from ._plan_parts import ALL_LAYER_PARTS, KNOWN_PART_NAMES
from .errors import TracingConfigError

__all__ = ["checked_parts", "python_override"]


def checked_parts(
    path: Callable[[], str], parts: Iterable[str] | LayerParts | None
) -> tuple[str, ...]:
    """``parts`` and the parts they require, as the layer's part names in their order
    (``core`` left out).

    ``path`` gives the construct path for an error (asked only then: a jsii call).
    """
    if parts is LayerParts.ALL:
        return ALL_LAYER_PARTS
    if parts is None:
        return ()
    if isinstance(parts, LayerParts):
        raise TracingConfigError(
            path(),
            f"parts={parts} is chosen per function, not for a layer",
            "pass the part names, LayerParts.ALL, or leave it out (the core alone)",
        )
    names = list(parts)
    unknown = [name for name in names if name not in KNOWN_PART_NAMES]
    if unknown:
        raise TracingConfigError(
            path(),
            f"parts names {', '.join(repr(n) for n in unknown)}, which is not a part of the "
            "tracing layer",
            f"name parts from {', '.join(ALL_LAYER_PARTS)} (core is always in), or pass "
            "LayerParts.ALL",
        )
    chosen = with_required(names)
    return tuple(name for name in ALL_LAYER_PARTS if name in chosen)


def python_override(scope: Construct, path: Callable[[], str]) -> str | None:
    """The runtime whose build every layer carries (the local emulator's), if set."""
    value = ids.context_value(scope, ids.CONTEXT_LAYER_PYTHON_OVERRIDE)
    if value is None:
        return None
    text = str(value).strip().removeprefix("python")
    name = f"python{text}"
    match = PYTHON_RUNTIME.match(name)
    if match is None or int(match["minor"]) not in _bytecode.PYTHON_MINORS:
        known = ", ".join(f"3.{minor}" for minor in _bytecode.PYTHON_MINORS)
        raise TracingConfigError(
            path(),
            f"the context value {ids.CONTEXT_LAYER_PYTHON_OVERRIDE}={value!r:.40} is not a "
            "Python the layer is built for",
            f"set it to one of {known} (the local emulator's Python), or leave it out",
        )
    return name
