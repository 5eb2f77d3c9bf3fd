"""Time to churn: a Cox proportional-hazards model (lifelines) of how long customers stay.

Where a churn classifier answers "will they leave in the next window?", the survival model
answers "when?": ``expected_days`` (the median time left, capped at the longest follow-up seen
in training, beyond which the data say nothing) and ``survival`` (the probability of still
being a customer at ``horizon_days``). Reasons are ``beta * (x - mean)`` per feature on the
log-hazard scale: positive means "leaves sooner than the average customer".

Inputs: numbers are median-imputed; categories are one-hot with the most common level as the
dropped reference (unseen levels score as the reference). Constant or collinear design columns
fail with the column named, before lifelines would fail with a matrix inversion error.
Evidence: concordance on the temporal holdout (or k-fold cross-validated when there is none),
training concordance, hazard ratios with intervals, predicted vs Kaplan-Meier survival at the
horizon, and a proportional-hazards test per column (Schoenfeld residuals, rank time).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import concordance_index
from pydantic import BaseModel, ConfigDict, Field
from sklearn.model_selection import StratifiedKFold

from aimsight.core.errors import InvalidInput
from aimsight.insight._classify import (
    NUMERIC,
    binary_outcome,
    check_sensitive_inputs,
    holdout_mask,
)
from aimsight.insight._explain import global_importance, top_contributions
from aimsight.insight._frame import TrainingDataError, check_features, feature_specs
from aimsight.insight._model import Contribution, FeatureSpec, ModelKind, TrainedModel

__all__ = ["SurvivalConfig", "SurvivalModel", "train_survival"]

FloatArray = npt.NDArray[np.float64]
MISSING = "(missing)"
DURATION = "__duration__"
EVENT = "__event__"


class SurvivalConfig(BaseModel):
    """How to train a time-to-churn model (stored with the model as it ran)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    penalizer: float = Field(
        0.01, ge=0, description="Ridge penalty on the coefficients; steadies small data."
    )
    l1_ratio: float = Field(0.0, ge=0, le=1, description="Share of the penalty that is lasso.")
    horizon_days: float = Field(
        90.0, gt=0, description="Horizon of the 'survival' score: P(still a customer then)."
    )
    max_days: float | None = Field(
        None,
        gt=0,
        description="Cap of expected_days; None: the longest follow-up seen in training.",
    )
    min_rows: int = Field(200, ge=20, description="Fewest training rows accepted.")
    min_events: int = Field(20, ge=1, description="Fewest observed churns accepted.")
    cv_folds: int = Field(
        5, ge=2, le=20, description="Folds for cross-validated concordance when no holdout."
    )
    check_proportional_hazards: bool = Field(
        True, description="Test each column's proportional-hazards assumption."
    )
    ph_alpha: float = Field(
        0.01, gt=0, lt=1, description="p-value below which a column is reported as violating."
    )
    sensitive: tuple[str, ...] = Field(
        (), description="Declared sensitive attributes, refused as inputs unless allowed."
    )
    allow_sensitive_as_input: bool = Field(
        False, description="Allow a sensitive attribute among the features (needs a reason)."
    )
    random_state: int = Field(0, description="Seed of the cross-validation folds.")


# --- the design --------------------------------------------------------------------------------


def _numbers(series: pd.Series) -> FloatArray:
    return np.asarray(pd.to_numeric(series, errors="coerce"), dtype=float)


def _keys(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), MISSING).astype(str)


@dataclass(frozen=True)
class _Design:
    """Features to Cox design columns: numbers imputed, categories one-hot minus a reference."""

    numbers: tuple[str, ...]
    medians: tuple[float, ...]
    categories: tuple[str, ...]
    reference: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]  # non-reference levels, one column each

    @classmethod
    def fit(cls, frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> _Design:
        numbers = tuple(s.name for s in specs if s.type in NUMERIC)
        medians = []
        for name in numbers:
            values = _numbers(frame[name])
            medians.append(float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0)
        categories = tuple(s.name for s in specs if s.type not in NUMERIC)
        reference, levels = [], []
        for name in categories:
            counts = _keys(frame[name]).value_counts()
            top = sorted(counts.index[counts == counts.max()])[0]  # most common; ties: first
            reference.append(top)
            levels.append(tuple(sorted(level for level in counts.index if level != top)))
        return cls(numbers, tuple(medians), categories, tuple(reference), tuple(levels))

    @property
    def columns(self) -> list[str]:
        names = list(self.numbers)
        for name, levels in zip(self.categories, self.levels, strict=True):
            names.extend(f"{name}={level}" for level in levels)
        return names

    def column_feature(self, names: Sequence[str]) -> list[int]:
        position = {name: i for i, name in enumerate(names)}
        owners = [position[name] for name in self.numbers]
        for name, levels in zip(self.categories, self.levels, strict=True):
            owners.extend([position[name]] * len(levels))
        return owners

    def matrix(self, frame: pd.DataFrame) -> FloatArray:
        blocks = []
        for name, median in zip(self.numbers, self.medians, strict=True):
            values = _numbers(frame[name])
            blocks.append(np.where(np.isnan(values), median, values)[:, None])
        for name, levels in zip(self.categories, self.levels, strict=True):
            keys = _keys(frame[name]).to_numpy()
            blocks.append((keys[:, None] == np.array(levels, dtype=object)[None, :]).astype(float))
        if not blocks:
            return np.zeros((len(frame), 0))
        return np.hstack(blocks)


def _check_design(matrix: FloatArray, columns: Sequence[str]) -> None:
    """Fail on a design column that never varies or is a combination of earlier ones."""
    spread = matrix.std(axis=0)
    for j, name in enumerate(columns):
        if spread[j] == 0:
            raise TrainingDataError(
                f"design column {name!r} has the same value in every training row; drop the "
                "feature or merge its rare levels",
                field=name.split("=", 1)[0],
            )
    centred = (matrix - matrix.mean(axis=0)) / spread
    if np.linalg.matrix_rank(centred) == centred.shape[1]:
        return
    kept: list[int] = []
    for j, name in enumerate(columns):
        if np.linalg.matrix_rank(centred[:, [*kept, j]]) == len(kept) + 1:
            kept.append(j)
            continue
        weights = np.linalg.lstsq(centred[:, kept], centred[:, j], rcond=None)[0]
        others = ", ".join(columns[k] for k, w in zip(kept, weights, strict=True) if abs(w) > 1e-6)
        raise TrainingDataError(
            f"design column {name!r} is determined by {others} (collinear), so the hazard "
            "model cannot tell them apart; drop one of these features",
            field=name.split("=", 1)[0],
        )


# --- the fitted model ---------------------------------------------------------------------------


class SurvivalModel:
    """A fitted Cox model of time to churn (an :class:`InsightModel` of kind ``survival``).

    ``score`` gives ``expected_days`` (median time left, capped at ``max_days``) and
    ``survival`` (probability of still being a customer at ``horizon_days``); ``explain``
    gives ``beta * (x - mean)`` per feature, on the log-hazard scale, which add up to
    :meth:`log_hazard`. The lifelines fitter stays available as ``fitter``.
    """

    kind: ModelKind = "survival"

    def __init__(
        self,
        *,
        features: tuple[FeatureSpec, ...],
        fitter: CoxPHFitter,
        design: _Design,
        horizon_days: float,
        max_days: float,
    ) -> None:
        self.features = features
        self.fitter = fitter
        self.horizon_days = float(horizon_days)
        self.max_days = float(max_days)
        self._design = design
        self._names = tuple(spec.name for spec in features)
        columns = design.columns
        self._beta = fitter.params_.reindex(columns).to_numpy(dtype=float)
        self._mean = fitter._norm_mean.reindex(columns).to_numpy(dtype=float)
        owners = design.column_feature(self._names)
        self._sum_columns = np.zeros((len(columns), len(features)))
        self._sum_columns[np.arange(len(columns)), owners] = 1.0
        cumulative = fitter.baseline_cumulative_hazard_
        self._times = cumulative.index.to_numpy(dtype=float)
        self._cumulative = cumulative.iloc[:, 0].to_numpy(dtype=float)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The input columns, in signature order."""
        return self._names

    def _matrix(self, frame: pd.DataFrame) -> FloatArray:
        missing = [name for name in self._names if name not in frame.columns]
        if missing:
            raise InvalidInput(
                f"the model needs column {missing[0]!r}, which is not in the data",
                field=missing[0],
            )
        return self._design.matrix(frame)

    def log_hazard(self, frame: pd.DataFrame) -> FloatArray:
        """Log relative hazard against the average training customer (0: average risk)."""
        return np.asarray((self._matrix(frame) - self._mean) @ self._beta, dtype=float)

    def _baseline_at(self, days: float) -> float:
        i = int(np.searchsorted(self._times, days, side="right")) - 1
        return float(self._cumulative[i]) if i >= 0 else 0.0

    def survival_at(self, frame: pd.DataFrame, days: float) -> FloatArray:
        """P(still a customer after ``days``) per row: S0(days) ** exp(log hazard)."""
        return np.exp(-self._baseline_at(days) * np.exp(self.log_hazard(frame)))

    def median_days(self, frame: pd.DataFrame) -> FloatArray:
        """The first time survival reaches one half (inf where it never does in the data)."""
        needed = math.log(2) / np.exp(self.log_hazard(frame))
        index = np.searchsorted(self._cumulative, needed, side="left")
        padded = np.append(self._times, np.inf)
        return np.asarray(padded[index], dtype=float)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``expected_days`` (median, capped) and ``survival`` at the horizon, per row."""
        return pd.DataFrame(
            {
                "expected_days": np.minimum(self.median_days(frame), self.max_days),
                "survival": self.survival_at(frame, self.horizon_days),
            },
            index=frame.index,
        )

    def contributions(self, frame: pd.DataFrame) -> FloatArray:
        """Log-hazard contributions, one row per customer, one column per feature."""
        per_column = (self._matrix(frame) - self._mean) * self._beta
        return np.asarray(per_column @ self._sum_columns, dtype=float)

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]:
        """The ``top`` features that moved each customer's hazard most (positive: sooner)."""
        per_feature = self.contributions(frame)
        values = [frame[name].to_numpy(dtype=object) for name in self._names]
        return top_contributions(per_feature, self._names, values, top)


# --- training -----------------------------------------------------------------------------------


def _fit(
    design_frame: pd.DataFrame, config: SurvivalConfig, notes: list[str] | None
) -> CoxPHFitter:
    fitter = CoxPHFitter(penalizer=config.penalizer, l1_ratio=config.l1_ratio)
    with warnings.catch_warnings(record=True) as caught:
        # lifelines warns (ConvergenceWarning) about low-variance or separating columns:
        # kept as notes on the model rather than lost or raised. Other warnings pass on.
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fitter.fit(design_frame, duration_col=DURATION, event_col=EVENT)
        except ConvergenceError as error:
            raise TrainingDataError(
                f"the hazard model did not converge ({str(error).splitlines()[0]}); raise "
                "penalizer or drop features that nearly predict churn on their own",
                field="features",
            ) from error
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
            continue
        message = "lifelines: " + " ".join(str(warning.message).split())
        if notes is not None and message not in notes:
            notes.append(message)
    return fitter


def _outcomes(
    frame: pd.DataFrame, duration: str, event: str, positive: Any
) -> tuple[pd.DataFrame, FloatArray, npt.NDArray[np.int64], list[str]]:
    for column in (duration, event):
        if column not in frame.columns:
            raise TrainingDataError(f"column {column!r} is not in the data", field=column)
    notes = []
    unknown = frame[duration].isna() | frame[event].isna()
    if unknown.any():
        notes.append(f"{int(unknown.sum())} rows dropped: no {duration} or {event}")
        frame = frame.loc[~unknown]
    days = _numbers(frame[duration])
    if np.isnan(days).any():
        raise TrainingDataError(f"{duration!r} must be numbers (days)", field=duration)
    if (days < 0).any():
        raise TrainingDataError(
            f"{duration!r} has {int((days < 0).sum())} negative values; durations are the "
            "days from the start of the relationship to churn or to the end of observation",
            field=duration,
        )
    return frame, days, binary_outcome(frame[event], event, positive), notes


def _check_events(happened: npt.NDArray[np.int64], event: str, config: SurvivalConfig) -> None:
    if int(happened.sum()) < config.min_events:
        raise TrainingDataError(
            f"only {int(happened.sum())} customers churned ({event!r}); at least "
            f"{config.min_events} are needed to learn when customers leave: use a longer history",
            field=event,
        )


def train_survival(
    frame: pd.DataFrame,
    *,
    duration: str,
    event: str,
    features: Sequence[str],
    config: SurvivalConfig | None = None,
    time_column: str | None = None,
    holdout_from: Any = None,
    descriptions: dict[str, str] | None = None,
    positive: Any = None,
) -> TrainedModel:
    """Train a Cox time-to-churn model with concordance, hazard ratios and a PH check.

    Args:
        frame: one row per customer.
        duration: days observed (to churn, or to the end of observation when still active).
        event: whether the customer churned (bool, 0/1, yes/no, or ``positive``).
        features: the input columns.
        config: penalty, horizon and checks; defaults to :class:`SurvivalConfig`.
        time_column: with ``holdout_from``, rows at or after it are held out for evaluation.
        holdout_from: the first time (date or number) of the holdout.
        descriptions: feature descriptions for the signature.
        positive: the event value meaning "churned", when not obvious.

    Raises:
        TrainingDataError: too few rows or churns, a constant, missing or collinear feature,
            negative durations, a sensitive attribute used as input, an unusable holdout.
    """
    config = config or SurvivalConfig()
    features = list(features)
    for column in (duration, event):
        if column in features:
            raise TrainingDataError(f"{column!r} is an outcome, not a feature", field=column)
    if (time_column is None) != (holdout_from is None):
        raise InvalidInput(
            "give both time_column and holdout_from for a temporal holdout, or neither",
            field="holdout_from",
        )
    check_features(frame, features, min_rows=config.min_rows)
    notes = check_sensitive_inputs(
        frame, features, config.sensitive, config.allow_sensitive_as_input
    )
    frame, days, happened, dropped = _outcomes(frame, duration, event, positive)
    notes.extend(dropped)
    later = np.zeros(len(frame), dtype=bool)
    if time_column is not None:
        later = holdout_mask(frame, time_column, holdout_from)
        if not later.any():
            raise TrainingDataError(
                f"no rows have {time_column} >= {holdout_from!r}; choose an earlier holdout_from",
                field="holdout_from",
            )
    train = frame.loc[~later]
    check_features(train, features, min_rows=config.min_rows)
    _check_events(happened[~later], event, config)

    specs = feature_specs(train, features, descriptions)
    design = _Design.fit(train, specs)
    columns = design.columns
    train_matrix = design.matrix(train)
    _check_design(train_matrix, columns)
    table = pd.DataFrame(train_matrix, columns=columns)
    table[DURATION] = days[~later]
    table[EVENT] = happened[~later]
    fitter = _fit(table, config, notes)
    longest = float(days[~later].max())
    model = SurvivalModel(
        features=specs,
        fitter=fitter,
        design=design,
        horizon_days=config.horizon_days,
        max_days=config.max_days or longest,
    )
    if config.horizon_days > longest:
        notes.append(
            f"horizon_days {config.horizon_days:g} is beyond the longest follow-up in training "
            f"({longest:g}); survival there is extrapolated flat"
        )

    metrics: dict[str, float] = {"concordance_training": float(fitter.concordance_index_)}
    evaluation: dict[str, Any] = {}
    if later.any():
        held = frame.loc[later]
        eval_days, eval_happened = days[later], happened[later]
        if eval_happened.sum() == 0:
            raise TrainingDataError(
                f"no customer in the holdout ({time_column} >= {holdout_from!r}) churned, so "
                "ranking cannot be measured; move holdout_from earlier",
                field="holdout_from",
            )
        risk = model.log_hazard(held)
        metrics["concordance"] = float(concordance_index(eval_days, -risk, eval_happened))
        evaluation["source"] = "holdout"
    else:
        held, eval_days, eval_happened = train, days, happened
        folds = _cross_validated_concordance(table, config)
        metrics["concordance"] = float(np.mean(folds))
        metrics["concordance_cv_std"] = float(np.std(folds, ddof=1))
        evaluation["cv_concordance"] = [float(v) for v in folds]
        evaluation["source"] = "cross_validation"

    horizon = config.horizon_days
    observed = KaplanMeierFitter().fit(eval_days, eval_happened)
    metrics["survival_at_horizon_observed"] = float(observed.predict(horizon))
    metrics["survival_at_horizon_predicted"] = float(model.survival_at(held, horizon).mean())
    metrics["log_likelihood_ratio_p"] = float(fitter.log_likelihood_ratio_test().p_value)

    summary = fitter.summary
    evaluation["hazard_ratios"] = [
        {
            "column": str(column),
            "coef": float(row["coef"]),
            "hazard_ratio": float(row["exp(coef)"]),
            "lower_95": float(row["exp(coef) lower 95%"]),
            "upper_95": float(row["exp(coef) upper 95%"]),
            "p": float(row["p"]),
        }
        for column, row in summary.iterrows()
    ]
    evaluation["reference_levels"] = dict(zip(design.categories, design.reference, strict=True))
    if config.check_proportional_hazards:
        evaluation["proportional_hazards"] = _ph_check(fitter, table, config, notes)

    return TrainedModel(
        model=model,
        algorithm="cox",
        params={
            **config.model_dump(mode="json"),
            "duration": duration,
            "event": event,
            "features": list(model.feature_names),
            "time_column": time_column,
            "holdout_from": None if holdout_from is None else str(holdout_from),
            "max_days_used": model.max_days,
        },
        metrics=metrics,
        evaluation=evaluation,
        fairness=None,
        importance=global_importance(model.contributions(train), model.feature_names),
        training_rows=len(train),
        evaluation_rows=int(later.sum()),
        notes=notes,
    )


def _cross_validated_concordance(table: pd.DataFrame, config: SurvivalConfig) -> list[float]:
    """Concordance per fold, folds stratified by churned/not (lifelines' own k-fold helper
    reseeds numpy's global generator, so folds are drawn here)."""
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state)
    scores = []
    for train, test in folds.split(table, table[EVENT]):
        fitter = _fit(table.iloc[train], config, None)
        held = table.iloc[test]
        risk = fitter.predict_log_partial_hazard(held).to_numpy(dtype=float)
        scores.append(float(concordance_index(held[DURATION], -risk, held[EVENT])))
    return scores


def _ph_check(
    fitter: CoxPHFitter, table: pd.DataFrame, config: SurvivalConfig, notes: list[str]
) -> dict[str, Any]:
    result = proportional_hazard_test(fitter, table, time_transform="rank")
    tests: list[dict[str, Any]] = [
        {"column": str(column), "statistic": float(row["test_statistic"]), "p": float(row["p"])}
        for column, row in result.summary.iterrows()
    ]
    violating = [str(t["column"]) for t in tests if t["p"] < config.ph_alpha]
    if violating:
        notes.append(
            f"proportional hazards doubtful for {', '.join(violating)} (p < {config.ph_alpha}): "
            "their effect changes with tenure; consider stratifying or binning them"
        )
    return {"time_transform": "rank", "tests": tests, "violating": violating}
