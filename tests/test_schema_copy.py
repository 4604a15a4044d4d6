"""The schema copy the tests validate against is AWS's published one, unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
COPY = REPO_ROOT / "tests" / "data" / "xray-segmentdocument-schema-v1.0.0.json"
REFERENCE = REPO_ROOT.parent / "shared" / "reference" / COPY.name


def test_the_copy_is_a_segment_document_schema() -> None:
    schema = json.loads(COPY.read_text())
    assert "subsegment" in schema["definitions"]
    assert {"name", "id", "start_time", "trace_id"} <= set(schema["required"])


@pytest.mark.skipif(not REFERENCE.exists(), reason="no shared/ checkout beside this clone")
def test_the_copy_matches_the_shared_reference() -> None:
    assert COPY.read_bytes() == REFERENCE.read_bytes()
