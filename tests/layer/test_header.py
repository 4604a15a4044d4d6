"""Trace header parsing (``_X_AMZN_TRACE_ID``) and the headers the layer sends on."""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lambda_xray import header

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
LINEAGE = "Lineage=a87bd80c:1|68fd508a:5"


def test_lambda_header_with_lineage_is_parsed_into_its_fields() -> None:
    parsed = header.parse(f"Root={ROOT};Parent={PARENT};Sampled=1;{LINEAGE}")
    assert parsed is not None
    assert (parsed.root, parsed.parent, parsed.sampled) == (ROOT, PARENT, "1")
    assert parsed.extra == (LINEAGE,)
    assert parsed.mode == header.RECORD


def test_recorded_call_header_names_the_subsegment_as_parent_and_keeps_other_fields() -> None:
    parsed = header.parse(f"Root={ROOT};Parent={PARENT};Sampled=1;{LINEAGE};Self=1-abc")
    assert parsed is not None
    assert parsed.child("0123456789abcdef") == (
        f"Root={ROOT};Parent=0123456789abcdef;Sampled=1;{LINEAGE};Self=1-abc"
    )


def test_unknown_fields_are_kept_verbatim_and_in_order() -> None:
    parsed = header.parse(f"Root={ROOT};Zeta=2;Parent={PARENT};Alpha=x y;Sampled=1")
    assert parsed is not None
    assert parsed.extra == ("Zeta=2", "Alpha=x y")


def test_unsampled_header_is_forwarded_with_sampled_0_and_other_fields() -> None:
    parsed = header.parse(f"Root={ROOT};Parent={PARENT};Sampled=0;{LINEAGE}")
    assert parsed is not None
    assert parsed.mode == header.UNSAMPLED
    assert parsed.forward() == f"Root={ROOT};Sampled=0;{LINEAGE}"


def test_pass_through_header_is_forwarded_exactly_as_received() -> None:
    raw = f"Root={ROOT}"
    parsed = header.parse(raw)
    assert parsed is not None
    assert parsed.mode == header.PASS_THROUGH
    assert parsed.forward() == raw


def test_sampled_without_parent_records_nothing_and_forwards_as_received() -> None:
    raw = f"Root={ROOT};Sampled=1"
    parsed = header.parse(raw)
    assert parsed is not None and parsed.mode == header.PASS_THROUGH
    assert parsed.forward() == raw


def test_undecided_sampling_is_pass_through() -> None:
    parsed = header.parse(f"Root={ROOT};Parent={PARENT};Sampled=?")
    assert parsed is not None and parsed.mode == header.PASS_THROUGH


def test_keys_are_case_insensitive_and_spaces_around_fields_ignored() -> None:
    parsed = header.parse(f" root={ROOT} ; PARENT = {PARENT} ;sampled=1; ")
    assert parsed is not None
    assert (parsed.root, parsed.parent, parsed.mode) == (ROOT, PARENT, header.RECORD)


def test_malformed_headers_are_treated_as_missing() -> None:
    bad = [
        None,
        "",
        "garbage",
        f"Parent={PARENT};Sampled=1",  # no Root
        "Root=1-5759e988-bd862e3fe1be46a99427279;Sampled=1",  # 23 hex digits
        "Root=2-5759e988-bd862e3fe1be46a994272793",  # wrong version
        "Root=1-5759e98g-bd862e3fe1be46a994272793",  # not hex
        f"Root={ROOT};Parent=53995c3f42cd8ad",  # short parent
        f"Root={ROOT};Parent=53995c3f42cd8adz",
        f"Root={ROOT};Root={ROOT}",  # duplicated key
        f"Root={ROOT};Sampled=1;Sampled=0",
        f"Root={ROOT};Lineage",  # field without '='
        f"Root={ROOT};=value",  # empty key
        f"Root={ROOT};Parent={PARENT};Sampled=1\r\nX-Injected: 1",  # control characters
        f"Root={ROOT};Parent={PARENT};Sampled=1;Note=caf\u00e9",  # not ASCII
        f"Root={ROOT};" + "X=" + "a" * 3000,  # absurdly long
    ]
    for value in bad:
        assert header.parse(value) is None, value


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_text_makes_parsing_raise(value: str) -> None:
    header.parse(value)


_FIELD_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation.replace(";", "") + " ",
    max_size=30,
)


_OTHER_FIELD = st.tuples(_FIELD_TEXT, _FIELD_TEXT).map(lambda kv: f"{kv[0]}={kv[1]}")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["Sampled=1", "Sampled=0", "Sampled=?", "Sampled=", f"Parent={PARENT}"]
            ),
            _OTHER_FIELD,
            _FIELD_TEXT,
        ),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=6),
)
@example([f"Parent={PARENT}", "Sampled=0", LINEAGE], 0)
@example([f"Parent={PARENT}", "Sampled=1", LINEAGE], 1)
@example(["Sampled=?"], 0)
def test_every_outgoing_header_is_a_safe_well_formed_header(
    fields: list[str], root_at: int
) -> None:
    fields.insert(min(root_at, len(fields)), f"Root={ROOT}")
    parsed = header.parse(";".join(fields))
    if parsed is None:
        return
    outgoing = [parsed.child("0123456789abcdef"), parsed.forward()]
    for value in outgoing:
        assert value.isascii() and value.isprintable()
        again = header.parse(value)
        assert again is not None, value
        assert again.root == parsed.root
    recorded = header.parse(outgoing[0])
    assert recorded is not None
    assert recorded.parent == "0123456789abcdef"
    assert recorded.extra == parsed.extra
