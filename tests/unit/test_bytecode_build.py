"""The layer build (_bytecode, _interpreters, _slim_source): interpreters, lean code in one
sourceless bundle per layer part, deterministic, rebuilt when stale, assembled per function's
parts, loadable by setup.py without the package."""

from __future__ import annotations

import ast
import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType, TracebackType

import pytest

import lambda_xray
from cdk_lambda_xray import _bundle_build, _bytecode, _interpreters, _layer_parts, _slim_source
from cdk_lambda_xray._layer_parts import CORE, PARTS

MINOR = sys.version_info[1]
RUNTIME = _bytecode.runtime_name(MINOR)
OVERRIDE = _interpreters.INTERPRETER_ENV.format(minor=MINOR)

# A set constant: marshalled in iteration order (3.10), which follows string hashes.
NAMES = ", ".join(repr(f"name{i}") for i in range(40))
SETS = f"def kind(x):\n    return x in {{{NAMES}}}\n"


LAYER = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray"
LOADER = LAYER / "python" / "lambda_xray" / "__init__.py"


def _layer(root: Path, body: str = SETS, extra: dict[str, str] | None = None) -> Path:
    """A small layer source: the real package ``__init__`` (the bundle loader), ``kinds.py``."""
    pkg = root / "python" / "lambda_xray"
    pkg.mkdir(parents=True)
    shutil.copyfile(LOADER, pkg / "__init__.py")
    (pkg / "kinds.py").write_text(body)
    for rel, text in (extra or {}).items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return root


def _compiled(tree: Path) -> dict[str, bytes]:
    """Every compiled file of a layer tree: bundles and ``.pyc``."""
    return {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.suffix in (".pyc", ".bundle")
    }


def _bundle(path: Path) -> tuple[bytes, dict[str, str], dict[str, tuple[bool, bytes]]]:
    """A bundle file's header, index and modules (read by this interpreter: same version)."""
    data = path.read_bytes()
    index, modules = lambda_xray._bundle_contents(memoryview(data)[10:])
    return data[:10], index, modules


def _files(tree: Path) -> list[str]:
    return sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())


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
    one, two, three = (_compiled(_bytecode.tree_path(out, runtime)) for out in builds)
    assert "python/lambda_xray/core.bundle" in one
    assert f"python/lambda_xray/__pycache__/__init__.cpython-3{minor}.pyc" in one
    assert one == two == three


def test_code_objects_name_the_file_where_lambda_mounts_it(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src")
    _bytecode.build_layers(source, tmp_path / "out", minors=(MINOR,))
    data = (_bytecode.tree_path(tmp_path / "out", RUNTIME) / CORE_BUNDLE).read_bytes()
    assert b"/opt/python/lambda_xray/kinds.py" in data
    assert str(tmp_path).encode() not in data


CORE_BUNDLE = "python/lambda_xray/core.bundle"


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
    _, _, modules = _bundle(_bytecode.tree_path(out, RUNTIME) / CORE_BUNDLE)
    namespace: dict[str, object] = {}
    exec(marshal.loads(modules["lambda_xray.kinds"][1]), namespace)
    assert namespace["kind"](0) == 1  # type: ignore[operator]


def test_a_changed_parts_table_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE, raising=False)
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    _bytecode.ensure_built(source, out, minors=(MINOR,))
    moved = _layer_parts.LayerPart(("lambda_xray/kinds.py",), (), "a test part")
    monkeypatch.setitem(_layer_parts.PARTS, "otlp", moved)
    (rebuilt,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert rebuilt.has_bytecode
    tree = _bytecode.tree_path(out, RUNTIME) / "python" / "lambda_xray"
    assert "lambda_xray.kinds" in _bundle(tree / "otlp.bundle")[2]


def test_a_source_only_version_gets_bytecode_once_its_interpreter_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    monkeypatch.setenv(OVERRIDE, "")
    (without,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert not without.has_bytecode
    assert _compiled(_bytecode.tree_path(out, RUNTIME)) == {}
    assert "python/lambda_xray/kinds.py" in _files(_bytecode.tree_path(out, RUNTIME))
    monkeypatch.delenv(OVERRIDE)
    (with_it,) = _bytecode.ensure_built(source, out, minors=(MINOR,))
    assert with_it.cache_tag == sys.implementation.cache_tag
    assert CORE_BUNDLE in _compiled(_bytecode.tree_path(out, RUNTIME))


def test_a_module_that_does_not_compile_gives_source_only_with_the_reason(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src", body="def broken(:\n")
    (result,) = _bytecode.build_layers(
        source, tmp_path / "out", minors=(MINOR,), interpreters={MINOR: sys.executable}
    )
    assert result.cache_tag is None
    assert result.reason is not None and result.reason.startswith("compiling failed")
    tree = _bytecode.tree_path(tmp_path / "out", RUNTIME)
    assert _compiled(tree) == {}
    assert "python/lambda_xray/kinds.py" in _files(tree)


def test_a_layer_without_the_bundle_loader_gives_source_only_with_the_reason(
    tmp_path: Path,
) -> None:
    source = _layer(tmp_path / "src")
    (source / "python" / "lambda_xray" / "__init__.py").write_text('"""No loader."""\n')
    (result,) = _bytecode.build_layers(
        source, tmp_path / "out", minors=(MINOR,), interpreters={MINOR: sys.executable}
    )
    assert result.cache_tag is None
    assert result.reason is not None and "no bundle loader" in result.reason


# --- what the tree is: a sourceless bundle per part, lean code, still the tested code ------

LEAN = '''"""Module docstring: not needed at run time."""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class Point:
    """A class docstring."""

    x: int  # a comment
    y: int = 0


def only_a_docstring() -> None:
    """Its body is this docstring alone."""


def checked(value: int, *rest: Sequence[str], flag: bool = False, **more: object) -> int:
    """Checks its argument.

    On several lines.
    """
    assert value >= 0, "negative"
    return value + 1


def failing() -> None:
    raise ValueError("boom")
'''

#: A module of each kind the parts table knows: a package, a part's package, a part's module.
PART_MODULES = {
    "patches/__init__.py": "WHERE = 'core'\n\n\ndef failing():\n    raise ValueError('kept')\n",
    "patches/httpx.py": "WHERE = 'async_http'\n",
    "otlp/__init__.py": "WHERE = 'otlp'\n",
    "otlp/emitter.py": "WHERE = 'otlp'\n",
    "testing.py": "SEAM = 1\n",
    "py.typed": "",
}


@pytest.fixture(scope="module")
def lean_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lean")
    source = _layer(root / "src", body=LEAN, extra=PART_MODULES)
    (result,) = _bytecode.build_layers(
        source, root / "out", minors=(MINOR,), interpreters={MINOR: sys.executable}
    )
    assert result.has_bytecode, result
    return root / "out"


def _module(builds: Path, name: str = "lambda_xray.kinds") -> ModuleType:
    """``name`` run from the core bundle of ``builds`` as the layer's loader runs it."""
    _, _, modules = _bundle(_bytecode.tree_path(builds, RUNTIME) / CORE_BUNDLE)
    module = ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        exec(marshal.loads(modules[name][1]), module.__dict__)
    finally:
        del sys.modules[name]
    return module


def test_the_tree_holds_the_loader_and_one_bundle_per_part_and_no_source(
    lean_build: Path,
) -> None:
    tree = _bytecode.tree_path(lean_build, RUNTIME)
    tag = sys.implementation.cache_tag
    # testing.py (the seam users import in their own tests) and py.typed run nowhere on Lambda.
    assert _files(tree) == sorted(
        [
            "python/lambda_xray/__init__.py",
            f"python/lambda_xray/__pycache__/__init__.{tag}.pyc",
            *(f"python/lambda_xray/{part}.bundle" for part in ("core", *PARTS)),
        ]
    )


def test_each_module_is_in_the_bundle_of_its_part(lean_build: Path) -> None:
    tree = _bytecode.tree_path(lean_build, RUNTIME) / "python" / "lambda_xray"
    _, index, core = _bundle(tree / "core.bundle")
    assert sorted(core) == ["lambda_xray.kinds", "lambda_xray.patches"]
    assert core["lambda_xray.patches"][0] is True and core["lambda_xray.kinds"][0] is False
    # The core's index says where every other module is.
    assert index == {
        "lambda_xray.otlp": "otlp",
        "lambda_xray.otlp.emitter": "otlp",
        "lambda_xray.patches.httpx": "async_http",
    }
    assert sorted(_bundle(tree / "otlp.bundle")[2]) == [
        "lambda_xray.otlp",
        "lambda_xray.otlp.emitter",
    ]
    assert sorted(_bundle(tree / "async_http.bundle")[2]) == ["lambda_xray.patches.httpx"]
    assert _bundle(tree / "compat.bundle")[1:] == ({}, {})


def test_a_bundle_says_which_python_built_it(lean_build: Path) -> None:
    header, _, _ = _bundle(_bytecode.tree_path(lean_build, RUNTIME) / CORE_BUNDLE)
    assert header == importlib.util.MAGIC_NUMBER + b"LXB2" + bytes(sys.version_info[:2])


def test_the_loader_ships_as_slim_source_and_unchecked_hash_bytecode(lean_build: Path) -> None:
    package = _bytecode.tree_path(lean_build, RUNTIME) / "python" / "lambda_xray"
    source = (package / "__init__.py").read_bytes()
    assert b'"""Trace a Python Lambda function' not in source  # slim: no docstring
    data = next(package.glob("__pycache__/__init__.*.pyc")).read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552: hash-based, not checked
    assert data[8:16] == importlib.util.source_hash(source)


def test_the_source_only_tree_is_slim_with_every_line_where_it_was(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src", body=LEAN)
    (result,) = _bytecode.build_layers(
        source, tmp_path / "out", minors=(MINOR,), interpreters={MINOR: None}
    )
    assert result.reason == f"no python3.{MINOR} interpreter found when it was built"
    slim = (
        _bytecode.tree_path(tmp_path / "out", RUNTIME) / "python/lambda_xray/kinds.py"
    ).read_text()
    for gone in ("Module docstring", "A class docstring", "Its body", "Checks its", "a comment"):
        assert gone not in slim
    assert len(slim.splitlines()) == len(LEAN.splitlines())
    lone = '    """Its body is this docstring alone."""'
    assert slim.splitlines()[LEAN.splitlines().index(lone)] == "    ..."


def test_slim_source_keeps_a_file_it_cannot_prove_the_same() -> None:
    one_liner = 'def f(): """inline docstring"""\n'
    assert _slim_source.slim_source(one_liner) == one_liner
    assert _slim_source.slim_source("def broken(:\n") == "def broken(:\n"


def test_the_code_leaves_out_docstrings_annotations_and_type_checking_imports(
    lean_build: Path,
) -> None:
    module = _module(lean_build)
    assert module.checked.__annotations__ == {}
    assert module.__doc__ is None
    assert module.only_a_docstring() is None
    assert module.checked.__doc__ is None
    _, _, modules = _bundle(_bytecode.tree_path(lean_build, RUNTIME) / CORE_BUNDLE)
    assert b"Sequence" not in modules["lambda_xray.kinds"][1]  # the TYPE_CHECKING block's


def test_a_future_import_is_a_compiler_flag_not_an_import_at_run_time(lean_build: Path) -> None:
    _, _, modules = _bundle(_bytecode.tree_path(lean_build, RUNTIME) / CORE_BUNDLE)
    code = marshal.loads(modules["lambda_xray.kinds"][1])
    assert "__future__" not in code.co_names
    module = _module(lean_build)
    assert "annotations" not in vars(module)
    # ... and still in force: class annotations stay strings, as the source says.
    assert module.Point.__annotations__ == {"x": "int", "y": "int"}


def test_the_code_is_still_the_tested_code(lean_build: Path) -> None:
    module = _module(lean_build)
    assert module.checked(1, "a", flag=True, extra=2) == 2
    with pytest.raises(AssertionError, match="negative"):  # assert is kept (not -O)
        module.checked(-1)
    # Class-level annotations are data (dataclass fields): kept.
    assert module.Point(1) == module.Point(1, 0)
    assert list(module.Point.__dataclass_fields__) == ["x", "y"]


def _innermost(exc: BaseException) -> TracebackType:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    return tb


def test_a_module_in_a_users_traceback_keeps_the_file_and_line_of_the_source(
    lean_build: Path,
) -> None:
    """``patches`` is in ``LINE_TABLE_MODULES``: its frames stand in a user's traceback."""
    module = _module(lean_build, "lambda_xray.patches")
    with pytest.raises(ValueError) as caught:
        module.failing()
    tb = _innermost(caught.value)
    assert tb.tb_frame.f_code.co_filename == "/opt/python/lambda_xray/patches/__init__.py"
    assert (
        tb.tb_lineno
        == PART_MODULES["patches/__init__.py"].splitlines().index("    raise ValueError('kept')")
        + 1
    )
    # No column tables: the carets under a layer line are all a traceback loses.
    positions = list(module.failing.__code__.co_positions())
    assert positions and all(col is None and end is None for _, _, col, end in positions)


def test_a_module_below_the_layers_own_frames_has_no_lines_and_its_tracebacks_still_format(
    lean_build: Path,
) -> None:
    """``kinds`` is not in ``LINE_TABLE_MODULES``: "no line" for every instruction, in a
    table the interpreter walks like any other (an empty one breaks ``traceback``)."""
    module = _module(lean_build)
    with pytest.raises(ValueError) as caught:
        module.failing()
    tb = _innermost(caught.value)
    assert tb.tb_frame.f_code.co_filename == "/opt/python/lambda_xray/kinds.py"
    assert tb.tb_lineno is None  # 3.10: -1 (tests/layer/test_layer_line_tables.py)
    text = "".join(traceback.format_exception(caught.value))
    assert 'File "/opt/python/lambda_xray/kinds.py", line None, in failing' in text
    for code in (module.checked.__code__, module.failing.__code__):
        assert [line for _, _, line in code.co_lines()] == [None] * len(list(code.co_lines()))
        # Every instruction has its (empty) position: what ``traceback`` walks.
        assert len(list(code.co_positions())) == len(code.co_code) // 2


def test_the_modules_kept_with_line_tables_exist_and_wrap_every_given_callable() -> None:
    """``LINE_TABLE_MODULES`` names modules of the layer, and every module with a wrapper
    (a nested function that calls a callable given to the function that made it: the
    user's function, a client library's method) is in it: a wrapper's frame stands in
    the traceback of whatever it wraps."""
    python = LAYER / "python"
    rels = [p.relative_to(python).as_posix() for p in python.rglob("*.py")]
    for listed in _layer_parts.LINE_TABLE_MODULES:
        assert [rel for rel in rels if _layer_parts._listed(rel, (listed,))], listed
    wrapping = sorted(rel for rel in rels if _wraps_a_given_callable(python / rel))
    assert "lambda_xray/api.py" in wrapping and "lambda_xray/patches/botocore.py" in wrapping
    assert [rel for rel in wrapping if not _layer_parts.keeps_line_table(rel)] == []


def test_every_bundled_module_that_logs_or_warns_keeps_its_line_table() -> None:
    """``logging`` and ``warnings`` record their caller's line: ``None`` breaks a user's
    ``%(lineno)d`` log format. The loader and ``_untraced`` ship as source, with theirs."""
    python = LAYER / "python"
    bundled = [
        p.relative_to(python).as_posix()
        for p in python.rglob("*.py")
        if p.relative_to(python).as_posix()
        not in {_bundle_build.LOADER, _bundle_build.UNTRACED, *_bytecode.LAMBDA_EXCLUDED}
    ]
    reporting = [rel for rel in bundled if _imports(python / rel)[0] & {"logging", "warnings"}]
    assert reporting == ["lambda_xray/_log.py"]
    assert all(_layer_parts.keeps_line_table(rel) for rel in reporting)


def _wraps_a_given_callable(path: Path) -> bool:
    def calls(function: ast.AST, given: set[str]) -> bool:
        return any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in given
            for n in ast.walk(function)
        )

    def visit(node: ast.AST, given: set[str]) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if given and calls(child, given):
                    return True
                a = child.args
                args = (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg)
                if visit(child, given | {x.arg for x in args if x is not None}):
                    return True
            elif visit(child, given):
                return True
        return False

    return visit(ast.parse(path.read_text()), set())


# --- assemble_layer: the tree of one function's layer -----------------------------------------


def test_a_layer_of_the_core_holds_the_loader_and_the_core_bundle_only(lean_build: Path) -> None:
    tree = _bytecode.assemble_layer(lean_build, RUNTIME, frozenset())
    tag = sys.implementation.cache_tag
    assert _files(tree) == [
        "python/lambda_xray/__init__.py",
        f"python/lambda_xray/__pycache__/__init__.{tag}.pyc",
        "python/lambda_xray/core.bundle",
    ]
    complete = _bytecode.tree_path(lean_build, RUNTIME)
    for rel in _files(tree):
        assert (tree / rel).read_bytes() == (complete / rel).read_bytes()


@pytest.mark.parametrize(
    "parts", [{"otlp"}, {"otlp", "async_http"}, {"core", "compat"}, set(PARTS)]
)
def test_a_layer_holds_the_bundles_of_its_parts(lean_build: Path, parts: set[str]) -> None:
    tree = _bytecode.assemble_layer(lean_build, RUNTIME, frozenset(parts))
    bundles = {p.name for p in tree.rglob("*.bundle")}
    wanted = parts | {"core"} | ({"api"} if "compat" in parts else set())  # compat needs api
    assert bundles == {f"{part}.bundle" for part in wanted}


def test_an_unknown_part_is_named_with_the_known_ones(lean_build: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown layer part\(s\) 'otel'.*'otlp', 'compat'"):
        _bytecode.assemble_layer(lean_build, RUNTIME, frozenset({"otel", "otlp"}))


def test_an_assembled_layer_is_made_once_and_again_when_the_build_changed(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    _bytecode.build_layers(source, out, minors=(MINOR,), interpreters={MINOR: sys.executable})
    first = _bytecode.assemble_layer(out, RUNTIME, frozenset({"otlp"}))
    stamp = (first / CORE_BUNDLE).stat().st_mtime_ns
    assert _bytecode.assemble_layer(out, RUNTIME, frozenset({"otlp"})) == first
    assert (first / CORE_BUNDLE).stat().st_mtime_ns == stamp
    (source / "python" / "lambda_xray" / "kinds.py").write_text("KIND = 2\n")
    _bytecode.ensure_built(source, out, minors=(MINOR,))
    second = _bytecode.assemble_layer(out, RUNTIME, frozenset({"otlp"}))
    assert second != first and not first.exists()  # the stale tree is gone
    assert b"KIND" in (second / CORE_BUNDLE).read_bytes()


def test_an_assembled_layer_is_named_after_what_it_holds(tmp_path: Path) -> None:
    """Whatever changed the complete tree (a new compiler, a repaired file), a new tree."""
    source = _layer(tmp_path / "src")
    out = tmp_path / "out"
    _bytecode.build_layers(source, out, minors=(MINOR,), interpreters={MINOR: sys.executable})
    first = _bytecode.assemble_layer(out, RUNTIME, frozenset())
    core = _bytecode.tree_path(out, RUNTIME) / CORE_BUNDLE
    core.write_bytes(core.read_bytes() + b"\0")
    second = _bytecode.assemble_layer(out, RUNTIME, frozenset())
    assert second != first
    assert (second / CORE_BUNDLE).read_bytes() == core.read_bytes()


def test_an_assembled_tree_that_was_changed_is_made_again(lean_build: Path) -> None:
    """A file edited (or a tree planted under the name) is never shipped as the layer."""
    tree = _bytecode.assemble_layer(lean_build, RUNTIME, frozenset({"compat"}))
    good = (tree / CORE_BUNDLE).read_bytes()
    (tree / CORE_BUNDLE).write_bytes(b"planted")
    (tree / "python" / "extra.py").write_text("EXTRA = 1\n")
    again = _bytecode.assemble_layer(lean_build, RUNTIME, frozenset({"compat"}))
    assert again == tree
    assert (again / CORE_BUNDLE).read_bytes() == good
    assert not (again / "python" / "extra.py").exists()


def test_synths_assembling_at_once_all_get_the_whole_tree(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src", extra=PART_MODULES)
    out = tmp_path / "out"
    _bytecode.build_layers(source, out, minors=(MINOR,), interpreters={MINOR: sys.executable})
    with ThreadPoolExecutor(8) as pool:
        trees = list(
            pool.map(lambda _: _bytecode.assemble_layer(out, RUNTIME, frozenset(PARTS)), range(8))
        )
    assert len(set(trees)) == 1
    assert len(_files(trees[0])) == 3 + len(PARTS)
    assert [p.name for p in (out / _bytecode.ASSEMBLED_DIR_NAME).iterdir()] == [trees[0].name]


def test_a_source_only_layer_holds_the_source_of_its_parts(tmp_path: Path) -> None:
    source = _layer(tmp_path / "src", extra=PART_MODULES)
    out = tmp_path / "out"
    _bytecode.build_layers(source, out, minors=(MINOR,), interpreters={MINOR: None})
    tree = _bytecode.assemble_layer(out, RUNTIME, frozenset({"otlp"}))
    assert _files(tree) == [
        "python/lambda_xray/__init__.py",
        "python/lambda_xray/kinds.py",
        "python/lambda_xray/otlp/__init__.py",
        "python/lambda_xray/otlp/emitter.py",
        "python/lambda_xray/patches/__init__.py",
    ]


def test_no_build_for_the_runtime_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make setup"):
        _bytecode.assemble_layer(tmp_path, RUNTIME, frozenset())


# --- the download: each function's layer zip -------------------------------------------------


@pytest.fixture(scope="module")
def real_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real")
    _bytecode.build_layers(LAYER, out, minors=(10, 11, 12, 13, 14))
    return out


#: KB per Python minor: (the core alone, with the user API, every part). The goal is 60 KB
#: per layer version (a boto3 function's: the core alone), met on every Python with 0.4 KB
#: of room (docs/bytecode.md, "Sizes and cold start"); a function that uses the
#: user API gets the ``api`` part too.
DOWNLOAD_BUDGET_KB = {
    10: (52, 56, 97),
    11: (60, 65, 113),
    12: (60, 65, 113),
    13: (60, 65, 113),
}


@pytest.mark.parametrize("minor", sorted(DOWNLOAD_BUDGET_KB))
def test_each_functions_layer_stays_within_its_download_budget(
    real_builds: Path, minor: int
) -> None:
    """docs/bytecode.md, "Sizes and cold start": the core alone, with api, every part, zipped.

    A guard against growth by accident: raising it is a decision, with the sizes in the docs.
    """
    runtime = _bytecode.runtime_name(minor)
    if not (result := _bytecode.read_manifest(real_builds, runtime)) or not result.has_bytecode:
        pytest.skip(f"no python3.{minor} here")
    core, api, every = DOWNLOAD_BUDGET_KB[minor]
    assert _download_kb(real_builds, runtime, ()) <= core
    assert _download_kb(real_builds, runtime, ("api",)) <= api
    assert _download_kb(real_builds, runtime, PARTS) <= every


def _download_kb(builds: Path, runtime: str, parts: Iterable[str]) -> float:
    return _bytecode.zipped_kb(_bytecode.assemble_layer(builds, runtime, frozenset(parts)))


def test_a_source_only_layer_stays_within_its_download_budget(real_builds: Path) -> None:
    """docs/bytecode.md: python3.14 (no interpreter here) at most 45 KB core, 81 KB all."""
    runtime = _bytecode.runtime_name(14)
    assert _download_kb(real_builds, runtime, ()) <= 45
    assert _download_kb(real_builds, runtime, PARTS) <= 81


def test_no_layer_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no layer source"):
        _bytecode.ensure_built(tmp_path, tmp_path / "out")


def test_the_build_writes_the_bundle_layout_the_loader_reads() -> None:
    """The build takes the format and file names from the loader it ships (one place)."""
    assert _bundle_build.loader_settings(LOADER) == (b"LXB2", ".bundle")
    text = LOADER.read_text()
    assert f'_CORE_PART = "{CORE}"' in text


# --- setup.py loads the build by path, in pip's build environment -------------------------


def _imports(module: Path) -> tuple[set[str], set[str]]:
    """The top-level modules ``module`` imports absolutely (anywhere in it), and its
    relative imports."""
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
    assert seen == {"_bundle_build", "_bytecode", "_interpreters", "_layer_parts", "_slim_source"}


def test_a_build_removes_what_a_killed_build_left_and_nothing_of_a_running_one(
    tmp_path: Path,
) -> None:
    builds = tmp_path / "builds"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)  # a process that has exited
    left = builds / f".python3.12.{dead}.tmp"
    retired = builds / f".python3.12.{dead}.old"
    running = builds / f".python3.12.{os.getppid()}.tmp"  # pytest's parent: alive
    for folder in (left, retired, running):
        (folder / "python").mkdir(parents=True)
    _bytecode.build_layers(LAYER, builds, minors=(12,), interpreters={12: None})
    assert not left.exists() and not retired.exists()
    assert running.exists()
