"""Odd but valid JSON in a template never crashes the review (it is ignored or unresolved)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_lambda_xray.review import report_html, report_json, report_markdown
from cdk_lambda_xray.review.assembly import Assembly, Template
from cdk_lambda_xray.review.build import build_model
from cdk_lambda_xray.review.review import run_review

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "handwritten"
BODY = json.loads((FIXTURE / "Orders.template.json").read_text())

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_names = st.sampled_from(
    ["Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::ImportValue", "Fn::If", "Fn::Select"]
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8) | _names, children, max_size=3)
    ),
    max_leaves=12,
)
_paths = st.sampled_from(
    [
        (name, key)
        for name, resource in BODY["Resources"].items()
        for key in resource.get("Properties", {})
    ]
)


def _review(body: dict[str, Any]) -> None:
    template = Template(key="Orders", display_name="Orders", file=FIXTURE, body=body)
    assembly = Assembly(root=FIXTURE, version="36.0.0", templates={"Orders": template}, assets={})
    review = run_review(build_model(assembly))
    report_markdown.render(review)
    report_json.render(review)
    report_html.render(review)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replacements=st.lists(st.tuples(_paths, _json), min_size=1, max_size=4))
def test_any_property_value_is_survived(replacements: list[tuple[tuple[str, str], Any]]) -> None:
    body = copy.deepcopy(BODY)
    for (name, key), value in replacements:
        body["Resources"][name]["Properties"][key] = value
    _review(body)


@settings(max_examples=50, deadline=None)
@given(value=_json)
def test_any_resource_shape_is_survived(value: Any) -> None:
    body = copy.deepcopy(BODY)
    body["Resources"]["Odd"] = value
    body["Resources"]["CreateOrder"]["Properties"]["Environment"] = value
    _review(body)
