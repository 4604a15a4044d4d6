"""Run a callback right after a chosen module finishes executing its body.

A finder placed first on ``sys.meta_path`` answers only for the watched module
names: it asks the remaining finders for the real spec and wraps the loader so
the callback runs after ``exec_module``. Every other import costs one set
lookup. The module's ``__loader__`` and ``__spec__.loader`` are put back to
the original loader afterwards, so nothing downstream ever sees the wrapper.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

Callback = Callable[[ModuleType], None]


class _PatchingLoader(Loader):
    """Delegates to the real loader, then calls the callback once."""

    def __init__(self, loader: Loader, callback: Callback) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        try:
            self._loader.exec_module(module)
        finally:
            # Hide the wrapper again, whether or not the body raised.
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        self._callback(module)

    def __getattr__(self, name: str) -> object:
        # get_data, get_filename, is_package, ... of the real loader.
        return getattr(self._loader, name)


class PostImportFinder(MetaPathFinder):
    """Meta path finder that reports the import of watched module names."""

    def __init__(self) -> None:
        self._callbacks: dict[str, Callback] = {}
        self._busy = threading.local()

    def watch(self, name: str, callback: Callback) -> None:
        """Call ``callback(module)`` after ``name`` is next imported."""
        self._callbacks[name] = callback

    def unwatch(self, name: str) -> None:
        """Stop watching ``name`` (no error if it was not watched)."""
        self._callbacks.pop(name, None)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        callback = self._callbacks.get(fullname)
        if callback is None or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            spec = _find_with_others(self, fullname, path, target)
        finally:
            self._busy.name = None
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        # One shot: a reload or a second copy of the module is not patched twice.
        self._callbacks.pop(fullname, None)
        spec.loader = _PatchingLoader(spec.loader, callback)
        return spec


def _find_with_others(
    me: MetaPathFinder,
    fullname: str,
    path: Sequence[str] | None,
    target: ModuleType | None,
) -> ModuleSpec | None:
    for finder in list(sys.meta_path):
        if finder is me:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec: ModuleSpec | None = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None
