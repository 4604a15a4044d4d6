"""The wheel carries the layer's bytecode, and an app synthesized from it ships that bytecode.

Builds the real wheel (setup.py's ``build_py`` hook, ``pip wheel``) from a copy of
the package sources, so users never compile anything: ``pip install`` of that
wheel is all a function's layer needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray._layer_parts import PARTS
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDS = f"cdk_lambda_xray/{_bytecode.BUILDS_DIR_NAME}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", _bytecode.BUILDS_DIR_NAME)
    shutil.copytree(REPO_ROOT / "layers", src / "layers", ignore=ignore)
    shutil.copytree(
        REPO_ROOT / "constructs" / "cdk_lambda_xray",
        src / "constructs" / "cdk_lambda_xray",
        symlinks=True,  # _layer -> ../../layers/lambda_xray, as in the checkout
        ignore=ignore,
    )
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*pip_wheel, "--no-cache-dir", "-w", str(root / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = (root / "dist").glob("cdk_lambda_xray-*.whl")
    unpacked = root / "unpacked"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    package_builds = {
        r.runtime: r for r in _bytecode.ensure_built(layer_asset_path(), layer_builds_path())
    }
    return SimpleNamespace(names=set(names), unpacked=unpacked, package_builds=package_builds)


@pytest.mark.parametrize("minor", _bytecode.PYTHON_MINORS)
def test_the_wheel_has_a_layer_tree_per_python_version(wheel: SimpleNamespace, minor: int) -> None:
    runtime = _bytecode.runtime_name(minor)
    tree = f"{BUILDS}/python3{minor}/python/lambda_xray"
    files = sorted(n for n in wheel.names if n.startswith(f"{tree}/"))
    assert f"{tree}/__init__.py" in files
    assert f"{tree}/testing.py" not in files  # no function runs the test seam
    built = _bytecode.read_manifest(wheel.unpacked / BUILDS, runtime)
    assert built is not None
    if _bytecode.find_interpreter(minor) is None:
        # Source only, said so (the build machine has no such interpreter).
        assert f"{tree}/handler.py" in files
        assert [n for n in files if n.endswith((".pyc", ".bundle"))] == []
        assert built.reason == f"no python3.{minor} interpreter found when it was built"
        return
    # The loader (source and .pyc), the untraced stand-in's source, one bundle per part.
    assert files == sorted(
        [
            f"{tree}/__init__.py",
            f"{tree}/__pycache__/__init__.cpython-3{minor}.pyc",
            f"{tree}/_untraced.py",
            *(f"{tree}/{part}.bundle" for part in ("core", *PARTS)),
        ]
    )
    assert built.cache_tag == f"cpython-3{minor}"


def test_the_wheel_keeps_the_layer_source_for_users_tests(wheel: SimpleNamespace) -> None:
    """``lambda_xray.testing`` is imported from the wheel's copy of the source (docs/layer.md)."""
    assert "cdk_lambda_xray/_layer/python/lambda_xray/testing.py" in wheel.names
    assert "cdk_lambda_xray/_layer/python/lambda_xray/handler.py" in wheel.names


def test_the_wheels_bytecode_is_byte_for_byte_the_checkouts(wheel: SimpleNamespace) -> None:
    compared = 0
    for runtime, result in wheel.package_builds.items():
        if not result.has_bytecode:
            continue
        mine = _bytecode.tree_path(layer_builds_path(), runtime)
        theirs = _bytecode.tree_path(wheel.unpacked / BUILDS, runtime)
        for compiled in sorted(p for p in mine.rglob("*") if p.suffix in (".pyc", ".bundle")):
            theirs_file = theirs / compiled.relative_to(mine)
            assert theirs_file.read_bytes() == compiled.read_bytes(), compiled
            compared += 1
    assert compared > 0


SYNTH_FROM_WHEEL = r"""
import json, sys
from pathlib import Path
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
import cdk_lambda_xray
from cdk_lambda_xray import TracedFunction
from cdk_lambda_xray._shared import _contract

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "FromWheel")
TracedFunction(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="app.handler",
               code=lambda_.Code.from_inline("def handler(e, c):\n    return 1\n"))
assembly = app.synth()
template = assembly.get_stack_by_name("FromWheel").template
(layer,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
key = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
staged = Path(assembly.directory) / f"asset.{key}"
print(json.dumps({
    "package": cdk_lambda_xray.__file__,
    "contract": _contract.__file__,
    "files": sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()),
}))
"""


def test_an_app_synthesized_from_the_installed_wheel_ships_its_bytecode(
    wheel: SimpleNamespace, tmp_path: Path
) -> None:
    if not wheel.package_builds["python3.12"].has_bytecode:
        pytest.fail("no python3.12 interpreter on this machine")
    done = subprocess.run(
        [sys.executable, "-c", SYNTH_FROM_WHEEL, str(tmp_path / "out")],
        env={**_clean_env(), "PYTHONPATH": str(wheel.unpacked)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(wheel.unpacked))
    # the names and grammar synth judged with: the layer's own file, inside the wheel
    assert out["contract"].startswith(str(wheel.unpacked))
    assert out["contract"].endswith("_layer/python/lambda_xray/_contract.py")
    assert "python/lambda_xray/__pycache__/__init__.cpython-312.pyc" in out["files"]
    assert "python/lambda_xray/core.bundle" in out["files"]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
