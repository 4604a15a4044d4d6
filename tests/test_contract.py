"""Both halves agree on the names they share, and the package layout holds."""

from __future__ import annotations

import ast
from pathlib import Path

import constructs

from cdk_lambda_xray import _contract as SYNTH
from cdk_lambda_xray import _shared

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_PACKAGE = REPO_ROOT / "layers" / "lambda_xray" / "python" / "lambda_xray"


def test_the_shared_names_are_the_layer_files_not_copies() -> None:
    from cdk_lambda_xray import _env_values
    from cdk_lambda_xray._shared import _contract as shared_contract

    assert (
        Path(shared_contract.__file__ or "").resolve() == (LAYER_PACKAGE / "_contract.py").resolve()
    )
    assert _env_values.grammar is shared_contract
    assert SYNTH.ENV_HANDLER is shared_contract.ENV_HANDLER
    layer_names = {
        k
        for k, v in vars(shared_contract).items()
        if k.isupper() and not k.startswith("_") and isinstance(v, str | tuple)
    } - {"TYPE_CHECKING"}
    assert layer_names, "the layer contract defines no names"
    assert set(SYNTH.__all__) >= layer_names, "a layer name is not re-exported by the library"


def test_shared_layer_modules_import_only_each_other_and_the_stdlib() -> None:
    # Loaded under another package name, an absolute `lambda_xray` import would fail.
    for name in _shared.SHARED:
        tree = ast.parse((LAYER_PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module == "__future__" or not node.module.startswith("lambda_xray")
                if node.level:
                    assert all(a.name in _shared.SHARED for a in node.names), name
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("lambda_xray") for a in node.names), name


def test_wrapper_handler_points_at_a_real_function_in_the_layer() -> None:
    module_path, _, func = SYNTH.WRAPPER_HANDLER.rpartition(".")
    source = (
        REPO_ROOT / "layers" / "lambda_xray" / "python" / (module_path.replace(".", "/") + ".py")
    )
    assert source.is_file(), source
    assert f"def {func}(" in source.read_text()


def test_constructs_is_the_pypi_package_not_the_source_root() -> None:
    # constructs/ is our source root; it must never shadow the PyPI package.
    assert hasattr(constructs, "Construct")
    assert "site-packages" in (constructs.__file__ or "")
    assert not (REPO_ROOT / "constructs" / "__init__.py").exists()
