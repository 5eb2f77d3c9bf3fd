"""Are the probabilities honest, and where should the line be drawn?

A churn probability is used as a number (expected loss = probability x value), so it must be
calibrated: of the customers given 0.3, about 30 % should leave. :func:`expected_calibration_error`
and :func:`reliability_bins` measure that on held-out outcomes. :func:`cost_threshold` turns
calibrated probabilities into a yes/no decision by the business's own costs: a wasted retention
offer (false positive) against a lost customer (false negative).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aimsight.core.errors import InvalidInput

__all__ = [
    "CostThreshold",
    "cost_threshold",
    "expected_calibration_error",
    "reliability_bins",
]

FloatArray = npt.NDArray[np.float64]


class CostThreshold(NamedTuple):
    """The cheapest cut-off: flag customers whose probability is at least ``threshold``."""

    threshold: float
    expected_cost: float
    precision: float
    recall: float


def _outcomes_and_probabilities(y: Any, p: Any) -> tuple[FloatArray, FloatArray]:
    outcomes = np.asarray(y, dtype=float).ravel()
    probabilities = np.asarray(p, dtype=float).ravel()
    if outcomes.shape != probabilities.shape:
        raise InvalidInput(
            f"{outcomes.size} outcomes but {probabilities.size} probabilities; pass one "
            "probability per outcome",
            field="probabilities",
        )
    if outcomes.size == 0:
        raise InvalidInput("no outcomes were given; pass at least one", field="outcomes")
    if not np.all((outcomes == 0) | (outcomes == 1)):
        raise InvalidInput("outcomes must be 0/1 (or False/True)", field="outcomes")
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise InvalidInput(
            "probabilities must lie in [0, 1] with no missing values", field="probabilities"
        )
    return outcomes, probabilities


def _bin_index(probabilities: FloatArray, bins: int) -> npt.NDArray[np.intp]:
    if bins < 1:
        raise InvalidInput(f"bins must be at least 1, not {bins}", field="bins")
    # Equal-width bins [0, 1/b), ..., [(b-1)/b, 1]; a probability of exactly 1 joins the last.
    return np.minimum((probabilities * bins).astype(np.intp), bins - 1)


def reliability_bins(y: Any, p: Any, bins: int = 10) -> list[dict[str, float | int | None]]:
    """The reliability table: per equal-width probability bin, mean prediction vs observed rate.

    Every bin is listed (empty ones with ``None`` means and count 0), so charts of two models
    line up. Keys: ``lower``, ``upper``, ``mean_predicted``, ``observed_rate``, ``count``.
    """
    outcomes, probabilities = _outcomes_and_probabilities(y, p)
    index = _bin_index(probabilities, bins)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=probabilities, minlength=bins)
    observed = np.bincount(index, weights=outcomes, minlength=bins)
    table: list[dict[str, float | int | None]] = []
    for b in range(bins):
        n = int(counts[b])
        table.append(
            {
                "lower": b / bins,
                "upper": (b + 1) / bins,
                "mean_predicted": float(predicted[b] / n) if n else None,
                "observed_rate": float(observed[b] / n) if n else None,
                "count": n,
            }
        )
    return table


def expected_calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean gap between prediction and outcome.

    Equal-width bins; 0 is perfect, and the value is always within [0, 1].
    """
    outcomes, probabilities = _outcomes_and_probabilities(y, p)
    index = _bin_index(probabilities, bins)
    predicted = np.bincount(index, weights=probabilities, minlength=bins)
    observed = np.bincount(index, weights=outcomes, minlength=bins)
    # Per bin: count * |mean predicted - observed rate| = |sum predicted - sum observed|.
    return float(np.abs(predicted - observed).sum() / outcomes.size)


def cost_threshold(y: Any, p: Any, false_positive: float, false_negative: float) -> CostThreshold:
    """The probability cut-off that minimises the expected cost per customer on these outcomes.

    Flagging a customer who would have stayed costs ``false_positive`` (a wasted offer);
    missing one who leaves costs ``false_negative``. Every distinct cut-off is tried; the
    threshold returned lies midway between the last probability flagged and the next one
    below, and among equally cheap cut-offs the one flagging fewest customers wins. On
    calibrated probabilities it sits near ``false_positive / (false_positive + false_negative)``.

    Returns:
        The threshold, the expected cost per customer at it, and its precision and recall
        (precision is 0 when nobody is flagged).
    """
    if false_positive < 0 or false_negative < 0 or false_positive + false_negative == 0:
        raise InvalidInput(
            "costs must be non-negative and not both zero "
            f"(false_positive={false_positive}, false_negative={false_negative})",
            field="costs",
        )
    outcomes, probabilities = _outcomes_and_probabilities(y, p)
    order = np.argsort(-probabilities, kind="stable")
    ranked_p = probabilities[order]
    ranked_y = outcomes[order]
    # Candidate k flags the top k customers; only k at the end of a run of equal
    # probabilities is a real cut-off. k = 0 (flag nobody) is always a candidate.
    true_pos = np.concatenate([[0.0], np.cumsum(ranked_y)])
    flagged = np.arange(outcomes.size + 1, dtype=float)
    false_pos = flagged - true_pos
    positives = float(outcomes.sum())
    false_neg = positives - true_pos
    cost = (false_positive * false_pos + false_negative * false_neg) / outcomes.size
    valid = np.ones(outcomes.size + 1, dtype=bool)
    valid[1:-1] = ranked_p[:-1] != ranked_p[1:]
    cost = np.where(valid, cost, np.inf)
    k = int(np.argmin(cost))  # first minimum: the fewest customers flagged
    if k == 0:
        threshold = float(np.nextafter(ranked_p[0], np.inf))  # just above everyone
    elif k == outcomes.size:
        threshold = float(ranked_p[-1])
    else:
        threshold = float((ranked_p[k - 1] + ranked_p[k]) / 2)
        if threshold <= ranked_p[k]:  # adjacent floats: the midpoint rounded down
            threshold = float(ranked_p[k - 1])
    precision = float(true_pos[k] / k) if k else 0.0
    recall = float(true_pos[k] / positives) if positives else 0.0
    return CostThreshold(threshold, float(cost[k]), precision, recall)
