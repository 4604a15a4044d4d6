"""Command line: ``python -m cdk_lambda_xray <command> ...``.

Commands load their own modules only when chosen, so ``collect`` starts fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# command -> (module with a ``main(argv) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "collect": ("cdk_lambda_xray.local.collector_cli", "run a local X-Ray daemon stand-in (UDP)"),
    "traces": ("cdk_lambda_xray.local.traceview_cli", "show collected traces as trees / HTML"),
    "demo": ("cdk_lambda_xray.local.demo", "deploy the reference app locally and show traces"),
    "review": ("cdk_lambda_xray.review.cli", "report tracing coverage of a synthesized cdk.out"),
    "verify": ("cdk_lambda_xray.verify.cli", "compare a cdk.out's promised hops with traces"),
}


def _usage() -> str:
    lines = ["usage: python -m cdk_lambda_xray <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


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
    module = importlib.import_module(COMMANDS[command][0])
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
