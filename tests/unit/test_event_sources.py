"""Traced event sources, the CDK way: CDK's own props pass through, the trace stays connected.

One app wires each source with props the old ``trace_events`` facade never
copied (proof that every prop aws-cdk-lib has works) and is synthesized once
(module fixture); the error cases build small fresh stacks and never synth.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, assertions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_events_targets import LambdaFunctionProps
from aws_cdk.aws_lambda_event_sources import (
    DynamoEventSourceProps,
    KinesisEventSourceProps,
    S3EventSourceProps,
    SnsEventSourceProps,
    SqsEventSourceProps,
)

from cdk_lambda_xray import (
    TracedDynamoEventSource,
    TracedFunction,
    TracedKinesisEventSource,
    TracedLambdaTarget,
    TracedS3EventSource,
    TracedSnsEventSource,
    TracedSqsEventSource,
    TracingConfigError,
)

Match = assertions.Match
REPO_ROOT = Path(__file__).resolve().parents[2]
LATEST = lambda_.StartingPosition.LATEST
CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


def _traced(scope: Stack, construct_id: str, **kwargs: Any) -> TracedFunction:
    return TracedFunction(
        scope, construct_id, runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE,
        **kwargs,
    )  # fmt: skip


def _table(scope: Stack, construct_id: str, **kwargs: Any) -> dynamodb.Table:
    key = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    return dynamodb.Table(scope, construct_id, partition_key=key, **kwargs)


class Wired:
    """Every source wired with ``add_event_source`` / ``add_target``, synthesized once."""

    def __init__(self) -> None:
        stack = self.stack = Stack(App(), "Sources")
        fn = self.function = _traced(stack, "Handler", timeout=Duration.seconds(20))
        self.queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(120))
        self.sqs_source = TracedSqsEventSource(
            self.queue, SqsEventSourceProps(batch_size=5, max_concurrency=3)
        )
        fn.add_event_source(self.sqs_source)
        self.bucket = s3.Bucket(stack, "Uploads")
        key_filter = s3.NotificationKeyFilter(prefix="in/")
        s3_props = S3EventSourceProps(events=[s3.EventType.OBJECT_CREATED], filters=[key_filter])
        fn.add_event_source(TracedS3EventSource(self.bucket, s3_props))
        self.topic = sns.Topic(stack, "Topic")
        self.sns_source = TracedSnsEventSource(self.topic)
        fn.add_event_source(self.sns_source)
        self.quiet_topic = sns.Topic(stack, "QuietTopic")
        fn.add_event_source(TracedSnsEventSource(self.quiet_topic, active_tracing=False))
        self.table = _table(stack, "Table", stream=dynamodb.StreamViewType.NEW_IMAGE)
        dynamo_props = {"starting_position": LATEST, "parallelization_factor": 2}  # a dict works
        fn.add_event_source(TracedDynamoEventSource(self.table, dynamo_props))  # type: ignore[arg-type]
        self.stream = kinesis.Stream(stack, "Stream")
        kinesis_props = KinesisEventSourceProps(
            starting_position=LATEST, max_record_age=Duration.hours(1)
        )
        fn.add_event_source(TracedKinesisEventSource(self.stream, kinesis_props))
        self.rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["shop"]))
        self.rule.add_target(TracedLambdaTarget(fn, LambdaFunctionProps(retry_attempts=2)))
        self.plain = lambda_.Function(
            stack, "Plain", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler", code=CODE
        )
        self.plain.add_event_source(TracedSqsEventSource(sqs.Queue(stack, "PlainQueue")))
        self.untraced_target = _traced(stack, "Untraced", tracing=lambda_.Tracing.DISABLED)
        self.rule.add_target(TracedLambdaTarget(self.untraced_target))
        self.template = assertions.Template.from_stack(stack)
        self.annotations = assertions.Annotations.from_stack(stack)

    def ref(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))

    def mapping(self, source_arn: dict[str, Any]) -> dict[str, Any]:
        found = self.template.find_resources(
            "AWS::Lambda::EventSourceMapping", {"Properties": {"EventSourceArn": source_arn}}
        )
        [props] = [r["Properties"] for r in found.values()]
        return dict(props)

    def not_traced_warnings(self, construct: Any) -> list[str]:
        found = self.annotations.find_warning(f"/{construct.node.path}", Match.any_value())
        return [str(m.entry.data) for m in found if "EventTargetNotTraced" in str(m.entry.data)]


@pytest.fixture(scope="module")
def wired() -> Wired:
    return Wired()


# -- CDK's props pass through, including ones the old facade never had ---------------------


def test_sqs_props_reach_the_mapping(wired: Wired) -> None:
    mapping = wired.mapping({"Fn::GetAtt": [wired.ref(wired.queue), "Arn"]})
    assert mapping["BatchSize"] == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert mapping["FunctionName"] == {"Ref": wired.ref(wired.function)}


def test_dynamodb_props_given_as_a_dict_reach_the_mapping(wired: Wired) -> None:
    mapping = wired.mapping({"Fn::GetAtt": [wired.ref(wired.table), "StreamArn"]})
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["ParallelizationFactor"] == 2


def test_kinesis_props_reach_the_mapping(wired: Wired) -> None:
    mapping = wired.mapping({"Fn::GetAtt": [wired.ref(wired.stream), "Arn"]})
    assert mapping["MaximumRecordAgeInSeconds"] == 3600


def test_s3_notification_keeps_the_key_filter(wired: Wired) -> None:
    found = wired.template.find_resources("Custom::S3BucketNotifications")
    [props] = [r["Properties"] for r in found.values()]
    [config] = props["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "in/"}]


def test_rule_target_carries_the_retry_policy(wired: Wired) -> None:
    rule = wired.template.to_json()["Resources"][wired.ref(wired.rule)]
    [target, _] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [wired.ref(wired.function), "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2}


def test_the_cdk_source_is_reachable_and_bound(wired: Wired) -> None:
    assert wired.sqs_source.queue is wired.queue
    assert wired.sqs_source.event_source_mapping_id  # CDK raises before bind
    assert wired.sns_source.topic is wired.topic


# -- what keeps the trace connected ---------------------------------------------------------


def test_sns_source_turns_the_topic_tracing_on_with_the_xray_policy(wired: Wired) -> None:
    resources = wired.template.to_json()["Resources"]
    assert resources[wired.ref(wired.topic)]["Properties"]["TracingConfig"] == "Active"
    assert "TracingConfig" not in resources[wired.ref(wired.quiet_topic)].get("Properties", {})
    [policy] = wired.template.find_resources("AWS::XRay::ResourcePolicy").values()
    parts = policy["Properties"]["PolicyDocument"]["Fn::Join"][1]
    assert {"Ref": wired.ref(wired.topic)} in parts
    assert {"Ref": wired.ref(wired.quiet_topic)} not in parts


def test_traced_function_gets_no_not_traced_warning(wired: Wired) -> None:
    assert wired.not_traced_warnings(wired.function) == []


def test_untraced_function_fed_by_a_source_is_reported(wired: Wired) -> None:
    [message] = wired.not_traced_warnings(wired.plain)
    assert message.startswith("Sources/Plain is wired to event sources with cdk_lambda_xray's")
    assert "tracing mode is not set" in message and "trace_app(app)" in message


def test_untraced_rule_target_is_reported(wired: Wired) -> None:
    [message] = wired.not_traced_warnings(wired.untraced_target)
    assert "tracing mode is not set" in message  # Tracing.DISABLED sets no TracingConfig


# -- checks ---------------------------------------------------------------------------------


def _stack() -> tuple[Stack, TracedFunction]:
    stack = Stack(App(), "Bad")
    return stack, _traced(stack, "Fn")


def _imported_bucket() -> None:
    stack, _ = _stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Theirs", "their-bucket")
    TracedS3EventSource(bucket, S3EventSourceProps(events=[s3.EventType.OBJECT_CREATED]))


def _wildcard_filter() -> None:
    stack, _ = _stack()
    key_filter = s3.NotificationKeyFilter(suffix="*.jpg")
    props = S3EventSourceProps(events=[s3.EventType.OBJECT_CREATED], filters=[key_filter])
    TracedS3EventSource(s3.Bucket(stack, "B"), props)


def _no_s3_events() -> None:
    stack, _ = _stack()
    TracedS3EventSource(s3.Bucket(stack, "B"), S3EventSourceProps(events=[]))


def _fifo_topic() -> None:
    stack, _ = _stack()
    TracedSnsEventSource(sns.Topic(stack, "Orders", fifo=True))


def _two_filter_policies() -> None:
    stack, _ = _stack()
    exists = sns.SubscriptionFilter.exists_filter()
    props = SnsEventSourceProps(
        filter_policy={"a": exists},
        filter_policy_with_message_body={"b": sns.FilterOrPolicy.filter(exists)},
    )
    TracedSnsEventSource(sns.Topic(stack, "T"), props)


def _imported_topic_traced() -> None:
    stack, _ = _stack()
    TracedSnsEventSource(sns.Topic.from_topic_arn(stack, "Theirs", "arn:aws:sns:eu-west-1:1:t"))


def _table_without_stream() -> None:
    stack, _ = _stack()
    TracedDynamoEventSource(
        _table(stack, "Plain"), DynamoEventSourceProps(starting_position=LATEST)
    )


def _dynamodb_at_timestamp() -> None:
    stack, _ = _stack()
    table = _table(stack, "T", stream=dynamodb.StreamViewType.KEYS_ONLY)
    at = lambda_.StartingPosition.AT_TIMESTAMP
    TracedDynamoEventSource(table, DynamoEventSourceProps(starting_position=at))


def _kinesis_at_timestamp_without_time() -> None:
    stack, _ = _stack()
    at = lambda_.StartingPosition.AT_TIMESTAMP
    TracedKinesisEventSource(
        kinesis.Stream(stack, "S"), KinesisEventSourceProps(starting_position=at)
    )


def _kinesis_time_without_at_timestamp() -> None:
    stack, _ = _stack()
    props = KinesisEventSourceProps(starting_position=LATEST, starting_position_timestamp=1.0)
    TracedKinesisEventSource(kinesis.Stream(stack, "S"), props)


def _sqs_batch_cdk_refuses() -> None:
    stack, _ = _stack()
    TracedSqsEventSource(sqs.Queue(stack, "Q"), SqsEventSourceProps(batch_size=50_000))


def _target_not_a_function() -> None:
    stack, _ = _stack()
    TracedLambdaTarget(sqs.Queue(stack, "Q"))  # type: ignore[arg-type]


ERROR_CASES: list[tuple[str, Callable[[], None], str]] = [
    ("imported-bucket", _imported_bucket, r"^Bad/Theirs: .*imported.*Fix: .*TracedLambdaTarget"),
    ("wildcard-filter", _wildcard_filter, r"TracedS3EventSource\(\) got suffix='\*.jpg'.*drop"),
    ("no-s3-events", _no_s3_events, r"^Bad/B: .*empty events list.*Fix: pass at least one"),
    ("fifo-topic", _fifo_topic, r"^Bad/Orders: .*FIFO.*Fix: .*TracedSqsEventSource"),
    ("two-filter-policies", _two_filter_policies, r"^Bad/T: TracedSnsEventSource\(\) got both"),
    ("imported-topic", _imported_topic_traced, r"^Bad/Theirs: .*imported.*active_tracing=False"),
    ("table-without-stream", _table_without_stream, r"^Bad/Plain: .*no stream.*Fix: .*stream="),
    ("dynamodb-at-timestamp", _dynamodb_at_timestamp, r"TracedDynamoEventSource\(\) .*AT_TIMES"),
    (
        "kinesis-at-timestamp",
        _kinesis_at_timestamp_without_time,
        r"^Bad/S: TracedKinesisEventSource\(\) got .*without starting_position_timestamp",
    ),
    (
        "kinesis-timestamp-only",
        _kinesis_time_without_at_timestamp,
        r"starting_position_timestamp=1.0 with starting_position LATEST.*AT_TIMESTAMP",
    ),
    ("cdk-refuses", _sqs_batch_cdk_refuses, r"^Bad/Q: aws-cdk-lib refused TracedSqsEventSource"),
    ("target-not-a-function", _target_not_a_function, r"TracedLambdaTarget\(\) got a Queue"),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [pytest.param(build, message, id=case_id) for case_id, build, message in ERROR_CASES],
)
def test_bad_wiring_is_refused_naming_construct_value_and_fix(
    build: Callable[[], None], message: str
) -> None:
    with pytest.raises(TracingConfigError, match=message):
        build()


def test_function_timeout_beyond_the_visibility_timeout_is_refused_at_bind() -> None:
    """jsii turns an exception raised in ``bind`` into a RuntimeError with the same message."""
    stack = Stack(App(), "Bad")
    fn = _traced(stack, "Fn", timeout=Duration.minutes(2))
    source = TracedSqsEventSource(sqs.Queue(stack, "Jobs"))
    with pytest.raises(RuntimeError) as caught:
        fn.add_event_source(source)
    assert re.match(
        r"^Bad/Jobs: the queue's visibility timeout \(30 s\) is shorter than the timeout of "
        r"function Bad/Fn \(120 s\).*Fix: set the queue's visibility_timeout to at least 120 s",
        str(caught.value),
    )
    mappings = assertions.Template.from_stack(stack).find_resources(
        "AWS::Lambda::EventSourceMapping"
    )
    assert mappings == {}  # nothing half-wired


# -- the documentation's example -------------------------------------------------------------


def test_docs_events_example_runs_and_wires_its_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO_ROOT / "docs" / "events.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert example is not None
    monkeypatch.chdir(REPO_ROOT)  # the example's Code.from_asset("functions") is relative
    stack = Stack(App(), "DocsExample")
    exec(compile(example.group(1), "docs/events.md", "exec"), {"self": stack})
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("Custom::S3BucketNotifications", 1)
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "lambda"})
    template.has_resource_properties("AWS::SNS::Topic", {"TracingConfig": "Active"})
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", {"BatchSize": 5})
    template.has_resource_properties("AWS::Events::Rule", {"EventPattern": {"source": ["my.app"]}})
