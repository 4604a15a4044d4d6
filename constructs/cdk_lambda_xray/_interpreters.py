"""The interpreters the layer build compiles with: one per Python minor version.

Finds a working ``python3.<minor>`` (the env override, the running one,
pyenv's, or on ``PATH``), probes its version and cache tag, and runs the lean
compiler in it: unchecked-hash ``.pyc`` (PEP 552) without function
annotations, with a fixed hash seed and no column tables, so the bytes are the
same on every build. Stdlib only: ``setup.py`` loads the build modules by path
inside pip's build environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INTERPRETER_ENV", "Interpreter", "compile_lean", "find_interpreter", "probe"]

#: Environment variable naming the interpreter for one minor version, e.g.
#: ``LAMBDA_XRAY_BUILD_PYTHON3_14=/usr/local/bin/python3.14``; set it empty to
#: build that version from source only.
INTERPRETER_ENV = "LAMBDA_XRAY_BUILD_PYTHON3_{minor}"

# Runs inside the target interpreter: compile each (source, pyc, recorded path)
# read from stdin, in the order given, without function annotations (the slim
# source has no docstrings left), into an unchecked-hash ``.pyc`` (PEP 552)
# carrying the source's hash (``--check-hash-based-pycs always`` still checks).
_COMPILER = """
import ast, importlib.util, json, marshal, os, sys

header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
for source, cfile, dfile in json.load(sys.stdin):
    with open(source, "rb") as file:
        data = file.read()
    tree = ast.parse(data, dfile)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    arg.annotation = None
    code = compile(tree, dfile, "exec", dont_inherit=True, optimize=0)
    os.makedirs(os.path.dirname(cfile), exist_ok=True)
    with open(cfile, "wb") as file:
        file.write(header + importlib.util.source_hash(data) + marshal.dumps(code))
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


def compile_lean(interpreter: str, jobs: Sequence[tuple[str, str, str]]) -> None:
    """Compile each ``(source, pyc, recorded path)`` of ``jobs``, in order, with ``interpreter``.

    :raises OSError, subprocess.SubprocessError: the interpreter failed (its
        ``stderr`` is on the ``CalledProcessError``).
    """
    # A fixed hash seed: Python 3.10 marshals set constants (``x in {...}``)
    # in iteration order, which follows string hashes. No column tables
    # (3.11+; older versions have none and ignore the variable).
    env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNODEBUGRANGES": "1"}
    subprocess.run(
        [interpreter, "-S", "-c", _COMPILER],
        input=json.dumps([list(job) for job in jobs]),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
