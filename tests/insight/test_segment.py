"""Segmentation: k within bounds, minimum size, stability, stable ids, errors, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from aimsight.core.errors import InvalidInput
from aimsight.insight._frame import TrainingDataError
from aimsight.insight._model import InsightModel
from aimsight.insight._segment import SegmentationConfig, SegmentationModel, train_segmentation

CORNERS = ((0.0, 0.0), (8.0, 0.0), (0.0, 8.0), (8.0, 8.0))
FEATURES = ["spend", "visits"]


def blobs(
    centres: tuple[tuple[float, float], ...] = CORNERS, per_blob: int = 150, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Well separated Gaussian blobs in spend (currency) and visits (counts) units."""
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.normal(centre, 1.0, size=(per_blob, 2)) for centre in centres])
    truth = np.repeat(np.arange(len(centres)), per_blob)
    frame = pd.DataFrame({"spend": points[:, 0] * 50 + 500, "visits": points[:, 1] + 20})
    return frame, truth


def config(**changes: object) -> SegmentationConfig:
    return SegmentationConfig.model_validate({"stability_bootstrap": 4, **changes})


@pytest.mark.parametrize("algorithm", ["kmeans", "gaussian_mixture", "dbscan", "agglomerative"])
def test_each_algorithm_finds_the_four_blobs(algorithm: str) -> None:
    frame, truth = blobs()
    trained = train_segmentation(frame, features=FEATURES, config=config(algorithm=algorithm))
    assert trained.metrics["n_segments"] == 4
    segments = trained.model.score(frame)["segment"]
    assert adjusted_rand_score(truth, segments) > 0.95
    assert sorted(segments.unique()) == ["S1", "S2", "S3", "S4"]
    assert isinstance(trained.model, InsightModel)
    assert trained.model.kind == "segmentation"


def test_the_silhouette_of_every_k_in_bounds_is_recorded() -> None:
    frame, _ = blobs()
    trained = train_segmentation(frame, features=FEATURES, config=config(k_min=2, k_max=6))
    selection = trained.evaluation["selection"]
    assert [row["k"] for row in selection["candidates"]] == [2, 3, 4, 5, 6]
    best = max(selection["candidates"], key=lambda row: row["silhouette"])
    assert selection["chosen_k"] == best["k"] == 4
    assert trained.metrics["silhouette"] == pytest.approx(best["silhouette"])


@pytest.mark.parametrize(("k_min", "k_max"), [(2, 3), (5, 6)])
def test_the_number_of_segments_stays_within_bounds(k_min: int, k_max: int) -> None:
    frame, _ = blobs()
    trained = train_segmentation(
        frame, features=FEATURES, config=config(k_min=k_min, k_max=k_max, stability_bootstrap=0)
    )
    assert k_min <= trained.metrics["n_segments"] <= k_max
    assert "stability_ari" not in trained.metrics
    assert trained.evaluation["stability"] is None


def test_bic_chooses_the_mixture_size_and_is_refused_for_kmeans() -> None:
    frame, _ = blobs()
    trained = train_segmentation(
        frame, features=FEATURES, config=config(algorithm="gaussian_mixture", selection="bic")
    )
    candidates = trained.evaluation["selection"]["candidates"]
    assert trained.evaluation["selection"]["chosen_k"] == 4
    assert min(candidates, key=lambda row: row["bic"])["k"] == 4
    with pytest.raises(InvalidInput, match="gaussian_mixture") as refused:
        SegmentationConfig(algorithm="kmeans", selection="bic")
    assert refused.value.field == "selection"


def test_settings_from_json_are_checked_with_the_setting_named() -> None:
    assert SegmentationConfig.from_dict({"k_max": 5}).k_max == 5
    with pytest.raises(InvalidInput, match="unknown setting") as unknown:
        SegmentationConfig.from_dict({"clusters": 5})
    assert unknown.value.field == "clusters"
    with pytest.raises(InvalidInput, match="k_min") as too_few:
        SegmentationConfig.from_dict({"k_min": 1})
    assert too_few.value.field == "k_min"
    with pytest.raises(InvalidInput, match="below k_min"):
        SegmentationConfig.from_dict({"k_min": 5, "k_max": 3})


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "dbscan"])
def test_no_segment_is_smaller_than_the_minimum(algorithm: str) -> None:
    frame, _ = blobs()
    outliers = pd.DataFrame({"spend": [2500.0] * 6 + [-1500.0] * 6, "visits": [60.0] * 12})
    data = pd.concat([frame, outliers], ignore_index=True)
    trained = train_segmentation(
        data, features=FEATURES, config=config(algorithm=algorithm, min_segment_size=0.05)
    )
    shares = trained.model.score(data)["segment"].value_counts(normalize=True)
    assert shares.min() >= 0.05
    assert trained.metrics["smallest_segment_share"] == pytest.approx(shares.min())
    assert trained.metrics["n_segments"] == 4


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    min_share=st.floats(0.05, 0.3),
    groups=st.integers(1, 5),
)
def test_min_segment_size_holds_or_training_says_why(
    seed: int, min_share: float, groups: int
) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 120, size=groups)
    points = np.vstack([rng.normal(rng.uniform(-10, 10, 2), 1.0, (s, 2)) for s in sizes])
    frame = pd.DataFrame(points, columns=FEATURES)
    try:
        trained = train_segmentation(
            frame,
            features=FEATURES,
            config=config(min_segment_size=min_share, stability_bootstrap=0),
        )
    except TrainingDataError as refused:
        assert refused.field in {"min_segment_size", "rows"}
        return
    shares = trained.model.score(frame)["segment"].value_counts(normalize=True)
    assert shares.min() >= min_share - 1e-9
    assert 2 <= len(shares) <= 8


def test_separated_blobs_are_stable_and_structureless_noise_is_not() -> None:
    frame, _ = blobs()
    stable = train_segmentation(frame, features=FEATURES, config=config(stability_bootstrap=8))
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(rng.normal(size=(600, 5)), columns=[f"f{i}" for i in range(5)])
    unstable = train_segmentation(
        noise, features=list(noise.columns), config=config(stability_bootstrap=8)
    )
    assert stable.metrics["stability_ari"] > 0.95
    assert unstable.metrics["stability_ari"] < 0.8
    summary = stable.evaluation["stability"]
    assert summary["resamples"] == 8 and len(summary["values"]) == 8
    assert summary["low"] <= summary["mean"] <= summary["high"] <= 1.0


def test_ids_persist_on_a_rerun_and_a_new_blob_gets_a_new_id() -> None:
    frame, truth = blobs()
    first = train_segmentation(frame, features=FEATURES, config=config())
    resample = frame.sample(frac=1.0, replace=True, random_state=7)
    second = train_segmentation(resample, features=FEATURES, config=config(), previous=first)
    assert second.evaluation["ids"]["persisted"] == ["S1", "S2", "S3", "S4"]
    assert second.evaluation["ids"]["new"] == []
    before = first.model.score(frame)["segment"]
    after = second.model.score(frame)["segment"]
    assert (before == after).mean() > 0.99

    grown, grown_truth = blobs((*CORNERS, (16.0, 16.0)))
    third = train_segmentation(grown, features=FEATURES, config=config(), previous=second.model)
    ids = third.evaluation["ids"]
    assert ids["persisted"] == ["S1", "S2", "S3", "S4"] and ids["new"] == ["S5"]
    segments = third.model.score(grown)["segment"]
    assert set(segments[grown_truth == 4]) == {"S5"}
    for blob in range(4):
        assert set(segments[grown_truth == blob]) == set(before[truth == blob])


def test_an_id_that_disappeared_is_never_reused() -> None:
    frame, truth = blobs()
    first = train_segmentation(frame, features=FEATURES, config=config())
    gone = first.model.score(frame)["segment"][truth == 3].iloc[0]
    shrunk = frame[truth != 3]
    second = train_segmentation(shrunk, features=FEATURES, config=config(), previous=first)
    assert second.evaluation["ids"]["retired"] == [gone]
    assert any(gone in note for note in second.notes)
    moved, moved_truth = blobs((*CORNERS[:3], (-8.0, -8.0)))
    third = train_segmentation(moved, features=FEATURES, config=config(), previous=second)
    new_id = third.evaluation["ids"]["new"]
    assert new_id == ["S5"]
    assert set(third.model.score(moved)["segment"][moved_truth == 3]) == {"S5"}


def test_previous_must_be_a_segmentation_model() -> None:
    frame, _ = blobs()
    with pytest.raises(InvalidInput, match="previous") as refused:
        train_segmentation(frame, features=FEATURES, config=config(), previous="S1")  # type: ignore[arg-type]
    assert refused.value.field == "previous"


def test_too_few_rows_or_a_constant_feature_cannot_train() -> None:
    frame, _ = blobs()
    with pytest.raises(TrainingDataError, match="too few") as few:
        train_segmentation(frame.head(10), features=FEATURES, config=config())
    assert few.value.field == "rows"
    constant = frame.assign(country="NL")
    with pytest.raises(TrainingDataError, match="same value") as flat:
        train_segmentation(constant, features=[*FEATURES, "country"], config=config())
    assert flat.value.field == "country"


def test_rfm_through_the_trainer_needs_its_three_columns() -> None:
    frame, _ = blobs()
    with pytest.raises(InvalidInput, match="recency") as refused:
        train_segmentation(frame, features=FEATURES, config=config(algorithm="rfm"))
    assert refused.value.field == "features"


def test_categories_and_gaps_are_segmented_and_unseen_values_still_score() -> None:
    frame, truth = blobs()
    frame["plan"] = np.where(truth < 2, "basic", "premium")
    frame.loc[::25, "spend"] = np.nan
    trained = train_segmentation(frame, features=[*FEATURES, "plan"], config=config())
    assert trained.metrics["n_segments"] == 4
    fresh = pd.DataFrame({"spend": [500.0, None], "visits": [20.0, 28.0], "plan": ["gold", None]})
    scored = trained.model.score(fresh)
    assert list(scored.columns) == ["segment", "segment_name"]
    assert set(scored["segment"]) <= set(trained.model.segments)
    with pytest.raises(InvalidInput, match="visits") as missing:
        trained.model.score(fresh.drop(columns="visits"))
    assert missing.value.field == "visits"
    with pytest.raises(InvalidInput, match="number"):
        trained.model.score(fresh.assign(visits=["many", "few"]))


def test_scores_keep_row_order_and_index_and_names_come_from_personas() -> None:
    frame, _ = blobs()
    trained = train_segmentation(frame, features=FEATURES, config=config())
    shuffled = frame.sample(frac=1.0, random_state=3)
    scored = trained.model.score(shuffled)
    assert list(scored.index) == list(shuffled.index)
    names = {p["id"]: p["name"] for p in trained.evaluation["personas"]}
    assert list(scored["segment_name"]) == [names[s] for s in scored["segment"]]
    sizes = {p["id"]: p["size"] for p in trained.evaluation["personas"]}
    assert scored["segment"].value_counts().to_dict() == sizes
    assert trained.model.score(frame.head(0)).empty


def test_explanations_name_the_segment_traits_with_the_rows_values() -> None:
    frame, _ = blobs()
    frame["noise"] = np.random.default_rng(5).normal(size=len(frame))
    trained = train_segmentation(frame, features=[*FEATURES, "noise"], config=config())
    reasons = trained.model.explain(frame.head(3), top=2)
    assert len(reasons) == 3
    for row, row_reasons in zip(frame.head(3).to_dict("records"), reasons, strict=True):
        assert len(row_reasons) == 2
        assert {r.feature for r in row_reasons} == {"spend", "visits"}
        assert all(r.value == row[r.feature] for r in row_reasons)
        sizes = [abs(r.contribution) for r in row_reasons]
        assert sizes == sorted(sizes, reverse=True)
    ranked = [name for name, _weight in trained.importance]
    assert ranked[-1] == "noise"


def test_the_trained_model_is_json_ready_and_pickles(tmp_path: Path) -> None:
    frame, _ = blobs()
    trained = train_segmentation(
        frame, features=FEATURES, config=config(algorithm="gaussian_mixture")
    )
    json.dumps(
        {
            "params": trained.params,
            "metrics": trained.metrics,
            "evaluation": trained.evaluation,
            "importance": trained.importance,
            "notes": trained.notes,
        },
        allow_nan=False,
    )
    assert all(type(value) is float for value in trained.metrics.values())
    path = tmp_path / "segments.joblib"
    joblib.dump(trained.model, path)
    loaded = joblib.load(path)
    assert isinstance(loaded, SegmentationModel)
    pd.testing.assert_frame_equal(loaded.score(frame), trained.model.score(frame))
    assert loaded.explain(frame.head(5)) == trained.model.explain(frame.head(5))
