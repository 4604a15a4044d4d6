"""Read a cloud assembly (``cdk.out``): manifest, every stack template, nested
stacks, nested assemblies (CDK stages) and file-asset metadata.

Works on any assembly, not only apps that use this library, and on a directory
holding a hand-written ``manifest.json``. Construct paths come from the
resources' ``aws:cdk:path`` metadata or the stack's metadata file; templates
without either show logical ids instead.

The assembly is not trusted: every path it names is confined to its directory
(:func:`~.files.confine`), every file is read once and within size limits
(:class:`~.files.JsonFiles`), every value has its documented type
(:mod:`.shape`), and nesting and size are bounded (:data:`MAX_NESTING_DEPTH`,
:data:`MAX_STACKS`, :data:`MAX_RESOURCES`). Anything else is an
:class:`AssemblyError` with one clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .files import AssemblyError, JsonFiles, confine
from .shape import as_object, at, list_at, object_at, object_values, string_at
from .stack_metadata import Owned, owned_by, paths_by_template

__all__ = [
    "MAX_NESTING_DEPTH",
    "MAX_RESOURCES",
    "MAX_STACKS",
    "Assembly",
    "AssemblyError",
    "Template",
    "load_assembly",
]

STACK_ARTIFACT: Final = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT: Final = "cdk:asset-manifest"
NESTED_ASSEMBLY_ARTIFACT: Final = "cdk:cloud-assembly"
NESTED_STACK_TYPE: Final = "AWS::CloudFormation::Stack"

#: Deepest chain of nested stacks, or of nested assemblies, the review follows.
MAX_NESTING_DEPTH: Final = 16
#: Most stacks (nested stacks counted once per use) in one review.
MAX_STACKS: Final = 1000
#: Most resources over all those stacks.
MAX_RESOURCES: Final = 50_000

_ASSET_KEY = re.compile(r"([0-9a-f]{64})(?:\.(?:json|zip|yaml))?")


@dataclass(slots=True)
class Template:
    """One stack template (top-level or nested) and what the assembly says about it."""

    key: str
    display_name: str
    file: Path
    #: the validated template (see :func:`validate_template`)
    body: dict[str, Any]
    #: (parent key, logical id of the AWS::CloudFormation::Stack) for nested stacks
    parent: tuple[str, str] | None = None
    #: logical id -> construct path ("Stack/Fn/Resource"), when known
    paths: dict[str, str] = field(default_factory=dict)
    #: construct paths carrying aws:cdk:is-custom-resource-handler-* markers
    handler_markers: set[str] = field(default_factory=set)
    #: logical id of nested stack resources -> child key
    children: dict[str, str] = field(default_factory=dict)
    #: construct path -> (level, message) of CDK warning/error annotations
    annotations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        res = self.body.get("Resources")
        return res if isinstance(res, dict) else {}

    def annotations_for(self, construct_path: str) -> list[tuple[str, str]]:
        """Annotations on ``construct_path`` and on the constructs that contain it."""
        found: list[tuple[str, str]] = []
        parts = construct_path.split("/")
        for end in range(1, len(parts) + 1):
            found += self.annotations.get("/".join(parts[:end]), [])
        return found


@dataclass(slots=True)
class Assembly:
    """Everything the review reads from a ``cdk.out`` directory."""

    root: Path
    version: str
    templates: dict[str, Template]
    #: asset hash -> source path (file or directory), confined to the assembly
    assets: dict[str, Path]
    #: problems that did not stop the read (nested template not found, ...)
    notes: list[str] = field(default_factory=list)
    #: JSON files read from disk (each at most once)
    files_read: int = 0

    def asset_for_key(self, key: str) -> Path | None:
        """The asset whose S3 object key (``<hash>.zip``) or hash is ``key``."""
        match = _ASSET_KEY.fullmatch(key.rsplit("/", 1)[-1])
        return self.assets.get(match.group(1)) if match else None

    def asset_path(self, name: str, what: str, base: Path | None = None) -> Path | None:
        """``name`` (an asset path, relative to ``base`` or the root) inside the assembly.

        None, with a note, when it points outside (``cdk synth --no-staging``
        writes absolute paths; a hostile assembly, anything): it is not inspected.
        """
        try:
            return confine(self.root, base or self.root, name, what)
        except AssemblyError as exc:
            self.notes.append(f"{exc}; not inspected")
            return None


def validate_template(body: Any, where: str) -> dict[str, Any]:
    """``body`` checked to be a template: objects where CloudFormation has objects."""
    template = as_object(body, where)
    where = f"{where}:"
    for name, resource in object_values(template, "Resources", where).items():
        spot = at(at(where, "Resources"), name)
        string_at(resource, "Type", spot, required=True)
        object_at(resource, "Properties", spot)
        metadata = object_at(resource, "Metadata", spot)
        string_at(metadata, "aws:asset:path", at(spot, "Metadata"))
    object_values(template, "Parameters", where)
    object_values(template, "Outputs", where)
    return template


def load_assembly(path: str | Path) -> Assembly:
    """Read the assembly at ``path`` (a ``cdk.out`` directory).

    Raises :class:`AssemblyError` for a missing, malformed or hostile assembly.
    """
    root = Path(path)
    if "\0" in str(root):
        raise AssemblyError("the cdk.out path contains a NUL byte")
    if not root.exists():
        raise AssemblyError(
            f"{root} does not exist; run `cdk synth` first (or pass the --output "
            "directory you synthesized to)"
        )
    if not root.is_dir():
        raise AssemblyError(f"{root} is not a directory; pass the cdk.out directory")
    if not (root / "manifest.json").is_file():
        raise AssemblyError(
            f"{root} has no manifest.json, so it is not a cloud assembly; run `cdk synth` "
            "and pass its output directory (usually cdk.out)"
        )
    reader = _Reader(Assembly(root=root.resolve(), version="", templates={}, assets={}))
    reader.manifest(reader.assembly.root, prefix="", depth=0)
    assembly = reader.assembly
    assembly.files_read = reader.files.reads
    if not assembly.templates:
        raise AssemblyError(
            f"{root}/manifest.json lists no CloudFormation stacks; nothing to review"
        )
    return assembly


class _Reader:
    """One read of an assembly: the files read so far and the budgets left."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.root = assembly.root
        self.files = JsonFiles()
        self.manifests: set[Path] = set()
        self.validated: dict[Path, dict[str, Any]] = {}
        self.owned: dict[tuple[int, str], Owned] = {}
        self.resources = 0

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    # -- manifests ------------------------------------------------------------------
    def manifest(self, directory: Path, prefix: str, depth: int) -> None:
        file = confine(self.root, directory, "manifest.json", "manifest")
        if file in self.manifests:
            raise AssemblyError(f"{self._rel(file)} is nested inside itself (a cycle); refused")
        if depth > MAX_NESTING_DEPTH:
            raise AssemblyError(
                f"nested assemblies deeper than {MAX_NESTING_DEPTH} levels at "
                f"{self._rel(file)}; refused"
            )
        self.manifests.add(file)
        where = f"{self._rel(file)}:"
        manifest = as_object(self.files.load(file, "manifest"), self._rel(file))
        version = string_at(manifest, "version", where)
        self.assembly.version = self.assembly.version or version or ""
        artifacts = object_values(manifest, "artifacts", where)
        kinds = {
            aid: string_at(artifact, "type", at(at(where, "artifacts"), aid))
            for aid, artifact in artifacts.items()
        }
        for aid, artifact in artifacts.items():
            if kinds[aid] == ASSET_MANIFEST_ARTIFACT:
                self.asset_manifest(directory, artifact, at(at(where, "artifacts"), aid))
        for aid, artifact in artifacts.items():
            spot = at(at(where, "artifacts"), aid)
            props = object_at(artifact, "properties", spot)
            if kinds[aid] == STACK_ARTIFACT:
                self.stack(directory, prefix, aid, artifact, spot)
            elif kinds[aid] == NESTED_ASSEMBLY_ARTIFACT:
                name = string_at(props, "directoryName", at(spot, "properties"))
                if name:
                    sub = confine(self.root, directory, name, f"{spot} directoryName")
                    display = string_at(props, "displayName", at(spot, "properties")) or aid
                    self.manifest(sub, f"{prefix}{display}/", depth + 1)

    def asset_manifest(self, directory: Path, artifact: dict[str, Any], spot: str) -> None:
        name = string_at(object_at(artifact, "properties", spot), "file", at(spot, "properties"))
        if not name:
            return
        file = confine(self.root, directory, name, f"{spot} file")
        where = f"{self._rel(file)}:"
        data = as_object(self.files.load(file, "asset manifest"), self._rel(file))
        for asset_hash, entry in object_values(data, "files", where).items():
            entry_where = at(at(where, "files"), asset_hash)
            source = object_at(entry, "source", entry_where)
            path = string_at(source, "path", at(entry_where, "source"))
            if path:
                found = self.assembly.asset_path(path, f"asset {asset_hash}", directory)
                if found is not None:
                    self.assembly.assets[asset_hash] = found

    # -- stacks ---------------------------------------------------------------------
    def stack(
        self, directory: Path, prefix: str, aid: str, artifact: dict[str, Any], spot: str
    ) -> None:
        props = object_at(artifact, "properties", spot)
        template_file = string_at(props, "templateFile", at(spot, "properties"))
        if not template_file:
            raise AssemblyError(f"stack {aid!r} ({spot}) has no templateFile")
        # displayName already carries the stage path ("Prod/Api"); ids of nested
        # assemblies without one get the stage prefix
        display = string_at(artifact, "displayName", spot) or f"{prefix}{aid}"
        file = confine(self.root, directory, template_file, f"{spot} templateFile")
        body = self.template(file, f"template of stack {display!r}")
        template = self.add(display, file, body, None)
        metadata = self.metadata(directory, artifact, spot)
        by_file = paths_by_template(metadata)
        self.assign_paths(template, metadata, by_file.get(template_file), by_file)
        self.nested(directory, template, metadata, by_file, (file,))

    def template(self, file: Path, what: str) -> dict[str, Any]:
        if file not in self.validated:
            self.validated[file] = validate_template(
                self.files.load(file, what), f"{what} ({self._rel(file)})"
            )
        return self.validated[file]

    def add(
        self, display: str, file: Path, body: dict[str, Any], parent: tuple[str, str] | None
    ) -> Template:
        key = _unique(self.assembly, display)
        template = Template(key=key, display_name=display, file=file, body=body, parent=parent)
        self.resources += len(template.resources)
        if len(self.assembly.templates) >= MAX_STACKS or self.resources > MAX_RESOURCES:
            raise AssemblyError(
                f"the assembly expands to more than {MAX_STACKS} stacks or {MAX_RESOURCES:,} "
                f"resources (at {display!r}; nested stacks reusing templates?); refused"
            )
        self.assembly.templates[key] = template
        return template

    def metadata(self, directory: Path, artifact: dict[str, Any], spot: str) -> dict[str, Any]:
        metadata = dict(object_at(artifact, "metadata", spot))
        extra = string_at(artifact, "additionalMetadataFile", spot)
        if extra:
            file = confine(self.root, directory, extra, f"{spot} additionalMetadataFile")
            if file.is_file():
                loaded = self.files.load(file, "stack metadata")
                metadata.update(as_object(loaded, self._rel(file)))
        checked: dict[str, list[dict[str, Any]]] = {}
        for path in metadata:
            entries = list_at(metadata, path, f"{spot} metadata")
            for index, entry in enumerate(entries):
                entry_where = f"{spot} metadata.{path}[{index}]"
                string_at(as_object(entry, entry_where), "type", entry_where)
            checked[path] = entries
        return checked

    def assign_paths(
        self,
        template: Template,
        metadata: dict[str, Any],
        prefix: str | None,
        by_file: dict[str, str],
    ) -> None:
        for logical_id, resource in template.resources.items():
            cdk_path = object_at(resource, "Metadata", logical_id).get("aws:cdk:path")
            if isinstance(cdk_path, str):
                template.paths[logical_id] = cdk_path
        if prefix is None:
            return
        # instances of one nested template share the stack's metadata: work it out once
        memo_key = (id(metadata), prefix)
        if memo_key not in self.owned:
            self.owned[memo_key] = owned_by(metadata, prefix, by_file)
        paths, markers, annotations = self.owned[memo_key]
        for logical_id, path in paths.items():
            template.paths.setdefault(logical_id, path)
        template.handler_markers |= markers
        template.annotations = annotations

    # -- nested stacks --------------------------------------------------------------
    def nested(
        self,
        directory: Path,
        parent: Template,
        metadata: dict[str, Any],
        by_file: dict[str, str],
        chain: tuple[Path, ...],
    ) -> None:
        for logical_id, resource in parent.resources.items():
            if resource.get("Type") != NESTED_STACK_TYPE:
                continue
            where = f"{parent.display_name}/{logical_id}"
            file = self.nested_file(directory, resource, where)
            if file is None:
                continue
            if file in chain:
                raise AssemblyError(
                    f"nested stack {where} uses template {self._rel(file)}, which contains it "
                    "(a cycle); refused"
                )
            if len(chain) > MAX_NESTING_DEPTH:
                raise AssemblyError(
                    f"nested stacks deeper than {MAX_NESTING_DEPTH} levels at {where}; refused"
                )
            body = self.template(file, f"nested template of {where}")
            construct_path = by_file.get(file.name)
            child = self.add(construct_path or where, file, body, (parent.key, logical_id))
            parent.children[logical_id] = child.key
            self.assign_paths(child, metadata, construct_path, by_file)
            self.nested(directory, child, metadata, by_file, (*chain, file))

    def nested_file(self, directory: Path, resource: dict[str, Any], where: str) -> Path | None:
        asset_path = object_at(resource, "Metadata", where).get("aws:asset:path")
        if isinstance(asset_path, str):
            found = self.assembly.asset_path(
                asset_path, f"nested stack {where}: aws:asset:path", directory
            )
            if found is not None and found.is_file():
                return found
        url = object_at(resource, "Properties", where).get("TemplateURL")
        for text in _strings(url):
            match = _ASSET_KEY.search(text)
            if match:
                found = self.assembly.assets.get(match.group(1))
                if found is not None and found.is_file():
                    return found
        self.assembly.notes.append(
            f"{where}: nested stack template is not in the assembly (TemplateURL points "
            "elsewhere); its resources are not reviewed"
        )
        return None


def _unique(assembly: Assembly, key: str) -> str:
    candidate, n = key, 2
    while candidate in assembly.templates:
        candidate, n = f"{key}#{n}", n + 1
    return candidate


def _strings(expr: Any) -> list[str]:
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, list):
        return [s for item in expr for s in _strings(item)]
    if isinstance(expr, dict):
        return [s for item in expr.values() for s in _strings(item)]
    return []
