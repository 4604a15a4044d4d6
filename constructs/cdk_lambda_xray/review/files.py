"""The only way the review touches the file system: confined paths, bounded JSON reads.

Every path an assembly names (``templateFile``, an asset manifest's ``file``,
``additionalMetadataFile``, a nested assembly's ``directoryName``, a nested
stack's ``aws:asset:path``, an asset's ``source.path``) goes through
:func:`confine`: it must be a relative path inside the assembly directory once
resolved, symlinks included. Absolute paths, ``..`` that climbs out, symlinks
pointing out and NUL bytes are refused before anything is opened, and so is
a name the file system cannot look up (too long, permission denied).

:func:`read_json` reads a regular file of at most :data:`MAX_FILE_BYTES`, as
strict UTF-8, with numbers of at most :data:`MAX_NUMBER_DIGITS` digits and
nesting of at most :data:`MAX_JSON_DEPTH` levels, so everything downstream can
walk the data recursively without limits of its own. Each file is parsed once
per :class:`JsonFiles` (cached by resolved path). Every failure is an
:class:`AssemblyError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import Any, Final

__all__ = [
    "MAX_ARCHIVE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_DIGITS",
    "AssemblyError",
    "JsonFiles",
    "asset_contains",
    "confine",
    "kind_of",
    "parse_json",
    "parse_json_text",
    "read_bytes",
]

#: Largest JSON file read (CloudFormation itself accepts templates up to 1 MB).
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
#: Deepest JSON nesting accepted (real templates stay far below).
MAX_JSON_DEPTH: Final = 100
#: Largest zip archive whose file list is looked at (a Lambda layer is at most 250 MB
#: unzipped; the review only looks for lambda_xray's files in it).
MAX_ARCHIVE_BYTES: Final = 64 * 1024 * 1024
#: Longest number literal accepted (Python refuses int() of more than 4300 digits).
MAX_NUMBER_DIGITS: Final = 100


class AssemblyError(Exception):
    """The directory is not a readable cloud assembly; the message says why and what to do."""


def confine(root: Path, base: Path, name: object, what: str) -> Path:
    """``base / name`` resolved, provided it stays inside ``root`` (also resolved).

    ``root`` is the assembly directory, ``base`` the directory the name is
    relative to (a nested assembly's). Raises :class:`AssemblyError` for
    anything that is not a relative path string staying inside ``root``.
    """
    if not isinstance(name, str) or not name:
        raise AssemblyError(f"{what} must be a non-empty path string, not {kind_of(name)}")
    if "\0" in name:
        raise AssemblyError(f"{what} {name!r} contains a NUL byte; refused")
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        raise AssemblyError(
            f"{what} {name!r} is an absolute path; refused (an assembly names its files "
            "relative to its own directory)"
        )
    real_root = root.resolve()
    try:
        candidate = (base / name).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, odd names
        raise AssemblyError(f"{what} {name!r} cannot be resolved ({exc}); refused") from None
    if not candidate.is_relative_to(real_root):
        raise AssemblyError(
            f"{what} {name!r} points outside the assembly directory {root} "
            "(through '..' or a symlink); refused"
        )
    try:
        os.stat(candidate)
    except (FileNotFoundError, NotADirectoryError):
        pass  # a missing file is the caller's to report, with its own wording
    except OSError as exc:  # a name too long, a permission denied: unusable, say so now
        shown = name if len(name) <= 80 else f"{name[:60]}...({len(name)} characters)"
        raise AssemblyError(
            f"{what} {shown!r} cannot be used ({exc.strerror or exc}); refused"
        ) from None
    return candidate


def kind_of(value: object) -> str:
    """How an error message names the JSON type of ``value`` ("an object", "a list", ...)."""
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _TooLong(f"a number with {len(text)} digits (at most {MAX_NUMBER_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise _TooLong(f"a number of {len(text)} characters (at most {MAX_NUMBER_DIGITS})")
    return float(text)


def _parse_constant(name: str) -> float:
    raise _TooLong(f"{name} (not JSON)")


class _TooLong(ValueError):
    pass


_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: a \\u escape of a surrogate in JSON text (pairs are fine; json leaves lone ones as is)
_SURROGATE_ESCAPE: Final = re.compile(r"\\[uU][dD][89a-fA-F]")


def _problem(data: Any, strings: bool) -> str | None:
    """What is wrong with parsed ``data``: too deep, or (``strings``) a lone surrogate."""
    level: list[Any] = [data]
    for _ in range(MAX_JSON_DEPTH + 1):
        below: list[Any] = []
        for value in level:
            if isinstance(value, dict):
                below += value.values()
                if strings:
                    below += value.keys()
            elif isinstance(value, list):
                below += value
            elif strings and isinstance(value, str) and _SURROGATE.search(value):
                return "holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
        if not below:
            return None
        level = below
    return _TOO_DEEP


_TOO_DEEP: Final = f"nests deeper than {MAX_JSON_DEPTH} levels (no synthesized template does)"


def read_bytes(path: Path, what: str) -> bytes:
    """The content of the regular file ``path`` (at most :data:`MAX_FILE_BYTES`)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AssemblyError(f"{what} not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise AssemblyError(f"cannot read {what} {path}: {exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise AssemblyError(f"{what} {path} is not a regular file; refused")
    if info.st_size > MAX_FILE_BYTES:
        raise AssemblyError(
            f"{what} {path} has {info.st_size:,} bytes, more than the "
            f"{MAX_FILE_BYTES:,} the review reads; refused"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AssemblyError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise AssemblyError(f"{what} {path} grew past {MAX_FILE_BYTES:,} bytes; refused")
    return data


def parse_json(data: bytes, where: str) -> Any:
    """Parse ``data`` (strict UTF-8 JSON within the limits above)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssemblyError(
            f"{where} is not UTF-8 (byte {exc.start}); synthesize again with `cdk synth`"
        ) from None
    return parse_json_text(text, where)


def parse_json_text(text: str, where: str) -> Any:
    """Parse the JSON ``text`` within the limits above (numbers, depth, real text)."""
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise AssemblyError(
            f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); synthesize again with `cdk synth`"
        ) from None
    except _TooLong as exc:
        raise AssemblyError(f"{where} holds {exc}; refused") from None
    except RecursionError:
        problem: str | None = _TOO_DEEP
    else:
        problem = _problem(value, strings=_SURROGATE_ESCAPE.search(text) is not None)
    if problem is not None:
        raise AssemblyError(f"{where} {problem}; refused")
    return value


def asset_contains(path: Path, names: tuple[str, ...]) -> bool:
    """Whether the asset at ``path`` (confined; a directory or a zip) holds one of ``names``.

    Only stats files in a directory; of a zip archive (up to
    :data:`MAX_ARCHIVE_BYTES`) only the file list is read. Anything unreadable,
    corrupt or larger is "no".
    """
    try:
        if path.is_dir():
            return any((path / name).is_file() for name in names)
        if not path.is_file() or path.stat().st_size > MAX_ARCHIVE_BYTES:
            return False
        with zipfile.ZipFile(path) as archive:
            listed = set(archive.namelist())
        return any(name in listed for name in names)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile):
        return False


class JsonFiles:
    """Reads JSON files, each once: a second read of the same resolved path is cached."""

    def __init__(self) -> None:
        self._cache: dict[Path, Any] = {}
        #: how many files were actually read from disk (tests count re-reads)
        self.reads = 0

    def load(self, path: Path, what: str) -> Any:
        """The parsed JSON at ``path`` (already confined by the caller)."""
        key = path.resolve()
        if key not in self._cache:
            self.reads += 1
            self._cache[key] = parse_json(read_bytes(key, what), f"{what} {path}")
        return self._cache[key]
