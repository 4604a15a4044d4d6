"""A template written by hand (no CDK metadata, readable logical ids) is reviewed too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdk_lambda_xray.review.cli import main
from cdk_lambda_xray.review.model import HopStatus
from cdk_lambda_xray.review.review import Review, review_path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "handwritten"


@pytest.fixture(scope="module")
def review() -> Review:
    return review_path(FIXTURE)


def test_handwritten_findings(review: Review) -> None:
    found = {(f.rule_id, f.severity.label, f.path) for f in review.findings}
    assert found == {
        ("XRAY001", "error", "Orders/Notify"),
        ("XRAY003", "warning", "Orders/Notify"),
        ("XRAY003", "warning", "Orders/Legacy"),
        ("XRAY002", "info", "Orders/Legacy"),
    }


def test_our_layer_is_recognized_by_its_published_name(review: Review) -> None:
    row = next(r for r in review.rows if r.path == "Orders/CreateOrder")
    assert row.layer.startswith("lambda_xray")
    assert row.handler == "wrapped (create_order.handler)"
    assert row.architecture == "arm64"


def test_hops_are_classified_per_source(review: Review) -> None:
    hops = {(e.kind, review.model.path_of(e.function)): e.hop for e in review.model.event_sources}
    assert hops == {
        ("apigateway", "Orders/CreateOrder"): HopStatus.TRACED,
        ("dynamodb-stream", "Orders/Fulfil"): HopStatus.NOT_SUPPORTED,
        ("sns", "Orders/Notify"): HopStatus.UNTRACED,
    }


def test_fn_sub_arns_link_the_role_to_the_table(review: Review) -> None:
    calls = {(review.model.path_of(d.function), d.label) for d in review.model.downstream}
    assert ("Orders/CreateOrder", "Orders/OrdersTable") in calls


def test_stream_poller_permissions_are_not_downstream_calls(review: Review) -> None:
    for d in review.model.downstream:
        assert "dynamodb:GetRecords" not in d.actions


def test_parameter_role_is_reported_as_unresolved(review: Review) -> None:
    (item,) = review.model.unresolved
    assert item.where == "Orders/Legacy (Role)"
    assert "LegacyRoleArn" in item.reason


def test_cli_reviews_the_handwritten_assembly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURE), "--format", "json", "--fail-on", "error"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["functions"] == 4
    assert data["summary"]["traced"] == 3
