"""A registered model ready to score: the signature is enforced before the model sees a row."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aimsight.core.errors import InvalidInput
from aimsight.insight import Contribution, FeatureSpec, InsightModel
from aimsight.registry._signature import CheckedRows, Rows, enforce_signature

__all__ = ["Prediction", "ScoringModel"]

MAX_TOP = 50


@dataclass(frozen=True)
class Prediction:
    """Scores (one JSON-ready record per row, in order), contributions when asked for, and
    the category values training never saw."""

    name: str
    version: int
    stage: str
    scores: list[dict[str, Any]]
    contributions: list[list[dict[str, Any]]] | None = None
    unseen_categories: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "scores": self.scores,
            "contributions": self.contributions,
            "unseen_categories": self.unseen_categories,
        }


class ScoringModel:
    """One loaded version: its name, version, stage and signature, and a model that only
    ever receives rows that match the signature.

    Args:
        name: the model's name.
        version: the version number.
        stage: its stage when it was loaded.
        model: the unpickled :class:`~aimsight.insight.InsightModel`.
        sha256: the artifact's hash (what was verified before unpickling).
    """

    def __init__(
        self, name: str, version: int, stage: str, model: InsightModel, sha256: str
    ) -> None:
        self.name = name
        self.version = version
        self.stage = stage
        self.sha256 = sha256
        self._model = model

    @property
    def model(self) -> InsightModel:
        """The fitted model itself (a retrain builds on it, e.g. to keep segment ids)."""
        return self._model

    @property
    def kind(self) -> str:
        """The model's kind (``churn``, ``segmentation``, ...)."""
        return str(self._model.kind)

    @property
    def features(self) -> tuple[FeatureSpec, ...]:
        """The signature: the fields every row must carry, with their types."""
        return tuple(self._model.features)

    def check(self, rows: Rows) -> CheckedRows:
        """``rows`` checked against the signature and typed for the model.

        Raises:
            SignatureMismatch: a field is missing, unexpected or mistyped (all are named).
        """
        return enforce_signature(rows, self.features, model=f"{self.name} v{self.version}")

    def score(self, rows: Rows) -> pd.DataFrame:
        """One output row per input row, in order (columns as the model's kind defines).

        Raises:
            SignatureMismatch: see :meth:`check`.
        """
        return self._model.score(self.check(rows).frame)

    def explain(self, rows: Rows, top: int = 5) -> list[list[Contribution]]:
        """The ``top`` signed contributions per row, largest first.

        Raises:
            SignatureMismatch: see :meth:`check`.
            InvalidInput: ``top`` is not between 1 and 50.
        """
        _check_top(top)
        return self._model.explain(self.check(rows).frame, top=top)

    def predict(self, rows: Rows, *, explain: bool = False, top: int = 5) -> Prediction:
        """Scores as JSON-ready records, with contributions when ``explain``: what the API
        returns. The rows are checked once.

        Raises:
            SignatureMismatch: see :meth:`check`.
            InvalidInput: ``top`` is not between 1 and 50.
        """
        if explain:
            _check_top(top)
        checked = self.check(rows)
        scores = self._model.score(checked.frame)
        contributions = None
        if explain:
            explained = self._model.explain(checked.frame, top=top)
            contributions = [[c.to_dict() for c in row] for row in explained]
        return Prediction(
            name=self.name,
            version=self.version,
            stage=self.stage,
            scores=_records(scores),
            contributions=contributions,
            unseen_categories=checked.unseen_categories,
        )


def _check_top(top: int) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise InvalidInput(f"top must be a whole number from 1 to {MAX_TOP}", field="top")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts of plain JSON values (NaN becomes null)."""
    return [
        {str(column): _plain(value) for column, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
