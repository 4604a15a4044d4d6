"""``lambda_xray.*`` from the bundle files of a built layer (see ``lambda_xray/__init__.py``).

Not a module of the source: in a layer built by ``cdk_lambda_xray`` the
package's ``__init__`` runs this from ``core.bundle`` and calls
:func:`install`. The finder is a path entry finder for the package's
directories (in ``sys.path_importer_cache``, with a path hook should that
cache be cleared), so the standard ``PathFinder`` asks it for
``lambda_xray.*`` only and no other import pays for it; the client patches'
import hook, which stands in for ``PathFinder``, keeps working. A module's
code is unmarshalled when it is imported; another part's bundle is read when
its first module is. Uses only modules loaded at interpreter start.
"""

from __future__ import annotations

import sys
from marshal import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["INIT_MODULES", "Bundles", "install"]

_PREFIX = "lambda_xray."

#: What the runtime's Init imports anyway, leaves first: the handler wrapper,
#: what its Init binds, and the ``http.client``/urllib3 and threads patches
#: (every function on Lambda imports ``http.client`` and ``threading``: botocore,
#: urllib3, requests and urllib.request sit on them). A test keeps the list
#: equal to what a plain function's Init loads plus those. :meth:`Bundles.preload`
#: runs them when the package is imported.
INIT_MODULES: tuple[str, ...] = (
    "lambda_xray._contract",
    "lambda_xray.config",
    "lambda_xray.context",
    "lambda_xray.header",
    "lambda_xray.document",
    "lambda_xray.wire",
    "lambda_xray.emitter",
    "lambda_xray._recorder",
    "lambda_xray.patches",
    "lambda_xray.patches._common",
    "lambda_xray.patches.plain_http",
    "lambda_xray.threads",
    "lambda_xray.handler",
)


def install(
    directory: str,
    header: bytes,
    suffix: str,
    index: dict[str, str],
    modules: dict[str, tuple[bool, memoryview]],
    this: ModuleType,
) -> Bundles:
    """Serve ``lambda_xray.*`` under ``directory`` from ``modules`` and the part bundles.

    ``this`` is this module, run by the package's ``__init__``: it becomes
    ``lambda_xray._bundles``, as if imported.
    """
    finder = Bundles(directory, header, suffix, index, modules)
    spec = finder.find_spec(this.__name__)
    this.__dict__.update(__spec__=spec, __loader__=finder, __file__=spec.origin)
    # Registered last, when nothing can fail any more.
    hooks = sys.path_hooks
    hooks[:] = [hook for hook in hooks if not hasattr(hook, "_lambda_xray_bundles")]
    hooks.insert(0, finder.path_hook)
    sys.path_importer_cache[directory] = finder
    sys.modules[this.__name__] = this
    finder.preload(INIT_MODULES)
    return finder


class Bundles:
    """Path entry finder and loader of ``lambda_xray.*`` from the bundles in ``directory``."""

    _lambda_xray_bundles = True

    def __init__(
        self,
        directory: str,
        header: bytes,
        suffix: str,
        index: dict[str, str],
        modules: dict[str, tuple[bool, memoryview]],
    ) -> None:
        self._directory = directory
        self._header = header
        self._suffix = suffix
        self._index = index
        self._modules = modules
        spec = sys.modules[__name__.rpartition(".")[0]].__spec__
        self._spec_type: Any = type(spec)

    def path_hook(self, path: str) -> Bundles:
        """This finder for the package's directories (``sys.path_hooks``)."""
        if path == self._directory or path.startswith(self._directory + "/"):
            return self
        raise ImportError("not a lambda_xray directory")

    path_hook._lambda_xray_bundles = True  # type: ignore[attr-defined]

    def find_spec(self, fullname: str, target: object = None) -> Any:
        """The spec of ``fullname`` if a bundle holds it; ``None`` otherwise.

        :raises ModuleNotFoundError: ``fullname`` is in a part this layer lacks.
        """
        entry = self._modules.get(fullname) or self._from_part(fullname)
        if entry is None or not fullname.startswith(_PREFIX):
            return None
        is_package = entry[0]
        location = f"{self._directory}/{fullname[len(_PREFIX) :].replace('.', '/')}"
        origin = f"{location}/__init__.py" if is_package else f"{location}.py"
        spec = self._spec_type(fullname, self, origin=origin, is_package=is_package)
        spec.has_location = True  # __file__: the path the code objects name on Lambda
        if is_package:
            spec.submodule_search_locations = [location]
            sys.path_importer_cache[location] = self
        return spec

    def _from_part(self, fullname: str) -> tuple[bool, memoryview] | None:
        part = self._index.get(fullname)
        if part is None:
            return None
        path = f"{self._directory}/{part}{self._suffix}"
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: it is in the layer part {part!r}, which this "
                "function's layer version does not carry (the cdk-lambda-xray constructs give "
                "a function the parts its code and settings need; see docs/bytecode.md)",
                name=fullname,
            ) from None
        if data[: len(self._header)] != self._header:
            raise ImportError(f"{path} was built for another Python", name=fullname)
        _, modules = sys.modules["lambda_xray"]._bundle_contents(
            memoryview(data)[len(self._header) :]
        )
        for name in modules:
            self._index.pop(name, None)
        self._modules.update(modules)
        return self._modules.get(fullname)

    def preload(self, names: tuple[str, ...]) -> None:
        """Run the modules ``names`` now, in order, past ``import``'s per-module walk.

        For the modules Init imports anyway (:data:`INIT_MODULES`): run one after
        the other here, they skip the meta path walk, the module locks and the
        parent look-ups of ``import`` (measured: 0.85 M of the 7.1 M instructions
        the layer's import and Init take). Each is made and run as ``import`` would
        (its spec from :meth:`find_spec`, ``sys.modules`` first, then the parent's
        attribute). A module already loaded or not in the core is left alone; one
        that fails is removed again, and the next ``import`` of it raises as
        usual. Never raises.
        """
        modules = sys.modules
        module_from_spec = modules["_frozen_importlib"].module_from_spec
        for name in names:
            if name in modules or name not in self._modules:
                continue
            try:
                module = module_from_spec(self.find_spec(name))
                modules[name] = module
                self.exec_module(module)
                # As import leaves it: without it every later import of the module
                # looks for the attribute, and raises and drops an AttributeError.
                module.__spec__._initializing = False
                parent, _, child = name.rpartition(".")
                setattr(modules[parent], child, module)
            except Exception:
                modules.pop(name, None)

    def create_module(self, spec: object) -> None:
        """The default module object."""

    def exec_module(self, module: ModuleType) -> None:
        """Run the module's code from its bundle."""
        exec(self.get_code(module.__name__), module.__dict__)

    def get_code(self, fullname: str) -> Any:
        """The module's code object."""
        return loads(self._modules[fullname][1])

    def is_package(self, fullname: str) -> bool:
        """Whether ``fullname`` is a package."""
        return self._modules[fullname][0]

    def get_source(self, fullname: str) -> None:
        """``None``: the layer carries no source (tracebacks show file and line only)."""

    def invalidate_caches(self) -> None:
        """Nothing is cached from the file system."""
