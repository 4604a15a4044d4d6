"""A Node.js handler that misses an AWS SDK v3 package gets one line naming it and the fix.

The failure texts are the ones a local deploy printed before the clients were
pinned (MiniStack 1.5.33, aws-cdk-lib 2.275.0, CDK CLI 2.1148.1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cdk_lambda_xray.local.deploy import CdkCli, CdkError
from cdk_lambda_xray.local.missing_sdk import diagnose_missing_sdk, missing_sdk_packages

REPO_ROOT = Path(__file__).resolve().parents[2]

#: CDK's LogRetention provider (a bundled handler given the emulator's stand-in module).
LOG_RETENTION_FAILURE = (
    "OnlyLogRetention | 1/7 | 6:02:35 AM | CREATE_FAILED           | Custom::LogRetention       "
    "| F/LogRetention (FLogRetentionE7765D33) i.CloudWatchLogsClient is not a constructor"
)
#: AwsCustomResource calling CloudWatchLogs.putRetentionPolicy.
AWS_CUSTOM_RESOURCE_FAILURE = (
    "E2eLogRetentionBaseline |  1/13 | 6:01:27 AM | CREATE_FAILED           | Custom::AWS"
    "                | AuditRetention/Resource/Default (AuditRetention6680A0AF) No client "
    "constructor found within package: @aws-sdk/client-cloudwatch-logs"
)
CREDENTIALS_FAILURE = (
    "Error: Cannot find module '@aws-sdk/credential-providers'\n"
    "Require stack:\n- /var/task/index.js"
)


def _project(tmp_path: Path, pins: dict[str, str], installed: tuple[str, ...] = ()) -> Path:
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": pins}))
    for package in installed:
        directory = tmp_path / "node_modules" / package
        directory.mkdir(parents=True)
        (directory / "package.json").write_text("{}")
    return tmp_path


S3_ONLY = {"@aws-sdk/client-s3": "3.1175.0", "aws-cdk": "2.1148.1"}


@pytest.mark.parametrize("text", [LOG_RETENTION_FAILURE, AWS_CUSTOM_RESOURCE_FAILURE])
def test_the_issue_s_failures_name_the_logs_client_and_how_to_pin_it(
    tmp_path: Path, text: str
) -> None:
    line = diagnose_missing_sdk(text, cli_root=_project(tmp_path, S3_ONLY))
    assert line is not None and "\n" not in line
    assert "package for a Node.js handler: @aws-sdk/client-cloudwatch-logs --" in line
    assert "add it to package.json devDependencies" in line
    assert "@aws-sdk/client-s3 3.1175.0" in line


def test_a_plain_require_failure_names_its_package() -> None:
    assert missing_sdk_packages(CREDENTIALS_FAILURE) == ["@aws-sdk/credential-providers"]


def test_several_failures_give_one_line_with_each_package_once(tmp_path: Path) -> None:
    text = "\n".join([LOG_RETENTION_FAILURE, AWS_CUSTOM_RESOURCE_FAILURE, CREDENTIALS_FAILURE] * 2)
    line = diagnose_missing_sdk(text, cli_root=_project(tmp_path, S3_ONLY))
    assert line is not None and "\n" not in line
    assert ": @aws-sdk/client-cloudwatch-logs, @aws-sdk/credential-providers --" in line
    assert "add them to package.json" in line


def test_a_pinned_but_uninstalled_package_asks_for_npm_ci(tmp_path: Path) -> None:
    pins = {**S3_ONLY, "@aws-sdk/client-cloudwatch-logs": "3.1169.0"}
    line = diagnose_missing_sdk(LOG_RETENTION_FAILURE, cli_root=_project(tmp_path, pins))
    assert line is not None
    assert "it is pinned in package.json but not installed: run `npm ci`" in line


def test_an_installed_package_that_did_not_reach_the_handler_points_at_node_path(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path, S3_ONLY, installed=("@aws-sdk/client-cloudwatch-logs",))
    line = diagnose_missing_sdk(AWS_CUSTOM_RESOURCE_FAILURE, cli_root=project)
    assert line is not None
    assert f"it is installed in {project / 'node_modules'}" in line
    assert "NODE_PATH" in line


def test_class_names_map_to_packages_through_the_sdk_v3_names_cdk_knows() -> None:
    text = "\n".join(
        f"x.{cls}Client is not a constructor"
        for cls in ("Route53", "SSM", "CognitoIdentityProvider", "SFN", "NoSuchThing")
    )
    assert missing_sdk_packages(text) == [
        "@aws-sdk/client-route-53",
        "@aws-sdk/client-ssm",
        "@aws-sdk/client-cognito-identity-provider",
        "@aws-sdk/client-sfn",
        "the client defining NoSuchThingClient",
    ]


def test_other_failures_give_no_line() -> None:
    text = (
        "CREATE_FAILED | AWS::Lambda::Function | Fn Resource handler returned message: "
        "TypeError: x is not a constructor; Cannot find module './app'"
    )
    assert diagnose_missing_sdk(text, cli_root=REPO_ROOT) is None


def test_a_failed_cdk_command_ends_with_the_line_found_in_the_emulator_log(tmp_path: Path) -> None:
    """The real CDK CLI fails (the app exits 1); the emulator's log holds the handler's error."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} -c 'raise SystemExit(1)'"}))
    emulator_log = tmp_path / "ministack.log"
    emulator_log.write_text(
        f"ERROR [cloudformation] Failed to provision X: {CREDENTIALS_FAILURE}\n"
    )
    cli = CdkCli(
        app,
        tmp_path / "work",
        endpoint_url="http://127.0.0.1:9",
        cli_root=REPO_ROOT,
        emulator_log=emulator_log,
    )
    with pytest.raises(CdkError) as info:
        cli.run(["synth"], timeout=120, log_name="synth")
    last = str(info.value).splitlines()[-1]
    assert last.startswith("missing AWS SDK for JavaScript v3 package for a Node.js handler: ")
    assert "@aws-sdk/credential-providers" in last
    assert str(info.value).count("missing AWS SDK") == 1
