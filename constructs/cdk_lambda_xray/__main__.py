"""Command line: ``python -m cdk_lambda_xray <command> ...``.

Commands load their own modules only when chosen, so ``collect`` starts fast.
The construct library needs none of the commands' dependencies: each command
names the extra that installs them (``pip install 'cdk-lambda-xray[review]'``,
``[local]``), and a command whose dependency is missing prints that one line
and exits with :data:`MISSING_EXTRA` instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["COMMANDS", "EXTRAS", "MISSING_EXTRA", "main"]

#: Exit status when a command's optional dependency is not installed.
MISSING_EXTRA = 3


class Command(NamedTuple):
    """A subcommand: its module (with ``main(argv) -> int``), help, and the extra it needs."""

    module: str
    help: str
    extra: str


COMMANDS: dict[str, Command] = {
    "collect": Command(
        "cdk_lambda_xray.local.collector_cli", "run a local X-Ray daemon stand-in (UDP)", "local"
    ),
    "traces": Command(
        "cdk_lambda_xray.local.traceview_cli", "show collected traces as trees / HTML", "local"
    ),
    "demo": Command(
        "cdk_lambda_xray.local.demo",
        "deploy an app (default: the reference app), run its flows, show traces",
        "local",
    ),
    "local": Command(
        "cdk_lambda_xray.local.cli",
        "any CDK app locally: start | deploy | invoke | traces",
        "local",
    ),
    "review": Command(
        "cdk_lambda_xray.review.cli", "report tracing coverage of a synthesized cdk.out", "review"
    ),
    "verify": Command(
        "cdk_lambda_xray.verify.cli", "compare a cdk.out's promised hops with traces", "review"
    ),
}

#: The importable modules each extra of the package installs (pyproject.toml).
EXTRAS: dict[str, frozenset[str]] = {
    "review": frozenset({"jinja2", "markupsafe"}),
    "local": frozenset({"jinja2", "markupsafe", "boto3", "botocore", "ministack"}),
}


def _usage() -> str:
    lines = ["usage: python -m cdk_lambda_xray <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {command.help}" for name, command in COMMANDS.items()]
    return "\n".join(lines)


def missing_extra_line(command: str, error: ModuleNotFoundError) -> str | None:
    """The one line naming the extra to install, if ``error`` is one of its modules."""
    extra = COMMANDS[command].extra
    missing = (error.name or "").partition(".")[0]
    if missing not in EXTRAS[extra]:
        return None
    return (
        f"`python -m cdk_lambda_xray {command}` needs {missing}, which is not installed: "
        f"pip install 'cdk-lambda-xray[{extra}]'"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[command].module)
        result: int = module.main(rest)
    except ModuleNotFoundError as exc:
        line = missing_extra_line(command, exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return MISSING_EXTRA
    return result


if __name__ == "__main__":
    sys.exit(main())
