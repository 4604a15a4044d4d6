"""_bytecode: finding interpreters, deterministic compiled files, rebuilding only what is stale."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cdk_lambda_xray import _bytecode

MINOR = sys.version_info[1]
RUNTIME = _bytecode.runtime_name(MINOR)
OVERRIDE = _bytecode.INTERPRETER_ENV.format(minor=MINOR)

# A set constant: marshalled in iteration order (3.10), which follows string hashes.
NAMES = ", ".join(repr(f"name{i}") for i in range(40))
SETS = f"def kind(x):\n    return x in {{{NAMES}}}\n"


def _layer(root: Path, body: str = SETS) -> Path:
    pkg = root / "python" / "lambda_xray"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Fake layer."""\n')
    (pkg / "kinds.py").write_text(body)
    return root


def _pycs(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*.pyc"))}


def test_an_empty_override_means_no_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OVERRIDE, "")
    assert _bytecode.find_interpreter(MINOR) is None


def test_an_override_of_another_version_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_bytecode.INTERPRETER_ENV.format(minor=MINOR + 1), sys.executable)
    assert _bytecode.find_interpreter(MINOR + 1) is None


def test_an_override_that_is_not_a_program_is_not_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(OVERRIDE, str(tmp_path / "python-nowhere"))
    assert _bytecode.find_interpreter(MINOR) is None


def test_the_running_interpreter_serves_its_own_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    found = _bytecode.find_interpreter(MINOR)
    assert found is not None
    assert _bytecode._probe(found) is not None


def test_same_source_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    # Python 3.10 marshals set constants in hash order (3.11+ no longer does):
    # the build fixes the seed.
    minor = 10 if _bytecode.find_interpreter(10) else MINOR
    runtime = _bytecode.runtime_name(minor)
    source = _layer(tmp_path / "src")
    builds = [tmp_path / "one", tmp_path / "two", tmp_path / "three"]
    for out in builds:
        (result,) = _bytecode.build_layers(source, out, minors=(minor,))
        assert result.has_bytecode, result
    one, two, three = (_pycs(_bytecode.tree_path(out, runtime)) for out in builds)
    assert f"python/lambda_xray/__pycache__/kinds.cpython-3{minor}.pyc" in one
    assert one == two == three


def test_code_objects_name_the_file_where_lambda_mounts_it(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src")
    _bytecode.build_layers(source, tmp_path / "out", minors=(MINOR,))
    (pyc,) = [p for p in _bytecode.tree_path(tmp_path / "out", RUNTIME).rglob("kinds.*.pyc")]
    data = pyc.read_bytes()
    assert b"/opt/python/lambda_xray/kinds.py" in data
    assert str(tmp_path).encode() not in data


def test_a_fresh_build_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    _bytecode.ensure_built(source, out, minors=(MINOR,))
    manifest = out / f"{RUNTIME.replace('.', '')}.json"
    before = manifest.stat().st_mtime_ns
    (again,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert again.has_bytecode
    assert manifest.stat().st_mtime_ns == before


def test_a_changed_source_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    (first,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    (source / "python" / "lambda_xray" / "kinds.py").write_text("def kind(x):\n    return 1\n")
    (second,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert second.source_hash != first.source_hash
    assert second.source_hash == _bytecode.layer_content_hash(source)
    tree = _bytecode.tree_path(out, RUNTIME)
    assert (tree / "python" / "lambda_xray" / "kinds.py").read_text().endswith("return 1\n")


def test_a_source_only_version_gets_bytecode_once_its_interpreter_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    monkeypatch.setenv(OVERRIDE, "")
    (without,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert not without.has_bytecode
    assert _pycs(_bytecode.tree_path(out, RUNTIME)) == {}
    monkeypatch.delenv(OVERRIDE)
    (with_it,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert with_it.cache_tag == sys.implementation.cache_tag
    assert _pycs(_bytecode.tree_path(out, RUNTIME))


def test_a_module_that_does_not_compile_gives_source_only_with_the_reason(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src", body="def broken(:\n")
    (result,) = _bytecode.build_layers(
        source, tmp_path / "out", minors=(MINOR,), interpreters={MINOR: sys.executable}
    )
    assert result.cache_tag is None
    assert result.reason is not None and result.reason.startswith("compiling failed")
    assert _pycs(_bytecode.tree_path(tmp_path / "out", RUNTIME)) == {}


def test_no_layer_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no layer source"):
        _bytecode.ensure_built(tmp_path, tmp_path / "out")
