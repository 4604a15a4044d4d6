"""Reading cdk.out: multi-stack apps, nested stacks, stages, and clear errors for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cdk_lambda_xray.review.assembly import AssemblyError, load_assembly
from cdk_lambda_xray.review.cli import main
from cdk_lambda_xray.review.model import HopStatus
from cdk_lambda_xray.review.review import Review, review_path


@pytest.fixture(scope="module")
def multi(multi_out: Path) -> Review:
    return review_path(multi_out)


def test_every_stack_nested_stack_and_stage_is_read(multi: Review) -> None:
    assert multi.model.stacks == ["Prod/Api", "Producer", "Consumer", "Consumer/Inner"]


def test_functions_carry_their_construct_paths(multi: Review) -> None:
    paths = sorted(fn.path for fn in multi.model.functions.values())
    assert paths == ["Consumer/Inner/Worker", "Consumer/OnTopic", "Prod/Api/StagedFn"]


def test_cross_stack_import_links_the_topic_to_its_subscriber(multi: Review) -> None:
    (edge,) = [e for e in multi.model.event_sources if e.kind == "sns"]
    assert multi.model.path_of(edge.source) == "Producer/Topic"
    assert multi.model.path_of(edge.function) == "Consumer/OnTopic"
    assert edge.hop is HopStatus.TRACED


def test_nested_stack_parameter_links_the_parent_queue(multi: Review) -> None:
    (edge,) = [e for e in multi.model.event_sources if e.kind == "sqs"]
    assert multi.model.path_of(edge.source) == "Consumer/Queue"
    assert multi.model.path_of(edge.function) == "Consumer/Inner/Worker"


def test_nested_function_role_is_resolved(multi: Review) -> None:
    worker = next(f for f in multi.model.functions.values() if f.path.endswith("Worker"))
    assert worker.role is not None and worker.role.path == "Consumer/Inner/Worker/ServiceRole"


def test_nothing_is_left_unresolved_in_a_plain_cdk_app(multi: Review) -> None:
    assert multi.model.unresolved == []


# -- errors ------------------------------------------------------------------------------


def test_missing_directory_says_to_synthesize(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="run `cdk synth` first"):
        load_assembly(tmp_path / "cdk.out")


def test_directory_without_manifest_is_not_an_assembly(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match=r"no manifest\.json"):
        load_assembly(tmp_path)


def test_malformed_manifest_names_the_position(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"version": "36.0.0", "artifacts": {')
    with pytest.raises(AssemblyError, match=r"not valid JSON \(line 1, column"):
        load_assembly(tmp_path)


def test_missing_template_names_the_stack(write_assembly: Callable[..., Path]) -> None:
    out = write_assembly({})
    (out / "S.template.json").unlink()
    with pytest.raises(AssemblyError, match="template of stack 'S' not found"):
        load_assembly(out)


def test_malformed_template_names_the_stack(write_assembly: Callable[..., Path]) -> None:
    out = write_assembly({})
    (out / "S.template.json").write_text("{not json")
    with pytest.raises(AssemblyError, match=r"template of stack 'S'.*not valid JSON"):
        load_assembly(out)


def test_manifest_without_stacks_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {}}))
    with pytest.raises(AssemblyError, match="lists no CloudFormation stacks"):
        load_assembly(tmp_path)


@pytest.mark.parametrize("setup", ["missing", "no-manifest", "bad-json"])
def test_cli_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str
) -> None:
    target = tmp_path / "cdk.out"
    if setup != "missing":
        target.mkdir()
    if setup == "bad-json":
        (target / "manifest.json").write_text("[")
    assert main([str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("review: error: ") and str(target) in err


def test_nested_template_outside_the_assembly_is_noted(write_assembly: Callable[..., Path]) -> None:
    nested = {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": "https://example.invalid/other.json"},
    }
    review = review_path(write_assembly({"Child": nested}))
    assert any("nested stack template is not in the assembly" in n for n in review.model.notes)


def test_sam_functions_are_reported_as_unresolved(write_assembly: Callable[..., Path]) -> None:
    sam = {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12"}}
    (item,) = review_path(write_assembly({"Fn": sam})).model.unresolved
    assert "SAM" in item.reason
