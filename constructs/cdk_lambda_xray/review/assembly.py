"""Read a cloud assembly (``cdk.out``): manifest, every stack template, nested
stacks, nested assemblies (CDK stages) and file-asset metadata.

Works on any assembly, not only apps that use this library, and on a directory
holding a hand-written ``manifest.json``. Construct paths come from the
resources' ``aws:cdk:path`` metadata or the stack's metadata file; templates
without either show logical ids instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

STACK_ARTIFACT: Final = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT: Final = "cdk:asset-manifest"
NESTED_ASSEMBLY_ARTIFACT: Final = "cdk:cloud-assembly"
NESTED_STACK_TYPE: Final = "AWS::CloudFormation::Stack"

_ANNOTATION_LEVELS: Final = {"aws:cdk:warning": "warning", "aws:cdk:error": "error"}
_ASSET_KEY = re.compile(r"([0-9a-f]{64})(?:\.(?:json|zip|yaml))?")


class AssemblyError(Exception):
    """The directory is not a readable cloud assembly; the message says why and what to do."""


@dataclass(slots=True)
class Template:
    """One stack template (top-level or nested) and what the assembly says about it."""

    key: str
    display_name: str
    file: Path
    body: dict[str, Any]
    #: (parent key, logical id of the AWS::CloudFormation::Stack) for nested stacks
    parent: tuple[str, str] | None = None
    #: logical id -> construct path ("Stack/Fn/Resource"), when known
    paths: dict[str, str] = field(default_factory=dict)
    #: construct paths carrying aws:cdk:is-custom-resource-handler-* markers
    handler_markers: set[str] = field(default_factory=set)
    #: logical id of nested stack resources -> child key
    children: dict[str, str] = field(default_factory=dict)
    #: (construct path, level, message) of CDK warning/error annotations
    annotations: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def resources(self) -> dict[str, Any]:
        res = self.body.get("Resources")
        return res if isinstance(res, dict) else {}


@dataclass(slots=True)
class Assembly:
    """Everything the review reads from a ``cdk.out`` directory."""

    root: Path
    version: str
    templates: dict[str, Template]
    #: asset hash -> source path (file or directory) inside the assembly
    assets: dict[str, Path]
    #: problems that did not stop the read (nested template not found, ...)
    notes: list[str] = field(default_factory=list)

    def asset_for_key(self, key: str) -> Path | None:
        """The asset whose S3 object key (``<hash>.zip``) or hash is ``key``."""
        match = _ASSET_KEY.fullmatch(key.rsplit("/", 1)[-1])
        return self.assets.get(match.group(1)) if match else None


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AssemblyError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise AssemblyError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssemblyError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); synthesize again with `cdk synth`"
        ) from None


def load_assembly(path: str | Path) -> Assembly:
    """Read the assembly at ``path`` (a ``cdk.out`` directory).

    Raises :class:`AssemblyError` for a missing or malformed assembly.
    """
    root = Path(path)
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
    assembly = Assembly(root=root, version="", templates={}, assets={})
    _load_manifest(assembly, root, prefix="")
    if not assembly.templates:
        raise AssemblyError(
            f"{root}/manifest.json lists no CloudFormation stacks; nothing to review"
        )
    return assembly


def _load_manifest(assembly: Assembly, directory: Path, prefix: str) -> None:
    manifest = _read_json(directory / "manifest.json", "manifest")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts", {}), dict):
        raise AssemblyError(f"{directory}/manifest.json is not a cloud assembly manifest")
    assembly.version = assembly.version or str(manifest.get("version", ""))
    artifacts: dict[str, Any] = manifest.get("artifacts") or {}
    for artifact in artifacts.values():
        if isinstance(artifact, dict) and artifact.get("type") == ASSET_MANIFEST_ARTIFACT:
            _load_assets(assembly, directory, artifact)
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        kind = artifact.get("type")
        props = artifact.get("properties") or {}
        if kind == STACK_ARTIFACT:
            _load_stack(assembly, directory, prefix, artifact_id, artifact)
        elif kind == NESTED_ASSEMBLY_ARTIFACT and props.get("directoryName"):
            sub = directory / str(props["directoryName"])
            _load_manifest(
                assembly, sub, prefix=f"{prefix}{props.get('displayName', artifact_id)}/"
            )


def _load_assets(assembly: Assembly, directory: Path, artifact: Mapping[str, Any]) -> None:
    file = (artifact.get("properties") or {}).get("file")
    if not file:
        return
    data = _read_json(directory / str(file), "asset manifest")
    for asset_hash, entry in (data.get("files") or {}).items():
        source = (entry or {}).get("source") or {}
        if source.get("path"):
            assembly.assets[str(asset_hash)] = directory / str(source["path"])


def _load_stack(
    assembly: Assembly,
    directory: Path,
    prefix: str,
    artifact_id: str,
    artifact: Mapping[str, Any],
) -> None:
    props = artifact.get("properties") or {}
    template_file = props.get("templateFile")
    if not template_file:
        raise AssemblyError(
            f"stack {artifact_id!r} in {directory}/manifest.json has no templateFile"
        )
    # displayName already carries the stage path ("Prod/Api"); ids of nested
    # assemblies without one get the stage prefix
    display = str(artifact.get("displayName") or f"{prefix}{artifact_id}")
    key = _unique(assembly, display)
    body = _read_json(directory / str(template_file), f"template of stack {display!r}")
    if not isinstance(body, dict):
        raise AssemblyError(f"template of stack {display!r} is not a JSON object")
    template = Template(
        key=key, display_name=display, file=directory / str(template_file), body=body
    )
    assembly.templates[key] = template
    metadata = _stack_metadata(directory, artifact)
    by_file = _paths_by_template(metadata)
    _assign_paths(template, metadata, by_file.get(str(template_file)), by_file)
    _load_nested(assembly, directory, template, metadata, by_file)


def _unique(assembly: Assembly, key: str) -> str:
    candidate, n = key, 2
    while candidate in assembly.templates:
        candidate, n = f"{key}#{n}", n + 1
    return candidate


def _stack_metadata(directory: Path, artifact: Mapping[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(artifact.get("metadata") or {})
    extra = artifact.get("additionalMetadataFile")
    if extra and (directory / str(extra)).is_file():
        loaded = _read_json(directory / str(extra), "stack metadata")
        if isinstance(loaded, dict):
            metadata.update(loaded)
    return metadata


def _paths_by_template(metadata: Mapping[str, Any]) -> dict[str, str]:
    """template file -> construct path prefix of the stack that owns it."""
    out: dict[str, str] = {}
    for path, entries in metadata.items():
        for entry in entries or ():
            if isinstance(entry, dict) and entry.get("type") == "aws:cdk:templateFile":
                out[str(entry.get("data"))] = path.strip("/")
    return out


def _assign_paths(
    template: Template,
    metadata: Mapping[str, Any],
    prefix: str | None,
    by_file: Mapping[str, str],
) -> None:
    for logical_id, resource in template.resources.items():
        cdk_path = ((resource or {}).get("Metadata") or {}).get("aws:cdk:path")
        if isinstance(cdk_path, str):
            template.paths[logical_id] = cdk_path
    if prefix is None:
        return
    owned = prefix + "/"
    nested_prefixes = [p for p in by_file.values() if p != prefix and p.startswith(owned)]
    for path, entries in metadata.items():
        clean = path.strip("/")
        if not clean.startswith(owned) or any(clean.startswith(n + "/") for n in nested_prefixes):
            continue
        for entry in entries or ():
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type", "")
            if kind == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                template.paths.setdefault(entry["data"], clean)
            elif str(kind).startswith("aws:cdk:is-custom-resource-handler-"):
                template.handler_markers.add(clean)
            elif kind in _ANNOTATION_LEVELS and clean != prefix:
                level = _ANNOTATION_LEVELS[kind]
                template.annotations.append((clean, level, str(entry.get("data"))))


def _load_nested(
    assembly: Assembly,
    directory: Path,
    parent: Template,
    metadata: Mapping[str, Any],
    by_file: Mapping[str, str],
) -> None:
    for logical_id, resource in parent.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != NESTED_STACK_TYPE:
            continue
        file = _nested_template_file(assembly, directory, resource)
        if file is None:
            assembly.notes.append(
                f"{parent.display_name}/{logical_id}: nested stack template is not in the "
                "assembly (TemplateURL points elsewhere); its resources are not reviewed"
            )
            continue
        body = _read_json(file, f"nested template of {parent.display_name}/{logical_id}")
        if not isinstance(body, dict):
            continue
        rel = file.name
        construct_path = by_file.get(rel)
        display = construct_path if construct_path else f"{parent.display_name}/{logical_id}"
        key = _unique(assembly, display)
        child = Template(
            key=key,
            display_name=display,
            file=file,
            body=body,
            parent=(parent.key, logical_id),
        )
        parent.children[logical_id] = key
        assembly.templates[key] = child
        _assign_paths(child, metadata, construct_path, by_file)
        _load_nested(assembly, directory, child, metadata, by_file)


def _nested_template_file(
    assembly: Assembly, directory: Path, resource: Mapping[str, Any]
) -> Path | None:
    asset_path = (resource.get("Metadata") or {}).get("aws:asset:path")
    if isinstance(asset_path, str) and (directory / asset_path).is_file():
        return directory / asset_path
    url = (resource.get("Properties") or {}).get("TemplateURL")
    for text in _strings(url):
        match = _ASSET_KEY.search(text)
        if match:
            found = assembly.assets.get(match.group(1))
            if found is not None and found.is_file():
                return found
    return None


def _strings(expr: Any) -> list[str]:
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, list):
        return [s for item in expr for s in _strings(item)]
    if isinstance(expr, dict):
        return [s for item in expr.values() for s in _strings(item)]
    return []
