"""Identity resolution: one customer profile per person, with stable ids and explanations.

``IdentityService`` runs resolution over the lake (deterministic links, Splink scoring,
guarded clustering, stable ids, golden records), takes steward overrides, explains why
records are one customer, and resolves identifiers in real time for decisions.
"""

from aimsight.identity._config import MatchingConfig, shipped_matching_config
from aimsight.identity._evaluate import Scores, cluster_scores
from aimsight.identity._matcher import MatchingError
from aimsight.identity._service import CONFIG_PATH, IdentityService, Resolution, RunSummary

__all__ = [
    "CONFIG_PATH",
    "IdentityService",
    "MatchingConfig",
    "MatchingError",
    "Resolution",
    "RunSummary",
    "Scores",
    "cluster_scores",
    "shipped_matching_config",
]
