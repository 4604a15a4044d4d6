"""Wire event sources to a traced function in one call, keeping the trace connected.

>>> trace_events(fn).from_s3(bucket, prefix="uploads/").from_sns(topic)

Each ``from_*`` method validates its input at synth time (errors name the
construct, the bad value and the fix) and returns the same :class:`TracedEvents`
so calls chain. Where AWS can trace the hop before the function, it is turned
on: an SNS topic gets active tracing plus the X-Ray resource policy SNS needs
(see :mod:`cdk_lambda_xray.upstream`).

What each source does for the trace (AWS behaviour, not ours):

- SNS (active tracing), EventBridge and S3 notifications carry the caller's X-Ray
  trace header, so the function joins the trace of a traced publisher/uploader;
  SQS links the producer's trace to the function's in the console.
- DynamoDB streams and Kinesis start a new trace at the function. Either way the
  function's own segment shows its downstream calls.

A function wired here is checked at synth: if its tracing is not ``Active`` or
``PassThrough`` once all aspects ran, a warning says the trace ends there.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

import jsii
from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation

from . import _inputs as i
from . import ids
from .errors import TracingConfigError
from .upstream import trace_topic

__all__ = ["TracedEvents", "trace_events"]

_DEFAULT_RULE_ID: Final = ids.TRACED_EVENTS_RULE
_TRACED_MODES: Final = frozenset({"Active", "PassThrough"})
_UNRESOLVED: Final = "<token>"
_WARNING_ID: Final = ids.EVENT_TARGET_NOT_TRACED

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
    """Start wiring event sources to ``function`` (usually a ``TracedFunction``).

    Returns a :class:`TracedEvents`; its ``from_*`` methods each wire one source.
    """
    return TracedEvents(function)


class TracedEvents:
    """Wires event sources to one Lambda function; every method returns ``self``."""

    @i.entry("TracedEvents", i.at("function"), function=_FUNCTION)
    def __init__(self, function: lambda_.IFunction) -> None:
        if not (hasattr(function, "add_event_source") and hasattr(function, "function_arn")):
            path = getattr(getattr(function, "node", None), "path", repr(function))
            raise TracingConfigError(
                path,
                f"trace_events() got a {type(function).__name__}, not a Lambda function",
                "pass a TracedFunction or another aws_lambda.IFunction",
            )
        self._function = function
        _watch_tracing(function)

    @property
    def function(self) -> lambda_.IFunction:
        """The function the sources are wired to."""
        return self._function

    # -- S3 ---------------------------------------------------------------

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
        """Invoke the function for S3 object events of ``bucket``.

        The notification and the invoke permission live in the bucket's stack. If
        the bucket is in another stack than the function *and* the function also
        refers to the bucket (a grant, an environment variable), the two stacks
        depend on each other and CDK reports a ``DependencyCycle``: keep them in
        one stack, or send the bucket's events through EventBridge.

        Args:
            bucket: an ``s3.Bucket`` defined in this app.
            events: S3 event types. Default: ``[s3.EventType.OBJECT_CREATED]``.
            prefix: only keys starting with this (for example ``"uploads/"``).
            suffix: only keys ending with this (for example ``".jpg"``).

        Raises:
            TracingConfigError: the bucket is imported, an event is not an
                ``s3.EventType``, or a filter is empty or a wildcard.
        """
        path = bucket.node.path
        if not isinstance(bucket, s3.Bucket):
            raise TracingConfigError(
                path,
                "this S3 bucket is imported (not defined in this app); wiring it here "
                "would let this stack rewrite the notification configuration of a bucket "
                "it does not own",
                "define the bucket in this app, or have its owner turn on EventBridge "
                "notifications and use from_eventbridge(event_pattern=events.EventPattern("
                'source=["aws.s3"], ...))',
            )
        event_types = _s3_event_types(events, path)
        key_filter = _s3_key_filter(path, prefix=prefix, suffix=suffix)
        filters = [key_filter] if key_filter is not None else None
        self._function.add_event_source(
            sources.S3EventSource(bucket, events=event_types, filters=filters)
        )
        return self

    # -- SNS --------------------------------------------------------------

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
        """Subscribe the function to ``topic``.

        With ``active_tracing`` (default) the topic gets ``TracingConfig: Active``
        and the stack's X-Ray resource policy allows it (see
        :func:`cdk_lambda_xray.upstream.trace_topic`).

        Args:
            topic: the topic. Imported topics need ``active_tracing=False``.
            filter_policy: SNS filter policy on message attributes.
            filter_policy_with_message_body: filter policy on the message body
                (exclusive with ``filter_policy``).
            dead_letter_queue: SQS queue for messages SNS could not deliver.
            active_tracing: turn on the topic's active tracing.

        Raises:
            TracingConfigError: a FIFO topic (SNS delivers FIFO topics only to SQS),
                both filter policies given, or tracing that cannot be turned on.
        """
        path = topic.node.path
        fifo = topic.fifo
        if fifo is True:
            raise TracingConfigError(
                path,
                "this SNS topic is a FIFO topic, and SNS delivers FIFO topics only to SQS "
                "queues, never to Lambda",
                "subscribe a FIFO queue to the topic and wire the queue with from_sqs()",
            )
        if filter_policy is not None and filter_policy_with_message_body is not None:
            raise TracingConfigError(
                path,
                "from_sns() got both filter_policy and filter_policy_with_message_body, "
                "but an SNS subscription has one filter policy scope",
                "keep one of them",
            )
        if active_tracing:
            trace_topic(topic)
        self._function.add_event_source(
            sources.SnsEventSource(
                topic,
                filter_policy=filter_policy,
                filter_policy_with_message_body=filter_policy_with_message_body,
                dead_letter_queue=dead_letter_queue,
            )
        )
        return self

    # -- SQS --------------------------------------------------------------

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
        """Poll ``queue`` and invoke the function with batches of messages.

        Lambda links the producer's trace (the message's ``AWSTraceHeader``) to
        the function's trace.

        Raises:
            TracingConfigError: the function's timeout exceeds the queue's
                visibility timeout (Lambda refuses such a mapping at deploy).
        """
        self._check_visibility_timeout(queue)
        self._function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                report_batch_item_failures=report_batch_item_failures,
                max_concurrency=max_concurrency,
                enabled=enabled,
            )
        )
        return self

    # -- DynamoDB streams ---------------------------------------------------

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
        """Invoke the function with batches of ``table``'s stream records.

        Raises:
            TracingConfigError: the table has no stream, or ``starting_position``
                is ``AT_TIMESTAMP`` (DynamoDB streams do not support it).
        """
        path = table.node.path
        if table.table_stream_arn is None:
            raise TracingConfigError(
                path,
                "this DynamoDB table has no stream (table_stream_arn is None), so nothing "
                "could invoke the function",
                "turn one on: dynamodb.Table(..., stream=dynamodb.StreamViewType."
                "NEW_AND_OLD_IMAGES) (TableV2: dynamo_stream=...); for an imported table "
                "pass table_stream_arn to Table.from_table_attributes()",
            )
        if starting_position == lambda_.StartingPosition.AT_TIMESTAMP:
            raise TracingConfigError(
                path,
                "from_dynamodb() got starting_position AT_TIMESTAMP, which DynamoDB "
                "streams do not support",
                "use StartingPosition.LATEST or StartingPosition.TRIM_HORIZON",
            )
        self._function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=starting_position,
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                retry_attempts=retry_attempts,
                bisect_batch_on_error=bisect_batch_on_error,
                report_batch_item_failures=report_batch_item_failures,
                on_failure=on_failure,
                filters=filters,
            )
        )
        return self

    # -- Kinesis ------------------------------------------------------------

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
        """Invoke the function with batches of ``stream``'s records.

        Raises:
            TracingConfigError: ``AT_TIMESTAMP`` without
                ``starting_position_timestamp``, or a timestamp without ``AT_TIMESTAMP``.
        """
        path = stream.node.path
        at_timestamp = starting_position == lambda_.StartingPosition.AT_TIMESTAMP
        if at_timestamp and starting_position_timestamp is None:
            raise TracingConfigError(
                path,
                "from_kinesis() got starting_position AT_TIMESTAMP without "
                "starting_position_timestamp",
                "pass starting_position_timestamp= (Unix time in seconds to start from)",
            )
        if not at_timestamp and starting_position_timestamp is not None:
            raise TracingConfigError(
                path,
                f"from_kinesis() got starting_position_timestamp="
                f"{starting_position_timestamp!r} with starting_position "
                f"{starting_position.name}",
                "use StartingPosition.AT_TIMESTAMP, or drop the timestamp",
            )
        self._function.add_event_source(
            sources.KinesisEventSource(
                stream,
                starting_position=starting_position,
                starting_position_timestamp=starting_position_timestamp,
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                retry_attempts=retry_attempts,
                bisect_batch_on_error=bisect_batch_on_error,
                report_batch_item_failures=report_batch_item_failures,
                on_failure=on_failure,
                filters=filters,
            )
        )
        return self

    # -- EventBridge ----------------------------------------------------------

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
        """Make the function a target of an EventBridge rule.

        Either pass an existing ``rule``, or an ``event_pattern`` and/or a
        ``schedule`` (plus an optional ``event_bus``) and a rule is created as a
        child of the function with the construct id ``rule_id``.

        Raises:
            TracingConfigError: both or neither of ``rule`` and pattern/schedule,
                an imported rule, a schedule on a custom event bus, or a
                ``rule_id`` already used under the function.
        """
        target = targets.LambdaFunction(
            self._function,
            event=event,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
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

    # -- checks ---------------------------------------------------------------

    def _check_visibility_timeout(self, queue: sqs.IQueue) -> None:
        cfn_queue = queue.node.default_child
        cfn_function = self._function.node.default_child
        if not isinstance(cfn_queue, sqs.CfnQueue) or not isinstance(
            cfn_function, lambda_.CfnFunction
        ):
            return
        visibility = cfn_queue.visibility_timeout
        timeout = cfn_function.timeout
        visibility = 30 if visibility is None else visibility  # SQS default
        timeout = 3 if timeout is None else timeout  # Lambda default
        if Token.is_unresolved(visibility) or Token.is_unresolved(timeout):
            return
        if timeout > visibility:
            raise TracingConfigError(
                queue.node.path,
                f"the queue's visibility timeout ({visibility} s) is shorter than the "
                f"timeout of function {self._function.node.path} ({timeout} s), and Lambda "
                "rejects such an event source mapping",
                f"set the queue's visibility_timeout to at least {timeout} s (AWS suggests "
                "6 times the function timeout)",
            )


def _s3_event_types(given: Sequence[s3.EventType], path: str) -> list[s3.EventType]:
    if isinstance(given, s3.EventType | str):
        given = [given]  # forgiving: a single event instead of a list
    result: list[s3.EventType] = []
    for item in given:
        if isinstance(item, s3.EventType):
            result.append(item)
            continue
        known = _s3_event_named(item) if isinstance(item, str) else None
        hint = (
            f"use s3.EventType.{known.name}"
            if known is not None
            else "use an s3.EventType member such as s3.EventType.OBJECT_CREATED"
        )
        raise TracingConfigError(
            path, f"from_s3() got event {item!r}, which is not an s3.EventType", hint
        )
    if not result:
        raise TracingConfigError(
            path,
            "from_s3() got an empty events list",
            "pass at least one s3.EventType, or leave events out (default: OBJECT_CREATED)",
        )
    return result


def _s3_event_named(text: str) -> s3.EventType | None:
    """The member a user meant: ``"s3:ObjectCreated:Put"`` -> ``OBJECT_CREATED_PUT``."""
    body = text.removeprefix("s3:").replace("*", "").strip(":")
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", body)
    name = "_".join(w.upper() for w in words) if words else text.upper()
    return s3.EventType.__members__.get(name)


def _s3_key_filter(
    path: str, *, prefix: str | None, suffix: str | None
) -> s3.NotificationKeyFilter | None:
    for name, value in (("prefix", prefix), ("suffix", suffix)):
        if value is None:
            continue
        if not isinstance(value, str) or (value == "" and not Token.is_unresolved(value)):
            example = "uploads/" if name == "prefix" else ".jpg"
            raise TracingConfigError(
                path,
                f"from_s3() got {name}={value!r}",
                f"pass a non-empty string such as {example!r}, or leave {name} out",
            )
        if "*" in value:
            raise TracingConfigError(
                path,
                f"from_s3() got {name}={value!r}, but S3 key filters are literal text, "
                "not wildcards",
                "drop the '*'",
            )
    if prefix is None and suffix is None:
        return None
    return s3.NotificationKeyFilter(prefix=prefix, suffix=suffix)


# -- synth-time check: the wired function must be traced --------------------------


@jsii.implements(IValidation)
class _TracingCheck:
    """Warns (at synth, after all aspects ran) when a wired function is not traced."""

    def __init__(self, function: lambda_.IFunction) -> None:
        self._function = function
        self._reported = False

    def validate(self) -> list[str]:
        if self._reported:
            return []  # a second synth of the same app: warned once already
        cfn = self._function.node.default_child
        if not isinstance(cfn, lambda_.CfnFunction):
            return []  # imported function: its tracing is managed where it lives
        mode = _tracing_mode(cfn)
        if mode == _UNRESOLVED or mode in _TRACED_MODES:
            return []  # a token is not a value: never guessed at
        shown = "not set" if mode is None else mode
        self._reported = True
        ids.add_warning(
            self._function,
            _WARNING_ID,
            f"{self._function.node.path} is wired to event sources with "
            f"trace_events(), but its tracing mode is {shown}, not Active or "
            "PassThrough: Lambda records no segment for it and the trace ends before "
            "this function. Use TracedFunction (tracing Active), or apply "
            "trace_app(app).",
        )
        return []


def _tracing_mode(cfn: lambda_.CfnFunction) -> str | None:
    config = cfn.tracing_config
    if config is None:
        return None
    if isinstance(config, lambda_.CfnFunction.TracingConfigProperty):
        return config.mode
    return _UNRESOLVED if Token.is_unresolved(config) else None


_WATCHED: Final[weakref.WeakSet[lambda_.Function]] = weakref.WeakSet()


def _watch_tracing(function: lambda_.IFunction) -> None:
    if not isinstance(function, lambda_.Function) or function in _WATCHED:
        return  # imported or singleton functions: their tracing is set where they live
    _WATCHED.add(function)
    function.node.add_validation(_TracingCheck(function))
