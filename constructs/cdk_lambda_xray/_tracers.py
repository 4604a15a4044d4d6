"""The catalogue of other tracers: how each shows in a template or in a function's code.

Standard library only: the constructs (``validation``, the aspect) and the
review (``review.tracers``, which never imports the CDK) both read this one
list, so the synth-time checks and the review always agree on what another
tracer looks like.

A tracer is recognized by the marks it leaves: an ``AWS_LAMBDA_EXEC_WRAPPER``
script (ADOT, Lumigo, Elastic, ...), a handler redirect of its own (Datadog,
New Relic), its published layer's name, or, for the AWS X-Ray SDK for Python
(``aws_xray_sdk``), its package in the function's code or layer, or a layer
described as the X-Ray SDK.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "MAX_ASSET_FILES",
    "MAX_SOURCE_BYTES",
    "MAX_TOTAL_SOURCE_BYTES",
    "MIGRATION_GUIDE",
    "TRACERS",
    "XRAY_SDK",
    "XRAY_SDK_FIX",
    "XRAY_SDK_MODULE",
    "AssetWalk",
    "OtherTracer",
    "asset_directory_entries",
    "distribution_name",
    "foreign_handler_tracer",
    "installed_distributions",
    "layer_tracer",
    "xray_sdk_in_code",
    "xray_sdk_in_tree",
]


@dataclass(frozen=True, slots=True)
class OtherTracer:
    """Another tracer and the marks it leaves on a function."""

    name: str
    #: its published layer's ARN or name (``:layer:<name>``), or a layer description
    layer_pattern: re.Pattern[str] | None = None
    #: its ``AWS_LAMBDA_EXEC_WRAPPER`` script
    wrapper_pattern: re.Pattern[str] | None = None
    #: the handler it redirects ``Handler`` to
    handler: str | None = None
    #: the variable holding the user's handler when it redirects
    handler_env: str | None = None
    #: modules whose handler means this tracer wraps the function
    handler_modules: tuple[str, ...] = field(default=())

    @property
    def needs_activation(self) -> bool:
        """Whether its layer alone does nothing (it needs a wrapper or a redirect)."""
        return self.wrapper_pattern is not None or self.handler is not None


#: The AWS X-Ray SDK for Python: a library the function's code calls
#: (``patch_all()``, ``xray_recorder``), bundled with the code or in a layer.
XRAY_SDK: Final = OtherTracer(
    "AWS X-Ray SDK",
    layer_pattern=re.compile(r"(?:aws[-_ ]?)?x-?ray[-_ ]?(?:python[-_ ]?)?sdk", re.I),
)

#: Its package name.
XRAY_SDK_MODULE: Final = "aws_xray_sdk"

#: The migration path, said at synth and in the review.
#: The guide for moving a function from another tracer to lambda_xray.
MIGRATION_GUIDE: Final = "docs/migrating.md"

XRAY_SDK_FIX: Final = (
    "move to lambda_xray: change `from aws_xray_sdk.core import xray_recorder, patch_all` to "
    "`from lambda_xray.compat import xray_recorder, patch_all` and drop aws-xray-sdk from the "
    "dependencies or layer (lambda_xray records boto3, HTTP, SQL and Redis calls itself; "
    f"{MIGRATION_GUIDE}, section 'aws-xray-sdk'). Until then each call is recorded once: by "
    "aws_xray_sdk where it patched the library"
)

#: Every other tracer, in the order the review lists them.
TRACERS: Final = (
    OtherTracer(
        "ADOT (OpenTelemetry)",
        layer_pattern=re.compile(r":layer:(aws-otel-|AWSOpenTelemetryDistro)", re.I),
        wrapper_pattern=re.compile(r"^/opt/otel-"),
    ),
    OtherTracer("Powertools", layer_pattern=re.compile(r":layer:AWSLambdaPowertools", re.I)),
    OtherTracer(
        "Datadog",
        layer_pattern=re.compile(r":layer:Datadog-", re.I),
        wrapper_pattern=re.compile(r"^/opt/datadog_wrapper"),
        handler="datadog_lambda.handler.handler",
        handler_env="DD_LAMBDA_HANDLER",
        handler_modules=("datadog_lambda",),
    ),
    OtherTracer(
        "New Relic",
        layer_pattern=re.compile(r":layer:NewRelic", re.I),
        handler="newrelic_lambda_wrapper.handler",
        handler_env="NEW_RELIC_LAMBDA_HANDLER",
        handler_modules=("newrelic_lambda_wrapper",),
    ),
    OtherTracer(
        "Lumigo", wrapper_pattern=re.compile(r"^/opt/lumigo"), handler_modules=("lumigo_tracer",)
    ),
    OtherTracer("Elastic APM", wrapper_pattern=re.compile(r"^/opt/python/bin/elasticapm")),
    OtherTracer("Dynatrace", wrapper_pattern=re.compile(r"^/opt/dynatrace")),
    OtherTracer("Thundra", handler_modules=("thundra",)),
    OtherTracer("Epsagon", handler_modules=("epsagon",)),
    XRAY_SDK,
)


def foreign_handler_tracer(handler: str) -> OtherTracer | None:
    """The tracer whose module ``handler`` (``module.func``, ``pkg/mod.func``) points at."""
    module = handler.partition(".")[0].partition("/")[0]
    return next((t for t in TRACERS if module in t.handler_modules), None)


def layer_tracer(text: str) -> OtherTracer | None:
    """The tracer a layer ARN, name or description belongs to."""
    return next((t for t in TRACERS if t.layer_pattern and t.layer_pattern.search(text)), None)


_IMPORT: Final = re.compile(
    rf"^[ \t]*(?:from[ \t]+{XRAY_SDK_MODULE}\b|import[ \t]+{XRAY_SDK_MODULE}\b)", re.M
)
#: Bounds of a scan: a function's code is small, a bundled dependency tree is not.
#: Entries of a code asset a tracer scan looks at, at most.
MAX_ASSET_FILES: Final = 5000
#: Largest source file a tracer scan reads.
MAX_SOURCE_BYTES: Final = 512 * 1024
#: Most source a scan of one asset reads, all files together.
MAX_TOTAL_SOURCE_BYTES: Final = 8 * 1024 * 1024


def xray_sdk_in_code(source: str) -> bool:
    """Whether Python ``source`` imports aws_xray_sdk."""
    return _IMPORT.search(source) is not None


def xray_sdk_in_tree(path: Path) -> str | None:
    """Evidence that a code or layer asset (directory or zip) holds or imports aws_xray_sdk.

    Finds the bundled package (``aws_xray_sdk/`` at any depth, as pip installs
    it into a function's bundle or a layer's ``python/``) or a module of the
    function's own that imports it. Reads at most a few thousand entries and
    never follows links out of ``path``; ``None`` when nothing is found or the
    asset cannot be read.
    """
    try:
        if path.is_dir():
            return _scan_directory(path)
        if path.is_file() and zipfile.is_zipfile(path):
            return _scan_zip(path)
    except (OSError, zipfile.BadZipFile, UnicodeError):
        return None
    return None


def installed_distributions(names: Iterable[str]) -> frozenset[str]:
    """The packages pip installed among ``names`` (entries of one directory), lower case.

    ``pip install -t`` leaves ``<name>-<version>.dist-info`` next to each package;
    an installed package's own imports (Powertools' optional X-Ray integration)
    are not the function's code using a tracer.
    """
    return frozenset(
        n.removesuffix(".dist-info").split("-", 1)[0].lower()
        for n in names
        if n.endswith(".dist-info")
    )


def asset_directory_entries(
    root: Path, packages: frozenset[str]
) -> Iterator[tuple[Path, str | None]]:
    """A bounded walk of a code asset directory, for the tracer scans: see :class:`AssetWalk`."""
    return iter(AssetWalk(root, packages))


def distribution_name(name: str) -> str | None:
    """``PyMySQL-1.1.0.dist-info`` -> ``pymysql``: the normalized distribution of a dist-info."""
    if not name.endswith(".dist-info"):
        return None
    return name.removesuffix(".dist-info").split("-", 1)[0].lower().replace(".", "_")


class AssetWalk:
    """A bounded walk of a code asset directory: the one walk every code scan uses.

    Iterating yields ``(directory, None)`` for each directory named in
    ``packages`` (not entered) and, with ``distributions``, for each
    ``<name>-<version>.dist-info`` whose distribution (lower case) is named
    there; and ``(file, text)`` for each ``.py`` file of the function's own
    code. Never follows links, never enters a pip-installed package (see
    :func:`installed_distributions`), looks at :data:`MAX_ASSET_FILES` entries
    and reads :data:`MAX_SOURCE_BYTES` per file and :data:`MAX_TOTAL_SOURCE_BYTES`
    in all, at most. After the walk, :attr:`incomplete` says what it did not
    read (``None``: every entry was looked at and every ``.py`` file read).
    """

    def __init__(
        self, root: Path, packages: frozenset[str], *, distributions: bool = False
    ) -> None:
        self.root = root
        self.packages = packages
        self.distributions = distributions
        #: why the walk saw less than the whole asset (``None``: it saw all of it)
        self.incomplete: str | None = None
        self._spent = False
        self._bytes_read = 0

    def __iter__(self) -> Iterator[tuple[Path, str | None]]:
        seen = 0
        stack = [self.root]
        while stack:
            directory = stack.pop()
            try:
                entries = sorted(directory.iterdir())
            except OSError as exc:
                self.incomplete = f"{self._shown(directory)} could not be listed ({exc.strerror})"
                continue
            installed = installed_distributions(e.name for e in entries)
            for entry in entries:
                seen += 1
                if seen > MAX_ASSET_FILES:
                    self.incomplete = f"it has more than {MAX_ASSET_FILES} entries"
                    return
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if entry.name in self.packages or self._distribution(entry.name):
                        yield entry, None
                    elif entry.name.lower() not in installed:
                        stack.append(entry)
                    continue
                if entry.suffix != ".py":
                    continue
                text = self._read(entry, MAX_TOTAL_SOURCE_BYTES - self._bytes_read)
                if text is not None:
                    yield entry, text
                elif self._spent:
                    return

    def _distribution(self, name: str) -> bool:
        return self.distributions and distribution_name(name) in self.packages

    def _shown(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def _read(self, entry: Path, budget: int) -> str | None:
        """The file's text, or ``None`` (and :attr:`incomplete` says why) past a bound."""
        try:
            size = entry.stat().st_size
            if size > MAX_SOURCE_BYTES:
                self.incomplete = f"{self._shown(entry)} is larger than {MAX_SOURCE_BYTES} bytes"
                return None
            if size > budget:
                self._spent = True
                self.incomplete = f"its .py files hold more than {MAX_TOTAL_SOURCE_BYTES} bytes"
                return None
            with entry.open("rb") as source:  # never more than the bounds, even if it grew
                data = source.read(min(MAX_SOURCE_BYTES, budget))
            self._bytes_read += len(data)
            return data.decode("utf-8", errors="replace")
        except OSError as exc:
            self.incomplete = f"{self._shown(entry)} could not be read ({exc.strerror})"
            return None


def _scan_directory(root: Path) -> str | None:
    for entry, text in asset_directory_entries(root, frozenset({XRAY_SDK_MODULE})):
        shown = entry.relative_to(root).as_posix()
        if text is None:
            return f"{shown}/ in the asset"
        if xray_sdk_in_code(text):
            return f"{shown} imports {XRAY_SDK_MODULE}"
    return None


def _scan_zip(path: Path) -> str | None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()[:MAX_ASSET_FILES]
        for info in infos:
            parts = info.filename.split("/")
            if XRAY_SDK_MODULE in parts[:-1]:
                package = "/".join(parts[: parts.index(XRAY_SDK_MODULE) + 1])
                return f"{package}/ in the asset"
        installed = installed_distributions(p for i in infos for p in i.filename.split("/"))
        for info in infos:
            if installed.intersection(p.lower() for p in info.filename.split("/")[:-1]):
                continue  # a module of an installed package, not the function's code
            if info.filename.endswith(".py") and info.file_size <= MAX_SOURCE_BYTES:
                text = archive.read(info).decode("utf-8", errors="replace")
                if xray_sdk_in_code(text):
                    return f"{info.filename} imports {XRAY_SDK_MODULE}"
    return None
