"""``python -m cdk_lambda_xray review CDK_OUT``: report tracing coverage, gate CI on it.

Exit status: 0 when no unsuppressed finding reaches ``--fail-on``, 1 when one
does, 2 when the assembly or the suppressions cannot be read (the message says
what to do).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from . import report_html, report_json, report_markdown
from .assembly import AssemblyError
from .report_markdown import summary_line
from .review import Review, review_path
from .rules import Severity
from .suppressions import Suppression, SuppressionError, load_cdk_json, load_file

FORMATS: Final = {"md": "review.md", "html": "review.html", "json": "review.json"}
FAIL_ON: Final = ("info", "warning", "error", "none")
DEFAULT_FAIL_ON: Final = "warning"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray review",
        description="Report the X-Ray tracing coverage of a synthesized CDK app (cdk.out) "
        "and fail when findings reach a severity.",
    )
    parser.add_argument("cdk_out", help="the cloud assembly directory (usually cdk.out)")
    parser.add_argument(
        "--format",
        action="append",
        metavar="{md,html,json}",
        help="report format; repeat or comma-separate for several (default: md)",
    )
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


def _formats(values: Sequence[str] | None) -> list[str]:
    chosen: list[str] = []
    for value in values or ["md"]:
        for item in value.split(","):
            name = item.strip().lower()
            if name == "markdown":
                name = "md"
            if name not in FORMATS:
                raise ValueError(f"unknown format {item!r}; use md, html or json")
            if name not in chosen:
                chosen.append(name)
    return chosen


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
    out = stdout or sys.stdout
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    try:
        formats = _formats(args.format)
    except ValueError as exc:
        return _error(str(exc))
    if len(formats) > 1 and not args.output:
        return _error("several formats need --output DIR (stdout takes one report)")
    fail_on = None if args.fail_on == "none" else Severity.parse(args.fail_on)
    try:
        suppressions = _suppressions(args)
        review = review_path(args.cdk_out, suppressions)
    except (AssemblyError, SuppressionError) as exc:
        return _error(str(exc))
    if args.output:
        directory = Path(args.output)
        directory.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            target = directory / FORMATS[fmt]
            target.write_text(_render(fmt, review, fail_on), encoding="utf-8")
            print(f"review: wrote {target}", file=sys.stderr)
    else:
        out.write(_render(formats[0], review, fail_on))
    for s in review.unused_suppressions:
        print(f"review: unused suppression {s.rule} {s.resource!r} ({s.origin})", file=sys.stderr)
    print(f"review: {summary_line(review, fail_on)}", file=sys.stderr)
    return 1 if review.failed(fail_on) else 0


def _error(message: str) -> int:
    print(f"review: error: {message}", file=sys.stderr)
    return 2
