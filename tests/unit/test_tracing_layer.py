"""TracingLayer: one layer per Python version and stack, carrying that version's bytecode only."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template

import lambda_xray
from cdk_lambda_xray import _bytecode
from cdk_lambda_xray import layer as layer_module
from cdk_lambda_xray._layer_parts import CORE, part_of_module
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.layer import (
    TracingLayer,
    layer_asset_path,
    layer_builds_path,
    layer_content_hash,
    layer_supports_runtime,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PY312 = lambda_.Runtime.PYTHON_3_12


@pytest.fixture(scope="module")
def package_builds() -> list[_bytecode.BuildResult]:
    """The package's own per-version trees, fresh (what `make setup` does; cheap when fresh)."""
    return _bytecode.ensure_built(layer_asset_path(), layer_builds_path())


def _layer_props(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """LayerVersion properties by the runtime each is compatible with."""
    return {
        r["Properties"]["CompatibleRuntimes"][0]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    }


def _staged(assembly: Any, props: dict[str, Any]) -> Path:
    key: str = props["Content"]["S3Key"]
    staged = Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"
    assert staged.is_dir(), sorted(os.listdir(assembly.directory))
    return staged


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, package_builds: list[_bytecode.BuildResult]
) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("cdkout")
    app = cdk.App(outdir=str(outdir))
    first = cdk.Stack(app, "First")
    second = cdk.Stack(app, "Second")
    fn312 = lambda_.Function(
        first,
        "Fn312",
        runtime=PY312,
        handler="a.handler",
        code=lambda_.Code.from_inline("x"),
    )
    layers = SimpleNamespace(
        first=TracingLayer.of(first, PY312),
        by_name=TracingLayer.of(first, "python3.12"),
        from_child=TracingLayer.of(fn312, PY312),
        py313=TracingLayer.of(first, lambda_.Runtime.PYTHON_3_13),
        second=TracingLayer.of(second, PY312),
    )
    assembly = app.synth()
    template = assembly.get_stack_by_name("First").template
    return SimpleNamespace(
        app=app,
        first=first,
        second=second,
        layers=layers,
        template=Template.from_json(template),
        props=_layer_props(template),
        assembly=assembly,
        annotations=Annotations.from_stack(first),
        builds={r.runtime: r for r in package_builds},
    )


# --- one layer per Python version and stack -----------------------------------------------


def test_of_returns_the_same_layer_within_a_stack(built: SimpleNamespace) -> None:
    assert built.layers.first is built.layers.from_child
    assert built.layers.first is built.layers.by_name


def test_each_python_version_gets_its_own_layer(built: SimpleNamespace) -> None:
    assert built.layers.py313 is not built.layers.first
    built.template.resource_count_is("AWS::Lambda::LayerVersion", 2)


def test_each_stack_gets_its_own_layer(built: SimpleNamespace) -> None:
    assert built.layers.second is not built.layers.first
    assert cdk.Stack.of(built.layers.second) is built.second


def test_shared_layers_have_stable_construct_ids(built: SimpleNamespace) -> None:
    assert built.layers.first.node.path == "First/LambdaXrayTracingLayerPython312"
    assert built.layers.py313.node.path == "First/LambdaXrayTracingLayerPython313"
    assert TracingLayer.shared_id("python3.10") == "LambdaXrayTracingLayerPython310"


def test_each_layer_is_compatible_with_its_runtime_only(built: SimpleNamespace) -> None:
    assert sorted(built.props) == ["python3.12", "python3.13"]
    for runtime, props in built.props.items():
        assert props["CompatibleRuntimes"] == [runtime]


def test_compatible_with_both_architectures(built: SimpleNamespace) -> None:
    for props in built.props.values():
        assert sorted(props["CompatibleArchitectures"]) == ["arm64", "x86_64"]


def test_license_is_apache(built: SimpleNamespace) -> None:
    assert {p["LicenseInfo"] for p in built.props.values()} == {"Apache-2.0"}


def test_description_names_the_runtime_the_bytecode_and_the_content_hash(
    built: SimpleNamespace,
) -> None:
    description = built.props["python3.12"]["Description"]
    assert description.startswith("lambda-xray for python3.12:")
    assert "bytecode cpython-312" in description
    assert description.endswith(f"(content {layer_content_hash()})")


# --- the asset: slim source plus that version's bytecode --------------------------------


def _magic(minor: int) -> bytes:
    """The ``.pyc`` magic number of ``python3.<minor>``, asked of that interpreter."""
    interpreter = _bytecode.find_interpreter(minor)
    assert interpreter is not None, f"no python3.{minor} here"
    done = subprocess.run(
        [interpreter, "-S", "-c", "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return bytes.fromhex(done.stdout.strip())


def _shipped_modules(part: str = CORE) -> list[str]:
    """The layer source's modules of ``part`` a function runs, by name."""
    python = layer_asset_path() / "python"
    return sorted(
        ".".join(Path(rel).with_suffix("").parts).removesuffix(".__init__")
        for rel in (p.relative_to(python).as_posix() for p in python.rglob("*.py"))
        if rel not in _bytecode.LAMBDA_EXCLUDED
        and "__pycache__" not in rel
        and part_of_module(rel) == part
    )


def _bundled(path: Path) -> dict[str, tuple[bool, bytes]]:
    """The modules of a bundle file (its outer layout is plain marshal data any Python reads)."""
    _, modules = lambda_xray._bundle_contents(memoryview(path.read_bytes())[10:])
    return dict(modules)


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_asset_carries_that_versions_bytecode_for_every_core_module(
    built: SimpleNamespace, runtime: str
) -> None:
    if not built.builds[runtime].has_bytecode:
        pytest.fail(f"no {runtime} interpreter here: {built.builds[runtime].reason}")
    minor = runtime.split(".")[1]
    staged = _staged(built.assembly, built.props[runtime])
    package = "python/lambda_xray"
    bundles = sorted(f for f in _files(staged) if f.endswith(".bundle"))
    # TracingLayer.of without parts: the core a boto3 function gets, no other part.
    assert bundles == [f"{package}/core.bundle"]
    # The loader as source and this version's .pyc, the untraced stand-in as source; no
    # other module as a file: every other one is in a bundle, with this version's magic.
    assert _files(staged) == sorted(
        [
            f"{package}/__init__.py",
            f"{package}/__pycache__/__init__.cpython-3{minor}.pyc",
            f"{package}/_untraced.py",
            *bundles,
        ]
    )
    bundled = [name for f in bundles for name in _bundled(staged / f)]
    assert sorted([*bundled, "lambda_xray", "lambda_xray._untraced"]) == _shipped_modules()
    magic = _magic(int(minor))
    compiled = [*bundles, f"{package}/__pycache__/__init__.cpython-3{minor}.pyc"]
    assert {(staged / f).read_bytes()[:4] for f in compiled} == {magic}


def test_asset_carries_no_other_versions_bytecode(built: SimpleNamespace) -> None:
    files = _files(_staged(built.assembly, built.props["python3.12"]))
    assert [f for f in files if f.endswith(".pyc") and ".cpython-312." not in f] == []


def test_asset_leaves_out_what_no_function_runs(built: SimpleNamespace) -> None:
    staged = _staged(built.assembly, built.props["python3.12"])
    files = _files(staged)
    assert [f for f in files if "testing." in f or f.endswith("py.typed")] == []
    bundled = [n for f in files if f.endswith(".bundle") for n in _bundled(staged / f)]
    assert "lambda_xray.testing" not in bundled
    # ... which stay in the package's copy of the source, for users' own tests.
    assert (layer_asset_path() / "python" / "lambda_xray" / "testing.py").is_file()


def test_asset_source_is_slim_and_line_for_line_the_layers(built: SimpleNamespace) -> None:
    staged = _staged(built.assembly, built.props["python3.12"])
    shipped = (staged / "python" / "lambda_xray" / "__init__.py").read_text()
    original = (layer_asset_path() / "python" / "lambda_xray" / "__init__.py").read_text()
    assert len(shipped) < len(original)
    assert len(shipped.splitlines()) == len(original.splitlines())
    assert '"""' not in shipped


def test_compiled_files_are_unchecked_hash_pycs(built: SimpleNamespace) -> None:
    staged = _staged(built.assembly, built.props["python3.12"])
    pyc = staged / "python" / "lambda_xray" / "__pycache__" / "__init__.cpython-312.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    # PEP 552: bit 0 = hash-based, bit 1 = check the source (a built tree never needs it).
    assert flags == 0b01


def test_asset_comes_from_the_packages_built_tree(built: SimpleNamespace) -> None:
    staged = _staged(built.assembly, built.props["python3.13"])
    core = _bytecode.assemble_layer(layer_builds_path(), "python3.13", frozenset())
    assert _files(staged) == _files(core)


def test_no_annotation_when_the_bytecode_is_there(built: SimpleNamespace) -> None:
    built.annotations.has_no_info("*", Match.string_like_regexp("no bytecode"))


def test_asset_path_is_the_real_layer_folder() -> None:
    assert layer_asset_path() == (REPO_ROOT / "layers" / "lambda_xray").resolve()


def test_asset_paths_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (layer_asset_path(), layer_builds_path())
    monkeypatch.chdir(tmp_path)
    assert (layer_asset_path(), layer_builds_path()) == before


# --- deterministic: same source, same bytes, same asset hash ------------------------------


def _synth_layer(
    monkeypatch: pytest.MonkeyPatch, builds: Path, outdir: Path, runtime: str = "python3.12"
) -> SimpleNamespace:
    monkeypatch.setattr(layer_module, "layer_builds_path", lambda: builds)
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Layered")
    TracingLayer.of(stack, runtime)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Layered").template
    (props,) = _layer_props(template).values()
    annotations = Annotations.from_stack(stack).find_info("*", Match.any_value())
    return SimpleNamespace(
        props=props,
        staged=_staged(assembly, props),
        info=[str(a.entry.data) for a in annotations],
    )


def test_two_builds_give_the_same_asset_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: SimpleNamespace
) -> None:
    if not built.builds["python3.12"].has_bytecode:
        pytest.fail("no python3.12 interpreter here")
    keys = []
    for name in ("one", "two"):
        builds = tmp_path / name / "builds"
        _bytecode.build_layers(layer_asset_path(), builds, minors=(12,))
        keys.append(_synth_layer(monkeypatch, builds, tmp_path / name / "out").props["Content"])
    # ... and the same as the package's own build, made elsewhere at another time.
    assert keys[0] == keys[1] == built.props["python3.12"]["Content"]


# --- source only, said so, never a failure --------------------------------------------------


def test_a_version_built_without_its_interpreter_is_source_only_with_an_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = tmp_path / "builds"
    (result,) = _bytecode.build_layers(
        layer_asset_path(), builds, minors=(12,), interpreters={12: None}
    )
    assert result.reason == "no python3.12 interpreter found when it was built"
    layer = _synth_layer(monkeypatch, builds, tmp_path / "out")
    files = _files(layer.staged)
    assert "python/lambda_xray/handler.py" in files
    assert "python/lambda_xray/testing.py" not in files
    assert [f for f in files if f.endswith(".pyc") or "__pycache__" in f] == []
    assert "source only" in layer.props["Description"]
    (info,) = layer.info
    assert "no bytecode for python3.12" in info
    assert "no python3.12 interpreter found when it was built" in info


def test_no_built_trees_at_all_falls_back_to_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = _synth_layer(monkeypatch, tmp_path / "missing", tmp_path / "out")
    assert [f for f in _files(layer.staged) if f.endswith(".pyc")] == []
    (info,) = layer.info
    assert "run `make setup`" in info


def test_a_stale_build_is_not_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = tmp_path / "builds"
    _bytecode.build_layers(layer_asset_path(), builds, minors=(12,), interpreters={12: None})
    manifest = builds / "python312.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "source_hash": "000000000000"}))
    layer = _synth_layer(monkeypatch, builds, tmp_path / "out")
    (info,) = layer.info
    assert "older than the layer source" in info


def test_a_runtime_newer_than_this_release_gets_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = _synth_layer(monkeypatch, tmp_path / "missing", tmp_path / "out", "python3.15")
    assert layer.props["CompatibleRuntimes"] == ["python3.15"]
    (info,) = layer.info
    assert "predates python3.15" in info


def _fake_layer(root: Path, body: str = "def handler(e, c):\n    return e\n") -> Path:
    pkg = root / "python" / "lambda_xray"
    pkg.mkdir(parents=True)
    (pkg / "handler.py").write_text(body)
    return root


def test_stray_bytecode_of_the_source_tree_is_left_out_of_a_source_only_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fake_layer(tmp_path / "layer")
    cache = root / "python" / "lambda_xray" / "__pycache__"
    cache.mkdir()
    (cache / "handler.cpython-312.pyc").write_bytes(b"\x00bytecode")
    (root / "python" / "lambda_xray" / "stray.pyc").write_bytes(b"\x00bytecode")
    (root / "python" / "lambda_xray" / "testing.py").write_text("SEAM = 1\n")
    monkeypatch.setattr(layer_module, "layer_asset_path", lambda: root)
    layer = _synth_layer(monkeypatch, tmp_path / "missing", tmp_path / "out")
    # ... and so is the test seam, as in every built tree.
    assert _files(layer.staged) == ["python/lambda_xray/handler.py"]


# --- content hash ------------------------------------------------------------------------


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


# --- errors -----------------------------------------------------------------------------------


def test_id_taken_by_another_construct_is_an_error() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Taken")
    cdk.CfnOutput(stack, TracingLayer.shared_id(PY312), value="x")
    with pytest.raises(
        TracingConfigError, match=r"Taken/LambdaXrayTracingLayerPython312: .*CfnOutput.*Fix"
    ):
        TracingLayer.of(stack, PY312)


@pytest.mark.parametrize("runtime", ["python3.9", "nodejs22.x"])
def test_a_runtime_the_layer_cannot_serve_is_an_error(runtime: str) -> None:
    stack = cdk.Stack(cdk.App(), "Old")
    with pytest.raises(TracingConfigError, match=rf"Old/.*'{runtime}'.*Fix: use a Python"):
        TracingLayer.of(stack, runtime)


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
