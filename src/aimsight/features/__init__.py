"""Features: point-in-time customer features over the lake, offline and online.

Features are declared in YAML (``<workspace>/features/features.yaml``) and computed in DuckDB
as of any time T from rows strictly before T, so training data never sees its own future.
``FeatureService`` builds offline tables and training frames (features with churn or
propensity labels), publishes online snapshots for decisions and looks customers up in them.
"""

from aimsight.features._definitions import (
    AgeFeature,
    AggregateFeature,
    AttributeFeature,
    AttributeSource,
    Feature,
    FeatureDefinitions,
    LinkSpec,
    PaymentsSpec,
    RatioFeature,
    SourceSpec,
    TenureFeature,
    shipped_definitions,
)
from aimsight.features._labels import LabelSpec
from aimsight.features._results import OfflineFeatures, OnlineSnapshot, TrainingFrame
from aimsight.features._service import DEFINITIONS_PATH, AsOf, FeatureService, Progress

__all__ = [
    "DEFINITIONS_PATH",
    "AgeFeature",
    "AggregateFeature",
    "AsOf",
    "AttributeFeature",
    "AttributeSource",
    "Feature",
    "FeatureDefinitions",
    "FeatureService",
    "LabelSpec",
    "LinkSpec",
    "OfflineFeatures",
    "OnlineSnapshot",
    "PaymentsSpec",
    "Progress",
    "RatioFeature",
    "SourceSpec",
    "TenureFeature",
    "TrainingFrame",
    "shipped_definitions",
]
