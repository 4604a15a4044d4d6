"""Validate X-Ray documents against AWS's published segment document schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

#: AWS's published segment document schema (a copy of shared/reference/, so a bare clone has it).
SCHEMA_PATH = (
    Path(__file__).resolve().parents[2] / "data" / "xray-segmentdocument-schema-v1.0.0.json"
)


@cache
def _validators() -> tuple[Any, Any]:
    schema = json.loads(SCHEMA_PATH.read_text())
    subsegment = {"$ref": "#/definitions/subsegment", "definitions": schema["definitions"]}
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema), cls(subsegment)


def document_validator() -> Any:
    """The whole schema as a validator (what the daemon accepts as a document)."""
    return _validators()[0]


def validate_subsegment(doc: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``doc`` is a valid standalone subsegment.

    Checked against the whole schema (what the daemon accepts as a document)
    and its ``subsegment`` definition, plus what a standalone subsegment needs
    besides: ``type``, ``trace_id`` and ``parent_id``.
    """
    document, subsegment = _validators()
    document.validate(doc)
    subsegment.validate(doc)
    for key in ("type", "trace_id", "parent_id", "end_time"):
        if key not in doc:
            raise jsonschema.ValidationError(f"standalone subsegment without {key!r}: {doc}")
    if doc["type"] != "subsegment":
        raise jsonschema.ValidationError(f"type is {doc['type']!r}, not 'subsegment'")
