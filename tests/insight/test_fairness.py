"""Fairness at training: group rates, gaps with intervals, and the gate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    selection_rate,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.insight._fairness import FairnessLimits, fairness_report


def decisions(
    rates: dict[str, float], sizes: dict[str, int], seed: int = 0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Customers of each group flagged at the given rate, regardless of what they do."""
    rng = np.random.default_rng(seed)
    groups = np.concatenate([[g] * n for g, n in sizes.items()])
    flag_rate = np.array([rates[g] for g in groups])
    y_true = (rng.uniform(size=len(groups)) < 0.3).astype(int)
    y_pred = (rng.uniform(size=len(groups)) < flag_rate).astype(int)
    return y_true, y_pred, pd.DataFrame({"region": groups})


def test_gaps_are_fairlearns() -> None:
    y, p, sensitive = decisions(
        {"north": 0.5, "south": 0.3, "west": 0.4}, {"north": 300, "south": 250, "west": 200}
    )
    report = fairness_report(y, p, sensitive, n_boot=0)
    region = report["attributes"]["region"]
    groups = sensitive["region"]
    assert region["demographic_parity_difference"]["value"] == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=groups)
    )
    assert region["demographic_parity_ratio"]["value"] == pytest.approx(
        demographic_parity_ratio(y, p, sensitive_features=groups)
    )
    assert region["equalized_odds_difference"]["value"] == pytest.approx(
        equalized_odds_difference(y, p, sensitive_features=groups)
    )
    assert region["equalized_odds_ratio"]["value"] == pytest.approx(
        equalized_odds_ratio(y, p, sensitive_features=groups)
    )
    assert region["demographic_parity_difference"]["ci"] is None  # no bootstrap asked


def test_group_rates_and_counts() -> None:
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    p = np.array([1, 0, 1, 0, 1, 1, 1, 0])
    sensitive = pd.DataFrame({"band": ["a", "a", "a", "a", "b", "b", "b", "b"]})
    report = fairness_report(y, p, sensitive, n_boot=0, limits=FairnessLimits(min_group_size=1))
    a, b = report["attributes"]["band"]["groups"]
    assert a == {
        "group": "a",
        "count": 4,
        "actual_positives": 2,
        "flagged": 2,
        "small": False,
        "selection_rate": 0.5,
        "selection_rate_ci": None,
        "true_positive_rate": 0.5,
        "true_positive_rate_ci": None,
        "false_positive_rate": 0.5,
        "false_positive_rate_ci": None,
    }
    assert (b["selection_rate"], b["true_positive_rate"]) == (0.75, 1.0)
    assert b["false_positive_rate"] == pytest.approx(2 / 3)


def test_bootstrap_intervals_agree_with_metricframe() -> None:
    y, p, sensitive = decisions({"north": 0.6, "south": 0.3}, {"north": 250, "south": 200}, seed=4)
    ours = fairness_report(y, p, sensitive, n_boot=400, random_state=1)["attributes"]["region"]
    frame = MetricFrame(
        metrics=selection_rate,
        y_true=y,
        y_pred=p,
        sensitive_features=sensitive["region"],
        n_boot=100,
        ci_quantiles=[0.025, 0.975],
        random_state=1,
    )
    low, high = (float(v) for v in frame.difference_ci())
    our_low, our_high = ours["demographic_parity_difference"]["ci"]
    assert our_low == pytest.approx(low, abs=0.04)
    assert our_high == pytest.approx(high, abs=0.04)
    assert our_low <= ours["demographic_parity_difference"]["value"] <= our_high


def test_gate_fails_when_a_limit_is_breached_by_construction() -> None:
    y, p, sensitive = decisions({"north": 0.7, "south": 0.2}, {"north": 400, "south": 400})
    report = fairness_report(y, p, sensitive, n_boot=50)
    assert report["gate"]["passed"] is False
    breached = {v["metric"] for v in report["gate"]["violations"]}
    assert breached == {"demographic_parity_difference", "equalized_odds_difference"}
    violation = report["gate"]["violations"][0]
    assert violation["attribute"] == "region" and violation["value"] > violation["limit"]


def test_gate_passes_when_groups_are_treated_alike() -> None:
    y, p, sensitive = decisions({"north": 0.4, "south": 0.4}, {"north": 2000, "south": 2000})
    report = fairness_report(y, p, sensitive, n_boot=50)
    assert report["gate"] == {"passed": True, "violations": [], "warnings": []}


def test_ratio_limit_is_the_four_fifths_rule() -> None:
    y, p, sensitive = decisions({"north": 0.5, "south": 0.35}, {"north": 3000, "south": 3000})
    loose = FairnessLimits(
        max_demographic_parity_difference=None, max_equalized_odds_difference=None
    )
    assert fairness_report(y, p, sensitive, limits=loose, n_boot=0)["gate"]["passed"]
    strict = loose.model_copy(update={"min_demographic_parity_ratio": 0.8})
    gate = fairness_report(y, p, sensitive, limits=strict, n_boot=0)["gate"]
    assert [v["metric"] for v in gate["violations"]] == ["demographic_parity_ratio"]


def test_small_groups_are_reported_flagged_and_not_gated() -> None:
    y, p, sensitive = decisions(
        {"north": 0.4, "south": 0.4, "island": 1.0}, {"north": 500, "south": 500, "island": 12}
    )
    report = fairness_report(y, p, sensitive, n_boot=20)
    region = report["attributes"]["region"]
    island = next(g for g in region["groups"] if g["group"] == "island")
    assert island["small"] is True and island["selection_rate"] == 1.0
    assert region["small_groups"] == ["island"]
    assert region["demographic_parity_difference"]["value"] < 0.1  # island left out
    assert report["gate"]["passed"] is True
    assert "island" in report["gate"]["warnings"][0]


def test_an_attribute_with_one_large_group_is_not_gated_but_warned() -> None:
    y, p, sensitive = decisions({"north": 0.4, "south": 0.9}, {"north": 500, "south": 10})
    report = fairness_report(y, p, sensitive, n_boot=0)
    assert report["attributes"]["region"]["assessed"] is False
    assert report["gate"]["passed"] is True
    assert "too noisy" in report["gate"]["warnings"][0]


def test_missing_values_form_their_own_group_and_output_is_json() -> None:
    y, p, sensitive = decisions({"north": 0.5, "south": 0.5}, {"north": 100, "south": 100})
    sensitive.loc[:49, "region"] = None
    sensitive["age_band"] = np.where(np.arange(200) % 2 == 0, "18-34", "35+")
    report = fairness_report(y, p, sensitive, n_boot=30)
    assert "(missing)" in [g["group"] for g in report["attributes"]["region"]["groups"]]
    assert set(report["attributes"]) == {"region", "age_band"}
    json.dumps(report, allow_nan=False)


def test_undefined_rates_are_none_not_nan() -> None:
    # Nobody in "south" churned, so its true positive rate does not exist.
    y = np.array([1, 0, 1, 0] * 10 + [0] * 40)
    p = np.array([1, 0, 0, 1] * 10 + [1, 0] * 20)
    sensitive = pd.DataFrame({"region": ["north"] * 40 + ["south"] * 40})
    report = fairness_report(y, p, sensitive, n_boot=20)
    south = report["attributes"]["region"]["groups"][1]
    assert south["true_positive_rate"] is None
    json.dumps(report, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=40, max_value=400))
def test_gaps_lie_in_zero_one_and_intervals_are_ordered(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    sensitive = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n)})
    report = fairness_report(y, p, sensitive, n_boot=30, random_state=seed)
    for metric in (
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
    ):
        found = report["attributes"]["g"][metric]
        if found["value"] is not None:
            assert 0.0 <= found["value"] <= 1.0
        if found["ci"] is not None:
            assert found["ci"][0] <= found["ci"][1]


@pytest.mark.parametrize(
    ("y", "p", "field"),
    [([0, 1, 1], [0, 1], "sensitive"), ([0, 2], [0, 1], "y_true"), ([0, 1], [0, 0.5], "y_pred")],
)
def test_bad_input_names_the_field(y: list[float], p: list[float], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        fairness_report(y, p, pd.DataFrame({"g": ["a", "b"]}))
    assert raised.value.field == field


def test_error_rates_from_a_handful_of_churners_do_not_fail_the_equalized_odds_gate() -> None:
    # 400 customers per region; "west" has only 5 actual churners, all missed by chance.
    rng = np.random.default_rng(4)
    regions = np.repeat(["north", "south", "west"], 400)
    y = np.zeros(1200, dtype=int)
    y[:100] = 1  # north: 100 churners
    y[400:500] = 1  # south: 100 churners
    y[800:805] = 1  # west: 5 churners
    p = np.where(y == 1, rng.uniform(size=1200) < 0.7, rng.uniform(size=1200) < 0.1).astype(int)
    p[800:805] = 0
    sensitive = pd.DataFrame({"region": regions})
    limits = FairnessLimits(max_equalized_odds_difference=0.2, min_outcomes=20)
    report = fairness_report(y, p, sensitive, limits=limits, n_boot=50)
    west = next(g for g in report["attributes"]["region"]["groups"] if g["group"] == "west")
    assert west["true_positive_rate"] == 0.0  # still reported
    assert report["attributes"]["region"]["equalized_odds_difference"]["value"] < 0.2
    assert report["gate"]["passed"]
    strict = fairness_report(
        y, p, sensitive, limits=limits.model_copy(update={"min_outcomes": 1}), n_boot=50
    )
    assert not strict["gate"]["passed"]
