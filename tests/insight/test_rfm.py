"""RFM: 1-5 scores with ties ranked together, recency reversed, the standard segment map."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.insight._frame import TrainingDataError
from aimsight.insight._model import InsightModel
from aimsight.insight._rfm import RFM_SEGMENTS, RFMModel, rfm_segment, train_rfm
from aimsight.insight._segment import SegmentationConfig, train_segmentation


def customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "recency_days": rng.integers(0, 365, n),
            "frequency": rng.poisson(3, n) + 1,
            "monetary": rng.gamma(2.0, 100.0, n).round(2),
        }
    )


def ladder(n: int = 20) -> pd.DataFrame:
    """Customer i bought i days ago, i+1 times, for 10*(i+1): distinct values, four per score."""
    i = np.arange(n)
    return pd.DataFrame({"recency_days": i, "frequency": i + 1, "monetary": 10.0 * (i + 1)})


def test_distinct_values_get_equal_quintiles_and_recency_is_reversed() -> None:
    trained = train_rfm(ladder(), stability_bootstrap=0)
    scores = trained.model.rfm_scores(ladder())
    expected = np.repeat([1, 2, 3, 4, 5], 4)
    assert list(scores["frequency_score"]) == list(expected)
    assert list(scores["monetary_score"]) == list(expected)
    assert list(scores["recency_score"]) == list(expected[::-1])
    assert scores["rfm_score"].iloc[0] == "511"


def test_hand_made_rows_fall_in_their_named_segments() -> None:
    trained = train_rfm(ladder(), stability_bootstrap=0)
    model = trained.model
    rows = pd.DataFrame(
        {
            # recent and frequent; long gone and rare; recent first-timer; lapsed big buyer
            "recency_days": [0, 19, 1, 19],
            "frequency": [20, 1, 1, 20],
            "monetary": [500.0, 10.0, 10.0, 500.0],
        }
    )
    scored = model.score(rows)
    assert list(scored["segment"]) == ["champions", "lost", "new_customers", "cannot_lose_them"]
    assert list(scored["segment_name"]) == [
        "Champions",
        "Lost",
        "New customers",
        "Cannot lose them",
    ]


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (5, 4, "champions"),
        (4, 5, "loyal_customers"),
        (3, 4, "loyal_customers"),
        (5, 2, "potential_loyalists"),
        (4, 3, "potential_loyalists"),
        (5, 1, "new_customers"),
        (4, 1, "promising"),
        (3, 3, "need_attention"),
        (3, 1, "about_to_sleep"),
        (3, 2, "about_to_sleep"),
        (2, 5, "cannot_lose_them"),
        (1, 5, "cannot_lose_them"),
        (2, 3, "at_risk"),
        (1, 4, "at_risk"),
        (2, 2, "hibernating"),
        (1, 2, "hibernating"),
        (2, 1, "hibernating"),
        (1, 1, "lost"),
    ],
)
def test_the_standard_map(r: int, f: int, segment: str) -> None:
    assert rfm_segment(r, f) == segment


def test_the_map_covers_every_score_pair_once_with_eleven_segments() -> None:
    cells: list[tuple[int, int]] = []
    for _segment, _name, rectangles in RFM_SEGMENTS:
        for r_low, r_high, f_low, f_high in rectangles:
            cells += [(r, f) for r in range(r_low, r_high + 1) for f in range(f_low, f_high + 1)]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert len(RFM_SEGMENTS) == 11
    with pytest.raises(InvalidInput, match="1 to 5"):
        rfm_segment(6, 1)


def test_ties_share_a_score_and_the_lowest_value_scores_one() -> None:
    frame = ladder()
    frame["frequency"] = [1] * 12 + [2, 3, 4, 5, 6, 7, 8, 9]
    scores = train_rfm(frame, stability_bootstrap=0).model.rfm_scores(frame)
    assert set(scores["frequency_score"].iloc[:12]) == {1}
    assert list(scores["frequency_score"].iloc[12:]) == [4, 4, 4, 4, 5, 5, 5, 5]


def test_new_customers_are_scored_against_the_training_edges() -> None:
    model = train_rfm(ladder(), stability_bootstrap=0).model
    fresh = pd.DataFrame(
        {"recency_days": [-5, 1000, 7.5], "frequency": [0, 1000, 8.5], "monetary": [0, 1e6, 85]}
    )
    scores = model.rfm_scores(fresh)
    assert list(scores["recency_score"]) == [5, 1, 3]
    assert list(scores["frequency_score"]) == [1, 5, 2]
    assert list(scores["monetary_score"]) == [1, 5, 2]


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(0, 30), min_size=20, max_size=80),
    quantiles=st.integers(2, 10),
)
def test_scores_stay_in_range_and_follow_the_values(values: list[int], quantiles: int) -> None:
    spread = np.arange(len(values))
    frame = pd.DataFrame({"recency_days": values, "frequency": values, "monetary": spread + 1.0})
    frame.loc[0, "recency_days"] = 31  # never constant
    frame.loc[0, "frequency"] = 31
    model = train_rfm(frame, quantiles=quantiles, stability_bootstrap=0).model
    scores = model.rfm_scores(frame)
    for column in ("recency_score", "frequency_score", "monetary_score"):
        assert scores[column].between(1, quantiles).all()
    order = np.argsort(frame["frequency"].to_numpy(), kind="stable")
    assert (np.diff(scores["frequency_score"].to_numpy()[order]) >= 0).all()
    recency_order = np.argsort(frame["recency_days"].to_numpy(), kind="stable")
    assert (np.diff(scores["recency_score"].to_numpy()[recency_order]) <= 0).all()
    assert scores.groupby(frame["frequency"])["frequency_score"].nunique().max() == 1
    assert set(model.score(frame)["segment"]) <= {s for s, _n, _c in RFM_SEGMENTS}


def test_training_reports_segments_stability_and_personas() -> None:
    frame = customers()
    trained = train_rfm(frame, stability_bootstrap=5)
    assert trained.algorithm == "rfm"
    assert 2 <= trained.metrics["n_segments"] <= 11
    assert 0.5 < trained.metrics["stability_ari"] <= 1.0
    assert -1.0 <= trained.metrics["silhouette"] <= 1.0
    shares = trained.model.score(frame)["segment"].value_counts(normalize=True)
    assert trained.metrics["smallest_segment_share"] == pytest.approx(shares.min())
    personas = trained.evaluation["personas"]
    assert {p["id"] for p in personas} == set(shares.index)
    assert {p["name"] for p in personas} <= {name for _s, name, _c in RFM_SEGMENTS}
    edges = trained.evaluation["selection"]["edges"]
    assert edges["recency_at_most"] == sorted(edges["recency_at_most"], reverse=True)
    json.dumps(
        {"evaluation": trained.evaluation, "params": trained.params, "metrics": trained.metrics},
        allow_nan=False,
    )


def test_explanations_are_the_rfm_dimensions_of_the_rows_segment() -> None:
    frame = customers()
    model = train_rfm(frame, stability_bootstrap=0).model
    reasons = model.explain(frame.head(4), top=2)
    assert [len(row) for row in reasons] == [2, 2, 2, 2]
    first = reasons[0]
    assert abs(first[0].contribution) >= abs(first[1].contribution)
    assert first[0].value == frame.iloc[0][first[0].feature]


def test_the_trainer_runs_rfm_with_configured_columns() -> None:
    frame = customers().rename(columns={"recency_days": "days_since_order"})
    config = SegmentationConfig(algorithm="rfm", rfm_recency="days_since_order", rfm_quantiles=4)
    trained = train_segmentation(
        frame,
        features=["days_since_order", "frequency", "monetary"],
        config=config,
        descriptions={"monetary": "money spent"},
    )
    assert trained.params["rfm_quantiles"] == 4
    assert trained.model.rfm_scores(frame)["monetary_score"].between(1, 4).all()
    assert trained.evaluation["personas"][0]["distinguishing"]
    described = {
        trait["feature"]: trait["description"]
        for persona in trained.evaluation["personas"]
        for trait in persona["distinguishing"]
    }
    assert described["monetary"] == "money spent"


def test_gaps_text_and_missing_columns_are_refused_with_the_column_named() -> None:
    frame = customers()
    with pytest.raises(TrainingDataError, match="missing for 1 rows") as gap:
        train_rfm(frame.assign(frequency=frame["frequency"].where(frame.index != 3)))
    assert gap.value.field == "frequency"
    with pytest.raises(TrainingDataError, match="numbers") as text:
        train_rfm(frame.assign(monetary=["lots"] + list(frame["monetary"].iloc[1:])))
    assert text.value.field == "monetary"
    with pytest.raises(TrainingDataError, match="too few"):
        train_rfm(frame.head(5))
    model = train_rfm(frame, stability_bootstrap=0).model
    with pytest.raises(InvalidInput, match="recency_days") as absent:
        model.score(frame.drop(columns="recency_days"))
    assert absent.value.field == "recency_days"


def test_the_model_pickles_and_scores_the_same(tmp_path: Path) -> None:
    frame = customers()
    model = train_rfm(frame, stability_bootstrap=0).model
    assert isinstance(model, InsightModel)
    path = tmp_path / "rfm.joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path)
    assert isinstance(loaded, RFMModel)
    pd.testing.assert_frame_equal(loaded.score(frame), model.score(frame))
    pd.testing.assert_frame_equal(loaded.rfm_scores(frame), model.rfm_scores(frame))
