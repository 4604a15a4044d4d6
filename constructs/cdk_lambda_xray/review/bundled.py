"""Find Powertools for AWS Lambda's ``Tracer`` in a function's bundled code.

Powertools' ``Tracer`` records through ``aws_xray_sdk``, which AWS put in
maintenance; the review points its users to ``docs/migrating.md`` (XRAY015).
Evidence, strongest first:

- a module of the bundle imports ``Tracer`` from ``aws_lambda_powertools``
  (``from aws_lambda_powertools import Logger, Tracer``,
  ``from aws_lambda_powertools.tracing import Tracer``,
  ``aws_lambda_powertools.Tracer(...)``), or inline code does;
- the bundle ships ``aws_lambda_powertools`` with its tracer
  (``tracing/tracer.py``) *and* ``aws_xray_sdk``: Powertools' ``tracer``
  extra, which is only installed to trace.

The package alone (a bundle for ``Logger`` or ``Metrics``) is no evidence.
A scan reads at most a few thousand entries, never follows a link out of the
asset, never reads the modules of an installed package (pip's
``<name>-<version>.dist-info`` next to it) or of the two packages themselves, and
gives ``None`` when the asset cannot be read: the review stays total.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .._tracers import (
    MAX_ASSET_FILES,
    MAX_SOURCE_BYTES,
    XRAY_SDK_MODULE,
    asset_directory_entries,
    installed_distributions,
)

__all__ = ["POWERTOOLS_MODULE", "powertools_tracer_in_code", "powertools_tracer_in_tree"]

#: Powertools for AWS Lambda (Python)'s package
POWERTOOLS_MODULE: Final = "aws_lambda_powertools"
_TRACER_MODULE: Final = ("tracing", "tracer.py")

#: ``from aws_lambda_powertools[.tracing[.tracer]] import ...`` (one line or parenthesized)
_FROM_IMPORT: Final = re.compile(
    rf"^[ \t]*from[ \t]+{POWERTOOLS_MODULE}(?:\.tracing(?:\.tracer)?)?[ \t]+import[ \t]+"
    r"(\([^)]*\)|[^\n]*)",
    re.M,
)
_TRACER_NAME: Final = re.compile(r"\bTracer\b")
_QUALIFIED: Final = re.compile(rf"\b{POWERTOOLS_MODULE}(?:\.tracing)?\.Tracer\b")
_EVIDENCE_IMPORT: Final = f"imports Tracer from {POWERTOOLS_MODULE}"


def powertools_tracer_in_code(source: str) -> bool:
    """Whether Python ``source`` uses Powertools' ``Tracer``."""
    if any(_TRACER_NAME.search(m.group(1)) for m in _FROM_IMPORT.finditer(source)):
        return True
    return _QUALIFIED.search(source) is not None


def powertools_tracer_in_tree(path: Path) -> str | None:
    """Evidence that a code asset (directory or zip) uses Powertools' ``Tracer``, else None."""
    try:
        if path.is_dir():
            return _scan_directory(path).evidence()
        if path.is_file() and zipfile.is_zipfile(path):
            return _scan_zip(path).evidence()
    except (OSError, zipfile.BadZipFile, UnicodeError):
        return None
    return None


@dataclass(slots=True)
class _Found:
    importer: str | None = None
    tracer_package: str | None = None
    xray_sdk: bool = False

    def evidence(self) -> str | None:
        if self.importer is not None:
            return f"{self.importer} {_EVIDENCE_IMPORT}"
        if self.tracer_package is not None and self.xray_sdk:
            return (
                f"{self.tracer_package}/tracing/tracer.py and {XRAY_SDK_MODULE}/ in the asset "
                "(Powertools' tracer extra)"
            )
        return None


def _scan_directory(root: Path) -> _Found:
    found = _Found()
    packages = frozenset({POWERTOOLS_MODULE, XRAY_SDK_MODULE})
    for entry, text in asset_directory_entries(root, packages):
        if text is None:
            if entry.name == XRAY_SDK_MODULE:
                found.xray_sdk = True
            elif entry.joinpath(*_TRACER_MODULE).is_file():
                found.tracer_package = entry.relative_to(root).as_posix()
        elif powertools_tracer_in_code(text):
            found.importer = entry.relative_to(root).as_posix()
            return found
    return found


def _scan_zip(path: Path) -> _Found:
    found = _Found()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()[:MAX_ASSET_FILES]
        installed = installed_distributions(p for i in infos for p in i.filename.split("/"))
        for info in infos:
            parts = info.filename.split("/")
            packages = parts[:-1]
            if POWERTOOLS_MODULE in packages:
                at = packages.index(POWERTOOLS_MODULE)
                if tuple(parts[at + 1 :]) == _TRACER_MODULE:
                    found.tracer_package = "/".join(parts[: at + 1])
                continue
            if XRAY_SDK_MODULE in packages:
                found.xray_sdk = True
                continue
            if installed.intersection(p.lower() for p in packages):
                continue  # a module of another installed package, not the function's code
            if info.filename.endswith(".py") and info.file_size <= MAX_SOURCE_BYTES:
                text = archive.read(info).decode("utf-8", errors="replace")
                if powertools_tracer_in_code(text):
                    found.importer = info.filename
                    return found
    return found
