"""TransactionSearch: the two resources AWS documents, cfn-lint clean, one per account/Region.

One stack is synthesized once (module fixture); the error cases never synth.
The local emulator (MiniStack, started once for the module) deploys the
CloudWatch Logs resource policy; it does not know AWS::XRay::TransactionSearchConfig.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Environment, Stack, Token, assertions
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from cdk_lambda_xray import TracingConfigError, TransactionSearch
from cdk_lambda_xray.local.emulator import MiniStack


class Synthesized:
    def __init__(self, outdir: Path) -> None:
        app = App(outdir=str(outdir))
        self.stack = Stack(app, "Observability")
        self.search = TransactionSearch(self.stack, "TransactionSearch")
        self.stack_10 = Stack(
            app, "Other", env=Environment(account="123456789012", region="eu-west-1")
        )
        TransactionSearch(self.stack_10, "Search", indexing_percentage=10, policy_name="Spans")
        assembly = app.synth()
        self.template_file = Path(assembly.get_stack_by_name("Observability").template_full_path)
        self.template = assertions.Template.from_stack(self.stack)
        self.other = assertions.Template.from_stack(self.stack_10)

    def only(self, template: assertions.Template, kind: str) -> tuple[str, dict[str, Any]]:
        [(logical_id, resource)] = template.find_resources(kind).items()
        return logical_id, resource


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(tmp_path_factory.mktemp("transaction-search"))


def _document(resource: dict[str, Any]) -> dict[str, Any]:
    """The policy document, each pseudo parameter shown as ``<AWS::Name>``."""
    parts = resource["Properties"]["PolicyDocument"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<" + p["Ref"] + ">" for p in parts)
    document: dict[str, Any] = json.loads(text)
    return document


def test_logs_resource_policy_lets_xray_write_spans_only_for_this_account(
    synthesized: Synthesized,
) -> None:
    """The statement of AWS's "Using Transaction Search with AWS CloudFormation"."""
    _, resource = synthesized.only(synthesized.template, "AWS::Logs::ResourcePolicy")
    assert resource["Properties"]["PolicyName"] == "TransactionSearchAccess"
    [statement] = _document(resource)["Statement"]
    assert statement["Sid"] == "TransactionSearchXRayAccess"
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "xray.amazonaws.com"}
    assert statement["Action"] == "logs:PutLogEvents"
    assert statement["Resource"] == [
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:aws/spans:*",
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        "/aws/application-signals/data:*",
    ]
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:<AWS::Partition>:xray:<AWS::Region>:<AWS::AccountId>:*"},
        "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
    }


def test_config_indexes_one_percent_by_default_after_the_policy_exists(
    synthesized: Synthesized,
) -> None:
    policy_id, _ = synthesized.only(synthesized.template, "AWS::Logs::ResourcePolicy")
    _, config = synthesized.only(synthesized.template, "AWS::XRay::TransactionSearchConfig")
    assert config["Properties"] == {"IndexingPercentage": 1}
    assert config["DependsOn"] == [policy_id]
    assert synthesized.search.indexing_percentage == 1


def test_percentage_and_policy_name_are_taken(synthesized: Synthesized) -> None:
    _, config = synthesized.only(synthesized.other, "AWS::XRay::TransactionSearchConfig")
    _, policy = synthesized.only(synthesized.other, "AWS::Logs::ResourcePolicy")
    assert config["Properties"] == {"IndexingPercentage": 10}
    assert policy["Properties"]["PolicyName"] == "Spans"


def test_template_passes_cfn_lint(synthesized: Synthesized) -> None:
    config = ManualArgs(regions=["us-east-1", "eu-west-1"])
    assert [str(m) for m in lint_file(synthesized.template_file, config=config)] == []


# -- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 100.5, 1000])
def test_percentage_outside_0_to_100_is_refused(value: float) -> None:
    stack = Stack(App(), "Obs")
    with pytest.raises(TracingConfigError) as caught:
        TransactionSearch(stack, "Search", indexing_percentage=value)
    assert caught.value.path == "Obs/Search"
    assert f"indexing_percentage={value!r}" in caught.value.problem
    assert "from 0 to 100" in caught.value.fix
    assert stack.node.try_find_child("Search") is None  # refused before anything was made


@pytest.mark.parametrize("value", [0, 100, 37.5])
def test_percentage_bounds_are_accepted(value: float) -> None:
    TransactionSearch(Stack(App(), "Obs"), "Search", indexing_percentage=value)


def test_token_percentage_is_not_judged() -> None:
    stack = Stack(App(), "Obs")
    token = Token.as_number({"Ref": "Percentage"})
    TransactionSearch(stack, "Search", indexing_percentage=token)
    config = assertions.Template.from_stack(stack).find_resources(
        "AWS::XRay::TransactionSearchConfig"
    )
    [resource] = config.values()
    assert resource["Properties"]["IndexingPercentage"] == {"Ref": "Percentage"}


def test_not_a_number_is_refused_with_the_fix() -> None:
    with pytest.raises(TracingConfigError, match=r"Obs/Search: .*indexing_percentage.*'ten'"):
        TransactionSearch(Stack(App(), "Obs"), "Search", indexing_percentage="ten")  # type: ignore[arg-type]


def test_second_one_for_the_same_account_and_region_is_refused() -> None:
    app = App()
    env = Environment(account="123456789012", region="eu-west-1")
    TransactionSearch(Stack(app, "First", env=env), "Search")
    with pytest.raises(TracingConfigError) as caught:
        TransactionSearch(Stack(app, "Second", env=env), "Search")
    assert caught.value.path == "Second/Search"
    assert "already has a TransactionSearch (First/Search)" in caught.value.problem
    assert "123456789012" in caught.value.problem and "eu-west-1" in caught.value.problem
    assert "one TransactionSearch per account and Region" in caught.value.fix


def test_other_regions_and_other_apps_each_get_their_own() -> None:
    app = App()
    for region in ("eu-west-1", "us-east-1"):
        env = Environment(account="123456789012", region=region)
        TransactionSearch(Stack(app, f"In-{region}", env=env), "Search")
    TransactionSearch(Stack(App(), "Obs"), "Search")  # another app: its own deployment


# -- the local emulator (real MiniStack over HTTP, real CloudFormation templates) ------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    log = tmp_path_factory.mktemp("ministack") / "ministack.log"
    with MiniStack(log, timeout=60) as ministack:
        yield ministack


def _client(emulator: Any, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _deployable_template(tmp_path: Path) -> dict[str, Any]:
    app = App(outdir=str(tmp_path))
    synthesizer = DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
    stack = Stack(app, "Observability", synthesizer=synthesizer)
    TransactionSearch(stack, "Search", indexing_percentage=5)
    template: dict[str, Any] = app.synth().get_stack_by_name("Observability").template
    return template


def test_emulator_creates_the_logs_resource_policy_with_account_and_region_resolved(
    emulator: Any, tmp_path: Path
) -> None:
    """MiniStack has no AWS::XRay types, so the policy part is deployed alone."""
    template = _deployable_template(tmp_path)
    resources = template["Resources"]
    policy_only = {
        **template,
        "Resources": {
            k: v for k, v in resources.items() if v["Type"] == "AWS::Logs::ResourcePolicy"
        },
    }
    cfn = _client(emulator, "cloudformation")
    cfn.create_stack(StackName="TransactionSearchPolicy", TemplateBody=json.dumps(policy_only))
    deadline = time.monotonic() + 60
    status = "CREATE_IN_PROGRESS"
    while status.endswith("IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.3)
        stack = cfn.describe_stacks(StackName="TransactionSearchPolicy")["Stacks"][0]
        status = stack["StackStatus"]
    assert status == "CREATE_COMPLETE", stack.get("StackStatusReason")
    policies = _client(emulator, "logs").describe_resource_policies()["resourcePolicies"]
    [policy] = [p for p in policies if p["policyName"] == "TransactionSearchAccess"]
    [statement] = json.loads(policy["policyDocument"])["Statement"]
    assert statement["Resource"] == [
        "arn:aws:logs:us-east-1:000000000000:log-group:aws/spans:*",
        "arn:aws:logs:us-east-1:000000000000:log-group:/aws/application-signals/data:*",
    ]
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:xray:us-east-1:000000000000:*"},
        "StringEquals": {"aws:SourceAccount": "000000000000"},
    }


def test_emulator_does_not_know_the_transaction_search_config_type(
    emulator: Any, tmp_path: Path
) -> None:
    """Why the whole construct is not deployed locally (docs/transaction-search.md says so).

    If this starts failing, MiniStack learned the type: deploy the full template above.
    """
    template = _deployable_template(tmp_path)
    cfn = _client(emulator, "cloudformation")
    with pytest.raises(ClientError, match=r"Unrecognized resource types: \[AWS::XRay::Transaction"):
        cfn.create_stack(StackName="TransactionSearchFull", TemplateBody=json.dumps(template))


# -- the documentation's example -------------------------------------------------------------


def test_docs_example_runs_and_creates_both_resources() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "transaction-search.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    scope: dict[str, Any] = {}
    exec(compile(example, "docs/transaction-search.md", "exec"), scope)
    template = assertions.Template.from_stack(scope["observability"])
    template.resource_count_is("AWS::Logs::ResourcePolicy", 1)
    template.has_resource_properties(
        "AWS::XRay::TransactionSearchConfig", {"IndexingPercentage": 1}
    )
