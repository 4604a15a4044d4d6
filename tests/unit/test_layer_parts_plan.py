"""Which parts of the tracing layer a function gets: the planner's rows and the code scan.

No CDK here: the planner is pure and the scan reads plain folders. The synth
side (``TracedFunction``, the aspect, ``TracingLayer``) is in test_layer_parts.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray import _tracers
from cdk_lambda_xray._code_scan import (
    combined,
    imports_compat,
    names_package,
    scan_directory,
    scan_inline,
)
from cdk_lambda_xray._layer_parts import CORE, PARTS, part_of_module, with_required
from cdk_lambda_xray._plan import (
    UNKNOWN,
    CodeFacts,
    FunctionFacts,
    LayerParts,
    Level,
    TraceFormat,
    TracingOptions,
    plan,
)

ALL = tuple(PARTS)
NOTHING = CodeFacts()
FORMAT = "LAMBDA_XRAY_FORMAT"


def py(code: CodeFacts | None = NOTHING, **kwargs: Any) -> FunctionFacts:
    return FunctionFacts(runtime="python3.12", handler="app.handler", code=code, **kwargs)


def explicit(**kwargs: Any) -> TracingOptions:
    return TracingOptions(explicit=True, **kwargs)


def swept(**kwargs: Any) -> TracingOptions:
    return TracingOptions(explicit=False, **kwargs)


@dataclass(frozen=True)
class Row:
    name: str
    facts: FunctionFacts
    options: TracingOptions
    parts: tuple[str, ...]
    findings: tuple[tuple[str, Level], ...] = ()


ROWS = [
    Row("boto3 only: the core alone", py(), explicit(), ()),
    Row("trace_format OTLP: otlp", py(), explicit(trace_format=TraceFormat.OTLP), ("otlp",)),
    Row("application_signals: otlp", py(), explicit(application_signals=True), ("otlp",)),
    Row("trace_format XRAY: the core alone", py(), explicit(trace_format=TraceFormat.XRAY), ()),
    Row(
        "the function's own LAMBDA_XRAY_FORMAT=OTLP (any case): otlp",
        py(environment={FORMAT: "OTLP"}),
        swept(),
        ("otlp",),
    ),
    Row(
        "swept: the function's xray variable wins over the option: no otlp",
        py(environment={FORMAT: "xray"}),
        swept(trace_format=TraceFormat.OTLP),
        (),
    ),
    Row(
        "a format that is a token may be OTLP: otlp",
        py(environment={FORMAT: UNKNOWN}),
        explicit(),
        ("otlp",),
    ),
    Row(
        "httpx in the code: async_http",
        py(CodeFacts(libraries=frozenset({"httpx"}))),
        explicit(),
        ("async_http",),
    ),
    Row(
        "requests in the code: requests",
        py(CodeFacts(libraries=frozenset({"requests"}))),
        swept(),
        ("requests",),
    ),
    Row(
        "aiobotocore: async_http",
        py(CodeFacts(libraries=frozenset({"aiobotocore"}))),
        swept(),
        ("async_http",),
    ),
    Row(
        "redis and psycopg2: databases, once",
        py(CodeFacts(libraries=frozenset({"redis", "psycopg2"}))),
        explicit(),
        ("databases",),
    ),
    Row(
        "the user API: api",
        py(CodeFacts(uses_api=True)),
        explicit(),
        ("api",),
    ),
    Row(
        "a compat import: compat and the api it requires",
        py(CodeFacts(imports_compat=True)),
        explicit(),
        ("api", "compat"),
    ),
    Row(
        "compat named in layer_parts: api with it",
        py(),
        swept(layer_parts=("compat",)),
        ("api", "compat"),
    ),
    Row(
        "everything shown, in the parts' order",
        py(
            CodeFacts(
                libraries=frozenset({"valkey", "aiohttp", "requests"}),
                imports_compat=True,
                uses_api=True,
            )
        ),
        explicit(trace_format=TraceFormat.OTLP),
        ALL,
    ),
    Row(
        "code that could not be read: every part, and an info saying why",
        py(CodeFacts(unreadable="the code is in an S3 bucket")),
        explicit(),
        ALL,
        (("AllLayerParts", Level.INFO),),
    ),
    Row("code not looked at (the review): every part, no finding", py(None), swept(), ALL),
    Row("LayerParts.ALL: every part, no finding", py(), explicit(layer_parts=LayerParts.ALL), ALL),
    Row(
        "LayerParts.ALL also overrides unreadable code, without an info",
        py(CodeFacts(unreadable="zip")),
        swept(layer_parts=LayerParts.ALL),
        ALL,
    ),
    Row(
        "named parts are added to what the code shows",
        py(CodeFacts(libraries=frozenset({"httpx"}))),
        explicit(layer_parts=("databases", "core")),
        ("async_http", "databases"),
    ),
    Row(
        "the user's own tracing layer: no parts chosen",
        py(),
        explicit(own_layer=True, trace_format=TraceFormat.OTLP),
        (),
    ),
    Row(
        "a function without the layer gets no parts",
        FunctionFacts(runtime="nodejs22.x", handler="index.handler", code=NOTHING),
        explicit(),
        (),
        (("NoLayer", Level.INFO),),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_layer_parts_rule(row: Row) -> None:
    decided = plan(row.facts, row.options)
    assert decided.layer_parts == row.parts
    assert [(f.id, f.level) for f in decided.findings] == list(row.findings)


def test_the_info_for_unreadable_code_says_why_and_lists_the_parts() -> None:
    decided = plan(py(CodeFacts(unreadable="the code asset is a zip file")), explicit())
    [info] = decided.findings
    assert "the code asset is a zip file" in info.message
    assert all(name in info.message for name in ALL)
    assert info.message.startswith("lambda-xray: ")


@pytest.mark.parametrize("make", [explicit, swept])
def test_an_unknown_part_name_is_an_error_naming_it_and_the_known_parts(make: Any) -> None:
    decided = plan(py(), make(layer_parts=("otlp", "postgres")))
    [error] = decided.errors
    assert error.id == "LayerParts"
    assert "'postgres'" in error.problem and "'otlp'" not in error.problem
    assert all(name in error.fix for name in ALL)


# --- what the code shows -----------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"app.py": "import boto3\n"}, set()),
        ({"httpx/__init__.py": "", "app.py": ""}, {"httpx"}),
        ({"PyMySQL-1.1.0.dist-info/METADATA": "Name: PyMySQL\n"}, {"pymysql"}),
        ({"redis.py": "", "psycopg2/__init__.py": ""}, {"redis", "psycopg2"}),
        ({"HTTPX/__init__.py": ""}, set()),  # import names are case-sensitive
        ({"vendor/httpx/__init__.py": ""}, set()),  # not importable as httpx
        ({"lambda_xray/patches/httpx.py": ""}, set()),  # a module named so, not the library
        ({"python/aiohttp/__init__.py": ""}, {"aiohttp"}),  # a layer's top level
        ({"python/lib/python3.12/site-packages/valkey/__init__.py": ""}, {"valkey"}),
    ],
)
def test_a_library_counts_where_it_is_importable(
    tmp_path: Path, files: dict[str, str], found: set[str]
) -> None:
    facts = scan_directory(_tree(tmp_path, files), "the code asset")
    assert facts.libraries == found
    assert facts.unreadable is None


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        ("from lambda_xray.compat import xray_sdk\n", True),
        ("from lambda_xray.compat.xray_sdk import xray_recorder\n", True),
        ("import lambda_xray.compat\n", True),
        ("import lambda_xray.compat.powertools as pt\n", True),
        ("from lambda_xray import compat\n", True),
        ("from lambda_xray import (\n    annotate,\n    compat,\n)\n", True),
        ("import lambda_xray\nfrom lambda_xray import annotate, subsegment\n", False),
        ("from lambda_xray import compatible_thing\n", False),
    ],
)
def test_imports_of_lambda_xray_compat_are_found(source: str, imports: bool) -> None:
    assert imports_compat(source) is imports
    assert scan_inline(source).imports_compat is imports


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("from lambda_xray import annotate, metadata, subsegment\n", True),
        ("import lambda_xray\n\nlambda_xray.annotate('k', 1)\n", True),
        ("from lambda_xray.api import subsegment\n", True),
        ("import lambda_xray.api as xray\n", True),
        ("from lambda_xray import (\n    annotate,\n)\n", True),
        ("import importlib\napi = importlib.import_module('lambda_xray.api')\n", True),
        ("api = __import__('lambda_xray')\n", True),
        ("from lambda_xray.compat import xray_recorder\n", True),
        ("import os\nos.environ['LAMBDA_XRAY_HANDLER']\n", False),  # not the package
        ("import cdk_lambda_xray\n", False),  # the CDK library, not the layer
        ("import lambda_xray_helpers\n", False),  # another package
        ("import boto3\n", False),
    ],
)
def test_a_use_of_the_user_api_is_any_mention_of_the_package(source: str, names: bool) -> None:
    assert names_package(source) is names
    assert scan_inline(source).uses_api is names


@pytest.mark.parametrize("where", ["app.py", "pkg/mod.py", "python/shared/util.py"])
def test_the_user_api_and_compat_count_in_code_and_layers_wherever_the_walk_reads(
    tmp_path: Path, where: str
) -> None:
    files = {where: "from lambda_xray import compat, annotate\n", "other.py": "import os\n"}
    facts = scan_directory(_tree(tmp_path, files), "layer L")
    assert facts.uses_api and facts.imports_compat and facts.unreadable is None


@pytest.mark.parametrize(
    "where",
    [
        "lambda_xray/compat/__init__.py",  # the layer's own package, in a function's code
        "python/lambda_xray/api.py",  # a tracing layer's source among the function's layers
        "mylib/core.py",  # a package pip installed (its .dist-info beside it): never read
    ],
)
def test_the_layer_package_and_installed_packages_are_not_the_function_using_the_api(
    tmp_path: Path, where: str
) -> None:
    files = {where: "from lambda_xray import compat, annotate\n", "app.py": "import boto3\n"}
    files["mylib-1.0.dist-info/METADATA"] = "Name: mylib\n"
    facts = scan_directory(_tree(tmp_path, files), "the code asset")
    assert not facts.uses_api and not facts.imports_compat


def test_a_walk_past_its_entry_limit_leaves_the_code_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tracers, "MAX_ASSET_FILES", 5)
    _tree(tmp_path, {f"m{i}.py": "" for i in range(10)})
    facts = scan_directory(tmp_path, "the code asset")
    assert facts.unreadable == "the code asset: it has more than 5 entries"


def test_a_file_past_the_per_file_limit_leaves_the_code_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tracers, "MAX_SOURCE_BYTES", 10)
    _tree(tmp_path, {"big.py": "x = 1\n" * 10, "small.py": "y = 2\n"})
    facts = scan_directory(tmp_path, "the code asset")
    assert facts.unreadable is not None and "big.py is larger than 10 bytes" in facts.unreadable


def test_the_total_read_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tracers, "MAX_TOTAL_SOURCE_BYTES", 20)
    _tree(tmp_path, {f"m{i}.py": "x = 1\n" * 3 for i in range(5)})
    walk = _tracers.AssetWalk(tmp_path, frozenset())
    read = [text for _, text in walk]
    assert len(read) == 1  # a second file would pass the bound: the walk stops before it
    assert walk.incomplete == "its .py files hold more than 20 bytes"


def test_the_facts_of_code_and_layers_combine() -> None:
    together = combined(
        [
            CodeFacts(frozenset({"httpx"}), True),
            CodeFacts(uses_api=True),
            CodeFacts(frozenset({"redis"}), unreadable="layer A is imported"),
            CodeFacts(unreadable="layer B is a zip file"),
        ]
    )
    assert together.libraries == {"httpx", "redis"}
    assert together.imports_compat and together.uses_api
    assert together.unreadable == "layer A is imported; layer B is a zip file"


# --- what the parts import: the table's ``requires`` is true ----------------------------------

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"


def _module_paths() -> dict[str, str]:
    """Dotted name -> path relative to ``python/`` of every layer module."""
    found = {}
    for path in sorted(LAYER_PYTHON.rglob("*.py")):
        rel = path.relative_to(LAYER_PYTHON).as_posix()
        dotted = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        found[dotted] = rel
    return found


def _imported(path: Path, modules: dict[str, str]) -> set[str]:
    """The layer modules ``path`` imports anywhere in it (at the top or in a function)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in modules}


def test_each_part_imports_only_the_core_itself_and_the_parts_it_requires() -> None:
    """A part that needs another says so in ``requires``: without it a function's layer
    would hold the part and miss what it imports."""
    modules = _module_paths()
    wrong = []
    for dotted, rel in modules.items():
        part = part_of_module(rel)
        if part == CORE or rel == "lambda_xray/testing.py":
            continue
        allowed = {CORE, part, *with_required({part})}
        for name in sorted(_imported(LAYER_PYTHON / rel, modules)):
            if part_of_module(modules[name]) not in allowed:
                wrong.append(f"{dotted} ({part}) imports {name} ({part_of_module(modules[name])})")
    assert wrong == []
    assert all(set(part.requires) <= set(PARTS) for part in PARTS.values())


def test_no_core_module_imports_the_user_api() -> None:
    """The premise of the ``api`` part: only the user's code and ``compat`` load it (a core
    module that did would get the do-nothing stand-in in a layer without the part)."""
    modules = _module_paths()
    users = [
        dotted
        for dotted, rel in modules.items()
        if part_of_module(rel) == CORE
        and rel
        not in ("lambda_xray/testing.py", "lambda_xray/__init__.py", "lambda_xray/_untraced.py")
        and "lambda_xray.api" in _imported(LAYER_PYTHON / rel, modules)
    ]
    assert users == []


def test_a_part_brings_the_parts_it_requires() -> None:
    assert with_required({"compat"}) == {"api", "compat"}
    assert with_required({"otlp", "core"}) == {"otlp", "core"}
    assert with_required(set()) == frozenset()
