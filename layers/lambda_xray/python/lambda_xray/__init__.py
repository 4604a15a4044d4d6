"""Trace a Python Lambda function with AWS X-Ray: a stdlib-only layer.

Point the function's handler at ``lambda_xray.handler.handler`` and put the
original one in ``LAMBDA_XRAY_HANDLER`` (the ``cdk_lambda_xray`` constructs do
both). Every invocation then gets a ``## <handler>`` subsegment and every
boto3/botocore and HTTP call a subsegment of its own.

The small user API::

    from lambda_xray import annotate, metadata, subsegment

    @subsegment("resize")            # or: with subsegment("resize"): ...
    def resize(image): ...

    annotate("tenant", "acme")       # indexed, searchable
    metadata("request", {"size": 3}) # any JSON, not indexed

Importing this package loads nothing but itself: the names below are
resolved on first use.

In a layer built by ``cdk_lambda_xray`` the package's other modules are not
files but code objects in bundle files beside this one (``core.bundle`` and
one per layer part, see docs/bytecode.md): importing this package then
serves ``lambda_xray.*`` from them (:mod:`lambda_xray._bundles`). Built for
another Python than the one running (the function's runtime was changed
outside the constructs), the function's handler runs untraced, the user API
does nothing, and one line says so (:mod:`lambda_xray._untraced`). From the
source (no ``core.bundle`` here) all this costs one failed ``stat``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.api import annotate, metadata, subsegment
    from lambda_xray.context_missing import ContextMissingError

__all__ = ["ContextMissingError", "annotate", "metadata", "subsegment"]

_LAZY = {
    "annotate": "lambda_xray.api",
    "metadata": "lambda_xray.api",
    "subsegment": "lambda_xray.api",
    "ContextMissingError": "lambda_xray.context",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_xray' has no attribute {name!r}")
    import sys

    __import__(module_name)  # importlib.import_module without loading importlib
    value = getattr(sys.modules[module_name], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# -- the built layer: lambda_xray.* from bundle files ----------------------------------
#
# A bundle file is the interpreter's magic number, _BUNDLE_FORMAT, the major and
# minor version of the Python that built it (a byte each), the length of its
# table (4 bytes, little-endian), the table ``marshal.dumps((index, table))``,
# then every module's ``marshal.dumps(code)`` one after the other. ``table``
# maps each module name to ``(is_package, offset, length)`` of its code after
# the table; ``index`` (the core's) each module of another part to its part.
# A module's code is read in place (no copy) and unmarshalled when imported.
# The build reads the format and suffix from this file (``_CORE_PART`` is
# ``_layer_parts.CORE``, a test checks).

_BUNDLE_SUFFIX = ".bundle"
_CORE_PART = "core"
_BUNDLE_FORMAT = b"LXB2"


def _bundle_contents(body: memoryview) -> tuple[dict[str, str], dict[str, tuple[bool, memoryview]]]:
    """``(index, modules)`` of a bundle's ``body`` (what follows its header): each
    module's ``(is_package, its marshalled code)``, views into ``body``."""
    from marshal import loads

    size = int.from_bytes(body[:4], "little")
    index, table = loads(body[4 : 4 + size])
    code = body[4 + size :]
    return index, {name: (pkg, code[at : at + n]) for name, (pkg, at, n) in table.items()}


def _serve_bundles() -> None:
    """In a built layer (``core.bundle`` beside this file): serve ``lambda_xray.*`` from it."""
    from os import stat

    directory = __path__[0]
    core = f"{directory}/{_CORE_PART}{_BUNDLE_SUFFIX}"
    try:
        stat(core)  # not open: from the source, importing the package opens no other file
    except OSError:
        return  # the source: every module is a file
    import sys

    data = b""
    try:
        with open(core, "rb", buffering=0) as file:
            data = file.readall()
        bootstrap = sys.modules["_frozen_importlib_external"]
        header = bootstrap.MAGIC_NUMBER + _BUNDLE_FORMAT + bytes(sys.version_info[:2])
        if data[: len(header)] != header:
            raise ImportError("built for another Python")
        from marshal import loads

        index, modules = _bundle_contents(memoryview(data)[len(header) :])
        loader = type(sys)("lambda_xray._bundles")
        exec(loads(modules["lambda_xray._bundles"][1]), loader.__dict__)
        loader.install(directory, header, _BUNDLE_SUFFIX, index, modules, loader)
    except Exception:  # another Python, or an unreadable file: never break the function
        try:
            from lambda_xray import _untraced  # the source beside this file

            _untraced.install(directory, data, _BUNDLE_FORMAT)
        except Exception:
            pass


_serve_bundles()
