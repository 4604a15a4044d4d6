"""The CDK CLI runner: environment, timeouts and failures (the real pinned CLI, no deploy)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cdk_lambda_xray import ids
from cdk_lambda_xray.local.deploy import TMP_PREFIX, CdkCli, CdkError, find_cli_root

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path: Path) -> CdkCli:
    app = tmp_path / "app"
    app.mkdir()
    (app / "cdk.json").write_text(json.dumps({"app": "python3 -c 'raise SystemExit(7)'"}))
    return CdkCli(app, tmp_path / "work", endpoint_url="http://127.0.0.1:9", cli_root=REPO_ROOT)


def test_cli_root_is_found_from_the_repository() -> None:
    assert find_cli_root(REPO_ROOT / "functions") == REPO_ROOT


def test_environment_points_at_the_emulator_with_fake_credentials(
    cli: CdkCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    env = cli.environment()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in env
    assert env["CDK_HOME"] == str(cli.work_dir / "cdk-home")
    assert env["CDK_DISABLE_CLI_TELEMETRY"] == "true"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert cli.environment(cli.work_dir / "tmp")["TMPDIR"] == str(cli.work_dir / "tmp")


def test_a_command_past_its_timeout_is_stopped_with_a_clear_message(cli: CdkCli) -> None:
    with pytest.raises(CdkError, match=r"did not finish within 0.01s and was stopped"):
        cli.run(["--version"], timeout=0.01, log_name="version")


def test_a_failing_command_raises_with_its_log_tail(cli: CdkCli) -> None:
    with pytest.raises(CdkError, match=r"`cdk synth` failed with status \d+") as info:
        cli.run(["synth"], timeout=120, log_name="synth")
    assert str(cli.work_dir / "synth.log") in str(info.value)
    assert not list(cli.work_dir.glob(f"{TMP_PREFIX}*"))  # its TMPDIR went with it


def test_missing_template_names_the_path(cli: CdkCli) -> None:
    with pytest.raises(CdkError, match=r"no synthesized template at .*Nope.template.json"):
        cli.template("Nope")


def test_every_command_tells_the_app_which_python_the_emulator_runs(tmp_path: Path) -> None:
    """MiniStack runs every function with this interpreter: the layers must carry its build."""
    app = tmp_path / "app"
    app.mkdir()
    seen = tmp_path / "context.json"
    probe = (
        "import os, pathlib; "
        f"pathlib.Path({str(seen)!r}).write_text(os.environ.get('CDK_CONTEXT_JSON', '')); "
        "raise SystemExit(7)"
    )
    (app / "cdk.json").write_text(json.dumps({"app": f'{sys.executable} -c "{probe}"'}))
    cli = CdkCli(app, tmp_path / "work", endpoint_url="http://127.0.0.1:9", cli_root=REPO_ROOT)
    with pytest.raises(CdkError):
        cli.run(["synth"], timeout=120, log_name="synth")
    context = json.loads(seen.read_text())
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert context[ids.CONTEXT_LAYER_PYTHON_OVERRIDE] == host
