"""Run a callback right after a chosen module finishes executing its body.

A finder placed first on ``sys.meta_path`` answers only for the watched module
names: it asks the remaining finders for the real spec and wraps the loader so
the callback runs after ``exec_module``. Every other import costs one dict
look-up. The module's ``__loader__`` and ``__spec__.loader`` are put back to
the original loader afterwards, so nothing downstream ever sees the wrapper.

Duck-typed on purpose: ``importlib.abc`` costs tens of milliseconds to import,
more than the whole layer is allowed at cold start.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    Callback = Callable[[ModuleType], None]


class _PatchingLoader:
    """Delegates to the real loader, then calls the callback once."""

    def __init__(self, loader: Any, callback: Callback) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        spec: Any = module.__spec__
        try:
            self._loader.exec_module(module)
        finally:
            # Hide the wrapper again, whether or not the body raised.
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        self._callback(module)

    def __getattr__(self, name: str) -> Any:
        # get_data, get_filename, is_package, ... of the real loader.
        return getattr(self._loader, name)


class PostImportFinder:
    """Meta path finder that reports the import of watched module names."""

    def __init__(self) -> None:
        self._callbacks: dict[str, Callback] = {}
        self._busy: set[str] = set()

    def watch(self, name: str, callback: Callback) -> None:
        """Call ``callback(module)`` after ``name`` is next imported."""
        self._callbacks[name] = callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        callback = self._callbacks.get(fullname)
        if callback is None or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = _find_with_others(self, fullname, path, target)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        # One shot: a reload or a second copy of the module is not patched twice.
        self._callbacks.pop(fullname, None)
        spec.loader = _PatchingLoader(spec.loader, callback)  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        """Nothing cached here (``importlib.invalidate_caches`` calls this)."""


def _find_with_others(
    me: object,
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
