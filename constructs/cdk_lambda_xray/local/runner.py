"""The step runner: deploy any CDK app into the local emulator, run its flows, collect traces.

Steps, each printed with its time (:mod:`~cdk_lambda_xray.local.steps`):

1. check the pinned tools (CDK CLI, the AWS SDK v3 packages for Node.js handlers);
2. start the X-Ray collector (UDP, a free port on 127.0.0.1);
3. start MiniStack, telling its functions where the collector listens
   (``AWS_XRAY_DAEMON_ADDRESS``, as Lambda does for its daemon);
4. ``cdk bootstrap`` and 5. ``cdk deploy`` with the pinned CDK CLI;
6. read the deployed configuration back and report any difference from the template;
7. run the app's flows (:mod:`~cdk_lambda_xray.local.flows`), each in a client segment;
8. wait (bounded) until every flow's trace has arrived with the expected calls;
9. check that the collector rejected nothing;

then stop the emulator and the collector (always, also after a failure or
Ctrl-C) and report (:mod:`~cdk_lambda_xray.local.report`: trace trees,
``traces.html``, ``traces.jsonl``, ``verify``). What the app deploys and does
comes from :class:`RunOptions`; nothing here knows a particular app.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .._contract import ENV_HANDLER
from .client_trace import ClientTrace
from .collector import Collector
from .deploy import TMP_PREFIX, CdkCli, find_cli_root, missing_node_packages, node_runtime_packages
from .emulator import STATE_PREFIX, MiniStack
from .flows import FlowContext, FlowSpec, missing_flows
from .readback import Readback, read_back
from .report import report, verify_step
from .settings import bootstrap_target, local_session
from .steps import Progress, StepFailed, StepRecord, indent, one_line
from .traceview import Trace

__all__ = [
    "RunOptions",
    "RunResult",
    "check_tools",
    "deploy_and_read_back",
    "emulator_client",
    "prepare_work_dir",
    "run_app",
]

#: What a run leaves in its work directory (and removes at the next start).
WORK_ITEMS = (
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


@dataclass
class RunOptions:
    """The app, its stack and flows, where to work, and the time limits."""

    app_dir: Path
    work_dir: Path
    stack: str
    flows: tuple[FlowSpec, ...] = ()
    emulator_timeout: float = 60
    bootstrap_timeout: float = 180
    deploy_timeout: float = 240
    trace_timeout: float = 45
    color: bool = False
    #: Where ``node_modules`` (CDK CLI, Node.js SDK) is; default: found from ``app_dir``.
    cli_root: Path | None = None
    #: The command's name in the verdict line (``demo OK``) and the HTML page's title.
    name: str = "demo"


@dataclass
class RunResult:
    """Everything the run did and saw (the e2e tests assert on this)."""

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


def prepare_work_dir(work_dir: Path) -> None:
    """Create ``work_dir`` and remove what a previous run left there (only that)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    # Temporary directories a killed run may have left (its lifeline normally removes them).
    leftovers = [*work_dir.glob(f"{STATE_PREFIX}*"), *work_dir.glob(f"{TMP_PREFIX}*")]
    for path in [*(work_dir / name for name in WORK_ITEMS), *leftovers]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def check_tools(progress: Progress, cli_root: Path | None, app_dir: Path) -> Path:
    """Step: the pinned CDK CLI and the Node.js SDK packages are installed; their root."""
    with progress.step(
        "check the pinned tools (CDK CLI, Node.js SDK for custom resources)"
    ) as step:
        root = cli_root or find_cli_root(app_dir)
        missing = missing_node_packages(root)
        if missing:
            raise StepFailed(
                f"{', '.join(missing)} not installed in {root / 'node_modules'}: "
                "run `make setup` (npm ci). CDK's Node.js custom resources import it; "
                "Lambda's Node.js runtimes include it, MiniStack does not."
            )
        sdk = node_runtime_packages(root)
        step.detail = f"cdk CLI and {len(sdk)} AWS SDK v3 package(s) in {root}"
    return root


def emulator_client(session: Any, endpoint_url: str) -> Callable[[str], Any]:
    """``client(service)``: boto3 clients of ``session`` aimed at the emulator."""

    def client(service: str) -> Any:
        from botocore.config import Config  # type: ignore[import-untyped]

        config = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60)
        return session.client(service, endpoint_url=endpoint_url, config=config)

    return client


def run_app(options: RunOptions, out: TextIO | None = None) -> RunResult:
    """Run every step; never raises for a failed step (see ``RunResult.ok``)."""
    progress = Progress(out or sys.stdout)
    result = RunResult(steps=progress.records)
    work = options.work_dir.resolve()
    prepare_work_dir(work)
    collector = Collector()
    emulator: MiniStack | None = None
    try:
        cli_root = check_tools(progress, options.cli_root, options.app_dir)
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
            progress.records.append(StepRecord("unexpected error", detail=one_line(exc)))
            progress.print(f"unexpected error: {one_line(exc)}")
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
    result.flow_traces, result.html_path = report(
        progress,
        result.documents,
        options.flows,
        work,
        title=f"cdk-lambda-xray {options.name}",
        color=options.color,
    )
    if not progress.failed:  # after a failed step there is nothing sound to verify
        with contextlib.suppress(Exception):
            verify_step(progress, work)
    result.wall_seconds = time.monotonic() - progress.started
    verdict = (
        f"{options.name} OK"
        if result.ok
        else f"{options.name} FAILED ({len(progress.failed)} steps failed)"
    )
    progress.summary(
        f"{verdict}: {len(result.documents)} documents, {result.rejects} rejected, "
        f"wall time {result.wall_seconds:.1f} s"
    )
    return result


def deploy_and_read_back(
    progress: Progress,
    cli: CdkCli,
    stack: str,
    *,
    session: Any,
    bootstrap_timeout: float,
    deploy_timeout: float,
    bootstrap: bool = True,
) -> tuple[dict[str, str], Readback | None]:
    """Steps: ``cdk bootstrap``, ``cdk deploy <stack>``, read back; the outputs and read-back.

    ``bootstrap=False`` skips the bootstrap (the emulator has one already). A
    failed bootstrap or deploy raises; a failed read-back is recorded as a
    failed step and the run goes on (the flows may still show why).
    """
    if bootstrap:
        with progress.step(f"cdk bootstrap {bootstrap_target()}") as step:
            run = cli.bootstrap(timeout=bootstrap_timeout)
            step.detail = f"log {run.log_path}"
    with progress.step(f"cdk deploy {stack}") as step:
        run, outputs = cli.deploy(stack, timeout=deploy_timeout)
        step.detail = f"{len(outputs)} outputs, log {run.log_path}"
    readback: Readback | None = None
    readback_step = progress.step("read back the deployed configuration")
    with contextlib.suppress(Exception), readback_step as step:
        readback = read_back(
            cli.template(stack), stack, session=session, endpoint_url=cli.endpoint_url
        )
        step.detail = readback.summary().splitlines()[0]
        if readback.differences or readback.not_compared:
            progress.print(indent(readback.summary()))
        if readback.differences:
            raise StepFailed(step.detail)
        progress.print(indent(function_lines(readback)))
    return outputs, readback


def _deploy_and_run(
    options: RunOptions,
    progress: Progress,
    result: RunResult,
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
    session = local_session()
    result.outputs, result.readback = deploy_and_read_back(
        progress,
        cli,
        options.stack,
        session=session,
        bootstrap_timeout=options.bootstrap_timeout,
        deploy_timeout=options.deploy_timeout,
    )
    client = emulator_client(session, emulator.endpoint_url)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    flows = options.flows
    # Each flow's calls are recorded in a client segment of its own, whose trace
    # header travels with the request (docs/local.md, "Connected traces").
    for spec in flows:
        if spec.action is None:
            continue
        with (
            contextlib.suppress(Exception),
            progress.step(f"flow: {spec.title}") as step,
            ClientTrace(spec.key, collector.address) as trace,
        ):
            context = FlowContext(
                client=_traced(trace, client),
                outputs=result.outputs,
                stamp=stamp,
                key=spec.key,
                invocations=result.invocations,
            )
            step.detail = spec.action(context)

    with contextlib.suppress(Exception), progress.step("wait for the traces of every flow") as step:
        try:
            collector.wait_for(
                lambda docs: not missing_flows(docs, flows, connected=True),
                timeout=options.trace_timeout,
            )
        except TimeoutError:
            missing = missing_flows(collector.documents, flows, connected=True)
            raise StepFailed(
                f"after {options.trace_timeout:g}s no complete trace for: "
                + "; ".join(f"{s.title} (## {s.handler}: {s.expectation()})" for s in missing)
            ) from None
        step.detail = f"{len(collector.documents)} documents{_otlp_share(collector)}"
    if any(spec.wire_format == "otlp" for spec in flows):
        otlp_step = progress.step("check the OTLP flows sent OTLP")
        with contextlib.suppress(Exception), otlp_step as step:
            step.detail = _check_wire_formats(collector, flows)
    rejects_step = progress.step("check the collector rejected nothing")
    with contextlib.suppress(Exception), rejects_step as step:
        if collector.rejects:
            raise StepFailed(
                f"{collector.rejects} datagrams rejected: "
                + "; ".join(sorted(set(collector.reject_reasons)))
            )
        step.detail = "0 rejects"


def _otlp_share(collector: Collector) -> str:
    return f" ({collector.otlp_spans} from OTLP spans)" if collector.otlp_spans else ""


def _check_wire_formats(collector: Collector, flows: Sequence[FlowSpec]) -> str:
    """Each ``wire_format="otlp"`` flow's handler arrived as OTLP spans; raises StepFailed."""
    documents = collector.documents
    checked = []
    for spec in flows:
        if spec.wire_format != "otlp":
            continue
        roots = [d for d in documents if d.get("name") == spec.root_name]
        if not roots or not all(collector.came_as_otlp(d) for d in roots):
            raise StepFailed(
                f"{spec.title}: {spec.root_name} did not arrive as OTLP spans "
                "(is the function traced with trace_format=TraceFormat.OTLP?)"
            )
        checked.append(f"{spec.key}: {len(roots)} x {spec.root_name} as OTLP")
    return "; ".join(checked)


def _traced(trace: ClientTrace, client: Callable[[str], Any]) -> Callable[[str], Any]:
    """``client``, each client it makes recording its calls in ``trace``."""
    return lambda service: trace.instrument(client(service))


def function_lines(readback: Readback) -> str:
    """One line per deployed function: tracing, handler (and the one it wraps), layers."""
    lines = []
    for fc in readback.functions.values():
        layers = ", ".join(arn.rsplit(":", 2)[-2] for arn in fc.layers) or "no layer"
        original = fc.environment.get(ENV_HANDLER)
        handler = f"{fc.handler} -> {original}" if original else fc.handler
        lines.append(
            f"{fc.logical_id}: tracing {fc.tracing_mode}, handler {handler}, layer {layers}"
        )
    return "\n".join(lines)
