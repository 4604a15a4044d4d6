"""Fuzz the assembly reader: random JSON at every known key, hostile paths, garbage bytes.

Whatever the cdk.out holds, ``review`` ends with a report (exit 0/1) or one
line on stderr (exit 2): never a traceback, never a hang (each example has a
deadline), never a read outside the directory (every file the reader opens is
recorded, and the sentinel's content never shows). Examples are bounded so the
module stays within seconds; ``REVIEW_FUZZ_SCALE=20`` runs twenty times as many.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from review_kit import SENTINEL, CliRun, run_cli, write_json

from cdk_lambda_xray.review import files

DIGEST = "b" * 64
SCALE = int(os.environ.get("REVIEW_FUZZ_SCALE", "1"))

MANIFEST: dict[str, Any] = {
    "version": "36.0.0",
    "artifacts": {
        "assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}},
        "S": {
            "type": "aws:cloudformation:stack",
            "displayName": "S",
            "properties": {"templateFile": "S.template.json"},
            "additionalMetadataFile": "S.metadata.json",
            "metadata": {
                "/S": [{"type": "aws:cdk:templateFile", "data": "S.template.json"}],
                "/S/Fn/Resource": [{"type": "aws:cdk:logicalId", "data": "Fn"}],
            },
        },
        "Stage": {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": "assembly-Stage", "displayName": "Stage"},
        },
    },
}
TEMPLATE: dict[str, Any] = {
    "Parameters": {"P": {"Type": "String", "Default": "x"}},
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Metadata": {"aws:cdk:path": "S/Fn/Resource"},
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Layers": [{"Ref": "Layer"}],
                "Environment": {"Variables": {"AWS_XRAY_CONTEXT_MISSING": {"Ref": "P"}}},
                "TracingConfig": {"Mode": "Active"},
            },
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": []}},
        "Layer": {
            "Type": "AWS::Lambda::LayerVersion",
            "Metadata": {"aws:asset:path": "asset.layer"},
            "Properties": {"Content": {"S3Bucket": "b", "S3Key": f"{DIGEST}.zip"}},
        },
        "Child": {
            "Type": "AWS::CloudFormation::Stack",
            "Metadata": {"aws:asset:path": "Child.nested.template.json"},
            "Properties": {
                "TemplateURL": f"https://b/{DIGEST}.json",
                "Parameters": {"Q": {"Ref": "P"}},
            },
        },
    },
    "Outputs": {"O": {"Value": {"Ref": "Fn"}, "Export": {"Name": "Out"}}},
}
NESTED: dict[str, Any] = {
    "Parameters": {"Q": {"Type": "String"}},
    "Resources": {
        "Inner": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": {"Fn::ImportValue": "Out"}, "Description": {"Ref": "Q"}},
        }
    },
}
ASSETS: dict[str, Any] = {"files": {DIGEST: {"source": {"path": "asset.layer"}}}}
METADATA: dict[str, Any] = {"/S/Fn": [{"type": "aws:cdk:warning", "data": "careful"}]}
STAGE_MANIFEST: dict[str, Any] = {
    "artifacts": {
        "Api": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Api.json"}}
    }
}

DOCUMENTS = {
    "manifest.json": MANIFEST,
    "S.template.json": TEMPLATE,
    "Child.nested.template.json": NESTED,
    "S.assets.json": ASSETS,
    "S.metadata.json": METADATA,
    "assembly-Stage/manifest.json": STAGE_MANIFEST,
    "assembly-Stage/Api.json": NESTED,
}

#: every key the reader looks at, per document
KEYS: list[tuple[str, tuple[str, ...]]] = [
    (doc, path)
    for doc, paths in {
        "manifest.json": [
            ("version",),
            ("artifacts",),
            ("artifacts", "S"),
            ("artifacts", "S", "type"),
            ("artifacts", "S", "displayName"),
            ("artifacts", "S", "properties"),
            ("artifacts", "S", "properties", "templateFile"),
            ("artifacts", "S", "metadata"),
            ("artifacts", "S", "metadata", "/S"),
            ("artifacts", "S", "metadata", "/S/Fn/Resource"),
            ("artifacts", "S", "additionalMetadataFile"),
            ("artifacts", "assets", "properties", "file"),
            ("artifacts", "assets", "type"),
            ("artifacts", "Stage", "properties", "directoryName"),
            ("artifacts", "Stage", "properties", "displayName"),
        ],
        "S.template.json": [
            ("Resources",),
            ("Resources", "Fn"),
            ("Resources", "Fn", "Type"),
            ("Resources", "Fn", "Metadata"),
            ("Resources", "Fn", "Metadata", "aws:cdk:path"),
            ("Resources", "Fn", "Properties"),
            ("Resources", "Fn", "Properties", "Role"),
            ("Resources", "Fn", "Properties", "Environment"),
            ("Resources", "Layer", "Metadata", "aws:asset:path"),
            ("Resources", "Child", "Metadata", "aws:asset:path"),
            ("Resources", "Child", "Properties", "TemplateURL"),
            ("Resources", "Child", "Properties", "Parameters"),
            ("Parameters",),
            ("Parameters", "P"),
            ("Outputs",),
            ("Outputs", "O"),
            ("Outputs", "O", "Export"),
        ],
        "Child.nested.template.json": [("Resources",), ("Resources", "Inner"), ("Parameters",)],
        "S.assets.json": [
            ("files",),
            ("files", DIGEST),
            ("files", DIGEST, "source"),
            ("files", DIGEST, "source", "path"),
        ],
        "S.metadata.json": [("/S/Fn",), ("/S/Fn/Resource",)],
        "assembly-Stage/manifest.json": [
            ("artifacts",),
            ("artifacts", "Api", "properties", "templateFile"),
        ],
    }.items()
    for path in paths
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["9" * 5000, "AWS::CloudFormation::Stack", "\x00", "\x1b[2J"])
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=6) | st.sampled_from(["Ref", "Fn::GetAtt", "Fn::Join", "Fn::Select"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=10,
)
#: paths that must never be followed out of the assembly, and odd ones that stay in
HOSTILE_PATHS = [
    "OUTSIDE/outside.template.json",  # replaced by the absolute sentinel path
    "../outside/outside.template.json",
    "link-out",
    "dir-out",
    "dir-out/outside.template.json",
    "S.template.json\x00",
    "",
    ".",
    "..",
    "/",
    "/dev/zero",
    "/etc/passwd",
    "manifest.json",
    "S.template.json",
    "Child.nested.template.json",
    "assembly-Stage",
    "fifo",
]
_values = _json | st.sampled_from(HOSTILE_PATHS)


def _set(document: Any, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(document, dict):
            return
        document = document.setdefault(key, {})
    if isinstance(document, dict):
        document[path[-1]] = value


def _materialize(value: Any, outside: Path) -> Any:
    if isinstance(value, str) and value.startswith("OUTSIDE/"):
        return str(outside / value.removeprefix("OUTSIDE/"))
    return value


@contextmanager
def _assembly(outside: Path, documents: dict[str, Any]) -> Iterator[Path]:
    """A temporary cdk.out next to a symlinked copy of ``outside`` (``../outside``)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "outside").symlink_to(outside, target_is_directory=True)
        root = base / "cdk.out"
        for name, content in documents.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                write_json(target, content)
        (root / "asset.layer" / "python").mkdir(parents=True)
        (root / "link-out").symlink_to(outside / "outside.template.json")
        (root / "dir-out").symlink_to(outside, target_is_directory=True)
        os.mkfifo(root / "fifo")
        yield root


def _run_confined(root: Path) -> CliRun:
    """Run the review, recording every file it reads; all must be inside ``root``."""
    real_root = root.resolve()
    seen: list[Path] = []
    real_read = files.read_bytes

    def spy(path: Path, what: str) -> bytes:
        seen.append(path)
        return real_read(path, what)

    with mock.patch.object(files, "read_bytes", spy):
        result = run_cli(str(root), "--format", "json")
    outside = [p for p in seen if not p.resolve().is_relative_to(real_root)]
    assert not outside, outside
    return result


def _check(result: CliRun) -> None:
    assert SENTINEL not in result.said
    assert "Traceback" not in result.err
    if result.status == 2:
        result.assert_one_line_error()
    else:
        assert result.status in (0, 1), result
        assert json.loads(result.out)["schema"] == "cdk-lambda-xray/review/v1"


def test_the_base_assembly_is_valid(outside: Path) -> None:
    """Guards the fuzz: unmutated, the assembly is read in full (4 stacks, a stage)."""
    with _assembly(outside, copy.deepcopy(DOCUMENTS)) as root:
        result = _run_confined(root)
    _check(result)
    assert json.loads(result.out)["stacks"] == ["S", "S/Child", "Stage/Api"]


FUZZ = settings(
    max_examples=120 * SCALE,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(
    mutations=st.lists(st.tuples(st.sampled_from(KEYS), _values), min_size=1, max_size=4),
)
def test_random_values_at_known_keys(
    outside: Path, mutations: list[tuple[tuple[str, tuple[str, ...]], Any]]
) -> None:
    documents = copy.deepcopy(DOCUMENTS)
    for (doc, path), value in mutations:
        _set(documents[doc], path, _materialize(value, outside))
    with _assembly(outside, documents) as root:
        _check(_run_confined(root))


@settings(max_examples=60 * SCALE, deadline=timedelta(seconds=10))
@given(
    doc=st.sampled_from(sorted(DOCUMENTS)),
    garbage=st.binary(max_size=200)
    | st.builds(lambda cut: json.dumps(TEMPLATE).encode()[:cut], st.integers(0, 2000))
    | st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 3000))
    | st.builds(lambda raw: raw.encode("utf-8", "surrogatepass"), st.text(max_size=50)),
)
def test_garbage_bytes_in_any_file(outside: Path, doc: str, garbage: bytes) -> None:
    documents: dict[str, Any] = copy.deepcopy(DOCUMENTS)
    documents[doc] = garbage
    with _assembly(outside, documents) as root:
        _check(_run_confined(root))


@settings(max_examples=40 * SCALE, deadline=timedelta(seconds=10))
@given(
    children=st.lists(
        st.sampled_from(
            ["S.template.json", "Child.nested.template.json", "A.json", "B.json", "link-out"]
        ),
        max_size=6,
    ),
    fan_out=st.integers(1, 12),
)
def test_random_nested_stack_graphs(outside: Path, children: list[str], fan_out: int) -> None:
    """Nested stacks pointing at each other in any pattern: cycles, reuse, fan-out."""
    documents: dict[str, Any] = copy.deepcopy(DOCUMENTS)
    names = ["S.template.json", "Child.nested.template.json", "A.json", "B.json"]
    for index, name in enumerate(names):
        body = documents.setdefault(name, {"Resources": {}})
        for n, child in enumerate(children[index:] * fan_out):
            body["Resources"][f"N{n}"] = {
                "Type": "AWS::CloudFormation::Stack",
                "Metadata": {"aws:asset:path": child},
            }
    with _assembly(outside, documents) as root:
        _check(_run_confined(root))
