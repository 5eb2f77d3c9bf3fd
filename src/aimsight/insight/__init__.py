"""Insight models: segments and personas, churn and propensity, time to churn, lifetime value.

Trainers take pandas frames (built by :mod:`aimsight.features` or read from a file) and return
a :class:`TrainedModel`; the registry stores, validates and serves what they return.
"""

from aimsight.insight._frame import TrainingDataError, check_features, check_target, feature_specs
from aimsight.insight._model import (
    Contribution,
    FeatureSpec,
    FeatureType,
    InsightModel,
    ModelKind,
    TrainedModel,
)

__all__ = [
    "Contribution",
    "FeatureSpec",
    "FeatureType",
    "InsightModel",
    "ModelKind",
    "TrainedModel",
    "TrainingDataError",
    "check_features",
    "check_target",
    "feature_specs",
]
