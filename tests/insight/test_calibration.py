"""Calibration error, reliability tables and the cost-based threshold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.insight._calibration import (
    cost_threshold,
    expected_calibration_error,
    reliability_bins,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def calibrated(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn with exactly the stated probabilities: perfectly calibrated."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return (rng.uniform(size=n) < p).astype(int), p


@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0, max_value=1)), min_size=1, max_size=200
    ),
    st.integers(min_value=1, max_value=30),
)
def test_ece_is_between_zero_and_one(pairs: list[tuple[bool, float]], bins: int) -> None:
    y = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    assert 0.0 <= expected_calibration_error(y, p, bins=bins) <= 1.0


@settings(max_examples=20, deadline=None)
@given(seeds)
def test_perfectly_calibrated_probabilities_have_a_small_ece(seed: int) -> None:
    y, p = calibrated(seed, 20_000)
    assert expected_calibration_error(y, p) < 0.03


def test_ece_measures_overconfidence() -> None:
    # Everyone is told 90 %, half leave: off by 0.4 for everyone.
    assert expected_calibration_error([1, 0] * 50, [0.9] * 100) == pytest.approx(0.4)


def test_ece_is_the_count_weighted_gap_of_the_reliability_table() -> None:
    y, p = calibrated(3, 2_000)
    p = p**2  # miscalibrated on purpose
    table = reliability_bins(y, p)
    gaps = [
        row["count"] * abs(row["mean_predicted"] - row["observed_rate"])  # type: ignore[operator]
        for row in table
        if row["count"]
    ]
    assert expected_calibration_error(y, p) == pytest.approx(sum(gaps) / len(y))


def test_reliability_table_lists_every_bin_with_counts() -> None:
    table = reliability_bins([1, 0, 1], [0.05, 0.07, 1.0], bins=10)
    assert len(table) == 10
    assert [row["count"] for row in table] == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert table[0] == {
        "lower": 0.0,
        "upper": 0.1,
        "mean_predicted": pytest.approx(0.06),
        "observed_rate": 0.5,
        "count": 2,
    }
    assert table[1]["mean_predicted"] is None and table[1]["observed_rate"] is None
    assert table[9]["observed_rate"] == 1.0  # a probability of exactly 1 joins the last bin


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_equal_costs_on_calibrated_probabilities_put_the_threshold_near_half(seed: int) -> None:
    y, p = calibrated(seed, 5_000)
    assert 0.35 <= cost_threshold(y, p, 1.0, 1.0).threshold <= 0.65


def test_threshold_tracks_the_cost_ratio() -> None:
    y, p = calibrated(11, 50_000)
    # Bayes: flag when p > fp / (fp + fn) = 1/6 when a lost customer costs 5 offers.
    assert cost_threshold(y, p, 1.0, 5.0).threshold == pytest.approx(1 / 6, abs=0.04)


@settings(max_examples=40, deadline=None)
@given(
    seeds,
    st.floats(min_value=0.1, max_value=10),
    st.floats(min_value=1.0, max_value=10),
)
def test_threshold_moves_down_as_missed_churners_get_dearer(
    seed: int, false_negative: float, factor: float
) -> None:
    y, p = calibrated(seed, 500)
    cheap = cost_threshold(y, p, 1.0, false_negative)
    dear = cost_threshold(y, p, 1.0, false_negative * factor)
    assert dear.threshold <= cheap.threshold


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.7, 0.9, 1.0])),
        min_size=1,
        max_size=60,
    ),
    st.floats(min_value=0, max_value=5),
    st.floats(min_value=0.1, max_value=5),
)
def test_threshold_is_the_cheapest_cut_and_its_numbers_are_true(
    pairs: list[tuple[bool, float]], false_positive: float, false_negative: float
) -> None:
    y = np.array([a for a, _ in pairs], dtype=int)
    p = np.array([b for _, b in pairs])
    chosen = cost_threshold(y, p, false_positive, false_negative)

    def cost(flag: np.ndarray) -> float:
        fp = np.sum(flag & (y == 0))
        fn = np.sum(~flag & (y == 1))
        return float(false_positive * fp + false_negative * fn) / len(y)

    flagged = p >= chosen.threshold
    assert chosen.expected_cost == pytest.approx(cost(flagged))
    # No cut-off (flag everyone at or above some probability, or nobody) is cheaper.
    cuts = [p >= t for t in np.unique(p)] + [np.zeros(len(p), dtype=bool)]
    assert all(chosen.expected_cost <= cost(flag) + 1e-12 for flag in cuts)
    if flagged.any():
        assert chosen.precision == pytest.approx(np.mean(y[flagged]))
    if y.any():
        assert chosen.recall == pytest.approx(np.sum(flagged & (y == 1)) / y.sum())


def test_flagging_nobody_is_possible_when_offers_cost_more_than_losses() -> None:
    chosen = cost_threshold([0, 1, 0, 0], [0.9, 0.6, 1.0, 0.2], false_positive=10, false_negative=1)
    assert chosen.threshold > 1.0
    assert (chosen.precision, chosen.recall) == (0.0, 0.0)
    assert chosen.expected_cost == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("y", "p", "field"),
    [
        ([0, 1], [0.5], "probabilities"),
        ([0, 2], [0.5, 0.5], "outcomes"),
        ([0, 1], [0.5, 1.5], "probabilities"),
        ([0, 1], [0.5, float("nan")], "probabilities"),
        ([], [], "outcomes"),
    ],
)
def test_bad_input_names_the_field(y: list[int], p: list[float], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        expected_calibration_error(y, p)
    assert raised.value.field == field


def test_negative_costs_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        cost_threshold([0, 1], [0.2, 0.8], -1.0, 1.0)
    assert raised.value.field == "costs"
