"""The signature check: exactly the model's fields, typed, or an error naming every bad one."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core import InvalidInput
from aimsight.insight import FeatureSpec, FeatureType
from aimsight.registry import SignatureMismatch, enforce_signature
from tests.registry._fakes import FEATURES, ROW

TYPES = ("number", "integer", "boolean", "category")
CATEGORIES = ("basic", "plus", "pro")


def _spec(name: str, kind: str) -> FeatureSpec:
    categories = CATEGORIES if kind == "category" else ()
    return FeatureSpec(name, cast(FeatureType, kind), categories=categories)


signatures = st.lists(
    st.tuples(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), st.sampled_from(TYPES)),
    min_size=1,
    max_size=6,
    unique_by=lambda pair: pair[0],
).map(lambda pairs: tuple(_spec(name, kind) for name, kind in pairs))


def good_value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**9), 10**9)
    if kind == "integer":
        return st.integers(-(10**9), 10**9) | st.integers(-1000, 1000).map(float)
    if kind == "boolean":
        return st.booleans()
    return st.sampled_from(CATEGORIES) | st.text(max_size=8)


def bad_value(kind: str) -> st.SearchStrategy[Any]:
    nothing = st.none()
    if kind == "number":
        return st.text() | st.booleans() | nothing | st.just(math.nan) | st.just(math.inf)
    if kind == "integer":
        fractions = st.floats(0.01, 0.99).map(lambda f: 7 + f)
        return st.text() | st.booleans() | nothing | fractions | st.just(-math.inf)
    if kind == "boolean":
        return st.integers() | st.text() | nothing | st.floats(allow_nan=False)
    return st.integers() | st.floats(allow_nan=False) | st.booleans() | nothing | st.just([1])


@st.composite
def signature_and_rows(draw: st.DrawFn) -> tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]]:
    specs = draw(signatures)
    count = draw(st.integers(1, 5))
    rows = [{spec.name: draw(good_value(spec.type)) for spec in specs} for _ in range(count)]
    return specs, rows


@settings(max_examples=60, deadline=None)
@given(signature_and_rows())
def test_rows_that_match_come_back_typed_in_signature_order(
    case: tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]],
) -> None:
    specs, rows = case
    checked = enforce_signature(list(reversed(rows)), specs)
    frame = checked.frame
    assert list(frame.columns) == [spec.name for spec in specs]
    assert len(frame) == len(rows)
    expected_dtype = {"number": "float64", "integer": "int64", "boolean": "bool"}
    for spec in specs:
        if spec.type in expected_dtype:
            assert str(frame[spec.name].dtype) == expected_dtype[spec.type]
        else:
            assert all(isinstance(v, str) for v in frame[spec.name])
            unseen = set(frame[spec.name]) - set(CATEGORIES)
            assert set(checked.unseen_categories.get(spec.name, [])) == unseen


@settings(max_examples=60, deadline=None)
@given(signature_and_rows(), st.data())
def test_a_field_left_out_is_named_with_its_type(
    case: tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]], data: st.DataObject
) -> None:
    specs, rows = case
    dropped = data.draw(st.sampled_from(specs))
    for row in rows:
        del row[dropped.name]
    with pytest.raises(SignatureMismatch) as caught:
        enforce_signature(rows, specs)
    problems = {(p.field, p.problem) for p in caught.value.problems}
    assert problems == {(dropped.name, "missing")}
    assert dropped.name in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(signature_and_rows(), st.from_regex(r"[A-Z][a-z]{0,6}", fullmatch=True))
def test_a_field_the_model_does_not_take_is_named(
    case: tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]], extra: str
) -> None:
    specs, rows = case
    rows[-1][extra] = 1
    with pytest.raises(SignatureMismatch) as caught:
        enforce_signature(rows, specs)
    assert [(p.field, p.problem) for p in caught.value.problems] == [(extra, "unexpected")]


@settings(max_examples=100, deadline=None)
@given(signature_and_rows(), st.data())
def test_a_mistyped_value_names_the_field_the_row_and_the_expected_type(
    case: tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]], data: st.DataObject
) -> None:
    specs, rows = case
    spec = data.draw(st.sampled_from(specs))
    row = data.draw(st.integers(0, len(rows) - 1))
    rows[row][spec.name] = data.draw(bad_value(spec.type))
    with pytest.raises(SignatureMismatch) as caught:
        enforce_signature(rows, specs)
    [problem] = caught.value.problems
    assert (problem.field, problem.problem) == (spec.name, "mistyped")
    assert f"row {row} has" in problem.detail
    assert f"{spec.name} expects {problem.expected}" in str(caught.value)
    assert caught.value.field == spec.name


@settings(max_examples=40, deadline=None)
@given(signature_and_rows())
def test_a_frame_is_checked_like_the_same_records(
    case: tuple[tuple[FeatureSpec, ...], list[dict[str, Any]]],
) -> None:
    specs, rows = case
    from_records = enforce_signature(rows, specs).frame
    from_frame = enforce_signature(pd.DataFrame(rows), specs).frame
    pd.testing.assert_frame_equal(from_records, from_frame)


def test_every_offending_field_is_named_at_once() -> None:
    row = dict(ROW, tenure_days="120", plan=3, autopay=1, monthly_spend=None, coupon="X")
    del row["failed_payments"]
    with pytest.raises(SignatureMismatch) as caught:
        enforce_signature(row, FEATURES, model="churn v1")
    message = str(caught.value)
    assert message.startswith("the rows do not match the signature of churn v1")
    for words in (
        "missing failed_payments (integer)",
        "unexpected coupon",
        "tenure_days expects integer but row 0 has text",
        "monthly_spend expects number but row 0 has null",
        "plan expects text (a category such as basic, plus, pro) but row 0 has an integer",
        "autopay expects true/false but row 0 has an integer",
    ):
        assert words in message
    assert caught.value.code == "signature_mismatch" and isinstance(caught.value, InvalidInput)


def test_one_record_a_list_and_a_frame_are_all_accepted() -> None:
    for rows in (ROW, [ROW, ROW], pd.DataFrame([ROW, ROW])):
        checked = enforce_signature(rows, FEATURES)
        assert checked.frame.iloc[0].to_dict() == ROW


def test_a_category_never_seen_in_training_is_allowed_and_reported() -> None:
    checked = enforce_signature([dict(ROW, plan="family"), ROW], FEATURES)
    assert checked.unseen_categories == {"plan": ["family"]}
    assert list(checked.frame["plan"]) == ["family", "basic"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"tenure_days": 2**70}, "tenure_days expects integer but row 0 has an integer too large"),
        ({"tenure_days": 1e300}, "tenure_days expects integer but row 0 has an integer too large"),
        ({"monthly_spend": 10**400}, "monthly_spend expects number but row 0 has a number too"),
    ],
)
def test_numbers_the_model_cannot_hold_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(SignatureMismatch, match=words):
        enforce_signature(dict(ROW, **changes), FEATURES)


def test_a_row_missing_a_field_others_have_is_named() -> None:
    partial = {k: v for k, v in ROW.items() if k != "plan"}
    with pytest.raises(SignatureMismatch, match="plan expects .* row 1 has no value for it"):
        enforce_signature([ROW, partial], FEATURES)


@pytest.mark.parametrize(
    ("column", "values", "words"),
    [
        ("tenure_days", [1.0, np.nan], "row 1 has null"),
        ("tenure_days", [1.5, 2.0], "row 0 has a fraction"),
        ("monthly_spend", [np.inf, 1.0], "row 0 has an infinite number"),
        ("monthly_spend", pd.array(["1", "2"], dtype="string"), "row 0 has text"),
        ("monthly_spend", [True, False], "row 0 has true/false"),
        ("plan", [1, 2], "row 0 has an integer"),
        ("autopay", [1, 0], "row 0 has an integer"),
        ("tenure_days", pd.array([1, None], dtype="Int64"), "row 1 has null"),
    ],
)
def test_typed_frame_columns_are_checked_without_looking_at_each_value(
    column: str, values: Any, words: str
) -> None:
    frame = pd.DataFrame([ROW, ROW])
    frame[column] = values
    with pytest.raises(SignatureMismatch, match=words):
        enforce_signature(frame, FEATURES)


def test_a_long_run_of_bad_rows_is_summarised() -> None:
    frame = pd.DataFrame([ROW] * 10)
    frame["tenure_days"] = 0.5
    with pytest.raises(SignatureMismatch, match=r"row 2 has a fraction \(and 7 more rows\)"):
        enforce_signature(frame, FEATURES)


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([], "no rows to score"),
        (pd.DataFrame(), "no rows to score"),
        ([ROW, "not a row"], "row 1 is not an object"),
        ("text", "rows must be a table"),
        (42, "rows must be a table"),
    ],
)
def test_input_that_is_not_rows_is_refused(rows: Any, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as caught:
        enforce_signature(rows, FEATURES)
    assert caught.value.field == "rows"


@pytest.mark.parametrize("as_frame", [False, True])
def test_a_null_reaches_only_a_field_the_model_fills_itself(as_frame: bool) -> None:
    specs = (
        FeatureSpec("web_activity_trend", "number", nullable=True),
        FeatureSpec("tenure_days", "number"),
    )
    rows: Any = [{"web_activity_trend": None, "tenure_days": 30.0}]
    checked = enforce_signature(pd.DataFrame(rows) if as_frame else rows, specs)
    assert math.isnan(float(checked.frame["web_activity_trend"].iloc[0]))
    with pytest.raises(SignatureMismatch, match="tenure_days expects number but row 0 has null"):
        enforce_signature([{"web_activity_trend": 1.0, "tenure_days": None}], specs)


def test_nullable_survives_the_stored_signature() -> None:
    spec = FeatureSpec("plan", "category", categories=("basic",), nullable=True)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    assert FeatureSpec.from_dict({"name": "x", "type": "number"}).nullable is False
