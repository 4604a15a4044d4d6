"""Compile the tracing layer once per Python minor version, into one bundle per layer part.

Lambda mounts layers read-only under ``/opt``, so a layer without bytecode
makes every cold start compile it (about 20 ms). This module builds, for each
Python runtime the layer serves, a complete layer tree (every part)::

    <out>/python312/python/lambda_xray/__init__.py                    the package and loader
    <out>/python312/python/lambda_xray/__pycache__/__init__.cpython-312.pyc
    <out>/python312/python/lambda_xray/core.bundle                     the core's code
    <out>/python312/python/lambda_xray/otlp.bundle  ...                one per other part
    <out>/python312.json                                              what was built

and :func:`assemble_layer` makes, from it, the tree of one function's layer:
the loader, the core bundle and the bundles of the parts it needs
(``_layer_parts``, the one place that says which module is in which part).

- A bundle is sourceless: the interpreter's magic number, the bundle format,
  then every module of its part marshalled on its own (unmarshalled only when
  imported); ``lambda_xray/__init__.py`` reads it. One file per part instead
  of two per module, no source: the size of a function's download
  (docs/bytecode.md). Tracebacks through layer frames show file and line.
- The code is compiled lean from the slim source's syntax tree: no
  docstrings, function annotations or (3.11+) column tables, and line tables
  only in the modules whose frames stand in a user's traceback
  (``_layer_parts.LINE_TABLE_MODULES``; the others' frames show ``line
  None``); ``assert`` stays. The package's ``__init__`` (the loader) ships as slim
  source with an unchecked-hash ``.pyc`` (PEP 552), so another Python still
  imports it and finds the bundles are not its own.
- Byte-for-byte the same on every build of the same source (fixed hash seed,
  fixed module order, the path recorded in the code objects is the one the
  source has on Lambda).
- Only what runs on Lambda: ``lambda_xray/testing.py`` (the test seam users
  import from the wheel's copy of the source) and ``py.typed`` stay out.

A version whose interpreter is not found gets the slim source alone (every
module, as files) and says why in its manifest; the build never fails for
that. Runs in ``setup.py`` (the wheel's ``build_py``) and ``make setup`` (the
checkout's gitignored ``constructs/cdk_lambda_xray/_layer_builds``); users
never compile anything. This module owns the tree layout, the manifest, what
is stale and the assembled trees; what one tree's compiled files are is
``_bundle_build``'s, the slim source ``_slim_source``'s, finding and running
each version's interpreter ``_interpreters``', the parts ``_layer_parts``'.
Stdlib only, all five: ``setup.py`` loads them by path, as a package whose
``__init__`` never runs, inside pip's build environment.
``python -m cdk_lambda_xray._bytecode [OUT]`` (re)builds the stale versions
and prints one line per version.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._bundle_build import LOADER, compile_tree
from ._interpreters import compiler_version, find_interpreter
from ._layer_parts import CORE, LINE_TABLE_MODULES, PARTS, part_of_module, with_required
from ._slim_source import slim_source

__all__ = [
    "ASSEMBLED_DIR_NAME",
    "BUILDS_DIR_NAME",
    "LAMBDA_EXCLUDED",
    "PYTHON_MINORS",
    "BuildResult",
    "assemble_layer",
    "build_layers",
    "default_builds_path",
    "ensure_built",
    "find_interpreter",
    "layer_content_hash",
    "read_manifest",
    "runtime_name",
    "slim_source",
    "tree_path",
    "zipped_kb",
]

#: Python 3 minor versions the layer serves, oldest first (python3.10 ... python3.14).
PYTHON_MINORS: tuple[int, ...] = (10, 11, 12, 13, 14)

#: Folder (next to this module) that holds one layer tree per runtime.
BUILDS_DIR_NAME = "_layer_builds"

#: Folder under the builds that holds the trees :func:`assemble_layer` made.
ASSEMBLED_DIR_NAME = "_assembled"

#: Bumped when the build's output changes for the same source (forces a rebuild).
#: 1: checked-hash, full source; 2: sourceless; 3: lean unchecked-hash, slim source;
#: 4: one sourceless bundle per layer part.
_BUILD_FORMAT = 4

#: Bumped when what :func:`assemble_layer` puts in a tree changes for the same build.
_ASSEMBLY_FORMAT = 1

#: Files of the layer source (relative to its ``python/``) that no function
#: runs: the test seam users import in their own tests, from the wheel's copy
#: of the source, and the marker for type checkers. Left out of every tree.
LAMBDA_EXCLUDED: frozenset[str] = frozenset({"lambda_xray/testing.py", "lambda_xray/py.typed"})

_SKIPPED_PARTS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})


def runtime_name(minor: int) -> str:
    """``python3.<minor>``: the Lambda runtime name of a Python 3 minor version."""
    return f"python3.{minor}"


def tree_path(builds: Path, runtime: str) -> Path:
    """The complete layer tree (every part) of ``runtime`` under ``builds`` (``python312``:
    CDK keeps a dotted folder's "extension" in its staged asset's name, so no dot)."""
    return builds / runtime.replace(".", "")


def _manifest_path(builds: Path, runtime: str) -> Path:
    return builds / f"{runtime.replace('.', '')}.json"


def default_builds_path() -> Path:
    """``_layer_builds`` next to this module (the wheel's copy, or the checkout's)."""
    return Path(__file__).resolve().parent / BUILDS_DIR_NAME


def _source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if _SKIPPED_PARTS & set(rel.parts) or path.suffix in _SKIPPED_SUFFIXES:
            continue
        if path.is_file():
            yield path


def _shipped_files(root: Path) -> Iterator[Path]:
    """The files of the layer source ``root`` that go into a Lambda tree."""
    for path in _source_files(root):
        if path.relative_to(root / "python").as_posix() not in LAMBDA_EXCLUDED:
            yield path


def layer_content_hash(root: Path, length: int = 12) -> str:
    """A short SHA-256 over the layer's file names and contents (bytecode ignored)."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:length]


@dataclass(frozen=True)
class BuildResult:
    """What was built for one runtime (also the manifest ``<runtime>.json``)."""

    runtime: str
    source_hash: str
    #: ``cpython-312`` when compiled; ``None`` when the tree holds source only.
    cache_tag: str | None
    #: why there is no bytecode (``None`` when there is).
    reason: str | None
    interpreter_version: str | None = None
    build_format: int = _BUILD_FORMAT
    #: the compiler and parts table that made it (a hash): when either changes, it is rebuilt.
    compiler: str = ""
    #: each part's bundle file, relative to the tree's ``python/`` (empty: source only).
    bundles: dict[str, str] = field(default_factory=dict)

    @property
    def has_bytecode(self) -> bool:
        """True when the tree carries compiled files for its runtime."""
        return self.cache_tag is not None

    def describe(self) -> str:
        """One line for build logs."""
        if self.has_bytecode:
            return f"{self.runtime}: bytecode {self.cache_tag} (Python {self.interpreter_version})"
        return f"{self.runtime}: source only ({self.reason})"


def read_manifest(builds: Path, runtime: str) -> BuildResult | None:
    """The manifest of ``runtime``'s tree under ``builds``; ``None`` if absent or unreadable."""
    try:
        data = json.loads(_manifest_path(builds, runtime).read_text())
        return BuildResult(**data)
    except (OSError, ValueError, TypeError):
        return None


def _stage_source(source: Path, staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    for path in _shipped_files(source):
        target = staging / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            target.write_bytes(slim_source(text).encode("utf-8"))
        else:
            shutil.copyfile(path, target)


def _abandoned(path: Path) -> bool:
    """Whether the build that named ``path`` (``.<runtime>.<pid>.tmp``/``.old``) is gone."""
    try:
        pid = int(path.name.rsplit(".", 2)[-2])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def _sweep(builds: Path, runtime: str) -> None:
    """Remove what builds of ``runtime`` that were killed half-way left behind."""
    for path in builds.glob(f".{runtime}.*"):
        if path.suffix in (".tmp", ".old") and _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)


def _build_one(source: Path, builds: Path, minor: int, interpreter: str | None) -> BuildResult:
    runtime = runtime_name(minor)
    source_hash = layer_content_hash(source)
    _sweep(builds, runtime)
    staging = builds / f".{runtime}.{os.getpid()}.tmp"
    _stage_source(source, staging)
    result: BuildResult
    compiler = _build_inputs()
    if interpreter is None:
        reason = f"no python3.{minor} interpreter found when it was built"
        result = BuildResult(runtime, source_hash, None, reason, compiler=compiler)
    else:
        try:
            python = staging / "python"
            rels = [p.relative_to(python).as_posix() for p in _source_files(python)]
            tag, version, bundles = compile_tree(interpreter, python, rels)
            result = BuildResult(
                runtime, source_hash, tag, None, version, bundles=bundles, compiler=compiler
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            _stage_source(source, staging)  # back to the slim source alone
            detail = getattr(exc, "stderr", "") or str(exc)
            last = detail.strip().splitlines()[-1] if detail.strip() else type(exc).__name__
            reason = f"compiling failed: {last}"
            result = BuildResult(runtime, source_hash, None, reason, compiler=compiler)
    final = tree_path(builds, runtime)
    retired = builds / f".{runtime}.{os.getpid()}.old"
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)
    manifest = _manifest_path(builds, runtime)
    partial = manifest.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(result.__dict__, indent=1, sort_keys=True) + "\n")
    partial.replace(manifest)
    return result


def _build_inputs() -> str:
    """A short hash of what decides the bytes besides the source: the compiler,
    which module is in which part and which keep their line tables."""
    parts = {name: part.modules for name, part in PARTS.items()}
    text = json.dumps([compiler_version(), CORE, parts, LINE_TABLE_MODULES], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _check_source(source: Path) -> None:
    if not (source / "python" / LOADER).is_file():
        raise FileNotFoundError(f"no layer source at {source} (python/{LOADER})")


def build_layers(
    source: Path,
    builds: Path,
    *,
    minors: tuple[int, ...] = PYTHON_MINORS,
    interpreters: Mapping[int, str | None] | None = None,
) -> list[BuildResult]:
    """Build one layer tree per minor version of ``source`` (the folder holding ``python/``).

    :param interpreters: the interpreter per minor version; default: found by
        :func:`find_interpreter`. ``None`` for a version builds it from source only.
    :raises FileNotFoundError: ``source`` holds no layer (a broken checkout or sdist).
    """
    _check_source(source)
    builds.mkdir(parents=True, exist_ok=True)
    results = []
    for minor in minors:
        interpreter = interpreters[minor] if interpreters is not None else find_interpreter(minor)
        results.append(_build_one(source, builds, minor, interpreter))
    return results


def ensure_built(
    source: Path, builds: Path, *, minors: tuple[int, ...] = PYTHON_MINORS
) -> list[BuildResult]:
    """Rebuild only what is stale: a changed source, a new build format, or a
    version built from source only whose interpreter is now found."""
    _check_source(source)
    source_hash = layer_content_hash(source)
    results = []
    for minor in minors:
        runtime = runtime_name(minor)
        current = read_manifest(builds, runtime)
        fresh = (
            current is not None
            and current.source_hash == source_hash
            and current.build_format == _BUILD_FORMAT
            and current.compiler == _build_inputs()
            and tree_path(builds, runtime).is_dir()
        )
        if fresh and current is not None and current.has_bytecode:
            results.append(current)
            continue
        interpreter = find_interpreter(minor)
        if fresh and current is not None and interpreter is None:
            results.append(current)
            continue
        builds.mkdir(parents=True, exist_ok=True)
        results.append(_build_one(source, builds, minor, interpreter))
    return results


def _parts_chosen(parts: frozenset[str]) -> list[str]:
    unknown = sorted(set(parts) - set(PARTS) - {CORE})
    if unknown:
        raise ValueError(
            f"unknown layer part(s) {', '.join(map(repr, unknown))}: the parts are "
            f"{', '.join(map(repr, PARTS))} (and {CORE!r}, always in)"
        )
    return sorted(with_required(parts) - {CORE})


def _belongs(rel: str, built: BuildResult, chosen: list[str]) -> bool:
    """Whether the file ``rel`` (relative to ``python/``) of a complete tree is in a
    layer of the core and ``chosen`` parts."""
    if built.bundles:
        bundle_of = {file: part for part, file in built.bundles.items()}
        part = bundle_of.get(rel)
        return part is None or part == CORE or part in chosen
    return not rel.endswith(".py") or part_of_module(rel) in (CORE, *chosen)


def zipped_kb(tree: Path) -> float:
    """KB of ``tree`` zipped with deflate level 9, as CDK zips an asset folder: the size
    of the layer version a function downloads (docs/bytecode.md, "Sizes and cold start")."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(tree).as_posix())
    return len(buffer.getvalue()) / 1024


def assemble_layer(builds: Path, runtime: str, parts: frozenset[str]) -> Path:
    """The layer tree (a folder holding ``python/``) of ``runtime`` with the core and ``parts``.

    With bytecode: the loader (``lambda_xray/__init__.py`` and its ``.pyc``),
    the core bundle and the bundles of ``parts``, nothing else. Source only
    (no interpreter for ``runtime`` at build time): the slim source of the
    core's and ``parts``' modules. Made from ``runtime``'s complete tree on
    first use and kept under ``builds`` (or, when that is read-only, the
    temporary directory), one folder per build, runtime and parts; written in
    one step (a temporary folder renamed), so concurrent synths never see half
    a tree, and made again when the build changed.

    :param parts: names of :data:`cdk_lambda_xray._layer_parts.PARTS`
        (``"core"`` may be given; it is always in); the parts they require
        come with them.
    :raises ValueError: an unknown part name.
    :raises FileNotFoundError: ``runtime`` has no build under ``builds``
        (run ``make setup``, or install the wheel).
    """
    chosen = _parts_chosen(parts)
    built = read_manifest(builds, runtime)
    tree = tree_path(builds, runtime)
    if built is None or not tree.is_dir():
        raise FileNotFoundError(
            f"no layer build for {runtime} under {builds}: run `make setup` (or install the wheel)"
        )
    python = tree / "python"
    files = {
        rel: path.read_bytes()
        for path, rel in ((p, p.relative_to(python).as_posix()) for p in sorted(python.rglob("*")))
        if path.is_file() and _belongs(rel, built, chosen)
    }
    # Named after what it holds: a tree of the same name is the same tree.
    digest = hashlib.sha256(str(_ASSEMBLY_FORMAT).encode())
    for rel, data in files.items():
        digest.update(f"\0{rel}\0{len(data)}\0".encode())
        digest.update(data)
    name = "-".join([runtime.replace(".", ""), CORE, *chosen, digest.hexdigest()[:12]])
    for root in (builds / ASSEMBLED_DIR_NAME, _fallback_root()):
        try:
            return _assembled(root, name, files)
        except PermissionError:
            continue
    raise PermissionError(f"cannot write the assembled layer under {builds} nor {_fallback_root()}")


def _fallback_root() -> Path:
    user = getattr(os, "getuid", lambda: "user")()
    return Path(tempfile.gettempdir()) / f"cdk-lambda-xray-{user}" / ASSEMBLED_DIR_NAME


def _holds(folder: Path, files: dict[str, bytes]) -> bool:
    """Whether ``folder`` holds exactly ``python/<rel>`` for each of ``files``, byte for byte
    (a tree someone changed, or planted under the name, is not taken)."""
    try:
        found = sorted(p for p in folder.rglob("*") if p.is_file())
        return [p.relative_to(folder / "python").as_posix() for p in found] == sorted(
            files
        ) and all(
            p.read_bytes() == files[p.relative_to(folder / "python").as_posix()] for p in found
        )
    except (OSError, ValueError):
        return False


def _assembled(root: Path, name: str, files: dict[str, bytes]) -> Path:
    """The folder ``root/name`` holding ``python/<rel>`` for each of ``files``, written once."""
    target = root / name
    if _holds(target, files):
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    retired = staging.with_name(f"{staging.name}.old")
    try:
        for rel, data in files.items():
            copy = staging / "python" / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
        staging.chmod(0o755)
        if target.exists() and not _holds(target, files):
            target.rename(retired)  # not what its name says: replaced
        try:
            staging.rename(target)
        except OSError:
            if not _holds(target, files):  # not another synth's identical tree: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    stale_prefix = name.rpartition("-")[0] + "-"
    for old in root.glob(f"{stale_prefix}*"):  # earlier builds of the same runtime and parts
        if old.name != name and old.name.rpartition("-")[0] + "-" == stale_prefix:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    builds = Path(argv[0]) if argv else default_builds_path()
    source = Path(os.path.realpath(here / "_layer"))
    for result in ensure_built(source, builds):
        print(f"layer bytecode: {result.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
