"""Checks and typing shared by every trainer: is this frame fit to learn from?

Training fails early, with the column named, on what would otherwise give a silently useless
model: too few rows, a target with one class, a feature that never varies, a feature missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pandas.api import types as ptypes

from aimsight.core.errors import InvalidInput
from aimsight.insight._model import FeatureSpec, FeatureType

__all__ = ["TrainingDataError", "check_features", "check_target", "feature_specs"]


class TrainingDataError(InvalidInput):
    """Raised when data cannot train a model: too few rows, one class, a constant feature."""

    code = "training_data_error"


def _type_of(series: pd.Series) -> FeatureType:
    if ptypes.is_bool_dtype(series):
        return "boolean"
    if ptypes.is_integer_dtype(series):
        return "integer"
    if ptypes.is_numeric_dtype(series):
        return "number"
    return "category"


def feature_specs(
    frame: pd.DataFrame,
    columns: Sequence[str],
    descriptions: dict[str, str] | None = None,
    *,
    nullable: bool = False,
) -> tuple[FeatureSpec, ...]:
    """The signature of ``columns`` as ``frame`` holds them (categories list their values);
    ``nullable`` when the model fills missing values itself."""
    specs = []
    for name in columns:
        kind = _type_of(frame[name])
        categories: tuple[str, ...] = ()
        if kind == "category":
            categories = tuple(sorted(str(v) for v in frame[name].dropna().unique()))
        specs.append(
            FeatureSpec(
                name=name,
                type=kind,
                description=(descriptions or {}).get(name, ""),
                categories=categories,
                nullable=nullable,
            )
        )
    return tuple(specs)


def check_features(frame: pd.DataFrame, features: Sequence[str], *, min_rows: int) -> None:
    """Fail unless ``frame`` has ``min_rows`` rows and every feature is present and varies."""
    if not features:
        raise TrainingDataError("no features were given; name at least one", field="features")
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise TrainingDataError(
            f"features not in the training data: {', '.join(missing)}; "
            f"the data has {', '.join(map(str, frame.columns))}",
            field=missing[0],
        )
    if len(frame) < min_rows:
        raise TrainingDataError(
            f"{len(frame)} rows is too few to train on (at least {min_rows} are needed); "
            "use a longer history or an earlier as-of date",
            field="rows",
        )
    constant = [name for name in features if frame[name].nunique(dropna=False) <= 1]
    if constant:
        raise TrainingDataError(
            f"feature {constant[0]!r} has the same value in every row, so it cannot inform "
            "the model; drop it from the feature list"
            + (f" (also constant: {', '.join(constant[1:])})" if len(constant) > 1 else ""),
            field=constant[0],
        )


def check_target(frame: pd.DataFrame, target: str, *, min_per_class: int = 10) -> None:
    """Fail unless the binary ``target`` has both classes, each at least ``min_per_class``."""
    if target not in frame.columns:
        raise TrainingDataError(f"target column {target!r} is not in the data", field=target)
    counts = frame[target].value_counts(dropna=True)
    if len(counts) < 2:
        only = counts.index[0] if len(counts) else "nothing"
        raise TrainingDataError(
            f"target {target!r} has one class only ({only!r}); a classifier needs examples of "
            "both outcomes: widen the prediction window or the history",
            field=target,
        )
    if int(counts.min()) < min_per_class:
        raise TrainingDataError(
            f"target {target!r} has only {int(counts.min())} examples of {counts.idxmin()!r} "
            f"(at least {min_per_class} are needed)",
            field=target,
        )
