"""A hostile or broken cdk.out: nothing outside it is read, every failure is one line + exit 2.

Each class of issue 13 (item 2) has its tests here: paths that leave the
assembly (absolute, ``..``, symlinks, NUL) for every field that names a file,
nested-stack and nested-assembly cycles, deep nesting, templates reused by many
nested stacks (read once, total work bounded), non-UTF-8 bytes, huge numbers,
huge files, FIFOs, wrong JSON types at every key the reader knows, bad command
lines, and control characters on the way to a terminal. The sentinel file
(``outside`` fixture) sits next to the assembly; its content must never appear.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from review_kit import SENTINEL, CliRun, run_cli, sentinel_template, write_json

from cdk_lambda_xray.review.assembly import MAX_NESTING_DEPTH, load_assembly
from cdk_lambda_xray.review.files import MAX_FILE_BYTES

FN = {
    "Type": "AWS::Lambda::Function",
    "Properties": {"Runtime": "python3.12", "Handler": "index.handler"},
}


def stack_artifact(template_file: str = "S.template.json", **extra: Any) -> dict[str, Any]:
    return {
        "type": "aws:cloudformation:stack",
        "properties": {"templateFile": template_file},
        **extra,
    }


def make(
    root: Path,
    artifacts: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> Path:
    """A cdk.out at ``root``: a manifest with ``artifacts`` (default: stack S) and ``files``."""
    files = {"S.template.json": {"Resources": {"Fn": FN}}, **(files or {})}
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(json.dumps(content), encoding="utf-8")
    manifest = {"version": "36.0.0", "artifacts": artifacts or {"S": stack_artifact()}}
    write_json(root / "manifest.json", manifest)
    return root


def review(root: Path, *args: str) -> CliRun:
    result = run_cli(str(root), "--format", "json", *args)
    assert SENTINEL not in result.said
    return result


# -- paths that leave the assembly --------------------------------------------------------

ESCAPES = ["absolute", "dotdot", "symlink"]


def _escape(root: Path, outside: Path, name: str, how: str) -> str:
    """A path naming ``outside/name`` as seen from ``root``, by ``how``."""
    if how == "absolute":
        return str(outside / name)
    if how == "dotdot":
        return os.path.relpath(outside / name, root)
    link = root / f"link-{name}"
    link.symlink_to(outside / name)
    return link.name


@pytest.mark.parametrize("how", ESCAPES)
def test_template_file_outside_is_refused(tmp_path: Path, outside: Path, how: str) -> None:
    root = make(tmp_path / "cdk.out")
    name = _escape(root, outside, "outside.template.json", how)
    make(root, {"S": stack_artifact(name)})
    review(root).assert_one_line_error("templateFile", "refused")


@pytest.mark.parametrize("how", ESCAPES)
def test_asset_manifest_outside_is_refused(tmp_path: Path, outside: Path, how: str) -> None:
    root = make(tmp_path / "cdk.out")
    name = _escape(root, outside, "assets.json", how)
    assets = {"type": "cdk:asset-manifest", "properties": {"file": name}}
    make(root, {"assets": assets, "S": stack_artifact()})
    review(root).assert_one_line_error("file", "refused")


@pytest.mark.parametrize("how", ESCAPES)
def test_additional_metadata_file_outside_is_refused(
    tmp_path: Path, outside: Path, how: str
) -> None:
    root = make(tmp_path / "cdk.out")
    name = _escape(root, outside, "metadata.json", how)
    make(root, {"S": stack_artifact(additionalMetadataFile=name)})
    review(root).assert_one_line_error("additionalMetadataFile", "refused")


@pytest.mark.parametrize("how", ESCAPES)
def test_nested_assembly_outside_is_refused(tmp_path: Path, outside: Path, how: str) -> None:
    root = make(tmp_path / "cdk.out")
    if how == "symlink":
        (root / "stage").symlink_to(outside, target_is_directory=True)
        name = "stage"
    else:
        name = str(outside) if how == "absolute" else os.path.relpath(outside, root)
    stage = {"type": "cdk:cloud-assembly", "properties": {"directoryName": name}}
    make(root, {"S": stack_artifact(), "Stage": stage})
    review(root).assert_one_line_error("directoryName", "refused")


@pytest.mark.parametrize("how", ESCAPES)
def test_nested_stack_template_outside_is_not_read(tmp_path: Path, outside: Path, how: str) -> None:
    root = make(tmp_path / "cdk.out")
    name = _escape(root, outside, "outside.template.json", how)
    nested = {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": name}}
    make(root, files={"S.template.json": {"Resources": {"Fn": FN, "Child": nested}}})
    result = review(root)
    assert result.status in (0, 1), result.err
    notes = json.loads(result.out)["notes"]
    assert any("refused" in n and n.endswith("not inspected") for n in notes), notes
    assert json.loads(result.out)["stacks"] == ["S"]


@pytest.mark.parametrize("how", ESCAPES)
def test_asset_source_outside_is_not_read(tmp_path: Path, outside: Path, how: str) -> None:
    """An asset manifest's source path, followed by a nested stack's TemplateURL."""
    root = make(tmp_path / "cdk.out")
    digest = "a" * 64
    name = _escape(root, outside, "outside.template.json", how)
    assets = {"files": {digest: {"source": {"path": name}}}}
    nested = {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": f"https://bucket/{digest}.json"},
    }
    make(
        root,
        {"assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}}}
        | {"S": stack_artifact()},
        {"S.assets.json": assets, "S.template.json": {"Resources": {"Fn": FN, "Child": nested}}},
    )
    result = review(root)
    assert result.status in (0, 1), result.err
    assert json.loads(result.out)["stacks"] == ["S"]


def test_layer_asset_outside_is_not_inspected(tmp_path: Path, outside: Path) -> None:
    layer = {
        "Type": "AWS::Lambda::LayerVersion",
        "Metadata": {"aws:asset:path": str(outside)},
        "Properties": {"Content": {"S3Bucket": "b", "S3Key": "k.zip"}},
    }
    root = make(tmp_path / "cdk.out", files={"S.template.json": {"Resources": {"L": layer}}})
    result = review(root)
    assert result.status == 0, result.err
    assert any("not inspected" in n for n in json.loads(result.out)["notes"])


def test_nul_in_a_path_is_refused(tmp_path: Path) -> None:
    root = make(tmp_path / "cdk.out", {"S": stack_artifact("S.template.json\x00.txt")})
    review(root).assert_one_line_error("NUL")


def test_a_name_too_long_for_the_file_system_is_refused_with_one_line(tmp_path: Path) -> None:
    # Found by the fuzz test: pathlib's is_file() raises for ENAMETOOLONG (it was a traceback).
    root = make(tmp_path / "cdk.out", {"S": stack_artifact("9" * 5000)})
    review(root).assert_one_line_error("cannot be used (File name too long)")


def test_a_symlink_that_stays_inside_is_followed(tmp_path: Path) -> None:
    root = make(tmp_path / "cdk.out", {"S": stack_artifact("link.json")})
    (root / "link.json").symlink_to(root / "S.template.json")
    result = review(root)
    assert json.loads(result.out)["summary"]["functions"] == 1


# -- cycles, depth, reuse -------------------------------------------------------------------


def nested(template: str) -> dict[str, Any]:
    return {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": template}}


def test_a_template_that_nests_itself_is_a_cycle(tmp_path: Path) -> None:
    root = make(
        tmp_path, files={"S.template.json": {"Resources": {"Me": nested("S.template.json")}}}
    )
    review(root).assert_one_line_error("cycle")


def test_two_templates_nesting_each_other_are_a_cycle(tmp_path: Path) -> None:
    files = {
        "S.template.json": {"Resources": {"A": nested("A.json")}},
        "A.json": {"Resources": {"B": nested("B.json")}},
        "B.json": {"Resources": {"A": nested("A.json")}},
    }
    review(make(tmp_path, files=files)).assert_one_line_error("cycle", "A.json")


@pytest.mark.parametrize("directory", [".", "sub"])
def test_a_nested_assembly_cycle_is_refused(tmp_path: Path, directory: str) -> None:
    stage = {"type": "cdk:cloud-assembly", "properties": {"directoryName": directory}}
    root = make(tmp_path, {"S": stack_artifact(), "Stage": stage})
    if directory == "sub":  # sub/manifest.json points back to its parent
        back = {"type": "cdk:cloud-assembly", "properties": {"directoryName": ".."}}
        write_json(root / "sub" / "manifest.json", {"artifacts": {"Back": back}})
    review(root).assert_one_line_error("cycle")


def _chain(root: Path, depth: int) -> Path:
    files: dict[str, Any] = {"S.template.json": {"Resources": {"N": nested("T1.json")}}}
    for level in range(1, depth + 1):
        child = {"N": nested(f"T{level + 1}.json")} if level < depth else {"Fn": FN}
        files[f"T{level}.json"] = {"Resources": child}
    return make(root, files=files)


def test_nesting_within_the_limit_is_read(tmp_path: Path) -> None:
    result = review(_chain(tmp_path, MAX_NESTING_DEPTH))
    assert len(json.loads(result.out)["stacks"]) == MAX_NESTING_DEPTH + 1


def test_nesting_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    review(_chain(tmp_path, MAX_NESTING_DEPTH + 3)).assert_one_line_error("deeper than")


def test_nested_assemblies_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    directory = tmp_path
    make(directory)
    for _ in range(MAX_NESTING_DEPTH + 2):
        stage = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "d"}}
        write_json(directory / "manifest.json", {"artifacts": {"St": stage}})
        directory = directory / "d"
    make(directory)
    review(tmp_path).assert_one_line_error("deeper than")


def test_a_template_reused_by_many_nested_stacks_is_read_once(tmp_path: Path) -> None:
    children = {f"Child{i}": nested("Child.json") for i in range(50)}
    files = {"S.template.json": {"Resources": children}, "Child.json": {"Resources": {"Fn": FN}}}
    assembly = load_assembly(make(tmp_path, files=files))
    assert len(assembly.templates) == 51
    assert assembly.files_read == 3  # manifest, S.template.json, Child.json


def test_exponential_reuse_is_refused_quickly(tmp_path: Path) -> None:
    """Ten nested stacks per level, six levels: 10^6 stacks from a few KB of JSON."""
    files: dict[str, Any] = {}
    for level in range(6):
        name = "S.template.json" if level == 0 else f"L{level}.json"
        files[name] = {"Resources": {f"N{i}": nested(f"L{level + 1}.json") for i in range(10)}}
    files["L6.json"] = {"Resources": {"Fn": FN}}
    root = make(tmp_path, files=files)
    start = time.perf_counter()
    review(root).assert_one_line_error("more than", "stacks")
    assert time.perf_counter() - start < 10  # was: past 120 s and 1.4 GB


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deeply_nested_json_is_refused(tmp_path: Path, depth: int) -> None:
    """Deeper than the reader's limit, and deeper than Python's recursion limit."""
    text = '{"Resources": {"Fn": {"Type": "X", "Properties": {"D": %s}}}}' % (
        "[" * depth + "]" * depth
    )
    root = make(tmp_path, files={"S.template.json": text.encode()})
    review(root).assert_one_line_error("nests deeper")


# -- bytes, numbers, sizes ----------------------------------------------------------------


@pytest.mark.parametrize("file", ["manifest.json", "S.template.json"])
def test_non_utf8_bytes_are_refused(tmp_path: Path, file: str) -> None:
    root = make(tmp_path)
    (root / file).write_bytes(b'{"Resources": {"F\xff\xfe": 1}}')
    review(root).assert_one_line_error("not UTF-8", file)


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 5000, "0." + "1" * 5000, "NaN"])
def test_huge_numbers_are_refused(tmp_path: Path, number: str) -> None:
    root = make(tmp_path)
    (root / "S.template.json").write_text('{"Resources": {}, "X": ' + number + "}")
    review(root).assert_one_line_error("S.template.json", "refused")


def test_a_huge_index_string_in_fn_select_is_unresolved_not_a_crash(tmp_path: Path) -> None:
    fn = copy.deepcopy(FN)
    fn["Properties"]["Role"] = {"Fn::Select": ["9" * 5000, ["a"]]}
    fn["Properties"]["Handler"] = {"Fn::Select": ["²", ["a"]]}
    result = review(make(tmp_path, files={"S.template.json": {"Resources": {"Fn": fn}}}))
    assert result.status == 1, result.err
    assert "Fn::Select over a computed list" in result.out


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    root = make(tmp_path)
    with (root / "S.template.json").open("r+b") as handle:  # sparse: nothing is written
        handle.truncate(MAX_FILE_BYTES + 1)
    review(root).assert_one_line_error("bytes", "refused")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    root = make(tmp_path)
    os.mkfifo(root / "fifo.json")
    make(root, {"S": stack_artifact("fifo.json")})
    review(root).assert_one_line_error("not a regular file")


# -- wrong JSON types at every key the reader knows ------------------------------------------

Mutate = Callable[[dict[str, Any], dict[str, Any]], None]


def _set(doc: str, path: list[str], value: Any) -> Mutate:
    def mutate(manifest: dict[str, Any], template: dict[str, Any]) -> None:
        target = manifest if doc == "manifest" else template
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


WRONG_TYPES: dict[str, tuple[Mutate, str]] = {
    "artifacts is a list": (_set("manifest", ["artifacts"], [1]), "artifacts"),
    "version is a list": (_set("manifest", ["version"], [1]), "version"),
    "artifact is a string": (_set("manifest", ["artifacts", "S"], "x"), "artifacts.S"),
    "type is a number": (_set("manifest", ["artifacts", "S", "type"], 5), "type"),
    "properties is a list": (_set("manifest", ["artifacts", "S", "properties"], []), "properties"),
    "templateFile is a number": (
        _set("manifest", ["artifacts", "S", "properties", "templateFile"], 5),
        "templateFile",
    ),
    "displayName is an object": (
        _set("manifest", ["artifacts", "S", "displayName"], {}),
        "displayName",
    ),
    "metadata is [1, 2]": (_set("manifest", ["artifacts", "S", "metadata"], [1, 2]), "metadata"),
    "metadata entries are a string": (
        _set("manifest", ["artifacts", "S", "metadata"], {"/S": "x"}),
        "metadata",
    ),
    "a metadata entry is a number": (
        _set("manifest", ["artifacts", "S", "metadata"], {"/S": [5]}),
        "metadata./S[0]",
    ),
    "a metadata type is a list": (
        _set("manifest", ["artifacts", "S", "metadata"], {"/S": [{"type": []}]}),
        "type",
    ),
    "additionalMetadataFile is a list": (
        _set("manifest", ["artifacts", "S", "additionalMetadataFile"], ["x"]),
        "additionalMetadataFile",
    ),
    "Resources is a list": (_set("template", ["Resources"], []), "Resources"),
    "a resource is a string": (_set("template", ["Resources", "Fn"], "x"), "Resources.Fn"),
    "Type is a number": (_set("template", ["Resources", "Fn", "Type"], 5), "Type"),
    "Type is missing": (_set("template", ["Resources", "Fn"], {"Properties": {}}), "Type"),
    "Properties is 5": (_set("template", ["Resources", "Fn", "Properties"], 5), "Properties"),
    "Metadata is a string": (_set("template", ["Resources", "Fn", "Metadata"], "x"), "Metadata"),
    "aws:asset:path is a number": (
        _set("template", ["Resources", "Fn", "Metadata"], {"aws:asset:path": 5}),
        "aws:asset:path",
    ),
    "Parameters is a list": (_set("template", ["Parameters"], []), "Parameters"),
    "a parameter is a number": (_set("template", ["Parameters"], {"P": 3}), "Parameters.P"),
    "an output is a string": (_set("template", ["Outputs"], {"O": "x"}), "Outputs.O"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_wrong_json_type_is_one_line_naming_the_key(tmp_path: Path, case: str) -> None:
    mutate, key = WRONG_TYPES[case]
    manifest = {"version": "36.0.0", "artifacts": {"S": stack_artifact()}}
    template: dict[str, Any] = {"Resources": {"Fn": copy.deepcopy(FN)}}
    mutate(manifest, template)
    write_json(tmp_path / "manifest.json", manifest)
    write_json(tmp_path / "S.template.json", template)
    run_cli(str(tmp_path)).assert_one_line_error(key)


@pytest.mark.parametrize(
    ("assets", "key"),
    [
        ([], "asset manifest"),
        ({"files": []}, "files"),
        ({"files": {"h": "x"}}, "files.h"),
        ({"files": {"h": {"source": 1}}}, "source"),
        ({"files": {"h": {"source": {"path": 1}}}}, "path"),
    ],
)
def test_a_wrong_type_in_the_asset_manifest_is_one_line(
    tmp_path: Path, assets: Any, key: str
) -> None:
    asset_artifact = {"type": "cdk:asset-manifest", "properties": {"file": "a.json"}}
    root = make(tmp_path, {"a": asset_artifact, "S": stack_artifact()}, {"a.json": assets})
    result = run_cli(str(root))
    result.assert_one_line_error("a.json")
    assert key in result.err or "an object" in result.err


def test_a_template_that_is_a_list_is_one_line(tmp_path: Path) -> None:
    root = make(tmp_path, files={"S.template.json": [1, 2]})
    run_cli(str(root)).assert_one_line_error("template of stack 'S'", "must be an object")


# -- the command line ------------------------------------------------------------------------


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "handwritten"


def test_output_naming_an_existing_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "report").write_text("keep me")
    run_cli(str(FIXTURE), "--output", str(tmp_path / "report")).assert_one_line_error("is a file")
    assert (tmp_path / "report").read_text() == "keep me"


def test_output_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run_cli(str(FIXTURE), "--output", str(tmp_path / "file" / "sub"))
    result.assert_one_line_error("cannot write the report")


def test_a_directory_as_suppressions_is_refused(tmp_path: Path) -> None:
    run_cli(str(FIXTURE), "--suppressions", str(tmp_path)).assert_one_line_error(
        "not a regular file"
    )


def test_non_utf8_suppressions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_bytes(b"[\xff]")
    run_cli(str(FIXTURE), "--suppressions", str(tmp_path / "s.json")).assert_one_line_error(
        "not UTF-8"
    )


def test_a_missing_cdk_json_is_one_line(tmp_path: Path) -> None:
    run_cli(str(FIXTURE), "--cdk-json", str(tmp_path / "none.json")).assert_one_line_error(
        "not found"
    )


@pytest.mark.parametrize("kind", ["missing", "file", "nul"])
def test_a_bad_cdk_out_argument_is_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "cdk.out"
    if kind == "file":
        target.write_text("{}")
    arg = str(target) + ("\x00x" if kind == "nul" else "")
    run_cli(arg).assert_one_line_error()


@pytest.mark.parametrize("args", [["--bogus"], ["--fail-on", "\x1b[2Jfatal"], []])
def test_bad_arguments_are_one_line_without_control_characters(args: list[str]) -> None:
    result = run_cli(*([str(FIXTURE)] if args else []), *args)
    result.assert_one_line_error("see --help")
    assert "\x1b" not in result.err


def test_an_unexpected_error_is_one_line_that_says_it_is_a_bug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last line of defence (bad input never reaches it; a bug might)."""
    from cdk_lambda_xray.review import cli

    def broken(*_: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(cli, "review_path", broken)
    result = run_cli(str(FIXTURE))
    assert result.status == 2 and result.err.count("\n") == 1
    assert "a bug in the review" in result.err and "KeyError" in result.err


# -- the terminal ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_control_characters_never_reach_the_terminal(tmp_path: Path, fmt: str) -> None:
    hostile = "Evil\x1b]0;owned\x07\x1b[2J\u202eFn\x9b31m"
    fn = copy.deepcopy(FN)
    fn["Metadata"] = {"aws:cdk:path": f"S/{hostile}/Resource"}
    fn["Properties"]["Environment"] = {"Variables": {"AWS_XRAY_CONTEXT_MISSING": hostile}}
    root = make(tmp_path, files={"S.template.json": {"Resources": {"Fn": fn}}})
    result = run_cli(str(root), "--format", fmt)
    assert result.status == 1
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert char not in result.said
    assert "Evil" in result.out


def test_an_error_message_quoting_the_assembly_escapes_control_characters(tmp_path: Path) -> None:
    root = make(tmp_path, {"S": stack_artifact("\x1b[2J.json")})
    result = run_cli(str(root))
    result.assert_one_line_error("\\u001b[2J.json")
    assert "\x1b" not in result.err


def test_the_sentinel_template_would_be_visible_if_read(tmp_path: Path) -> None:
    """Guards the guard: reading the sentinel template does put it in the output."""
    root = make(tmp_path, files={"S.template.json": sentinel_template()})
    assert SENTINEL in run_cli(str(root), "--format", "json").out


def test_a_lone_surrogate_escape_is_refused(tmp_path: Path) -> None:
    root = make(tmp_path)
    (root / "S.template.json").write_text('{"Resources": {}, "Description": "\\ud800"}')
    review(root).assert_one_line_error("surrogate")


@pytest.mark.parametrize(
    "document", ["[" * 5000 + "]" * 5000, '{"Statement": ' + "1" * 5000 + "}", '"\\udc00"']
)
def test_a_hostile_embedded_policy_document_is_a_parse_error(tmp_path: Path, document: str) -> None:
    policy = {"Type": "AWS::XRay::ResourcePolicy", "Properties": {"PolicyDocument": document}}
    root = make(tmp_path, files={"S.template.json": {"Resources": {"Fn": FN, "P": policy}}})
    result = review(root)
    assert result.status == 1, result.err  # reviewed: the policy is just unreadable


def test_an_undecodable_directory_name_still_gets_its_reports(tmp_path: Path) -> None:
    root = make(Path(os.fsdecode(bytes(tmp_path) + b"/cdk\xff.out")))
    out = tmp_path / "reports"
    result = run_cli(str(root), "--format", "md,html,json", "--output", str(out))
    assert result.status == 1, result.err
    assert "cdk.out" in (out / "review.md").read_text()  # dropped from Markdown
    assert "cdk\\udcff.out" in (out / "review.html").read_text()  # shown escaped


@pytest.mark.parametrize(
    "content",
    [b"PK\x05\x06" + b"\x00" * 16 + b"\xff\xff", b"PK\x03\x04garbage", b"", b"\x00" * 100],
)
def test_a_corrupt_layer_archive_is_not_ours_and_no_crash(tmp_path: Path, content: bytes) -> None:
    layer = {
        "Type": "AWS::Lambda::LayerVersion",
        "Metadata": {"aws:asset:path": "asset.zip"},
        "Properties": {"Content": {"S3Bucket": "b", "S3Key": "k.zip"}},
    }
    fn = copy.deepcopy(FN)
    fn["Properties"]["Layers"] = [{"Ref": "L"}]
    root = make(
        tmp_path,
        files={"S.template.json": {"Resources": {"L": layer, "Fn": fn}}, "asset.zip": content},
    )
    (row,) = json.loads(review(root).out)["functions"]
    assert "lambda_xray" not in row["layer"]


@pytest.mark.parametrize("kind", ["loop", "long", "directory"])
def test_odd_template_paths_are_one_line(tmp_path: Path, kind: str) -> None:
    root = make(tmp_path)
    name = {"loop": "loop.json", "long": "x" * 5000, "directory": "sub"}[kind]
    if kind == "loop":
        (root / "loop.json").symlink_to(root / "loop.json")
    if kind == "directory":
        (root / "sub").mkdir()
    make(root, {"S": stack_artifact(name)})
    review(root).assert_one_line_error("template")


def test_a_manifest_symlinked_out_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "cdk.out"
    root.mkdir()
    (root / "manifest.json").symlink_to(outside / "manifest.json")
    review(root).assert_one_line_error("manifest", "refused")


def test_a_cdk_out_that_is_itself_a_symlink_is_read(tmp_path: Path) -> None:
    real = make(tmp_path / "real")
    (tmp_path / "cdk.out").symlink_to(real, target_is_directory=True)
    assert json.loads(review(tmp_path / "cdk.out").out)["summary"]["functions"] == 1
