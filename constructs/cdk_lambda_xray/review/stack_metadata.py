"""Read a stack's CDK metadata: which construct path owns which template and logical id.

The metadata (artifact ``metadata`` plus ``additionalMetadataFile``) maps
construct paths to entries; the reader has already checked that every value is
a list of objects with a string ``type``.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["Owned", "owned_by", "paths_by_template"]

_ANNOTATION_LEVELS: Final = {"aws:cdk:warning": "warning", "aws:cdk:error": "error"}

#: construct paths by logical id, handler-marker paths, and annotations by construct
#: path, of one template (see :class:`~.assembly.Template`)
Owned = tuple[dict[str, str], set[str], dict[str, list[tuple[str, str]]]]


def paths_by_template(metadata: dict[str, Any]) -> dict[str, str]:
    """template file -> construct path prefix of the stack that owns it."""
    out: dict[str, str] = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:templateFile" and isinstance(entry.get("data"), str):
                out[entry["data"]] = path.strip("/")
    return out


def owned_by(metadata: dict[str, Any], prefix: str, by_file: dict[str, str]) -> Owned:
    """Construct paths, handler markers and annotations under ``prefix`` (not nested ones)."""
    paths: dict[str, str] = {}
    markers: set[str] = set()
    annotations: dict[str, list[tuple[str, str]]] = {}
    owned = prefix + "/"
    nested_prefixes = tuple(
        p + "/" for p in by_file.values() if p != prefix and p.startswith(owned)
    )
    for path, entries in metadata.items():
        clean = path.strip("/")
        if not clean.startswith(owned) or clean.startswith(nested_prefixes):
            continue
        for entry in entries:
            kind = entry.get("type") or ""
            data = entry.get("data")
            if kind == "aws:cdk:logicalId" and isinstance(data, str):
                paths.setdefault(data, clean)
            elif kind.startswith("aws:cdk:is-custom-resource-handler-"):
                markers.add(clean)
            elif kind in _ANNOTATION_LEVELS and clean != prefix:
                message = data if isinstance(data, str) else str(data)[:500]
                annotations.setdefault(clean, []).append((_ANNOTATION_LEVELS[kind], message))
    return paths, markers, annotations
