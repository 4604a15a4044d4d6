"""Every public entry point refuses bad arguments first, with TracingConfigError only.

One table lists the public entry points of ``cdk_lambda_xray.__all__`` with a
valid call each. The tests feed each checked parameter bad inputs of every
class (wrong type, None where required, empty string, wrong enum, wrong
collection, wrong element types, bad handler strings) and expect
``TracingConfigError`` naming the construct, the parameter, the value and a
fix, and never another exception type. A hypothesis test feeds arbitrary
Python values to every parameter: the only exception that may come out is
``TracingConfigError``. Validation runs before any construct is made, so
nothing here synthesizes.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdk_lambda_xray
from cdk_lambda_xray import (
    ContextMissing,
    SnsTracingPolicy,
    TracedDynamoEventSource,
    TracedEvents,
    TracedFunction,
    TracedKinesisEventSource,
    TracedLambdaTarget,
    TracedS3EventSource,
    TracedSnsEventSource,
    TracedSqsEventSource,
    TracingConfigError,
    TracingLayer,
    TransactionSearch,
    XRayTracing,
    acknowledge_xray_wildcard,
    trace_app,
    trace_events,
    trace_rest_api,
    trace_state_machine,
    trace_topic,
)
from cdk_lambda_xray._inputs import specs_of

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
S3_CODE = lambda_.Code.from_bucket(
    s3.Bucket.from_bucket_name(cdk.Stack(), "Artifacts", "artifacts-bucket"), "bootstrap.zip"
)
PY = lambda_.Runtime.PYTHON_3_12
_ids = itertools.count()

#: trace_events/TracedEvents are deprecated (tests/unit/test_events.py checks the warning);
#: their argument checks are still tested here.
pytestmark = pytest.mark.filterwarnings("ignore:trace_events\\(\\)/TracedEvents:DeprecationWarning")


def fresh(prefix: str) -> str:
    """A construct id no other call used (calls that succeed add constructs)."""
    return f"{prefix}{next(_ids)}"


class Junk:
    """A value no parameter accepts; its repr is easy to find in a message."""

    def __repr__(self) -> str:
        return "<junk>"


class World:
    """One app with one construct of every kind the entry points take."""

    def __init__(self) -> None:
        self.app = cdk.App()
        stack = self.stack = cdk.Stack(self.app, "Inputs")
        self.fn = TracedFunction(stack, "Handler", runtime=PY, handler="app.handler", code=CODE)
        self.wiring = trace_events(self.fn)
        self.bucket = s3.Bucket(stack, "Bucket")
        self.topic = sns.Topic(stack, "Topic")
        self.queue = sqs.Queue(stack, "Queue")
        self.table = dynamodb.Table(
            stack,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            stream=dynamodb.StreamViewType.NEW_IMAGE,
        )
        self.stream = kinesis.Stream(stack, "Stream")
        self.api = apigw.RestApi(stack, "Api")
        self.api.root.add_method("GET", apigw.MockIntegration())
        self.machine = sfn.StateMachine(
            stack,
            "Machine",
            definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Step")),
        )
        self.policy = SnsTracingPolicy.of(stack)
        self.catalog: list[object] = []  # filled by _cdk_values


Call = Callable[[World, dict[str, Any]], Any]


@dataclass
class Target:
    """A public entry point, a valid call of it, and where its errors must point.

    ``where`` gives the construct path errors name, from the valid arguments;
    ``where_params`` are the parameters that path is read from (an error about
    one of those falls back to the rest of the path or the entry point's name).
    """

    name: str
    entry: Callable[..., Any]
    call: Call
    valid: Callable[[World], dict[str, Any]]
    where: Callable[[dict[str, Any]], str]
    where_params: frozenset[str] = field(default_factory=frozenset)

    def specs(self) -> dict[str, Any]:
        return dict(specs_of(self.entry))


def plain(function: Callable[..., Any]) -> Call:
    return lambda world, kwargs: function(**kwargs)


def wiring(method: str) -> Call:
    return lambda world, kwargs: getattr(world.wiring, method)(**kwargs)


def at(path: str) -> Callable[[dict[str, Any]], str]:
    return lambda kwargs: path


def new(kind: str, id_param: str = "id") -> Callable[[dict[str, Any]], str]:
    return lambda kwargs: f"Inputs/{kwargs[id_param]}"


def _stack_in_own_account(world: World) -> cdk.Stack:
    """A stack of its own account: one TransactionSearch per account and Region."""
    number = next(_ids)
    env = cdk.Environment(account=f"{number:012d}", region="eu-west-1")
    return cdk.Stack(world.app, f"Search{number}", env=env)


FN = "Inputs/Handler"
SCOPE_ID = frozenset({"scope", "id"})

TARGETS = [
    Target(
        "TracedFunction",
        TracedFunction.__init__,
        plain(TracedFunction),
        lambda w: {
            "scope": w.stack,
            "id": fresh("Fn"),
            "runtime": PY,
            "handler": "app.handler",
            "code": CODE,
        },
        new("Fn"),
        SCOPE_ID,
    ),
    Target(
        "TracingLayer",
        TracingLayer.__init__,
        plain(TracingLayer),
        lambda w: {"scope": w.stack, "id": fresh("Layer"), "runtime": PY},
        new("Layer"),
        SCOPE_ID,
    ),
    Target(
        "TracingLayer.of",
        TracingLayer.of,
        plain(TracingLayer.of),
        lambda w: {"scope": w.stack, "runtime": PY},
        at("Inputs"),
        frozenset({"scope"}),
    ),
    Target(
        "XRayTracing", XRayTracing.__init__, plain(XRayTracing), lambda w: {}, at("XRayTracing")
    ),
    Target(
        "trace_app",
        trace_app,
        plain(trace_app),
        lambda w: {"scope": w.app},
        at("App"),
        frozenset({"scope"}),
    ),
    Target(
        "trace_events",
        trace_events,
        plain(trace_events),
        lambda w: {"function": w.fn},
        at(FN),
        frozenset({"function"}),
    ),
    Target(
        "TracedEvents",
        TracedEvents.__init__,
        plain(TracedEvents),
        lambda w: {"function": w.fn},
        at(FN),
        frozenset({"function"}),
    ),
    Target(
        "from_s3",
        TracedEvents.from_s3,
        wiring("from_s3"),
        lambda w: {"bucket": w.bucket},
        at(FN),
    ),
    Target(
        "from_sns",
        TracedEvents.from_sns,
        wiring("from_sns"),
        lambda w: {"topic": w.topic},
        at(FN),
    ),
    Target(
        "from_sqs",
        TracedEvents.from_sqs,
        wiring("from_sqs"),
        lambda w: {"queue": w.queue},
        at(FN),
    ),
    Target(
        "from_dynamodb",
        TracedEvents.from_dynamodb,
        wiring("from_dynamodb"),
        lambda w: {"table": w.table},
        at(FN),
    ),
    Target(
        "from_kinesis",
        TracedEvents.from_kinesis,
        wiring("from_kinesis"),
        lambda w: {"stream": w.stream},
        at(FN),
    ),
    Target(
        "from_eventbridge",
        TracedEvents.from_eventbridge,
        wiring("from_eventbridge"),
        lambda w: {"event_pattern": events.EventPattern(source=["my.app"]), "rule_id": fresh("R")},
        at(FN),
    ),
    Target(
        "TracedSqsEventSource",
        TracedSqsEventSource.__init__,
        plain(TracedSqsEventSource),
        lambda w: {"queue": w.queue, "props": sources.SqsEventSourceProps(batch_size=5)},
        at("Inputs/Queue"),
        frozenset({"queue"}),
    ),
    Target(
        "TracedS3EventSource",
        TracedS3EventSource.__init__,
        plain(TracedS3EventSource),
        lambda w: {
            "bucket": w.bucket,
            "props": sources.S3EventSourceProps(events=[s3.EventType.OBJECT_CREATED]),
        },
        at("Inputs/Bucket"),
        frozenset({"bucket"}),
    ),
    Target(
        "TracedSnsEventSource",
        TracedSnsEventSource.__init__,
        plain(TracedSnsEventSource),
        lambda w: {"topic": w.topic},
        at("Inputs/Topic"),
        frozenset({"topic"}),
    ),
    Target(
        "TracedDynamoEventSource",
        TracedDynamoEventSource.__init__,
        plain(TracedDynamoEventSource),
        lambda w: {
            "table": w.table,
            "props": {"starting_position": lambda_.StartingPosition.LATEST},
        },
        at("Inputs/Table"),
        frozenset({"table"}),
    ),
    Target(
        "TracedKinesisEventSource",
        TracedKinesisEventSource.__init__,
        plain(TracedKinesisEventSource),
        lambda w: {
            "stream": w.stream,
            "props": sources.KinesisEventSourceProps(
                starting_position=lambda_.StartingPosition.TRIM_HORIZON
            ),
        },
        at("Inputs/Stream"),
        frozenset({"stream"}),
    ),
    Target(
        "TracedLambdaTarget",
        TracedLambdaTarget.__init__,
        plain(TracedLambdaTarget),
        lambda w: {"handler": w.fn, "props": targets.LambdaFunctionProps(retry_attempts=2)},
        at(FN),
        frozenset({"handler"}),
    ),
    Target(
        "TransactionSearch",
        TransactionSearch.__init__,
        plain(TransactionSearch),
        lambda w: {"scope": _stack_in_own_account(w), "construct_id": "Search"},
        lambda kwargs: f"{kwargs['scope'].node.path}/Search",
        frozenset({"scope", "construct_id"}),
    ),
    Target(
        "trace_topic",
        trace_topic,
        plain(trace_topic),
        lambda w: {"topic": w.topic},
        at("Inputs/Topic"),
        frozenset({"topic"}),
    ),
    Target(
        "trace_rest_api",
        trace_rest_api,
        plain(trace_rest_api),
        lambda w: {"api": w.api},
        at("Inputs/Api"),
        frozenset({"api"}),
    ),
    Target(
        "trace_state_machine",
        trace_state_machine,
        plain(trace_state_machine),
        lambda w: {"state_machine": w.machine},
        at("Inputs/Machine"),
        frozenset({"state_machine"}),
    ),
    Target(
        "SnsTracingPolicy",
        SnsTracingPolicy.__init__,
        plain(SnsTracingPolicy),
        lambda w: {"scope": w.stack, "construct_id": fresh("Policy")},
        new("Policy", "construct_id"),
        frozenset({"scope", "construct_id"}),
    ),
    Target(
        "SnsTracingPolicy.of",
        SnsTracingPolicy.of,
        plain(SnsTracingPolicy.of),
        lambda w: {"scope": w.stack},
        at("Inputs"),
        frozenset({"scope"}),
    ),
    Target(
        "allow_topic",
        SnsTracingPolicy.allow_topic,
        lambda world, kwargs: world.policy.allow_topic(**kwargs),
        lambda w: {"topic": w.topic},
        at("Inputs/Topic"),
        frozenset({"topic"}),
    ),
    Target(
        "acknowledge_xray_wildcard",
        acknowledge_xray_wildcard,
        plain(acknowledge_xray_wildcard),
        lambda w: {"construct": w.policy},
        at("Inputs/SnsXRayTracingPolicy"),
        frozenset({"construct"}),
    ),
]
BY_NAME = {t.name: t for t in TARGETS}


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def refused(target: Target, world: World, **overrides: Any) -> TracingConfigError:
    """The error of a call that must be refused; any other exception fails the test.

    Checks the shape every error has: ``<path>: <problem>. Fix: <fix>``, the
    path of the construct concerned, the entry point named in the problem.
    """
    kwargs = {**target.valid(world), **overrides}
    with pytest.raises(TracingConfigError) as caught:
        target.call(world, kwargs)
    err = caught.value
    assert str(err) == f"{err.path}: {err.problem}. Fix: {err.fix}"
    assert err.fix.strip() and err.path, str(err)
    if not set(overrides) & target.where_params:
        assert err.path == target.where(kwargs), str(err)
    assert f"{target.name.rpartition('.')[2]}()" in err.problem or "aws-cdk-lib" in err.problem
    return err


def checked_params(target: Target) -> list[tuple[str, Any]]:
    """Every parameter the entry point checks; a ``**props`` one contributes each prop."""
    specs = target.specs()
    found = []
    for name, spec in specs.items():
        if spec.fields is not None:  # props named explicitly are checked under their name
            found += [(prop, s) for prop, s in spec.fields().items() if prop not in specs]
        else:
            found.append((name, spec))
    return [(name, spec) for name, spec in found if spec.expected != "any value"]


CASES = [(t, name) for t in TARGETS for name, _ in checked_params(t)]


def test_every_public_entry_point_is_in_the_table() -> None:
    """All of ``__all__`` but the enum and the error class, each with its checks declared."""
    enums_and_errors = {"ContextMissing", "LayerParts", "TraceFormat", "TracingConfigError"}
    entry_points = set(cdk_lambda_xray.__all__) - enums_and_errors
    assert entry_points <= {t.name.partition(".")[0] for t in TARGETS}
    assert all(t.specs() for t in TARGETS)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_the_valid_call_of_each_entry_point_works(target: Target, world: World) -> None:
    target.call(world, target.valid(world))


@pytest.mark.parametrize(("target", "param"), CASES, ids=[f"{t.name}-{p}" for t, p in CASES])
def test_a_value_of_the_wrong_type_is_refused_naming_it(
    target: Target, param: str, world: World
) -> None:
    err = refused(target, world, **{param: Junk()})
    assert param in err.problem and "<junk>" in err.problem, str(err)


REQUIRED = [
    (t, name)
    for t in TARGETS
    for name, spec in t.specs().items()
    if not spec.optional
    and spec.fields is None
    and name not in {"self", "cls"}
    and inspect.signature(t.entry).parameters[name].default is inspect.Parameter.empty
]


@pytest.mark.parametrize(("target", "param"), REQUIRED, ids=[f"{t.name}-{p}" for t, p in REQUIRED])
def test_none_for_a_required_argument_is_refused(target: Target, param: str, world: World) -> None:
    err = refused(target, world, **{param: None})
    assert f"got None for {param}, which is required" in err.problem, str(err)


# --- each class of bad input, with the message a user reads -----------------------------------

#: (entry point, argument, bad value, texts the message must contain)
BAD_INPUTS: list[tuple[str, str, object, tuple[str, ...]]] = [
    # wrong enum: a string where a jsii enum member goes
    ("TracedFunction", "tracing", "Active", ("tracing ('Active')", "lambda_.Tracing.ACTIVE")),
    ("TracedFunction", "tracing", "PassThrough", ("Fix: use lambda_.Tracing.PASS_THROUGH",)),
    ("XRayTracing", "tracing", "DISABLED", ("Fix: use lambda_.Tracing.DISABLED",)),
    ("TracedFunction", "runtime", "python3.12", ("'python3.12'", "lambda_.Runtime.PYTHON_3_12")),
    ("TracedFunction", "runtime", "nodejs22.x", ("lambda_.Runtime.NODEJS_22_X",)),
    ("from_dynamodb", "starting_position", "LATEST", ("lambda_.StartingPosition.LATEST",)),
    ("TracingLayer", "removal_policy", "retain", ("cdk.RemovalPolicy.RETAIN",)),
    ("from_s3", "events", "s3:ObjectRemoved:*", ("s3.EventType.OBJECT_REMOVED",)),
    ("XRayTracing", "context_missing", 3, ("context_missing (3)", "ContextMissing")),
    # wrong type where a construct goes, and None where required
    ("trace_app", "scope", None, ("trace_app() got None for scope",)),
    ("from_s3", "bucket", None, ("from_s3() got None for bucket", "s3.IBucket")),
    ("from_s3", "bucket", "my-bucket", ("a str for bucket ('my-bucket')",)),
    ("from_sqs", "queue", "arn:aws:sqs:eu-west-1:1:q", ("sqs.IQueue",)),
    ("trace_topic", "topic", 5, ("an int for topic (5)", "sns.ITopic")),
    ("TracedFunction", "code", "def handler(e, c): pass", ("lambda_.Code",)),
    (
        "TracedFunction",
        "role",
        "arn:aws:iam::1:role/r",
        ("role ('arn:aws:iam::1:role/r')", "iam.IRole"),
    ),
    # wrong collection type
    ("TracedFunction", "layers", "notalist", ("layers ('notalist')", "not a list")),
    ("XRayTracing", "exclude", 5, ("exclude (5)", "not a list")),
    ("XRayTracing", "exclude", "*/Legacy*", ("'*/Legacy*'", "pass a list")),
    ("TracedFunction", "environment", [("AB", "x")], ("environment", "not a mapping")),
    ("from_dynamodb", "filters", {"pattern": "{}"}, ("filters", "not a list")),
    # wrong element types in lists and dicts
    ("TracedFunction", "environment", {"AB": 5}, ("value for 'AB' is an int (5)", "string")),
    ("TracedFunction", "environment", {5: "x"}, ("key 5 is an int",)),
    ("TracedFunction", "environment", {"1X": "x"}, ("'1X'", "not a Lambda variable name")),
    ("TracedFunction", "layers", ["arn:aws:lambda:eu-west-1:1:layer:x:1"], ("item 0 is a str",)),
    ("XRayTracing", "include", ["ok", 5], ("item 1 is an int (5)",)),
    ("from_s3", "events", [s3.EventType.OBJECT_CREATED, "x"], ("item 1 is a str ('x')",)),
    (
        "from_sns",
        "filter_policy",
        {"kind": "order"},
        ("value for 'kind'", "sns.SubscriptionFilter"),
    ),
    # empty strings
    ("TracedFunction", "id", "", ("TracedFunction() got id='', which is empty",)),
    ("TracedFunction", "service_name", "", ("service_name='', which is empty",)),
    ("from_eventbridge", "rule_id", "", ("rule_id='', which is empty",)),
    ("TracingLayer", "layer_version_name", "", ("layer_version_name=''",)),
    ("SnsTracingPolicy", "construct_id", "a/b", ("construct id without '/'",)),
    # bad handler strings (Python runtime)
    ("TracedFunction", "handler", "", ("handler='', which is empty", "e.g. handler='app.handler'")),
    ("TracedFunction", "handler", "index", ("no function part", "e.g. handler='index.handler'")),
    ("TracedFunction", "handler", "index.", ("no function part",)),
    ("TracedFunction", "handler", ".handler", ("no module part",)),
    ("TracedFunction", "handler", "app.handler ", ("whitespace",)),
    ("TracedFunction", "handler", "app.my-handler", ("function part 'my-handler'",)),
    ("TracedFunction", "handler", "pkg//app.handler", ("empty name",)),
    ("TracedFunction", "handler", "sys.exit", ("built-in Python module",)),
    ("TracedFunction", "handler", "a" * 130 + ".h", ("longer than Lambda's 128",)),
    ("TracedFunction", "handler", 5, ("an int for handler (5)",)),
    # keyword arguments that do not exist
    ("TracedFunction", "memroy_size", 512, ("unknown argument 'memroy_size'", "memory_size=")),
    ("from_sqs", "batchsize", 10, ("unknown argument 'batchsize'", "batch_size=")),
    # CDK's own value checks come out the same way
    ("TracedFunction", "function_name", "bad name!", ("aws-cdk-lib refused", "bad name!")),
]


@pytest.mark.parametrize(
    ("entry", "param", "value", "expected"),
    BAD_INPUTS,
    ids=[f"{e}-{p}-{i}" for i, (e, p, _, _) in enumerate(BAD_INPUTS)],
)
def test_bad_input_is_refused_with_the_value_and_the_fix(
    entry: str, param: str, value: object, expected: tuple[str, ...], world: World
) -> None:
    err = refused(BY_NAME[entry], world, **{param: value})
    for text in expected:
        assert text in str(err), str(err)


def test_a_long_value_is_shown_shortened(world: World) -> None:
    err = refused(BY_NAME["TracedFunction"], world, service_name=["x" * 10_000])
    assert len(str(err)) < 600 and "..." in str(err)


def test_a_value_whose_repr_raises_is_still_reported(world: World) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise KeyError("no repr")

    err = refused(BY_NAME["from_sqs"], world, queue=Hostile())
    assert "Hostile" in err.problem


def test_a_value_that_breaks_when_looked_at_is_refused(world: World) -> None:
    err = refused(BY_NAME["TracedFunction"], world, layers=Unreadable())
    assert "could not be looked at (RuntimeError" in err.problem


def test_data_that_contains_itself_is_refused(world: World) -> None:
    loop: list[object] = []
    loop.append(loop)
    err = refused(BY_NAME["from_dynamodb"], world, filters=[{"pattern": loop}])
    assert "nested too deeply" in err.problem


def test_not_a_number_never_reaches_cdk(world: World) -> None:
    err = refused(BY_NAME["from_kinesis"], world, starting_position_timestamp=float("nan"))
    assert "not finite" in err.problem


# --- what stays valid ------------------------------------------------------------------------


def _tracing_of(fn: TracedFunction) -> Any:
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    return fn.stack.resolve(cfn.tracing_config)


def test_tracing_none_means_the_default_active(world: World) -> None:
    fn = BY_NAME["TracedFunction"].call(
        world, {**BY_NAME["TracedFunction"].valid(world), "tracing": None}
    )
    assert _tracing_of(fn) == {"mode": "Active"}


def test_none_for_an_optional_argument_means_its_default() -> None:
    nones: dict[str, Any] = {"tracing": None, "context_missing": None, "capture_error": None}
    aspect = XRayTracing(**nones)
    assert (aspect.tracing, aspect.context_missing, aspect.capture_error) == (
        lambda_.Tracing.ACTIVE,
        ContextMissing.LOG_ERROR,
        True,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"handler": "pkg/app.handler"},
        {"handler": "a.b.handler"},
        {"handler": "my-module.handler"},
        {"runtime": lambda_.Runtime.PROVIDED_AL2023, "handler": "bootstrap", "code": S3_CODE},
        {"runtime": lambda_.Runtime.NODEJS_22_X, "handler": "index.handler"},
        {"handler": cdk.Fn.import_value("HandlerName")},
        {"environment": {"TABLE": cdk.Fn.import_value("Table"), "EMPTY": ""}},
        {"layers": ()},
        {"memory_size": cdk.Token.as_number(cdk.Fn.import_value("Memory"))},
        {"service_name": cdk.Fn.import_value("Service")},
        {"timeout": cdk.Duration.seconds(30), "description": ""},
    ],
    ids=lambda o: ",".join(o),
)
def test_valid_and_unresolved_values_are_accepted(overrides: dict[str, Any], world: World) -> None:
    target = BY_NAME["TracedFunction"]
    target.call(world, {**target.valid(world), **overrides})


def test_valid_selectors_and_tokens_on_other_entry_points(world: World) -> None:
    XRayTracing(exclude=(world.fn, "*/Legacy*"), include={"Inputs/*"})
    queue = sqs.Queue(world.stack, fresh("Queue"))
    batch: Any = cdk.Token.as_number(cdk.Fn.import_value("B"))
    world.wiring.from_sqs(queue, batch_size=batch)
    one_event: Any = s3.EventType.OBJECT_REMOVED  # a single event, not a list: accepted
    world.wiring.from_s3(world.bucket, events=one_event, prefix="in/")


# --- property: arbitrary values, only TracingConfigError ---------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=8)
    | st.builds(Junk)
)
_KEYS = st.text(max_size=6) | st.integers()
_NESTED = (
    st.lists(_SCALARS, max_size=3)
    | st.tuples(_SCALARS, _SCALARS)
    | st.dictionaries(_KEYS, _SCALARS, max_size=3)
)
_VALUES = (
    _SCALARS | _NESTED | st.lists(_NESTED, max_size=2) | st.dictionaries(_KEYS, _NESTED, max_size=2)
)


class Unreadable(list[object]):
    """A list that fails when anything looks inside it."""

    def __iter__(self) -> Iterator[object]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        raise RuntimeError("no length")


def _hostile() -> list[object]:
    """Values that break naive checks: self-containing, unreadable, huge."""
    loop: list[object] = []
    loop.append(loop)
    return [loop, {"k": loop}, Unreadable(), 10**40, "x" * 5000, float("nan")]


def _cdk_values(world: World) -> list[object]:
    """CDK objects of every kind the entry points take, each wrong for most parameters."""
    if world.catalog:
        return world.catalog
    world.catalog = [
        world.app,
        world.stack,
        world.fn,
        world.bucket,
        world.topic,
        world.queue,
        world.table,
        world.stream,
        world.api,
        world.machine,
        world.policy,
        PY,
        CODE,
        lambda_.Tracing.PASS_THROUGH,
        lambda_.StartingPosition.TRIM_HORIZON,
        s3.EventType.OBJECT_REMOVED,
        cdk.RemovalPolicy.RETAIN,
        cdk.Duration.seconds(5),
        ContextMissing.IGNORE_ERROR,
        events.EventPattern(source=["x"]),
        cdk.Fn.import_value("Token"),
        cdk.Token.as_number(cdk.Fn.import_value("Number")),
        cdk.Token.as_list(cdk.Fn.import_value("List")),
        *_hostile(),
    ]
    return world.catalog


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@pytest.mark.parametrize(("target", "param"), CASES, ids=[f"{t.name}-{p}" for t, p in CASES])
def test_any_value_gives_tracing_config_error_or_works(
    target: Target, param: str, world: World, data: st.DataObject
) -> None:
    value = data.draw(_VALUES | st.sampled_from(_cdk_values(world)), label=param)
    kwargs = {**target.valid(world), param: value}
    try:
        target.call(world, kwargs)
    except TracingConfigError as err:
        assert str(err).startswith(f"{err.path}: ") and ". Fix: " in str(err)
