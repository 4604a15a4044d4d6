"""Another team's CDK app, outside this repository, using the installed library.

What runs for real: a wheel is built from a clean copy of the project sources
(``pip wheel --no-build-isolation``), installed by pip into a fresh virtualenv,
and a small CDK app written into a temporary directory imports
``cdk_lambda_xray`` and is synthesized by that virtualenv's Python in a
subprocess whose working directory is the temporary directory.

One shortcut, to stay offline and fast: the fresh virtualenv does not download
``aws-cdk-lib``/``constructs``/``jsii`` again; a ``.pth`` file points it at the
repository virtualenv's site-packages for those dependencies. That directory's
own ``.pth`` files (including the editable install of this repo) are not
processed through such a path entry, and the test asserts that
``cdk_lambda_xray`` is imported from the fresh virtualenv, never from the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "constructs", "layers")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache", "build")
WRAPPER = "lambda_xray.handler.handler"

EXTERNAL_APP = textwrap.dedent(
    '''
    """A team's own CDK app: one traced function behind an SQS queue."""
    import json
    import sys
    from pathlib import Path

    import aws_cdk as cdk
    import cdk_lambda_xray
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs
    from cdk_lambda_xray import ContextMissing, TracedFunction, trace_events

    app = cdk.App(outdir=sys.argv[1])
    stack = cdk.Stack(app, "OrdersService")
    worker = TracedFunction(
        stack,
        "Worker",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="orders.worker.handle",
        code=lambda_.Code.from_asset(str(Path(__file__).parent / "src")),
        timeout=cdk.Duration.seconds(10),
        service_name="orders",
        context_missing=ContextMissing.IGNORE_ERROR,
    )
    queue = sqs.Queue(stack, "Orders", visibility_timeout=cdk.Duration.seconds(60))
    trace_events(worker).from_sqs(queue)
    app.synth()
    print(json.dumps({"library": cdk_lambda_xray.__file__}))
    '''
)

HANDLER = textwrap.dedent(
    """
    def handle(event, context):
        return {"records": len(event.get("Records", []))}
    """
)


def _run(
    args: list[str], cwd: Path, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("PYTHONPATH", None)
    environment.update({"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env})
    result = subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@dataclass
class External:
    wheel: Path
    library_file: str
    template: dict[str, Any]
    assembly: Path


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> External:
    work = tmp_path_factory.mktemp("external-team")
    assert REPO_ROOT not in work.parents

    # 1. A wheel from a clean copy of the sources (no caches, no build leftovers).
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=JUNK)
        else:
            shutil.copy2(path, source / name)
    wheels = work / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(source)],
        cwd=work, timeout=240,
    )  # fmt: skip
    [wheel] = wheels.glob("cdk_lambda_xray-*.whl")

    # 2. A fresh virtualenv with the wheel installed by pip.
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        cwd=work, timeout=240,
    )  # fmt: skip
    fresh_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=work, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    (fresh_site / "zz_cdk_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # 3. The team's app in its own directory, synthesized there.
    project = work / "orders-service"
    (project / "src" / "orders").mkdir(parents=True)
    (project / "src" / "orders" / "__init__.py").write_text("")
    (project / "src" / "orders" / "worker.py").write_text(HANDLER)
    (project / "app.py").write_text(EXTERNAL_APP)
    out = project / "cdk.out"
    result = _run([str(python), "app.py", str(out)], cwd=project, timeout=240)
    library_file = json.loads(result.stdout.strip().splitlines()[-1])["library"]
    template = json.loads((out / "OrdersService.template.json").read_text())
    return External(wheel, library_file, template, out)


def _resources(external: External, resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in external.template["Resources"].items() if v["Type"] == resource_type}


def _worker(external: External) -> dict[str, Any]:
    [worker] = [
        v["Properties"]
        for k, v in _resources(external, "AWS::Lambda::Function").items()
        if k.startswith("Worker")
    ]
    return dict(worker)


def test_wheel_ships_the_layer_runtime(external: External) -> None:
    names = zipfile.ZipFile(external.wheel).namelist()
    layer = {n for n in names if n.startswith("cdk_lambda_xray/_layer/python/lambda_xray/")}
    assert "cdk_lambda_xray/_layer/python/lambda_xray/handler.py" in layer
    assert "cdk_lambda_xray/_layer/python/lambda_xray/__init__.py" in layer
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_library_is_imported_from_the_fresh_virtualenv_not_the_repo(external: External) -> None:
    assert "/venv/" in external.library_file
    assert not external.library_file.startswith(str(REPO_ROOT))


def test_external_function_handler_is_redirected_to_the_layer(external: External) -> None:
    worker = _worker(external)
    assert worker["Handler"] == WRAPPER
    assert worker["Environment"]["Variables"]["LAMBDA_XRAY_HANDLER"] == "orders.worker.handle"


def test_external_function_has_active_tracing_and_its_options(external: External) -> None:
    worker = _worker(external)
    assert worker["TracingConfig"] == {"Mode": "Active"}
    variables = worker["Environment"]["Variables"]
    assert variables["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"
    assert variables["LAMBDA_XRAY_SERVICE_NAME"] == "orders"


def test_external_function_uses_the_layer_built_from_the_installed_package(
    external: External,
) -> None:
    [(layer_id, layer)] = _resources(external, "AWS::Lambda::LayerVersion").items()
    assert _worker(external)["Layers"] == [{"Ref": layer_id}]
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    assets = json.loads((external.assembly / "OrdersService.assets.json").read_text())
    asset_dir = external.assembly / assets["files"][asset_hash]["source"]["path"]
    assert (asset_dir / "python" / "lambda_xray" / "handler.py").is_file()


def test_external_queue_is_wired_to_the_function(external: External) -> None:
    [mapping] = _resources(external, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0].startswith("Orders")
