"""``lambda_xray._names``: the compact class of segment-name characters is the schema's, exactly.

The layer keeps the class of AWS's published segment document schema as
ranges of code points in base 36 (``_names._RANGES``), decoded when the module
is first imported. Here every code point (not only the BMP's) is checked
against the schema's own ``name`` pattern, and the encoder below makes the
constant again from the schema: run it when the schema changes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_schema import SCHEMA_PATH

from lambda_xray import _names
from lambda_xray.document import sanitize_name

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _schema_class() -> re.Pattern[str]:
    """One character the schema's ``name`` pattern (``^[...]{1,200}$``) accepts."""
    pattern = json.loads(SCHEMA_PATH.read_text())["properties"]["name"]["pattern"]
    assert pattern.startswith("^[") and pattern.endswith("]{1,200}$")
    return re.compile(pattern[1 : -len("{1,200}$")])


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = DIGITS[digit] + text
        if not number:
            return text


def encode(allowed: list[int]) -> str:
    """``_names._RANGES`` for the sorted code points ``allowed``."""
    ranges: list[list[int]] = []
    for point in allowed:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    numbers, end = [], -1
    for start, last in ranges:
        numbers += [start - end - 1, last - start]
        end = last
    return ",".join(_base36(n) for n in numbers)


def test_every_code_point_is_allowed_exactly_when_the_schema_allows_it() -> None:
    schema = _schema_class()
    differ = [
        point
        for point in range(sys.maxunicode + 1)
        if bool(schema.fullmatch(chr(point))) is bool(_names.DISALLOWED.match(chr(point)))
    ]
    assert differ == []


def test_the_constant_is_what_the_encoder_makes_of_the_schema() -> None:
    schema = _schema_class()
    allowed = [p for p in range(sys.maxunicode + 1) if schema.fullmatch(chr(p))]
    assert encode(allowed) == _names._RANGES
    assert len(_names._RANGES) < 2000  # the point of it: the class spelled out is 2.6 KB


def test_a_non_ascii_name_keeps_what_the_schema_allows_and_loses_the_rest() -> None:
    schema = re.compile(_schema_class().pattern + "{1,200}")
    for name in ("Zürich-Ω 東京 ٣", "emoji ☃ here", "tab\there", "a\u0300b", "\U0001d518nicode"):
        cleaned = sanitize_name(name)
        assert schema.fullmatch(cleaned), (name, cleaned)
        assert all(c in name for c in cleaned)
