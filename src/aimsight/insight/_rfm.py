"""RFM segmentation: recency, frequency and monetary scores, and the standard named segments.

Each customer gets a 1-5 score per dimension (with ``quantiles`` other than 5, 1-q): the
score is ``1 + floor(q x share of training customers strictly below them)``, so equal values
always get equal scores (ties are ranked together, lowest rank) and a value shared by many
customers does not spill over into several scores. Recency is reversed: fewer days since the
last purchase scores higher. The score edges (the smallest value that reaches each score) are
learnt at fit time, so new customers are scored against the training population.

The named segment comes from the recency (R) and frequency (F) scores on the usual map
(monetary is reported as a score and in the persona cards, not used for the name)::

    R / F  1               2                    3                    4          5
    5      New customers   Potential loyalists  Potential loyalists  Champions  Champions
    4      Promising       Potential loyalists  Potential loyalists  Loyal      Loyal
    3      About to sleep  About to sleep       Need attention       Loyal      Loyal
    2      Hibernating     Hibernating          At risk              At risk    Cannot lose them
    1      Lost            Hibernating          At risk              At risk    Cannot lose them

("Loyal" is Loyal customers.) With other than five quantiles the scores are rescaled to 1-5
(rounded) for the map. Segment ids are the segment names in snake case (``champions``,
``at_risk``), the same in every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pandas.api import types as ptypes
from sklearn.metrics import adjusted_rand_score, silhouette_score

from aimsight.core.errors import InvalidInput
from aimsight.insight._frame import TrainingDataError, check_features, feature_specs
from aimsight.insight._model import Contribution, FeatureSpec, ModelKind, TrainedModel
from aimsight.insight._personas import SegmentProfile, build_personas, profile_segments

__all__ = ["RFM_SEGMENTS", "RFMModel", "rfm_segment", "train_rfm"]

MIN_ROWS = 20

# (id, name, rectangles of (R low, R high, F low, F high) on 1-5 scores), in display order.
RFM_SEGMENTS: tuple[tuple[str, str, tuple[tuple[int, int, int, int], ...]], ...] = (
    ("champions", "Champions", ((5, 5, 4, 5),)),
    ("loyal_customers", "Loyal customers", ((3, 4, 4, 5),)),
    ("potential_loyalists", "Potential loyalists", ((4, 5, 2, 3),)),
    ("new_customers", "New customers", ((5, 5, 1, 1),)),
    ("promising", "Promising", ((4, 4, 1, 1),)),
    ("need_attention", "Need attention", ((3, 3, 3, 3),)),
    ("about_to_sleep", "About to sleep", ((3, 3, 1, 2),)),
    ("cannot_lose_them", "Cannot lose them", ((1, 2, 5, 5),)),
    ("at_risk", "At risk", ((1, 2, 3, 4),)),
    ("hibernating", "Hibernating", ((2, 2, 1, 2), (1, 1, 2, 2))),
    ("lost", "Lost", ((1, 1, 1, 1),)),
)
_NAMES = {segment: name for segment, name, _cells in RFM_SEGMENTS}
_ORDER = [segment for segment, _name, _cells in RFM_SEGMENTS]


def _grid() -> dict[tuple[int, int], str]:
    grid: dict[tuple[int, int], str] = {}
    for segment, _name, cells in RFM_SEGMENTS:
        for r_low, r_high, f_low, f_high in cells:
            for r in range(r_low, r_high + 1):
                for f in range(f_low, f_high + 1):
                    grid[(r, f)] = segment
    return grid


_GRID = _grid()


def rfm_segment(recency_score: int, frequency_score: int) -> str:
    """The named segment id for 1-5 R and F scores (see the map in the module docstring)."""
    if not (1 <= recency_score <= 5 and 1 <= frequency_score <= 5):
        raise InvalidInput(
            f"RFM scores run from 1 to 5; got R={recency_score}, F={frequency_score}",
            field="recency_score" if not 1 <= recency_score <= 5 else "frequency_score",
        )
    return _GRID[(recency_score, frequency_score)]


def _learn_edges(values: NDArray[np.float64], quantiles: int) -> NDArray[np.float64]:
    """The smallest training value reaching each score 2..q (inf where none does)."""
    ordered = np.sort(values)
    below = np.searchsorted(ordered, ordered, side="left")
    scores = 1 + (below * quantiles) // len(ordered)
    edges = np.full(quantiles - 1, np.inf)
    for score in range(2, quantiles + 1):
        reached = ordered[scores >= score]
        if len(reached):
            edges[score - 2] = reached[0]
    return edges


def _apply_edges(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    reached = (values[:, None] >= edges[None, :]).sum(axis=1)
    return np.asarray(1 + reached, dtype=np.int64)


def _to_five(scores: NDArray[np.int64], quantiles: int) -> NDArray[np.int64]:
    if quantiles == 5:
        return scores
    return np.floor(1 + (scores - 1) * 4 / (quantiles - 1) + 0.5).astype(np.int64)


def _numbers(frame: pd.DataFrame, column: str, *, training: bool) -> NDArray[np.float64]:
    """The column as floats; a missing or non-numeric value is an error naming the column."""
    if column not in frame.columns:
        raise InvalidInput(
            f"column {column!r} is needed for RFM scores but is not in the data", field=column
        )
    series = frame[column]
    if not (ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series)):
        values = pd.to_numeric(series, errors="coerce")
        if values.isna().sum() > series.isna().sum():
            raise (TrainingDataError if training else InvalidInput)(
                f"column {column!r} must hold numbers for RFM scores; "
                f"found e.g. {series[values.isna() & series.notna()].iloc[0]!r}",
                field=column,
            )
        series = values
    missing = int(series.isna().sum())
    if missing:
        raise (TrainingDataError if training else InvalidInput)(
            f"column {column!r} is missing for {missing} rows; RFM needs a value for every "
            "customer (e.g. days since sign-up as recency and 0 purchases for those who "
            "never bought)",
            field=column,
        )
    return np.asarray(series.to_numpy(dtype=float), dtype=np.float64)


class RFMModel:
    """A fitted RFM segmentation: learnt score edges and the standard segment map.

    ``score`` gives each row its named segment (``segment`` id and ``segment_name``);
    :meth:`rfm_scores` gives the three 1-q scores; ``explain`` names the RFM dimensions that
    most set the row's segment apart from the training population.
    """

    def __init__(
        self,
        *,
        features: tuple[FeatureSpec, ...],
        recency: str,
        frequency: str,
        monetary: str,
        quantiles: int,
        edges: Mapping[str, NDArray[np.float64]],
        profile: SegmentProfile | None = None,
    ) -> None:
        self.kind: ModelKind = "segmentation"
        self.features = features
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
        self.quantiles = quantiles
        self.edges_ = {name: np.asarray(values, dtype=float) for name, values in edges.items()}
        self.profile_ = profile

    def rfm_scores(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``recency_score``, ``frequency_score``, ``monetary_score`` (1-q) and ``rfm_score``."""
        recency = _apply_edges(
            -_numbers(frame, self.recency, training=False), self.edges_["recency"]
        )
        frequency = _apply_edges(
            _numbers(frame, self.frequency, training=False), self.edges_["frequency"]
        )
        monetary = _apply_edges(
            _numbers(frame, self.monetary, training=False), self.edges_["monetary"]
        )
        scores = pd.DataFrame(
            {
                "recency_score": recency,
                "frequency_score": frequency,
                "monetary_score": monetary,
            },
            index=frame.index,
        )
        scores["rfm_score"] = [
            f"{r}{f}{m}" for r, f, m in zip(recency, frequency, monetary, strict=True)
        ]
        return scores

    def _segments(self, frame: pd.DataFrame) -> list[str]:
        scores = self.rfm_scores(frame)
        r5 = _to_five(scores["recency_score"].to_numpy(dtype=np.int64), self.quantiles)
        f5 = _to_five(scores["frequency_score"].to_numpy(dtype=np.int64), self.quantiles)
        return [_GRID[(int(r), int(f))] for r, f in zip(r5, f5, strict=True)]

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each row's RFM segment: ``segment`` (e.g. ``champions``) and ``segment_name``."""
        segments = self._segments(frame)
        return pd.DataFrame(
            {"segment": segments, "segment_name": [_NAMES[s] for s in segments]},
            index=frame.index,
            dtype=object,
        )

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]:
        """Per row, the RFM dimensions that most distinguish its segment, with the row's values.

        Contributions are the segment's standardised difference from the training population
        (see :mod:`aimsight.insight._personas`); a segment unseen in training explains nothing.
        """
        segments = self._segments(frame)
        if self.profile_ is None:
            return [[] for _ in segments]
        known = set(self.profile_.segments)
        explained: list[list[Contribution]] = [[] for _ in segments]
        rows = [i for i, segment in enumerate(segments) if segment in known]
        if rows:
            found = self.profile_.explain(frame.iloc[rows], [segments[i] for i in rows], top)
            for i, reasons in zip(rows, found, strict=True):
                explained[i] = reasons
        return explained


def _fit_edges(
    recency: NDArray[np.float64],
    frequency: NDArray[np.float64],
    monetary: NDArray[np.float64],
    quantiles: int,
) -> dict[str, NDArray[np.float64]]:
    return {
        "recency": _learn_edges(-recency, quantiles),
        "frequency": _learn_edges(frequency, quantiles),
        "monetary": _learn_edges(monetary, quantiles),
    }


def _edge_table(edges: Mapping[str, NDArray[np.float64]]) -> dict[str, list[float | None]]:
    """Edges for people: recency as "at most N days", the others as "at least"."""
    return {
        "recency_at_most": [None if math.isinf(e) else float(-e) for e in edges["recency"]],
        "frequency_at_least": [None if math.isinf(e) else float(e) for e in edges["frequency"]],
        "monetary_at_least": [None if math.isinf(e) else float(e) for e in edges["monetary"]],
    }


def _stability(
    model: RFMModel,
    frame: pd.DataFrame,
    reference: Sequence[str],
    arrays: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    resamples: int,
    random_state: int,
) -> dict[str, Any] | None:
    if resamples <= 0:
        return None
    rng = np.random.default_rng(random_state)
    n = len(frame)
    values = []
    for _ in range(resamples):
        rows = rng.integers(0, n, size=n)
        recency, frequency, monetary = (array[rows] for array in arrays)
        edges = _fit_edges(recency, frequency, monetary, model.quantiles)
        refit = RFMModel(
            features=model.features,
            recency=model.recency,
            frequency=model.frequency,
            monetary=model.monetary,
            quantiles=model.quantiles,
            edges=edges,
        )
        values.append(float(adjusted_rand_score(reference, refit._segments(frame))))
    return {
        "resamples": resamples,
        "mean": float(np.mean(values)),
        "low": float(np.percentile(values, 2.5)),
        "high": float(np.percentile(values, 97.5)),
        "values": values,
    }


def train_rfm(
    frame: pd.DataFrame,
    *,
    recency: str = "recency_days",
    frequency: str = "frequency",
    monetary: str = "monetary",
    quantiles: int = 5,
    stability_bootstrap: int = 20,
    random_state: int = 0,
    max_rows_for_selection: int = 5000,
    descriptions: Mapping[str, str] | None = None,
) -> TrainedModel:
    """Fit RFM scores and named segments on customers' recency, frequency and monetary value.

    Args:
        frame: one row per customer.
        recency: column with days since the last purchase (lower is better).
        frequency: column with the number of purchases.
        monetary: column with the money spent.
        quantiles: scores per dimension (5: quintiles, scores 1-5).
        stability_bootstrap: resamples for the stability ARI (0 skips it).
        random_state: seed for resampling.
        max_rows_for_selection: rows the silhouette is computed on, at most.
        descriptions: feature descriptions in users' words, for persona cards.

    Returns:
        A :class:`TrainedModel` of kind ``segmentation`` whose model is an :class:`RFMModel`.

    Raises:
        TrainingDataError: too few rows, a column missing, constant, non-numeric or with gaps.
    """
    columns = [recency, frequency, monetary]
    if len(set(columns)) < 3:
        raise InvalidInput(
            "recency, frequency and monetary must be three different columns", field="features"
        )
    if not 2 <= quantiles <= 10:
        raise InvalidInput(f"quantiles must be 2 to 10, got {quantiles}", field="rfm_quantiles")
    check_features(frame, columns, min_rows=max(MIN_ROWS, 2 * quantiles))
    arrays = (
        _numbers(frame, recency, training=True),
        _numbers(frame, frequency, training=True),
        _numbers(frame, monetary, training=True),
    )
    specs = feature_specs(frame, columns, dict(descriptions or {}))
    model = RFMModel(
        features=specs,
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        quantiles=quantiles,
        edges=_fit_edges(*arrays, quantiles),
    )
    segments = model._segments(frame)
    present = [segment for segment in _ORDER if segment in set(segments)]
    profile = profile_segments(frame, specs, segments, present)
    model.profile_ = profile
    personas = build_personas(profile, names={s: _NAMES[s] for s in present})
    counts = dict(zip(profile.segments, profile.sizes, strict=True))
    n = len(frame)
    metrics: dict[str, float] = {
        "n_segments": float(len(present)),
        "smallest_segment_share": min(counts.values()) / n,
    }
    notes = [
        "RFM segments follow the standard recency/frequency map; the number of segments and "
        "min_segment_size do not apply"
    ]
    if len(present) >= 2:
        scores = model.rfm_scores(frame)[["recency_score", "frequency_score", "monetary_score"]]
        space = scores.to_numpy(dtype=float)
        space = (space - space.mean(axis=0)) / np.where(space.std(axis=0) > 0, space.std(0), 1)
        metrics["silhouette"] = float(
            silhouette_score(
                space,
                segments,
                sample_size=min(n, max_rows_for_selection),
                random_state=random_state,
            )
        )
    else:
        notes.append(f"every customer falls in one RFM segment ({present[0]}); no silhouette")
    stability = _stability(model, frame, segments, arrays, stability_bootstrap, random_state)
    if stability is not None:
        metrics["stability_ari"] = stability["mean"]
    segment_rows = [
        {"id": p.id, "name": p.name, "size": p.size, "share": p.share} for p in personas
    ]
    return TrainedModel(
        model=model,
        algorithm="rfm",
        params={
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
            "quantiles": quantiles,
            "stability_bootstrap": stability_bootstrap,
            "random_state": random_state,
        },
        metrics=metrics,
        evaluation={
            "selection": {
                "criterion": "rfm_map",
                "quantiles": quantiles,
                "edges": _edge_table(model.edges_),
            },
            "segment_map": [
                {
                    "id": segment,
                    "name": name,
                    "cells": [list(cell) for cell in cells],
                }
                for segment, name, cells in RFM_SEGMENTS
            ],
            "stability": stability,
            "segments": segment_rows,
            "ids": {"scheme": "rfm_names", "persisted": present, "new": [], "retired": []},
            "personas": [persona.to_dict() for persona in personas],
        },
        importance=profile.importance(),
        training_rows=n,
        evaluation_rows=0,
        notes=notes,
    )
