"""The reference app (app.py): its three traced flows, tracing everywhere, its outputs.

The app is built with ``build_app()`` and synthesized once per module into a
temporary directory; ``python app.py`` and the real CDK CLI are run once each in
subprocesses, as a user would run them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations, assertions
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_ID = "LambdaXrayReference"
OUTPUT_KEYS = {
    "UploadBucketName",
    "UploadFunctionName",
    "WriterFunctionName",
    "WriterBucketName",
    "TopicArn",
    "NotifyFunctionName",
    "TableName",
}
WRAPPER = "lambda_xray.handler.handler"


def _load_app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_app", REPO_ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    return _load_app_module()


class Reference:
    """The synthesized reference app and lookups into its one template."""

    def __init__(self, module: ModuleType, outdir: Path) -> None:
        self.app: App = module.build_app(str(outdir))
        self.assembly = self.app.synth()
        stack = self.app.node.find_child(STACK_ID)
        assert isinstance(stack, Stack)
        self.stack = stack
        self.template = assertions.Template.from_stack(stack)
        self.resources: dict[str, Any] = self.template.to_json()["Resources"]

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, path: str) -> str:
        construct: Any = self.stack
        for part in path.split("/"):
            construct = construct.node.find_child(part)
        child = construct.node.default_child or construct
        return str(self.stack.get_logical_id(child))

    def function(self, construct_id: str) -> dict[str, Any]:
        return dict(self.resources[self.logical_id(construct_id)]["Properties"])


@pytest.fixture(scope="module")
def ref(app_module: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(app_module, tmp_path_factory.mktemp("reference-cdk-out"))


def _statements(ref: Reference, role_path: str) -> list[dict[str, Any]]:
    role_id = ref.logical_id(role_path)
    found = []
    for policy in ref.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _allows(statements: list[dict[str, Any]], action: str) -> list[Any]:
    resources = []
    for statement in statements:
        actions = statement["Action"]
        if action in ([actions] if isinstance(actions, str) else actions):
            resources.append(statement["Resource"])
    return resources


# -- shape -----------------------------------------------------------------------------


def test_one_environment_agnostic_stack_with_the_fixed_id(ref: Reference) -> None:
    [stack] = ref.assembly.stacks
    assert stack.stack_name == STACK_ID
    assert stack.environment.account == "unknown-account"
    assert stack.environment.region == "unknown-region"


def test_three_python_312_functions_run_their_handlers_through_the_layer(ref: Reference) -> None:
    expected = {
        "RecordUpload": "record_upload.handler",
        "WriteObject": "write_object.handler",
        "Notify": "notify.handler",
    }
    for construct_id, handler in expected.items():
        props = ref.function(construct_id)
        assert props["Runtime"] == "python3.12", construct_id
        assert props["Handler"] == WRAPPER, construct_id
        assert props["Environment"]["Variables"]["LAMBDA_XRAY_HANDLER"] == handler
        assert len(props["Layers"]) == 1, construct_id


def test_every_handler_file_exists_in_the_functions_folder(ref: Reference) -> None:
    for module in ("record_upload", "write_object", "notify"):
        source = (REPO_ROOT / "functions" / f"{module}.py").read_text()
        assert "def handler(event" in source, module


def test_outputs_have_exactly_the_documented_keys(ref: Reference) -> None:
    assert set(ref.template.find_outputs("*")) == OUTPUT_KEYS


def test_outputs_point_at_the_right_resources(ref: Reference) -> None:
    outputs = ref.template.find_outputs("*")
    assert outputs["UploadBucketName"]["Value"] == {"Ref": ref.logical_id("UploadBucket")}
    assert outputs["WriterBucketName"]["Value"] == {"Ref": ref.logical_id("WriterBucket")}
    assert outputs["UploadFunctionName"]["Value"] == {"Ref": ref.logical_id("RecordUpload")}
    assert outputs["WriterFunctionName"]["Value"] == {"Ref": ref.logical_id("WriteObject")}
    assert outputs["NotifyFunctionName"]["Value"] == {"Ref": ref.logical_id("Notify")}
    assert outputs["TopicArn"]["Value"] == {"Ref": ref.logical_id("Topic")}
    assert outputs["TableName"]["Value"] == {"Ref": ref.logical_id("Table")}


def test_synth_reports_no_warning_or_error(ref: Reference) -> None:
    annotations = assertions.Annotations.from_stack(ref.stack)
    found = annotations.find_warning("*", assertions.Match.any_value())
    found += annotations.find_error("*", assertions.Match.any_value())
    assert [(m.id, m.entry.data) for m in found] == []


# -- the three flows ---------------------------------------------------------------------


def test_async_flow_upload_bucket_notifies_record_upload_on_object_created(
    ref: Reference,
) -> None:
    [notifications] = ref.of_type("Custom::S3BucketNotifications").values()
    props = notifications["Properties"]
    assert props["BucketName"] == {"Ref": ref.logical_id("UploadBucket")}
    [config] = props["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["LambdaFunctionArn"] == {"Fn::GetAtt": [ref.logical_id("RecordUpload"), "Arn"]}


def test_async_flow_record_upload_may_list_tables_and_put_items(ref: Reference) -> None:
    table_arn = {"Fn::GetAtt": [ref.logical_id("Table"), "Arn"]}
    statements = _statements(ref, "RecordUpload/ServiceRole")
    assert _allows(statements, "dynamodb:ListTables") == ["*"]
    assert any(
        table_arn in (r if isinstance(r, list) else [r])
        for r in _allows(statements, "dynamodb:PutItem")
    )
    env = ref.function("RecordUpload")["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": ref.logical_id("Table")}


def test_sync_flow_writer_may_put_objects_into_its_bucket(ref: Reference) -> None:
    statements = _statements(ref, "WriteObject/ServiceRole")
    granted = json.dumps(_allows(statements, "s3:PutObject"))
    assert ref.logical_id("WriterBucket") in granted
    assert ref.logical_id("UploadBucket") not in granted
    env = ref.function("WriteObject")["Environment"]["Variables"]
    assert env["BUCKET_NAME"] == {"Ref": ref.logical_id("WriterBucket")}


def test_sns_flow_topic_with_active_tracing_invokes_notify(ref: Reference) -> None:
    topic_id = ref.logical_id("Topic")
    assert ref.resources[topic_id]["Properties"]["TracingConfig"] == "Active"
    ref.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [ref.logical_id("Notify"), "Arn"]},
        },
    )
    env = ref.function("Notify")["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": ref.logical_id("Table")}


def test_sns_flow_has_the_xray_resource_policy_for_the_topic(ref: Reference) -> None:
    [policy] = ref.of_type("AWS::XRay::ResourcePolicy").values()
    assert STACK_ID in policy["Properties"]["PolicyName"]
    assert {"Ref": ref.logical_id("Topic")} in policy["Properties"]["PolicyDocument"]["Fn::Join"][1]


# -- tracing everywhere ----------------------------------------------------------------------


def test_every_lambda_function_has_active_tracing(ref: Reference) -> None:
    functions = ref.of_type("AWS::Lambda::Function")
    assert len(functions) >= 4  # three of ours + CDK's notifications handler (+ providers)
    untraced = {
        k: v["Properties"].get("TracingConfig")
        for k, v in functions.items()
        if v["Properties"].get("TracingConfig") != {"Mode": "Active"}
    }
    assert untraced == {}


def test_cdk_bucket_notifications_handler_is_traced(ref: Reference) -> None:
    handlers = {
        k: v
        for k, v in ref.of_type("AWS::Lambda::Function").items()
        if k.startswith("BucketNotificationsHandler")
    }
    assert len(handlers) == 1
    [handler] = handlers.values()
    assert handler["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_every_function_role_may_write_traces(ref: Reference) -> None:
    roles_with_xray = set()
    policies = [*ref.of_type("AWS::IAM::Policy").values()]
    policies += ref.of_type("AWS::IAM::ManagedPolicy").values()
    for policy in policies:
        if _allows(policy["Properties"]["PolicyDocument"]["Statement"], "xray:PutTraceSegments"):
            roles_with_xray |= {r["Ref"] for r in policy["Properties"].get("Roles", [])}
    managed = ref.of_type("AWS::IAM::ManagedPolicy")
    for role in ref.of_type("AWS::IAM::Role").items():
        documents = [p["PolicyDocument"] for p in role[1]["Properties"].get("Policies", [])]
        documents += [
            managed[arn["Ref"]]["Properties"]["PolicyDocument"]
            for arn in role[1]["Properties"].get("ManagedPolicyArns", [])
            if isinstance(arn, dict) and arn.get("Ref") in managed
        ]
        if any(_allows(d["Statement"], "xray:PutTraceSegments") for d in documents):
            roles_with_xray.add(role[0])
    function_roles = set()
    for function in ref.of_type("AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]
        function_roles.add(role["Fn::GetAtt"][0])
    assert function_roles <= roles_with_xray, function_roles - roles_with_xray


# -- teardown ------------------------------------------------------------------------------


def test_table_and_buckets_are_deleted_with_the_stack(ref: Reference) -> None:
    for construct_id in ("Table", "UploadBucket", "WriterBucket"):
        resource = ref.resources[ref.logical_id(construct_id)]
        assert resource["DeletionPolicy"] == "Delete", construct_id
        assert resource["UpdateReplacePolicy"] == "Delete", construct_id


def test_buckets_are_emptied_before_deletion(ref: Reference) -> None:
    auto_delete = ref.of_type("Custom::S3AutoDeleteObjects")
    emptied = {v["Properties"]["BucketName"]["Ref"] for v in auto_delete.values()}
    assert emptied == {ref.logical_id("UploadBucket"), ref.logical_id("WriterBucket")}


# -- handlers (no AWS call is reached on these paths) ----------------------------------------


@pytest.fixture()
def write_object(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("BUCKET_NAME", "unused")
    path = REPO_ROOT / "functions" / "write_object.py"
    spec = importlib.util.spec_from_file_location("write_object_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writer_fail_flag_raises_the_demo_failure(write_object: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^requested failure$"):
        write_object.handler({"key": "k", "body": "b", "fail": True}, None)


def test_writer_without_key_says_what_is_missing(write_object: ModuleType) -> None:
    with pytest.raises(ValueError, match='non-empty string "key"'):
        write_object.handler({"body": "b"}, None)


# -- handlers against a local AWS (MiniStack, real botocore over HTTP) -------------------------


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """MiniStack with the table and bucket the handlers expect, and their env."""
    import boto3  # type: ignore[import-untyped]

    from cdk_lambda_xray.local.emulator import MiniStack

    log = tmp_path_factory.mktemp("handlers-ministack") / "ministack.log"
    with MiniStack(log, timeout=60) as emulator, pytest.MonkeyPatch.context() as env:
        settings = {
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "TABLE_NAME": "reference-table",
            "BUCKET_NAME": "reference-writer",
        }
        for key, value in settings.items():
            env.setenv(key, value)
        env.delenv("AWS_PROFILE", raising=False)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="reference-table",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="reference-writer")
        yield {"dynamodb": dynamodb, "s3": s3}


def _handler_module(name: str) -> ModuleType:
    """A fresh import, so the module's boto3 client sees the local endpoint."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_local", REPO_ROOT / "functions" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _item(local_aws: dict[str, Any], pk: str) -> dict[str, Any]:
    response = local_aws["dynamodb"].get_item(TableName="reference-table", Key={"pk": {"S": pk}})
    return dict(response.get("Item", {}))


def test_record_upload_stores_the_decoded_object_key(local_aws: dict[str, Any]) -> None:
    event = {
        "Records": [
            {
                "eventTime": "2026-11-25T12:00:00.000Z",
                "s3": {
                    "bucket": {"name": "uploads"},
                    "object": {"key": "in/hello+world%21.txt", "size": 5},
                },
            }
        ]
    }
    result = _handler_module("record_upload").handler(event, None)
    assert result["recorded"] == ["in/hello world!.txt"]
    assert result["tables_seen"] >= 1  # ListTables really ran
    item = _item(local_aws, "in/hello world!.txt")
    assert item["bucket"] == {"S": "uploads"}
    assert item["size"] == {"N": "5"}


def test_write_object_puts_the_body_and_returns_its_etag(local_aws: dict[str, Any]) -> None:
    result = _handler_module("write_object").handler({"key": "a/b.txt", "body": "hi"}, None)
    stored = local_aws["s3"].get_object(Bucket="reference-writer", Key="a/b.txt")
    assert stored["Body"].read() == b"hi"
    assert result == {
        "bucket": "reference-writer",
        "key": "a/b.txt",
        "etag": stored["ETag"].strip('"'),
    }


def test_notify_stores_one_item_per_sns_message(local_aws: dict[str, Any]) -> None:
    records = [
        {"Sns": {"MessageId": f"m-{n}", "Message": f"hello {n}", "TopicArn": "arn:t"}}
        for n in (1, 2)
    ]
    result = _handler_module("notify").handler({"Records": records}, None)
    assert result == {"stored": ["m-1", "m-2"]}
    assert _item(local_aws, "sns#m-2")["message"] == {"S": "hello 2"}


# -- cdk-nag ---------------------------------------------------------------------------------


def _nag_tracing_findings(app: App, outdir: Path) -> list[str]:
    """Run cdk-nag's Serverless pack as a CDK validation plugin; LambdaTracing paths."""
    from cdk_nag import ServerlessChecks

    Validations.of(app).add_plugins(ServerlessChecks(app))
    try:
        app.synth()
    except RuntimeError as error:  # the pack also reports rules unrelated to tracing
        assert "(Serverless)" in str(error)
    report = json.loads((outdir / "validation-report.json").read_text())
    paths = []
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            if violation["ruleName"] == "Serverless-LambdaTracing":
                paths += [c["constructPath"] for c in violation["violatingConstructs"]]
    return paths


def test_cdk_nag_serverless_pack_finds_no_untraced_lambda(
    app_module: ModuleType, tmp_path: Path
) -> None:
    app = app_module.build_app(str(tmp_path))
    assert _nag_tracing_findings(app, tmp_path) == []


def test_cdk_nag_check_does_flag_an_untraced_function(tmp_path: Path) -> None:
    """Control: the same check reports a plain untraced function, so it can fail."""
    app = App(outdir=str(tmp_path))
    lambda_.Function(
        Stack(app, "Control"),
        "Untraced",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return e\n"),
    )
    assert _nag_tracing_findings(app, tmp_path) == ["Control/Untraced/Resource"]


# -- the two ways users synthesize it -------------------------------------------------------------


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_HOME": str(tmp_path / "cdk-home"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.pop("CDK_CONTEXT_JSON", None)
    return env


def _stack_names(manifest_dir: Path) -> list[str]:
    manifest = json.loads((manifest_dir / "manifest.json").read_text())
    return sorted(
        name
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    )


def test_python_app_py_synthesizes(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    env = _offline_env(tmp_path) | {"CDK_OUTDIR": str(outdir)}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _stack_names(outdir) == [STACK_ID]


@pytest.fixture()
def cdk_cli() -> Iterator[Path]:
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists() or shutil.which("node") is None:
        pytest.fail("the pinned CDK CLI is missing: run `npm ci` (make setup)")
    yield cli


def test_cdk_cli_synth_works_offline(cdk_cli: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert _stack_names(outdir) == [STACK_ID]
