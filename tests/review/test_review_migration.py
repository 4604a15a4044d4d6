"""The review points functions that trace with aws-xray-sdk or Powertools Tracer to the guide.

One real CDK app, synthesized once: each function's code is a real asset
directory (or zip) holding the handler and copies of the installed
``aws_lambda_powertools`` / ``aws_xray_sdk`` packages, as ``pip install -t``
would bundle them; CDK stages them into ``cdk.out`` and the review reads them
there.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path

import aws_lambda_powertools
import aws_xray_sdk
import pytest

from cdk_lambda_xray.review import report_html, report_json, report_markdown
from cdk_lambda_xray.review.bundled import powertools_tracer_in_code, powertools_tracer_in_tree
from cdk_lambda_xray.review.review import Review, review_path
from cdk_lambda_xray.review.rules import Finding

GUIDE = "docs/migrating.md"
POWERTOOLS = Path(aws_lambda_powertools.__file__).parent
XRAY_SDK = Path(aws_xray_sdk.__file__).parent

TRACER_HANDLER = """\
from aws_lambda_powertools import (
    Logger,
    Tracer,
)

tracer = Tracer(service="orders")
logger = Logger()


@tracer.capture_lambda_handler
def handler(event, context):
    return event
"""
LOGGER_HANDLER = """\
from aws_lambda_powertools import Logger

logger = Logger()


def handler(event, context):
    logger.info("hello")
    return event
"""
SDK_HANDLER = """\
from aws_xray_sdk.core import patch_all, xray_recorder

patch_all()


def handler(event, context):
    with xray_recorder.in_subsegment("work"):
        return event
"""


def _bundle(root: Path, handler: str, packages: Iterable[Path]) -> Path:
    """A function's code directory as ``pip install -t`` makes it: ``app.py``, the
    installed packages and their ``.dist-info`` directories."""
    root.mkdir(parents=True)
    (root / "app.py").write_text(handler)
    for package in packages:
        shutil.copytree(package, root / package.name, ignore=shutil.ignore_patterns("__pycache__"))
        for info in package.parent.glob(f"{package.name}-*.dist-info"):
            shutil.copytree(info, root / info.name)
    return root


def _zip(directory: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return target


@pytest.fixture(scope="module")
def migration_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    from cdk_lambda_xray import TracedFunction

    src = tmp_path_factory.mktemp("code")
    code = {
        "PowertoolsTracer": _bundle(src / "tracer", TRACER_HANDLER, [POWERTOOLS, XRAY_SDK]),
        "PowertoolsExtra": _bundle(src / "extra", LOGGER_HANDLER, [POWERTOOLS, XRAY_SDK]),
        "PowertoolsLogger": _bundle(src / "logger", LOGGER_HANDLER, [POWERTOOLS]),
        "XraySdk": _bundle(src / "sdk", SDK_HANDLER, [XRAY_SDK]),
    }
    code["ZippedTracer"] = _zip(code["PowertoolsTracer"], src / "tracer.zip")
    outdir = tmp_path_factory.mktemp("migration") / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Migration")
    for name, path in code.items():
        lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="app.handler",
            code=lambda_.Code.from_asset(str(path)),
            tracing=lambda_.Tracing.ACTIVE,
        )
    TracedFunction(
        stack,
        "TracedPowertools",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_asset(str(code["PowertoolsTracer"])),
    )
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def review(migration_out: Path) -> Review:
    return review_path(migration_out)


def _findings(review: Review, rule_id: str) -> dict[str, Finding]:
    return {f.path: f for f in review.findings if f.rule_id == rule_id}


def test_the_assets_are_staged_directories_and_a_zip(migration_out: Path) -> None:
    staged = [p for p in migration_out.iterdir() if p.name.startswith("asset.")]
    assert any(p.is_dir() and (p / "aws_lambda_powertools" / "tracing").is_dir() for p in staged)
    assert any(p.is_file() and zipfile.is_zipfile(p) for p in staged)


def test_powertools_tracer_is_recognized_by_its_import(review: Review) -> None:
    found = _findings(review, "XRAY015")
    tracer = found["Migration/PowertoolsTracer"]
    assert tracer.severity.label == "info"
    assert "app.py imports Tracer from aws_lambda_powertools" in tracer.message
    assert "aws_xray_sdk (AWS support ends 2027-02-25)" in tracer.message
    assert "app.py imports Tracer" in found["Migration/ZippedTracer"].message


def test_the_tracer_extra_without_an_import_is_recognized(review: Review) -> None:
    extra = _findings(review, "XRAY015")["Migration/PowertoolsExtra"]
    assert "tracing/tracer.py and aws_xray_sdk/ in the asset" in extra.message


def test_powertools_for_logging_only_is_not_a_finding(review: Review) -> None:
    """Its own modules import aws_xray_sdk (an optional integration): not the function's code."""
    paths = {f.path for f in review.findings if f.rule_id in ("XRAY014", "XRAY015")}
    assert "Migration/PowertoolsLogger" not in paths


def test_a_powertools_function_gets_the_powertools_finding_not_the_sdk_one(review: Review) -> None:
    """Powertools ships aws_xray_sdk: one finding, the one whose fix fits the code."""
    sdk = _findings(review, "XRAY014")
    assert set(sdk) == {"Migration/XraySdk"}
    assert "app.py imports aws_xray_sdk" in sdk["Migration/XraySdk"].message


def test_next_to_lambda_xray_the_finding_says_so(review: Review) -> None:
    traced = _findings(review, "XRAY015")["Migration/TracedPowertools"]
    assert "next to lambda_xray" in traced.message
    assert "lambda_xray.compat import Tracer" in traced.fix  # the fix stays the import


def test_both_findings_point_to_the_guide_section_that_fits(review: Review) -> None:
    assert "section 'aws-xray-sdk'" in _findings(review, "XRAY014")["Migration/XraySdk"].fix
    for finding in _findings(review, "XRAY015").values():
        assert f"see {GUIDE}, section 'Powertools Tracer'" in finding.fix
    guide = (Path(__file__).resolve().parents[2] / GUIDE).read_text()
    assert "## aws-xray-sdk" in guide and "## Powertools Tracer" in guide


def test_the_functions_table_names_the_tracer_the_code_uses(review: Review) -> None:
    tracers = {row["path"]: row["tracer"] for row in report_json.to_dict(review)["functions"]}
    assert tracers["Migration/PowertoolsTracer"] == "AWS X-Ray SDK, Powertools Tracer"
    assert tracers["Migration/TracedPowertools"] == "lambda_xray, AWS X-Ray SDK, Powertools Tracer"
    assert tracers["Migration/XraySdk"] == "AWS X-Ray SDK"
    assert tracers["Migration/PowertoolsLogger"] == "none"


def test_every_report_format_carries_the_guide(review: Review) -> None:
    data = json.loads(report_json.render(review))
    json_fixes = {f["rule"]: f["fix"] for f in data["findings"]}
    assert GUIDE in json_fixes["XRAY014"] and GUIDE in json_fixes["XRAY015"]
    markdown = report_markdown.render(review)
    assert "#### XRAY015 `powertools-tracer-in-use` (4)" in markdown
    assert markdown.count("docs/migrating.md") >= 2  # the fix line of each rule group
    html = report_html.render(review)
    assert 'data-rule="XRAY015"' in html and html.count(GUIDE) >= 2


# -- the scanner on its own -----------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "from aws_lambda_powertools import Tracer\n",
        "from aws_lambda_powertools.tracing import Tracer\n",
        "  from aws_lambda_powertools.tracing.tracer import Tracer as T\n",
        "from aws_lambda_powertools import (\n    Logger,\n    Tracer,\n)\n",
        "import aws_lambda_powertools\ntracer = aws_lambda_powertools.Tracer()\n",
    ],
)
def test_tracer_imports_are_recognized(source: str) -> None:
    assert powertools_tracer_in_code(source)


@pytest.mark.parametrize(
    "source",
    [
        "from aws_lambda_powertools import Logger, Metrics\n",
        "# from aws_lambda_powertools import Tracer\n",
        "from aws_lambda_powertools.utilities.typing import LambdaContext\nTracer = None\n",
        "from my_lib import Tracer\n",
    ],
)
def test_other_code_is_not_taken_for_the_tracer(source: str) -> None:
    assert not powertools_tracer_in_code(source)


def test_a_link_out_of_the_asset_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "app.py").write_text(TRACER_HANDLER)
    asset = tmp_path / "asset"
    asset.mkdir()
    (asset / "index.py").write_text("def handler(event, context):\n    return 1\n")
    os.symlink(outside, asset / "linked")
    os.symlink(outside / "app.py", asset / "app.py")
    assert powertools_tracer_in_tree(asset) is None
    assert powertools_tracer_in_tree(outside) == "app.py imports Tracer from aws_lambda_powertools"


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"", b"\xff" * 64])
def test_an_unreadable_asset_is_no_evidence(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "asset.zip"
    broken.write_bytes(content)
    assert powertools_tracer_in_tree(broken) is None
    assert powertools_tracer_in_tree(tmp_path / "missing") is None
