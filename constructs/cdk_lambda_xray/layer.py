"""``TracingLayer``: the ``lambda_xray`` runtime, one layer per Python version, parts and stack.

Each layer version carries the bytecode of its one Python version and of the
parts its functions need: the loader (``lambda_xray/__init__.py`` and its
unchecked-hash ``.pyc``) and one sourceless bundle per part, built with the
package by ``_bytecode`` and assembled by ``_bytecode.assemble_layer``, so a
function downloads only its own version's code and never compiles anything on
Lambda's read-only ``/opt``. See docs/bytecode.md.
"""

from __future__ import annotations

import functools
import os
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from . import _bytecode, _inputs, ids
from ._instrument import runtime_name, stack_of
from ._layer_parts import CORE
from ._layer_select import checked_parts, python_override
from ._plan_model import MIN_PYTHON_MINOR, PYTHON_RUNTIME, LayerParts, layer_supports_runtime
from .errors import TracingConfigError

__all__ = [
    "LAYER_ASSET_EXCLUDE",
    "MIN_PYTHON_MINOR",
    "TracingLayer",
    "layer_asset_path",
    "layer_builds_path",
    "layer_content_hash",
    "layer_supports_runtime",
    "supported_python_runtimes",
]

#: Left out when a layer is made from the source tree itself (no built tree for
#: its runtime): timestamp-based bytecode of local runs there is not for Lambda,
#: nor what no function runs (``_bytecode.LAMBDA_EXCLUDED``: the test seam).
LAYER_ASSET_EXCLUDE: tuple[str, ...] = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    *(f"python/{path}" for path in sorted(_bytecode.LAMBDA_EXCLUDED)),
)

#: Python runtimes the layer is published for, oldest first. Names missing from
#: the installed aws-cdk-lib are skipped; deprecated runtimes are not listed.
_RUNTIME_NAMES: tuple[str, ...] = (
    "PYTHON_3_10",
    "PYTHON_3_11",
    "PYTHON_3_12",
    "PYTHON_3_13",
    "PYTHON_3_14",
)


def layer_asset_path() -> Path:
    """The layer asset root (it holds ``python/lambda_xray``), symlinks resolved.

    Found next to this module (``_layer``), so it works from any working
    directory and from an installed wheel.
    """
    return Path(os.path.realpath(Path(__file__).resolve().parent / "_layer"))


def layer_builds_path() -> Path:
    """Where the per-version layer trees are: ``_layer_builds`` next to this module.

    In a wheel they were built with the package; in a checkout ``make setup``
    builds them (gitignored).
    """
    return _bytecode.default_builds_path()


def layer_content_hash(root: Path | None = None, length: int = 12) -> str:
    """A short SHA-256 over the layer's file names and contents.

    Changes whenever any shipped source file changes; ignores ``__pycache__``.
    """
    return _bytecode.layer_content_hash(root or layer_asset_path(), length)


@dataclass(frozen=True)
class _Asset:
    """The folder one runtime's layer is built from, and what it holds."""

    path: Path
    exclude: tuple[str, ...]
    content_hash: str
    #: ``cpython-312`` when the folder carries that version's bytecode.
    cache_tag: str | None
    #: why there is no bytecode, when there is none.
    reason: str | None


def _asset_for(runtime: str, parts: tuple[str, ...]) -> _Asset:
    """The built tree of ``runtime`` with ``parts`` if it matches the current source; else
    the source (every part)."""
    source = layer_asset_path()
    content_hash = layer_content_hash(source)
    builds = layer_builds_path()
    built = _bytecode.read_manifest(builds, runtime)
    tree = _bytecode.tree_path(builds, runtime)
    if built is not None and built.source_hash == content_hash and tree.is_dir():
        assembled = _bytecode.assemble_layer(builds, runtime, frozenset(parts))
        return _Asset(assembled, (), content_hash, built.cache_tag, built.reason)
    if built is not None:
        reason = "the built layer is older than the layer source; run `make setup` to rebuild it"
    elif PYTHON_RUNTIME.match(runtime) and int(runtime.split(".")[1]) in _bytecode.PYTHON_MINORS:
        reason = "this installation has no built layer; run `make setup` (or install the wheel)"
    else:
        reason = f"this release of cdk-lambda-xray predates {runtime}"
    return _Asset(source, LAYER_ASSET_EXCLUDE, content_hash, None, reason)


def supported_python_runtimes() -> list[lambda_.Runtime]:
    """The Python runtimes the layer declares itself compatible with."""
    return list(_supported_python_runtimes())


@functools.cache
def _supported_python_runtimes() -> tuple[lambda_.Runtime, ...]:
    # Each static property read is a round trip to the jsii runtime; the values
    # never change, so read them once per process.
    runtimes = (getattr(lambda_.Runtime, name, None) for name in _RUNTIME_NAMES)
    return tuple(runtime for runtime in runtimes if runtime is not None)


@functools.cache
def _architectures() -> tuple[lambda_.Architecture, ...]:
    return (lambda_.Architecture.X86_64, lambda_.Architecture.ARM_64)


@functools.cache
def _runtimes_by_name() -> dict[str, lambda_.Runtime]:
    return {runtime.name: runtime for runtime in _supported_python_runtimes()}


def _runtime_object(name: str) -> lambda_.Runtime:
    known = _runtimes_by_name().get(name)
    # Newer than the installed aws-cdk-lib knows: a value object of our own.
    return known or lambda_.Runtime(name, lambda_.RuntimeFamily.PYTHON)


#: The shared layers of each stack found or created so far, by runtime name and
#: parts (stacks are weakly referenced), so that every function after the first
#: one of a Python version and parts costs no lookup in the construct tree.
_SHARED: weakref.WeakKeyDictionary[cdk.Stack, dict[tuple[str, tuple[str, ...]], TracingLayer]] = (
    weakref.WeakKeyDictionary()
)


#: ``runtime`` of :class:`TracingLayer`: a ``lambda_.Runtime`` or its name.
_LAYER_RUNTIME = _inputs.one_of(
    _inputs.instance(lambda_.Runtime, "pass a lambda_.Runtime such as lambda_.Runtime.PYTHON_3_12"),
    _inputs.text(non_empty=True, example="'python3.12'"),
)

#: ``parts`` of :class:`TracingLayer`: part names, or ``LayerParts.ALL``.
_LAYER_PARTS = _inputs.optional(
    _inputs.one_of(
        _inputs.enum_member(LayerParts),
        _inputs.sequence_of(
            _inputs.text(non_empty=True, example="'databases'"),
            example="['otlp', 'databases']",
            any_collection=True,
        ),
    )
)


class TracingLayer(lambda_.LayerVersion):
    """The ``lambda_xray`` tracing runtime packaged as a Lambda layer for one Python version.

    Built with ``Code.from_asset`` (no Docker) from the package's layer tree for
    that runtime and parts: the loader and that version's sourceless bundles, so
    Lambda's read-only ``/opt`` never makes a cold start compile the layer.
    Compatible with that one runtime, on both architectures. Its description
    carries a hash of the layer's source, so a new layer version is published
    exactly when the code changes.

    It holds the layer's core and the parts given (``api``, ``otlp``, ``compat``,
    ``requests``, ``async_http``, ``databases``) with the parts they require
    (``compat`` needs ``api``): ``TracedFunction`` and the aspect give each
    function the parts its code needs, so its download stays small.

    A version whose bytecode is not in this installation (its interpreter was
    missing when the package was built) gets the source only (every part) and
    an info annotation saying so; nothing fails. With the CDK context
    ``@lambda-xray/layer-python-override`` (a local emulator's Python) it
    carries that Python's build instead, and says so.

    Use :meth:`of` to get the stack's shared instance for a runtime and parts;
    ``TracedFunction`` and the ``XRayTracing`` aspect do.
    """

    #: Construct id prefix of the shared instances, children of the stack:
    #: ``LambdaXrayTracingLayerPython312`` for ``python3.12`` (see
    #: :meth:`shared_id`). Changing it replaces the layers in every deployed
    #: stack (a breaking change).
    SHARED_ID = ids.TRACING_LAYER_PREFIX

    @_inputs.entry(
        "TracingLayer",
        _inputs.scope_and_id(),
        scope=_inputs.CONSTRUCT,
        id=_inputs.CONSTRUCT_ID,
        runtime=_LAYER_RUNTIME,
        parts=_LAYER_PARTS,
        layer_version_name=_inputs.optional(_inputs.text(non_empty=True, example="'lambda-xray'")),
        removal_policy=_inputs.optional(_inputs.enum_member(cdk.RemovalPolicy)),
    )
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: lambda_.Runtime | str,
        parts: Iterable[str] | LayerParts | None = None,
        layer_version_name: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        """Create a layer version for one Python runtime.

        :param runtime: the Python runtime of the functions that use it
            (``python3.10`` or newer); its bytecode is what the layer carries.
        :param parts: the parts it holds besides the core (``api``, ``otlp``,
            ``compat``, ``requests``, ``async_http``, ``databases``;
            docs/constructs.md; a part it requires is added: ``compat`` brings
            ``api``), or ``LayerParts.ALL``. Default: the core alone.
        :param layer_version_name: Default: a name generated by CloudFormation.
        :param removal_policy: Default: ``DESTROY`` (CDK's default for layers);
            use ``RETAIN`` to keep old versions for functions outside this stack.
        :raises TracingConfigError: the runtime is not a Python the layer supports,
            a part is not a part of the layer, or the
            ``@lambda-xray/layer-python-override`` context value is not a Python
            the layer serves.
        """
        name = _checked_runtime_name(scope, id, runtime)
        chosen = checked_parts(lambda: _path(scope, id), parts)
        built_for = python_override(scope, lambda: _path(scope, id)) or name
        asset = _asset_for(built_for, chosen)
        contents = f"bytecode {asset.cache_tag}" if asset.cache_tag else "source only"
        if built_for != name:
            contents += f" (the {built_for} build, for a local emulator)"
        super().__init__(
            scope,
            id,
            code=lambda_.Code.from_asset(str(asset.path), exclude=list(asset.exclude)),
            compatible_runtimes=[_runtime_object(name)],
            compatible_architectures=list(_architectures()),
            description=(
                f"lambda-xray for {name}: X-Ray tracing for Python handlers; parts "
                f"{'+'.join((CORE, *chosen))}; {contents} (content {asset.content_hash})"
            ),
            license="Apache-2.0",
            layer_version_name=layer_version_name,
            removal_policy=removal_policy,
        )
        #: Short hash of the layer's source files, also shown in the description.
        self.content_hash = asset.content_hash
        #: The runtime name this layer version serves (``python3.12``).
        self.runtime_name = name
        #: The parts it holds besides the core, in the order of the layer's parts.
        self.parts = chosen
        #: ``cpython-312`` when the layer carries bytecode; ``None`` for source only.
        self.cache_tag = asset.cache_tag
        if asset.cache_tag is None:
            cdk.Annotations.of(self).add_info(
                f"lambda-xray: no bytecode for {built_for} in this layer ({asset.reason}); it "
                "ships the source, which Lambda compiles on every cold start (about 20 ms). "
                "See docs/bytecode.md"
            )
        if built_for != name:
            cdk.Annotations.of(self).add_info(
                f"lambda-xray: this layer for {name} carries the {built_for} build "
                f"({ids.CONTEXT_LAYER_PYTHON_OVERRIDE}={built_for.removeprefix('python')}), "
                "for a local emulator that runs every function with that Python; do not "
                "deploy it to AWS"
            )

    @classmethod
    def shared_id(
        cls, runtime: lambda_.Runtime | str, parts: Iterable[str] | LayerParts = ()
    ) -> str:
        """The construct id of the stack's shared layer for ``runtime`` and ``parts``.

        ``python3.12`` -> ``LambdaXrayTracingLayerPython312``; with the parts
        ``otlp`` and ``async_http`` -> ``LambdaXrayTracingLayerPython312OtlpAsyncHttp``;
        with ``compat`` -> ``LambdaXrayTracingLayerPython312ApiCompat`` (the part
        it requires is in the id too).
        """
        name = runtime if isinstance(runtime, str) else runtime_name(runtime)
        chosen = checked_parts(lambda: cls.SHARED_ID, parts)
        words = "".join(part.title() for part in (name, *chosen))
        return cls.SHARED_ID + re.sub(r"[^0-9A-Za-z]", "", words)

    @classmethod
    @_inputs.entry(
        "TracingLayer.of",
        _inputs.at("scope"),
        scope=_inputs.CONSTRUCT,
        runtime=_LAYER_RUNTIME,
        parts=_LAYER_PARTS,
    )
    def of(
        cls,
        scope: Construct,
        runtime: lambda_.Runtime | str,
        parts: Iterable[str] | LayerParts | None = None,
    ) -> TracingLayer:
        """The stack's shared tracing layer for ``runtime`` and ``parts``, created on first use.

        :param scope: any construct; the layer lives at the top of its stack
            with the id :meth:`shared_id` of the runtime and parts.
        :param runtime: the function's Python runtime (``Runtime.PYTHON_3_12``
            or ``"python3.12"``).
        :param parts: the parts besides the core, or ``LayerParts.ALL``.
            Default: the core alone. ``TracedFunction`` and the aspect pass
            what the planner chose for each function.
        :raises TracingConfigError: another kind of construct already uses that
            id, the runtime is not a Python the layer supports, or a part is unknown.
        """
        stack = stack_of(scope)
        name = runtime if isinstance(runtime, str) else runtime_name(runtime)
        chosen = checked_parts(lambda: _path(scope, cls.SHARED_ID), parts)
        shared = _SHARED.setdefault(stack, {})
        cached = shared.get((name, chosen))
        if cached is not None:
            return cached
        shared_id = cls.shared_id(name, chosen)
        existing = stack.node.try_find_child(shared_id)
        if existing is None:
            existing = cls(stack, shared_id, runtime=name, parts=chosen)
        if isinstance(existing, TracingLayer):
            shared[(name, chosen)] = existing
            return existing
        raise TracingConfigError(
            existing.node.path,
            f"the construct id {shared_id!r} is taken by a {type(existing).__name__}",
            f"rename that construct; the shared tracing layer for {name} needs this id",
        )


def _path(scope: Construct, id: str) -> str:
    return f"{scope.node.path}/{id}" if scope.node.path else id


def _checked_runtime_name(scope: Construct, id: str, runtime: lambda_.Runtime | str) -> str:
    name = runtime if isinstance(runtime, str) else runtime.name
    if not layer_supports_runtime(name):
        path = _path(scope, id)
        raise TracingConfigError(
            path,
            f"runtime {name!r} cannot use the tracing layer",
            f"use a Python runtime from python3.{MIN_PYTHON_MINOR} on",
        )
    return name
