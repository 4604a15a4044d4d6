"""``python -m cdk_lambda_xray local start|deploy|invoke|traces``: any CDK app, locally traced.

- ``start``: run the X-Ray collector and MiniStack in the foreground (Ctrl-C
  stops both); writes ``local.json`` (where they listen) and appends every
  document to ``traces.jsonl`` in the work directory;
- ``deploy``: ``cdk bootstrap`` (once per emulator) and ``cdk deploy STACK`` of
  the app in ``--app-dir`` into that emulator, then read the deployment back
  and compare it with the template; prints the stack outputs;
- ``invoke FUNCTION``: invoke a function (a name, an ARN or a stack output
  key) with ``--payload``, inside a client segment whose trace header the
  function continues; prints the function's result;
- ``traces``: show the collected documents as trace trees (``--wait-for
  HANDLER`` first waits until that handler's trace arrived).

The work directory (``--work-dir``, default ``.cdk-lambda-xray`` in the current
directory) is what connects the commands; ``--endpoint-url`` and
``--daemon-address`` aim ``deploy`` and ``invoke`` at an emulator and a
collector started some other way.

Exit status: 0 done; 1 the operation failed (a step of the deploy, the function
raised, no trace before ``--timeout``, the emulator did not start); 2 the
command line, the app directory or the running emulator cannot be used. Every
failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from .appdir import FLOWS_FILE, AppError, load_flows, require_app_dir
from .steps import one_line

__all__ = ["BAD_USAGE", "FAILED", "main"]

#: Exit status when the operation itself failed.
FAILED = 1
#: Exit status for a bad command line, a missing app or no running emulator.
BAD_USAGE = 2
#: The work directory the commands share by default (relative to the current directory).
DEFAULT_WORK_DIR = Path(".cdk-lambda-xray")
PROG = "python -m cdk_lambda_xray local"


class UsageError(Exception):
    """The command cannot run as asked; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``PROG: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run any CDK app against a local, traced AWS.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def work_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            help=f"shared by the commands (default {DEFAULT_WORK_DIR})",
        )

    start = commands.add_parser("start", help="run the collector and MiniStack until Ctrl-C")
    work_dir(start)
    start.add_argument("--daemon-port", type=int, default=0, help="UDP port (default: free)")
    start.add_argument("--cli-root", type=Path, help="where node_modules (CDK CLI, SDK) is")

    deploy = commands.add_parser("deploy", help="cdk deploy an app into the running emulator")
    work_dir(deploy)
    deploy.add_argument("--app-dir", type=Path, help="the app's directory (with cdk.json)")
    deploy.add_argument("--stack", help=f"stack to deploy (default: STACK in {FLOWS_FILE})")
    deploy.add_argument("--endpoint-url", help="the emulator (default: from local.json)")
    deploy.add_argument("--deploy-timeout", type=float, default=240, help="seconds (240)")

    invoke = commands.add_parser("invoke", help="invoke a deployed function, traced")
    work_dir(invoke)
    invoke.add_argument("function", help="function name or ARN, or a stack output key")
    invoke.add_argument("--payload", default="{}", help="the event, JSON (default {})")
    invoke.add_argument("--endpoint-url", help="the emulator (default: from local.json)")
    invoke.add_argument("--daemon-address", help="the collector (default: from local.json)")

    traces = commands.add_parser("traces", help="show the collected traces")
    work_dir(traces)
    traces.add_argument("--file", type=Path, help="documents (default WORK_DIR/traces.jsonl)")
    traces.add_argument("--wait-for", metavar="HANDLER", help="wait for this handler's trace")
    traces.add_argument("--timeout", type=float, default=30, help="for --wait-for (30 s)")
    traces.add_argument("--html", type=Path, help="also write a static HTML page here")
    traces.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``local`` command; returns the exit status (see the module)."""
    args = _parser().parse_args(argv)
    handlers = {"start": _start, "deploy": _deploy, "invoke": _invoke, "traces": _traces}
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
        return BAD_USAGE


# -- start ---------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    from .deploy import CdkError, find_cli_root
    from .localaws import LocalAws, remove_state, write_state

    work = args.work_dir.resolve()
    try:
        node_modules = (args.cli_root or find_cli_root(Path.cwd())) / "node_modules"
    except CdkError as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    local = LocalAws(work, node_modules=node_modules, daemon_port=args.daemon_port)
    try:
        try:
            local.start()
        except Exception as exc:
            print(f"{PROG} start: {one_line(exc).splitlines()[0]}", file=sys.stderr)
            return FAILED
        state_path = write_state(work, local.state())
        print(
            f"local AWS at {local.endpoint_url}, X-Ray daemon at udp {local.daemon_address}\n"
            f"state {state_path}, documents {local.traces_path}; Ctrl-C stops",
            flush=True,
        )
        while not stop.wait(0.5):
            if local.emulator is None or not local.emulator.is_running():
                print(f"{PROG} start: MiniStack stopped; see {work / 'ministack.log'}")
                return FAILED
        return 0
    finally:
        remove_state(work)
        local.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"stopped; {len(local.collector.documents)} documents in {local.traces_path}")


# -- deploy --------------------------------------------------------------------------


def _endpoint(args: argparse.Namespace) -> tuple[str, str | None]:
    """The emulator's URL and the collector's address: from the flags, else ``local.json``."""
    from .localaws import read_state

    state = read_state(args.work_dir)
    endpoint = args.endpoint_url or (state.endpoint_url if state else None)
    daemon = getattr(args, "daemon_address", None) or (state.daemon_address if state else None)
    if endpoint is None:
        raise UsageError(
            f"no local emulator running for {args.work_dir} (no live local.json): start one "
            f"with `{PROG} start --work-dir {args.work_dir}` or pass --endpoint-url"
        )
    return endpoint, daemon


def _deploy(args: argparse.Namespace) -> int:
    from .deploy import CdkCli, find_cli_root
    from .runner import check_tools, deploy_and_read_back, emulator_client
    from .settings import local_session
    from .steps import Progress

    try:
        app_dir = require_app_dir(args.app_dir)
        stack = args.stack or load_flows(app_dir / FLOWS_FILE).stack
    except AppError as exc:
        hint = "" if args.stack else f" (or pass --stack; no usable {FLOWS_FILE})"
        raise UsageError(f"{exc}{hint}") from None
    endpoint, _ = _endpoint(args)
    progress = Progress(sys.stdout)
    session = local_session()
    try:
        cli_root = check_tools(progress, find_cli_root(app_dir), app_dir)
        cli = CdkCli(app_dir, args.work_dir, endpoint_url=endpoint, cli_root=cli_root)
        bootstrapped = _has_bootstrap(emulator_client(session, endpoint))
        outputs, _ = deploy_and_read_back(
            progress,
            cli,
            stack,
            session=session,
            bootstrap_timeout=180,
            deploy_timeout=args.deploy_timeout,
            bootstrap=not bootstrapped,
        )
    except Exception as exc:
        print(f"{PROG} deploy: {one_line(exc).splitlines()[0]}", file=sys.stderr)
        return FAILED
    for key, value in outputs.items():
        print(f"{key} = {value}")
    if progress.failed:
        print(f"{PROG} deploy: {progress.failed[0].detail}", file=sys.stderr)
        return FAILED
    return 0


def _has_bootstrap(client: Any) -> bool:
    """Whether the emulator already has the CDK bootstrap stack (``CDKToolkit``)."""
    try:
        stacks = client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"]
    except Exception:  # botocore's ClientError: "does not exist"
        return False
    return any(str(s.get("StackStatus", "")).endswith("_COMPLETE") for s in stacks)


# -- invoke --------------------------------------------------------------------------


def _function_name(work_dir: Path, function: str) -> str:
    """``function``, or the value of the stack output of that name in ``outputs.json``."""
    try:
        outputs = json.loads((work_dir / "outputs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return function
    if isinstance(outputs, dict):
        for stack_outputs in outputs.values():
            if isinstance(stack_outputs, dict) and function in stack_outputs:
                return str(stack_outputs[function])
    return function


def _invoke(args: argparse.Namespace) -> int:
    from .client_trace import ClientTrace
    from .flows import invoke_function
    from .runner import emulator_client
    from .settings import local_session
    from .xray_udp import parse_daemon_address

    try:
        event = json.loads(args.payload)
    except ValueError as exc:
        raise UsageError(f"--payload is not JSON: {exc}") from None
    if args.daemon_address is not None and parse_daemon_address(args.daemon_address) is None:
        raise UsageError(f"--daemon-address is HOST:PORT, not {args.daemon_address!r}")
    endpoint, daemon = _endpoint(args)
    function = _function_name(args.work_dir, args.function)
    client = emulator_client(local_session(), endpoint)
    try:
        with ClientTrace("invoke", daemon) as trace:
            result = invoke_function(trace.instrument(client("lambda")), function, event)
    except Exception as exc:
        print(f"{PROG} invoke: {one_line(exc).splitlines()[0]}", file=sys.stderr)
        return FAILED
    print(json.dumps(result["payload"]))
    if result["function_error"]:
        payload = result["payload"]
        message = payload.get("errorMessage", "") if isinstance(payload, dict) else payload
        print(
            f"{PROG} invoke: function error {result['function_error']}: {message}", file=sys.stderr
        )
        return FAILED
    return 0


# -- traces --------------------------------------------------------------------------


def _traces(args: argparse.Namespace) -> int:
    from .traceview_cli import main as show

    path: Path = args.file or args.work_dir / "traces.jsonl"
    if args.wait_for is not None and not _wait_for_handler(path, args.wait_for, args.timeout):
        print(
            f"{PROG} traces: no trace of ## {args.wait_for} in {path} after {args.timeout:g}s",
            file=sys.stderr,
        )
        return FAILED
    forwarded = [str(path)]
    if args.html is not None:
        forwarded += ["--html", str(args.html)]
    if args.no_color:
        forwarded.append("--no-color")
    return show(forwarded)


def _wait_for_handler(path: Path, handler: str, timeout: float) -> bool:
    """Whether a ``## handler`` subsegment shows up in ``path`` within ``timeout`` seconds."""
    from .tracefile import TraceFileError, load_documents
    from .traceview import build_traces

    name = f"## {handler}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            documents = [d for d in load_documents(path) if isinstance(d, dict)]
        except TraceFileError:
            documents = []
        if any(n.raw_name == name for t in build_traces(documents) for _, n in t.nodes()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
