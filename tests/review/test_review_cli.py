"""The review command: formats, output directory, gate thresholds and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_lambda_xray.review.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "handwritten"
# the hand-written fixture has: 1 error, 2 warnings, 1 info


def test_default_is_markdown_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    main([str(FIXTURE)])
    captured = capsys.readouterr()
    assert captured.out.startswith("## X-Ray tracing review")
    assert captured.err.startswith("review: 3/4 functions traced (75%)")


@pytest.mark.parametrize(
    ("fail_on", "status"), [("error", 1), ("warning", 1), ("info", 1), ("none", 0)]
)
def test_gate_threshold(fail_on: str, status: int, tmp_path: Path) -> None:
    assert main([str(FIXTURE), "--fail-on", fail_on, "--output", str(tmp_path)]) == status


def test_gate_passes_below_the_threshold(tmp_path: Path) -> None:
    suppressions = tmp_path / "s.json"
    suppressions.write_text(
        json.dumps([{"rule": "XRAY001", "resource": "Orders/Notify", "reason": "legacy"}])
    )
    args = [str(FIXTURE), "--fail-on", "error", "--suppressions", str(suppressions)]
    assert main([*args, "--output", str(tmp_path / "r")]) == 0


def test_several_formats_go_to_the_output_directory(tmp_path: Path) -> None:
    main([str(FIXTURE), "--format", "md,html", "--format", "json", "--output", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "review.html",
        "review.json",
        "review.md",
    ]


def test_several_formats_without_output_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([str(FIXTURE), "--format", "md,json"]) == 2
    assert "--output" in capsys.readouterr().err


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURE), "--format", "pdf"]) == 2
    assert "unknown format 'pdf'" in capsys.readouterr().err


def test_bad_fail_on_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURE), "--fail-on", "fatal"]) == 2
    assert "--fail-on" in capsys.readouterr().err


def test_unused_suppression_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suppressions = tmp_path / "s.json"
    suppressions.write_text(
        json.dumps({"suppressions": [{"rule": "XRAY012", "reason": "no state machines yet"}]})
    )
    main([str(FIXTURE), "--suppressions", str(suppressions), "--output", str(tmp_path / "r")])
    assert "unused suppression XRAY012" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"rule": "XRAY999", "reason": "x"}, "not a review rule id"),
        ({"rule": "XRAY001", "reason": "x", "resouce": "typo"}, "unknown key(s) resouce"),
        ("XRAY001", "not an object"),
    ],
)
def test_invalid_suppressions_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: object, message: str
) -> None:
    suppressions = tmp_path / "s.json"
    suppressions.write_text(json.dumps([entry]))
    assert main([str(FIXTURE), "--suppressions", str(suppressions)]) == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_runs_the_review() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cdk_lambda_xray", "review", str(FIXTURE), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["functions"] == 4


_IMPORT_PROBE = """
import sys
from cdk_lambda_xray.review import report_html, report_json, report_markdown
from cdk_lambda_xray.review.review import review_path
review = review_path(sys.argv[1])
report_html.render(review); report_json.render(review); report_markdown.render(review)
heavy = {"aws_cdk", "jsii", "boto3", "botocore", "constructs"}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""


def test_review_does_not_import_the_cdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(FIXTURE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_the_python_example_in_the_docs_runs(capsys: pytest.CaptureFixture[str]) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "review.md").read_text()
    example = docs.split("## From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example.replace('"cdk.out"', repr(str(FIXTURE))), "docs/review.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("3/4 functions traced\nXRAY001 error Orders/Notify")
    assert "## X-Ray tracing review" in out
