"""Lifetime value: the summary, the BG/NBD and Gamma-Gamma numerics, training and the holdout check.

Data are simulated from the models' own generative processes with known parameters (seeded), so
a fit can be checked against the truth and a formula against a Monte Carlo of the same process.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from aimsight.core.errors import InvalidInput
from aimsight.insight._clv import ClvConfig, ClvModel, summarise_transactions, train_clv
from aimsight.insight._clv_likelihood import (
    BgNbdParams,
    GammaGammaParams,
    expected_average_value,
    expected_purchases,
    fit_bg_nbd,
    fit_gamma_gamma,
    p_alive,
)
from aimsight.insight._frame import TrainingDataError
from aimsight.insight._model import InsightModel, TrainedModel

Change = Callable[[pd.DataFrame], pd.DataFrame]

BG = BgNbdParams(r=0.5, alpha=4.0, a=0.8, b=2.5)
GG = GammaGammaParams(p=6.0, q=4.0, v=20.0)
START = date(2020, 1, 1)


# --- simulation -------------------------------------------------------------------------------


def simulate_purchases(
    rng: np.random.Generator, params: BgNbdParams, ages: np.ndarray, ahead: float = 0.0
) -> list[np.ndarray]:
    """Each customer's repeat purchase times in (0, T + ahead] under BG/NBD.

    While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat
    purchase they drop out with probability p ~ Beta(a, b), so they make at most N ~
    Geometric(p) repeat purchases. Given their count, Poisson arrival times are uniform.
    """
    n = len(ages)
    rates = rng.gamma(params.r, 1 / params.alpha, n)
    most = rng.geometric(rng.beta(params.a, params.b, n))
    counts = rng.poisson(rates * (ages + ahead))
    return [np.sort(rng.uniform(0, ages[i] + ahead, counts[i]))[: most[i]] for i in range(n)]


def summaries(times: list[np.ndarray], ages: np.ndarray) -> tuple[np.ndarray, ...]:
    """(x, t_x, T, purchases after T) of simulated customers."""
    pairs = list(zip(times, ages, strict=True))
    x = np.array([float((t <= age).sum()) for t, age in pairs])
    t_x = np.array([float(t[t <= age].max()) if (t <= age).any() else 0.0 for t, age in pairs])
    later = np.array([float((t > age).sum()) for t, age in pairs])
    return x, t_x, ages.astype(float), later


def simulated_transactions(
    seed: int, customers: int = 600, *, value_follows_frequency: bool = False
) -> pd.DataFrame:
    """Transactions of customers joining over 26 weeks, followed for 78 weeks in all."""
    rng = np.random.default_rng(seed)
    joined = rng.integers(0, 26 * 7, customers)
    ages = (78 * 7 - joined) / 7.0
    times = simulate_purchases(rng, BG, ages)
    spend_rate = rng.gamma(GG.q, 1 / GG.v, customers)
    rows = []
    for i, repeat in enumerate(times):
        days = [int(joined[i])] + [int(joined[i] + t * 7) for t in repeat]
        if value_follows_frequency:
            values = 10.0 * len(days) * rng.uniform(0.9, 1.1, len(days))
        else:
            values = rng.gamma(GG.p, 1 / spend_rate[i], len(days))
        for day, value in zip(days, values, strict=True):
            rows.append(
                {
                    "customer_id": f"c{i:04d}",
                    "date": (START + timedelta(days=day)).isoformat(),
                    "value": round(float(value), 2),
                }
            )
    return pd.DataFrame(rows)


CALIBRATION_END = (START + timedelta(days=52 * 7)).isoformat()
HOLDOUT_END = (START + timedelta(days=78 * 7)).isoformat()


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulated_transactions(seed=3)


@pytest.fixture(scope="module")
def trained(transactions: pd.DataFrame) -> TrainedModel:
    return train_clv(transactions, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END)


# --- summary ----------------------------------------------------------------------------------


def hand_made() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("ann", "2020-01-01", 10.0),
            ("ann", "2020-01-01 15:30", 5.0),  # same day: one purchase worth 15
            ("ann", "2020-01-15", 20.0),
            ("ann", "2020-01-29", 40.0),
            ("bob", "2020-01-08", 7.0),
            ("cat", "2020-02-06", 99.0),  # after observation_end: not a customer yet
        ],
        columns=["customer_id", "date", "value"],
    )


def test_summary_counts_repeat_purchase_days_in_weeks() -> None:
    summary = summarise_transactions(hand_made(), observation_end="2020-02-05")

    assert list(summary.index) == ["ann", "bob"]
    assert summary.loc["ann"].to_dict() == {
        "frequency": 2.0,
        "recency": 4.0,
        "T": 5.0,
        "monetary_value": 30.0,
    }
    assert summary.loc["bob"].to_dict() == {
        "frequency": 0.0,
        "recency": 0.0,
        "T": 4.0,
        "monetary_value": 0.0,
    }


def test_summary_in_days_and_with_own_column_names() -> None:
    frame = hand_made().rename(columns={"customer_id": "who", "date": "when", "value": "paid"})
    summary = summarise_transactions(
        frame,
        customer="who",
        date="when",
        value="paid",
        observation_end=date(2020, 2, 5),
        time_unit_days=1,
    )
    assert summary.index.name == "who"
    assert summary.loc["ann", "recency"] == 28.0
    assert summary.loc["ann", "T"] == 35.0


purchase = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(min_value=0, max_value=60),
    st.floats(min_value=0, max_value=500, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(
    earlier=st.lists(purchase, min_size=1, max_size=25),
    later=st.lists(purchase, min_size=1, max_size=10),
    end=st.integers(min_value=0, max_value=60),
)
def test_transactions_after_observation_end_never_change_the_summary(
    earlier: list[tuple[str, int, float]], later: list[tuple[str, int, float]], end: int
) -> None:
    def frame(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
        return pd.DataFrame(
            [(c, (START + timedelta(days=d)).isoformat(), v) for c, d, v in rows],
            columns=["customer_id", "date", "value"],
        )

    observed = [row for row in earlier if row[1] <= end]
    beyond = [(c, d + end + 1, v) for c, d, v in later]
    observation_end = START + timedelta(days=end)
    before = summarise_transactions(frame(observed), observation_end=observation_end)
    after = summarise_transactions(frame(observed + beyond), observation_end=observation_end)
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.drop(columns="value"), "value"),
        (lambda f: f.assign(value=[10, -5, 1, 1, 1, 1]), "value"),
        (lambda f: f.assign(value=["10", "x", 1, 1, 1, 1]), "value"),
        (lambda f: f.assign(date=["2020-01-01", "31/12/2020", *["2020-01-02"] * 4]), "date"),
        (lambda f: f.assign(customer_id=[None, "a", "a", "a", "b", "c"]), "customer_id"),
    ],
)
def test_bad_transactions_name_the_column(change: Change, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        summarise_transactions(change(hand_made()), observation_end="2020-02-05")
    assert caught.value.field == field


def test_unparseable_observation_end_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        summarise_transactions(hand_made(), observation_end="next tuesday")
    assert caught.value.field == "observation_end"


# --- BG/NBD and Gamma-Gamma numerics ----------------------------------------------------------


def test_bg_nbd_recovers_the_parameters_it_was_simulated_with() -> None:
    rng = np.random.default_rng(7)
    ages = rng.uniform(26, 52, 6000)
    x, t_x, big_t, _ = summaries(simulate_purchases(rng, BG, ages), ages)

    fitted, report = fit_bg_nbd(x, t_x, big_t)

    assert report.converged
    # r and alpha are well identified; a and b trade off against each other (their ratio,
    # the mean dropout probability, is what the data pin down), hence the wider band.
    assert fitted.r == pytest.approx(BG.r, rel=0.15)
    assert fitted.alpha == pytest.approx(BG.alpha, rel=0.15)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(BG.a / (BG.a + BG.b), rel=0.15)
    assert fitted.a == pytest.approx(BG.a, rel=0.35)
    assert fitted.b == pytest.approx(BG.b, rel=0.35)


def test_gamma_gamma_recovers_the_parameters_it_was_simulated_with() -> None:
    rng = np.random.default_rng(7)
    n = 20000
    orders = rng.integers(1, 31, n)
    spend_rate = rng.gamma(GG.q, 1 / GG.v, n)
    # the mean of x Gamma(p, nu) order values is Gamma(p x, nu x)
    mean_value = rng.gamma(GG.p * orders, 1 / (spend_rate * orders))

    fitted, report = fit_gamma_gamma(orders, mean_value)

    assert report.converged
    assert fitted.q == pytest.approx(GG.q, rel=0.1)
    assert fitted.p == pytest.approx(GG.p, rel=0.3)
    assert fitted.v == pytest.approx(GG.v, rel=0.3)
    population_mean = fitted.p * fitted.v / (fitted.q - 1)
    assert population_mean == pytest.approx(GG.p * GG.v / (GG.q - 1), rel=0.05)


def test_expected_purchases_match_a_monte_carlo_of_the_same_process() -> None:
    rng = np.random.default_rng(11)
    ages = rng.uniform(26, 39, 20000)
    ahead = 26.0
    x, t_x, big_t, later = summaries(simulate_purchases(rng, BG, ages, ahead), ages)

    predicted = expected_purchases(BG, ahead, x, t_x, big_t)

    # E[E[Y | x, t_x, T] | x] = E[Y | x]: the mean prediction of each frequency group must
    # match the group's mean simulated purchases, within Monte Carlo error.
    for frequency in (0, 1, 2, 3):
        group = x == frequency
        error = later[group].std() / np.sqrt(group.sum())
        assert abs(predicted[group].mean() - later[group].mean()) < 4 * error
    assert predicted.mean() == pytest.approx(later.mean(), rel=0.05)


def test_expected_purchases_of_a_new_customer_is_the_unconditional_mean() -> None:
    rng = np.random.default_rng(5)
    times = simulate_purchases(rng, BG, np.zeros(40000), ahead=52.0)
    simulated = np.mean([len(t) for t in times])
    predicted = expected_purchases(BG, 52.0, [0.0], [0.0], [0.0])[0]
    assert predicted == pytest.approx(simulated, rel=0.05)


def test_expected_purchases_stay_finite_for_very_frequent_buyers() -> None:
    values = expected_purchases(BG, 52.0, [300.0, 1000.0], [51.0, 51.9], [52.0, 52.0])
    assert np.isfinite(values).all()
    assert values[1] > values[0] > 0


def test_p_alive_is_one_without_repeat_purchases() -> None:
    assert p_alive(BG, [0.0, 0.0], [0.0, 0.0], [1.0, 100.0]) == pytest.approx([1.0, 1.0])


@settings(max_examples=80, deadline=None)
@given(
    r=st.floats(0.05, 5),
    alpha=st.floats(0.5, 50),
    a=st.floats(0.05, 5),
    b=st.floats(0.05, 20),
    frequency=st.integers(1, 60),
    age=st.floats(1, 100),
    earlier=st.floats(0, 1),
    later=st.floats(0, 1),
)
def test_p_alive_rises_with_recency(
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: int,
    age: float,
    earlier: float,
    later: float,
) -> None:
    params = BgNbdParams(r, alpha, a, b)
    low, high = sorted((earlier * age, later * age))
    chances = p_alive(params, [frequency] * 2, [low, high], [age, age])
    assert 0 <= chances[0] <= chances[1] <= 1


def test_expected_order_value_shrinks_towards_the_population_mean() -> None:
    population = GG.p * GG.v / (GG.q - 1)
    values = expected_average_value(GG, [0.0, 1.0, 50.0], [0.0, 100.0, 100.0])
    assert values[0] == pytest.approx(population)
    assert population < values[1] < values[2] < 100.0


# --- the fitted model -------------------------------------------------------------------------


def model(**changes: Any) -> ClvModel:
    base = ClvModel(
        bg_nbd=BG,
        gamma_gamma=GG,
        time_unit_days=7,
        horizon_days=365,
        annual_discount_rate=0.1,
        typical={"frequency": 1.0, "recency": 10.0, "T": 30.0, "monetary_value": 40.0},
    )
    return dataclasses.replace(base, **changes)


CUSTOMERS = pd.DataFrame(
    {
        "frequency": [0.0, 1.0, 5.0, 12.0],
        "recency": [0.0, 10.0, 25.0, 2.0],
        "T": [8.0, 30.0, 30.0, 40.0],
        "monetary_value": [0.0, 40.0, 80.0, 25.0],
    },
    index=pd.Index(["new", "typical", "loyal", "lapsed"], name="customer_id"),
)


def test_score_gives_the_clv_columns_row_by_row() -> None:
    scores = model().score(CUSTOMERS)

    assert isinstance(model(), InsightModel)
    assert list(scores.columns) == ["expected_purchases", "p_alive", "expected_value", "clv"]
    assert list(scores.index) == list(CUSTOMERS.index)
    assert scores.loc["loyal", "clv"] > scores.loc["typical", "clv"]
    assert scores.loc["lapsed", "p_alive"] < 0.1 < scores.loc["loyal", "p_alive"]
    assert scores.loc["new", "p_alive"] == 1.0


def test_clv_without_discounting_is_purchases_times_order_value() -> None:
    scores = model(annual_discount_rate=0.0).score(CUSTOMERS)
    expected = scores["expected_purchases"] * scores["expected_value"]
    np.testing.assert_allclose(scores["clv"], expected, rtol=1e-9)


def test_discounting_lowers_clv_and_a_longer_horizon_raises_it() -> None:
    base = model().score(CUSTOMERS)["clv"]
    assert (model(annual_discount_rate=0.5).score(CUSTOMERS)["clv"] < base).all()
    assert (model(horizon_days=730).score(CUSTOMERS)["clv"] > base).all()


def test_explanations_add_up_to_the_gap_from_the_typical_customer() -> None:
    fitted = model()
    explained = fitted.explain(CUSTOMERS, top=4)
    gaps = fitted.score(CUSTOMERS)["clv"] - fitted.typical_clv()

    for contributions, gap, (_, row) in zip(explained, gaps, CUSTOMERS.iterrows(), strict=True):
        assert sum(c.contribution for c in contributions) == pytest.approx(gap, abs=1e-6)
        sizes = [abs(c.contribution) for c in contributions]
        assert sizes == sorted(sizes, reverse=True)
        assert all(c.value == row[c.feature] for c in contributions)
    typical = explained[list(CUSTOMERS.index).index("typical")]
    assert all(c.contribution == pytest.approx(0.0, abs=1e-9) for c in typical)
    assert [len(c) for c in fitted.explain(CUSTOMERS, top=2)] == [2] * len(CUSTOMERS)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.drop(columns="T"), "T"),
        (lambda f: f.assign(recency=f["T"] + 1), "recency"),
        (lambda f: f.assign(frequency=-1.0), "frequency"),
        (lambda f: f.assign(frequency=1.5), "frequency"),
        (lambda f: f.assign(monetary_value="lots"), "monetary_value"),
    ],
)
def test_scoring_bad_rows_names_the_column(change: Change, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        model().score(change(CUSTOMERS))
    assert caught.value.field == field


# --- training and the holdout -----------------------------------------------------------------


def test_training_fits_clv_and_reports_the_holdout_beside_the_baseline(
    trained: TrainedModel,
) -> None:
    assert trained.algorithm == "bg_nbd_gamma_gamma"
    assert trained.model.kind == "clv"
    assert {"r", "alpha", "a", "b", "p", "q", "v"} <= set(trained.params)
    for name in ("spend_mae", "spend_rmse", "total_revenue_error", "purchases_mae"):
        assert np.isfinite(trained.metrics[f"holdout_{name}"])
        assert np.isfinite(trained.metrics[f"baseline_{name}"])
    # on data from the model's own process the model must beat "past spend rate continues"
    assert trained.metrics["holdout_spend_mae"] < trained.metrics["baseline_spend_mae"]
    assert trained.metrics["holdout_purchases_mae"] < trained.metrics["baseline_purchases_mae"]
    assert abs(trained.metrics["holdout_total_revenue_error"]) < 0.35
    assert not trained.notes
    assert trained.training_rows == trained.evaluation_rows == 600
    assert [f for f, _ in trained.importance] and len(trained.importance) == 4


def test_the_calibration_table_compares_purchases_by_frequency(trained: TrainedModel) -> None:
    table = trained.evaluation["calibration_purchases"]
    assert [row["frequency"] for row in table] == ["0", "1", "2", "3", "4", "5", "6+"]
    assert sum(row["customers"] for row in table) == trained.training_rows
    frequent, once = table[-1], table[0]
    assert frequent["expected_purchases"] > 3 * once["expected_purchases"]
    assert frequent["actual_purchases"] > 3 * once["actual_purchases"]
    holdout = trained.evaluation["holdout"]
    weighted = sum(row["customers"] * row["expected_purchases"] for row in table)
    assert weighted == pytest.approx(holdout["predicted_purchases_total"])
    weighted = sum(row["customers"] * row["actual_purchases"] for row in table)
    assert weighted == pytest.approx(holdout["actual_purchases_total"])


def test_everything_but_the_model_is_json_ready(trained: TrainedModel) -> None:
    for part in (trained.params, trained.metrics, trained.evaluation, trained.notes):
        json.dumps(part, allow_nan=False)
    assert all(isinstance(v, float) for v in trained.metrics.values())


def test_the_model_survives_pickling(
    trained: TrainedModel, transactions: pd.DataFrame, tmp_path: Path
) -> None:
    summary = summarise_transactions(transactions, observation_end=CALIBRATION_END)
    path = tmp_path / "clv.joblib"
    joblib.dump(trained.model, path)
    loaded = joblib.load(path)
    pd.testing.assert_frame_equal(loaded.score(summary), trained.model.score(summary))
    assert loaded.explain(summary.head(3)) == trained.model.explain(summary.head(3))


def test_strongly_correlated_frequency_and_value_is_noted() -> None:
    trained = train_clv(
        simulated_transactions(seed=4, value_follows_frequency=True),
        calibration_end=CALIBRATION_END,
    )
    assert any("correlated" in note for note in trained.notes)
    assert trained.metrics["frequency_value_correlation"] > 0.3
    assert "holdout_spend_mae" not in trained.metrics
    assert trained.evaluation_rows == 0


def test_a_holdout_running_past_the_data_is_noted(transactions: pd.DataFrame) -> None:
    trained = train_clv(transactions, calibration_end=CALIBRATION_END, holdout_end="2022-06-30")
    assert any("after the last transaction" in note for note in trained.notes)


def test_too_few_customers_fail_clearly(transactions: pd.DataFrame) -> None:
    few = transactions[transactions["customer_id"] < "c0020"]
    with pytest.raises(TrainingDataError) as caught:
        train_clv(few, calibration_end=CALIBRATION_END)
    assert caught.value.field == "customers"


def test_no_repeat_purchases_fail_clearly(transactions: pd.DataFrame) -> None:
    once = transactions.drop_duplicates("customer_id")
    with pytest.raises(TrainingDataError) as caught:
        train_clv(once, calibration_end=CALIBRATION_END)
    assert caught.value.field == "frequency"


def test_holdout_must_come_after_calibration(transactions: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as caught:
        train_clv(transactions, calibration_end=CALIBRATION_END, holdout_end="2020-06-01")
    assert caught.value.field == "holdout_end"


def test_config_refuses_unknown_or_out_of_range_settings() -> None:
    with pytest.raises(ValidationError):
        ClvConfig(horizon=365)  # type: ignore[call-arg]
    with pytest.raises(InvalidInput) as caught:
        ClvConfig.from_dict({"annual_discount_rate": -0.1})
    assert caught.value.field == "annual_discount_rate"
    config = ClvConfig(horizon_days=730)
    assert ClvConfig.from_dict(json.loads(config.model_dump_json())) == config
