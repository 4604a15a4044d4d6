"""End to end: two small CDK Python apps (not the reference app) deployed to MiniStack.

Each app (``tests/e2e/apps/``) has a baseline stack and the same stack under
``trace_app``; both are deployed with the real CDK CLI, run the same flow, and
must give the same result. Only the traced stack's functions send traces to the
local collector.

- ``log_retention``: ``AwsCustomResource`` (``CloudWatchLogs.putRetentionPolicy``)
  and a function with ``log_retention`` (CDK's ``LogRetention`` provider), both
  Node.js handlers that ``require("@aws-sdk/client-cloudwatch-logs")``;
- ``queue_worker``: SQS -> Python worker -> DynamoDB, a bucket with
  ``auto_delete_objects`` (CDK's Node.js handler, ``@aws-sdk/client-s3``) and a
  custom resource through ``cr.Provider`` (Node.js, ``@aws-sdk/client-lambda``).

The session's shared local AWS (``local_aws`` in conftest.py: one emulator, one
collector, one ``cdk bootstrap``) serves both apps; the two apps deploy in
parallel (all their stacks in one ``cdk deploy --all`` each).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config  # type: ignore[import-untyped]

from cdk_lambda_xray._contract import WRAPPER_HANDLER
from cdk_lambda_xray.local.deploy import CdkCli
from cdk_lambda_xray.local.flows import FlowSpec, find_flow_trace, missing_flows
from cdk_lambda_xray.local.localaws import LocalAws
from cdk_lambda_xray.local.readback import Readback, read_back
from cdk_lambda_xray.local.settings import local_session
from cdk_lambda_xray.local.traceview import build_traces, render_text

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = Path(__file__).resolve().parent / "apps"
#: The whole module (emulator, bootstrap, four stacks, flows, traces) on 2 cores.
WALL_BUDGET_SECONDS = 150
TRACE_TIMEOUT = 30

LOG_STACKS = ("E2eLogRetentionBaseline", "E2eLogRetentionTraced")
QUEUE_STACKS = ("E2eQueueWorkerBaseline", "E2eQueueWorkerTraced")
APPS = {"log_retention": LOG_STACKS, "queue_worker": QUEUE_STACKS}

TRACED_FLOWS = (
    FlowSpec(
        "reader",
        "invoke Reader -> CloudWatch Logs",
        "reader.handler",
        (("CloudWatch Logs", "DescribeLogGroups"),),
    ),
    FlowSpec("worker", "SQS -> Worker -> DynamoDB", "worker.handler", (("DynamoDB", "PutItem"),)),
    # At deploy time: CDK's provider framework invokes the traced Python on_event handler.
    FlowSpec("seed", "cr.Provider -> Seed -> DynamoDB", "seed.handler", (("DynamoDB", "PutItem"),)),
)


@dataclass
class Deployment:
    """What the module fixture did and saw."""

    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    readbacks: dict[str, Readback] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    rejects: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0


def _deploy_all(cli: CdkCli, stacks: tuple[str, ...], deployment: Deployment) -> None:
    run = cli.run(
        [
            "deploy",
            "--all",
            "--require-approval",
            "never",
            "--concurrency",
            str(len(stacks)),
            "--outputs-file",
            str(cli.outputs_file),
        ],
        timeout=150,
        log_name="cdk-deploy",
    )
    outputs = json.loads(cli.outputs_file.read_text())
    for stack in stacks:
        deployment.outputs[stack] = outputs[stack]
    deployment.seconds[f"deploy {cli.app_dir.name}"] = run.seconds


def _in_parallel(jobs: dict[str, Callable[[], None]]) -> None:
    """Run ``jobs`` in threads; re-raise the first failure (all are waited for)."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except BaseException as exc:  # re-raised below, in the test's thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(job), name=name) for name, job in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _clients(endpoint_url: str) -> Callable[[str], Any]:
    session = local_session()
    config = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url, config=config)

    client.session = session  # type: ignore[attr-defined]
    return client


def _invoke_reader(client: Callable[[str], Any], outputs: dict[str, str]) -> Any:
    response = client("lambda").invoke(FunctionName=outputs["ReaderFunctionName"])
    payload = json.loads(response["Payload"].read() or b"null")
    return {"error": response.get("FunctionError"), "payload": payload}


def _run_worker(client: Callable[[str], Any], outputs: dict[str, str], job_id: str) -> Any:
    body = {"id": job_id, "body": "hello from the e2e test"}
    client("sqs").send_message(QueueUrl=outputs["QueueUrl"], MessageBody=json.dumps(body))
    table = outputs["TableName"]
    deadline = time.monotonic() + TRACE_TIMEOUT
    while time.monotonic() < deadline:
        item = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": job_id}})
        if "Item" in item:
            break
        time.sleep(0.5)
    return {key: _body(client, table, key) for key in (job_id, "seed")}


def _body(client: Callable[[str], Any], table: str, key: str) -> str | None:
    item = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": key}})
    return item["Item"]["body"]["S"] if "Item" in item else None


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAws
) -> Iterator[Deployment]:
    started = time.monotonic()
    work = tmp_path_factory.mktemp("custom-resource-apps")
    result = Deployment()
    collector, endpoint_url = local_aws.collector, local_aws.endpoint_url
    clis = {
        app: CdkCli(APPS_DIR / app, work / app, endpoint_url=endpoint_url, cli_root=REPO_ROOT)
        for app in APPS
    }
    _in_parallel(
        {
            app: (lambda app=app: _deploy_all(clis[app], APPS[app], result))  # type: ignore[misc]
            for app in APPS
        }
    )
    client = _clients(endpoint_url)
    for app, stacks in APPS.items():
        for stack in stacks:
            result.readbacks[stack] = read_back(
                clis[app].template(stack),
                stack,
                session=client.session,  # type: ignore[attr-defined]
                endpoint_url=endpoint_url,
            )
    flows_started = time.monotonic()
    for stack in LOG_STACKS:
        result.results[stack] = _invoke_reader(client, result.outputs[stack])
    for stack in QUEUE_STACKS:
        stored = _run_worker(client, result.outputs[stack], f"job-{stack}")
        result.results[stack] = {"job": stored[f"job-{stack}"], "seed": stored["seed"]}
    with contextlib.suppress(TimeoutError):  # the tests say which trace is missing
        collector.wait_for(
            lambda docs: not missing_flows(docs, TRACED_FLOWS), timeout=TRACE_TIMEOUT
        )
    result.seconds["flows and traces"] = time.monotonic() - flows_started
    result.documents = collector.documents
    result.rejects = collector.rejects
    result.wall_seconds = time.monotonic() - started
    print(render_text(build_traces(result.documents)))  # shown with -s or on failure
    print({k: round(v, 1) for k, v in result.seconds.items()}, round(result.wall_seconds, 1))
    yield result


@pytest.mark.parametrize("stacks", list(APPS.values()), ids=list(APPS))
def test_baseline_and_traced_stacks_give_the_same_flow_result(
    deployment: Deployment, stacks: tuple[str, str]
) -> None:
    baseline, traced = (deployment.results[s] for s in stacks)
    assert baseline == traced


def test_custom_resources_set_both_retentions(deployment: Deployment) -> None:
    """AwsCustomResource set 14 days on the audit group; LogRetention 7 on the function's."""
    for stack in LOG_STACKS:
        assert deployment.results[stack] == {"error": None, "payload": {"audit": 14, "own": 7}}


def test_queue_worker_stores_the_job_next_to_the_provider_s_seed(deployment: Deployment) -> None:
    """The seed item proves CDK's provider framework (Node.js, client-lambda) ran the Python one."""
    for stack in QUEUE_STACKS:
        assert deployment.results[stack] == {
            "job": "hello from the e2e test",
            "seed": "seeded by the provider framework",
        }


@pytest.mark.parametrize("stack", [*LOG_STACKS, *QUEUE_STACKS])
def test_read_back_matches_the_template(deployment: Deployment, stack: str) -> None:
    readback = deployment.readbacks[stack]
    assert readback.differences == []
    functions = {f.handler for f in readback.functions.values()}
    assert (WRAPPER_HANDLER in functions) == stack.endswith("Traced")


@pytest.mark.parametrize("spec", TRACED_FLOWS, ids=[s.key for s in TRACED_FLOWS])
def test_traced_flow_arrives_at_the_collector(deployment: Deployment, spec: FlowSpec) -> None:
    trace = find_flow_trace(build_traces(deployment.documents), spec)
    assert trace is not None, f"no trace of {spec.title}"


@pytest.mark.parametrize("spec", TRACED_FLOWS, ids=[s.key for s in TRACED_FLOWS])
def test_only_the_traced_stack_sends_traces(deployment: Deployment, spec: FlowSpec) -> None:
    """The baseline function ran the same flow without the layer: one handler trace, not two."""
    handler_docs = [d for d in deployment.documents if d.get("name") == spec.root_name]
    assert len(handler_docs) == 1


def test_collector_counted_no_rejects(deployment: Deployment) -> None:
    assert deployment.rejects == 0


def test_module_finishes_within_the_time_budget(deployment: Deployment) -> None:
    assert deployment.wall_seconds < WALL_BUDGET_SECONDS, deployment.seconds
