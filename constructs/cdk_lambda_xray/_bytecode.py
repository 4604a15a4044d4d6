"""Compile the tracing layer once per Python minor version: the layer trees ``TracingLayer`` ships.

Lambda mounts layers read-only under ``/opt``, so a layer without bytecode
makes every cold start compile it (about 20 ms). This module builds, for each
Python runtime the layer serves, a complete layer tree::

    <out>/python312/python/lambda_xray/**/*.py                        slim source
    <out>/python312/python/lambda_xray/**/__pycache__/*.cpython-312.pyc
    <out>/python312.json                                              what was built

- The source is slim: comments and docstrings blanked out, every line where
  it was (checked: the same syntax tree, line for line, else the file ships
  as it is). It is what an interpreter of another version compiles (Lambda
  does not enforce a layer's compatible runtimes) and what tracebacks show.
- The ``.pyc`` files are unchecked-hash (PEP 552): an import stats the source
  and reads the ``.pyc``, never reads or hashes the source. Compiled lean
  from the syntax tree, without docstrings, function annotations and (3.11+)
  column tables; ``assert`` stays. The tree is a build output written in one
  step, so the bytecode always belongs to the source beside it.
- Byte-for-byte the same on every build of the same source (fixed hash seed,
  fixed file order, the path recorded in the code objects is the one the
  source has on Lambda).
- Only what runs on Lambda: ``lambda_xray/testing.py`` (the test seam users
  import from the wheel's copy of the source) and ``py.typed`` stay out.

A version whose interpreter is not found gets the slim source alone and says
why in its manifest; the build never fails for that. Runs in ``setup.py``
(the wheel's ``build_py``) and ``make setup`` (the checkout's gitignored
``constructs/cdk_lambda_xray/_layer_builds``); users never compile anything.
This module owns the tree layout, the manifest and what is stale; the slim
source is ``_slim_source``'s, finding and running each version's interpreter
is ``_interpreters``'. Stdlib only, all three: ``setup.py`` loads them by
path, as a package whose ``__init__`` never runs, inside pip's build
environment. ``python -m cdk_lambda_xray._bytecode [OUT]`` (re)builds the
stale versions and prints one line per version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ._interpreters import Interpreter, compile_lean, find_interpreter, probe
from ._slim_source import slim_source

__all__ = [
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
]

#: Python 3 minor versions the layer serves, oldest first (python3.10 ... python3.14).
PYTHON_MINORS: tuple[int, ...] = (10, 11, 12, 13, 14)

#: Folder (next to this module) that holds one layer tree per runtime.
BUILDS_DIR_NAME = "_layer_builds"

#: Bumped when the build's output changes for the same source (forces a rebuild).
#: 1: checked-hash, full source; 2: sourceless; 3: lean unchecked-hash, slim source.
_BUILD_FORMAT = 3

#: Files of the layer source (relative to its ``python/``) that no function
#: runs: the test seam users import in their own tests, from the wheel's copy
#: of the source, and the marker for type checkers. Left out of every tree.
LAMBDA_EXCLUDED: frozenset[str] = frozenset({"lambda_xray/testing.py", "lambda_xray/py.typed"})

#: Where the layer's files are on Lambda: recorded as each code object's file
#: name, so the bytes do not depend on where the build ran.
_LAMBDA_LAYER_ROOT = "/opt"

_SKIPPED_PARTS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})


def runtime_name(minor: int) -> str:
    """``python3.<minor>``: the Lambda runtime name of a Python 3 minor version."""
    return f"python3.{minor}"


def tree_path(builds: Path, runtime: str) -> Path:
    """The layer tree of ``runtime`` under ``builds`` (``python312``: CDK keeps a
    dotted folder's "extension" in its staged asset's name, so no dot)."""
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


def _compile(interpreter: str, tree: Path) -> Interpreter:
    """Compile each ``.py`` under ``tree`` into ``__pycache__`` with ``interpreter``."""
    probed = probe(interpreter)
    if probed is None:
        raise OSError(f"{interpreter} does not run")
    sources = [path for path in _source_files(tree) if path.suffix == ".py"]
    jobs = [
        (
            str(source),
            str(source.parent / "__pycache__" / f"{source.stem}.{probed.cache_tag}.pyc"),
            f"{_LAMBDA_LAYER_ROOT}/{source.relative_to(tree).as_posix()}",
        )
        for source in sources
    ]
    compile_lean(interpreter, jobs)
    return probed


def _build_one(source: Path, builds: Path, minor: int, interpreter: str | None) -> BuildResult:
    runtime = runtime_name(minor)
    source_hash = layer_content_hash(source)
    staging = builds / f".{runtime}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for path in _shipped_files(source):
        target = staging / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            target.write_bytes(slim_source(text).encode("utf-8"))
        else:
            shutil.copyfile(path, target)
    result: BuildResult
    if interpreter is None:
        result = BuildResult(
            runtime, source_hash, None, f"no python3.{minor} interpreter found when it was built"
        )
    else:
        try:
            probed = _compile(interpreter, staging)
            result = BuildResult(runtime, source_hash, probed.cache_tag, None, probed.version)
        except (OSError, subprocess.SubprocessError) as exc:
            for cache in list(staging.rglob("__pycache__")):
                shutil.rmtree(cache, ignore_errors=True)
            detail = getattr(exc, "stderr", "") or str(exc)
            last = detail.strip().splitlines()[-1] if detail.strip() else type(exc).__name__
            result = BuildResult(runtime, source_hash, None, f"compiling failed: {last}")
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


def _check_source(source: Path) -> None:
    if not (source / "python" / "lambda_xray" / "__init__.py").is_file():
        raise FileNotFoundError(f"no layer source at {source} (python/lambda_xray/__init__.py)")


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


def assemble_layer(builds: Path, runtime: str, parts: frozenset[str]) -> Path:
    """The layer tree (a folder holding ``python/``) of ``runtime`` with the core and ``parts``.

    ``parts`` are names of :data:`cdk_lambda_xray._layer_parts.PARTS`. Interface
    only for now: every part is in the one tree of ``runtime``.
    """
    del parts
    return tree_path(builds, runtime)


def _main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    builds = Path(argv[0]) if argv else default_builds_path()
    source = Path(os.path.realpath(here / "_layer"))
    for result in ensure_built(source, builds):
        print(f"layer bytecode: {result.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
