"""``python -m cdk_lambda_xray demo``: deploy the reference app locally and show its traces.

Steps, each printed with its time:

1. start the X-Ray collector (UDP, a free port on 127.0.0.1);
2. start MiniStack, telling its functions where the collector listens
   (``AWS_XRAY_DAEMON_ADDRESS``, as Lambda does for its daemon);
3. ``cdk bootstrap`` and 4. ``cdk deploy`` with the pinned CDK CLI;
5. read the deployed configuration back and report any difference from the template;
6. run the flows: upload an object, invoke the writer, publish to the topic, and
   invoke the writer with ``{"fail": true}`` (it must raise);
7. wait (bounded) until every flow's trace has arrived with the expected calls;
8. check that the collector rejected nothing;

then stop the emulator and the collector (always, also after a failure or
Ctrl-C), print the trace trees, write ``traces.html`` and ``traces.jsonl`` to
the work directory (default ``.demo/``) and exit non-zero if any step failed.
The last step runs ``verify`` on ``cdk.out`` and ``traces.jsonl`` (report in
``verify.md`` / ``verify.html``) and fails if a promised hop is missing.
The emulator keeps no state on disk, so a second run starts clean.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from cdk_lambda_xray._contract import ENV_HANDLER
from cdk_lambda_xray.local.client_trace import ClientTrace, disconnection
from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.deploy import (
    LOCAL_REGION,
    TMP_PREFIX,
    CdkCli,
    find_cli_root,
    missing_node_packages,
    node_runtime_packages,
)
from cdk_lambda_xray.local.emulator import STATE_PREFIX, MiniStack
from cdk_lambda_xray.local.readback import Readback, read_back
from cdk_lambda_xray.local.tracepage import write_html
from cdk_lambda_xray.local.traceview import Node, Trace, build_traces, render_trace_text

STACK = "LambdaXrayReference"
#: What the demo leaves in its work directory (and removes at the next start).
_WORK_ITEMS = (
    "cdk-home",
    "cdk.out",
    "outputs.json",
    "cdk-bootstrap.log",
    "cdk-deploy.log",
    "cdk-destroy.log",
    "ministack.log",
    "traces.jsonl",
    "traces.html",
    "verify.md",
    "verify.html",
)


# -- flows and what their traces must show -----------------------------------------


@dataclass(frozen=True)
class FlowSpec:
    """One flow of the reference app and the trace it must produce."""

    key: str
    title: str
    handler: str
    calls: tuple[tuple[str, str], ...] = ()
    fault_message: str | None = None

    @property
    def root_name(self) -> str:
        """Name of the handler subsegment the layer opens (``## module.func``)."""
        return f"## {self.handler}"


FLOWS: tuple[FlowSpec, ...] = (
    FlowSpec(
        "upload",
        "S3 upload -> RecordUpload -> DynamoDB",
        "record_upload.handler",
        (("DynamoDB", "ListTables"), ("DynamoDB", "PutItem")),
    ),
    FlowSpec("invoke", "invoke WriteObject -> S3", "write_object.handler", (("S3", "PutObject"),)),
    FlowSpec(
        "publish", "SNS publish -> Notify -> DynamoDB", "notify.handler", (("DynamoDB", "PutItem"),)
    ),
    FlowSpec(
        "failure",
        "invoke WriteObject with fail=true",
        "write_object.handler",
        fault_message="requested failure",
    ),
)


def _descendants(node: Node) -> Iterator[Node]:
    for _, child in node.walk():
        if child is not node:
            yield child


def _matches(node: Node, spec: FlowSpec) -> bool:
    if node.raw_name != spec.root_name:
        return False
    if spec.fault_message is not None:
        return "fault" in node.flags and any(spec.fault_message in m for m in node.exceptions)
    if "fault" in node.flags:
        return False
    return all(
        any(
            d.raw_name == service and d.operation == operation and d.status == 200
            for d in _descendants(node)
        )
        for service, operation in spec.calls
    )


def find_flow_trace(traces: Sequence[Trace], spec: FlowSpec) -> Trace | None:
    """The first trace whose handler subsegment shows what ``spec`` expects."""
    for trace in traces:
        if any(_matches(node, spec) for _, node in trace.nodes()):
            return trace
    return None


def missing_flows(
    documents: list[dict[str, Any]], specs: Sequence[FlowSpec], *, connected: bool = False
) -> list[FlowSpec]:
    """The flows whose expected trace is not (yet) among ``documents``.

    With ``connected``, a trace counts only once it is one connected trace from
    the demo's client segment (``client_trace.disconnection``).
    """
    traces = build_traces(documents)
    found = [(s, find_flow_trace(traces, s)) for s in specs]
    return [
        s for s, trace in found if trace is None or (connected and disconnection(trace) is not None)
    ]


# -- progress ------------------------------------------------------------------------


@dataclass
class StepRecord:
    """One step: its title, outcome, time taken and a short detail."""

    title: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""


class StepFailed(Exception):
    """A step failed; its message is the detail shown."""


class Progress:
    """Prints ``[n] title ...`` when a step starts and a result line with timing when it ends."""

    def __init__(self, out: TextIO, *, heartbeat: float = 10.0) -> None:
        self.out = out
        self.records: list[StepRecord] = []
        self.heartbeat = heartbeat
        self.started = time.monotonic()

    def print(self, text: str = "") -> None:
        """Write a line and flush (progress must show while a step runs)."""
        print(text, file=self.out, flush=True)

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[StepRecord]:
        """Run one step; an exception marks it failed and propagates."""
        record = StepRecord(title)
        self.records.append(record)
        number = len(self.records)
        self.print(f"[{number:>2}] {title} ...")
        done = threading.Event()
        began = time.monotonic()

        def tick() -> None:
            while not done.wait(self.heartbeat):
                self.print(f"     ... {title}: {time.monotonic() - began:.0f} s")

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield record
            record.ok = True
        except BaseException as exc:
            record.ok = False
            record.detail = record.detail or _one_line(exc)
            raise
        finally:
            done.set()
            ticker.join()
            record.seconds = time.monotonic() - began
            mark = "ok" if record.ok else "FAILED"
            detail = f"  {record.detail}" if record.detail else ""
            self.print(f"     {mark} ({record.seconds:.1f} s){detail}")

    @property
    def failed(self) -> list[StepRecord]:
        """The steps that failed."""
        return [r for r in self.records if not r.ok]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {text}"


# -- the demo ------------------------------------------------------------------------


@dataclass
class DemoOptions:
    """Where the app is, where to work, and the time limits."""

    app_dir: Path
    work_dir: Path
    stack: str = STACK
    emulator_timeout: float = 60
    bootstrap_timeout: float = 180
    deploy_timeout: float = 240
    trace_timeout: float = 45
    color: bool = False
    #: Where ``node_modules`` (CDK CLI, Node.js SDK) is; default: found from ``app_dir``.
    cli_root: Path | None = None


@dataclass
class DemoResult:
    """Everything the demo did and saw (the e2e test asserts on this)."""

    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    readback: Readback | None = None
    invocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    rejects: int = 0
    reject_reasons: list[str] = field(default_factory=list)
    flow_traces: dict[str, Trace | None] = field(default_factory=dict)
    html_path: Path | None = None
    wall_seconds: float = 0.0
    emulator_pid: int | None = None

    @property
    def ok(self) -> bool:
        """Every step succeeded."""
        return bool(self.steps) and all(s.ok for s in self.steps)


def _prepare_work_dir(work_dir: Path) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    # Temporary directories a killed run may have left (its lifeline normally removes them).
    leftovers = [*work_dir.glob(f"{STATE_PREFIX}*"), *work_dir.glob(f"{TMP_PREFIX}*")]
    for path in [*(work_dir / name for name in _WORK_ITEMS), *leftovers]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _session() -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=LOCAL_REGION
    )


def run_demo(options: DemoOptions, out: TextIO | None = None) -> DemoResult:
    """Run the whole demo; never raises for a failed step (see ``DemoResult.ok``)."""
    progress = Progress(out or sys.stdout)
    result = DemoResult(steps=progress.records)
    work = options.work_dir.resolve()
    _prepare_work_dir(work)
    collector = Collector()
    emulator: MiniStack | None = None
    try:
        with progress.step(
            "check the pinned tools (CDK CLI, Node.js SDK for custom resources)"
        ) as step:
            cli_root = options.cli_root or find_cli_root(options.app_dir)
            missing = missing_node_packages(cli_root)
            if missing:
                raise StepFailed(
                    f"{', '.join(missing)} not installed in {cli_root / 'node_modules'}: "
                    "run `make setup` (npm ci). CDK's Node.js custom resources import it; "
                    "Lambda's Node.js runtimes include it, MiniStack does not."
                )
            sdk = node_runtime_packages(cli_root)
            step.detail = f"cdk CLI and {len(sdk)} AWS SDK v3 package(s) in {cli_root}"
        with progress.step("start the X-Ray collector (UDP)") as step:
            collector.start()
            step.detail = f"listening on udp {collector.address}"
        emulator = MiniStack(
            work / "ministack.log",
            timeout=options.emulator_timeout,
            xray_daemon_address=collector.address,
            node_modules=cli_root / "node_modules",
        )
        with progress.step("start MiniStack (local AWS)") as step:
            emulator.start()
            result.emulator_pid = emulator.pid
            step.detail = f"{emulator.endpoint_url}, log {emulator.log_path}"
        _deploy_and_run(options, progress, result, collector, emulator, work, cli_root)
    except Exception as exc:  # a failed step is already recorded; anything else is a bug
        if not progress.failed:
            progress.records.append(StepRecord("unexpected error", detail=_one_line(exc)))
            progress.print(f"unexpected error: {_one_line(exc)}")
    except KeyboardInterrupt:
        progress.print("interrupted; tearing down")
        progress.records.append(StepRecord("interrupted", detail="Ctrl-C"))
    finally:
        teardown = "tear down (stop MiniStack and the collector)"
        with contextlib.suppress(Exception), progress.step(teardown):
            if emulator is not None:
                emulator.stop()
            collector.stop(drain=0.2)
    result.documents = collector.documents
    result.rejects = collector.rejects
    result.reject_reasons = collector.reject_reasons
    _report(options, progress, result, work)
    if not progress.failed:  # after a failed step there is nothing sound to verify
        with contextlib.suppress(Exception):
            _verify(progress, work)
    result.wall_seconds = time.monotonic() - progress.started
    _summary(progress, result)
    return result


def _deploy_and_run(
    options: DemoOptions,
    progress: Progress,
    result: DemoResult,
    collector: Collector,
    emulator: MiniStack,
    work: Path,
    cli_root: Path,
) -> None:
    cli = CdkCli(
        options.app_dir,
        work,
        endpoint_url=emulator.endpoint_url,
        cli_root=cli_root,
        emulator_log=emulator.log_path,
    )
    with progress.step("cdk bootstrap aws://000000000000/us-east-1") as step:
        run = cli.bootstrap(timeout=options.bootstrap_timeout)
        step.detail = f"log {run.log_path}"
    with progress.step(f"cdk deploy {options.stack}") as step:
        run, result.outputs = cli.deploy(options.stack, timeout=options.deploy_timeout)
        step.detail = f"{len(result.outputs)} outputs, log {run.log_path}"
    session = _session()

    def client(service: str) -> Any:
        from botocore.config import Config  # type: ignore[import-untyped]

        config = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60)
        return session.client(service, endpoint_url=emulator.endpoint_url, config=config)

    readback_step = progress.step("read back the deployed configuration")
    with contextlib.suppress(Exception), readback_step as step:
        result.readback = read_back(
            cli.template(options.stack),
            options.stack,
            session=session,
            endpoint_url=emulator.endpoint_url,
        )
        step.detail = result.readback.summary().splitlines()[0]
        if result.readback.differences or result.readback.not_compared:
            progress.print(_indent(result.readback.summary()))
        if result.readback.differences:
            raise StepFailed(step.detail)
        progress.print(_indent(_function_lines(result.readback)))

    outputs = result.outputs
    stamp = time.strftime("%Y%m%dT%H%M%S")
    # Each flow's calls are recorded in a client segment of its own, whose trace
    # header travels with the request (docs/local.md, "Connected traces").
    actions: dict[str, Callable[[ClientTrace], str]] = {
        "upload": lambda t: _upload(
            t.instrument(client("s3")), outputs, f"uploads/demo-{stamp}.txt"
        ),
        "invoke": lambda t: _invoke(
            t.instrument(client("lambda")),
            outputs,
            {"key": f"demo/{stamp}.txt", "body": "hello from the demo"},
            result,
            "invoke",
        ),
        "publish": lambda t: _publish(t.instrument(client("sns")), outputs, stamp),
        "failure": lambda t: _invoke(
            t.instrument(client("lambda")), outputs, {"fail": True}, result, "failure"
        ),
    }
    for spec in FLOWS:
        with (
            contextlib.suppress(Exception),
            progress.step(f"flow: {spec.title}") as step,
            ClientTrace(spec.key, collector.address) as trace,
        ):
            step.detail = actions[spec.key](trace)

    with contextlib.suppress(Exception), progress.step("wait for the traces of every flow") as step:
        try:
            collector.wait_for(
                lambda docs: not missing_flows(docs, FLOWS, connected=True),
                timeout=options.trace_timeout,
            )
        except TimeoutError:
            missing = missing_flows(collector.documents, FLOWS, connected=True)
            raise StepFailed(
                f"after {options.trace_timeout:g}s no complete trace for: "
                + "; ".join(f"{s.title} (## {s.handler}: {_expectation(s)})" for s in missing)
            ) from None
        step.detail = f"{len(collector.documents)} documents"
    rejects_step = progress.step("check the collector rejected nothing")
    with contextlib.suppress(Exception), rejects_step as step:
        if collector.rejects:
            raise StepFailed(
                f"{collector.rejects} datagrams rejected: "
                + "; ".join(sorted(set(collector.reject_reasons)))
            )
        step.detail = "0 rejects"


def _expectation(spec: FlowSpec) -> str:
    if spec.fault_message is not None:
        return f"fault with {spec.fault_message!r}"
    return ", ".join(f"{s} {o} 200" for s, o in spec.calls)


def _upload(s3: Any, outputs: dict[str, str], key: str) -> str:
    bucket = outputs["UploadBucketName"]
    s3.put_object(Bucket=bucket, Key=key, Body=b"uploaded by the cdk-lambda-xray demo\n")
    return f"s3://{bucket}/{key}"


def _publish(sns: Any, outputs: dict[str, str], stamp: str) -> str:
    response = sns.publish(
        TopicArn=outputs["TopicArn"], Subject="demo", Message=f"hello from the demo {stamp}"
    )
    return f"message {response['MessageId']}"


def _invoke(
    lam: Any, outputs: dict[str, str], event: dict[str, Any], result: DemoResult, key: str
) -> str:
    response = lam.invoke(
        FunctionName=outputs["WriterFunctionName"], Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read() or b"null")
    error = response.get("FunctionError")
    result.invocations[key] = {"function_error": error, "payload": payload}
    if event.get("fail") is True:
        if not error:
            raise StepFailed(f"expected the function to raise, it returned {payload!r}")
        message = payload.get("errorMessage", "") if isinstance(payload, dict) else payload
        return f"raised as asked: {message} (FunctionError {error})"
    if error:
        raise StepFailed(f"function error {error}: {payload!r}")
    return f"returned {payload!r}"


def _function_lines(readback: Readback) -> str:
    lines = []
    for fc in readback.functions.values():
        layers = ", ".join(arn.rsplit(":", 2)[-2] for arn in fc.layers) or "no layer"
        original = fc.environment.get(ENV_HANDLER)
        handler = f"{fc.handler} -> {original}" if original else fc.handler
        lines.append(
            f"{fc.logical_id}: tracing {fc.tracing_mode}, handler {handler}, layer {layers}"
        )
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"       {line}" for line in text.splitlines())


def _report(options: DemoOptions, progress: Progress, result: DemoResult, work: Path) -> None:
    traces = build_traces(result.documents)
    jsonl = work / "traces.jsonl"
    jsonl.write_text("".join(json.dumps(d) + "\n" for d in result.documents), encoding="utf-8")
    shown: set[str] = set()
    progress.print()
    progress.print(
        "Each flow starts at the demo's client segment; the AWS::Lambda and\n"
        "AWS::Lambda::Function segments are emulated locally (annotation emulated=true).\n"
    )
    for spec in FLOWS:
        trace = find_flow_trace(traces, spec)
        result.flow_traces[spec.key] = trace
        progress.print(f"=== {spec.title}")
        if trace is None:
            progress.print("    (no complete trace received)")
        else:
            shown.add(trace.trace_id)
            progress.print(render_trace_text(trace, color=options.color))
        progress.print()
    others = [t for t in traces if t.trace_id not in shown]
    if others:
        progress.print(f"=== {len(others)} other traces (deploy time: CDK's own handlers)")
        for trace in others:
            progress.print(render_trace_text(trace, color=options.color))
            progress.print()
    labels = {t.trace_id: spec.title for spec in FLOWS if (t := result.flow_traces[spec.key])}
    labels.update({t.trace_id: "deploy time: CDK's own handler" for t in others})
    result.html_path = write_html(
        traces, work / "traces.html", title="cdk-lambda-xray demo", labels=labels
    )
    progress.print(f"HTML page: {result.html_path}")
    progress.print(f"documents: {jsonl}  (python -m cdk_lambda_xray traces {jsonl})")


def _verify(progress: Progress, work: Path) -> None:
    """Last step: the trace map, then every hop the template promises against it (``verify``)."""
    from cdk_lambda_xray.local.tracefile import load_documents
    from cdk_lambda_xray.local.tracemap import map_from_documents
    from cdk_lambda_xray.local.tracemap_render import render_map_text
    from cdk_lambda_xray.verify.cli import verify_paths
    from cdk_lambda_xray.verify.reports import render_html, render_markdown

    with progress.step("verify: the template's promised hops against the traces") as step:
        trace_map = map_from_documents(load_documents(work / "traces.jsonl"))
        progress.print(_indent(render_map_text(trace_map)))
        verification = verify_paths(work / "cdk.out", work / "traces.jsonl")
        (work / "verify.md").write_text(render_markdown(verification, "missing"), "utf-8")
        (work / "verify.html").write_text(render_html(verification, "missing"), "utf-8")
        step.detail = f"{verification.summary('missing')}; report {work / 'verify.md'}"
        if verification.failed("missing"):
            missing = [h for h in verification.hops if h.state.value == "missing"]
            raise StepFailed(
                "; ".join(f"{h.source} -> {h.target}: {h.reason}" for h in missing)
                + f" (report {work / 'verify.md'})"
            )


def _summary(progress: Progress, result: DemoResult) -> None:
    progress.print()
    for number, record in enumerate(progress.records, 1):
        mark = "ok    " if record.ok else "FAILED"
        progress.print(f"  {mark} {record.seconds:6.1f} s  [{number:>2}] {record.title}")
    verdict = "demo OK" if result.ok else f"demo FAILED ({len(progress.failed)} steps failed)"
    progress.print(
        f"{verdict}: {len(result.documents)} documents, {result.rejects} rejected, "
        f"wall time {result.wall_seconds:.1f} s"
    )


# -- command line --------------------------------------------------------------------


def find_app_dir(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` with both ``app.py`` and ``cdk.json``."""
    for directory in [start.resolve(), *start.resolve().parents]:
        if (directory / "app.py").is_file() and (directory / "cdk.json").is_file():
            return directory
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray demo",
        description="Deploy the reference app to a local AWS emulator, run its flows, "
        "and show the X-Ray traces the functions sent.",
    )
    parser.add_argument("--app-dir", type=Path, help="directory with app.py and cdk.json")
    parser.add_argument(
        "--work-dir", type=Path, help="where logs, cdk.out and traces go (default APP_DIR/.demo)"
    )
    parser.add_argument("--stack", default=STACK, help=f"stack to deploy (default {STACK})")
    parser.add_argument(
        "--trace-timeout", type=float, default=45, help="seconds to wait for traces (default 45)"
    )
    parser.add_argument(
        "--deploy-timeout", type=float, default=240, help="seconds for cdk deploy (default 240)"
    )
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step succeeded."""
    args = _parser().parse_args(argv)
    app_dir = args.app_dir or find_app_dir(Path.cwd())
    if app_dir is None or not (Path(app_dir) / "cdk.json").is_file():
        print(
            "no CDK app found: run from the repository (app.py and cdk.json) or pass --app-dir",
            file=sys.stderr,
        )
        return 2
    app_dir = Path(app_dir).resolve()
    options = DemoOptions(
        app_dir=app_dir,
        work_dir=(args.work_dir or app_dir / ".demo").resolve(),
        stack=args.stack,
        trace_timeout=args.trace_timeout,
        deploy_timeout=args.deploy_timeout,
        color=sys.stdout.isatty() and not args.no_color,
    )
    # SIGTERM (CI cancelling a job) tears down like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return 0 if run_demo(options).ok else 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
