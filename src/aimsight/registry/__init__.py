"""The model registry: versions, signatures, cards, validation, approvals, stages and aliases.

Trainers hand a :class:`~aimsight.insight.TrainedModel` to :meth:`ModelRegistry.register`;
a version then moves draft -> validated -> approved -> shadow / canary -> production, every
step on the ledger. Decisions load the champion (and canary, shadows) with
:meth:`ModelRegistry.load`, which verifies the artifact and enforces the signature.
"""

from aimsight.registry._artifacts import ArtifactError
from aimsight.registry._card import SECTIONS, ModelCard
from aimsight.registry._scoring import Prediction, ScoringModel
from aimsight.registry._service import ModelRegistry, VersionRef, parse_ref
from aimsight.registry._signature import (
    CheckedRows,
    FieldProblem,
    Rows,
    SignatureMismatch,
    enforce_signature,
)
from aimsight.registry._training import (
    MODELS_CONFIG_PATH,
    ModelsConfig,
    ModelSpec,
    ModelTrainer,
    TrainingResult,
    load_models_config,
    shipped_models_config,
)
from aimsight.registry._types import (
    STAGES,
    Approval,
    CardInputs,
    ModelSummary,
    ModelVersion,
    Principal,
    ProductionInterval,
    Serving,
    Stage,
    Transition,
    ValidationCheck,
    ValidationReport,
)

__all__ = [
    "MODELS_CONFIG_PATH",
    "ModelSpec",
    "ModelTrainer",
    "ModelsConfig",
    "TrainingResult",
    "load_models_config",
    "shipped_models_config",
    "SECTIONS",
    "STAGES",
    "Approval",
    "ArtifactError",
    "CardInputs",
    "CheckedRows",
    "FieldProblem",
    "ModelCard",
    "ModelRegistry",
    "ModelSummary",
    "ModelVersion",
    "Prediction",
    "Principal",
    "ProductionInterval",
    "Rows",
    "ScoringModel",
    "Serving",
    "SignatureMismatch",
    "Stage",
    "Transition",
    "ValidationCheck",
    "ValidationReport",
    "VersionRef",
    "enforce_signature",
    "parse_ref",
]
