"""What the ``review`` and ``verify`` commands share on the command line.

A wrong command line or bad input is one line on standard error and exit
status 2 (:data:`BAD_INPUT`), never argparse's usage dump or a traceback;
``--format`` takes names repeated or comma-separated; reports go to a
directory (one file per format) or, one only, to standard output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NoReturn, TextIO

from .text import terminal_safe

__all__ = [
    "BAD_INPUT",
    "Console",
    "Parser",
    "UsageError",
    "add_format_option",
    "parse_formats",
    "write_reports",
]

#: Exit status for bad input or a wrong command line.
BAD_INPUT: Final = 2
#: Longest line written to standard error (characters, ``...`` marks a cut).
MAX_LINE: Final = 2000


class UsageError(Exception):
    """A wrong command line; the command says it in one line and exits 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        """One line and exit 2 (argparse would print the usage and echo raw input)."""
        raise UsageError(message)


class Console:
    """The lines a command writes on standard error, each prefixed ``<command>: ``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def say(self, message: str) -> None:
        """One line on standard error, control characters escaped, at most 2,000 characters."""
        line = terminal_safe(message).replace("\n", "\\n")
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 3] + "..."
        print(f"{self.command}: {line}", file=sys.stderr)

    def error(self, message: str) -> int:
        """Say ``error: message``; returns :data:`BAD_INPUT`."""
        self.say(f"error: {message}")
        return BAD_INPUT


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format``, repeatable and comma-separated; read it with :func:`parse_formats`."""
    parser.add_argument(
        "--format",
        action="append",
        metavar="{md,html,json}",
        help="report format; repeat or comma-separate for several (default: md)",
    )


def parse_formats(values: Sequence[str] | None, known: Mapping[str, str]) -> list[str]:
    """The ``--format`` values in order, once each (``markdown`` is ``md``; default ``md``).

    Raises :class:`UsageError` for a name not in ``known``.
    """
    chosen: list[str] = []
    for value in values or ["md"]:
        for item in value.split(","):
            name = item.strip().lower()
            if name == "markdown":
                name = "md"
            if name not in known:
                raise UsageError(f"unknown format {item!r}; use md, html or json")
            if name not in chosen:
                chosen.append(name)
    return chosen


def write_reports(
    reports: Mapping[str, str],
    directory: Path | None,
    file_names: Mapping[str, str],
    out: TextIO,
    console: Console,
) -> int | None:
    """Write each report into ``directory`` as ``file_names[format]`` (a ``wrote`` line
    each) or, without a directory, the first report to ``out``.

    Returns ``None`` when written, else :data:`BAD_INPUT` after one error line.
    """
    if directory is None:
        out.write(terminal_safe(next(iter(reports.values()))))
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for fmt, text in reports.items():
            target = directory / file_names[fmt]
            target.write_text(text, encoding="utf-8", errors="backslashreplace")
            console.say(f"wrote {target}")
    except OSError as exc:
        return console.error(f"cannot write the report into --output {directory}: {exc}")
    return None
