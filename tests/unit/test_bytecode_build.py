"""The layer build (_bytecode, _interpreters, _slim_source): interpreters, slim source + lean
bytecode, deterministic, rebuilt when stale, loadable by setup.py without the package."""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import io
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from cdk_lambda_xray import _bytecode, _interpreters, _slim_source

MINOR = sys.version_info[1]
RUNTIME = _bytecode.runtime_name(MINOR)
OVERRIDE = _interpreters.INTERPRETER_ENV.format(minor=MINOR)

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
    assert _interpreters.find_interpreter(MINOR) is None


def test_an_override_of_another_version_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_interpreters.INTERPRETER_ENV.format(minor=MINOR + 1), sys.executable)
    assert _interpreters.find_interpreter(MINOR + 1) is None


def test_an_override_that_is_not_a_program_is_not_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(OVERRIDE, str(tmp_path / "python-nowhere"))
    assert _interpreters.find_interpreter(MINOR) is None


def test_the_running_interpreter_serves_its_own_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    found = _interpreters.find_interpreter(MINOR)
    assert found is not None
    assert _interpreters.probe(found) is not None


def test_same_source_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    # Python 3.10 marshals set constants in hash order (3.11+ no longer does):
    # the build fixes the seed.
    minor = 10 if _interpreters.find_interpreter(10) else MINOR
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


# --- what the tree is: slim source, lean bytecode, still the tested code ------------------

LEAN = '''"""Module docstring: not needed at run time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """A class docstring."""

    x: int  # a comment
    y: int = 0


def only_a_docstring() -> None:
    """Its body is this docstring alone."""


def checked(value: int, *rest: str, flag: bool = False, **more: object) -> int:
    """Checks its argument.

    On several lines.
    """
    assert value >= 0, "negative"
    return value + 1


def failing() -> None:
    raise ValueError("boom")
'''


def _load(source: Path, name: str = "lean_probe") -> ModuleType:
    """Import ``source`` as an import finds it: the ``.py``, with its ``__pycache__``."""
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None and spec.loader is not None
    assert isinstance(spec.loader, importlib.machinery.SourceFileLoader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def lean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lean")
    source = _layer(root / "src", body=LEAN)
    (source / "python" / "lambda_xray" / "testing.py").write_text("SEAM = 1\n")
    (source / "python" / "lambda_xray" / "py.typed").write_text("")
    (result,) = _bytecode.build_layers(
        source, root / "out", minors=(MINOR,), interpreters={MINOR: sys.executable}
    )
    assert result.has_bytecode, result
    return _bytecode.tree_path(root / "out", RUNTIME) / "python" / "lambda_xray"


def test_the_tree_holds_slim_source_and_its_bytecode_and_nothing_else(lean_tree: Path) -> None:
    files = sorted(p.relative_to(lean_tree).as_posix() for p in lean_tree.rglob("*") if p.is_file())
    tag = sys.implementation.cache_tag
    # testing.py (the seam users import in their own tests) and py.typed run nowhere on Lambda.
    assert files == [
        "__init__.py",
        f"__pycache__/__init__.{tag}.pyc",
        f"__pycache__/kinds.{tag}.pyc",
        "kinds.py",
    ]


def test_the_source_is_slim_with_every_line_where_it_was(lean_tree: Path) -> None:
    slim = (lean_tree / "kinds.py").read_text()
    for gone in ("Module docstring", "A class docstring", "Its body", "Checks its", "a comment"):
        assert gone not in slim
    assert len(slim.splitlines()) == len(LEAN.splitlines())
    for number, line in enumerate(LEAN.splitlines()):
        if line.strip() and '"""' not in line and "several" not in line:
            assert slim.splitlines()[number] == line.split("  #")[0], number
    assert '    """Its body is this docstring alone."""' in LEAN
    assert (
        slim.splitlines()[LEAN.splitlines().index('    """Its body is this docstring alone."""')]
        == "    ..."
    )


def test_slim_source_keeps_a_file_it_cannot_prove_the_same() -> None:
    one_liner = 'def f(): """inline docstring"""\n'
    assert _slim_source.slim_source(one_liner) == one_liner
    assert _slim_source.slim_source("def broken(:\n") == "def broken(:\n"


def test_the_header_says_unchecked_and_carries_the_sources_hash(lean_tree: Path) -> None:
    data = next(lean_tree.glob("__pycache__/kinds.*.pyc")).read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552: hash-based, not checked
    assert data[8:16] == importlib.util.source_hash((lean_tree / "kinds.py").read_bytes())


def test_the_bytecode_leaves_out_docstrings_and_function_annotations(lean_tree: Path) -> None:
    module = _load(lean_tree / "kinds.py")
    # Only the .pyc lacks the annotations: the module came from it, not from the source.
    assert module.checked.__annotations__ == {}
    assert module.__doc__ is None
    assert module.only_a_docstring() is None
    assert module.checked.__doc__ is None


def test_the_code_is_still_the_tested_code(lean_tree: Path) -> None:
    module = _load(lean_tree / "kinds.py")
    assert module.checked(1, "a", flag=True, extra=2) == 2
    with pytest.raises(AssertionError, match="negative"):  # assert is kept (not -O)
        module.checked(-1)
    # Class-level annotations are data (dataclass fields): kept.
    assert module.Point(1) == module.Point(1, 0)
    assert list(module.Point.__dataclass_fields__) == ["x", "y"]


def test_tracebacks_keep_the_file_and_line_of_the_source(lean_tree: Path) -> None:
    module = _load(lean_tree / "kinds.py")
    with pytest.raises(ValueError) as caught:
        module.failing()
    tb = caught.value.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    # Loaded from the tree, the code names its file there (on Lambda: /opt/python/...).
    assert tb.tb_frame.f_code.co_filename == str(lean_tree / "kinds.py")
    assert tb.tb_lineno == LEAN.splitlines().index('    raise ValueError("boom")') + 1
    # No column tables: the carets under a layer line are all a traceback loses.
    positions = list(module.failing.__code__.co_positions())
    assert positions and all(col is None and end is None for _, _, col, end in positions)


def _zip_kb(tree: Path) -> float:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(tree).as_posix())
    return len(buffer.getvalue()) / 1024


def test_each_version_of_the_real_layer_stays_within_its_download_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/bytecode.md: at most 215 KB with bytecode (was 320 KB), 75 KB source only (was 105).

    A guard against growth by accident: raising it is a decision, with the sizes in the docs.
    """
    monkeypatch.delenv(OVERRIDE, raising=False)
    source = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray"
    (compiled,) = _bytecode.build_layers(source, tmp_path, minors=(MINOR,))
    (bare,) = _bytecode.build_layers(
        source, tmp_path / "bare", minors=(MINOR,), interpreters={MINOR: None}
    )
    assert compiled.has_bytecode and not bare.has_bytecode
    assert _zip_kb(_bytecode.tree_path(tmp_path, RUNTIME)) <= 215
    assert _zip_kb(_bytecode.tree_path(tmp_path / "bare", RUNTIME)) <= 75


def test_no_layer_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no layer source"):
        _bytecode.ensure_built(tmp_path, tmp_path / "out")


# --- setup.py loads the build by path, in pip's build environment -------------------------


def _imports(module: Path) -> tuple[set[str], set[str]]:
    """The top-level modules ``module`` imports absolutely, and its relative imports."""
    absolute: set[str] = set()
    relative: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            absolute.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            absolute.add(node.module.partition(".")[0])
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 1 and node.module, f"{module.name}: from . import ..."
            relative.add(node.module)
    return absolute, relative


def test_the_build_modules_need_nothing_but_the_stdlib_and_each_other() -> None:
    """setup.py runs them without the package's dependencies (nor its ``__init__``)."""
    package = Path(_bytecode.__file__).parent
    seen: set[str] = set()
    todo = ["_bytecode"]
    while todo:
        name = todo.pop()
        seen.add(name)
        absolute, relative = _imports(package / f"{name}.py")
        assert absolute <= sys.stdlib_module_names | {"__future__"}, (name, absolute)
        todo.extend(relative - seen)
    assert seen == {"_bytecode", "_interpreters", "_slim_source"}
