"""Read what a function's code shows for the layer parts: client libraries, the user API, compat.

Standard library only. Directories go through the one bounded walk of code
assets (:class:`._tracers.AssetWalk`, with its entry and byte limits); what it
could not read makes the facts :attr:`~._plan_model.CodeFacts.unreadable`, and
the planner then gives the function every part. Which part a library, the
user API or the compat import calls for is the planner's (:mod:`._plan_parts`);
this module only reports what is there.

The ``.py`` files read are those of the function's code asset and of its other
layers' assets that the walk reads: not the modules of packages pip installed
(a ``.dist-info`` next to them), which the walk finds by name but never enters
(botocore alone is about 1,300 entries of a walk bounded at 5,000), and not the
modules of a ``lambda_xray`` package (the tracing layer's own, wherever it is).
A use of the user API only in an installed package is therefore not seen: the
layer then serves a do-nothing stand-in and logs it (docs/constructs.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from ._plan_model import CodeFacts
from ._plan_parts import PART_LIBRARIES
from ._tracers import AssetWalk, distribution_name

__all__ = [
    "combined",
    "imports_compat",
    "names_package",
    "scan_directory",
    "scan_inline",
    "unreadable",
]

#: ``import lambda_xray.compat``, ``from lambda_xray.compat[.x] import ...``,
#: ``importlib.import_module("lambda_xray.compat...")``: the dotted name anywhere.
_DOTTED: Final = re.compile(r"\blambda_xray\.compat\b")
#: ``from lambda_xray import compat`` (also in a parenthesized, multi-line list).
_FROM_PACKAGE: Final = re.compile(
    r"^[ \t]*from[ \t]+lambda_xray[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M
)
_COMPAT_NAME: Final = re.compile(r"\bcompat\b")
#: The package's name as a word anywhere (``import lambda_xray``, ``from lambda_xray.api
#: import ...``, ``import_module("lambda_xray")``, ``lambda_xray.annotate``, a comment):
#: a false positive costs the function 4 KB of download, a miss its annotations.
_PACKAGE: Final = re.compile(r"\blambda_xray\b")
#: The layer's own package, whose modules name it without being the function's code.
_LAYER_PACKAGE: Final = "lambda_xray"

#: Where a layer's importable top level is, relative to the layer's root.
_LAYER_TOPS: Final = re.compile(r"^(?:python(?:/lib/python3\.[0-9]+/site-packages)?)?$")


def imports_compat(source: str) -> bool:
    """Whether Python ``source`` imports ``lambda_xray.compat`` (or names it)."""
    if _DOTTED.search(source):
        return True
    return any(_COMPAT_NAME.search(m.group(1)) for m in _FROM_PACKAGE.finditer(source))


def names_package(source: str) -> bool:
    """Whether Python ``source`` names the package ``lambda_xray`` (may use the user API)."""
    return _PACKAGE.search(source) is not None


def _source_facts(source: str) -> CodeFacts:
    return CodeFacts(imports_compat=imports_compat(source), uses_api=names_package(source))


def unreadable(why: str) -> CodeFacts:
    """Facts of code that could not be read: every part."""
    return CodeFacts(unreadable=why)


def scan_inline(source: str) -> CodeFacts:
    """Inline code: one module, no libraries of its own."""
    return _source_facts(source)


def scan_directory(root: Path, what: str) -> CodeFacts:
    """What the asset directory ``root`` (a function's code or a layer) holds and imports.

    A library counts where it is importable: at the root (a function's code),
    or under ``python/`` or ``python/lib/python3.X/site-packages/`` (a layer).
    The user API and compat count in any ``.py`` file the walk reads, but
    those of a ``lambda_xray`` package. ``what`` names the asset in the reason
    given when it cannot be read in full.
    """
    libraries: set[str] = set()
    api = compat = False
    walk = AssetWalk(root, PART_LIBRARIES, distributions=True)
    for entry, text in walk:
        relative = entry.parent.relative_to(root)
        top = _LAYER_TOPS.match(relative.as_posix().strip("."))
        if text is None:
            if top is not None:
                libraries.add(distribution_name(entry.name) or entry.name)
            continue
        if top is not None and entry.stem in PART_LIBRARIES:
            libraries.add(entry.stem)
        if _LAYER_PACKAGE in relative.parts:
            continue
        if not compat and names_package(text):  # compat implies the name: nothing more to learn
            api = True
            compat = imports_compat(text)
    reason = f"{what}: {walk.incomplete}" if walk.incomplete is not None else None
    return CodeFacts(frozenset(libraries), compat, api, reason)


def combined(facts: Iterable[CodeFacts]) -> CodeFacts:
    """The facts of a function's code and its layers together."""
    libraries: set[str] = set()
    compat = api = False
    reasons: list[str] = []
    for one in facts:
        libraries |= one.libraries
        compat = compat or one.imports_compat
        api = api or one.uses_api
        if one.unreadable is not None:
            reasons.append(one.unreadable)
    return CodeFacts(frozenset(libraries), compat, api, "; ".join(reasons) or None)
