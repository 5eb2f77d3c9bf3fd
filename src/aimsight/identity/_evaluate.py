"""Precision, recall and F1 of a resolution against ground truth.

Two views, as the record-linkage literature reports them:

* **cluster** (pairwise over clusters): every pair of records put in one customer is a
  predicted match; every pair of records of one true person is a true match. This is what a
  user sees: two people in one profile, or one person in two.
* **links**: the scored pairs the model accepted, before clustering closes them transitively.
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aimsight.core.errors import InvalidInput

__all__ = ["Scores", "cluster_scores", "pair_scores", "read_truth"]


@dataclass(frozen=True)
class Scores:
    """Pair counts and the rates derived from them."""

    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are the same person (1.0 when none predicted)."""
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of same-person pairs that were predicted (1.0 when there are none)."""
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and rates."""
        return {
            **asdict(self),
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
        }


def _codes(labels: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64)


def _pairs_within(codes: np.ndarray) -> int:
    counts = np.bincount(codes) if codes.size else np.zeros(0, dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def cluster_scores(
    predicted: Sequence[Hashable] | np.ndarray, truth: Sequence[Hashable] | np.ndarray
) -> Scores:
    """Pairwise scores of a clustering: ``predicted[i]`` and ``truth[i]`` label record i."""
    if len(predicted) != len(truth):
        raise InvalidInput("predicted and truth labels must cover the same records")
    p, t = _codes(predicted), _codes(truth)
    both = p * (int(t.max()) + 1 if t.size else 1) + t
    _, joint = np.unique(both, return_inverse=True)
    return Scores(_pairs_within(joint), _pairs_within(p), _pairs_within(t))


def pair_scores(left: Sequence[str], right: Sequence[str], person: Mapping[str, str]) -> Scores:
    """Scores of accepted links (``left[i]``-``right[i]``) against ``person`` per record."""
    keys = [k for k in person]
    true_pairs = _pairs_within(_codes([person[k] for k in keys]))
    seen: set[tuple[str, str]] = set()
    hits = 0
    for a, b in zip(left, right, strict=True):
        if a not in person or b not in person:
            continue
        pair = (a, b) if a < b else (b, a)
        if pair in seen:
            continue
        seen.add(pair)
        hits += person[a] == person[b]
    return Scores(hits, len(seen), true_pairs)


def read_truth(path: Path, datasets: Mapping[str, str] | None = None) -> dict[str, str]:
    """Record key -> true person id from a CSV.

    Columns ``dataset`` (or ``source``), ``record_id`` (or ``source_record_id``) and
    ``person_id``. ``datasets`` maps short source names (``crm``) to datasets
    (``crm.customers``), as the demo's ``ground_truth/persons.csv`` uses them.
    """
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist; give a ground-truth CSV", field="truth")
    mapping = dict(datasets or {})
    truth: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        dataset_col = "dataset" if "dataset" in fields else "source"
        record_col = "record_id" if "record_id" in fields else "source_record_id"
        missing = {dataset_col, record_col, "person_id"} - fields
        if missing:
            raise InvalidInput(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; the ground truth "
                "needs dataset (or source), record_id (or source_record_id) and person_id",
                field="truth",
            )
        for row in reader:
            dataset = mapping.get(row[dataset_col], row[dataset_col])
            truth[f"{dataset}:{row[record_col]}"] = row["person_id"]
    return truth
