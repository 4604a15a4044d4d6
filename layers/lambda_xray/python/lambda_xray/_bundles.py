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
from os import listdir, stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["INIT_MODULES", "Bundles", "LayerRoot", "install"]

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
    LayerRoot.stand_in(directory.rpartition("/")[0])
    finder.preload(INIT_MODULES)
    return finder


def _stand_in(directory: str, fullname: str, part: str | None, spec_type: Any) -> Any:
    """The spec of ``_untraced``'s stand-in for ``fullname`` of the missing ``part``, or
    ``None``. ``_untraced`` is in no bundle: run from its source beside the package."""
    name = _PREFIX + "_untraced"
    try:
        module = sys.modules.get(name)
        if module is None:
            module = type(sys)(name)
            module.__file__ = path = f"{directory}/_untraced.py"
            with open(path, "rb") as file:
                exec(compile(file.read(), path, "exec"), module.__dict__)
            sys.modules[name] = module
        return module.missing_part_spec(fullname, part, spec_type)
    except Exception:  # never worse than the missing part itself
        return None


def _unchangeable(path: str) -> bool:
    """Whether the directory ``path`` cannot change while the process runs: on a
    read-only file system, or writable by no one."""
    try:
        from os import ST_RDONLY, statvfs

        return bool(statvfs(path).f_flag & ST_RDONLY) or not stat(path).st_mode & 0o222
    except Exception:  # no statvfs here, or the folder is gone: look every time
        return False


class LayerRoot:
    """The path entry finder of the layer's root (``/opt/python``), in place of its
    ``FileFinder``: the same answers, a miss for a fraction of the cost.

    Every import of a top-level module the function's folder does not hold asks
    each ``sys.path`` entry in turn, the layer's root among them, which holds
    little (``lambda_xray``; other layers' packages on Lambda). Its standard
    ``FileFinder`` answers each miss in Python, trying every file suffix:
    measured, 5 M instructions while boto3 loads and makes a client (about 110
    misses), a third of the layer's whole cold start. This finder keeps the
    names the directory's entries can be imported as and hands every name that
    may be there to the ``FileFinder``; the rest is ``None`` at once.
    ``pkgutil.iter_modules`` and any other attribute go to the ``FileFinder`` too.

    The listing is read again when ``importlib.invalidate_caches()`` is called
    (what Python promises for modules written while it runs) and, as
    ``FileFinder`` does, whenever the directory's modification time changes,
    unless the directory cannot change: on a read-only file system (``/opt``
    on Lambda) or without write permission for anyone, it is listed once and
    a miss costs no ``stat`` (0.7 M instructions of a boto3 cold start).
    """

    __slots__ = ("_finder", "_fixed", "_mtime", "_names", "path")

    def __init__(self, finder: Any, path: str) -> None:
        self._finder = finder
        self.path = path
        self._mtime = -1
        self._names: frozenset[str] | None = None
        self._fixed = _unchangeable(path)

    @classmethod
    def stand_in(cls, path: str) -> None:
        """Put one in the place of the standard ``FileFinder`` cached for ``path``
        (a ``sys.path`` entry), if there is one. Never raises."""
        try:
            cache = sys.path_importer_cache
            finder = cache.get(path)
            standard = sys.modules["_frozen_importlib_external"].FileFinder
            # Linux only: elsewhere FileFinder may match names regardless of case.
            if type(finder) is standard and sys.platform == "linux":
                cache[path] = cls(finder, path)
        except Exception:
            return

    def find_spec(self, fullname: str, target: object = None) -> Any:
        """``None`` for a name none of the directory's entries can be; else the
        ``FileFinder``'s answer."""
        names = self._names
        if not self._fixed or self._mtime == -1:
            names = self._current()
        if names is not None and fullname.rpartition(".")[2] not in names:
            return None
        return self._finder.find_spec(fullname, target)

    def _current(self) -> frozenset[str] | None:
        """The listing, read again if the directory's modification time changed."""
        try:
            mtime = stat(self.path).st_mtime_ns
        except OSError:
            mtime = -1
        if mtime != self._mtime:
            self._names = self._listed()
            self._mtime = mtime
        return self._names

    def _listed(self) -> frozenset[str] | None:
        """What the entries can be imported as: a folder ``x`` or a file ``x.<suffix>``
        is ``x``; ``None`` (ask the ``FileFinder`` always) if the folder cannot be read."""
        try:
            return frozenset([entry.partition(".")[0] for entry in listdir(self.path)])
        except Exception:
            return None

    def invalidate_caches(self) -> None:
        """Read the listing again next time (``importlib.invalidate_caches``)."""
        self._mtime = -1
        self._finder.invalidate_caches()

    def iter_modules(self, prefix: str = "") -> Any:
        """What ``pkgutil.iter_modules`` lists for this directory: the ``FileFinder``'s."""
        import pkgutil  # loaded by the caller

        # pkgutil's own dispatch on the finder's type (not in its documented API).
        return pkgutil.iter_importer_modules(self._finder, prefix)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        if name in LayerRoot.__slots__:  # not set (yet): never ask the FileFinder for it
            raise AttributeError(name)
        return getattr(self._finder, name)


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
        # A spec's ``cached`` (``__cached__``) is worked out by importlib's
        # cache_from_source when first read; written by find_spec instead, the same
        # path, under the usual flags (no -O, no pycache prefix; else importlib's).
        tag = sys.implementation.cache_tag
        usual = tag and not sys.flags.optimize and sys.pycache_prefix is None
        self._pyc = f".{tag}.pyc" if usual else None

    def path_hook(self, path: str) -> Bundles:
        """This finder for the package's directories (``sys.path_hooks``)."""
        if path == self._directory or path.startswith(self._directory + "/"):
            return self
        raise ImportError("not a lambda_xray directory")

    path_hook._lambda_xray_bundles = True  # type: ignore[attr-defined]

    def find_spec(self, fullname: str, target: object = None) -> Any:
        """The spec of ``fullname`` if a bundle holds it; ``None`` otherwise.

        :raises ModuleNotFoundError: ``fullname`` is in a part this layer lacks (and
            ``_untraced`` has no stand-in for it: the user API has one).
        """
        try:
            entry = self._modules.get(fullname) or self._from_part(fullname)
        except ModuleNotFoundError:  # a part this layer lacks: a stand-in if there is one
            spec = _stand_in(self._directory, fullname, self._index.get(fullname), self._spec_type)
            if spec is None:
                raise
            return spec
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
        if self._pyc is not None:
            folder, _, stem = (location, "", "__init__") if is_package else location.rpartition("/")
            spec.cached = f"{folder}/__pycache__/{stem}{self._pyc}"
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

        For the modules Init imports anyway (:data:`INIT_MODULES`), the OTLP part's
        and each client patch as its library loads: run here, they skip the meta
        path walk, the module locks and the parent look-ups of ``import``
        (measured: 0.85 M of the 7.1 M instructions the layer's import and Init
        take; about 0.1 M per patch). Each is made and run as ``import`` would
        (its spec from :meth:`find_spec`, its module from :meth:`create_module`,
        ``sys.modules`` first, then the parent's attribute). A module already
        loaded, in no bundle of this layer or served by a stand-in is left
        alone; one that fails is removed again, and the next ``import`` of it
        raises as usual. Never raises.
        """
        modules = sys.modules
        for name in names:
            if name in modules or not name.startswith(_PREFIX):
                continue
            try:
                spec = self.find_spec(name)  # reads the bundle of its part if need be
                if spec is None or spec.loader is not self:  # not bundled, or a stand-in
                    continue
                module = self.create_module(spec)  # all module_from_spec does
                modules[name] = module
                self.exec_module(module)
                # As import leaves it: without it every later import of the module
                # looks for the attribute, and raises and drops an AttributeError.
                spec._initializing = False
                parent, _, child = name.rpartition(".")
                setattr(modules[parent], child, module)
            except Exception:
                modules.pop(name, None)

    def create_module(self, spec: Any) -> ModuleType:
        """The module object ``import`` would make, with every attribute it sets already set.

        Left to ``importlib`` (``create_module`` returning ``None``), each attribute
        is first looked up on the new module, and every miss builds and drops an
        ``AttributeError``; set here, importlib finds them and leaves them as they are.
        Same attributes, values and order as importlib's own.
        """
        module = type(sys)(spec.name)
        attributes = module.__dict__
        attributes["__package__"] = spec.parent
        attributes["__loader__"] = spec.loader
        attributes["__spec__"] = spec
        if spec.submodule_search_locations is not None:
            attributes["__path__"] = spec.submodule_search_locations
        attributes["__file__"] = spec.origin
        attributes["__cached__"] = spec.cached
        return module

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
