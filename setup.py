"""Build hook: the wheel carries the tracing layer compiled for every Python it serves.

Everything else about the package is in pyproject.toml. ``build_py`` also
writes ``cdk_lambda_xray/_layer_builds/python3XY/`` (the layer's loader plus one
bundle of that version's bytecode per layer part, see
``constructs/cdk_lambda_xray/_bytecode.py`` and its stdlib-only siblings
``_bundle_build.py``, ``_slim_source.py``, ``_interpreters.py``, ``_layer_parts.py``)
into the build, or, for an editable install, into the checkout (gitignored).
A version whose interpreter is not on the build machine is built from source
only; the build says so and never fails for it.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "constructs" / "cdk_lambda_xray"


#: The name the package's build modules are loaded under (not ``cdk_lambda_xray``:
#: nothing else may see this bare copy).
_BUILD_PACKAGE = "_lambda_xray_build"


def _bytecode_module() -> ModuleType:
    # By path: importing the package would need its dependencies, which pip's
    # build environment does not have. A bare package on the package's folder,
    # whose __init__ never runs, lets _bytecode import its stdlib-only siblings
    # (_bundle_build, _slim_source, ...) by relative import, as when installed.
    if not (PACKAGE / "_bytecode.py").is_file():
        raise ImportError("constructs/cdk_lambda_xray/_bytecode.py not found")
    package = sys.modules.get(_BUILD_PACKAGE)
    if package is None:
        package = ModuleType(_BUILD_PACKAGE)
        package.__path__ = [str(PACKAGE)]
        sys.modules[_BUILD_PACKAGE] = package
    return importlib.import_module(f"{_BUILD_PACKAGE}._bytecode")


class BuildPyWithLayerBytecode(build_py):
    """``build_py``, then the per-version layer trees next to the package's modules."""

    def run(self) -> None:
        super().run()
        bytecode = _bytecode_module()
        if self.editable_mode:
            builds = PACKAGE / bytecode.BUILDS_DIR_NAME
        else:
            builds = Path(self.build_lib) / "cdk_lambda_xray" / bytecode.BUILDS_DIR_NAME
        source = Path(os.path.realpath(PACKAGE / "_layer"))
        for result in bytecode.ensure_built(source, builds):
            print(f"layer bytecode: {result.describe()}")


setup(cmdclass={"build_py": BuildPyWithLayerBytecode})
