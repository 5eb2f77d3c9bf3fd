"""Arbitration: which actions qualify for a customer, and in which order they are offered."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.decide._arbitration import Candidate, RuleResult, arbitrate, evaluate_actions
from aimsight.decide._flow import Flow, parse_flow

FEATURES = ("tenure_days", "plan", "web_events_30d")


def action(action_id: str, **settings: Any) -> dict[str, Any]:
    return {
        "id": action_id,
        "title": action_id.title(),
        "channel": "any",
        "message": f"About {action_id}.",
        "reason": "For tests.",
        **settings,
    }


def make_flow(*actions: dict[str, Any], **settings: Any) -> Flow:
    data: dict[str, Any] = {
        "flow": "test",
        "version": 1,
        "description": "Arbitration tests.",
        "owner": "Tests",
        "consent": {"purposes": ["profiling"]},
        "channels": ["email", "web"],
        "models": {"churn": {"model": "churn", "output": "probability"}},
        "fallback": {"action": "fallback", "reason": "Everyone."},
        "actions": [*actions, action("fallback")],
        **settings,
    }
    return parse_flow(yaml.safe_dump(data), origin="test.yaml", features=FEATURES)


def env(churn: float | None = 0.5, **features: Any) -> dict[str, Any]:
    return {"features": features, "scores": {"churn": churn}, "context": {}, "history": {}}


def test_every_rule_of_every_action_is_recorded_and_failing_ones_disqualify() -> None:
    flow = make_flow(
        action(
            "discount",
            eligibility="features.tenure_days >= 90",
            applicability="scores.churn >= 0.3",
            suitability="features.plan != 'premium'",
        ),
        action("upgrade", eligibility="features.plan == 'basic'"),
    )

    candidates, rules = evaluate_actions(
        flow, env(0.5, tenure_days=100, plan="standard"), request_channel="email"
    )

    assert [c.action.id for c in candidates] == ["discount"]
    assert candidates[0].rules == tuple(r for r in rules if r.action_id == "discount")
    assert rules == [
        RuleResult("discount", "eligibility", "features.tenure_days >= 90", True),
        RuleResult("discount", "applicability", "scores.churn >= 0.3", True),
        RuleResult("discount", "suitability", "features.plan != 'premium'", True),
        RuleResult("upgrade", "eligibility", "features.plan == 'basic'", False),
    ]


def test_a_rule_reading_a_missing_value_does_not_pass() -> None:
    flow = make_flow(action("discount", eligibility="features.tenure_days >= 90"))

    candidates, rules = evaluate_actions(flow, env(), request_channel="web")

    assert candidates == []
    assert rules[0].passed is False


def test_actions_on_another_channel_do_not_qualify_and_say_why() -> None:
    flow = make_flow(action("mail_offer", channel="email"), action("anywhere"))

    candidates, rules = evaluate_actions(flow, env(), request_channel="web")

    assert [c.action.id for c in candidates] == ["anywhere"]
    assert RuleResult("mail_offer", "channel", "channel is email", False) in rules


def test_the_fallback_is_never_a_candidate() -> None:
    flow = make_flow(action("offer"))

    candidates, rules = evaluate_actions(flow, env(), request_channel="web")

    assert [c.action.id for c in candidates] == ["offer"]
    assert all(r.action_id != "fallback" for r in rules)


def test_priority_is_propensity_times_weight_times_value_times_levers() -> None:
    flow = make_flow(
        action(
            "discount",
            propensity="scores.churn",
            value="features.tenure_days / 10",
            context_weights=[
                {"when": "context.page == 'home'", "weight": 1.5},
                {"when": "context.page == 'other'", "weight": 9.0},
            ],
            levers=["budget", "season"],
        ),
        levers={"budget": 2.0, "season": 0.5},
    )
    scope = {**env(0.4, tenure_days=200), "context": {"page": "home"}}

    (candidate,), _ = evaluate_actions(flow, scope, request_channel="web")

    assert candidate.propensity == pytest.approx(0.4)
    assert candidate.value == pytest.approx(20)
    assert candidate.context_weight == 1.5
    assert candidate.lever == 1.0
    assert candidate.priority == pytest.approx(0.4 * 1.5 * 20 * 1.0)


def test_a_propensity_without_a_number_leaves_the_candidate_unranked() -> None:
    flow = make_flow(action("discount", propensity="scores.churn"))

    candidates, _ = evaluate_actions(flow, env(churn=None), request_channel="web")

    assert len(candidates) == 1 and math.isnan(candidates[0].priority)
    assert arbitrate(candidates, 1) == []


_FLOW = make_flow(*(action(f"a{i:02d}") for i in range(30)))
_ACTIONS = _FLOW.personalised_actions


def candidate(index: int, priority: float) -> Candidate:
    return Candidate(
        action=_ACTIONS[index],
        propensity=1.0,
        context_weight=1.0,
        value=priority,
        lever=1.0,
        priority=priority,
        rules=(),
    )


def test_arbitration_ranks_by_priority_and_keeps_the_top_n() -> None:
    pool = [candidate(0, 1.0), candidate(1, 5.0), candidate(2, 3.0), candidate(3, 4.0)]

    assert [c.action.id for c in arbitrate(pool, 2)] == ["a01", "a03"]
    assert [c.action.id for c in arbitrate(pool, 10)] == ["a01", "a03", "a02", "a00"]


def test_ties_are_broken_by_action_id() -> None:
    pool = [candidate(5, 2.0), candidate(3, 2.0), candidate(4, 2.0)]

    assert [c.action.id for c in arbitrate(pool, 3)] == ["a03", "a04", "a05"]


@pytest.mark.parametrize("priority", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_priorities_that_are_not_positive_and_finite_are_left_out(priority: float) -> None:
    assert arbitrate([candidate(0, priority), candidate(1, 1.0)], 5) == [candidate(1, 1.0)]


@pytest.mark.parametrize("top_n", [0, -1, True, 1.5])
def test_top_n_must_be_a_whole_number_of_at_least_one(top_n: Any) -> None:
    with pytest.raises(InvalidInput, match="top_n must be a whole number of at least 1"):
        arbitrate([candidate(0, 1.0)], top_n)


_PRIORITIES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 2.0]),  # ties
)


@given(
    st.lists(_PRIORITIES, max_size=len(_ACTIONS)),
    st.integers(1, 40),
    st.randoms(use_true_random=False),
)
def test_the_ranking_is_the_top_n_sorted_by_priority_whatever_the_input_order(
    priorities: list[float], top_n: int, shuffler: random.Random
) -> None:
    pool = [candidate(i, p) for i, p in enumerate(priorities)]
    shuffled = pool[:]
    shuffler.shuffle(shuffled)

    ranked = arbitrate(pool, top_n)

    assert arbitrate(shuffled, top_n) == ranked
    rankable = [c for c in pool if math.isfinite(c.priority) and c.priority > 0]
    assert len(ranked) == min(top_n, len(rankable))
    assert all(c in rankable for c in ranked)
    keys = [(-c.priority, c.action.id) for c in ranked]
    assert keys == sorted(keys)
    if ranked:
        left_out = [c for c in rankable if c not in ranked]
        assert all(c.priority <= ranked[-1].priority for c in left_out)
