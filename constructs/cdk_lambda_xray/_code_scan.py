"""Read what a function's code shows for the layer parts: its client libraries, a compat import.

Standard library only. Directories go through the one bounded walk of code
assets (:class:`._tracers.AssetWalk`, with its entry and byte limits); what it
could not read makes the facts :attr:`~._plan_model.CodeFacts.unreadable`, and
the planner then gives the function every part. Which part a library or the
compat import calls for is the planner's (:mod:`._plan_parts`); this module
only reports what is there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from ._plan_model import CodeFacts
from ._plan_parts import PART_LIBRARIES
from ._tracers import AssetWalk, distribution_name

__all__ = ["combined", "imports_compat", "scan_directory", "scan_inline", "unreadable"]

#: ``import lambda_xray.compat``, ``from lambda_xray.compat[.x] import ...``,
#: ``importlib.import_module("lambda_xray.compat...")``: the dotted name anywhere.
_DOTTED: Final = re.compile(r"\blambda_xray\.compat\b")
#: ``from lambda_xray import compat`` (also in a parenthesized, multi-line list).
_FROM_PACKAGE: Final = re.compile(
    r"^[ \t]*from[ \t]+lambda_xray[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M
)
_COMPAT_NAME: Final = re.compile(r"\bcompat\b")

#: Where a layer's importable top level is, relative to the layer's root.
_LAYER_TOPS: Final = re.compile(r"^(?:python(?:/lib/python3\.[0-9]+/site-packages)?)?$")


def imports_compat(source: str) -> bool:
    """Whether Python ``source`` imports ``lambda_xray.compat`` (or names it)."""
    if _DOTTED.search(source):
        return True
    return any(_COMPAT_NAME.search(m.group(1)) for m in _FROM_PACKAGE.finditer(source))


def unreadable(why: str) -> CodeFacts:
    """Facts of code that could not be read: every part."""
    return CodeFacts(unreadable=why)


def scan_inline(source: str) -> CodeFacts:
    """Inline code: one module, no libraries of its own."""
    return CodeFacts(imports_compat=imports_compat(source))


def scan_directory(root: Path, what: str, *, own_code: bool) -> CodeFacts:
    """What the asset directory ``root`` holds at its top level, and (``own_code``) imports.

    A library counts where it is importable: at the root (a function's code),
    or under ``python/`` or ``python/lib/python3.X/site-packages/`` (a layer).
    ``what`` names the asset in the reason given when it cannot be read in full.
    """
    libraries: set[str] = set()
    compat = False
    walk = AssetWalk(root, PART_LIBRARIES, distributions=True)
    for entry, text in walk:
        top = _LAYER_TOPS.match(entry.parent.relative_to(root).as_posix().strip("."))
        if text is None:
            if top is not None:
                libraries.add(distribution_name(entry.name) or entry.name)
            continue
        if top is not None and entry.stem in PART_LIBRARIES:
            libraries.add(entry.stem)
        if own_code and not compat and imports_compat(text):
            compat = True
    reason = f"{what}: {walk.incomplete}" if walk.incomplete is not None else None
    return CodeFacts(frozenset(libraries), compat, reason)


def combined(facts: Iterable[CodeFacts]) -> CodeFacts:
    """The facts of a function's code and its layers together."""
    libraries: set[str] = set()
    compat = False
    reasons: list[str] = []
    for one in facts:
        libraries |= one.libraries
        compat = compat or one.imports_compat
        if one.unreadable is not None:
            reasons.append(one.unreadable)
    return CodeFacts(frozenset(libraries), compat, "; ".join(reasons) or None)
