"""Shared fixtures for the review tests: small hand-built assemblies and synthesized apps.

Synthesized apps are session-scoped: the first synth in a process costs a few
seconds, so every test that reads an app shares one ``cdk.out``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# review_kit.py (helpers for the hostile-input tests) sits next to this file
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The ADOT Python layer (public ARN shape); only its name matters to the review.
ADOT_LAYER_ARN = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:2"

WriteAssembly = Callable[..., Path]


def write_cdk_out(
    root: Path,
    stacks: Mapping[str, Mapping[str, Any]],
    *,
    extra_files: Mapping[str, Any] | None = None,
) -> Path:
    """Write a minimal cloud assembly: ``stacks`` maps stack name -> template body."""
    root.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    for name, body in stacks.items():
        (root / f"{name}.template.json").write_text(json.dumps(body), encoding="utf-8")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    for rel, content in (extra_files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        target.write_text(text, encoding="utf-8")
    manifest = {"version": "36.0.0", "artifacts": artifacts}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


@pytest.fixture
def write_assembly(tmp_path: Path) -> WriteAssembly:
    """``write_assembly(resources)`` -> a cdk.out holding one stack ``S`` with them."""
    counter = iter(range(1_000_000))

    def _write(resources: Mapping[str, Any], **template: Any) -> Path:
        body = {"Resources": dict(resources), **template}
        return write_cdk_out(tmp_path / f"out{next(counter)}", {"S": body})

    return _write


def _synth_broken(outdir: Path) -> Path:
    """The deliberately broken app of the review tests (aws-cdk-lib, no aspect)."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subs

    from cdk_lambda_xray import TracedFunction, TracingLayer
    from cdk_lambda_xray._contract import (
        ENV_CONTEXT_MISSING,
        ENV_EXEC_WRAPPER,
        ENV_HANDLER,
        WRAPPER_HANDLER,
    )

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Broken")
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    py = lambda_.Runtime.PYTHON_3_12

    # 1. a plain function: not traced, not instrumented
    untraced = lambda_.Function(stack, "Untraced", runtime=py, handler="index.handler", code=code)
    cdk.Annotations.of(untraced).add_warning_v2("review:test", "left untraced on purpose")

    # 2. instrumented and Active, but the role has no X-Ray permission
    #    (tracing switched on by an override, so CDK adds no grant)
    no_perm = lambda_.Function(
        stack,
        "NoPermission",
        runtime=py,
        handler=WRAPPER_HANDLER,
        code=code,
        layers=[TracingLayer.of(stack, py)],
        environment={ENV_HANDLER: "index.handler", ENV_CONTEXT_MISSING: "LOG_ERROR"},
    )
    cfn = no_perm.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.add_property_override("TracingConfig.Mode", "Active")

    # 3. a traced function behind an SNS topic without active tracing
    topic = sns.Topic(stack, "PlainTopic")
    on_message = TracedFunction(stack, "OnMessage", runtime=py, handler="index.handler", code=code)
    topic.add_subscription(subs.LambdaSubscription(on_message))

    # 4. our redirect plus ADOT's exec wrapper: two tracers
    lambda_.Function(
        stack,
        "AdotWrapped",
        runtime=py,
        handler=WRAPPER_HANDLER,
        code=code,
        tracing=lambda_.Tracing.ACTIVE,
        layers=[
            TracingLayer.of(stack, py),
            lambda_.LayerVersion.from_layer_version_arn(stack, "Adot", ADOT_LAYER_ARN),
        ],
        environment={
            ENV_HANDLER: "index.handler",
            ENV_CONTEXT_MISSING: "LOG_ERROR",
            ENV_EXEC_WRAPPER: "/opt/otel-instrument",
        },
    )

    # 5. a raw CloudFormation function, untraced
    raw_role = iam.Role(stack, "RawRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    cdk.CfnResource(
        stack,
        "RawFn",
        type="AWS::Lambda::Function",
        properties={
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
            "Role": raw_role.role_arn,
        },
    )

    # a well-traced function for contrast: no findings expected
    TracedFunction(stack, "Good", runtime=py, handler="index.handler", code=code)
    app.synth()
    return outdir


@pytest.fixture(scope="session")
def broken_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdk.out of the deliberately broken app (synthesized once per session)."""
    return _synth_broken(tmp_path_factory.mktemp("broken") / "cdk.out")


@pytest.fixture(scope="session")
def reference_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdk.out of the project's reference app (app.py, build_app)."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("reference_app_for_review", root / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    outdir = tmp_path_factory.mktemp("reference") / "cdk.out"
    module.build_app(str(outdir)).synth()
    return outdir


def _synth_multi(outdir: Path) -> Path:
    """Two stacks with a cross-stack reference, a nested stack, and a CDK stage."""
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subs
    from aws_cdk import aws_sqs as sqs

    app = cdk.App(outdir=str(outdir))
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    py = lambda_.Runtime.PYTHON_3_12
    producer = cdk.Stack(app, "Producer")
    topic = sns.Topic(producer, "Topic", tracing_config=sns.TracingConfig.ACTIVE)
    consumer = cdk.Stack(app, "Consumer")
    on_topic = lambda_.Function(
        consumer,
        "OnTopic",
        runtime=py,
        handler="index.handler",
        code=code,
        tracing=lambda_.Tracing.ACTIVE,
    )
    topic.add_subscription(subs.LambdaSubscription(on_topic))
    queue = sqs.Queue(consumer, "Queue")
    inner = cdk.NestedStack(consumer, "Inner")
    worker = lambda_.Function(inner, "Worker", runtime=py, handler="index.handler", code=code)
    worker.add_event_source(sources.SqsEventSource(queue))
    stage = cdk.Stage(app, "Prod")
    staged = cdk.Stack(stage, "Api")
    lambda_.Function(staged, "StagedFn", runtime=py, handler="index.handler", code=code)
    app.synth()
    return outdir


@pytest.fixture(scope="session")
def multi_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdk.out with cross-stack references, a nested stack and a stage."""
    return _synth_multi(tmp_path_factory.mktemp("multi") / "cdk.out")


@pytest.fixture(scope="session")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside every test assembly whose files all carry the sentinel."""
    from review_kit import write_outside

    return write_outside(tmp_path_factory.mktemp("outside"))
