"""TracingLayer: one layer per stack, built from the package's own layer folder."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_lambda_xray import layer as layer_module
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.layer import (
    TracingLayer,
    layer_asset_path,
    layer_content_hash,
    layer_supports_runtime,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("cdkout")
    app = cdk.App(outdir=str(outdir))
    first = cdk.Stack(app, "First")
    second = cdk.Stack(app, "Second")
    layers = SimpleNamespace(
        first=TracingLayer.of(first),
        from_child=TracingLayer.of(
            lambda_.Function(
                first,
                "Fn",
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler="a.handler",
                code=lambda_.Code.from_inline("x"),
            )
        ),
        second=TracingLayer.of(second),
    )
    assembly = app.synth()
    template = Template.from_stack(first)
    (props,) = [
        r["Properties"]
        for r in template.to_json()["Resources"].values()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    return SimpleNamespace(
        app=app,
        first=first,
        second=second,
        layers=layers,
        template=template,
        props=props,
        assembly=assembly,
        outdir=outdir,
    )


def test_of_returns_the_same_layer_within_a_stack(built: SimpleNamespace) -> None:
    assert built.layers.first is built.layers.from_child


def test_each_stack_gets_its_own_layer(built: SimpleNamespace) -> None:
    assert built.layers.second is not built.layers.first
    assert cdk.Stack.of(built.layers.second) is built.second


def test_shared_layer_has_a_stable_construct_id(built: SimpleNamespace) -> None:
    assert built.layers.first.node.path == "First/LambdaXrayTracingLayer"


def test_one_layer_version_per_stack(built: SimpleNamespace) -> None:
    built.template.resource_count_is("AWS::Lambda::LayerVersion", 1)


def test_compatible_with_every_supported_python_runtime(built: SimpleNamespace) -> None:
    runtimes = built.props["CompatibleRuntimes"]
    assert runtimes[0] == "python3.10"
    assert "python3.12" in runtimes and "python3.13" in runtimes
    assert all(r.startswith("python3.") for r in runtimes)


def test_deprecated_runtimes_are_not_listed(built: SimpleNamespace) -> None:
    assert not {"python3.8", "python3.9"} & set(built.props["CompatibleRuntimes"])


def test_compatible_with_both_architectures(built: SimpleNamespace) -> None:
    assert sorted(built.props["CompatibleArchitectures"]) == ["arm64", "x86_64"]


def test_license_is_apache(built: SimpleNamespace) -> None:
    assert built.props["LicenseInfo"] == "Apache-2.0"


def test_description_carries_the_content_hash(built: SimpleNamespace) -> None:
    assert f"(content {layer_content_hash()})" in built.props["Description"]


def test_asset_path_is_the_real_layer_folder() -> None:
    assert layer_asset_path() == (REPO_ROOT / "layers" / "lambda_xray").resolve()


def test_asset_path_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = layer_asset_path()
    monkeypatch.chdir(tmp_path)
    assert layer_asset_path() == before


def test_asset_contains_the_runtime_package(built: SimpleNamespace) -> None:
    staged = _staged_asset(built)
    assert (staged / "python" / "lambda_xray" / "_contract.py").is_file()


def _staged_asset(built: SimpleNamespace) -> Path:
    key: str = built.props["Content"]["S3Key"]
    staged = Path(built.assembly.directory) / f"asset.{key.removesuffix('.zip')}"
    assert staged.is_dir(), sorted(os.listdir(built.assembly.directory))
    return staged


# --- content hash and exclusions, on a copy of a layer folder ---------------------------


def _fake_layer(root: Path, body: str = "def handler(e, c):\n    return e\n") -> Path:
    pkg = root / "python" / "lambda_xray"
    pkg.mkdir(parents=True)
    (pkg / "handler.py").write_text(body)
    return root


def test_hash_changes_when_the_code_changes(tmp_path: Path) -> None:
    one = layer_content_hash(_fake_layer(tmp_path / "one"))
    two = layer_content_hash(_fake_layer(tmp_path / "two", body="def handler(e, c):\n    pass\n"))
    assert one != two


def test_hash_ignores_bytecode_caches(tmp_path: Path) -> None:
    root = _fake_layer(tmp_path / "layer")
    before = layer_content_hash(root)
    cache = root / "python" / "lambda_xray" / "__pycache__"
    cache.mkdir()
    (cache / "handler.cpython-312.pyc").write_bytes(b"\x00bytecode")
    assert layer_content_hash(root) == before


def test_bytecode_is_left_out_of_the_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _fake_layer(tmp_path / "layer")
    cache = root / "python" / "lambda_xray" / "__pycache__"
    cache.mkdir()
    (cache / "handler.cpython-312.pyc").write_bytes(b"\x00bytecode")
    (root / "python" / "lambda_xray" / "stray.pyc").write_bytes(b"\x00bytecode")
    monkeypatch.setattr(layer_module, "layer_asset_path", lambda: root)
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Excluding")
    TracingLayer.of(stack)
    assembly = app.synth()
    template: dict[str, Any] = assembly.get_stack_by_name("Excluding").template
    (layer,) = [r for r in template["Resources"].values() if r["Type"].endswith("LayerVersion")]
    staged = Path(assembly.directory) / f"asset.{layer['Properties']['Content']['S3Key'][:-4]}"
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == ["python/lambda_xray/handler.py"]


def test_id_taken_by_another_construct_is_an_error() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Taken")
    cdk.CfnOutput(stack, TracingLayer.SHARED_ID, value="x")
    with pytest.raises(TracingConfigError, match=r"Taken/LambdaXrayTracingLayer: .*CfnOutput.*Fix"):
        TracingLayer.of(stack)


@pytest.mark.parametrize(
    ("runtime", "supported"),
    [
        ("python3.9", False),
        ("python3.8", False),
        ("python3.10", True),
        ("python3.14", True),
        ("python3.15", True),
        ("nodejs22.x", False),
    ],
)
def test_layer_supports_runtime(runtime: str, supported: bool) -> None:
    assert layer_supports_runtime(runtime) is supported
