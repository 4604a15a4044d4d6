"""Public ids: one table (``cdk_lambda_xray.ids``), one prefix, old spellings honoured."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack, assertions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from cdk_lambda_xray import TracedSqsEventSource, ids
from cdk_lambda_xray.upstream import sns_resource_policy_enabled

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "constructs" / "cdk_lambda_xray"
OLD_EVENT_ID, OLD_CONTEXT_KEY, OLD_SUPPRESSIONS_KEY = list(ids.DEPRECATED)


def _sources() -> list[tuple[Path, str]]:
    return [
        (path, path.read_text())
        for path in sorted(SOURCE.rglob("*.py"))
        if "_layer" not in path.parts and path.name != "ids.py"
    ]


def test_every_annotation_id_in_the_code_is_in_the_table() -> None:
    # literal ids, and the aspect's short names (it adds the prefix itself)
    used = {
        f"lambda-xray:{m}"
        for _, text in _sources()
        for m in re.findall(r'"lambda-xray:(\w+)"', text)
    }
    used |= {
        f"lambda-xray:{m}"
        for _, text in _sources()
        for m in re.findall(r'\.warn\(\s*"(\w+)"', text)
    }
    assert used, "no annotation id found: the scan is broken"
    assert used <= set(ids.ANNOTATION_IDS), used - set(ids.ANNOTATION_IDS)


def test_no_other_prefix_or_spelling_is_used_in_the_code() -> None:
    for path, text in _sources():
        for old in ids.DEPRECATED:
            assert old not in text, f"{path.name} uses the deprecated {old!r}: use ids"
        assert not re.search(r'"cdk-lambda-xray:\w', text), path.name
        assert not re.search(r'"@cdk-lambda-xray/', text), path.name


def test_docs_ids_md_is_the_table() -> None:
    docs = (REPO_ROOT / "docs" / "ids.md").read_text()
    for value in (*ids.ANNOTATION_IDS, *ids.CONTEXT_KEYS, *ids.CONSTRUCT_IDS, *ids.STATEMENT_IDS):
        assert value in docs, f"docs/ids.md does not list {value}"
    for old, new in ids.DEPRECATED.items():
        assert f"`{old}` | `{new}`" in docs, old
    constructs_md = (REPO_ROOT / "docs" / "constructs.md").read_text()
    assert "ids.md" in constructs_md


def _not_traced_app(acknowledge: str | None) -> list[str]:
    """The warnings on a function wired to a queue with tracing off (``acknowledge``d or not)."""
    stack = Stack(App(), "Wired")
    fn = lambda_.Function(
        stack,
        "Plain",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    fn.add_event_source(TracedSqsEventSource(sqs.Queue(stack, "Queue")))
    if acknowledge is not None:
        from aws_cdk import Annotations

        Annotations.of(fn).acknowledge_warning(acknowledge, "checked")
    found = assertions.Annotations.from_stack(stack).find_warning("*", assertions.Match.any_value())
    return [str(m.entry.data) for m in found]


@pytest.fixture(scope="module")
def unacknowledged() -> list[str]:
    return _not_traced_app(None)


def test_the_event_warning_carries_the_new_id(unacknowledged: list[str]) -> None:
    [warning] = [w for w in unacknowledged if "traced event sources" in w]
    assert warning.endswith(f"[ack: {ids.EVENT_TARGET_NOT_TRACED}]")


@pytest.mark.parametrize("acknowledged", [ids.EVENT_TARGET_NOT_TRACED, OLD_EVENT_ID])
def test_acknowledging_the_new_or_the_deprecated_id_silences_it(acknowledged: str) -> None:
    assert [w for w in _not_traced_app(acknowledged) if "traced event sources" in w] == []


@pytest.mark.parametrize("key", [ids.CONTEXT_SNS_RESOURCE_POLICY, OLD_CONTEXT_KEY])
def test_the_context_key_is_read_under_both_spellings(key: str) -> None:
    stack = Stack(App(context={key: "false"}), "Ctx")
    assert sns_resource_policy_enabled(stack) is False
    deprecations = assertions.Annotations.from_stack(stack).find_warning(
        "*", assertions.Match.string_like_regexp("deprecated")
    )
    assert bool(deprecations) == (key == OLD_CONTEXT_KEY)


@pytest.mark.parametrize("key", [ids.CONTEXT_REVIEW_SUPPRESSIONS, OLD_SUPPRESSIONS_KEY])
def test_review_suppressions_are_read_under_both_spellings(key: str, tmp_path: Path) -> None:
    from cdk_lambda_xray.review.suppressions import load_cdk_json

    entry = {"rule": "XRAY013", "resource": "S/*", "reason": "deploy-time only"}
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {key: [entry]}}))
    [loaded] = load_cdk_json(tmp_path / "cdk.json")
    assert (loaded.rule, loaded.resource, loaded.reason) == ("XRAY013", "S/*", "deploy-time only")
