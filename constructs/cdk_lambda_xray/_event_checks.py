"""The synth-time checks of event wiring, shared by the event sources and the old facade.

Each check raises :class:`~cdk_lambda_xray.errors.TracingConfigError` naming the
construct, the value and the fix, or (for the tracing of the wired function,
known only after all aspects ran) adds a warning annotation. The wording that
differs between the two ways of wiring (``TracedSqsEventSource`` or the
deprecated ``trace_events(fn).from_sqs``) lives in one :class:`Idiom` each.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jsii
from aws_cdk import Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import IValidation

from . import ids
from .errors import TracingConfigError

__all__ = [
    "FACADE",
    "SOURCES",
    "Idiom",
    "check_dynamodb_stream",
    "check_kinesis_position",
    "check_owned_bucket",
    "check_sns_subscription",
    "check_visibility_timeout",
    "s3_event_types",
    "s3_key_filter",
    "struct_kwargs",
    "watch_tracing",
]


@dataclass(frozen=True)
class Idiom:
    """How a source was wired: the names errors and warnings show for each kind."""

    wired_with: str  # in the "not traced" warning: "... is wired to event sources with <this>"
    s3: str
    sns: str
    dynamodb: str
    kinesis: str
    queue_fix: str  # how to wire an SQS queue instead of a FIFO topic
    eventbridge_fix: str  # how to receive an imported bucket's events instead


#: ``trace_events(fn).from_*`` (deprecated): its messages stay as they were.
FACADE: Final = Idiom(
    wired_with="trace_events()",
    s3="from_s3()",
    sns="from_sns()",
    dynamodb="from_dynamodb()",
    kinesis="from_kinesis()",
    queue_fix="wire the queue with from_sqs()",
    eventbridge_fix="use from_eventbridge(event_pattern=events.EventPattern("
    'source=["aws.s3"], ...))',
)

#: ``fn.add_event_source(TracedSqsEventSource(...))`` and ``TracedLambdaTarget``.
SOURCES: Final = Idiom(
    wired_with="cdk_lambda_xray's traced event sources",
    s3="TracedS3EventSource()",
    sns="TracedSnsEventSource()",
    dynamodb="TracedDynamoEventSource()",
    kinesis="TracedKinesisEventSource()",
    queue_fix="wire the queue with TracedSqsEventSource",
    eventbridge_fix="add TracedLambdaTarget(fn) to an events.Rule with event_pattern="
    'events.EventPattern(source=["aws.s3"], ...)',
)


def struct_kwargs(props: object) -> dict[str, Any]:
    """The keyword arguments a jsii struct was made with (only those given), or ``{}``.

    Passing them on unchanged keeps every prop aws-cdk-lib has, now or in a
    later release, without naming any. A mapping is taken as the keywords.
    """
    if props is None:
        return {}
    if isinstance(props, Mapping):
        return dict(props)
    values = getattr(props, "_values", None)  # every jsii struct keeps its given props here
    if not isinstance(values, dict):
        raise TypeError(f"not a jsii struct: {type(props).__name__}")
    return dict(values)


# -- S3 ------------------------------------------------------------------------------------


def check_owned_bucket(bucket: s3.IBucket, idiom: Idiom) -> None:
    """An imported bucket's notifications belong to its owner: refuse to rewrite them."""
    if isinstance(bucket, s3.Bucket):
        return
    raise TracingConfigError(
        bucket.node.path,
        "this S3 bucket is imported (not defined in this app); wiring it here "
        "would let this stack rewrite the notification configuration of a bucket "
        "it does not own",
        "define the bucket in this app, or have its owner turn on EventBridge "
        f"notifications and {idiom.eventbridge_fix}",
    )


def s3_event_types(given: Sequence[s3.EventType], path: str, idiom: Idiom) -> list[s3.EventType]:
    """``given`` as a list of ``s3.EventType``; a string names the member meant."""
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
            path, f"{idiom.s3} got event {item!r}, which is not an s3.EventType", hint
        )
    if not result:
        raise TracingConfigError(
            path,
            f"{idiom.s3} got an empty events list",
            "pass at least one s3.EventType, or leave events out (default: OBJECT_CREATED)"
            if idiom is FACADE
            else "pass at least one s3.EventType, such as s3.EventType.OBJECT_CREATED",
        )
    return result


def _s3_event_named(text: str) -> s3.EventType | None:
    """The member a user meant: ``"s3:ObjectCreated:Put"`` -> ``OBJECT_CREATED_PUT``."""
    body = text.removeprefix("s3:").replace("*", "").strip(":")
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", body)
    name = "_".join(w.upper() for w in words) if words else text.upper()
    return s3.EventType.__members__.get(name)


def s3_key_filter(
    path: str, idiom: Idiom, *, prefix: str | None, suffix: str | None
) -> s3.NotificationKeyFilter | None:
    """The key filter for ``prefix``/``suffix``; empty or wildcard ones are refused."""
    for name, value in (("prefix", prefix), ("suffix", suffix)):
        if value is None:
            continue
        if not isinstance(value, str) or (value == "" and not Token.is_unresolved(value)):
            example = "uploads/" if name == "prefix" else ".jpg"
            raise TracingConfigError(
                path,
                f"{idiom.s3} got {name}={value!r}",
                f"pass a non-empty string such as {example!r}, or leave {name} out",
            )
        if "*" in value:
            raise TracingConfigError(
                path,
                f"{idiom.s3} got {name}={value!r}, but S3 key filters are literal text, "
                "not wildcards",
                "drop the '*'",
            )
    if prefix is None and suffix is None:
        return None
    return s3.NotificationKeyFilter(prefix=prefix, suffix=suffix)


# -- SNS -----------------------------------------------------------------------------------


def check_sns_subscription(topic: sns.ITopic, props: dict[str, Any], idiom: Idiom) -> None:
    """A FIFO topic never delivers to Lambda; a subscription has one filter-policy scope."""
    path = topic.node.path
    if topic.fifo is True:
        raise TracingConfigError(
            path,
            "this SNS topic is a FIFO topic, and SNS delivers FIFO topics only to SQS "
            "queues, never to Lambda",
            f"subscribe a FIFO queue to the topic and {idiom.queue_fix}",
        )
    if props.get("filter_policy") is not None and (
        props.get("filter_policy_with_message_body") is not None
    ):
        raise TracingConfigError(
            path,
            f"{idiom.sns} got both filter_policy and filter_policy_with_message_body, "
            "but an SNS subscription has one filter policy scope",
            "keep one of them",
        )


# -- SQS -----------------------------------------------------------------------------------


def check_visibility_timeout(queue: sqs.IQueue, function: lambda_.IFunction) -> None:
    """Lambda refuses a mapping whose function may run longer than the queue hides a message."""
    cfn_queue = queue.node.default_child
    cfn_function = function.node.default_child
    if not isinstance(cfn_queue, sqs.CfnQueue) or not isinstance(cfn_function, lambda_.CfnFunction):
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
            f"timeout of function {function.node.path} ({timeout} s), and Lambda "
            "rejects such an event source mapping",
            f"set the queue's visibility_timeout to at least {timeout} s (AWS suggests "
            "6 times the function timeout)",
        )


# -- streams -------------------------------------------------------------------------------


def check_dynamodb_stream(
    table: dynamodb.ITable, starting_position: lambda_.StartingPosition | None, idiom: Idiom
) -> None:
    """The table must have a stream; DynamoDB streams cannot start at a timestamp."""
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
            f"{idiom.dynamodb} got starting_position AT_TIMESTAMP, which DynamoDB "
            "streams do not support",
            "use StartingPosition.LATEST or StartingPosition.TRIM_HORIZON",
        )


def check_kinesis_position(
    path: str,
    starting_position: lambda_.StartingPosition | None,
    timestamp: float | None,
    idiom: Idiom,
) -> None:
    """``AT_TIMESTAMP`` needs a timestamp, and a timestamp needs ``AT_TIMESTAMP``."""
    at_timestamp = starting_position == lambda_.StartingPosition.AT_TIMESTAMP
    if at_timestamp and timestamp is None:
        raise TracingConfigError(
            path,
            f"{idiom.kinesis} got starting_position AT_TIMESTAMP without "
            "starting_position_timestamp",
            "pass starting_position_timestamp= (Unix time in seconds to start from)",
        )
    if not at_timestamp and timestamp is not None:
        shown = getattr(starting_position, "name", starting_position)
        raise TracingConfigError(
            path,
            f"{idiom.kinesis} got starting_position_timestamp={timestamp!r} with "
            f"starting_position {shown}",
            "use StartingPosition.AT_TIMESTAMP, or drop the timestamp",
        )


# -- after all aspects: the wired function must be traced ----------------------------------

_TRACED_MODES: Final = frozenset({"Active", "PassThrough"})
_UNRESOLVED: Final = "<token>"
_WARNING_ID: Final = ids.EVENT_TARGET_NOT_TRACED


@jsii.implements(IValidation)
class _TracingCheck:
    """Warns (at synth, after all aspects ran) when a wired function is not traced."""

    def __init__(self, function: lambda_.Function, idiom: Idiom) -> None:
        self._function = function
        self._idiom = idiom
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
            f"{self._idiom.wired_with}, but its tracing mode is {shown}, not Active or "
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


def watch_tracing(function: lambda_.IFunction, idiom: Idiom) -> None:
    """Check once per function, after all aspects, that ``function`` ends up traced."""
    if not isinstance(function, lambda_.Function) or function in _WATCHED:
        return  # imported or singleton functions: their tracing is set where they live
    _WATCHED.add(function)
    function.node.add_validation(_TracingCheck(function, idiom))
