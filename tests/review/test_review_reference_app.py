"""The reference app (app.py) reviews clean: every function traced end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_lambda_xray.review.cli import main
from cdk_lambda_xray.review.model import HopStatus
from cdk_lambda_xray.review.review import Review, review_path

STACK = "LambdaXrayReference"


@pytest.fixture(scope="module")
def review(reference_out: Path) -> Review:
    return review_path(reference_out)


def test_reference_app_reviews_clean(review: Review) -> None:
    assert [(f.rule_id, f.path) for f in review.findings] == []


def test_reference_app_passes_the_strictest_gate(reference_out: Path, tmp_path: Path) -> None:
    assert main([str(reference_out), "--fail-on", "info", "--output", str(tmp_path)]) == 0


def test_every_reference_function_is_traced(review: Review) -> None:
    assert review.total > 0 and review.traced == review.total


def test_user_functions_have_no_findings(review: Review) -> None:
    user = {fn.id for fn in review.model.functions.values() if fn.internal is None}
    assert {f"{STACK}/{n}" for n in ("RecordUpload", "WriteObject", "Notify")} <= {
        review.model.path_of(rid) for rid in user
    }
    assert [f for f in review.findings if set(f.functions) & user] == []


def test_user_functions_use_the_lambda_xray_layer_and_redirect(review: Review) -> None:
    for row in review.rows:
        if row.internal is None:
            assert row.layer.startswith("lambda_xray"), row.path
            assert row.handler.startswith("wrapped ("), row.path


def test_bucket_notifications_handler_is_traced_by_trace_app(review: Review) -> None:
    (handler,) = [
        fn
        for fn in review.model.functions.values()
        if fn.internal == "S3 bucket notifications handler"
    ]
    assert handler.traced
    assert [f for f in review.findings if f.resource == handler.id] == []


def test_upstream_hops_are_traced_or_pass_context(review: Review) -> None:
    hops = {(e.kind, review.model.path_of(e.function)): e.hop for e in review.model.event_sources}
    assert hops[("s3", f"{STACK}/RecordUpload")] is HopStatus.PROPAGATED
    assert hops[("sns", f"{STACK}/Notify")] is HopStatus.TRACED


def test_cdk_internal_functions_are_traced_with_permission(review: Review) -> None:
    internal = [row for row in review.rows if row.internal]
    assert {row.internal for row in internal} >= {
        "S3 bucket notifications handler",
        "S3 auto-delete objects",
    }
    for row in internal:
        assert row.traced and row.iam == "X-Ray write: yes", row.path


def test_no_cdk_warnings_on_reference_functions(review: Review) -> None:
    assert [(row.path, row.annotations) for row in review.rows if row.annotations] == []
