"""Does the model treat groups of customers alike? Measured at training, gated by limits.

For each declared sensitive attribute (gender, age band, ...) the report gives, per group,
how often the model flags customers (selection rate), how many of those who really churn it
catches (true positive rate) and how many who stay it flags anyway (false positive rate), then
the gaps between groups: demographic parity difference and ratio, equalized odds difference and
ratio, as Fairlearn defines them. Each comes with a 95 % bootstrap interval, because a gap of
0.08 on 40 customers means little. The gate compares point estimates with the limits.

Point estimates come from Fairlearn's ``MetricFrame``. Intervals come from resampling customers
with replacement, done on the (group, outcome, flag) cell counts: a row bootstrap's counts are
exactly multinomial over those cells, so drawing them directly gives the same distribution in
microseconds, where ``MetricFrame(n_boot=...)`` takes about 60 ms per resample on 3,000 rows
(it stacks every value in Python), i.e. most of a minute per attribute on a real customer base.
Groups smaller than ``min_group_size`` are reported and flagged, and left out of the gaps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import MetricFrame, count
from pydantic import BaseModel, ConfigDict, Field

from aimsight.core.errors import InvalidInput

__all__ = ["FairnessLimits", "fairness_report"]

FloatArray = npt.NDArray[np.float64]
MISSING_GROUP = "(missing)"
RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")


class FairnessLimits(BaseModel):
    """The gaps a model may show between groups before its fairness gate fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_demographic_parity_difference: float | None = Field(
        0.2,
        ge=0,
        le=1,
        description="Largest allowed gap in selection rate between groups; None: not gated.",
    )
    max_equalized_odds_difference: float | None = Field(
        0.2,
        ge=0,
        le=1,
        description="Largest allowed gap in true or false positive rate; None: not gated.",
    )
    min_demographic_parity_ratio: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Smallest allowed ratio of the lowest to the highest selection rate "
        "(0.8 is the 'four-fifths rule'); None: not gated.",
    )
    min_outcomes: int = Field(
        20,
        ge=1,
        description="A group's true (false) positive rate counts toward the equalized-odds gap "
        "only with at least this many actual positives (negatives): a rate from a handful of "
        "churners is noise, not evidence of unequal treatment.",
    )
    min_group_size: int = Field(
        30,
        ge=1,
        description="Groups with fewer customers are reported and flagged but left out of the "
        "gaps and the gate: their rates are too noisy to judge.",
    )


# --- rates from counts (vectorised over bootstrap resamples) -----------------------------------


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _rates(cells: FloatArray) -> dict[str, FloatArray]:
    """Rates per group from counts shaped (..., group, outcome, flag)."""
    flagged = cells[..., 0, 1] + cells[..., 1, 1]
    return {
        "selection_rate": _divide(flagged, cells.sum(axis=(-1, -2))),
        "true_positive_rate": _divide(cells[..., 1, 1], cells[..., 1, :].sum(axis=-1)),
        "false_positive_rate": _divide(cells[..., 0, 1], cells[..., 0, :].sum(axis=-1)),
    }


def _spread(rates: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(max - min, min / max) over the last axis, ignoring undefined rates."""
    defined = ~np.isnan(rates)
    high = np.where(defined, rates, -np.inf).max(axis=-1)
    low = np.where(defined, rates, np.inf).min(axis=-1)
    enough = defined.sum(axis=-1) >= 1
    difference = np.where(enough, high - low, np.nan)
    ratio = np.where(enough, _divide(low, np.where(enough, high, 0.0)), np.nan)
    return difference, ratio


def _gaps(rates: dict[str, FloatArray]) -> dict[str, FloatArray]:
    selection_diff, selection_ratio = _spread(rates["selection_rate"])
    tpr_diff, tpr_ratio = _spread(rates["true_positive_rate"])
    fpr_diff, fpr_ratio = _spread(rates["false_positive_rate"])
    # Fairlearn's "worst case": the larger gap (smaller ratio) of the two error rates.
    with np.errstate(invalid="ignore"):
        odds_diff = np.fmax(tpr_diff, fpr_diff)
        odds_ratio = np.fmin(tpr_ratio, fpr_ratio)
    return {
        "demographic_parity_difference": selection_diff,
        "demographic_parity_ratio": selection_ratio,
        "equalized_odds_difference": odds_diff,
        "equalized_odds_ratio": odds_ratio,
    }


def _interval(samples: FloatArray, confidence: float) -> list[float] | None:
    finite = samples[~np.isnan(samples)]
    if finite.size == 0:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return [float(low), float(high)]


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


# --- the report ---------------------------------------------------------------------------------


def _binary(values: Any, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.dtype == bool:
        return array.astype(np.int64)
    numbers = np.asarray(pd.to_numeric(pd.Series(array.ravel()), errors="coerce"), dtype=float)
    if not np.all((numbers == 0) | (numbers == 1)):
        raise InvalidInput(f"{name} must be 0/1 (or False/True) with no missing values", field=name)
    return numbers.astype(np.int64)


def _groups(column: pd.Series) -> pd.Series:
    labels = column.astype(object).where(column.notna(), MISSING_GROUP).astype(str)
    return labels.reset_index(drop=True)


def _point_rates(y_true: Any, y_pred: Any, groups: pd.Series) -> pd.DataFrame:
    """Per-group rates and counts from Fairlearn's MetricFrame."""

    def selection_rate(_y_true: Any, y_pred: Any) -> float:
        return float(np.mean(y_pred))

    def true_positive_rate(y_true: Any, y_pred: Any) -> float:
        positive = np.asarray(y_true) == 1
        return float(np.mean(np.asarray(y_pred)[positive])) if positive.any() else math.nan

    def false_positive_rate(y_true: Any, y_pred: Any) -> float:
        negative = np.asarray(y_true) == 0
        return float(np.mean(np.asarray(y_pred)[negative])) if negative.any() else math.nan

    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "count": count,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    by_group: pd.DataFrame = frame.by_group
    return by_group


def _attribute_report(
    name: str,
    y_true: npt.NDArray[np.int64],
    y_pred: npt.NDArray[np.int64],
    column: pd.Series,
    limits: FairnessLimits,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    groups = _groups(column)
    by_group = _point_rates(y_true, y_pred, groups.rename(name))
    labels = [str(label) for label in by_group.index]
    codes = pd.Categorical(groups, categories=labels).codes.astype(np.int64)
    cells = np.bincount(codes * 4 + y_true * 2 + y_pred, minlength=4 * len(labels))
    cells = cells.reshape(len(labels), 2, 2).astype(float)
    sizes = cells.sum(axis=(1, 2))
    large = sizes >= limits.min_group_size
    assessed = int(large.sum()) >= 2
    gated = large if assessed else np.ones(len(labels), dtype=bool)

    point = {rate: by_group[rate].to_numpy(dtype=float) for rate in RATES}
    # Error rates from too few actual positives (negatives) stay out of the gaps.
    enough = {
        "selection_rate": np.ones(len(labels), dtype=bool),
        "true_positive_rate": cells[:, 1, :].sum(axis=1) >= limits.min_outcomes,
        "false_positive_rate": cells[:, 0, :].sum(axis=1) >= limits.min_outcomes,
    }
    gaps = _gaps({rate: np.where(enough[rate], v, np.nan)[gated] for rate, v in point.items()})
    draws: dict[str, FloatArray] = {}
    if n_boot > 0:
        resampled = rng.multinomial(int(sizes.sum()), cells.ravel() / sizes.sum(), size=n_boot)
        boot_rates = _rates(resampled.reshape(n_boot, len(labels), 2, 2).astype(float))
        draws = {
            **boot_rates,
            **_gaps({k: np.where(enough[k], v, np.nan)[:, gated] for k, v in boot_rates.items()}),
        }

    def ci(metric: str, column_index: int | None = None) -> list[float] | None:
        if metric not in draws:
            return None
        samples = draws[metric] if column_index is None else draws[metric][:, column_index]
        return _interval(samples, confidence)

    group_rows = []
    for i, label in enumerate(labels):
        row: dict[str, Any] = {
            "group": label,
            "count": int(sizes[i]),
            "actual_positives": int(cells[i, 1, :].sum()),
            "flagged": int(cells[i, :, 1].sum()),
            "small": bool(not large[i]),
        }
        for rate in RATES:
            row[rate] = _number(point[rate][i])
            row[f"{rate}_ci"] = ci(rate, i)
        group_rows.append(row)
    report: dict[str, Any] = {
        "groups": group_rows,
        "assessed": assessed,
        "small_groups": [label for label, ok in zip(labels, large, strict=True) if not ok],
    }
    for metric, value in gaps.items():
        report[metric] = {"value": _number(value), "ci": ci(metric)}
    return report


def _gate(attributes: dict[str, dict[str, Any]], limits: FairnessLimits) -> dict[str, Any]:
    checks = (
        ("demographic_parity_difference", limits.max_demographic_parity_difference, "max"),
        ("equalized_odds_difference", limits.max_equalized_odds_difference, "max"),
        ("demographic_parity_ratio", limits.min_demographic_parity_ratio, "min"),
    )
    violations: list[dict[str, Any]] = []
    warnings: list[str] = []
    for name, report in attributes.items():
        if not report["assessed"]:
            warnings.append(
                f"{name}: fewer than two groups have {limits.min_group_size} or more customers, "
                "so its gaps are too noisy to gate; collect more data or merge small groups"
            )
            continue
        for metric, limit, side in checks:
            value = report[metric]["value"]
            if limit is None or value is None:
                continue
            if (side == "max" and value > limit) or (side == "min" and value < limit):
                violations.append(
                    {"attribute": name, "metric": metric, "value": value, "limit": limit}
                )
        if report["small_groups"]:
            warnings.append(
                f"{name}: groups {', '.join(report['small_groups'])} have fewer than "
                f"{limits.min_group_size} customers and are not gated"
            )
    return {"passed": not violations, "violations": violations, "warnings": warnings}


def fairness_report(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    *,
    limits: FairnessLimits | None = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    random_state: int = 0,
) -> dict[str, Any]:
    """Group rates, gaps with bootstrap intervals, and a pass/fail gate per sensitive attribute.

    Args:
        y_true: what happened (0/1), one per customer.
        y_pred: what the model decided (0/1: flagged or not), one per customer.
        sensitive: one column per sensitive attribute, one row per customer, same order.
        limits: the gate; defaults to :class:`FairnessLimits` ().
        n_boot: bootstrap resamples for the intervals (0: no intervals).
        confidence: the intervals' coverage.
        random_state: seed of the resampling.

    Returns:
        JSON-ready ``{"attributes": {name: {...}}, "limits": {...}, "n_boot", "confidence",
        "gate": {"passed", "violations", "warnings"}}``.

    Raises:
        InvalidInput: lengths differ, or outcomes/decisions are not 0/1.
    """
    limits = limits or FairnessLimits()
    truth = _binary(y_true, "y_true")
    decided = _binary(y_pred, "y_pred")
    if not len(truth) == len(decided) == len(sensitive):
        raise InvalidInput(
            f"y_true ({len(truth)}), y_pred ({len(decided)}) and sensitive ({len(sensitive)}) "
            "must have one entry per customer",
            field="sensitive",
        )
    if sensitive.shape[1] == 0:
        raise InvalidInput("no sensitive attribute was given", field="sensitive")
    if not 0 < confidence < 1:
        raise InvalidInput(f"confidence must be in (0, 1), not {confidence}", field="confidence")
    rng = np.random.default_rng(random_state)
    attributes = {
        str(name): _attribute_report(
            str(name), truth, decided, sensitive[name], limits, n_boot, confidence, rng
        )
        for name in sensitive.columns
    }
    return {
        "attributes": attributes,
        "limits": limits.model_dump(mode="json"),
        "n_boot": n_boot,
        "confidence": confidence,
        "gate": _gate(attributes, limits),
    }
