"""Time to churn: Cox model ranking, predictions that match lifelines, reasons, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from aimsight.core.errors import InvalidInput
from aimsight.insight import InsightModel, TrainedModel, TrainingDataError
from aimsight.insight._survival import SurvivalConfig, SurvivalModel, train_survival

FEATURES = ["plan", "monthly_charge", "support_calls", "autopay"]


def customers(n: int = 700, seed: int = 0) -> pd.DataFrame:
    """Customers on the 'flex' plan (and with many support calls) leave sooner."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["annual", "flex", "family"], n, p=[0.45, 0.35, 0.2])
    calls = rng.poisson(1.5, n)
    hazard = np.exp(1.1 * (plan == "flex") + 0.3 * calls - 0.3 * (plan == "family"))
    churn_day = rng.exponential(400 / hazard)
    observed_until = rng.uniform(30, 720, n)
    monthly = rng.normal(60, 15, n)
    monthly[rng.uniform(size=n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "plan": plan,
            "monthly_charge": monthly,
            "support_calls": calls,
            "autopay": rng.uniform(size=n) < 0.5,
            "days": np.round(np.minimum(churn_day, observed_until), 1),
            "churned": churn_day <= observed_until,
            "cohort": rng.integers(1, 13, n),
            "gender": rng.choice(["female", "male"], n),
        }
    )


FAST = SurvivalConfig(cv_folds=3, horizon_days=180)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return customers()


@pytest.fixture(scope="module")
def trained(data: pd.DataFrame) -> TrainedModel:
    return train_survival(data, duration="days", event="churned", features=FEATURES, config=FAST)


def test_model_ranks_the_high_risk_group_earlier(trained: TrainedModel, data: pd.DataFrame) -> None:
    model = trained.model
    assert isinstance(model, InsightModel) and model.kind == "survival"
    scored = model.score(data)
    flex = data["plan"] == "flex"
    assert scored.loc[flex, "expected_days"].mean() < scored.loc[~flex, "expected_days"].mean()
    assert scored.loc[flex, "survival"].mean() < scored.loc[~flex, "survival"].mean()
    hazard_ratio = {h["column"]: h["hazard_ratio"] for h in trained.evaluation["hazard_ratios"]}
    assert hazard_ratio["plan=flex"] == pytest.approx(np.exp(1.1), rel=0.3)
    assert trained.metrics["concordance"] > 0.6
    assert trained.metrics["concordance_training"] > 0.6


def test_evidence_is_json_ready(trained: TrainedModel) -> None:
    assert trained.algorithm == "cox"
    assert trained.evaluation["source"] == "cross_validation"
    assert len(trained.evaluation["cv_concordance"]) == 3
    assert trained.evaluation["reference_levels"] == {"plan": "annual"}  # the most common
    assert "tests" in trained.evaluation["proportional_hazards"]
    observed = trained.metrics["survival_at_horizon_observed"]
    assert trained.metrics["survival_at_horizon_predicted"] == pytest.approx(observed, abs=0.05)
    json.dumps(
        [trained.params, trained.metrics, trained.evaluation, trained.importance, trained.notes],
        allow_nan=False,
    )


def test_predictions_match_lifelines(trained: TrainedModel, data: pd.DataFrame) -> None:
    model: SurvivalModel = trained.model  # type: ignore[assignment]
    rows = data.head(60)
    design = pd.DataFrame(model._design.matrix(rows), columns=model._design.columns)
    np.testing.assert_allclose(
        model.log_hazard(rows), model.fitter.predict_log_partial_hazard(design), atol=1e-9
    )
    expected = model.fitter.predict_survival_function(design, times=[180.0]).to_numpy()[0]
    np.testing.assert_allclose(model.survival_at(rows, 180.0), expected, atol=1e-9)
    np.testing.assert_array_equal(model.median_days(rows), model.fitter.predict_median(design))


def test_expected_days_are_capped_at_the_longest_follow_up(
    trained: TrainedModel, data: pd.DataFrame
) -> None:
    model: SurvivalModel = trained.model  # type: ignore[assignment]
    assert model.max_days == data["days"].max()
    loyal = data.head(5).assign(plan="annual", support_calls=0)
    assert (model.score(loyal)["expected_days"] <= model.max_days).all()
    capped = train_survival(
        data,
        duration="days",
        event="churned",
        features=FEATURES,
        config=FAST.model_copy(update={"max_days": 100.0}),
    )
    assert capped.model.score(data)["expected_days"].max() == 100.0


def test_contributions_add_up_to_the_log_hazard(trained: TrainedModel, data: pd.DataFrame) -> None:
    model: SurvivalModel = trained.model  # type: ignore[assignment]
    rows = data.head(30)
    np.testing.assert_allclose(model.contributions(rows).sum(axis=1), model.log_hazard(rows))
    customer = data.loc[[int(((data["plan"] == "flex") & (data["support_calls"] <= 1)).idxmax())]]
    reasons = model.explain(customer, top=2)[0]
    assert reasons[0].feature == "plan" and reasons[0].value == "flex"
    assert reasons[0].contribution > 0  # flex leaves sooner than average
    assert trained.importance[0][0] in {"plan", "support_calls"}


def test_unseen_plan_scores_as_the_reference(trained: TrainedModel, data: pd.DataFrame) -> None:
    row = data.head(1)
    unseen = trained.model.score(row.assign(plan="student"))
    reference = trained.model.score(row.assign(plan="annual"))
    pd.testing.assert_frame_equal(unseen, reference)


def test_holdout_rows_are_never_trained_on(data: pd.DataFrame) -> None:
    later = data["cohort"] >= 10
    flipped = data.copy()
    flipped.loc[later, "days"] = flipped.loc[later, "days"].to_numpy()[::-1]
    kwargs = {"duration": "days", "event": "churned", "features": FEATURES, "config": FAST}
    honest = train_survival(data, time_column="cohort", holdout_from=10, **kwargs)
    tampered = train_survival(flipped, time_column="cohort", holdout_from=10, **kwargs)
    pd.testing.assert_frame_equal(honest.model.score(data), tampered.model.score(data))
    assert honest.evaluation_rows == int(later.sum())
    assert honest.evaluation["source"] == "holdout"
    assert honest.metrics["concordance"] > tampered.metrics["concordance"]


def test_collinear_features_are_named(data: pd.DataFrame) -> None:
    frame = data.assign(yearly_charge=data["monthly_charge"].fillna(60) * 12 + 5)
    frame["monthly_charge"] = frame["monthly_charge"].fillna(60)
    with pytest.raises(TrainingDataError, match="collinear") as raised:
        train_survival(
            frame,
            duration="days",
            event="churned",
            features=[*FEATURES, "yearly_charge"],
            config=FAST,
        )
    assert raised.value.field == "yearly_charge"
    assert "monthly_charge" in str(raised.value)


@pytest.mark.parametrize(
    ("change", "features", "field"),
    [
        (lambda f: f.assign(churned=False), FEATURES, "churned"),
        (lambda f: f.head(100), FEATURES, "rows"),
        (lambda f: f.assign(autopay=True), FEATURES, "autopay"),
        (lambda f: f, [*FEATURES, "region"], "region"),
        (lambda f: f.assign(days=-f["days"]), FEATURES, "days"),
        (lambda f: f, [*FEATURES, "gender"], "gender"),
        (lambda f: f, [*FEATURES, "days"], "days"),
    ],
    ids=["no churn", "too few rows", "constant", "missing", "negative", "sensitive", "outcome"],
)
def test_bad_training_data_names_the_field(
    data: pd.DataFrame, change: object, features: list[str], field: str
) -> None:
    config = FAST.model_copy(update={"sensitive": ("gender",)})
    with pytest.raises(TrainingDataError) as raised:
        train_survival(
            change(data),  # type: ignore[operator]
            duration="days",
            event="churned",
            features=features,
            config=config,
        )
    assert raised.value.field == field


def test_lifelines_convergence_warnings_become_notes(data: pd.DataFrame) -> None:
    # A feature measured in tiny units (variance below 1e-4) makes lifelines warn.
    frame = data.assign(tiny=np.random.default_rng(1).normal(0, 0.001, len(data)))
    result = train_survival(
        frame, duration="days", event="churned", features=[*FEATURES, "tiny"], config=FAST
    )
    assert any(note.startswith("lifelines:") and "'tiny'" in note for note in result.notes)


def test_scoring_without_a_feature_names_it(trained: TrainedModel, data: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as raised:
        trained.model.score(data.drop(columns="plan"))
    assert raised.value.field == "plan"


def test_model_survives_joblib(trained: TrainedModel, data: pd.DataFrame, tmp_path: Path) -> None:
    joblib.dump(trained.model, tmp_path / "survival.joblib")
    loaded = joblib.load(tmp_path / "survival.joblib")
    pd.testing.assert_frame_equal(loaded.score(data), trained.model.score(data))
    assert loaded.explain(data.head(2)) == trained.model.explain(data.head(2))
