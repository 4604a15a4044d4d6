"""The interpreters the layer build compiles with: one per Python minor version.

Finds a working ``python3.<minor>`` (the env override, the running one,
pyenv's, or on ``PATH``), probes its version and cache tag, and runs the lean
compiler in it: lean code objects (no function annotations, no column
tables, "no line" tables where asked) written as unchecked-hash ``.pyc``
(PEP 552) or into bundle files (many modules' code in one marshalled file),
with a fixed hash seed, so the bytes are the same on every build. Stdlib
only: ``setup.py`` loads the build modules by path inside pip's build
environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INTERPRETER_ENV",
    "BundleJob",
    "Interpreter",
    "compile_layer",
    "compiler_version",
    "find_interpreter",
    "probe",
]

#: Environment variable naming the interpreter for one minor version, e.g.
#: ``LAMBDA_XRAY_BUILD_PYTHON3_14=/usr/local/bin/python3.14``; set it empty to
#: build that version from source only.
INTERPRETER_ENV = "LAMBDA_XRAY_BUILD_PYTHON3_{minor}"

# Runs inside the target interpreter. Reads {"pycs": [[source, pyc, recorded path]],
# "bundles": [{"file", "index", "modules": [[name, is_package, source, recorded
# path, line table]]}]} from stdin. Each source is compiled lean: without function
# annotations (the slim source has no docstrings left) nor the body of
# ``if TYPE_CHECKING:`` (the layer's modules set ``TYPE_CHECKING = False``), and
# ``from __future__ import ...`` becomes the compiler flag it stands for (the
# same code, without importing ``__future__`` at run time). A module compiled
# without its line table (``line table`` false) gets, in each code object, a
# table that says "no line" for every instruction, in the interpreter's own
# format: 3.11+ one "no location" entry (kind 15) per 8 code units, 3.10 one
# ``(bytes, -128)`` pair per 254 bytes. Not an empty table: 3.11+'s
# ``co_positions()`` then yields nothing and ``traceback`` fails on the frame
# (``StopIteration``); with "no line" entries it shows ``line None``. A pyc job writes an
# unchecked-hash ``.pyc`` (PEP 552) carrying the source's hash
# (``--check-hash-based-pycs always`` still checks); a bundle job writes one
# bundle file: the magic number, the bundle format (``format``, hex), the
# interpreter's major and minor version (a byte each), the length of the table
# (4 bytes, little-endian), the table ``marshal.dumps((index, {name: (is_package,
# offset, length)}))``, then each module's ``marshal.dumps(code)`` at its offset:
# the layout ``lambda_xray/__init__.py`` reads.
_COMPILER = """
import __future__, ast, importlib.util, json, marshal, os, sys

def lean(source, dfile):
    with open(source, "rb") as file:
        data = file.read()
    tree = ast.parse(data, dfile)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and (
            node.test.id == "TYPE_CHECKING"
        ):
            node.body = [ast.Pass(lineno=node.lineno, col_offset=node.col_offset)]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    arg.annotation = None
    flags = 0
    for node in [n for n in tree.body if isinstance(n, ast.ImportFrom)]:
        if node.module == "__future__":
            tree.body.remove(node)
            for alias in node.names:
                flags |= getattr(__future__, alias.name).compiler_flag
    return data, compile(tree, dfile, "exec", flags=flags, dont_inherit=True, optimize=0)

def no_lines(code):
    consts = tuple(no_lines(c) if isinstance(c, type(code)) else c for c in code.co_consts)
    code = code.replace(co_consts=consts)
    size, table = len(code.co_code), bytearray()
    if sys.version_info >= (3, 11):
        units = size // 2
        while units:
            step = min(8, units)
            units -= step
            table.append(0xF8 | (step - 1))
    else:
        while size:
            step = min(254, size)
            size -= step
            table += bytes((step, 0x80))
    return code.replace(co_linetable=bytes(table))

def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(content)

jobs = json.load(sys.stdin)
header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
tag = bytes.fromhex(jobs["format"]) + bytes(sys.version_info[:2])
for source, cfile, dfile in jobs["pycs"]:
    data, code = lean(source, dfile)
    write(cfile, header + importlib.util.source_hash(data) + marshal.dumps(code))
for bundle in jobs["bundles"]:
    table, codes, at = {}, [], 0
    for name, is_package, source, dfile, lines in bundle["modules"]:
        code = lean(source, dfile)[1]
        code = marshal.dumps(code if lines else no_lines(code))
        table[name] = (bool(is_package), at, len(code))
        codes.append(code)
        at += len(code)
    head = marshal.dumps((dict(bundle["index"]), table))
    body = len(head).to_bytes(4, "little") + head + b"".join(codes)
    write(bundle["file"], importlib.util.MAGIC_NUMBER + tag + body)
"""

_VERSION_DIR = re.compile(r"^3\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)$")


def _candidates(minor: int, environ: Mapping[str, str]) -> Iterator[str]:
    if sys.version_info[:2] == (3, minor):
        yield sys.executable
    root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if root.is_dir():
        found = [
            (int(m["patch"]), entry)
            for entry in root.iterdir()
            if (m := _VERSION_DIR.match(entry.name)) and int(m["minor"]) == minor
        ]
        for _, entry in sorted(found, reverse=True):
            yield str(entry / "bin" / f"python3.{minor}")
    on_path = shutil.which(f"python3.{minor}")
    if on_path:
        yield on_path


@dataclass(frozen=True)
class BundleJob:
    """One bundle file to write: its modules, compiled in the order given.

    :param file: where to write it.
    :param index: for modules in other bundles, which part holds each (the
        core bundle's; empty in the others).
    :param modules: ``(module name, is_package, source, recorded path, line table)``
        each; ``line table`` false compiles the module with a table that says "no
        line" for every instruction.
    """

    file: str
    index: Mapping[str, str]
    modules: Sequence[tuple[str, bool, str, str, bool]]


@dataclass(frozen=True)
class Interpreter:
    """A probed interpreter: its minor version, full version and ``.pyc`` cache tag."""

    minor: int
    version: str
    cache_tag: str


def probe(executable: str) -> Interpreter | None:
    """What ``executable`` is when it runs as a Python 3; ``None`` when it does not."""
    try:
        done = subprocess.run(
            [
                executable,
                "-S",
                "-c",
                "import sys; print(*sys.version_info[:3], sys.implementation.cache_tag)",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        major, minor, patch, tag = done.stdout.split()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if major != "3":
        return None
    return Interpreter(int(minor), f"{major}.{minor}.{patch}", tag)


def find_interpreter(minor: int, environ: Mapping[str, str] | None = None) -> str | None:
    """A working ``python3.<minor>``: the env override, this one, pyenv's, or on ``PATH``.

    ``LAMBDA_XRAY_BUILD_PYTHON3_<minor>`` wins when set; set to an empty string
    it means "none" (that version is built from source only).
    """
    environ = os.environ if environ is None else environ
    override = environ.get(INTERPRETER_ENV.format(minor=minor))
    candidates = [override] if override is not None else list(_candidates(minor, environ))
    for candidate in candidates:
        if candidate and (probed := probe(candidate)) and probed.minor == minor:
            return candidate
    return None


def compiler_version() -> str:
    """A short hash of the compiler's code: what it makes changes only when this does."""
    return hashlib.sha256(_COMPILER.encode()).hexdigest()[:12]


def compile_layer(
    interpreter: str,
    *,
    pycs: Sequence[tuple[str, str, str]] = (),
    bundles: Sequence[BundleJob] = (),
    bundle_format: bytes = b"",
) -> None:
    """Compile with ``interpreter``: each ``(source, pyc, recorded path)`` of ``pycs``
    into an unchecked-hash ``.pyc``, and each of ``bundles`` into one bundle file.

    :raises OSError, subprocess.SubprocessError: the interpreter failed (its
        ``stderr`` is on the ``CalledProcessError``).
    """
    jobs = {
        "format": bundle_format.hex(),
        "pycs": [list(job) for job in pycs],
        "bundles": [
            {"file": job.file, "index": dict(job.index), "modules": [list(m) for m in job.modules]}
            for job in bundles
        ],
    }
    # A fixed hash seed: Python 3.10 marshals set constants (``x in {...}``)
    # in iteration order, which follows string hashes. No column tables
    # (3.11+; older versions have none and ignore the variable).
    env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNODEBUGRANGES": "1"}
    subprocess.run(
        [interpreter, "-S", "-c", _COMPILER],
        input=json.dumps(jobs),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
