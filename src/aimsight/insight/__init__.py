"""Insight models: segments and personas, churn and propensity, time to churn, lifetime value.

Trainers take pandas frames (built by :mod:`aimsight.features` or read from a file) and return
a :class:`TrainedModel`; the registry stores, validates and serves what they return.
"""

from aimsight.insight._calibration import (
    CostThreshold,
    cost_threshold,
    expected_calibration_error,
    reliability_bins,
)
from aimsight.insight._classify import (
    ChurnClassifier,
    ClassifierConfig,
    Costs,
    cross_validate_classifier,
    train_classifier,
)
from aimsight.insight._clv import ClvConfig, ClvModel, summarise_transactions, train_clv
from aimsight.insight._fairness import FairnessLimits, fairness_report
from aimsight.insight._frame import TrainingDataError, check_features, check_target, feature_specs
from aimsight.insight._model import (
    Contribution,
    FeatureSpec,
    FeatureType,
    InsightModel,
    ModelKind,
    TrainedModel,
)
from aimsight.insight._personas import DistinguishingFeature, Persona, render_persona
from aimsight.insight._rfm import RFM_SEGMENTS, RFMModel, rfm_segment, train_rfm
from aimsight.insight._segment import SegmentationConfig, SegmentationModel, train_segmentation
from aimsight.insight._survival import SurvivalConfig, SurvivalModel, train_survival

__all__ = [
    "RFM_SEGMENTS",
    "ChurnClassifier",
    "ClassifierConfig",
    "ClvConfig",
    "ClvModel",
    "Contribution",
    "CostThreshold",
    "Costs",
    "DistinguishingFeature",
    "FairnessLimits",
    "FeatureSpec",
    "FeatureType",
    "InsightModel",
    "ModelKind",
    "Persona",
    "RFMModel",
    "SegmentationConfig",
    "SegmentationModel",
    "SurvivalConfig",
    "SurvivalModel",
    "TrainedModel",
    "TrainingDataError",
    "check_features",
    "check_target",
    "cost_threshold",
    "cross_validate_classifier",
    "expected_calibration_error",
    "fairness_report",
    "feature_specs",
    "reliability_bins",
    "render_persona",
    "rfm_segment",
    "summarise_transactions",
    "train_classifier",
    "train_clv",
    "train_rfm",
    "train_segmentation",
    "train_survival",
]
