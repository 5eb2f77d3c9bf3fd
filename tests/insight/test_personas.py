"""Persona cards: what sets a segment apart, unique deterministic names, plain-text cards."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.insight._frame import feature_specs
from aimsight.insight._personas import (
    Persona,
    SegmentProfile,
    build_personas,
    profile_segments,
    render_persona,
    suggest_names,
)


def shoppers() -> tuple[pd.DataFrame, list[str]]:
    """Two big spenders (A) and four small ones (B), with a plan and a newsletter flag."""
    frame = pd.DataFrame(
        {
            "monetary": [100.0, 120.0, 10.0, 30.0, 20.0, 20.0],
            "visits": [5, 6, 5, 6, 5, 6],
            "plan": ["premium", "premium", "basic", "basic", "premium", "basic"],
            "newsletter": [True, True, False, False, False, True],
        }
    )
    return frame, ["A", "A", "B", "B", "B", "B"]


def profile_of(
    frame: pd.DataFrame, labels: list[str], descriptions: dict[str, str] | None = None
) -> SegmentProfile:
    specs = feature_specs(frame, list(frame.columns), descriptions)
    return profile_segments(frame, specs, labels, sorted(set(labels)))


def test_traits_are_standardised_differences_against_everyone_else() -> None:
    frame, labels = shoppers()
    cards = build_personas(profile_of(frame, labels))
    big = cards[0]
    assert (big.id, big.size, big.share) == ("A", 2, pytest.approx(1 / 3))
    top = big.distinguishing[0]
    assert top.feature == "monetary" and top.category is None
    assert top.segment_mean == pytest.approx(110.0)
    assert top.population_mean == pytest.approx(50.0)
    pooled = np.sqrt((2 * 100.0 + 4 * 50.0) / 6)  # within-group variances 100 and 50
    assert top.difference == pytest.approx((110.0 - 20.0) / pooled)
    assert [abs(t.difference) for t in big.distinguishing] == sorted(
        (abs(t.difference) for t in big.distinguishing), reverse=True
    )
    assert len(big.distinguishing) == 5
    assert big.statistics["monetary"] == {
        "mean": 110.0,
        "median": 110.0,
        "population_mean": 50.0,
        "population_median": 25.0,
        "description": "monetary",
    }
    assert big.statistics["plan"] == {
        "most_common": "premium",
        "share": 1.0,
        "population_share": 0.5,
        "description": "plan",
    }


def test_names_use_descriptions_and_the_strongest_traits() -> None:
    frame, labels = shoppers()
    names = suggest_names(
        profile_of(frame, labels, {"monetary": "monetary value", "newsletter": "reads news"})
    )
    assert names["A"].startswith("Very high monetary value, ")
    assert "plan: mostly premium" in names["A"] or "mostly reads news" in names["A"]
    assert names["B"].startswith("Very low monetary value")


def test_segments_alike_still_get_unique_names() -> None:
    frame = pd.DataFrame({"spend": [1.0, 2.0, 3.0, 4.0] * 2})
    names = suggest_names(profile_of(frame, ["A"] * 4 + ["B"] * 4))
    assert names == {"A": "Typical customers (A)", "B": "Typical customers (B)"}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    segments=st.integers(2, 9),
    rows=st.integers(20, 120),
)
def test_names_are_unique_and_deterministic(seed: int, segments: int, rows: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "spend": rng.gamma(2.0, 50.0, rows),
            "visits": rng.integers(0, 4, rows),
            "plan": rng.choice(["basic", "plus", "premium"], rows),
        }
    )
    labels = [f"S{i}" for i in rng.integers(1, segments + 1, rows)]
    profile = profile_of(frame, labels)
    names = suggest_names(profile)
    assert sorted(names) == sorted(set(labels))
    assert len(set(names.values())) == len(names)
    assert suggest_names(profile_of(frame, labels)) == names
    assert all(name[:1].isupper() for name in names.values())


def test_cards_round_trip_through_json() -> None:
    frame, labels = shoppers()
    frame["score"] = [np.nan, np.nan, 1.0, 2.0, 3.0, 4.0]  # nothing known for segment A
    cards = build_personas(profile_of(frame, labels), names={"A": "Big spenders"})
    assert cards[0].name == "Big spenders" and cards[1].name == "B"
    stored = [json.loads(json.dumps(card.to_dict(), allow_nan=False)) for card in cards]
    assert stored[0]["statistics"]["score"]["mean"] is None
    assert [Persona.from_dict(item) for item in stored] == cards


def test_a_card_renders_as_short_plain_text() -> None:
    frame, labels = shoppers()
    card = build_personas(profile_of(frame, labels))[0]
    text = render_persona(card)
    lines = text.splitlines()
    assert lines[0] == f"A: {card.name}"
    assert "2 customers (33.3% of all)" in lines[1]
    assert "monetary: 110 vs 50 overall (+" in text
    assert "plan = premium: 100% vs 50% overall" in text
    assert "Typical: monetary mean 110, median 110" in text
    assert len(lines) <= 10


def test_explanations_use_the_rows_own_category_and_value() -> None:
    frame, labels = shoppers()
    profile = profile_of(frame, labels)
    rows = pd.DataFrame(
        {
            "monetary": [115.0, 5.0],
            "visits": [5, 5],
            "plan": ["premium", "gold"],
            "newsletter": [1, 0],
        }
    )
    reasons = profile.explain(rows, ["A", "B"], top=4)
    first = {r.feature: r for r in reasons[0]}
    assert first["monetary"].value == 115.0
    assert first["monetary"].contribution == pytest.approx(
        (110.0 - 50.0) / np.std(frame["monetary"])
    )
    assert first["plan"].value == "premium" and first["plan"].contribution > 0
    second = {r.feature: r for r in reasons[1]}
    assert second["plan"].contribution == 0.0  # a plan never seen says nothing
    assert profile.explain(rows, ["A", "B"], top=0) == [[], []]


def test_importance_ranks_the_feature_that_separates_segments_first() -> None:
    frame, labels = shoppers()
    ranked = profile_of(frame, labels).importance()
    assert ranked[0][0] == "monetary"
    assert dict(ranked)["visits"] == pytest.approx(0.0)
