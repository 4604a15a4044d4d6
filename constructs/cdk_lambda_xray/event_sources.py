"""Event sources and an EventBridge target that keep the X-Ray trace connected, the CDK way.

Each class takes aws-cdk-lib's own props object, passes it unchanged to
aws-cdk-lib's own class (``aws_lambda_event_sources.SqsEventSource``, ...,
``aws_events_targets.LambdaFunction``), and adds what keeps the trace
connected plus the checks that catch wiring that cannot work::

    fn.add_event_source(TracedSqsEventSource(queue, SqsEventSourceProps(batch_size=5)))
    fn.add_event_source(TracedSnsEventSource(topic))  # also turns the topic's tracing on
    rule.add_target(TracedLambdaTarget(fn))

Every prop aws-cdk-lib has (now or in a later release) works, because none is
copied here. What each adds:

- all: a warning at synth (after all aspects ran) when the function they feed
  ends up with tracing neither ``Active`` nor ``PassThrough``;
- SNS: the topic's active tracing and the stack's X-Ray resource policy for SNS
  (:func:`cdk_lambda_xray.upstream.trace_topic`); FIFO topics are refused;
- S3: imported buckets, empty or wildcard key filters are refused;
- SQS: a function timeout longer than the queue's visibility timeout is refused;
- DynamoDB: a table without a stream, ``AT_TIMESTAMP`` are refused;
- Kinesis: ``AT_TIMESTAMP`` without a timestamp (or the reverse) is refused.

Checks of the source alone run when the object is created and raise
:class:`~cdk_lambda_xray.errors.TracingConfigError`. The SQS timeout check needs
the function, so it runs in ``bind``, which CDK calls from
``add_event_source``; jsii hands any Python exception raised there back as a
``RuntimeError`` with the same message (construct path, value, fix).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs

from . import _inputs as i
from ._event_checks import (
    SOURCES,
    check_dynamodb_stream,
    check_kinesis_position,
    check_owned_bucket,
    check_sns_subscription,
    check_visibility_timeout,
    s3_event_types,
    s3_key_filter,
    struct_kwargs,
    watch_tracing,
)
from .upstream import trace_topic

__all__ = [
    "TracedDynamoEventSource",
    "TracedKinesisEventSource",
    "TracedLambdaTarget",
    "TracedS3EventSource",
    "TracedSnsEventSource",
    "TracedSqsEventSource",
]

_FUNCTION = i.interface(lambda_.IFunction, "pass a TracedFunction or another aws_lambda.IFunction")

#: aws-cdk-lib's event source class a traced one delegates to.
S = TypeVar("S", bound=lambda_.IEventSource)
#: aws-cdk-lib's event sources that create an event source mapping.
M = TypeVar("M", sources.SqsEventSource, sources.DynamoEventSource, sources.KinesisEventSource)


class _Delegating(Generic[S]):
    """What every traced event source does: watch the function's tracing, then CDK's bind."""

    _source: S

    @property
    def event_source(self) -> S:
        """The aws-cdk-lib event source this delegates to."""
        return self._source

    def bind(self, target: lambda_.IFunction) -> None:
        """Called by ``target.add_event_source(self)``."""
        watch_tracing(target, SOURCES)
        self._source.bind(target)


class _Mapping(_Delegating[M]):
    """A source read through an event source mapping (SQS, DynamoDB, Kinesis)."""

    @property
    def event_source_mapping_id(self) -> str:
        """The mapping's id (only once bound: CDK raises before)."""
        return self._source.event_source_mapping_id

    @property
    def event_source_mapping_arn(self) -> str:
        """The mapping's ARN (only once bound: CDK raises before)."""
        return self._source.event_source_mapping_arn


@jsii.implements(lambda_.IEventSource)
class TracedSqsEventSource(_Mapping[sources.SqsEventSource]):
    """``aws_lambda_event_sources.SqsEventSource`` plus the visibility-timeout check.

    Lambda links the producer's trace (the message's ``AWSTraceHeader``) to the
    function's trace.

    Args:
        queue: the queue to poll.
        props: CDK's ``SqsEventSourceProps`` (or a dict of them), passed on
            unchanged. Default: CDK's defaults.

    Raises:
        RuntimeError: from ``add_event_source``, when the function's timeout
            exceeds the queue's visibility timeout (Lambda refuses such a
            mapping at deploy); the message names the queue, both values and
            the fix.
    """

    @i.entry(
        "TracedSqsEventSource",
        i.at("queue"),
        queue=i.interface(sqs.IQueue),
        props=i.optional(i.struct(sources.SqsEventSourceProps)),
    )
    def __init__(self, queue: sqs.IQueue, props: sources.SqsEventSourceProps | None = None) -> None:
        self._queue = queue
        self._source = sources.SqsEventSource(queue, **struct_kwargs(props))

    @property
    def queue(self) -> sqs.IQueue:
        """The queue polled."""
        return self._queue

    def bind(self, target: lambda_.IFunction) -> None:
        """Called by ``target.add_event_source(self)``: check, watch, then CDK's own bind."""
        check_visibility_timeout(self._queue, target)
        super().bind(target)


@jsii.implements(lambda_.IEventSource)
class TracedS3EventSource(_Delegating[sources.S3EventSource]):
    """``aws_lambda_event_sources.S3EventSource`` for a bucket defined in this app.

    An upload made by a traced client carries its trace to the function (S3
    itself records no segment). The notification and the invoke permission live
    in the bucket's stack.

    Args:
        bucket: an ``s3.Bucket`` defined in this app.
        props: CDK's ``S3EventSourceProps`` (``events`` required, optional
            ``filters``), passed on unchanged.

    Raises:
        TracingConfigError: the bucket is imported (this stack would rewrite
            the notifications of a bucket it does not own), no event, or a key
            filter that is empty or holds a wildcard (S3 filters are literal).
    """

    @i.entry(
        "TracedS3EventSource",
        i.at("bucket"),
        bucket=i.interface(s3.IBucket),
        props=i.struct(sources.S3EventSourceProps),
    )
    def __init__(self, bucket: s3.IBucket, props: sources.S3EventSourceProps) -> None:
        check_owned_bucket(bucket, SOURCES)
        kwargs = struct_kwargs(props)
        path = bucket.node.path
        s3_event_types(kwargs.get("events") or [], path, SOURCES)
        for key_filter in kwargs.get("filters") or []:
            s3_key_filter(
                path,
                SOURCES,
                prefix=_field(key_filter, "prefix"),
                suffix=_field(key_filter, "suffix"),
            )
        self._bucket = bucket
        self._source = sources.S3EventSource(bucket, **kwargs)  # type: ignore[arg-type]

    @property
    def bucket(self) -> s3.IBucket:
        """The bucket whose events invoke the function."""
        return self._bucket


@jsii.implements(lambda_.IEventSource)
class TracedSnsEventSource(_Delegating[sources.SnsEventSource]):
    """``aws_lambda_event_sources.SnsEventSource`` on a topic with active tracing.

    With ``active_tracing`` (default) the topic gets ``TracingConfig: Active``
    and the stack's X-Ray resource policy allows it
    (:func:`cdk_lambda_xray.upstream.trace_topic`), as soon as this object is
    created: publisher -> SNS topic -> function then reads as one trace.

    Args:
        topic: the topic. An imported topic needs ``active_tracing=False``.
        props: CDK's ``SnsEventSourceProps`` (or a dict of them), passed on
            unchanged. Default: CDK's defaults.
        active_tracing: turn on the topic's active tracing.

    Raises:
        TracingConfigError: a FIFO topic (SNS delivers FIFO topics only to SQS),
            both filter policies, or tracing that cannot be turned on (an
            imported topic, a topic explicitly set to PassThrough).
    """

    @i.entry(
        "TracedSnsEventSource",
        i.at("topic"),
        topic=i.interface(sns.ITopic),
        props=i.optional(i.struct(sources.SnsEventSourceProps)),
        active_tracing=i.BOOL,
    )
    def __init__(
        self,
        topic: sns.ITopic,
        props: sources.SnsEventSourceProps | None = None,
        *,
        active_tracing: bool = True,
    ) -> None:
        kwargs = struct_kwargs(props)
        check_sns_subscription(topic, kwargs, SOURCES)
        if active_tracing:
            trace_topic(topic)
        self._topic = topic
        self._source = sources.SnsEventSource(topic, **kwargs)

    @property
    def topic(self) -> sns.ITopic:
        """The topic subscribed to."""
        return self._topic


@jsii.implements(lambda_.IEventSource)
class TracedDynamoEventSource(_Mapping[sources.DynamoEventSource]):
    """``aws_lambda_event_sources.DynamoEventSource`` with the stream checks.

    DynamoDB streams start a new trace at the function; its segment shows the
    function's downstream calls.

    Args:
        table: a table with a stream.
        props: CDK's ``DynamoEventSourceProps`` (``starting_position``
            required), passed on unchanged.

    Raises:
        TracingConfigError: the table has no stream, or ``starting_position``
            is ``AT_TIMESTAMP`` (DynamoDB streams do not support it).
    """

    @i.entry(
        "TracedDynamoEventSource",
        i.at("table"),
        table=i.interface(dynamodb.ITable),
        props=i.struct(sources.DynamoEventSourceProps),
    )
    def __init__(self, table: dynamodb.ITable, props: sources.DynamoEventSourceProps) -> None:
        kwargs = struct_kwargs(props)
        check_dynamodb_stream(table, kwargs.get("starting_position"), SOURCES)
        self._table = table
        self._source = sources.DynamoEventSource(table, **kwargs)

    @property
    def table(self) -> dynamodb.ITable:
        """The table whose stream is read."""
        return self._table


@jsii.implements(lambda_.IEventSource)
class TracedKinesisEventSource(_Mapping[sources.KinesisEventSource]):
    """``aws_lambda_event_sources.KinesisEventSource`` with the starting-position checks.

    Kinesis starts a new trace at the function.

    Args:
        stream: the stream to read.
        props: CDK's ``KinesisEventSourceProps`` (``starting_position``
            required), passed on unchanged.

    Raises:
        TracingConfigError: ``AT_TIMESTAMP`` without
            ``starting_position_timestamp``, or a timestamp without ``AT_TIMESTAMP``.
    """

    @i.entry(
        "TracedKinesisEventSource",
        i.at("stream"),
        stream=i.interface(kinesis.IStream),
        props=i.struct(sources.KinesisEventSourceProps),
    )
    def __init__(self, stream: kinesis.IStream, props: sources.KinesisEventSourceProps) -> None:
        kwargs = struct_kwargs(props)
        check_kinesis_position(
            stream.node.path,
            kwargs.get("starting_position"),
            kwargs.get("starting_position_timestamp"),
            SOURCES,
        )
        self._stream = stream
        self._source = sources.KinesisEventSource(stream, **kwargs)

    @property
    def stream(self) -> kinesis.IStream:
        """The stream read."""
        return self._stream


@jsii.implements(events.IRuleTarget)
class TracedLambdaTarget:
    """``aws_events_targets.LambdaFunction`` for a function whose tracing is checked.

    EventBridge passes the caller's trace header on, so a traced ``PutEvents``
    caller -> EventBridge -> function reads as one trace.

    Args:
        handler: the function to invoke.
        props: CDK's ``LambdaFunctionProps`` (``event``, ``dead_letter_queue``,
            ``retry_attempts``, ``max_event_age``, ...), passed on unchanged.
    """

    @i.entry(
        "TracedLambdaTarget",
        i.at("handler"),
        handler=_FUNCTION,
        props=i.optional(i.struct(targets.LambdaFunctionProps)),
    )
    def __init__(
        self, handler: lambda_.IFunction, props: targets.LambdaFunctionProps | None = None
    ) -> None:
        self._handler = handler
        self._target = targets.LambdaFunction(handler, **struct_kwargs(props))

    @property
    def handler(self) -> lambda_.IFunction:
        """The function invoked."""
        return self._handler

    @property
    def target(self) -> targets.LambdaFunction:
        """The aws-cdk-lib rule target this delegates to."""
        return self._target

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Called by ``rule.add_target(self)``: watch the function, then CDK's own bind."""
        watch_tracing(self._handler, SOURCES)
        return self._target.bind(rule, id)


def _field(value: Any, name: str) -> Any:
    """A field of a jsii struct, or of the dict standing for one."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)
