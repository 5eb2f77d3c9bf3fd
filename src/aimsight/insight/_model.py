"""What every insight model is, so the registry can store, check and score any of them alike.

A trainer (churn, segmentation, lifetime value) returns a :class:`TrainedModel`: the fitted
:class:`InsightModel` plus everything a model card and a validation gate need (parameters,
metrics, evaluation curves, fairness results, importance). The model itself is a plain,
picklable object that declares its input :class:`FeatureSpec` list (the signature the registry
enforces), scores a pandas frame row by row and explains each row with signed contributions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import pandas as pd

__all__ = [
    "Contribution",
    "FeatureSpec",
    "FeatureType",
    "InsightModel",
    "ModelKind",
    "TrainedModel",
]

FeatureType = Literal["number", "integer", "boolean", "category"]
ModelKind = Literal["churn", "propensity", "survival", "segmentation", "clv"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: its name, type and, for categories, the values seen in training.

    ``nullable`` says the model fills a missing value itself (the classifiers impute the
    training median, or treat a missing category as its own value), so a null may reach it.
    """

    name: str
    type: FeatureType
    description: str = ""
    categories: tuple[str, ...] = ()
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the registry stores signatures as JSON)."""
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "categories": list(self.categories),
            "nullable": self.nullable,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec back from :meth:`to_dict`."""
        return cls(
            name=data["name"],
            type=data["type"],
            description=data.get("description", ""),
            categories=tuple(data.get("categories", ())),
            nullable=bool(data.get("nullable", False)),
        )


@dataclass(frozen=True)
class Contribution:
    """How much one feature pushed one prediction, signed, in the model's own units.

    For classifiers the unit is log-odds (positive raises the probability); for lifetime value
    it is currency. ``value`` is the customer's own value of the feature, so the reason can be
    shown to them ("3 failed payments in the last 90 days").
    """

    feature: str
    value: Any
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        value = self.value
        if hasattr(value, "item"):  # numpy scalar
            value = value.item()
        return {"feature": self.feature, "value": value, "contribution": float(self.contribution)}


@runtime_checkable
class InsightModel(Protocol):
    """A fitted model as the registry and decisions use it.

    ``score`` returns one output row per input row, in the same order, with the columns the
    kind defines: ``probability`` and ``label`` (churn, propensity), ``segment`` and
    ``segment_name`` (segmentation), ``expected_purchases``, ``expected_value`` and ``clv``
    (lifetime value), ``expected_days`` and ``survival`` (survival). ``explain`` returns the
    ``top`` signed contributions per row, largest magnitude first.
    """

    kind: ModelKind
    features: tuple[FeatureSpec, ...]

    def score(self, frame: pd.DataFrame) -> pd.DataFrame: ...

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]: ...


@dataclass
class TrainedModel:
    """A fitted model with the evidence of how it was made and how well it does.

    Attributes:
        model: the fitted model, picklable.
        algorithm: e.g. ``logistic_regression``, ``hist_gradient_boosting``, ``cox``,
            ``kmeans``, ``bg_nbd_gamma_gamma``.
        params: the parameters it was trained with (JSON-ready).
        metrics: headline numbers, e.g. ``roc_auc``, ``ece``, ``silhouette`` (floats).
        evaluation: curves and tables (reliability bins, per-fold scores, holdout errors,
            persona cards, stability...), JSON-ready; the model card renders them.
        fairness: per-attribute fairness results (JSON-ready) or None where not applicable.
        importance: global importance, ``(feature, weight)`` largest first.
        training_rows: rows the model was fitted on.
        evaluation_rows: rows it was evaluated on (holdout), 0 when cross-validated only.
        notes: caveats the trainer found worth saying (e.g. "3 rows dropped: no tenure").
    """

    model: InsightModel
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, float]
    evaluation: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] | None = None
    importance: list[tuple[str, float]] = field(default_factory=list)
    training_rows: int = 0
    evaluation_rows: int = 0
    notes: list[str] = field(default_factory=list)
