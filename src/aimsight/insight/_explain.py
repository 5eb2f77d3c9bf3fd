"""Why did the model say that? Signed contributions per original feature.

Models see a transformed design (numbers scaled, categories one-hot); people think in the
features they gave ("contract: month-to-month"). Contributions are computed per design column
in the model's own units (log-odds for classifiers, log-hazard for survival), then the columns
of one feature are summed back to it, so contributions always add up to the prediction minus
the baseline.

* Linear models: exactly ``coef * (x - mean)`` per column, the mean taken over training rows.
* Tree models: TreeSHAP (``shap.TreeExplainer``), exact for the trees' raw log-odds output.
  shap is slow to import, so it is imported on first use only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from aimsight.insight._model import Contribution

__all__ = [
    "feature_matrix",
    "global_importance",
    "linear_contributions",
    "top_contributions",
    "tree_contributions",
    "tree_explainer",
]

FloatArray = npt.NDArray[np.float64]


def feature_matrix(column_feature: Sequence[int], n_features: int) -> FloatArray:
    """A (design columns x features) 0/1 matrix that sums each feature's columns together."""
    matrix = np.zeros((len(column_feature), n_features))
    matrix[np.arange(len(column_feature)), np.asarray(column_feature, dtype=np.intp)] = 1.0
    return matrix


def linear_contributions(design: FloatArray, coef: FloatArray, mean: FloatArray) -> FloatArray:
    """Per design column: ``coef * (x - mean)``; rows sum to the linear score minus its mean."""
    return (design - mean) * coef


def tree_explainer(model: Any) -> Any:
    """A TreeSHAP explainer for a fitted tree ensemble (raw, log-odds output)."""
    with warnings.catch_warnings():
        # Importing shap builds its plot colour maps with matplotlib calls (set_bad, set_over,
        # set_under) that matplotlib now marks as pending deprecation; nothing we call.
        warnings.filterwarnings(
            "ignore",
            message=r"The set_\w+ function will be deprecated",
            category=PendingDeprecationWarning,
        )
        import shap

    return shap.TreeExplainer(model)


def tree_contributions(explainer: Any, design: FloatArray) -> FloatArray:
    """Per design column TreeSHAP values; rows sum to the raw output minus the expected value."""
    values = np.asarray(explainer.shap_values(design, check_additivity=False), dtype=float)
    if values.ndim == 3:  # one slice per class from some model types: keep the positive one
        values = values[..., -1]
    return values


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def top_contributions(
    per_feature: FloatArray,
    names: Sequence[str],
    values: Sequence[Sequence[Any]],
    top: int,
) -> list[list[Contribution]]:
    """The ``top`` largest-magnitude contributions of each row, with the customer's values.

    Args:
        per_feature: contributions, one row per customer, one column per feature.
        names: the feature names, in column order.
        values: per feature (outer), the customers' own values (inner), as given.
        top: how many to keep per customer (0 or less: none).
    """
    if top <= 0:
        return [[] for _ in range(per_feature.shape[0])]
    keep = min(top, per_feature.shape[1])
    # Stable sort on -|c| keeps feature order among ties, so results are reproducible.
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :keep]
    return [
        [Contribution(names[j], _plain(values[j][i]), float(per_feature[i, j])) for j in order[i]]
        for i in range(per_feature.shape[0])
    ]


def global_importance(per_feature: FloatArray, names: Sequence[str]) -> list[tuple[str, float]]:
    """Mean absolute contribution per feature, largest first (ties in feature order)."""
    weights = np.abs(per_feature).mean(axis=0) if per_feature.size else np.zeros(len(names))
    order = np.argsort(-weights, kind="stable")
    return [(names[j], float(weights[j])) for j in order]
