"""A deliberately broken app (built with aws-cdk-lib) yields exactly the expected findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdk_lambda_xray.review.cli import main
from cdk_lambda_xray.review.review import Review, review_path
from cdk_lambda_xray.review.rules import Severity
from cdk_lambda_xray.review.suppressions import SuppressionError, load_file

EXPECTED = {
    ("XRAY001", "error", "Broken/Untraced"),
    ("XRAY003", "warning", "Broken/Untraced"),
    ("XRAY002", "error", "Broken/NoPermission"),
    ("XRAY009", "warning", "Broken/PlainTopic"),
    ("XRAY005", "error", "Broken/AdotWrapped"),
    ("XRAY001", "error", "Broken/RawFn"),
    ("XRAY003", "warning", "Broken/RawFn"),
}


@pytest.fixture(scope="module")
def review(broken_out: Path) -> Review:
    return review_path(broken_out)


def test_broken_app_yields_exactly_the_expected_findings(review: Review) -> None:
    found = {(f.rule_id, f.severity.label, f.path) for f in review.findings}
    assert found == EXPECTED


def test_broken_app_lists_every_function_including_the_raw_one(review: Review) -> None:
    paths = {row.path for row in review.rows}
    assert paths == {
        "Broken/Untraced",
        "Broken/NoPermission",
        "Broken/OnMessage",
        "Broken/AdotWrapped",
        "Broken/RawFn",
        "Broken/Good",
    }


def test_coverage_counts_active_functions(review: Review) -> None:
    assert (review.traced, review.total) == (4, 6)
    assert review.clean == 1  # only Broken/Good is traced with nothing to fix


def test_the_adot_finding_names_both_tracers(review: Review) -> None:
    (finding,) = [f for f in review.findings if f.rule_id == "XRAY005"]
    assert "lambda_xray" in finding.message and "ADOT" in finding.message


def test_cdk_warnings_on_a_function_are_carried_to_its_row(review: Review) -> None:
    row = next(r for r in review.rows if r.path == "Broken/Untraced")
    assert [level for level, _ in row.annotations] == ["warning"]
    assert "left untraced on purpose" in row.annotations[0][1]


def test_broken_app_fails_the_gate(broken_out: Path, tmp_path: Path) -> None:
    assert main([str(broken_out), "--output", str(tmp_path)]) == 1


def test_gate_at_none_always_passes(broken_out: Path, tmp_path: Path) -> None:
    assert main([str(broken_out), "--fail-on", "none", "--output", str(tmp_path)]) == 0


def _suppress(tmp_path: Path, entries: list[dict[str, str]]) -> Path:
    file = tmp_path / "suppressions.json"
    file.write_text(json.dumps(entries), encoding="utf-8")
    return file


def test_suppression_with_reason_leaves_the_gate_and_is_listed(
    broken_out: Path, tmp_path: Path
) -> None:
    file = _suppress(
        tmp_path,
        [
            {
                "rule": "XRAY009",
                "resource": "Broken/PlainTopic",
                "reason": "topic owned by another team; tracing tracked in TICKET-1",
            }
        ],
    )
    result = review_path(broken_out, load_file(file))
    assert "XRAY009" not in {f.rule_id for f in result.findings}
    ((finding, suppression),) = result.suppressed
    assert finding.path == "Broken/PlainTopic"
    assert suppression.reason.startswith("topic owned by another team")


def test_suppressed_warnings_no_longer_fail_a_warning_gate(
    broken_out: Path, tmp_path: Path
) -> None:
    reason = "accepted for this test"
    entries = [
        {"rule": rule, "resource": path, "reason": reason} for rule, _, path in sorted(EXPECTED)
    ]
    result = review_path(broken_out, load_file(_suppress(tmp_path, entries)))
    assert result.findings == []
    assert not result.failed(Severity.INFO)
    assert len(result.suppressed) == len(EXPECTED)


def test_suppressed_finding_appears_in_the_json_report(broken_out: Path, tmp_path: Path) -> None:
    file = _suppress(
        tmp_path, [{"rule": "XRAY005", "resource": "Broken/Adot*", "reason": "migrating to ADOT"}]
    )
    out = tmp_path / "report"
    main([str(broken_out), "--format", "json", "--output", str(out), "--suppressions", str(file)])
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert [(s["rule"], s["path"], s["reason"]) for s in data["suppressed"]] == [
        ("XRAY005", "Broken/AdotWrapped", "migrating to ADOT")
    ]
    assert "XRAY005" not in {f["rule"] for f in data["findings"]}


def test_suppression_without_reason_is_an_error(broken_out: Path, tmp_path: Path) -> None:
    file = _suppress(tmp_path, [{"rule": "XRAY009", "resource": "Broken/PlainTopic"}])
    with pytest.raises(SuppressionError, match="has no reason"):
        load_file(file)


def test_cli_exits_2_on_a_suppression_without_reason(
    broken_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _suppress(tmp_path, [{"rule": "XRAY009", "reason": "   "}])
    assert main([str(broken_out), "--suppressions", str(file)]) == 2
    assert "has no reason" in capsys.readouterr().err


def test_suppressions_are_read_from_cdk_json_context(broken_out: Path, tmp_path: Path) -> None:
    cdk_json = tmp_path / "cdk.json"
    context = {
        "@cdk-lambda-xray/review:suppressions": [
            {"rule": "XRAY002", "resource": "Broken/NoPermission", "reason": "role fixed in #12"}
        ]
    }
    cdk_json.write_text(json.dumps({"app": "python3 app.py", "context": context}))
    out = tmp_path / "report"
    main([str(broken_out), "--cdk-json", str(cdk_json), "--format", "json", "--output", str(out)])
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert [s["rule"] for s in data["suppressed"]] == ["XRAY002"]
