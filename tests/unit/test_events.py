"""The deprecated facade ``trace_events(fn).from_*``: same resources, same checks, one warning.

One app wires every kind of source to a ``TracedFunction`` and is synthesized
once (module fixture); the error cases build small fresh stacks and never synth.
The facade is built on the event sources of ``event_sources``
(tests/unit/test_event_sources.py); here it must still make what it made, refuse
what it refused with the same messages, and say once that it is deprecated.
"""

from __future__ import annotations

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
from aws_cdk.aws_lambda_event_sources import (
    DynamoEventSourceProps,
    KinesisEventSourceProps,
    S3EventSourceProps,
    SnsEventSourceProps,
    SqsEventSourceProps,
)

from cdk_lambda_xray import (
    TracedDynamoEventSource,
    TracedKinesisEventSource,
    TracedLambdaTarget,
    TracedS3EventSource,
    TracedSnsEventSource,
    TracedSqsEventSource,
    ids,
    trace_app,
)
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.events import TracedEvents, trace_events
from cdk_lambda_xray.function import TracedFunction

Match = assertions.Match

#: Every test here uses the deprecated facade on purpose; the warning itself is
#: asserted by the tests at the end of this file.
pytestmark = pytest.mark.filterwarnings("ignore:trace_events\\(\\)/TracedEvents:DeprecationWarning")
REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_TRACED_WARNING = ids.EVENT_TARGET_NOT_TRACED


def _traced(scope: Stack, construct_id: str, **kwargs: Any) -> TracedFunction:
    return TracedFunction(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        **kwargs,
    )


def _plain(scope: Stack, construct_id: str) -> lambda_.Function:
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


def _table(scope: Stack, construct_id: str, **kwargs: Any) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        **kwargs,
    )


class Wired:
    """Every source kind wired to one traced function, synthesized once."""

    def __init__(self) -> None:
        self.app = App()
        stack = self.stack = Stack(self.app, "Events")
        fn = self.function = _traced(stack, "Handler", timeout=Duration.seconds(20))
        self.filtered_bucket = s3.Bucket(stack, "Filtered")
        self.default_bucket = s3.Bucket(stack, "Default")
        self.multi_bucket = s3.Bucket(stack, "Multi")
        self.topic = sns.Topic(stack, "Topic")
        self.quiet_topic = sns.Topic(stack, "QuietTopic")
        self.queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(120))
        self.table = _table(stack, "Table", stream=dynamodb.StreamViewType.NEW_IMAGE)
        self.stream = kinesis.Stream(stack, "Stream")
        self.rule = events.Rule(
            stack, "Nightly", schedule=events.Schedule.cron(hour="3", minute="0")
        )
        self.returned = (
            trace_events(fn)
            .from_s3(self.filtered_bucket, prefix="uploads/", suffix=".csv")
            .from_s3(self.default_bucket)
            .from_s3(
                self.multi_bucket,
                events=[s3.EventType.OBJECT_REMOVED, s3.EventType.OBJECT_RESTORE_COMPLETED],
            )
            .from_sns(
                self.topic,
                filter_policy={"kind": sns.SubscriptionFilter.string_filter(allowlist=["upload"])},
            )
            .from_sns(self.quiet_topic, active_tracing=False)
            .from_sqs(self.queue, batch_size=5, report_batch_item_failures=True)
            .from_dynamodb(self.table, batch_size=50)
            .from_kinesis(self.stream, starting_position=lambda_.StartingPosition.TRIM_HORIZON)
            .from_eventbridge(event_pattern=events.EventPattern(source=["my.app"]))
            .from_eventbridge(self.rule)
        )
        self.plain = _plain(stack, "Plain")
        trace_events(self.plain).from_sqs(sqs.Queue(stack, "PlainQueue"))
        self.disabled = _traced(stack, "Disabled", tracing=lambda_.Tracing.DISABLED)
        trace_events(self.disabled).from_sqs(sqs.Queue(stack, "DisabledQueue"))

        self.template = assertions.Template.from_stack(stack)
        self.annotations = assertions.Annotations.from_stack(stack)

    def ref(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))

    def function_arn(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.ref(self.function), "Arn"]}


@pytest.fixture(scope="module")
def wired() -> Wired:
    return Wired()


def _lambda_notifications(wired: Wired, bucket: s3.Bucket) -> list[dict[str, Any]]:
    found = wired.template.find_resources(
        "Custom::S3BucketNotifications", {"Properties": {"BucketName": {"Ref": wired.ref(bucket)}}}
    )
    assert len(found) == 1, found
    props = next(iter(found.values()))["Properties"]
    return list(props["NotificationConfiguration"]["LambdaFunctionConfigurations"])


def _mappings(wired: Wired, source_arn: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = wired.template.find_resources(
        "AWS::Lambda::EventSourceMapping", {"Properties": {key: source_arn}}
    )
    return [r["Properties"] for r in found.values()]


def _warnings_for(wired: Wired, construct: Any) -> list[str]:
    messages = wired.annotations.find_warning(f"/{construct.node.path}", Match.any_value())
    return [str(m.entry.data) for m in messages if NOT_TRACED_WARNING in str(m.entry.data)]


# -- S3 ------------------------------------------------------------------------------


def test_s3_with_prefix_and_suffix_filters_on_object_created(wired: Wired) -> None:
    [config] = _lambda_notifications(wired, wired.filtered_bucket)
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["LambdaFunctionArn"] == wired.function_arn()
    rules = config["Filter"]["Key"]["FilterRules"]
    assert sorted((r["Name"], r["Value"]) for r in rules) == [
        ("prefix", "uploads/"),
        ("suffix", ".csv"),
    ]


def test_s3_default_is_object_created_without_filter(wired: Wired) -> None:
    [config] = _lambda_notifications(wired, wired.default_bucket)
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert "Filter" not in config


def test_s3_several_event_types(wired: Wired) -> None:
    configs = _lambda_notifications(wired, wired.multi_bucket)
    assert sorted(e for c in configs for e in c["Events"]) == [
        "s3:ObjectRemoved:*",
        "s3:ObjectRestore:Completed",
    ]


def test_s3_bucket_in_another_stack_keeps_notification_there_without_a_cycle() -> None:
    app = App()
    fn = _traced(Stack(app, "Compute"), "Fn")
    storage = Stack(app, "Storage")
    trace_events(fn).from_s3(s3.Bucket(storage, "Uploads"))
    assembly = app.synth()
    storage_types = {
        r["Type"] for r in assembly.get_stack_by_name("Storage").template["Resources"].values()
    }
    assert {"Custom::S3BucketNotifications", "AWS::Lambda::Permission"} <= storage_types
    compute_needs = {d.id for d in assembly.get_stack_by_name("Compute").dependencies}
    assert "Storage" not in compute_needs  # one direction only: no cycle


def test_s3_invoke_permission_is_scoped_to_the_bucket_and_account(wired: Wired) -> None:
    wired.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com",
            "FunctionName": wired.function_arn(),
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::GetAtt": [wired.ref(wired.filtered_bucket), "Arn"]},
        },
    )


# -- SNS -----------------------------------------------------------------------------


def test_sns_subscription_carries_the_filter_policy(wired: Wired) -> None:
    wired.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": wired.ref(wired.topic)},
            "Endpoint": wired.function_arn(),
            "FilterPolicy": {"kind": ["upload"]},
        },
    )


def test_sns_topic_gets_active_tracing(wired: Wired) -> None:
    topic = wired.template.to_json()["Resources"][wired.ref(wired.topic)]
    assert topic["Properties"]["TracingConfig"] == "Active"


def test_sns_topic_is_allowed_in_the_xray_resource_policy(wired: Wired) -> None:
    [policy] = wired.template.find_resources("AWS::XRay::ResourcePolicy").values()
    parts = policy["Properties"]["PolicyDocument"]["Fn::Join"][1]
    assert {"Ref": wired.ref(wired.topic)} in parts
    assert {"Ref": wired.ref(wired.quiet_topic)} not in parts


def test_sns_active_tracing_false_leaves_the_topic_alone(wired: Wired) -> None:
    topic = wired.template.to_json()["Resources"][wired.ref(wired.quiet_topic)]
    assert "TracingConfig" not in topic.get("Properties", {})
    wired.template.has_resource_properties(
        "AWS::SNS::Subscription", {"TopicArn": {"Ref": wired.ref(wired.quiet_topic)}}
    )


# -- SQS / DynamoDB / Kinesis ----------------------------------------------------------


def test_sqs_queue_feeds_the_function_in_batches(wired: Wired) -> None:
    queue_arn = {"Fn::GetAtt": [wired.ref(wired.queue), "Arn"]}
    [mapping] = _mappings(wired, queue_arn, "EventSourceArn")
    assert mapping["FunctionName"] == {"Ref": wired.ref(wired.function)}
    assert mapping["BatchSize"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_dynamodb_stream_feeds_the_function_from_latest(wired: Wired) -> None:
    stream_arn = {"Fn::GetAtt": [wired.ref(wired.table), "StreamArn"]}
    [mapping] = _mappings(wired, stream_arn, "EventSourceArn")
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["BatchSize"] == 50


def test_kinesis_stream_feeds_the_function_from_given_position(wired: Wired) -> None:
    stream_arn = {"Fn::GetAtt": [wired.ref(wired.stream), "Arn"]}
    [mapping] = _mappings(wired, stream_arn, "EventSourceArn")
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionName"] == {"Ref": wired.ref(wired.function)}


# -- EventBridge ------------------------------------------------------------------------


def test_eventbridge_pattern_creates_a_rule_targeting_the_function(wired: Wired) -> None:
    rules = wired.template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["my.app"]}}}
    )
    [(logical_id, rule)] = rules.items()
    assert logical_id.startswith("HandlerTracedEventsRule")
    assert rule["Properties"]["Targets"][0]["Arn"] == wired.function_arn()


def test_eventbridge_existing_rule_gets_the_function_as_target(wired: Wired) -> None:
    rule = wired.template.to_json()["Resources"][wired.ref(wired.rule)]
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Properties"]["Targets"][0]["Arn"] == wired.function_arn()


def test_eventbridge_may_invoke_the_function(wired: Wired) -> None:
    wired.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Principal": "events.amazonaws.com",
            "FunctionName": wired.function_arn(),
            "SourceArn": {"Fn::GetAtt": [wired.ref(wired.rule), "Arn"]},
        },
    )


# -- the wiring object and the tracing check ------------------------------------------------


def test_every_from_call_returns_the_same_wiring(wired: Wired) -> None:
    assert isinstance(wired.returned, TracedEvents)
    assert wired.returned.function is wired.function


def test_traced_function_gets_no_not_traced_warning(wired: Wired) -> None:
    assert _warnings_for(wired, wired.function) == []


def test_untraced_plain_function_is_reported_with_the_fix(wired: Wired) -> None:
    [message] = _warnings_for(wired, wired.plain)
    assert message.startswith("Events/Plain is wired to event sources")
    assert "tracing mode is not set" in message
    assert "Use TracedFunction (tracing Active), or apply trace_app(app)" in message


def test_traced_function_with_tracing_disabled_is_reported(wired: Wired) -> None:
    [message] = _warnings_for(wired, wired.disabled)
    assert message.startswith("Events/Disabled is wired to event sources")
    assert "the trace ends before this function" in message


def test_plain_function_covered_by_trace_app_is_not_reported() -> None:
    """The check runs after aspects, so ``trace_app`` fixing the function counts."""
    app = App()
    stack = Stack(app, "AppWide")
    plain = _plain(stack, "Plain")
    trace_events(plain).from_sqs(sqs.Queue(stack, "Queue"))
    trace_app(app)
    annotations = assertions.Annotations.from_stack(stack)
    found = annotations.find_warning("/AppWide/Plain", Match.string_like_regexp(NOT_TRACED_WARNING))
    assert found == []
    mode = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert [r["Properties"]["TracingConfig"] for r in mode.values()] == [{"Mode": "Active"}]


# -- validation errors (no synth) ------------------------------------------------------------


def _stack() -> tuple[Stack, TracedFunction]:
    stack = Stack(App(), "Bad")
    return stack, _traced(stack, "Fn")


def _imported_bucket() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket.from_bucket_name(stack, "Theirs", "their-bucket"))


def _event_as_string() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket(stack, "B"), events=["s3:ObjectCreated:*"])  # type: ignore[list-item]


def _unknown_event() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket(stack, "B"), events=["s3:Everything"])  # type: ignore[list-item]


def _no_events() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket(stack, "B"), events=[])


def _empty_prefix() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket(stack, "B"), prefix="")


def _wildcard_suffix() -> None:
    stack, fn = _stack()
    trace_events(fn).from_s3(s3.Bucket(stack, "B"), suffix="*.jpg")


def _fifo_topic() -> None:
    stack, fn = _stack()
    trace_events(fn).from_sns(sns.Topic(stack, "Orders", fifo=True))


def _two_filter_policies() -> None:
    stack, fn = _stack()
    trace_events(fn).from_sns(
        sns.Topic(stack, "T"),
        filter_policy={"a": sns.SubscriptionFilter.exists_filter()},
        filter_policy_with_message_body={
            "b": sns.FilterOrPolicy.filter(sns.SubscriptionFilter.exists_filter())
        },
    )


def _imported_topic_with_tracing() -> None:
    stack, fn = _stack()
    topic = sns.Topic.from_topic_arn(stack, "Theirs", "arn:aws:sns:eu-west-1:123456789012:t")
    trace_events(fn).from_sns(topic)


def _short_visibility_timeout() -> None:
    stack = Stack(App(), "Bad")
    fn = _traced(stack, "Fn", timeout=Duration.minutes(2))
    trace_events(fn).from_sqs(sqs.Queue(stack, "Jobs"))


def _table_without_stream() -> None:
    stack, fn = _stack()
    trace_events(fn).from_dynamodb(_table(stack, "Plain"))


def _dynamodb_at_timestamp() -> None:
    stack, fn = _stack()
    table = _table(stack, "T", stream=dynamodb.StreamViewType.KEYS_ONLY)
    trace_events(fn).from_dynamodb(table, starting_position=lambda_.StartingPosition.AT_TIMESTAMP)


def _kinesis_at_timestamp_without_time() -> None:
    stack, fn = _stack()
    trace_events(fn).from_kinesis(
        kinesis.Stream(stack, "S"), starting_position=lambda_.StartingPosition.AT_TIMESTAMP
    )


def _kinesis_time_without_at_timestamp() -> None:
    stack, fn = _stack()
    trace_events(fn).from_kinesis(kinesis.Stream(stack, "S"), starting_position_timestamp=1.0)


def _eventbridge_nothing() -> None:
    _, fn = _stack()
    trace_events(fn).from_eventbridge()


def _eventbridge_rule_and_pattern() -> None:
    stack, fn = _stack()
    rule = events.Rule(stack, "R", event_pattern=events.EventPattern(source=["x"]))
    trace_events(fn).from_eventbridge(rule, event_pattern=events.EventPattern(source=["y"]))


def _eventbridge_imported_rule() -> None:
    stack, fn = _stack()
    rule = events.Rule.from_event_rule_arn(
        stack, "Theirs", "arn:aws:events:eu-west-1:123456789012:rule/theirs"
    )
    trace_events(fn).from_eventbridge(rule)  # type: ignore[arg-type]


def _eventbridge_schedule_on_custom_bus() -> None:
    stack, fn = _stack()
    trace_events(fn).from_eventbridge(
        schedule=events.Schedule.rate(Duration.hours(1)), event_bus=events.EventBus(stack, "Bus")
    )


def _eventbridge_duplicate_rule_id() -> None:
    _, fn = _stack()
    wiring = trace_events(fn).from_eventbridge(event_pattern=events.EventPattern(source=["a"]))
    wiring.from_eventbridge(event_pattern=events.EventPattern(source=["b"]))


def _not_a_function() -> None:
    stack, _ = _stack()
    trace_events(sqs.Queue(stack, "Q"))  # type: ignore[arg-type]


ERROR_CASES: list[tuple[str, Callable[[], None], str]] = [
    ("imported-bucket", _imported_bucket, r"^Bad/Theirs: .*imported.*Fix: .*from_eventbridge"),
    (
        "event-as-string",
        _event_as_string,
        r"'s3:ObjectCreated:\*'.*Fix: use s3.EventType.OBJECT_CREATED$",
    ),
    ("unknown-event", _unknown_event, r"'s3:Everything'.*Fix: use an s3.EventType member"),
    ("no-events", _no_events, r"^Bad/B: .*empty events.*Fix: pass at least one"),
    ("empty-prefix", _empty_prefix, r"^Bad/B: from_s3\(\) got prefix=''.*Fix: .*'uploads/'"),
    ("wildcard-suffix", _wildcard_suffix, r"suffix='\*.jpg'.*not wildcards.*Fix: drop the '\*'"),
    ("fifo-topic", _fifo_topic, r"^Bad/Orders: .*FIFO.*Fix: subscribe a FIFO queue.*from_sqs"),
    ("two-filter-policies", _two_filter_policies, r"^Bad/T: .*both filter_policy.*Fix: keep one"),
    (
        "imported-topic-traced",
        _imported_topic_with_tracing,
        r"^Bad/Theirs: .*imported.*Fix: .*active_tracing=False",
    ),
    (
        "visibility-timeout",
        _short_visibility_timeout,
        r"^Bad/Jobs: .*visibility timeout \(30 s\).*Bad/Fn \(120 s\).*Fix: .*at least 120 s",
    ),
    ("table-without-stream", _table_without_stream, r"^Bad/Plain: .*no stream.*Fix: .*stream="),
    (
        "dynamodb-at-timestamp",
        _dynamodb_at_timestamp,
        r"AT_TIMESTAMP.*Fix: use StartingPosition.LATEST",
    ),
    (
        "kinesis-at-timestamp",
        _kinesis_at_timestamp_without_time,
        r"^Bad/S: .*without starting_position_timestamp.*Fix: pass starting_position_timestamp",
    ),
    (
        "kinesis-timestamp-only",
        _kinesis_time_without_at_timestamp,
        r"starting_position_timestamp=1.0 with starting_position LATEST.*Fix: .*AT_TIMESTAMP",
    ),
    ("eventbridge-nothing", _eventbridge_nothing, r"^Bad/Fn: .*no rule.*Fix: pass one"),
    (
        "eventbridge-rule-and-pattern",
        _eventbridge_rule_and_pattern,
        r"^Bad/Fn: .*existing rule \(Bad/R\).*Fix: pass either",
    ),
    (
        "eventbridge-imported-rule",
        _eventbridge_imported_rule,
        r"^Bad/Theirs: .*imported.*Fix: pass event_pattern",
    ),
    (
        "eventbridge-schedule-bus",
        _eventbridge_schedule_on_custom_bus,
        r"schedule and event_bus Bad/Bus.*default bus.*Fix: drop event_bus",
    ),
    (
        "eventbridge-duplicate-rule-id",
        _eventbridge_duplicate_rule_id,
        r"^Bad/Fn/TracedEventsRule: .*Fix: pass a different rule_id=",
    ),
    (
        "not-a-function",
        _not_a_function,
        r"^Bad/Q: trace_events\(\) got a Queue.*Fix: pass a TracedFunction",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [pytest.param(build, message, id=case_id) for case_id, build, message in ERROR_CASES],
)
def test_bad_input_is_refused_naming_construct_value_and_fix(
    build: Callable[[], None], message: str
) -> None:
    with pytest.raises(TracingConfigError, match=message):
        build()


# -- deprecation: one Python warning at the caller's line, one CDK warning per function ------


def test_trace_events_warns_at_the_callers_line_and_names_the_replacement() -> None:
    _, fn = _stack()
    with pytest.warns(
        DeprecationWarning, match=r"trace_events\(\)/TracedEvents are deprecated"
    ) as seen:
        trace_events(fn)
    [warning] = seen.list
    assert warning.filename == __file__  # the user's line, not the library's
    assert "TracedSqsEventSource" in str(warning.message)
    assert "TracedLambdaTarget" in str(warning.message)


def test_trace_events_adds_one_cdk_warning_per_function() -> None:
    stack, fn = _stack()
    trace_events(fn).from_sqs(sqs.Queue(stack, "Q1"))
    trace_events(fn).from_sqs(sqs.Queue(stack, "Q2"))
    other = _traced(stack, "Other")
    TracedEvents(other)
    annotations = assertions.Annotations.from_stack(stack)
    deprecated = Match.string_like_regexp("TraceEventsDeprecated")
    assert len(annotations.find_warning("/Bad/Fn", deprecated)) == 1
    assert len(annotations.find_warning("/Bad/Other", deprecated)) == 1


# -- the facade makes exactly what the event sources make ------------------------------------


def test_facade_template_equals_the_same_wiring_with_the_event_sources(wired: Wired) -> None:
    """Built on the new classes, the facade adds nothing and loses nothing."""
    app = App()
    stack = Stack(app, "Events")
    fn = _traced(stack, "Handler", timeout=Duration.seconds(20))
    filtered = s3.Bucket(stack, "Filtered")
    default = s3.Bucket(stack, "Default")
    multi = s3.Bucket(stack, "Multi")
    topic = sns.Topic(stack, "Topic")
    quiet = sns.Topic(stack, "QuietTopic")
    queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(120))
    table = _table(stack, "Table", stream=dynamodb.StreamViewType.NEW_IMAGE)
    stream = kinesis.Stream(stack, "Stream")
    nightly = events.Rule(stack, "Nightly", schedule=events.Schedule.cron(hour="3", minute="0"))
    created = s3.EventType.OBJECT_CREATED
    key_filter = s3.NotificationKeyFilter(prefix="uploads/", suffix=".csv")
    fn.add_event_source(
        TracedS3EventSource(filtered, S3EventSourceProps(events=[created], filters=[key_filter]))
    )
    fn.add_event_source(TracedS3EventSource(default, S3EventSourceProps(events=[created])))
    removed = [s3.EventType.OBJECT_REMOVED, s3.EventType.OBJECT_RESTORE_COMPLETED]
    fn.add_event_source(TracedS3EventSource(multi, S3EventSourceProps(events=removed)))
    upload = {"kind": sns.SubscriptionFilter.string_filter(allowlist=["upload"])}
    fn.add_event_source(TracedSnsEventSource(topic, SnsEventSourceProps(filter_policy=upload)))
    fn.add_event_source(TracedSnsEventSource(quiet, active_tracing=False))
    fn.add_event_source(
        TracedSqsEventSource(
            queue, SqsEventSourceProps(batch_size=5, report_batch_item_failures=True)
        )
    )
    latest, trim = lambda_.StartingPosition.LATEST, lambda_.StartingPosition.TRIM_HORIZON
    fn.add_event_source(
        TracedDynamoEventSource(
            table, DynamoEventSourceProps(starting_position=latest, batch_size=50)
        )
    )
    fn.add_event_source(
        TracedKinesisEventSource(stream, KinesisEventSourceProps(starting_position=trim))
    )
    events.Rule(
        fn,
        "TracedEventsRule",
        event_pattern=events.EventPattern(source=["my.app"]),
        targets=[TracedLambdaTarget(fn)],
    )
    nightly.add_target(TracedLambdaTarget(fn))
    plain = _plain(stack, "Plain")
    plain.add_event_source(TracedSqsEventSource(sqs.Queue(stack, "PlainQueue")))
    disabled = _traced(stack, "Disabled", tracing=lambda_.Tracing.DISABLED)
    disabled.add_event_source(TracedSqsEventSource(sqs.Queue(stack, "DisabledQueue")))

    assert assertions.Template.from_stack(stack).to_json() == wired.template.to_json()
