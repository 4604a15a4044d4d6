"""Every synthesized template passes the real cfn-lint (its Python API).

Two apps are synthesized once: the reference app (app.py) and a showcase stack
that uses every event wiring and upstream helper, so the X-Ray resource policy,
the API Gateway stage and the state machine changes are linted too.

Ignored check, and why:

- ``W3005`` (obsolete DependsOn): CDK's own L2 constructs (``lambda.Function``,
  ``stepfunctions.StateMachine``, the S3 notifications handler) add a DependsOn
  on their role next to a ``Fn::GetAtt`` of it. It is redundant, harmless, and
  not ours to change.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from cdk_lambda_xray import (
    TracedDynamoEventSource,
    TracedFunction,
    TracedKinesisEventSource,
    TracedLambdaTarget,
    TracedS3EventSource,
    TracedSnsEventSource,
    TracedSqsEventSource,
    trace_rest_api,
    trace_state_machine,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
IGNORED_CHECKS = ["W3005"]
REGIONS = ["us-east-1", "eu-west-1"]


def _reference_app(outdir: Path) -> App:
    spec = importlib.util.spec_from_file_location("reference_app_lint", REPO_ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: App = module.build_app(str(outdir))
    return app


def _showcase_app(outdir: Path) -> App:
    app = App(outdir=str(outdir))
    stack = Stack(app, "Showcase")
    fn = TracedFunction(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        timeout=Duration.seconds(10),
    )
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    key_filter = s3.NotificationKeyFilter(prefix="in/", suffix=".json")
    created = [s3.EventType.OBJECT_CREATED]
    s3_props = sources.S3EventSourceProps(events=created, filters=[key_filter])
    fn.add_event_source(TracedS3EventSource(s3.Bucket(stack, "Bucket"), s3_props))
    sns_filter = {"kind": sns.SubscriptionFilter.string_filter(allowlist=["a"])}
    sns_props = sources.SnsEventSourceProps(filter_policy=sns_filter)
    fn.add_event_source(TracedSnsEventSource(sns.Topic(stack, "Topic"), sns_props))
    sqs_props = sources.SqsEventSourceProps(batch_size=10)
    fn.add_event_source(TracedSqsEventSource(sqs.Queue(stack, "Queue"), sqs_props))
    latest = lambda_.StartingPosition.LATEST
    fn.add_event_source(
        TracedDynamoEventSource(table, sources.DynamoEventSourceProps(starting_position=latest))
    )
    fn.add_event_source(
        TracedKinesisEventSource(
            kinesis.Stream(stack, "Stream"),
            sources.KinesisEventSourceProps(starting_position=latest),
        )
    )
    events.Rule(
        stack,
        "Rule",
        event_pattern=events.EventPattern(source=["my.app"]),
        targets=[TracedLambdaTarget(fn)],
    )
    trace_rest_api(apigw.LambdaRestApi(stack, "Api", handler=fn))
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Start")),
    )
    trace_state_machine(machine)
    return app


def _templates(outdir: Path) -> list[Path]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    return [
        outdir / artifact["properties"]["templateFile"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    ]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, build in (("reference", _reference_app), ("showcase", _showcase_app)):
        outdir = tmp_path_factory.mktemp(f"lint-{name}")
        build(outdir).synth()
        for template in _templates(outdir):
            found[f"{name}:{template.name}"] = template
    return found


def test_reference_app_synthesizes_one_template(templates: dict[str, Path]) -> None:
    assert [k for k in templates if k.startswith("reference:")] == [
        "reference:LambdaXrayReference.template.json"
    ]


@pytest.mark.parametrize(
    "name",
    ["reference:LambdaXrayReference.template.json", "showcase:Showcase.template.json"],
)
def test_template_passes_cfn_lint(templates: dict[str, Path], name: str) -> None:
    config = ManualArgs(regions=REGIONS, ignore_checks=IGNORED_CHECKS)
    matches = lint_file(templates[name], config=config)
    assert [str(m) for m in matches] == []


def test_cfn_lint_does_report_a_broken_template(tmp_path: Path) -> None:
    """Control: the same call reports a problem, so the tests above can fail."""
    broken = tmp_path / "broken.template.json"
    broken.write_text(
        json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Code": {"ZipFile": "def handler(e, c): pass"},
                            "Handler": "index.handler",
                            "Role": "arn:aws:iam::123456789012:role/r",
                            "Runtime": "python3.12",
                            "TracingConfig": {"Mode": "Always"},
                        },
                    }
                }
            }
        )
    )
    config = ManualArgs(regions=REGIONS, ignore_checks=IGNORED_CHECKS)
    assert [m.rule.id for m in lint_file(broken, config=config)] != []
