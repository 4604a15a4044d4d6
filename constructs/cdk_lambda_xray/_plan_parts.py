"""Which parts of the tracing layer a function gets: the planner's rule, said once.

Standard library only (the planner's). Every traced function gets the ``core``
part; the others (:data:`._layer_parts.PARTS`) only when the function shows it
runs them:

* ``otlp`` when it sends OTLP spans (``trace_format``/``application_signals``,
  or its own ``LAMBDA_XRAY_FORMAT``; a token there counts as OTLP);
* a client part (``requests``, ``async_http``, ``databases``) when its code or
  one of its other layers ships one of the part's libraries;
* ``api`` when its code or one of its other layers names ``lambda_xray`` (the
  user API), ``compat`` when it imports ``lambda_xray.compat``;
* every part when its code could not be read (then an info finding says why),
  or when the options say ``LayerParts.ALL``; names given in the options are
  added to what the code shows;
* and with each part, the parts it requires (``compat`` needs ``api``; said in
  :data:`._layer_parts.PARTS`).
"""

from __future__ import annotations

from typing import Final

from ._layer_parts import CORE, PARTS, with_required
from ._plan_model import CodeFacts, Finding, LayerParts, Level, TracingOptions

__all__ = [
    "ALL_LAYER_PARTS",
    "ALL_PARTS_FINDING",
    "KNOWN_PART_NAMES",
    "PART_LIBRARIES",
    "choose_layer_parts",
    "layer_parts_finding",
]

#: Every part but the core, in the order the build, the ids and the docs use.
ALL_LAYER_PARTS: Final = tuple(PARTS)

#: What ``layer_parts`` accepts as a name (``core`` is always in, naming it changes nothing).
KNOWN_PART_NAMES: Final = (*ALL_LAYER_PARTS, CORE)

#: Id of the info finding that says why a function gets every part (``lambda-xray:AllLayerParts``).
ALL_PARTS_FINDING: Final = "AllLayerParts"

#: Every library a client part is chosen by (what a code scan looks for).
PART_LIBRARIES: Final = frozenset(name for part in PARTS.values() for name in part.libraries)


def layer_parts_finding(options: TracingOptions) -> Finding | None:
    """An error when ``options.layer_parts`` names something that is not a part."""
    given = options.layer_parts
    if isinstance(given, LayerParts):
        return None
    unknown = [name for name in given if name not in KNOWN_PART_NAMES]
    if not unknown:
        return None
    shown = ", ".join(repr(name) for name in unknown)
    return Finding(
        "LayerParts",
        Level.ERROR,
        f"layer_parts names {shown}, which is not a part of the tracing layer",
        f"name parts from {', '.join(ALL_LAYER_PARTS)} (core is always in), or pass "
        "LayerParts.AUTO or LayerParts.ALL",
    )


def choose_layer_parts(
    code: CodeFacts | None, options: TracingOptions, otlp: bool | None
) -> tuple[tuple[str, ...], Finding | None]:
    """The parts (besides the core) a function's layer holds, and an info finding if all.

    :param code: what the function's code shows (``None``: not looked at).
    :param otlp: whether it sends OTLP spans (``None``: not known at synth).
    """
    if options.layer_parts is LayerParts.ALL or code is None:
        return ALL_LAYER_PARTS, None
    if code.unreadable is not None:
        return ALL_LAYER_PARTS, Finding(
            ALL_PARTS_FINDING,
            Level.INFO,
            f"the tracing layer of this function holds every part ({', '.join(ALL_LAYER_PARTS)})"
            f" because its code could not be read in full: {code.unreadable}",
            "",
        )
    chosen = {name for name, part in PARTS.items() if code.libraries & set(part.libraries)}
    if otlp is not False:
        chosen.add("otlp")
    if code.uses_api:
        chosen.add("api")
    if code.imports_compat:
        chosen.add("compat")
    if not isinstance(options.layer_parts, LayerParts):
        chosen.update(name for name in options.layer_parts if name in PARTS)
    closed = with_required(chosen)
    return tuple(name for name in ALL_LAYER_PARTS if name in closed), None
