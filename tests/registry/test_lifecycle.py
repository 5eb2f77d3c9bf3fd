"""Lifecycle rules: allowed promotions, and who was champion when (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core import Conflict, InvalidInput
from aimsight.registry._lifecycle import (
    ChampionEvent,
    champion_stack,
    check_promotion,
    production_intervals,
)


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("approved", "shadow"),
        ("approved", "canary"),
        ("shadow", "canary"),
        ("shadow", "production"),
        ("canary", "production"),
    ],
)
def test_the_allowed_promotions(current: str, to: str) -> None:
    check_promotion("m:v1", current, to, share=0.5 if to == "canary" else None, exception=None)


@pytest.mark.parametrize("current", ["draft", "validated", "retired", "production"])
@pytest.mark.parametrize("to", ["shadow", "canary", "production"])
def test_versions_not_yet_approved_or_past_it_cannot_be_promoted(current: str, to: str) -> None:
    with pytest.raises(Conflict, match=f"m:v1 is {current} and cannot be promoted to {to}"):
        check_promotion(
            "m:v1",
            current,
            to,
            share=0.5 if to == "canary" else None,
            exception="an exception long enough",
        )


def test_skipping_shadow_and_canary_needs_an_exception_of_substance() -> None:
    with pytest.raises(Conflict, match="or pass an exception"):
        check_promotion("m:v1", "approved", "production", share=None, exception=None)
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        check_promotion("m:v1", "approved", "production", share=None, exception="urgent")
    check_promotion("m:v1", "approved", "production", share=None, exception="legal deadline")


def test_a_share_is_for_canaries_only() -> None:
    with pytest.raises(InvalidInput, match="share applies to canaries only"):
        check_promotion("m:v1", "approved", "shadow", share=0.2, exception=None)


def _events(actions: list[tuple[int, str]]) -> list[ChampionEvent]:
    return [ChampionEvent(v, a, f"t{i:03d}", "x") for i, (v, a) in enumerate(actions)]


def test_rollbacks_pop_the_champion_stack() -> None:
    events = _events([(1, "promote"), (2, "promote"), (3, "promote"), (2, "rollback")])
    assert champion_stack(events) == [1, 2]
    assert champion_stack([*events, *_events([(1, "rollback")])]) == [1]
    intervals = production_intervals(events)
    assert [(i.version, i.started_at, i.ended_at) for i in intervals] == [
        (1, "t000", "t001"),
        (2, "t001", "t002"),
        (3, "t002", "t003"),
        (2, "t003", None),
    ]


@given(st.lists(st.integers(1, 20), min_size=1, max_size=30, unique=True), st.data())
def test_the_stack_top_is_the_champion_after_any_promotions_and_rollbacks(
    promoted: list[int], data: st.DataObject
) -> None:
    """Promote distinct versions in order, then roll back k times: the champion is the one
    promoted k before the last, and the intervals tile time without gaps."""
    back = data.draw(st.integers(0, len(promoted) - 1))
    actions = [(v, "promote") for v in promoted]
    actions += [(promoted[-2 - k], "rollback") for k in range(back)]
    events = _events(actions)
    stack = champion_stack(events)
    assert stack == promoted[: len(promoted) - back]
    intervals = production_intervals(events)
    assert len(intervals) == len(events)
    assert all(a.ended_at == b.started_at for a, b in zip(intervals, intervals[1:], strict=False))
    assert intervals[-1].ended_at is None and intervals[-1].version == stack[-1]
