"""A tiny insight model and the evidence a trainer would hand over, for registry tests.

The model is defined at module level so joblib can pickle it and load it back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aimsight.insight import Contribution, FeatureSpec, TrainedModel
from aimsight.registry import CardInputs, ModelRegistry, ModelVersion

FEATURES = (
    FeatureSpec("tenure_days", "integer", "Days since the customer's first order"),
    FeatureSpec("monthly_spend", "number", "Average spend per month"),
    FeatureSpec("failed_payments", "integer", "Failed payments in the last 90 days"),
    FeatureSpec("plan", "category", "Subscription plan", ("basic", "plus", "pro")),
    FeatureSpec("autopay", "boolean", "Pays by direct debit"),
)

WEIGHTS = {"tenure_days": -0.01, "monthly_spend": -0.02, "failed_payments": 0.8, "autopay": -0.5}

ROW: dict[str, Any] = {
    "tenure_days": 120,
    "monthly_spend": 42.5,
    "failed_payments": 2,
    "plan": "basic",
    "autopay": False,
}

CARD = CardInputs(
    owner="customer-analytics",
    intended_use="Rank customers by their chance of cancelling in the next 90 days",
    intended_users=["retention team", "decision flows"],
    out_of_scope_uses="credit or pricing decisions",
    factors=["age band", "region"],
    ethical_considerations=["no protected attributes are inputs"],
    caveats_and_recommendations=["retrain quarterly"],
)

GATES = {"roc_auc": {"min": 0.7}, "ece": {"max": 0.05}}
SNAPSHOT = {"lake/crm/customers/part-0.parquet": "a" * 64}
RELIABILITY = [
    {"mean_predicted": 0.1, "observed_rate": 0.12, "count": 400},
    {"mean_predicted": 0.5, "observed_rate": 0.47, "count": 150},
    {"mean_predicted": 0.9, "observed_rate": 0.88, "count": 50},
]
FAIRNESS = {
    "gate": {"passed": True, "max_difference": 0.1},
    "age_band": {
        "by_group": {
            "18-34": {"roc_auc": 0.81, "selection_rate": 0.2, "count": 300},
            "35+": {"roc_auc": 0.79, "selection_rate": 0.22, "count": 300},
        },
        "difference": 0.02,
        "gate": {"passed": True},
    },
}


@dataclass
class FakeChurnModel:
    """Logistic score over four features (plan is carried but weightless)."""

    kind: str = "churn"
    features: tuple[FeatureSpec, ...] = FEATURES
    bias: float = 0.0

    def _logit(self, frame: pd.DataFrame) -> pd.Series:
        total = pd.Series(self.bias, index=frame.index, dtype="float64")
        for name, weight in WEIGHTS.items():
            total = total + weight * frame[name].astype("float64")
        return total

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        probability = 1 / (1 + (-self._logit(frame)).map(math.exp))
        return pd.DataFrame({"probability": probability, "label": probability >= 0.5})

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]:
        rows = []
        for _, row in frame.iterrows():
            parts = [
                Contribution(name, row[name], weight * float(row[name]))
                for name, weight in WEIGHTS.items()
            ]
            parts.sort(key=lambda c: abs(c.contribution), reverse=True)
            rows.append(parts[:top])
        return rows


def trained(**changes: Any) -> TrainedModel:
    """A trained fake with complete evidence; ``changes`` override any field."""
    values: dict[str, Any] = {
        "model": FakeChurnModel(),
        "algorithm": "logistic_regression",
        "params": {"C": 1.0},
        "metrics": {"roc_auc": 0.82, "ece": 0.03, "brier": 0.12},
        "evaluation": {"reliability": RELIABILITY, "holdout": "last 20% by signup date"},
        "fairness": FAIRNESS,
        "importance": [("failed_payments", 0.6), ("tenure_days", 0.3)],
        "training_rows": 4000,
        "evaluation_rows": 1000,
        "notes": ["3 rows dropped: no tenure"],
    }
    values.update(changes)
    return TrainedModel(**values)


def register(
    registry: ModelRegistry,
    name: str = "churn",
    *,
    trainer: str = "cli:alice",
    model: TrainedModel | None = None,
    **changes: Any,
) -> ModelVersion:
    """Register a fake model version with complete evidence."""
    options: dict[str, Any] = {
        "data_snapshot": SNAPSHOT,
        "card_inputs": CARD,
        "gates": GATES,
        "training_config": {"target": "churned_90d", "features": [f.name for f in FEATURES]},
    }
    options.update(changes)
    return registry.register(name, model or trained(), trainer=trainer, **options)
