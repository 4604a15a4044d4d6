"""Read a deployed stack back from the (local) AWS APIs and compare it with its template.

What is compared, per resource in the template:

- ``AWS::Lambda::Function``: tracing mode, handler, runtime, layers and
  environment variables (``GetFunctionConfiguration``);
- ``Custom::S3BucketNotifications`` (CDK's notification handler): the bucket's
  Lambda notifications, events and target function (``GetBucketNotificationConfiguration``);
- ``AWS::SNS::Subscription`` with protocol ``lambda``: that the topic has that
  subscription (``ListSubscriptionsByTopic``).

Template values are resolved against the deployed stack's physical ids
(``Ref``, ``Fn::GetAtt <function>.Arn``, ``Fn::Join``, pseudo parameters). A
value that cannot be resolved is reported as *not compared*, never as equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .settings import LOCAL_REGION

_UNRESOLVED = object()


@dataclass(frozen=True)
class Check:
    """One compared setting: where, what, expected (template) and actual (deployed)."""

    resource: str
    setting: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        """Whether the deployed value equals the template's."""
        return bool(self.expected == self.actual)

    def describe(self) -> str:
        """One line for a report."""
        mark = "ok  " if self.ok else "DIFF"
        if self.ok:
            return f"{mark} {self.resource}: {self.setting} = {self.actual!r}"
        return (
            f"{mark} {self.resource}: {self.setting}: template {self.expected!r}, "
            f"deployed {self.actual!r}"
        )


@dataclass
class FunctionConfig:
    """What the emulator (or AWS) reports for one deployed function."""

    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    tracing_mode: str
    layers: list[str]
    environment: dict[str, str]


@dataclass
class Readback:
    """Everything read back, and every comparison made."""

    stack: str
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[Check]:
        """The checks whose deployed value differs from the template."""
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        """A short multi-line report: counts, every difference, what was not compared."""
        lines = [
            f"{len(self.checks)} settings compared, {len(self.differences)} differences"
            + (f", {len(self.not_compared)} not compared" if self.not_compared else "")
        ]
        lines += [f"  {c.describe()}" for c in self.differences]
        lines += [f"  not compared: {n}" for n in self.not_compared]
        return "\n".join(lines)


class _Resolver:
    """Resolve CloudFormation intrinsics against deployed physical ids."""

    def __init__(self, physical: Mapping[str, str], arns: Mapping[str, str], region: str):
        self.physical = physical
        self.arns = arns
        self.pseudo = {
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if arns:
            self.pseudo["AWS::AccountId"] = next(iter(arns.values())).split(":")[4]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return _UNRESOLVED if any(i is _UNRESOLVED for i in items) else items
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.pseudo.get(arg, self.physical.get(arg, _UNRESOLVED))
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if attr == "Arn" and logical in self.arns:
                    return self.arns[logical]
                return _UNRESOLVED
            if key == "Fn::Join":
                sep, parts = arg
                resolved = [self.resolve(p) for p in parts]
                if any(not isinstance(p, str) for p in resolved):
                    return _UNRESOLVED
                return str(sep).join(resolved)
            if key.startswith("Fn::"):
                return _UNRESOLVED  # Fn::Sub, Fn::Select, ...: not evaluated, never guessed
        if isinstance(value, dict):
            items2 = {k: self.resolve(v) for k, v in value.items()}
            return _UNRESOLVED if _UNRESOLVED in items2.values() else items2
        return _UNRESOLVED


def _resources(template: Mapping[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical, res.get("Properties", {}))
        for logical, res in template.get("Resources", {}).items()
        if res.get("Type") == kind
    ]


def read_back(
    template: Mapping[str, Any],
    stack: str,
    *,
    session: Any,
    endpoint_url: str | None = None,
) -> Readback:
    """Read ``stack`` back through ``session`` (a ``boto3.Session``) and compare it.

    ``endpoint_url`` aims every client at the emulator; ``None`` uses the
    session's own configuration (real AWS).
    """

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    cfn, lam = client("cloudformation"), client("lambda")
    result = Readback(stack)
    physical: dict[str, str] = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]

    functions = _resources(template, "AWS::Lambda::Function")
    arns: dict[str, str] = {}
    configs: dict[str, dict[str, Any]] = {}
    for logical, _props in functions:
        if logical not in physical:
            result.checks.append(Check(logical, "deployed", True, False))
            continue
        config = lam.get_function_configuration(FunctionName=physical[logical])
        configs[logical] = config
        arns[logical] = config["FunctionArn"]
    resolver = _Resolver(physical, arns, session.region_name or LOCAL_REGION)

    for logical, props in functions:
        if logical in configs:
            _check_function(result, resolver, logical, props, configs[logical])
    for logical, props in _resources(template, "Custom::S3BucketNotifications"):
        _check_bucket_notifications(result, resolver, logical, props, client("s3"))
    for logical, props in _resources(template, "AWS::SNS::Subscription"):
        if props.get("Protocol") == "lambda":
            _check_subscription(result, resolver, logical, props, client("sns"))
    return result


def _compare(result: Readback, resource: str, setting: str, expected: Any, actual: Any) -> None:
    if expected is _UNRESOLVED:
        result.not_compared.append(f"{resource}: {setting} (template value not resolvable)")
    else:
        result.checks.append(Check(resource, setting, expected, actual))


def _check_function(
    result: Readback,
    resolver: _Resolver,
    logical: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any],
) -> None:
    deployed_env = dict(config.get("Environment", {}).get("Variables", {}))
    deployed_layers = [layer["Arn"] for layer in config.get("Layers", [])]
    result.functions[logical] = FunctionConfig(
        logical_id=logical,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config.get("Handler", ""),
        runtime=config.get("Runtime", ""),
        tracing_mode=config.get("TracingConfig", {}).get("Mode", "PassThrough"),
        layers=deployed_layers,
        environment=deployed_env,
    )
    fc = result.functions[logical]
    mode = resolver.resolve(props.get("TracingConfig", {}).get("Mode", "PassThrough"))
    _compare(result, logical, "TracingConfig.Mode", mode, fc.tracing_mode)
    _compare(result, logical, "Handler", resolver.resolve(props.get("Handler")), fc.handler)
    _compare(result, logical, "Runtime", resolver.resolve(props.get("Runtime")), fc.runtime)
    _compare(result, logical, "Layers", resolver.resolve(props.get("Layers", [])), deployed_layers)
    expected_env = props.get("Environment", {}).get("Variables", {})
    for name, value in sorted(expected_env.items()):
        _compare(
            result, logical, f"Environment.{name}", resolver.resolve(value), deployed_env.get(name)
        )
    extra = sorted(set(deployed_env) - set(expected_env))
    if extra:
        result.checks.append(Check(logical, "Environment (extra variables)", [], extra))


def _check_bucket_notifications(
    result: Readback,
    resolver: _Resolver,
    logical: str,
    props: Mapping[str, Any],
    s3: Any,
) -> None:
    bucket = resolver.resolve(props.get("BucketName"))
    if not isinstance(bucket, str):
        result.not_compared.append(f"{logical}: bucket name not resolvable")
        return
    expected = props.get("NotificationConfiguration", {}).get("LambdaFunctionConfigurations", [])
    deployed = s3.get_bucket_notification_configuration(Bucket=bucket).get(
        "LambdaFunctionConfigurations", []
    )
    want = sorted(
        (str(resolver.resolve(c.get("LambdaFunctionArn"))), tuple(sorted(c.get("Events", []))))
        for c in expected
    )
    have = sorted(
        (str(c.get("LambdaFunctionArn")), tuple(sorted(c.get("Events", [])))) for c in deployed
    )
    result.checks.append(Check(f"{logical} ({bucket})", "LambdaFunctionConfigurations", want, have))


def _check_subscription(
    result: Readback,
    resolver: _Resolver,
    logical: str,
    props: Mapping[str, Any],
    sns: Any,
) -> None:
    topic = resolver.resolve(props.get("TopicArn"))
    endpoint = resolver.resolve(props.get("Endpoint"))
    if not isinstance(topic, str) or not isinstance(endpoint, str):
        result.not_compared.append(f"{logical}: topic or endpoint not resolvable")
        return
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    found = any(
        s.get("Protocol") == "lambda" and s.get("Endpoint") == endpoint for s in subscriptions
    )
    result.checks.append(Check(logical, f"lambda subscription {endpoint}", True, found))
