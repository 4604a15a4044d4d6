"""The query text the database patches record: literals never survive, placeholders do.

``sanitize`` is a pure function; the property tests check that what it
returns does not depend on the content of any literal, in either dialect's
quoting rules, so no literal can leak through an escape it misreads.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_xray.patches._sql import MAX_QUERY, sanitize

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
DIGITS = st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,6})?\Z")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT * FROM t WHERE a = %s AND b = %(name)s",
            "SELECT * FROM t WHERE a = %s AND b = %(name)s",
        ),
        (
            "SELECT * FROM t WHERE a = $1 AND b = :b AND c = ?",
            "SELECT * FROM t WHERE a = $1 AND b = :b AND c = ?",
        ),
        ("SELECT * FROM t WHERE email = 'bob@example.com'", "SELECT * FROM t WHERE email = ?"),
        (
            "SELECT * FROM t WHERE n IN (1, 2.5, -3, 1e9, .5, 0xFF)",
            "SELECT * FROM t WHERE n IN (?, ?, -?, ?, ?, ?)",
        ),
        ("SELECT c1, t2.x FROM t2 -- note 'secret'\nLIMIT 10", "SELECT c1, t2.x FROM t2 LIMIT ?"),
        ("/* app='x', user=42 */ SELECT 1", "SELECT ?"),
        ("SELECT 'it''s', E'a\\'b', $$body$$, $fn$ x $fn$", "SELECT ?, ?, ?, ?"),
        ('SELECT "Quoted Name" FROM "T1"', 'SELECT "Quoted Name" FROM "T1"'),
        ("SELECT 'a\\' , 'secret'", "SELECT ? , ?"),  # PostgreSQL: '\' ends a string
        ("SELECT 'unterminated secret", "SELECT ?"),
    ],
)
def test_postgresql_literals_become_placeholders(query: str, expected: str) -> None:
    assert sanitize(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT * FROM `t` WHERE a = 'x\\'y' AND b = \"secret\"",
            "SELECT * FROM `t` WHERE a = ? AND b = ?",
        ),
        ("SELECT 1 # secret\nFROM t -- secret", "SELECT ? FROM t"),
        ("SELECT _utf8mb4'secret', X'ff', b'01', N'x'", "SELECT ?, ?, ?, ?"),
        ("CALL add_one(%s)", "CALL add_one(%s)"),
    ],
)
def test_mysql_literals_become_placeholders(query: str, expected: str) -> None:
    assert sanitize(query, mysql=True) == expected


def test_long_queries_are_cut_and_marked() -> None:
    text = sanitize("SELECT " + ", ".join(f"c{i}" for i in range(2000)))
    assert len(text) == MAX_QUERY
    assert text.endswith("...")


def _pg_literals(value: str) -> list[str]:
    forms = ["'" + value.replace("'", "''") + "'"]
    forms.append("E'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'")
    if "$" not in value:
        forms.append(f"$${value}$$")
        forms.append(f"$q$ {value} $q$")
    return forms


def _mysql_literals(value: str) -> list[str]:
    escaped = value.replace("\\", "\\\\")
    return [
        "'" + escaped.replace("'", "\\'") + "'",
        "'" + escaped.replace("'", "''") + "'",
        '"' + escaped.replace('"', '\\"') + '"',
    ]


@settings(deadline=None)  # a loaded machine must not fail a pure function
@given(value=TEXT, prefix=st.sampled_from(["SELECT ", "SELECT a FROM t WHERE b = ", "VALUES ("]))
def test_postgresql_output_never_depends_on_a_literal(value: str, prefix: str) -> None:
    for literal in _pg_literals(value):
        assert sanitize(f"{prefix}{literal} AND c = %s") == sanitize(f"{prefix}'x' AND c = %s")


@settings(deadline=None)  # a loaded machine must not fail a pure function
@given(value=TEXT, prefix=st.sampled_from(["SELECT ", "SELECT a FROM t WHERE b = ", "VALUES ("]))
def test_mysql_output_never_depends_on_a_literal(value: str, prefix: str) -> None:
    for literal in _mysql_literals(value):
        got = sanitize(f"{prefix}{literal} AND c = %s", mysql=True)
        assert got == sanitize(f"{prefix}'x' AND c = %s", mysql=True)


@settings(deadline=None)  # a loaded machine must not fail a pure function
@given(value=TEXT, mysql=st.booleans())
def test_a_string_right_after_a_word_is_still_a_literal(value: str, mysql: bool) -> None:
    # PostgreSQL reads date'2024-01-01' as a typed literal: no space needed.
    escaped = value.replace("\\", "\\\\") if mysql else value
    literal = "'" + escaped.replace("'", "''") + "'"
    got = sanitize(f"SELECT date{literal} AS d", mysql=mysql)
    assert got == "SELECT date? AS d"


@settings(deadline=None)  # a loaded machine must not fail a pure function
@given(number=DIGITS, mysql=st.booleans())
def test_numbers_never_survive(number: str, mysql: bool) -> None:
    assert sanitize(f"SELECT * FROM t WHERE n = {number}", mysql=mysql) == (
        "SELECT * FROM t WHERE n = ?"
    )


@settings(deadline=None)  # a loaded machine must not fail a pure function
@given(value=TEXT, mysql=st.booleans())
def test_comments_never_survive(value: str, mysql: bool) -> None:
    one_line = value.replace("\n", " ").replace("\r", " ")
    block = value.replace("*/", "")
    for comment in (f"-- {one_line}\n", f"/* {block} */"):
        assert sanitize(f"SELECT a {comment}FROM t", mysql=mysql) == "SELECT a FROM t"
