"""Each function's tracing layer holds the parts its code needs: TracedFunction, the aspect,
TracingLayer per (runtime, parts), and the local emulator's Python override.

One app is synthesized for the module (synth is the slow part). The layer
asset comes from ``_bytecode.assemble_layer``; the tests wrap the real function
to record what it was asked for (a spy, not a stand-in: it returns what the
real one returns).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match

from cdk_lambda_xray import (
    LayerParts,
    TracedFunction,
    TraceFormat,
    TracingLayer,
    _bytecode,
    ids,
    trace_app,
)
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path

PY312 = lambda_.Runtime.PYTHON_3_12
ALL = ("api", "otlp", "compat", "requests", "async_http", "databases")
EVERY = "ApiOtlpCompatRequestsAsyncHttpDatabases"
PREFIX = ids.TRACING_LAYER_PREFIX


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def assembled() -> Iterator[list[tuple[str, frozenset[str]]]]:
    """Every ``assemble_layer(builds, runtime, parts)`` call of the module, in order."""
    _bytecode.ensure_built(layer_asset_path(), layer_builds_path())
    calls: list[tuple[str, frozenset[str]]] = []
    real = _bytecode.assemble_layer

    def spy(builds: Path, runtime: str, parts: frozenset[str]) -> Path:
        calls.append((runtime, parts))
        return real(builds, runtime, parts)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_bytecode, "assemble_layer", spy)
        yield calls


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, assembled: list[tuple[str, frozenset[str]]]
) -> SimpleNamespace:
    src = tmp_path_factory.mktemp("src")
    boto = _tree(src / "boto", {"app.py": "import boto3\n"})
    with_httpx = _tree(
        src / "httpx_app",
        {"app.py": "import httpx\n", "httpx/__init__.py": "", "httpx-0.27.0.dist-info/RECORD": ""},
    )
    compat = _tree(src / "compat", {"app.py": "from lambda_xray.compat import xray_sdk\n"})
    with_requests = _tree(
        src / "requests_app",
        {"app.py": "import requests\n", "requests/__init__.py": "", "requests/sessions.py": ""},
    )
    redis_layer = _tree(src / "redis_layer", {"python/redis/__init__.py": ""})
    user_api = _tree(src / "user_api", {"app.py": "from lambda_xray import annotate\n"})
    # A layer of shared code that records with the user API (its own module, not pip's).
    shared_layer = _tree(src / "shared_layer", {"python/shared/record.py": "import lambda_xray\n"})
    zipped = src / "code.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    swept_httpx = _tree(src / "swept", {"app.py": "", "aiohttp/__init__.py": ""})

    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdkout")))
    stack = cdk.Stack(app, "Parts")
    shared = lambda_.Code.from_asset(str(with_httpx))  # one asset, several functions
    staged_by_other = lambda_.Code.from_asset(str(compat))
    lambda_.Function(
        stack, "StagesFirst", runtime=PY312, handler="app.handler", code=staged_by_other
    )

    def fn(id: str, code: lambda_.Code, **props: Any) -> TracedFunction:
        return TracedFunction(stack, id, runtime=PY312, handler="app.handler", code=code, **props)

    redis = lambda_.LayerVersion(stack, "Redis", code=lambda_.Code.from_asset(str(redis_layer)))
    recorder_layer = lambda_.LayerVersion(
        stack, "Shared", code=lambda_.Code.from_asset(str(shared_layer))
    )
    fns = SimpleNamespace(
        boto=fn("Boto", lambda_.Code.from_asset(str(boto))),
        boto_too=fn("BotoToo", lambda_.Code.from_asset(str(boto))),
        httpx=fn("Httpx", shared),
        httpx_too=fn("HttpxToo", shared),
        staged_by_other=fn("StagedByOther", staged_by_other),
        requests=fn("Requests", lambda_.Code.from_asset(str(with_requests))),
        compat=fn("Compat", lambda_.Code.from_asset(str(compat))),
        user_api=fn("UserApi", lambda_.Code.from_asset(str(user_api))),
        api_via_layer=fn(
            "ApiViaLayer", lambda_.Code.from_asset(str(boto)), layers=[recorder_layer]
        ),
        compat_by_hand=fn(
            "CompatByHand", lambda_.Code.from_asset(str(boto)), layer_parts=["compat"]
        ),
        inline=fn("Inline", lambda_.Code.from_inline("def handler(e, c):\n    return 1\n")),
        otlp=fn("Otlp", lambda_.Code.from_asset(str(boto)), trace_format=TraceFormat.OTLP),
        extra=fn("Extra", lambda_.Code.from_asset(str(boto)), layer_parts=["databases"]),
        everything=fn("Everything", lambda_.Code.from_asset(str(boto)), layer_parts=LayerParts.ALL),
        via_layer=fn(
            "ViaLayer",
            lambda_.Code.from_asset(str(boto)),
            layers=[redis],
        ),
        bucket=fn(
            "Bucket",
            lambda_.Code.from_bucket(
                s3.Bucket.from_bucket_name(stack, "Src", "src-bucket"), "k.zip"
            ),
        ),
        zipped=fn("Zipped", lambda_.Code.from_asset(str(zipped))),
        plain=lambda_.Function(
            stack,
            "Plain",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(swept_httpx)),
        ),
        plain_via_layer=lambda_.Function(
            stack,
            "PlainViaLayer",
            runtime=PY312,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(boto)),
            layers=[redis],
        ),
        plain_api=lambda_.Function(
            stack,
            "PlainApi",
            runtime=PY312,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(user_api)),
        ),
    )
    trace_app(app)
    assembly = app.synth()
    return SimpleNamespace(
        stack=stack,
        fns=fns,
        template=assembly.get_stack_by_name("Parts").template,
        annotations=Annotations.from_stack(stack),
        assembled=list(assembled),
    )


def _layer_ids(built: SimpleNamespace) -> dict[str, str]:
    """Logical id -> construct id of the stack's tracing layers."""
    found = {}
    for child in built.stack.node.children:
        if isinstance(child, TracingLayer):
            cfn = child.node.default_child
            assert isinstance(cfn, cdk.CfnResource)
            found[built.stack.resolve(cfn.logical_id)] = child.node.id
    return found


def _layers(built: SimpleNamespace) -> dict[str, dict[str, Any]]:
    """The tracing layers' properties by construct id."""
    resources = built.template["Resources"]
    return {
        construct_id: resources[logical_id]["Properties"]
        for logical_id, construct_id in _layer_ids(built).items()
    }


def _tracing_layer_of(built: SimpleNamespace, fn: lambda_.Function) -> str:
    """The construct id of the tracing layer ``fn`` got (its last layer)."""
    cfn = fn.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    props = built.template["Resources"][built.stack.resolve(cfn.logical_id)]["Properties"]
    return _layer_ids(built)[props["Layers"][-1]["Ref"]]


@pytest.mark.parametrize(
    ("name", "layer_id"),
    [
        ("boto", f"{PREFIX}Python312"),
        ("boto_too", f"{PREFIX}Python312"),
        ("inline", f"{PREFIX}Python312"),
        ("requests", f"{PREFIX}Python312Requests"),
        ("httpx", f"{PREFIX}Python312AsyncHttp"),
        ("httpx_too", f"{PREFIX}Python312AsyncHttp"),
        ("staged_by_other", f"{PREFIX}Python312ApiCompat"),
        ("compat", f"{PREFIX}Python312ApiCompat"),
        ("compat_by_hand", f"{PREFIX}Python312ApiCompat"),
        ("user_api", f"{PREFIX}Python312Api"),
        ("api_via_layer", f"{PREFIX}Python312Api"),
        ("otlp", f"{PREFIX}Python312Otlp"),
        ("extra", f"{PREFIX}Python312Databases"),
        ("via_layer", f"{PREFIX}Python312Databases"),
        ("everything", f"{PREFIX}Python312{EVERY}"),
        ("bucket", f"{PREFIX}Python312{EVERY}"),
        ("zipped", f"{PREFIX}Python312{EVERY}"),
        ("plain", f"{PREFIX}Python313AsyncHttp"),
        ("plain_via_layer", f"{PREFIX}Python312Databases"),
        ("plain_api", f"{PREFIX}Python312Api"),
    ],
)
def test_each_function_gets_the_layer_of_the_parts_its_code_needs(
    built: SimpleNamespace, name: str, layer_id: str
) -> None:
    assert _tracing_layer_of(built, getattr(built.fns, name)) == layer_id


def test_one_layer_version_per_runtime_and_parts_each_saying_what_it_holds(
    built: SimpleNamespace,
) -> None:
    layers = _layers(built)
    assert sorted(layers) == sorted(
        f"{PREFIX}{suffix}"
        for suffix in (
            "Python312",
            "Python312AsyncHttp",
            "Python312Requests",
            "Python312Api",
            "Python312ApiCompat",
            "Python312Otlp",
            "Python312Databases",
            f"Python312{EVERY}",
            "Python313AsyncHttp",
        )
    )
    assert "; parts core; " in layers[f"{PREFIX}Python312"]["Description"]
    assert "; parts core+async_http; " in layers[f"{PREFIX}Python312AsyncHttp"]["Description"]
    assert "; parts core+api+compat; " in layers[f"{PREFIX}Python312ApiCompat"]["Description"]
    everything = layers[f"{PREFIX}Python312{EVERY}"]["Description"]
    assert "; parts core+api+otlp+compat+requests+async_http+databases; " in everything
    assert layers[f"{PREFIX}Python313AsyncHttp"]["CompatibleRuntimes"] == ["python3.13"]


def test_each_layer_asset_is_assembled_from_the_runtime_and_its_parts(
    built: SimpleNamespace,
) -> None:
    assert sorted(built.assembled, key=repr) == sorted(
        [
            ("python3.12", frozenset()),
            ("python3.12", frozenset({"async_http"})),
            ("python3.12", frozenset({"requests"})),
            ("python3.12", frozenset({"api"})),
            ("python3.12", frozenset({"api", "compat"})),
            ("python3.12", frozenset({"otlp"})),
            ("python3.12", frozenset({"databases"})),
            ("python3.12", frozenset(ALL)),
            ("python3.13", frozenset({"async_http"})),
        ],
        key=repr,
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("bucket", "not a code asset or inline code of this app"),
        ("zipped", "the code asset is a zip file"),
    ],
)
def test_code_that_cannot_be_read_gets_every_part_and_says_why(
    built: SimpleNamespace, name: str, why: str
) -> None:
    path = "/" + getattr(built.fns, name).node.path
    infos = built.annotations.find_info(path, Match.string_like_regexp("every part"))
    assert len(infos) == 1, infos
    assert why in str(infos[0].entry.data)


def test_functions_whose_code_was_read_get_no_info_about_parts(built: SimpleNamespace) -> None:
    for name in ("boto", "httpx", "requests", "everything", "via_layer", "plain", "user_api"):
        path = "/" + getattr(built.fns, name).node.path + "*"
        assert built.annotations.find_info(path, Match.string_like_regexp("every part")) == []


# --- bad input -----------------------------------------------------------------------------


def test_an_unknown_part_on_traced_function_names_construct_value_and_parts() -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(TracingConfigError) as info:
        TracedFunction(
            stack,
            "Fn",
            runtime=PY312,
            handler="app.handler",
            code=lambda_.Code.from_inline("x = 1"),
            layer_parts=["postgres"],
        )
    text = str(info.value)
    assert text.startswith("Bad/Fn: ") and "'postgres'" in text
    assert all(name in text for name in ALL)


def test_an_unknown_part_on_trace_app_is_refused_before_any_visit() -> None:
    with pytest.raises(TracingConfigError, match=r"XRayTracing: .*'sql'.*otlp, compat"):
        trace_app(cdk.App(), layer_parts=("sql",))


def test_a_tracing_layer_with_compat_holds_the_api_compat_requires() -> None:
    stack = cdk.Stack(cdk.App(), "ByHand")
    layer = TracingLayer.of(stack, PY312, ["compat"])
    assert layer.parts == ("api", "compat")
    assert layer.node.id == f"{PREFIX}Python312ApiCompat"
    assert TracingLayer.shared_id(PY312, ["compat"]) == layer.node.id


def test_an_unknown_part_on_tracing_layer_names_the_layer() -> None:
    stack = cdk.Stack(cdk.App(), "Layered")
    with pytest.raises(TracingConfigError, match=r"Layered/L: .*'grpc'.*async_http"):
        TracingLayer(stack, "L", runtime=PY312, parts=["grpc"])


# --- the local emulator's Python --------------------------------------------------------------


@pytest.fixture(scope="module")
def overridden(assembled: list[tuple[str, frozenset[str]]]) -> SimpleNamespace:
    before = len(assembled)
    app = cdk.App(context={ids.CONTEXT_LAYER_PYTHON_OVERRIDE: "3.11"})
    stack = cdk.Stack(app, "Local")
    TracedFunction(
        stack, "Fn", runtime=PY312, handler="app.handler", code=lambda_.Code.from_inline("x = 1")
    )
    template = app.synth().get_stack_by_name("Local").template
    [layer] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    return SimpleNamespace(
        layer=layer, calls=assembled[before:], annotations=Annotations.from_stack(stack)
    )


def test_the_override_makes_every_layer_carry_that_python_build(
    overridden: SimpleNamespace,
) -> None:
    assert overridden.calls == [("python3.11", frozenset())]
    description = overridden.layer["Properties"]["Description"]
    assert "bytecode cpython-311 (the python3.11 build, for a local emulator)" in description
    assert overridden.layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]


def test_the_override_is_announced_on_the_layer(overridden: SimpleNamespace) -> None:
    infos = overridden.annotations.find_info(
        f"/Local/{PREFIX}Python312", Match.string_like_regexp(ids.CONTEXT_LAYER_PYTHON_OVERRIDE)
    )
    assert len(infos) == 1
    assert "do not deploy it to AWS" in str(infos[0].entry.data)


@pytest.mark.parametrize("value", ["2.7", "3.9", "python", "latest"])
def test_an_override_the_layer_is_not_built_for_is_refused(value: str) -> None:
    stack = cdk.Stack(cdk.App(context={ids.CONTEXT_LAYER_PYTHON_OVERRIDE: value}), "Odd")
    with pytest.raises(TracingConfigError) as info:
        TracingLayer.of(stack, PY312)
    text = str(info.value)
    assert ids.CONTEXT_LAYER_PYTHON_OVERRIDE in text and repr(value) in text and "3.10" in text
