"""One local account, region and scrubbed-variable list, for every process the tooling starts.

The calling shell sets every variable of ``SCRUBBED_ENV``; neither the CDK
CLI's environment nor the real MiniStack process (read from ``/proc``, what
its functions inherit) may see any of them, while an ordinary variable passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_lambda_xray.local.deploy import CdkCli
from cdk_lambda_xray.local.emulator import MiniStack
from cdk_lambda_xray.local.settings import LOCAL_ACCOUNT, LOCAL_REGION, SCRUBBED_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hostile_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SCRUBBED_ENV:
        monkeypatch.setenv(name, "from-the-shell")
    monkeypatch.setenv("MY_OWN_SETTING", "kept")


def _process_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode().partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


@pytest.mark.usefixtures("hostile_shell")
def test_the_cdk_cli_sees_none_of_the_scrubbed_variables(tmp_path: Path) -> None:
    cli = CdkCli(tmp_path, tmp_path / "work", endpoint_url="http://127.0.0.1:9", cli_root=REPO_ROOT)
    env = cli.environment()
    leaked = {n for n in SCRUBBED_ENV if env.get(n) == "from-the-shell"}
    assert leaked == set()
    assert env["MY_OWN_SETTING"] == "kept"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == (LOCAL_REGION, LOCAL_REGION)


@pytest.mark.usefixtures("hostile_shell")
def test_the_emulator_and_its_functions_see_none_of_them(tmp_path: Path) -> None:
    with MiniStack(tmp_path / "ministack.log", timeout=60) as emulator:
        assert emulator.pid is not None
        env = _process_environment(emulator.pid)
    leaked = {n for n in SCRUBBED_ENV if env.get(n) == "from-the-shell"}
    assert leaked == set()
    assert env["MY_OWN_SETTING"] == "kept"
    assert (env["MINISTACK_ACCOUNT_ID"], env["MINISTACK_REGION"]) == (LOCAL_ACCOUNT, LOCAL_REGION)
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{env['GATEWAY_PORT']}"
