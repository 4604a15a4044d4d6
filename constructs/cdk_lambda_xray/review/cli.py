"""``python -m cdk_lambda_xray review CDK_OUT``: report tracing coverage, gate CI on it.

Exit status: 0 when no unsuppressed finding reaches ``--fail-on``, 1 when one
does, 2 for bad input: the assembly or the suppressions cannot be read (or are
refused), or the command line is wrong. Errors are one line on standard error
that says what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from . import report_html, report_json, report_markdown
from .assembly import AssemblyError
from .command_line import (
    Console,
    Parser,
    UsageError,
    add_format_option,
    parse_formats,
    write_reports,
)
from .presentation import summary_line
from .review import Review, review_path
from .rules import Severity
from .suppressions import Suppression, SuppressionError, load_cdk_json, load_file

FORMATS: Final = {"md": "review.md", "html": "review.html", "json": "review.json"}
FAIL_ON: Final = ("info", "warning", "error", "none")
DEFAULT_FAIL_ON: Final = "warning"

_console = Console("review")
_say, _error = _console.say, _console.error


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m cdk_lambda_xray review",
        description="Report the X-Ray tracing coverage of a synthesized CDK app (cdk.out) "
        "and fail when findings reach a severity.",
    )
    parser.add_argument("cdk_out", help="the cloud assembly directory (usually cdk.out)")
    add_format_option(parser)
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="write review.md / review.html / review.json into DIR (default: stdout, "
        "one format only)",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default=DEFAULT_FAIL_ON,
        help=f"exit 1 when a finding has this severity or higher (default: {DEFAULT_FAIL_ON})",
    )
    parser.add_argument(
        "--suppressions",
        action="append",
        metavar="FILE",
        default=[],
        help="JSON file of suppressions (each needs a reason); repeatable",
    )
    parser.add_argument(
        "--cdk-json",
        metavar="FILE",
        help="cdk.json whose context holds suppressions (default: the cdk.json next to "
        "CDK_OUT, if any)",
    )
    return parser


def _suppressions(args: argparse.Namespace) -> list[Suppression]:
    found: list[Suppression] = []
    cdk_json = Path(args.cdk_json) if args.cdk_json else Path(args.cdk_out).parent / "cdk.json"
    if args.cdk_json or cdk_json.is_file():
        found += load_cdk_json(cdk_json)
    for file in args.suppressions:
        found += load_file(file)
    return found


def _render(fmt: str, review: Review, fail_on: Severity | None) -> str:
    if fmt == "html":
        return report_html.render(review, fail_on)
    if fmt == "json":
        return report_json.render(review, fail_on)
    return report_markdown.render(review, fail_on)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the review command; returns the exit status (0 pass, 1 gate failed, 2 error)."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), stdout or sys.stdout)
    except UsageError as exc:
        return _error(f"{exc} (see --help)")
    except Exception as exc:  # the last line of defence: bad input is handled before this
        return _error(
            f"internal error, a bug in the review (please report it): {type(exc).__name__}: {exc}"
        )


def _main(argv: list[str], out: TextIO) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    formats = parse_formats(args.format, FORMATS)
    if len(formats) > 1 and not args.output:
        return _error("several formats need --output DIR (stdout takes one report)")
    directory = Path(args.output) if args.output else None
    if directory is not None and directory.exists() and not directory.is_dir():
        return _error(
            f"--output {directory} is a file; pass a directory (review.md, review.html and "
            "review.json are written into it)"
        )
    fail_on = None if args.fail_on == "none" else Severity.parse(args.fail_on)
    try:
        suppressions = _suppressions(args)
        review = review_path(args.cdk_out, suppressions)
    except (AssemblyError, SuppressionError) as exc:
        return _error(str(exc))
    reports = {fmt: _render(fmt, review, fail_on) for fmt in formats}
    failed = write_reports(reports, directory, FORMATS, out, _console)
    if failed is not None:
        return failed
    for s in review.unused_suppressions:
        _say(f"unused suppression {s.rule} {s.resource!r} ({s.origin})")
    _say(summary_line(review, fail_on))
    return 1 if review.failed(fail_on) else 0
