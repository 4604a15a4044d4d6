"""``python -m cdk_lambda_xray verify CDK_OUT TRACES``: promised hops against observed ones.

``CDK_OUT`` is a synthesized cloud assembly (read by the review's confined,
bounded readers); ``TRACES`` the collector's JSON-lines file (or a JSON array
of segment documents; read with the collector's bounded JSON parser).

Exit status: 0 when the gate passes, 1 when ``--fail-on`` fails (``missing``,
the default: a promised hop with tracing on was not observed; ``undeclared``:
an observed call no template promises; ``all``: either), 2 for bad input (a
file that is missing or not JSON lines, a directory that is not a cloud
assembly, a wrong command line). Errors are one line on standard error, never
a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from cdk_lambda_xray.local.tracefile import TraceFileError, load_documents
from cdk_lambda_xray.local.tracemap import map_from_documents
from cdk_lambda_xray.review.assembly import AssemblyError, load_assembly
from cdk_lambda_xray.review.build import build_model
from cdk_lambda_xray.review.command_line import (
    Console,
    Parser,
    UsageError,
    add_format_option,
    parse_formats,
    write_reports,
)
from cdk_lambda_xray.verify.compare import Verification, verify_map
from cdk_lambda_xray.verify.match import Matcher
from cdk_lambda_xray.verify.reports import render_html, render_json, render_markdown

__all__ = ["main", "verify_paths"]

FORMATS: Final = {"md": "verify.md", "html": "verify.html", "json": "verify.json"}
FAIL_ON: Final = ("missing", "undeclared", "all", "none")
_console = Console("verify")
_say, _error = _console.say, _console.error


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m cdk_lambda_xray verify",
        description="Compare the hops a synthesized CDK app promises (event sources -> "
        "functions -> what IAM lets them call) with the edges observed in collected traces.",
    )
    parser.add_argument("cdk_out", help="the cloud assembly directory (usually cdk.out)")
    parser.add_argument("traces", help="the collector's JSON-lines file (collect --output)")
    add_format_option(parser)
    parser.add_argument(
        "--output", metavar="DIR", help="write verify.md / verify.html / verify.json into DIR"
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="missing",
        help="exit 1 on missing hops (default), undeclared calls, all of these, or none",
    )
    return parser


def verify_paths(cdk_out: str | Path, traces: str | Path) -> Verification:
    """Load both inputs and compare them; raises AssemblyError or TraceFileError for bad input."""
    assembly = load_assembly(cdk_out)
    model = build_model(assembly)
    documents = load_documents(Path(traces))
    trace_map = map_from_documents(documents)
    return verify_map(model, Matcher(assembly, model), trace_map, traces=str(traces))


def _render(fmt: str, verification: Verification, fail_on: str) -> str:
    renderer = {"html": render_html, "json": render_json}.get(fmt, render_markdown)
    return renderer(verification, fail_on)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the verify command; returns the exit status (0 pass, 1 gate failed, 2 bad input)."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), stdout or sys.stdout)
    except UsageError as exc:
        return _error(f"{exc} (see --help)")
    except Exception as exc:  # the last line of defence: bad input is handled before this
        return _error(f"internal error, a bug in verify (please report it): {type(exc).__name__}")


def _main(argv: list[str], out: TextIO) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    formats = parse_formats(args.format, FORMATS)
    if len(formats) > 1 and not args.output:
        return _error("several formats need --output DIR (stdout takes one report)")
    try:
        verification = verify_paths(args.cdk_out, args.traces)
    except AssemblyError as exc:
        return _error(str(exc))
    except TraceFileError as exc:
        return _error(f"cannot read the traces: {exc}")
    reports = {fmt: _render(fmt, verification, args.fail_on) for fmt in formats}
    directory = Path(args.output) if args.output else None
    failed = write_reports(reports, directory, FORMATS, out, _console)
    if failed is not None:
        return failed
    _say(verification.summary(args.fail_on))
    return 1 if verification.failed(args.fail_on) else 0
