"""The layer's root (``/opt/python``) on ``sys.path``: the built layer's cheap finder for it.

Every top-level import the function's folder does not satisfy asks the layer's
root first; the built layer puts ``_bundles.LayerRoot`` in the place of its
``FileFinder`` (measured: 5 M instructions less while boto3 loads). These
tests hold it to the ``FileFinder``'s answers, with other layers' modules
beside ``lambda_xray`` as on Lambda, and to its refreshes. Real parts only:
this checkout's build for the running Python, assembled and copied as a
function gets it, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path

pytestmark = pytest.mark.timeout(120)

# Each name: the cheap finder's answer and a fresh FileFinder's, as (origin, search
# locations, loader type); then real imports, pkgutil's listing, and what a later
# module needs to be found ("mtime": the folder's time changes; "invalidate":
# importlib.invalidate_caches(), the folder's time unchanged; "fixed": a folder
# writable by no one, made writable by its owner for the write and its time
# changed, which is not looked at: the module is found after invalidate_caches()).
PROBE = r"""
import importlib, importlib.util, json, os, pkgutil, sys

root, late = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
import lambda_xray

external = sys.modules["_frozen_importlib_external"]
finder = sys.path_importer_cache[root]
standard = external.FileFinder(root, *external._get_supported_file_loaders())


def answer(spec):
    if spec is None:
        return None
    locations = spec.submodule_search_locations
    return [spec.origin, list(locations) if locations is not None else None,
            type(spec.loader).__name__]


names = ["other_layer_mod", "other_pkg", "ns_pkg", "lambda_xray", "json", "no_such_module",
         "README", "other_layer_mod.sub"]
out = {
    "finder": type(finder).__name__,
    "answers": {name: [answer(finder.find_spec(name)), answer(standard.find_spec(name))]
                for name in names},
    "listed": sorted(m.name for m in pkgutil.iter_modules([root])),
}
import other_layer_mod, other_pkg, colorsys
out["imported"] = [other_layer_mod.VALUE, other_pkg.VALUE, colorsys.__name__]
try:
    import no_such_module
except ModuleNotFoundError as exc:
    out["missing"] = exc.name
if late:
    assert importlib.util.find_spec("late_mod") is None  # a miss, with the listing read
    stat = os.stat(root)
    if late == "fixed":
        os.chmod(root, stat.st_mode | 0o200)
    with open(os.path.join(root, "late_mod.py"), "w") as file:
        file.write("VALUE = 'late'\n")
    if late == "fixed":
        os.chmod(root, stat.st_mode)
    if late in ("mtime", "fixed"):
        os.utime(root, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    else:
        os.utime(root, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        importlib.invalidate_caches()
    if late == "fixed":
        try:
            import late_mod
        except ModuleNotFoundError:
            out["before invalidate"] = "not found"
        importlib.invalidate_caches()
    import late_mod
    out["late"] = late_mod.VALUE
print(json.dumps(out))
"""


def _layer_root(dest: Path, read_only: bool, minor: int = sys.version_info[1]) -> Path:
    """The core layer for Python 3.``minor`` with another layer's files beside ``lambda_xray``."""
    builds = layer_builds_path()
    _bytecode.ensure_built(layer_asset_path(), builds, minors=(minor,))
    runtime = _bytecode.runtime_name(minor)
    shutil.copytree(_bytecode.assemble_layer(builds, runtime, frozenset()), dest)
    root = dest / "python"
    (root / "other_layer_mod.py").write_text("VALUE = 'module'\n")
    (root / "other_pkg").mkdir()
    (root / "other_pkg" / "__init__.py").write_text("VALUE = 'package'\n")
    (root / "ns_pkg").mkdir()
    (root / "README").write_text("not a module\n")
    if read_only:
        for path in [dest, *dest.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    return root


def _probe(root: Path, late: str = "", python: str = sys.executable) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-c", PROBE, str(root), late],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module", params=[10, 11, 12, 13])
def read_only(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The probe's findings under each Python present whose layer is built with bytecode."""
    minor: int = request.param
    python = _bytecode.find_interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} here")
    root = _layer_root(tmp_path_factory.mktemp("opt") / "opt", read_only=True, minor=minor)
    return _probe(root, python=python)


def test_the_built_layer_stands_in_for_its_roots_file_finder(read_only: dict[str, Any]) -> None:
    assert read_only["finder"] == "LayerRoot"


def test_every_name_gets_the_file_finders_answer(read_only: dict[str, Any]) -> None:
    answers = read_only["answers"]
    for name, (cheap, standard) in answers.items():
        assert cheap == standard, name
    # Some found (a module, a package, a namespace folder, the layer), some not.
    assert answers["other_layer_mod"][0][0].endswith("/other_layer_mod.py")
    assert answers["ns_pkg"][0][0] is None and answers["ns_pkg"][0][1]
    assert answers["json"][0] is None and answers["no_such_module"][0] is None


def test_other_layers_modules_and_the_standard_library_import_as_before(
    read_only: dict[str, Any],
) -> None:
    assert read_only["imported"] == ["module", "package", "colorsys"]
    assert read_only["missing"] == "no_such_module"


def test_pkgutil_lists_the_layer_root_as_before(read_only: dict[str, Any]) -> None:
    assert {"lambda_xray", "other_layer_mod", "other_pkg"} <= set(read_only["listed"])


@pytest.mark.parametrize("refresh", ["mtime", "invalidate"])
def test_a_module_written_into_the_root_later_is_found(refresh: str, tmp_path: Path) -> None:
    """As with ``FileFinder``: a new modification time, or ``importlib.invalidate_caches()``."""
    out = _probe(_layer_root(tmp_path / "opt", read_only=False), refresh)
    assert out["finder"] == "LayerRoot"
    assert out["late"] == "late"


def test_a_folder_no_one_may_write_is_listed_once(tmp_path: Path) -> None:
    """Read-only (Lambda's ``/opt``, or writable by no one): no ``stat`` per miss; a module
    written anyway is found after ``importlib.invalidate_caches()``, as Python promises."""
    out = _probe(_layer_root(tmp_path / "opt", read_only=True), "fixed")
    assert out["finder"] == "LayerRoot"
    assert out["before invalidate"] == "not found"
    assert out["late"] == "late"
