"""A layer built for another Python than the one running: the handler runs untraced.

Lambda does not enforce a layer's compatible runtimes: a function whose
runtime was changed outside the constructs (console, another tool) runs a
layer whose bundles its interpreter cannot load. The package's ``__init__``
then imports this module (shipped as source beside it, so any Python
compiles it) and calls :func:`install`: one log line at Init says what
happened and how to fix it; ``lambda_xray.handler.handler`` is the
function's own handler (``LAMBDA_XRAY_HANDLER``), loaded at Init; the user
API (``annotate``, ``metadata``, ``subsegment``) does nothing; any other
layer module cannot be imported. The function works, untraced.

The same stand-in serves a layer that runs but lacks the part ``api`` (the
code scan did not see the function use the user API, or ``layer_parts`` was
chosen by hand): ``lambda_xray._bundles`` loads this module then and asks
:func:`missing_part_spec`; the user API does nothing, everything else is
traced, and one WARNING says what does nothing and how to fix it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

__all__ = ["MissingPart", "Untraced", "install", "missing_part_spec", "reason"]

#: What ``_contract.ENV_HANDLER`` says (that module is in the bundle this Python cannot load).
ENV_HANDLER = "LAMBDA_XRAY_HANDLER"


def reason(data: bytes, bundle_format: bytes) -> str:
    """Why the core bundle ``data`` (its first bytes suffice) cannot be loaded here."""
    running = "Python {}.{}".format(*sys.version_info[:2])
    if data[4:8] == bundle_format and len(data) >= 10:
        built = f"Python {data[8]}.{data[9]}"
        if built != running:
            runtime = f"python{data[8]}.{data[9]}"
            return f"this layer was built for {built} ({runtime}), the function runs {running}"
    return f"this layer's bundles cannot be loaded by {running}"


def install(directory: str, data: bytes, bundle_format: bytes) -> Untraced:
    """Serve the stand-ins under ``directory``; log once why tracing is off."""
    finder = Untraced(directory, reason(data, bundle_format))
    import logging

    logging.getLogger("lambda_xray").error(
        "lambda-xray: tracing is off: %s; the function's handler runs untraced. Redeploy it "
        "through the cdk-lambda-xray constructs (TracedFunction, XRayTracing), which give "
        "each function the layer built for its runtime.",
        finder.reason,
    )
    sys.path_importer_cache[directory] = finder
    return finder


class Untraced:
    """Path entry finder and loader of the stand-ins (handler, user API) under ``directory``."""

    def __init__(self, directory: str, why: str) -> None:
        self._directory = directory
        self.reason = why
        spec = sys.modules[__name__.rpartition(".")[0]].__spec__
        self._spec_type: Any = type(spec)

    def find_spec(self, fullname: str, target: object = None) -> Any:
        """The stand-in's spec.

        :raises ModuleNotFoundError: any other layer module.
        """
        if fullname not in _STAND_INS:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: tracing is off ({self.reason})", name=fullname
            )
        return self._spec_type(fullname, self, origin="untraced")

    def create_module(self, spec: object) -> None:
        """The default module object."""

    def exec_module(self, module: ModuleType) -> None:
        """Fill the stand-in in."""
        _STAND_INS[module.__name__](module)

    def invalidate_caches(self) -> None:
        """Nothing is cached."""


def _handler(module: ModuleType) -> None:
    """``handler``: the function's own, loaded now (Init), as the runtime would."""
    from os import environ

    name = environ.get(ENV_HANDLER, "")
    modname, _, fname = name.rpartition(".")
    if not modname or not fname:
        raise ImportError(f"{ENV_HANDLER}={name!r} does not name the function's handler")
    dotted = modname.replace("/", ".")
    __import__(dotted)
    module.__dict__["handler"] = getattr(sys.modules[dotted], fname)


class NoScope:
    """``subsegment(...)`` when untraced: a context manager (sync and async) and a
    decorator that do nothing."""

    subsegment = None

    def __enter__(self) -> NoScope:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> NoScope:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __call__(self, func: Any) -> Any:
        return func

    def annotate(self, key: str, value: object) -> None:
        """Nothing is recorded."""

    def metadata(self, key: str, value: object, namespace: str = "default") -> None:
        """Nothing is recorded."""


def subsegment(name: Any = None, *, namespace: str | None = None) -> Any:
    """``lambda_xray.subsegment`` when untraced: the function itself, or a :class:`NoScope`."""
    return name if callable(name) else NoScope()


def annotate(key: str, value: object) -> None:
    """``lambda_xray.annotate`` when untraced: nothing is recorded."""


def metadata(key: str, value: object, namespace: str = "default") -> None:
    """``lambda_xray.metadata`` when untraced: nothing is recorded."""


class ContextMissingError(Exception):
    """``lambda_xray.ContextMissingError`` when untraced: never raised."""


def _api(module: ModuleType) -> None:
    module.__dict__.update(
        subsegment=subsegment, annotate=annotate, metadata=metadata, Scope=NoScope
    )


def _context(module: ModuleType) -> None:
    module.__dict__["ContextMissingError"] = ContextMissingError


_STAND_INS: dict[str, Callable[[ModuleType], None]] = {
    "lambda_xray.handler": _handler,
    "lambda_xray.api": _api,
    "lambda_xray.context": _context,
}


#: Stand-ins for the modules of a layer part a running layer lacks: module -> part.
_PART_STAND_INS: dict[str, str] = {"lambda_xray.api": "api"}


def missing_part_spec(fullname: str, part: str | None, spec_type: Any) -> Any:
    """The spec of the stand-in for ``fullname``, which is in the layer part ``part`` this
    layer lacks; ``None`` when it has no stand-in (the import fails as it would)."""
    if _PART_STAND_INS.get(fullname) != part:
        return None
    return spec_type(fullname, MissingPart(), origin="untraced")


class MissingPart:
    """Loader of the user API's stand-in in a traced function whose layer lacks ``api``."""

    def create_module(self, spec: object) -> None:
        """The default module object."""

    def exec_module(self, module: ModuleType) -> None:
        """The do-nothing API, and one WARNING per process saying so."""
        _api(module)
        from lambda_xray import _log

        _log.warning_once(
            "part:api",
            "lambda_xray: annotate, metadata and subsegment do nothing in this function: the "
            "user API is in the layer part 'api', which is missing from this function's layer "
            "version (the code scan gives it to a function whose code or layers name "
            "lambda_xray; it does not read packages installed with pip). To record them, add "
            "'api' to layer_parts on the function's construct (TracedFunction, XRayTracing) "
            "and redeploy.",
        )
