"""``python -m cdk_lambda_xray demo``: deploy an app locally, run its flows, show the traces.

The app directory (default: the nearest one with ``app.py`` and ``cdk.json``,
the reference app in this repository) declares what to deploy and do in its
flows file, ``demo_flows.py`` (``STACK`` and ``FLOWS``, see
:mod:`~cdk_lambda_xray.local.appdir`); the steps are the generic runner's
(:mod:`~cdk_lambda_xray.local.runner`). The emulator keeps no state on disk,
so a second run starts clean.

Exit status: 0 when every step succeeded, 1 when a step failed, 2 when the
command line, the app directory or its flows file cannot be used (one line on
stderr).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .appdir import FLOWS_FILE, AppError, load_flows, require_app_dir
from .runner import RunOptions, run_app

__all__ = ["main"]

#: Exit status when the app directory or its flows file cannot be used.
BAD_APP = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray demo",
        description="Deploy a CDK app to a local AWS emulator, run its flows "
        f"({FLOWS_FILE}), and show the X-Ray traces the functions sent.",
    )
    parser.add_argument("--app-dir", type=Path, help="directory with app.py and cdk.json")
    parser.add_argument("--flows", type=Path, help=f"the flows file (default APP_DIR/{FLOWS_FILE})")
    parser.add_argument(
        "--work-dir", type=Path, help="where logs, cdk.out and traces go (default APP_DIR/.demo)"
    )
    parser.add_argument("--stack", help="stack to deploy (default: the flows file's STACK)")
    parser.add_argument(
        "--trace-timeout", type=float, default=45, help="seconds to wait for traces (default 45)"
    )
    parser.add_argument(
        "--deploy-timeout", type=float, default=240, help="seconds for cdk deploy (default 240)"
    )
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step succeeded (see the module for the exit status)."""
    args = _parser().parse_args(argv)
    try:
        app_dir = require_app_dir(args.app_dir)
        declared = load_flows(args.flows or app_dir / FLOWS_FILE)
    except AppError as exc:
        print(str(exc), file=sys.stderr)
        return BAD_APP
    options = RunOptions(
        app_dir=app_dir,
        work_dir=(args.work_dir or app_dir / ".demo").resolve(),
        stack=args.stack or declared.stack,
        flows=declared.flows,
        trace_timeout=args.trace_timeout,
        deploy_timeout=args.deploy_timeout,
        color=sys.stdout.isatty() and not args.no_color,
    )
    # SIGTERM (CI cancelling a job) tears down like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return 0 if run_app(options).ok else 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
