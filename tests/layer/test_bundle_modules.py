"""A module served from the built layer's bundles is set up exactly as ``importlib`` would.

``_bundles.Bundles.create_module`` makes the module object with the attributes
``importlib`` would set (cheaper: importlib looks each one up first, and each
miss builds an ``AttributeError``). The reference is importlib's own
``_init_module_attrs`` on a fresh module for the same spec (and its
``cache_from_source`` for ``__cached__``): same names, same values, same
order, for the modules the package preloads and for those imported later
through ``import`` (a package and plain modules). Real parts: this checkout's
build for the running Python, copied read-only, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from lx_built_layer import read_only_layer

from cdk_lambda_xray import _bytecode

pytestmark = pytest.mark.timeout(120)

PROBE = r"""
import json, sys, types

sys.path.insert(0, sys.argv[1])
import lambda_xray
preloaded = sorted(n for n in sys.modules if n.startswith("lambda_xray."))
import lambda_xray.wire_trim, lambda_xray.patches.botocore, lambda_xray.compat  # by import
bootstrap = sys.modules["_frozen_importlib"]
external = sys.modules["_frozen_importlib_external"]


def described(value):
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, list):
        return ["list", *value]
    return type(value).__name__ + "@" + str(id(value))


out = {"preloaded": preloaded, "modules": {}}
for name in sorted(n for n in sys.modules if n.startswith("lambda_xray.")):
    module = sys.modules[name]
    if name == "lambda_xray._bundles":
        continue  # run by the package itself, not imported
    reference = types.ModuleType(name)
    bootstrap._init_module_attrs(module.__spec__, reference)
    keys = list(reference.__dict__)
    out["modules"][name] = {
        "loader": type(module.__loader__).__name__,
        "made": [[k, described(v)] for k, v in list(module.__dict__.items())[: len(keys)]
                 if k != "__doc__"],
        "reference": [[k, described(v)] for k, v in reference.__dict__.items()
                      if k != "__doc__"],
        # The spec is shared: the compiled-file path worked out by importlib itself.
        "cached": [module.__cached__, external.cache_from_source(module.__spec__.origin)],
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module", params=[10, 11, 12, 13])
def probed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The probe's findings under each Python present (its layer built with bytecode)."""
    minor: int = request.param
    python = _bytecode.find_interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} here")
    layer = read_only_layer({"compat"}, tmp_path_factory.mktemp("opt") / "opt", minor)
    done = subprocess.run(
        [python, "-c", PROBE, str(layer)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_bundled_module_has_importlibs_attributes_in_importlibs_order(
    probed: dict[str, Any],
) -> None:
    modules = probed["modules"]
    for name, seen in modules.items():
        assert seen["loader"] == "Bundles", name
        assert seen["made"] == seen["reference"], name
        assert seen["cached"][0] == seen["cached"][1], name


def test_both_ways_in_are_covered(probed: dict[str, Any]) -> None:
    """Preloaded by the package, and imported later (a package and plain modules)."""
    modules = probed["modules"]
    assert "lambda_xray.handler" in probed["preloaded"]
    later = {"lambda_xray.wire_trim", "lambda_xray.patches.botocore", "lambda_xray.compat"}
    assert later <= set(modules) and not later & set(probed["preloaded"])
    made = dict(map(tuple, modules["lambda_xray.compat"]["made"]))
    assert made["__path__"][0] == "list"  # a package: its search locations
    assert made["__cached__"].endswith(".pyc") and made["__file__"].endswith("__init__.py")
