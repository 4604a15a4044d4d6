"""Deprecated: ``trace_events(fn).from_*``; use the CDK-shaped sources of ``event_sources``.

``trace_events(fn).from_sqs(queue, batch_size=5)`` is now
``fn.add_event_source(TracedSqsEventSource(queue, SqsEventSourceProps(batch_size=5)))``
(docs/events.md has the table for every method). This facade stays for one
release, built on those classes: it creates exactly what it created before,
keeps its checks and messages, and warns once per function (a Python
``DeprecationWarning`` and the CDK warning ``lambda-xray:TraceEventsDeprecated``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import _inputs as i
from . import ids
from ._deprecation import warn_deprecated
from ._event_checks import (
    FACADE,
    check_dynamodb_stream,
    check_kinesis_position,
    check_owned_bucket,
    check_sns_subscription,
    check_visibility_timeout,
    s3_event_types,
    s3_key_filter,
    watch_tracing,
)
from .errors import TracingConfigError
from .event_sources import (
    TracedDynamoEventSource,
    TracedKinesisEventSource,
    TracedLambdaTarget,
    TracedS3EventSource,
    TracedSnsEventSource,
    TracedSqsEventSource,
)

__all__ = ["DEPRECATION_WARNING_ID", "TracedEvents", "trace_events"]

#: The id of the CDK warning annotation ``trace_events`` adds to each wired function.
DEPRECATION_WARNING_ID: Final = ids.TRACE_EVENTS_DEPRECATED
_DEPRECATION: Final = (
    "trace_events()/TracedEvents are deprecated and will be removed in the next release: "
    "use fn.add_event_source(TracedSqsEventSource(queue, props)) (also TracedS3EventSource, "
    "TracedSnsEventSource, TracedDynamoEventSource, TracedKinesisEventSource) and "
    "rule.add_target(TracedLambdaTarget(fn, props)) from cdk_lambda_xray; see docs/events.md"
)
_DEFAULT_RULE_ID: Final = ids.TRACED_EVENTS_RULE

# What each entry point accepts (checked before it runs; see _inputs).
_FUNCTION = i.interface(lambda_.IFunction, "pass a TracedFunction or another aws_lambda.IFunction")
_WIRED = i.of_self("function")
_QUEUE = i.interface(sqs.IQueue)
_BATCH = {
    "batch_size": i.optional(i.integer(minimum=1)),
    "max_batching_window": i.optional(i.instance(Duration, "pass Duration.seconds(5)")),
    "report_batch_item_failures": i.optional(i.BOOL),
}
_STREAM = {
    **_BATCH,
    "starting_position": i.enum_member(lambda_.StartingPosition),
    "retry_attempts": i.optional(i.integer(minimum=-1)),
    "bisect_batch_on_error": i.optional(i.BOOL),
    "on_failure": i.optional(i.interface(lambda_.IEventSourceDlq)),
    "filters": i.optional(i.sequence_of(i.mapping_of(i.TEXT, i.ANY), example="[{...}]")),
}
_S3_EVENT = i.enum_member(s3.EventType)


@i.entry("trace_events", i.at("function"), function=_FUNCTION)
def trace_events(function: lambda_.IFunction) -> TracedEvents:
    """Deprecated: use ``fn.add_event_source(TracedSqsEventSource(...))`` and the like.

    Returns a :class:`TracedEvents`; its ``from_*`` methods each wire one source.
    """
    return TracedEvents(function)


class TracedEvents:
    """Deprecated: wires event sources to one Lambda function; every method returns ``self``."""

    @i.entry("TracedEvents", i.at("function"), function=_FUNCTION)
    def __init__(self, function: lambda_.IFunction) -> None:
        if not (hasattr(function, "add_event_source") and hasattr(function, "function_arn")):
            path = getattr(getattr(function, "node", None), "path", repr(function))
            raise TracingConfigError(
                path,
                f"trace_events() got a {type(function).__name__}, not a Lambda function",
                "pass a TracedFunction or another aws_lambda.IFunction",
            )
        warn_deprecated(function, DEPRECATION_WARNING_ID, _DEPRECATION)
        self._function = function
        watch_tracing(function, FACADE)

    @property
    def function(self) -> lambda_.IFunction:
        """The function the sources are wired to."""
        return self._function

    @i.entry(
        "from_s3",
        _WIRED,
        bucket=i.interface(s3.IBucket),
        events=i.one_of(
            _S3_EVENT,
            i.sequence_of(_S3_EVENT, example="[s3.EventType.OBJECT_CREATED]", any_collection=True),
        ),
        prefix=i.optional(i.TEXT),
        suffix=i.optional(i.TEXT),
    )
    def from_s3(
        self,
        bucket: s3.IBucket,
        *,
        events: Sequence[s3.EventType] = (s3.EventType.OBJECT_CREATED,),
        prefix: str | None = None,
        suffix: str | None = None,
    ) -> TracedEvents:
        """Deprecated: ``fn.add_event_source(TracedS3EventSource(bucket, props))``.

        Raises:
            TracingConfigError: the bucket is imported, an event is not an
                ``s3.EventType``, or a filter is empty or a wildcard.
        """
        path = bucket.node.path
        check_owned_bucket(bucket, FACADE)
        event_types = s3_event_types(events, path, FACADE)
        key_filter = s3_key_filter(path, FACADE, prefix=prefix, suffix=suffix)
        props = sources.S3EventSourceProps(
            events=event_types, filters=[key_filter] if key_filter is not None else None
        )
        self._function.add_event_source(TracedS3EventSource(bucket, props))
        return self

    @i.entry(
        "from_sns",
        _WIRED,
        topic=i.interface(sns.ITopic),
        filter_policy=i.optional(
            i.mapping_of(i.TEXT, i.instance(sns.SubscriptionFilter, "use sns.SubscriptionFilter")),
        ),
        filter_policy_with_message_body=i.optional(
            i.mapping_of(i.TEXT, i.instance(sns.FilterOrPolicy, "use sns.FilterOrPolicy"))
        ),
        dead_letter_queue=i.optional(_QUEUE),
        active_tracing=i.BOOL,
    )
    def from_sns(
        self,
        topic: sns.ITopic,
        *,
        filter_policy: Mapping[str, sns.SubscriptionFilter] | None = None,
        filter_policy_with_message_body: Mapping[str, sns.FilterOrPolicy] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        active_tracing: bool = True,
    ) -> TracedEvents:
        """Deprecated: ``fn.add_event_source(TracedSnsEventSource(topic, props))``.

        Raises:
            TracingConfigError: a FIFO topic, both filter policies given, or
                tracing that cannot be turned on.
        """
        kwargs = _given(
            filter_policy=filter_policy,
            filter_policy_with_message_body=filter_policy_with_message_body,
            dead_letter_queue=dead_letter_queue,
        )
        check_sns_subscription(topic, kwargs, FACADE)
        props = sources.SnsEventSourceProps(**kwargs)
        source = TracedSnsEventSource(topic, props, active_tracing=active_tracing)
        self._function.add_event_source(source)
        return self

    @i.entry(
        "from_sqs",
        _WIRED,
        queue=_QUEUE,
        **_BATCH,
        max_concurrency=i.optional(i.integer(minimum=2)),
        enabled=i.optional(i.BOOL),
    )
    def from_sqs(
        self,
        queue: sqs.IQueue,
        *,
        batch_size: int | None = None,
        max_batching_window: Duration | None = None,
        report_batch_item_failures: bool | None = None,
        max_concurrency: int | None = None,
        enabled: bool | None = None,
    ) -> TracedEvents:
        """Deprecated: ``fn.add_event_source(TracedSqsEventSource(queue, props))``.

        Raises:
            TracingConfigError: the function's timeout exceeds the queue's
                visibility timeout (Lambda refuses such a mapping at deploy).
        """
        check_visibility_timeout(queue, self._function)
        props = sources.SqsEventSourceProps(
            **_given(
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                report_batch_item_failures=report_batch_item_failures,
                max_concurrency=max_concurrency,
                enabled=enabled,
            )
        )
        self._function.add_event_source(TracedSqsEventSource(queue, props))
        return self

    @i.entry("from_dynamodb", _WIRED, table=i.interface(dynamodb.ITable), **_STREAM)
    def from_dynamodb(
        self,
        table: dynamodb.ITable,
        *,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.LATEST,
        batch_size: int | None = None,
        max_batching_window: Duration | None = None,
        retry_attempts: int | None = None,
        bisect_batch_on_error: bool | None = None,
        report_batch_item_failures: bool | None = None,
        on_failure: lambda_.IEventSourceDlq | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> TracedEvents:
        """Deprecated: ``fn.add_event_source(TracedDynamoEventSource(table, props))``.

        Raises:
            TracingConfigError: the table has no stream, or ``starting_position``
                is ``AT_TIMESTAMP`` (DynamoDB streams do not support it).
        """
        check_dynamodb_stream(table, starting_position, FACADE)
        props = sources.DynamoEventSourceProps(
            starting_position=starting_position,
            **_given(
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                retry_attempts=retry_attempts,
                bisect_batch_on_error=bisect_batch_on_error,
                report_batch_item_failures=report_batch_item_failures,
                on_failure=on_failure,
                filters=filters,
            ),
        )
        self._function.add_event_source(TracedDynamoEventSource(table, props))
        return self

    @i.entry(
        "from_kinesis",
        _WIRED,
        stream=i.interface(kinesis.IStream),
        starting_position_timestamp=i.optional(i.number(minimum=0)),
        **_STREAM,
    )
    def from_kinesis(
        self,
        stream: kinesis.IStream,
        *,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.LATEST,
        starting_position_timestamp: float | None = None,
        batch_size: int | None = None,
        max_batching_window: Duration | None = None,
        retry_attempts: int | None = None,
        bisect_batch_on_error: bool | None = None,
        report_batch_item_failures: bool | None = None,
        on_failure: lambda_.IEventSourceDlq | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> TracedEvents:
        """Deprecated: ``fn.add_event_source(TracedKinesisEventSource(stream, props))``.

        Raises:
            TracingConfigError: ``AT_TIMESTAMP`` without
                ``starting_position_timestamp``, or a timestamp without ``AT_TIMESTAMP``.
        """
        check_kinesis_position(
            stream.node.path, starting_position, starting_position_timestamp, FACADE
        )
        props = sources.KinesisEventSourceProps(
            starting_position=starting_position,
            **_given(
                starting_position_timestamp=starting_position_timestamp,
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                retry_attempts=retry_attempts,
                bisect_batch_on_error=bisect_batch_on_error,
                report_batch_item_failures=report_batch_item_failures,
                on_failure=on_failure,
                filters=filters,
            ),
        )
        self._function.add_event_source(TracedKinesisEventSource(stream, props))
        return self

    @i.entry(
        "from_eventbridge",
        _WIRED,
        rule=i.optional(i.interface(events.IRule)),
        event_pattern=i.optional(i.struct(events.EventPattern)),
        schedule=i.optional(i.instance(events.Schedule, "pass events.Schedule.rate(...)")),
        event_bus=i.optional(i.interface(events.IEventBus)),
        rule_id=i.CONSTRUCT_ID,
        event=i.optional(
            i.instance(events.RuleTargetInput, "pass events.RuleTargetInput.from_object(...)")
        ),
        dead_letter_queue=i.optional(_QUEUE),
        retry_attempts=i.optional(i.integer(minimum=0)),
        max_event_age=i.optional(i.instance(Duration, "pass Duration.hours(1)")),
    )
    def from_eventbridge(
        self,
        rule: events.Rule | None = None,
        *,
        event_pattern: events.EventPattern | None = None,
        schedule: events.Schedule | None = None,
        event_bus: events.IEventBus | None = None,
        rule_id: str = _DEFAULT_RULE_ID,
        event: events.RuleTargetInput | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> TracedEvents:
        """Deprecated: ``rule.add_target(TracedLambdaTarget(fn, props))``.

        Either pass an existing ``rule``, or an ``event_pattern`` and/or a
        ``schedule`` (plus an optional ``event_bus``) and a rule is created as a
        child of the function with the construct id ``rule_id``.

        Raises:
            TracingConfigError: both or neither of ``rule`` and pattern/schedule,
                an imported rule, a schedule on a custom event bus, or a
                ``rule_id`` already used under the function.
        """
        target = TracedLambdaTarget(
            self._function,
            targets.LambdaFunctionProps(
                **_given(
                    event=event,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=retry_attempts,
                    max_event_age=max_event_age,
                )
            ),
        )
        fpath = self._function.node.path
        makes_rule = event_pattern is not None or schedule is not None
        if rule is not None and (makes_rule or event_bus is not None):
            raise TracingConfigError(
                fpath,
                f"from_eventbridge() got an existing rule ({rule.node.path}) and "
                "event_pattern/schedule/event_bus",
                "pass either the rule, or the pattern/schedule to create one",
            )
        if rule is not None:
            if not isinstance(rule, events.Rule):
                raise TracingConfigError(
                    rule.node.path,
                    "this EventBridge rule is imported; targets can be added only to an "
                    "events.Rule defined in this app",
                    "pass event_pattern= (and event_bus=) to create a rule here instead",
                )
            rule.add_target(target)
            return self
        if not makes_rule:
            raise TracingConfigError(
                fpath,
                "from_eventbridge() got no rule, event_pattern or schedule",
                'pass one, for example event_pattern=events.EventPattern(source=["my.app"])',
            )
        if schedule is not None and event_bus is not None:
            raise TracingConfigError(
                fpath,
                "from_eventbridge() got a schedule and event_bus "
                f"{event_bus.node.path}, but scheduled rules run only on the default bus",
                "drop event_bus (or use EventBridge Scheduler)",
            )
        scope = (
            self._function if isinstance(self._function, Construct) else Stack.of(self._function)
        )
        if scope.node.try_find_child(rule_id) is not None:
            raise TracingConfigError(
                f"{fpath}/{rule_id}",
                f"the function already has a child {rule_id!r}",
                "pass a different rule_id= for each rule you create with from_eventbridge()",
            )
        events.Rule(
            scope,
            rule_id,
            event_pattern=event_pattern,
            schedule=schedule,
            event_bus=event_bus,
            targets=[target],
        )
        return self


def _given(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that were given (``None`` means CDK's default)."""
    return {key: value for key, value in kwargs.items() if value is not None}
