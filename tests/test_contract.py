"""Both halves agree on the names they share, and the package layout holds."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import constructs

REPO_ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYNTH = _load(REPO_ROOT / "constructs" / "cdk_lambda_xray" / "_contract.py", "synth_contract")
RUNTIME = _load(
    REPO_ROOT / "layers" / "lambda_xray" / "python" / "lambda_xray" / "_contract.py",
    "runtime_contract",
)


def test_runtime_names_match_the_construct_names() -> None:
    runtime_names = {k: v for k, v in vars(RUNTIME).items() if k.isupper() and k != "TYPE_CHECKING"}
    assert runtime_names, "the runtime contract defines no names"
    for name, value in runtime_names.items():
        assert getattr(SYNTH, name) == value, name


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
