"""Deprecating a public entry point: a Python warning at the user's line, one CDK warning.

Python shows a ``DeprecationWarning`` where the user called the library (not
inside it), and CDK shows a warning annotation once per construct in
``cdk synth``, so both a test run and a synth say what to move to.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from pathlib import Path
from typing import Final

from aws_cdk import Annotations
from constructs import IConstruct

__all__ = ["warn_deprecated"]

_PACKAGE_DIR: Final = str(Path(__file__).resolve().parent)
_ANNOTATED: Final[weakref.WeakKeyDictionary[IConstruct, set[str]]] = weakref.WeakKeyDictionary()


def warn_deprecated(construct: IConstruct, annotation_id: str, message: str) -> None:
    """``DeprecationWarning`` at the caller's line; the CDK warning once per construct and id."""
    warnings.warn(message, DeprecationWarning, stacklevel=_caller_level())
    seen = _ANNOTATED.setdefault(construct, set())
    if annotation_id in seen:
        return
    seen.add(annotation_id)
    Annotations.of(construct).add_warning_v2(annotation_id, message)


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package (the user's line)."""
    frame = sys._getframe(2)  # the caller of warn_deprecated
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
