"""Customer segmentation: choose the number of segments, check they are stable, keep their ids.

How :func:`train_segmentation` works:

* **Standardise.** Numbers (integers and booleans too) are median-imputed, then scaled to
  unit variance around the mean (``scaling="standard"``) or to unit interquartile range around
  the median (``"robust"``, for heavy-tailed spend); categories are one-hot encoded, with
  missing values as their own ``(missing)`` value and values unseen in training ignored.
* **Choose k.** Every k in ``[k_min, k_max]`` is fitted and scored by the silhouette (on a
  seeded subsample of at most ``max_rows_for_selection`` rows) or, for Gaussian mixtures, by
  BIC if asked. The best k whose segments all hold at least ``min_segment_size`` of the
  customers wins; if none does, each k's small segments are folded into the nearest remaining
  segment (by centroid) and the best k still left with ``k_min`` segments wins. DBSCAN does
  not choose k: ``eps`` comes from the knee of the sorted k-distance curve unless given, noise
  and clusters below the minimum size are folded into the nearest segment, and only the
  ``k_max`` largest clusters are kept.
* **Threads.** Fitting runs on ``threads`` native threads (default one; see the setting).
* **Assign new rows.** k-means and DBSCAN/agglomerative (which have no ``predict``) assign
  each row to the nearest segment centroid in the standardised space; a Gaussian mixture uses
  its most likely component. Training rows are labelled the same way, so ``score`` on the
  training data reproduces the segments reported. Agglomerative (Ward) and DBSCAN are fitted on
  a seeded subsample of at most ``max_rows_for_selection`` rows.
* **Stability.** Refit the chosen model on ``stability_bootstrap`` resamples (with
  replacement), assign every training row, and compare with the adjusted Rand index (ARI).
* **Stable ids.** Segments are ``S1``, ``S2``... by size. Given the ``previous`` model, new
  segments are matched to previous ones by the distance between their centres (in the
  features' own units, scaled by the new scaler, over the features both share; root mean
  square per standardised column) with the Hungarian algorithm; a match within
  ``id_match_distance`` keeps the previous id, others get the next id never used before.
* **Personas.** Each segment gets a persona card and a name from its strongest traits
  (:mod:`aimsight.insight._personas`); ``explain`` gives a row its segment's traits.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import DBSCAN, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler
from threadpoolctl import threadpool_limits

from aimsight.core.errors import InvalidInput
from aimsight.insight._frame import TrainingDataError, check_features, feature_specs
from aimsight.insight._model import Contribution, FeatureSpec, ModelKind, TrainedModel
from aimsight.insight._personas import (
    Persona,
    SegmentProfile,
    build_personas,
    profile_segments,
    suggest_names,
)
from aimsight.insight._rfm import train_rfm

__all__ = ["SegmentationConfig", "SegmentationModel", "train_segmentation"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Algorithm = Literal["kmeans", "gaussian_mixture", "dbscan", "agglomerative", "rfm"]
MIN_ROWS = 20
MISSING = "(missing)"
_ID = re.compile(r"^S(\d+)$")


class SegmentationConfig(BaseModel):
    """How customers are segmented; a plain spec stored with the model (``params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Algorithm = Field(
        "kmeans",
        description="kmeans, gaussian_mixture, dbscan, agglomerative (Ward) or rfm",
    )
    k_min: int = Field(2, ge=2, le=50, description="fewest segments to consider")
    k_max: int = Field(8, ge=2, le=50, description="most segments to consider (or keep, dbscan)")
    selection: Literal["silhouette", "bic"] = Field(
        "silhouette", description="how k is chosen; bic only for gaussian_mixture"
    )
    min_segment_size: float = Field(
        0.03, ge=0.0, lt=0.5, description="smallest segment, as a share of customers"
    )
    stability_bootstrap: int = Field(
        20, ge=0, le=1000, description="resamples for the stability ARI (0 skips it)"
    )
    scaling: Literal["standard", "robust"] = Field(
        "standard", description="numbers scaled by SD (standard) or interquartile range (robust)"
    )
    dbscan_eps: float | None = Field(
        None, gt=0, description="DBSCAN neighbourhood radius; None: from the k-distance knee"
    )
    dbscan_min_samples: int | None = Field(
        None, ge=2, description="DBSCAN core-point neighbours; None: max(5, 2 x dimensions)"
    )
    rfm_recency: str = Field("recency_days", description="RFM: days since the last purchase")
    rfm_frequency: str = Field("frequency", description="RFM: number of purchases")
    rfm_monetary: str = Field("monetary", description="RFM: money spent")
    rfm_quantiles: int = Field(5, ge=2, le=10, description="RFM: scores per dimension")
    id_match_distance: float = Field(
        0.5,
        gt=0,
        description="largest centre distance (RMS, in SDs per column) at which a segment "
        "keeps a previous segment's id",
    )
    random_state: int = Field(0, description="seed for fitting, subsampling and resampling")
    max_rows_for_selection: int = Field(
        5000, ge=100, description="rows for the silhouette, Ward and DBSCAN, at most"
    )
    threads: int | None = Field(
        1,
        ge=1,
        description="CPU threads while fitting (None: every core). One is the default: "
        "selection and bootstrap are many small fits, and on a busy two-core machine two "
        "OpenMP threads made them 30 times slower (measured).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationConfig:
        if self.k_max < self.k_min:
            raise InvalidInput(
                f"k_max ({self.k_max}) is below k_min ({self.k_min}); raise k_max or lower k_min",
                field="k_max",
            )
        if self.selection == "bic" and self.algorithm != "gaussian_mixture":
            raise InvalidInput(
                f"selection 'bic' needs a likelihood, which only gaussian_mixture has; use "
                f"selection 'silhouette' with {self.algorithm}, or algorithm 'gaussian_mixture'",
                field="selection",
            )
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentationConfig:
        """Validate a mapping (JSON or YAML form); a bad setting is an :class:`InvalidInput`."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ".".join(str(part) for part in error.get("loc", ()))
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = f"unknown setting; known: {', '.join(sorted(cls.model_fields))}"
            raise InvalidInput(f"segmentation {name}: {message}", field=name or None) from None


# ---------------------------------------------------------------------------- standardising


class _Standardiser:
    """Numbers median-imputed and scaled, categories one-hot: the space segments live in."""

    def __init__(self, features: Sequence[FeatureSpec], scaling: str) -> None:
        self.numbers = [spec.name for spec in features if spec.type != "category"]
        self.categories = [spec.name for spec in features if spec.type == "category"]
        scaler = RobustScaler() if scaling == "robust" else StandardScaler()
        parts: list[tuple[str, Any, list[str]]] = []
        if self.numbers:
            steps = [("impute", SimpleImputer(strategy="median")), ("scale", scaler)]
            parts.append(("numbers", Pipeline(steps), self.numbers))
        if self.categories:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            parts.append(("categories", encoder, self.categories))
        self.transformer = ColumnTransformer(parts)
        self.columns: list[tuple[str, str | None]] = []

    def _prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [name for name in self.numbers + self.categories if name not in frame.columns]
        if missing:
            raise InvalidInput(
                f"features missing from the data: {', '.join(missing)}; the model needs "
                f"{', '.join(self.numbers + self.categories)}",
                field=missing[0],
            )
        prepared: dict[str, pd.Series] = {}
        for name in self.numbers:
            column = frame[name]
            values = pd.to_numeric(column, errors="coerce").astype(float)
            if int(values.isna().sum()) > int(column.isna().sum()):
                bad = column[values.isna() & column.notna()].iloc[0]
                raise InvalidInput(f"feature {name!r} must be a number; got {bad!r}", field=name)
            prepared[name] = values
        for name in self.categories:
            prepared[name] = frame[name].astype("string").fillna(MISSING).astype(object)
        return pd.DataFrame(prepared, index=frame.index)

    def fit_transform(self, frame: pd.DataFrame) -> FloatArray:
        matrix = np.asarray(self.transformer.fit_transform(self._prepare(frame)), dtype=float)
        self.columns = [(name, None) for name in self.numbers]
        if self.categories:
            encoder = self.transformer.named_transformers_["categories"]
            for name, values in zip(self.categories, encoder.categories_, strict=True):
                self.columns.extend((name, str(value)) for value in values)
        return matrix

    def transform(self, frame: pd.DataFrame) -> FloatArray:
        prepared = self._prepare(frame)
        if prepared.empty:
            return np.zeros((0, len(self.columns)))
        return np.asarray(self.transformer.transform(prepared), dtype=float)

    def centre(
        self,
        numbers: Mapping[str, float],
        shares: Mapping[str, Mapping[str, float]],
        features: set[str],
    ) -> FloatArray:
        """A centre given in the features' own units, in this space, over ``features`` only."""
        scaled: dict[str, float] = {}
        if self.numbers:
            row = pd.DataFrame([{name: numbers.get(name, np.nan) for name in self.numbers}])
            pipeline = self.transformer.named_transformers_["numbers"]
            scaled = dict(zip(self.numbers, pipeline.transform(row)[0], strict=True))
        vector = []
        for name, category in self.columns:
            if name not in features:
                continue
            if category is None:
                vector.append(float(scaled[name]))
            else:
                vector.append(float(shares.get(name, {}).get(category, 0.0)))
        return np.asarray(vector, dtype=float)


# ---------------------------------------------------------------------------- assigning rows


@dataclass
class _Assigner:
    """Rows to segment positions: nearest centroid, or a mixture's component mapped to segments."""

    centroids: FloatArray
    mixture: Any = None
    label_map: IntArray | None = None

    @property
    def size(self) -> int:
        return len(self.centroids)

    def assign(self, matrix: FloatArray) -> IntArray:
        if len(matrix) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.mixture is not None and self.label_map is not None:
            return np.asarray(self.label_map[self.mixture.predict(matrix)], dtype=np.int64)
        return np.asarray(pairwise_distances_argmin(matrix, self.centroids), dtype=np.int64)

    def keep(self, survivors: NDArray[np.bool_]) -> _Assigner:
        """Only the surviving segments; rows of the others go to the nearest survivor."""
        kept = np.flatnonzero(survivors)
        if self.mixture is None or self.label_map is None:
            return _Assigner(centroids=self.centroids[kept])
        nearest = kept[pairwise_distances_argmin(self.centroids, self.centroids[kept])]
        renumber = np.full(self.size, -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        label_map = renumber[nearest[self.label_map]]
        return _Assigner(centroids=self.centroids[kept], mixture=self.mixture, label_map=label_map)

    def ordered(self, order: IntArray) -> _Assigner:
        """Segments renumbered so that position ``i`` is the old ``order[i]``."""
        if self.mixture is None or self.label_map is None:
            return _Assigner(centroids=self.centroids[order])
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.arange(len(order))
        return _Assigner(
            centroids=self.centroids[order],
            mixture=self.mixture,
            label_map=inverse[self.label_map],
        )


def _fold(assigner: _Assigner, matrix: FloatArray, min_count: int) -> tuple[_Assigner, int]:
    """Fold segments below ``min_count`` rows (and empty ones) into their nearest neighbour."""
    folded = 0
    while assigner.size > 1:
        counts = np.bincount(assigner.assign(matrix), minlength=assigner.size)
        small = counts < max(min_count, 1)
        if not small.any():
            break
        if small.all():
            small[int(np.argmax(counts))] = False
        folded += int(small.sum())
        assigner = assigner.keep(~small)
    return assigner, folded


def _from_labels(matrix: FloatArray, labels: NDArray[Any]) -> _Assigner:
    """Centroids of the labelled clusters (label -1, noise, has none)."""
    values = [value for value in np.unique(labels) if value >= 0]
    centroids = [matrix[labels == value].mean(axis=0) for value in values]
    if not centroids:
        return _Assigner(centroids=np.zeros((0, matrix.shape[1])))
    return _Assigner(centroids=np.vstack(centroids))


# ---------------------------------------------------------------------------- fitting


@dataclass
class _Candidate:
    k: int
    assigner: _Assigner
    bic: float | None = None
    converged: bool = True


def _subsample(count: int, limit: int, rng: np.random.Generator) -> IntArray:
    if count <= limit:
        return np.arange(count, dtype=np.int64)
    return np.sort(rng.choice(count, size=limit, replace=False)).astype(np.int64)


def _fit_candidates(
    matrix: FloatArray, ks: Sequence[int], config: SegmentationConfig, rng: np.random.Generator
) -> list[_Candidate]:
    """One fitted model per k (k-means, Gaussian mixture or Ward)."""
    candidates: list[_Candidate] = []
    if config.algorithm == "agglomerative":
        rows = _subsample(len(matrix), config.max_rows_for_selection, rng)
        tree = linkage(matrix[rows], method="ward")
        for k in ks:
            labels = fcluster(tree, t=k, criterion="maxclust")
            candidates.append(_Candidate(k, _from_labels(matrix[rows], labels)))
        return candidates
    for k in ks:
        if config.algorithm == "kmeans":
            model = KMeans(n_clusters=k, n_init=10, random_state=config.random_state)
            # Fewer distinct points than k: this k is degenerate and is skipped, not an error.
            if not _fit_converged(model, matrix):
                continue
            candidates.append(_Candidate(k, _Assigner(centroids=model.cluster_centers_)))
        else:
            mixture = GaussianMixture(
                n_components=k,
                covariance_type="full",
                reg_covar=1e-4,
                max_iter=300,
                random_state=config.random_state,
            )
            # EM that stops at max_iter still gives a usable mixture; it is noted, not raised.
            converged = _fit_converged(mixture, matrix)
            assigner = _Assigner(
                centroids=mixture.means_, mixture=mixture, label_map=np.arange(k, dtype=np.int64)
            )
            candidates.append(_Candidate(k, assigner, float(mixture.bic(matrix)), converged))
    return candidates


def _fit_converged(estimator: Any, matrix: FloatArray) -> bool:
    """Fit; False if scikit-learn warned that it did not converge (other warnings pass on)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(matrix)
    converged = True
    for caught_warning in caught:
        if issubclass(caught_warning.category, ConvergenceWarning):
            converged = False
        else:
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
    return converged


def _knee_eps(matrix: FloatArray, min_samples: int) -> float:
    """The distance at the knee of the sorted k-distance curve (farthest below its chord)."""
    neighbours = NearestNeighbors(n_neighbors=min(min_samples, len(matrix))).fit(matrix)
    distances = np.sort(neighbours.kneighbors(matrix)[0][:, -1])
    spread = distances[-1] - distances[0]
    if spread <= 0:
        return float(max(distances[0], 1e-6))
    x = np.linspace(0.0, 1.0, len(distances))
    y = (distances - distances[0]) / spread
    return float(max(distances[int(np.argmax(x - y))], 1e-6))


def _fit_dbscan(
    matrix: FloatArray, eps: float, min_samples: int, k_max: int
) -> tuple[_Assigner, int, float]:
    """DBSCAN's clusters (the ``k_max`` largest), how many it found, and the noise share."""
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(matrix)
    found = [value for value in np.unique(labels) if value >= 0]
    sizes = {value: int((labels == value).sum()) for value in found}
    kept = sorted(found, key=lambda value: (-sizes[value], value))[:k_max]
    trimmed = np.where(np.isin(labels, kept), labels, -1)
    return _from_labels(matrix, trimmed), len(found), float((labels < 0).mean())


def _silhouette(matrix: FloatArray, labels: IntArray, config: SegmentationConfig) -> float | None:
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return None
    return float(
        silhouette_score(
            matrix,
            labels,
            sample_size=min(len(matrix), config.max_rows_for_selection),
            random_state=config.random_state,
        )
    )


@dataclass
class _Choice:
    assigner: _Assigner
    selection: dict[str, Any]
    notes: list[str]
    refit: Callable[[FloatArray, np.random.Generator], _Assigner]  # unfolded, on a resample


def _choose(matrix: FloatArray, config: SegmentationConfig, min_count: int) -> _Choice:
    """The segments to keep, with the record of how they were chosen."""
    n = len(matrix)
    rng = np.random.default_rng(config.random_state)
    notes: list[str] = []
    if config.algorithm == "dbscan":
        return _choose_dbscan(matrix, config, min_count, rng)
    k_max = min(config.k_max, n - 1)
    if k_max < config.k_max:
        notes.append(f"k_max lowered to {k_max}: there are only {n} rows")
    candidates = _fit_candidates(matrix, range(config.k_min, k_max + 1), config, rng)
    if not candidates:
        raise TrainingDataError(
            f"no k from {config.k_min} to {k_max} gives that many distinct segments: the rows "
            "have too few distinct values; add features or lower k_min",
            field="k_min",
        )
    rows: list[dict[str, Any]] = []
    for candidate in candidates:
        labels = candidate.assigner.assign(matrix)
        counts = np.bincount(labels, minlength=candidate.assigner.size)
        rows.append(
            {
                "k": candidate.k,
                "silhouette": _silhouette(matrix, labels, config),
                "bic": candidate.bic,
                "smallest_share": float(counts.min() / n),
                "meets_min_size": bool(counts.min() >= max(min_count, 1)),
            }
        )
        if not candidate.converged:
            notes.append(f"the Gaussian mixture with k={candidate.k} stopped before converging")

    def rank(row: dict[str, Any]) -> float:
        if config.selection == "bic":
            return -float(row["bic"])
        return -math.inf if row["silhouette"] is None else float(row["silhouette"])

    eligible = [i for i, row in enumerate(rows) if row["meets_min_size"]]
    folds = {i: (candidates[i].assigner, 0) for i in eligible}
    if not eligible:  # fold small segments away; keep the k that still has k_min segments
        folds = {i: _fold(candidates[i].assigner, matrix, min_count) for i in range(len(rows))}
        folds = {i: fold for i, fold in folds.items() if fold[0].size >= config.k_min}
        if not folds:
            raise TrainingDataError(
                f"no k from {config.k_min} to {k_max} gives {config.k_min} segments each of at "
                f"least {config.min_segment_size:.0%} of customers; lower min_segment_size or "
                "k_min",
                field="min_segment_size",
            )
    best = max(folds, key=lambda i: (rank(rows[i]), -rows[i]["k"]))
    chosen = candidates[best]
    assigner, folded = folds[best]
    if not eligible:
        notes.append(
            f"no k from {config.k_min} to {k_max} gave segments all of at least "
            f"{config.min_segment_size:.0%} of customers; k={chosen.k} was chosen and "
            f"{folded} small segment(s) folded into their nearest segment"
        )
    selection = {
        "criterion": config.selection,
        "candidates": rows,
        "chosen_k": chosen.k,
        "folded": folded,
    }

    def refit(sample: FloatArray, sample_rng: np.random.Generator) -> _Assigner:
        found = _fit_candidates(sample, [chosen.k], config, sample_rng)
        return found[0].assigner if found else _from_labels(sample, np.zeros(len(sample)))

    return _Choice(assigner, selection, notes, refit)


def _choose_dbscan(
    matrix: FloatArray, config: SegmentationConfig, min_count: int, rng: np.random.Generator
) -> _Choice:
    notes: list[str] = []
    min_samples = config.dbscan_min_samples or max(5, 2 * matrix.shape[1])
    rows = _subsample(len(matrix), config.max_rows_for_selection, rng)
    eps = config.dbscan_eps or _knee_eps(matrix[rows], min_samples)
    assigner, found, noise = _fit_dbscan(matrix[rows], eps, min_samples, config.k_max)
    if assigner.size == 0:
        raise TrainingDataError(
            f"DBSCAN (eps={eps:.3g}, min_samples={min_samples}) found no dense group; raise "
            "dbscan_eps or lower dbscan_min_samples, or use algorithm 'kmeans'",
            field="dbscan_eps",
        )
    assigner, folded = _fold(assigner, matrix, min_count)
    if found > config.k_max:
        notes.append(f"DBSCAN found {found} clusters; the {config.k_max} largest were kept")
    if assigner.size < config.k_min:
        raise TrainingDataError(
            f"DBSCAN (eps={eps:.3g}, min_samples={min_samples}) found {assigner.size} "
            f"segment(s) of at least {config.min_segment_size:.0%} of customers, fewer than "
            f"k_min={config.k_min}; lower dbscan_eps, lower k_min, or use algorithm 'kmeans'",
            field="dbscan_eps",
        )
    notes.append(
        f"DBSCAN eps={eps:.3g} ({'given' if config.dbscan_eps else 'k-distance knee'}), "
        f"min_samples={min_samples}; {noise:.1%} noise and {folded} small cluster(s) "
        "were assigned to their nearest segment"
    )
    selection: dict[str, Any] = {
        "criterion": "k_distance" if config.dbscan_eps is None else "given_eps",
        "eps": eps,
        "min_samples": min_samples,
        "clusters_found": found,
        "noise_share": noise,
        "folded": folded,
        "chosen_k": assigner.size,
        "candidates": [],
    }

    def refit(sample: FloatArray, sample_rng: np.random.Generator) -> _Assigner:
        picked = _subsample(len(sample), config.max_rows_for_selection, sample_rng)
        found_assigner, _found, _noise = _fit_dbscan(sample[picked], eps, min_samples, config.k_max)
        return found_assigner

    return _Choice(assigner, selection, notes, refit)


def _stability(
    matrix: FloatArray, choice: _Choice, config: SegmentationConfig, min_count: int
) -> dict[str, Any] | None:
    """Bootstrap ARI: refit on a resample, assign every row, compare with the full fit."""
    if config.stability_bootstrap <= 0:
        return None
    reference = choice.assigner.assign(matrix)
    rng = np.random.default_rng(config.random_state + 1)
    values = []
    for _ in range(config.stability_bootstrap):
        rows = rng.integers(0, len(matrix), size=len(matrix))
        assigner = choice.refit(matrix[rows], rng)
        if assigner.size == 0:
            values.append(0.0)
            continue
        assigner, _folded = _fold(assigner, matrix, min_count)
        values.append(float(adjusted_rand_score(reference, assigner.assign(matrix))))
    return {
        "resamples": config.stability_bootstrap,
        "mean": float(np.mean(values)),
        "low": float(np.percentile(values, 2.5)),
        "high": float(np.percentile(values, 97.5)),
        "values": values,
    }


# ---------------------------------------------------------------------------- the model


class SegmentationModel:
    """A fitted segmentation: rows to stable segment ids (``S1``...) and persona names.

    ``score`` gives ``segment`` and ``segment_name`` per row; ``explain`` gives each row the
    features that most distinguish its segment from the population (the segment centre's
    standardised difference, with the row's own value).
    """

    def __init__(
        self,
        *,
        features: tuple[FeatureSpec, ...],
        algorithm: str,
        standardiser: _Standardiser,
        assigner: _Assigner,
        segment_ids: tuple[str, ...],
        names: Mapping[str, str],
        profile: SegmentProfile,
        personas: Sequence[Persona],
        used_ids: Sequence[str],
    ) -> None:
        self.kind: ModelKind = "segmentation"
        self.features = features
        self.algorithm = algorithm
        self.standardiser_ = standardiser
        self.assigner_ = assigner
        self.segment_ids_ = segment_ids
        self.names_ = dict(names)
        self.profile_ = profile
        self.personas_ = tuple(personas)
        self.used_ids_ = tuple(used_ids)

    @property
    def segments(self) -> tuple[str, ...]:
        """The segment ids, in the order of the persona cards."""
        return self.profile_.segments

    @property
    def personas(self) -> tuple[Persona, ...]:
        """One persona card per segment."""
        return self.personas_

    def _ids(self, frame: pd.DataFrame) -> list[str]:
        positions = self.assigner_.assign(self.standardiser_.transform(frame))
        return [self.segment_ids_[int(i)] for i in positions]

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each row's ``segment`` (stable id) and ``segment_name`` (its persona's name)."""
        ids = self._ids(frame)
        return pd.DataFrame(
            {"segment": ids, "segment_name": [self.names_[s] for s in ids]},
            index=frame.index,
            dtype=object,
        )

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]:
        """Per row, the ``top`` traits of its segment (standardised difference from everyone)."""
        return self.profile_.explain(frame, self._ids(frame), top)


# ---------------------------------------------------------------------------- stable ids


def _number_of(segment: str) -> int:
    match = _ID.match(segment)
    return int(match.group(1)) if match else 0


def _previous_model(previous: Any) -> SegmentationModel | None:
    if previous is None:
        return None
    model = previous.model if isinstance(previous, TrainedModel) else previous
    if not isinstance(model, SegmentationModel):
        raise InvalidInput(
            f"previous must be a fitted segmentation model, got {type(model).__name__}; pass "
            "the model (or TrainedModel) of the last segmentation run",
            field="previous",
        )
    return model


def _match_ids(
    provisional: SegmentProfile,
    previous: SegmentationModel,
    standardiser: _Standardiser,
    threshold: float,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Provisional segment -> previous id where centres match; the matches with distances."""
    ours = {spec.name: spec.type == "category" for spec in provisional.features}
    theirs = {spec.name: spec.type == "category" for spec in previous.features}
    common = {name for name in ours if name in theirs and ours[name] == theirs[name]}
    if not common:
        return {}, []
    new_centres = [
        standardiser.centre(*provisional.centroid(s), common) for s in provisional.segments
    ]
    old_centres = [
        standardiser.centre(*previous.profile_.centroid(s), common) for s in previous.segments
    ]
    width = max(len(new_centres[0]), 1)
    cost = np.array(
        [[np.linalg.norm(a - b) / math.sqrt(width) for b in old_centres] for a in new_centres]
    )
    matched: dict[str, str] = {}
    matches = []
    for row, column in zip(*linear_sum_assignment(cost), strict=True):
        distance = float(cost[row, column])
        if distance <= threshold:
            matched[provisional.segments[row]] = previous.segments[column]
            matches.append({"id": previous.segments[column], "distance": distance})
    return matched, matches


def _assign_ids(
    provisional: SegmentProfile,
    previous: SegmentationModel | None,
    standardiser: _Standardiser,
    threshold: float,
) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """Final id per provisional segment, the ids record, and every id used so far."""
    if previous is None:
        final = {s: f"S{i + 1}" for i, s in enumerate(provisional.segments)}
        new = sorted(final.values(), key=_number_of)
        return final, {"persisted": [], "new": new, "retired": [], "matches": []}, new
    matched, matches = _match_ids(provisional, previous, standardiser, threshold)
    used = set(previous.used_ids_) | set(previous.segments)
    next_number = max((_number_of(s) for s in used), default=0) + 1
    final = {}
    for segment in provisional.segments:  # largest first, so new ids follow size
        if segment in matched:
            final[segment] = matched[segment]
        else:
            final[segment] = f"S{next_number}"
            next_number += 1
    persisted = sorted(matched.values(), key=_number_of)
    record: dict[str, Any] = {
        "persisted": persisted,
        "new": sorted((v for k, v in final.items() if k not in matched), key=_number_of),
        "retired": sorted((s for s in previous.segments if s not in persisted), key=_number_of),
        "matches": sorted(matches, key=lambda m: _number_of(str(m["id"]))),
    }
    return final, record, sorted(used | set(final.values()), key=_number_of)


# ---------------------------------------------------------------------------- training


def _train_rfm(
    frame: pd.DataFrame,
    features: Sequence[str],
    config: SegmentationConfig,
    descriptions: Mapping[str, str] | None,
    previous: object,
) -> TrainedModel:
    columns = [config.rfm_recency, config.rfm_frequency, config.rfm_monetary]
    if set(features) != set(columns):
        raise InvalidInput(
            f"RFM segments use exactly the recency, frequency and monetary columns "
            f"({', '.join(columns)}); got features {', '.join(features) or 'none'}: pass those "
            "three, or set rfm_recency / rfm_frequency / rfm_monetary to your column names",
            field="features",
        )
    trained = train_rfm(
        frame,
        recency=config.rfm_recency,
        frequency=config.rfm_frequency,
        monetary=config.rfm_monetary,
        quantiles=config.rfm_quantiles,
        stability_bootstrap=config.stability_bootstrap,
        random_state=config.random_state,
        max_rows_for_selection=config.max_rows_for_selection,
        descriptions=descriptions,
    )
    trained.params = {**config.model_dump(mode="json"), "features": list(columns)}
    if previous is not None:
        trained.notes.append("previous was not needed: RFM segment ids are the segment names")
    return trained


def train_segmentation(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    config: SegmentationConfig | None = None,
    previous: SegmentationModel | TrainedModel | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> TrainedModel:
    """Segment customers and describe each segment as a persona.

    Args:
        frame: one row per customer.
        features: the columns to segment on (numbers, booleans, categories).
        config: how to segment (defaults: k-means, k 2-8 by silhouette).
        previous: the last run's model (or TrainedModel); segments that persist keep their
            ids, new ones get ids never used before.
        descriptions: feature descriptions in users' words, for persona names and cards.

    Returns:
        A :class:`TrainedModel` of kind ``segmentation``: metrics ``n_segments``,
        ``silhouette``, ``stability_ari`` (when resampled), ``smallest_segment_share``;
        evaluation ``selection``, ``stability``, ``segments``, ``ids``, ``personas``.

    Raises:
        TrainingDataError: too few rows, a feature missing or constant, or no usable segments.
        InvalidInput: ``previous`` is not a segmentation model; RFM without its three columns.

    Examples:
        ::

            trained = train_segmentation(customers, features=["monetary", "frequency"])
            trained.model.score(customers)["segment_name"]
    """
    config = config or SegmentationConfig()
    if config.algorithm == "rfm":
        return _train_rfm(frame, features, config, descriptions, previous)
    features = list(features)
    check_features(frame, features, min_rows=max(MIN_ROWS, 3 * config.k_min))
    previous_model = _previous_model(previous)
    specs = feature_specs(frame, features, dict(descriptions or {}))
    standardiser = _Standardiser(specs, config.scaling)
    matrix = standardiser.fit_transform(frame)
    n = len(frame)
    min_count = math.ceil(config.min_segment_size * n)
    with threadpool_limits(limits=config.threads):
        choice = _choose(matrix, config, min_count)
        stability = _stability(matrix, choice, config, min_count)
    counts = np.bincount(choice.assigner.assign(matrix), minlength=choice.assigner.size)
    assigner = choice.assigner.ordered(np.argsort(-counts, kind="stable").astype(np.int64))
    positions = assigner.assign(matrix)

    provisional_ids = tuple(f"_{i}" for i in range(assigner.size))
    provisional = profile_segments(
        frame, specs, [provisional_ids[i] for i in positions], provisional_ids
    )
    final, ids_record, used = _assign_ids(
        provisional, previous_model, standardiser, config.id_match_distance
    )
    segment_ids = tuple(final[s] for s in provisional_ids)
    labels = [segment_ids[i] for i in positions]
    order = sorted(segment_ids, key=_number_of)
    profile = profile_segments(frame, specs, labels, order)
    names = suggest_names(profile)
    personas = build_personas(profile, names=names)

    metrics: dict[str, float] = {
        "n_segments": float(assigner.size),
        "smallest_segment_share": float(min(profile.sizes) / n),
    }
    silhouette = _silhouette(matrix, positions, config)
    if silhouette is not None:
        metrics["silhouette"] = silhouette
    if stability is not None:
        metrics["stability_ari"] = stability["mean"]
    notes = list(choice.notes)
    if previous_model is not None and ids_record["retired"]:
        notes.append(f"segments no longer found: {', '.join(ids_record['retired'])}")
    model = SegmentationModel(
        features=specs,
        algorithm=config.algorithm,
        standardiser=standardiser,
        assigner=assigner,
        segment_ids=segment_ids,
        names=names,
        profile=profile,
        personas=personas,
        used_ids=used,
    )
    return TrainedModel(
        model=model,
        algorithm=config.algorithm,
        params={**config.model_dump(mode="json"), "features": features},
        metrics=metrics,
        evaluation={
            "selection": choice.selection,
            "stability": stability,
            "segments": [
                {"id": p.id, "name": p.name, "size": p.size, "share": p.share} for p in personas
            ],
            "ids": {**ids_record, "match_distance": config.id_match_distance},
            "personas": [persona.to_dict() for persona in personas],
            "preprocessing": {
                "numbers": f"median imputation, {config.scaling} scaling",
                "categories": "one-hot (missing as its own value, unseen values ignored)",
                "dimensions": int(matrix.shape[1]),
            },
        },
        importance=profile.importance(),
        training_rows=n,
        evaluation_rows=0,
        notes=notes,
    )
