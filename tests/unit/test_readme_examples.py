"""The README's code examples run, and do what the README says they do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
README = (REPO_ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_exactly_the_two_commands() -> None:
    first_block = re.search(r"```\n(.*?)```", README, flags=re.DOTALL)
    assert first_block is not None
    assert first_block.group(1).split() == ["make", "demo", "make", "test"]
    assert README.index(first_block.group(0)) < README.index("##")


def _cdk_example() -> str:
    blocks = [b for b in PYTHON_BLOCKS if "app.synth()" in b]
    assert len(blocks) == 1, "the README has one CDK app example"
    return blocks[0]


@pytest.fixture(scope="module")
def example_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run the README's CDK example as a user would, in a directory of its own."""
    workdir = tmp_path_factory.mktemp("readme-app")
    (workdir / "app.py").write_text(_cdk_example())
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env["CDK_OUTDIR"] = str(workdir / "cdk.out")  # what `cdk synth` sets for the app
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    template_path = workdir / "cdk.out" / "Orders.template.json"
    template: dict[str, object] = json.loads(template_path.read_text())
    return template


def _functions(template: dict[str, object]) -> dict[str, dict[str, object]]:
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return {
        name: res["Properties"]
        for name, res in resources.items()
        if res["Type"] == "AWS::Lambda::Function"
    }


def test_cdk_example_makes_the_traced_function_the_table_describes(
    example_template: dict[str, object],
) -> None:
    [on_upload] = [
        props for name, props in _functions(example_template).items() if name.startswith("OnUpload")
    ]
    assert on_upload["TracingConfig"] == {"Mode": "Active"}
    assert on_upload["Handler"] == "lambda_xray.handler.handler"
    env = on_upload["Environment"]["Variables"]  # type: ignore[index]
    assert env["LAMBDA_XRAY_HANDLER"] == "index.handler"
    assert env["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert env["LAMBDA_XRAY_SERVICE_NAME"] == "orders"
    assert env["LAMBDA_XRAY_CAPTURE_RESPONSE"] == "false"
    assert len(on_upload["Layers"]) == 1  # type: ignore[arg-type]


def test_cdk_example_traces_cdk_s_own_notification_handler(
    example_template: dict[str, object],
) -> None:
    functions = _functions(example_template)
    hidden = [p for n, p in functions.items() if n.startswith("BucketNotificationsHandler")]
    assert hidden, "the S3 wiring adds CDK's BucketNotificationsHandler"
    assert all(p.get("TracingConfig") == {"Mode": "Active"} for p in hidden)


def test_layer_example_records_its_subsegment_annotation_and_metadata() -> None:
    [example] = [b for b in PYTHON_BLOCKS if "from lambda_xray import" in b]
    script = (
        example.replace("    ...\n", "    return sum(order['lines'])\n")
        + "\nfrom lambda_xray.testing import InMemoryEmitter, invocation\n"
        + "import json\n"
        + "with InMemoryEmitter() as xray, invocation():\n"
        + "    assert price({'tier': 'gold', 'lines': [1, 2]}) == 3\n"
        + "print(json.dumps(xray.named('price order')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(LAYER_PYTHON)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [doc] = json.loads(result.stdout)
    assert doc["annotations"] == {"customer_tier": "gold"}
    assert doc["metadata"]["default"]["order"] == {"lines": 2}
