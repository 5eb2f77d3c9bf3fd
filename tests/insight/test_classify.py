"""Churn and propensity classifiers: evidence, holdout, calibration, reasons, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logit

from aimsight.core.errors import InvalidInput
from aimsight.insight import InsightModel, TrainedModel, TrainingDataError
from aimsight.insight._classify import (
    ChurnClassifier,
    ClassifierConfig,
    Costs,
    _coerced,
    cross_validate_classifier,
    train_classifier,
)
from aimsight.insight._fairness import FairnessLimits

FEATURES = ["tenure_months", "monthly_charge", "contract", "support_calls", "paperless", "region"]
FAST = ClassifierConfig(cv_folds=3, fairness_bootstrap=20)


def customers(n: int = 800, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Synthetic customers whose churn is driven mostly by support calls and the contract."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one year", "two year"], n, p=[0.5, 0.3, 0.2])
    support_calls = rng.poisson(2.0, n)
    tenure = rng.integers(1, 72, n)
    monthly = np.round(rng.normal(70, 20, n), 2)
    monthly[rng.uniform(size=n) < 0.05] = np.nan
    paperless = rng.uniform(size=n) < 0.6
    region = rng.choice(["north", "south", "east", "west"], n)
    score = (
        -2.2
        + shift
        + 0.9 * support_calls
        + np.select([contract == "month-to-month", contract == "one year"], [1.0, 0.0], -1.0)
        - 0.01 * tenure
    )
    churned = rng.uniform(size=n) < 1 / (1 + np.exp(-score))
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "tenure_months": tenure,
            "monthly_charge": monthly,
            "contract": contract,
            "support_calls": support_calls,
            "paperless": paperless,
            "region": region,
            "gender": rng.choice(["female", "male"], n),
            "signup_month": rng.integers(1, 25, n),
            "churned": churned,
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return customers()


@pytest.fixture(scope="module")
def trained(data: pd.DataFrame) -> TrainedModel:
    return train_classifier(
        data,
        target="churned",
        features=FEATURES,
        config=FAST.model_copy(update={"sensitive": ("gender",)}),
    )


@pytest.fixture(scope="module")
def boosted(data: pd.DataFrame) -> TrainedModel:
    config = FAST.model_copy(update={"algorithm": "hist_gradient_boosting", "cv_folds": 2})
    return train_classifier(data, target="churned", features=FEATURES, config=config)


# --- what training returns ----------------------------------------------------------------------


def test_training_returns_out_of_sample_evidence(trained: TrainedModel) -> None:
    assert isinstance(trained.model, InsightModel)
    assert trained.model.kind == "churn"
    assert [f.name for f in trained.model.features] == FEATURES
    metrics = trained.metrics
    for key in ("roc_auc", "pr_auc", "brier", "ece", "log_loss", "base_rate"):
        assert isinstance(metrics[key], float)
    assert metrics["roc_auc"] > 0.75
    assert metrics["cv_roc_auc_mean"] > 0.75
    assert trained.training_rows == 800 and trained.evaluation_rows == 0  # cross-validated
    assert len(trained.evaluation["cv"]["folds"]) == 3
    assert len(trained.evaluation["reliability"]) == 10
    assert sum(row["count"] for row in trained.evaluation["reliability"]) == 800
    confusion = trained.evaluation["confusion"]
    assert sum(confusion.values()) == 800


def test_everything_but_the_model_is_json_ready(trained: TrainedModel) -> None:
    json.dumps(
        [
            trained.algorithm,
            trained.params,
            trained.metrics,
            trained.evaluation,
            trained.fairness,
            trained.importance,
            trained.notes,
        ],
        allow_nan=False,
    )
    assert ClassifierConfig.model_validate(
        {k: trained.params[k] for k in ClassifierConfig.model_fields}
    ) == FAST.model_copy(update={"sensitive": ("gender",)})


def test_threshold_minimises_the_stated_costs(trained: TrainedModel) -> None:
    threshold = trained.evaluation["threshold"]
    assert threshold["value"] == trained.model.threshold  # type: ignore[attr-defined]
    assert (threshold["false_positive_cost"], threshold["false_negative_cost"]) == (1.0, 5.0)
    # A lost customer costs five offers: flag generously, well below one half.
    assert 0.05 < threshold["value"] < 0.4
    assert threshold["recall"] > threshold["precision"]


def test_dearer_missed_churners_lower_the_threshold(data: pd.DataFrame) -> None:
    even = FAST.model_copy(update={"costs": Costs(false_positive=1, false_negative=1)})
    dear = FAST.model_copy(update={"costs": Costs(false_positive=1, false_negative=10)})
    low = train_classifier(data, target="churned", features=FEATURES, config=dear)
    high = train_classifier(data, target="churned", features=FEATURES, config=even)
    assert low.model.threshold < high.model.threshold  # type: ignore[attr-defined]


def test_importance_puts_the_driver_first(trained: TrainedModel) -> None:
    names = [name for name, _ in trained.importance]
    assert sorted(names) == sorted(FEATURES)
    assert names[0] == "support_calls"
    assert names.index("contract") < names.index("region")


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_lowers_the_error_of_a_miscalibrated_model(method: str) -> None:
    # Churn is rare here (about one in eight); balanced class weights fit as if it were one in
    # two, so the raw probabilities are far too high. Calibration must bring them back.
    rare = customers(n=1500, seed=2, shift=-2.0)
    config = FAST.model_copy(update={"calibration": method, "class_weight": "balanced"})
    result = train_classifier(rare, target="churned", features=FEATURES, config=config)
    assert result.metrics["base_rate"] < 0.2
    assert result.metrics["ece_uncalibrated"] > 0.15
    assert result.metrics["ece"] < 0.05
    assert result.metrics["ece"] < result.metrics["ece_uncalibrated"] / 3


def test_cross_validation_reports_each_fold(data: pd.DataFrame) -> None:
    result = cross_validate_classifier(data, target="churned", features=FEATURES, config=FAST)
    assert len(result["folds"]) == 3
    assert result["roc_auc"] == pytest.approx(np.mean([f["roc_auc"] for f in result["folds"]]))
    assert result["ece"] == pytest.approx(np.mean([f["ece"] for f in result["folds"]]))
    assert result["ece"] < result["ece_uncalibrated_mean"]
    json.dumps(result, allow_nan=False)


def test_propensity_kind_and_yes_no_targets(data: pd.DataFrame) -> None:
    frame = data.assign(bought=np.where(data["churned"], "Yes", "No"))
    result = train_classifier(
        frame, target="bought", features=FEATURES, config=FAST, kind="propensity"
    )
    assert result.model.kind == "propensity"
    assert result.metrics["base_rate"] == pytest.approx(data["churned"].mean())


def test_unclear_target_values_need_positive(data: pd.DataFrame) -> None:
    frame = data.assign(outcome=np.where(data["churned"], "left", "stayed"))
    with pytest.raises(TrainingDataError, match="positive=") as raised:
        train_classifier(frame, target="outcome", features=FEATURES, config=FAST)
    assert raised.value.field == "outcome"
    result = train_classifier(
        frame, target="outcome", features=FEATURES, config=FAST, positive="left"
    )
    assert result.params["positive"] == "left"


# --- temporal holdout ---------------------------------------------------------------------------


def test_holdout_rows_are_never_trained_on(data: pd.DataFrame) -> None:
    later = data["signup_month"] >= 19
    flipped = data.copy()
    flipped.loc[later, "churned"] = ~flipped.loc[later, "churned"]
    kwargs = {"target": "churned", "features": FEATURES, "config": FAST}
    honest = train_classifier(data, time_column="signup_month", holdout_from=19, **kwargs)
    tampered = train_classifier(flipped, time_column="signup_month", holdout_from=19, **kwargs)
    # Same model and threshold whatever the held-out customers did ...
    np.testing.assert_array_equal(
        honest.model.score(data)["probability"], tampered.model.score(data)["probability"]
    )
    assert honest.model.threshold == tampered.model.threshold  # type: ignore[attr-defined]
    # ... but they are what it is judged on.
    assert honest.evaluation_rows == int(later.sum())
    assert honest.training_rows == int((~later).sum())
    assert honest.evaluation["source"] == "holdout"
    assert honest.metrics["roc_auc"] > 0.7 > tampered.metrics["roc_auc"]


def test_holdout_by_date(data: pd.DataFrame) -> None:
    frame = data.assign(
        signed_up=pd.Timestamp("2023-01-01") + pd.to_timedelta(data["signup_month"] * 30, "D")
    )
    result = train_classifier(
        frame,
        target="churned",
        features=FEATURES,
        config=FAST,
        time_column="signed_up",
        holdout_from="2024-06-01",
    )
    assert result.evaluation_rows == int((frame["signed_up"] >= "2024-06-01").sum())


@pytest.mark.parametrize(
    ("holdout_from", "field"),
    [(99, "holdout_from"), ("not a date", "signup_month")],
)
def test_unusable_holdouts_are_refused(
    data: pd.DataFrame, holdout_from: object, field: str
) -> None:
    with pytest.raises(TrainingDataError) as raised:
        train_classifier(
            data,
            target="churned",
            features=FEATURES,
            config=FAST,
            time_column="signup_month",
            holdout_from=holdout_from,
        )
    assert raised.value.field == field


def test_holdout_needs_both_arguments(data: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as raised:
        train_classifier(data, target="churned", features=FEATURES, time_column="signup_month")
    assert raised.value.field == "holdout_from"


# --- bad training data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "features", "field"),
    [
        (lambda f: f.assign(churned=False), FEATURES, "churned"),
        (lambda f: f.head(150), FEATURES, "rows"),
        (lambda f: f.assign(region="north"), FEATURES, "region"),
        (lambda f: f, [*FEATURES, "loyalty_points"], "loyalty_points"),
        (lambda f: f, [*FEATURES, "gender"], "gender"),
        (lambda f: f.drop(columns="gender"), FEATURES, "gender"),
    ],
    ids=["one class", "too few rows", "constant", "missing", "sensitive input", "no sensitive"],
)
def test_bad_training_data_names_the_field(
    data: pd.DataFrame, change: object, features: list[str], field: str
) -> None:
    config = FAST.model_copy(update={"sensitive": ("gender",)})
    with pytest.raises(TrainingDataError) as raised:
        train_classifier(
            change(data),  # type: ignore[operator]
            target="churned",
            features=features,
            config=config,
        )
    assert raised.value.field == field
    assert field in str(raised.value) or field == "rows"


def test_sensitive_input_can_be_allowed_and_is_noted(data: pd.DataFrame) -> None:
    config = FAST.model_copy(update={"sensitive": ("gender",), "allow_sensitive_as_input": True})
    result = train_classifier(data, target="churned", features=[*FEATURES, "gender"], config=config)
    assert any("'gender' is used as an input" in note for note in result.notes)


def test_unknown_config_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        ClassifierConfig.model_validate({"algorithm": "logistic_regression", "folds": 3})


def test_identifier_like_features_get_a_note(data: pd.DataFrame) -> None:
    result = train_classifier(
        data, target="churned", features=[*FEATURES, "customer_id"], config=FAST
    )
    assert any("customer_id" in note and "identifier" in note for note in result.notes)


# --- fairness -----------------------------------------------------------------------------------


def test_fairness_report_is_attached_and_passes_for_an_unrelated_attribute(
    trained: TrainedModel,
) -> None:
    assert trained.fairness is not None
    assert set(trained.fairness["attributes"]) == {"gender"}
    assert trained.fairness["gate"]["passed"] is True


def test_fairness_gate_fails_when_a_group_is_flagged_far_more(data: pd.DataFrame) -> None:
    # "segment" follows support calls, the churn driver, so the model flags one segment more.
    frame = data.assign(segment=np.where(data["support_calls"] >= 3, "priority", "standard"))
    config = FAST.model_copy(
        update={
            "sensitive": ("segment",),
            "fairness_limits": FairnessLimits(max_demographic_parity_difference=0.1),
        }
    )
    result = train_classifier(frame, target="churned", features=FEATURES, config=config)
    assert result.fairness is not None
    assert result.fairness["gate"]["passed"] is False
    assert any(note.startswith("fairness gate failed") for note in result.notes)


# --- scoring and explaining ---------------------------------------------------------------------


def test_score_gives_probability_and_label_in_input_order(
    trained: TrainedModel, data: pd.DataFrame
) -> None:
    rows = data.sample(25, random_state=1)
    scored = trained.model.score(rows)
    assert list(scored.index) == list(rows.index)
    assert list(scored.columns) == ["probability", "label"]
    assert scored["label"].dtype == bool
    assert ((scored["probability"] >= 0) & (scored["probability"] <= 1)).all()
    threshold = trained.model.threshold  # type: ignore[attr-defined]
    assert (scored["label"] == (scored["probability"] >= threshold)).all()


@pytest.mark.parametrize("which", ["trained", "boosted"])
def test_compiled_scoring_equals_the_scikit_learn_pipeline(
    which: str, request: pytest.FixtureRequest, data: pd.DataFrame
) -> None:
    model: ChurnClassifier = request.getfixturevalue(which).model
    odd = data.head(100).copy()
    odd.loc[odd.index[:5], "contract"] = "three year"  # never seen in training
    odd.loc[odd.index[5:10], "contract"] = None
    odd.loc[odd.index[10:15], "tenure_months"] = np.nan
    expected = model.calibrated.predict_proba(_coerced(odd, model.features))[:, 1]
    np.testing.assert_allclose(model.score(odd)["probability"], expected, rtol=0, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(rows=st.lists(st.integers(min_value=0, max_value=799), min_size=1, max_size=90))
def test_each_customer_is_scored_alone(
    trained: TrainedModel, data: pd.DataFrame, rows: list[int]
) -> None:
    frame = data.iloc[rows]
    together = trained.model.score(frame)["probability"].to_numpy()
    alone = [trained.model.score(frame.iloc[[i]])["probability"].iloc[0] for i in range(len(rows))]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12)


def test_logistic_contributions_are_exact(trained: TrainedModel, data: pd.DataFrame) -> None:
    model: ChurnClassifier = trained.model  # type: ignore[assignment]
    rows = data.head(50)
    base = model.calibrated.calibrated_classifiers_[0].estimator
    uncalibrated = base.predict_proba(_coerced(rows, model.features))[:, 1]
    np.testing.assert_allclose(model.log_odds(rows), logit(uncalibrated), atol=1e-9)
    total = model.contributions(rows).sum(axis=1)
    np.testing.assert_allclose(total, logit(uncalibrated) - model.baseline_log_odds, atol=1e-9)
    # explain() with every feature returns the same numbers, per original feature.
    explained = model.explain(rows, top=len(FEATURES))
    np.testing.assert_allclose([sum(c.contribution for c in row) for row in explained], total)


def test_explanations_name_original_features_with_the_customers_values(
    trained: TrainedModel, data: pd.DataFrame
) -> None:
    customer = data.loc[[int(data["support_calls"].idxmax())]]
    reasons = trained.model.explain(customer, top=3)[0]
    assert len(reasons) == 3
    assert reasons[0].feature == "support_calls"
    assert reasons[0].value == int(customer["support_calls"].iloc[0])
    assert reasons[0].contribution > 0  # many calls raise the churn odds
    magnitudes = [abs(r.contribution) for r in reasons]
    assert magnitudes == sorted(magnitudes, reverse=True)
    every = trained.model.explain(customer, top=99)[0]
    assert sorted(r.feature for r in every) == sorted(FEATURES)  # one-hot summed back
    contract = next(r for r in every if r.feature == "contract")
    assert contract.value == customer["contract"].iloc[0]
    json.dumps([r.to_dict() for r in every], allow_nan=False)


def test_missing_values_are_explained_as_none(trained: TrainedModel, data: pd.DataFrame) -> None:
    customer = data.head(1).assign(monthly_charge=np.nan)
    every = trained.model.explain(customer, top=99)[0]
    assert next(r for r in every if r.feature == "monthly_charge").value is None


def test_boosted_contributions_add_up_to_its_log_odds(
    boosted: TrainedModel, data: pd.DataFrame
) -> None:
    model: ChurnClassifier = boosted.model  # type: ignore[assignment]
    rows = data.head(40)
    total = model.contributions(rows).sum(axis=1)
    np.testing.assert_allclose(total, model.log_odds(rows) - model.baseline_log_odds, atol=1e-6)
    assert boosted.importance[0][0] == "support_calls"
    customer = data.loc[[int(data["support_calls"].idxmax())]]
    assert model.explain(customer, top=1)[0][0].feature == "support_calls"


def test_scoring_without_a_feature_names_it(trained: TrainedModel, data: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as raised:
        trained.model.score(data.drop(columns="contract"))
    assert raised.value.field == "contract"


@pytest.mark.parametrize("which", ["trained", "boosted"])
def test_model_survives_joblib(
    which: str, request: pytest.FixtureRequest, data: pd.DataFrame, tmp_path: Path
) -> None:
    model = request.getfixturevalue(which).model
    before = model.score(data)
    reasons = model.explain(data.head(3))  # builds any explainer before saving
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    pd.testing.assert_frame_equal(loaded.score(data), before)
    assert loaded.explain(data.head(3)) == reasons
