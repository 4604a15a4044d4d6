"""Compile one Python version's layer tree: the loader's ``.pyc`` and one bundle per part.

The layer source's package ``__init__`` (the loader) stays as slim source with
an unchecked-hash ``.pyc``; ``_untraced`` (what the loader imports when the
running Python cannot load the bundles) stays as source; every other module is
compiled into the bundle of its part (``_layer_parts.part_of_module``) and its
source dropped. The bundle format and file names are read from the loader the
tree ships, so the build writes what that loader reads. ``_bytecode`` owns the
trees; this module what one tree's compiled files are. Stdlib only:
``setup.py`` loads the build modules by path.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from ._interpreters import BundleJob, compile_layer, probe
from ._layer_parts import CORE, PARTS, keeps_line_table, part_of_module

__all__ = ["LOADER", "UNTRACED", "compile_tree", "loader_settings"]

#: The package's ``__init__``: finds the bundles; shipped as source and ``.pyc``.
LOADER = "lambda_xray/__init__.py"

#: What the ``__init__`` imports when this Python cannot load the bundles
#: (another version's): shipped as source only, in no bundle.
UNTRACED = "lambda_xray/_untraced.py"

#: Where the layer's files are on Lambda: recorded as each code object's file
#: name, so the bytes do not depend on where the build ran.
_LAMBDA_LAYER_ROOT = "/opt"


@dataclass(frozen=True)
class _Module:
    """One module of the layer source: what it is called, where, and which part holds it."""

    rel: str  # relative to python/: lambda_xray/patches/__init__.py
    name: str  # lambda_xray.patches
    is_package: bool
    part: str


def _module(rel: str) -> _Module:
    parts = rel.removesuffix(".py").split("/")
    is_package = parts[-1] == "__init__"
    name = ".".join(parts[:-1] if is_package else parts)
    return _Module(rel, name, is_package, part_of_module(rel))


def loader_settings(loader: Path) -> tuple[bytes, str]:
    """The bundle format and file suffix the layer's loader reads (its ``__init__``):
    the build writes what the loader it ships reads."""
    values: dict[str, object] = {}
    for node in ast.parse(loader.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value.value
    bundle_format, suffix = values.get("_BUNDLE_FORMAT"), values.get("_BUNDLE_SUFFIX")
    if not isinstance(bundle_format, bytes) or not isinstance(suffix, str):
        raise ValueError(f"{loader} has no bundle loader (_BUNDLE_FORMAT, _BUNDLE_SUFFIX)")
    return bundle_format, suffix


def compile_tree(
    interpreter: str, python: Path, rels: list[str]
) -> tuple[str, str, dict[str, str]]:
    """Compile the slim source under ``python`` (files ``rels``, relative to it) with
    ``interpreter``: the loader's ``.pyc`` and one bundle per part, then drop the
    bundled modules' source.

    :returns: the interpreter's cache tag and version, and each part's bundle file
        (relative to ``python``).
    :raises OSError, ValueError, subprocess.SubprocessError: it could not be compiled.
    """
    probed = probe(interpreter)
    if probed is None:
        raise OSError(f"{interpreter} does not run")
    bundle_format, suffix = loader_settings(python / LOADER)
    modules = [
        _module(rel)
        for rel in rels
        if rel.endswith(".py") and rel not in (LOADER, UNTRACED) and rel.startswith("lambda_xray/")
    ]
    package = (python / LOADER).parent
    files = {part: f"lambda_xray/{part}{suffix}" for part in (CORE, *PARTS)}
    jobs = [
        BundleJob(
            file=str(python / files[part]),
            index={m.name: m.part for m in modules if m.part != CORE} if part == CORE else {},
            modules=[
                (
                    m.name,
                    m.is_package,
                    str(python / m.rel),
                    f"{_LAMBDA_LAYER_ROOT}/python/{m.rel}",
                    keeps_line_table(m.rel),
                )
                for m in modules
                if m.part == part
            ],
        )
        for part in files
    ]
    loader_pyc = package / "__pycache__" / f"__init__.{probed.cache_tag}.pyc"
    compile_layer(
        interpreter,
        pycs=[(str(python / LOADER), str(loader_pyc), f"{_LAMBDA_LAYER_ROOT}/python/{LOADER}")],
        bundles=jobs,
        bundle_format=bundle_format,
    )
    for module in modules:
        (python / module.rel).unlink()
    for folder in sorted((p for p in package.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return probed.cache_tag, probed.version, files
