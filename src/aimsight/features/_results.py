"""What the feature service hands back: offline builds, training frames, online snapshots."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

__all__ = ["OfflineFeatures", "OnlineSnapshot", "TrainingFrame"]


@dataclass(frozen=True)
class OfflineFeatures:
    """One offline build: every as-of date's features stacked in one lake file.

    Attributes:
        build_id: the build's id (``fb_...``), also the file's name.
        path: the lake file, relative to the lake folder (``features/offline/<id>.parquet``).
        rows: rows written (customers x as-of dates they were known at).
        customers: distinct customers over all dates.
        as_of_dates: the as-of times, ISO 8601 in UTC, oldest first.
        features: feature columns, in definition order.
        snapshot: ``{lake path: sha256}`` of every lake file read: the training data's
            fingerprint, for the registry.
        definitions_digest: SHA-256 of the feature definitions used.
        identity_digest: SHA-256 of the identity links used (who was whom).
        sha256: SHA-256 of the written file.
    """

    build_id: str
    path: str
    rows: int
    customers: int
    as_of_dates: list[str]
    features: list[str]
    snapshot: dict[str, str]
    definitions_digest: str
    identity_digest: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class TrainingFrame:
    """Features and labels ready for a trainer, with where they came from.

    Attributes:
        frame: one row per customer and as-of date: ``customer_id``, ``as_of``, every
            feature, then the label columns.
        label: the binary target column (``churned``, or the propensity label's name).
        label_columns: every label column (churn adds ``duration_days`` and ``event``).
        features: default model inputs (features not flagged sensitive).
        sensitive: sensitive features (country, age band), for fairness checks.
        descriptions: ``{feature: description}``.
        types: ``{feature: integer | number | category}``.
        as_of_dates: the as-of times, ISO 8601 in UTC, oldest first.
        snapshot: ``{lake path: sha256}`` of every lake file read.
        label_spec: the label's declarative spec (JSON-ready).
        definitions_digest: SHA-256 of the feature definitions used.
        identity_digest: SHA-256 of the identity links used.
    """

    frame: pd.DataFrame = field(repr=False)
    label: str
    label_columns: list[str]
    features: list[str]
    sensitive: list[str]
    descriptions: dict[str, str]
    types: dict[str, str]
    as_of_dates: list[str]
    snapshot: dict[str, str]
    label_spec: dict[str, Any]
    definitions_digest: str
    identity_digest: str

    def provenance(self) -> dict[str, Any]:
        """Everything but the frame, JSON-ready (what a registry keeps with a model)."""
        data = {
            item.name: copy.deepcopy(getattr(self, item.name))
            for item in fields(self)
            if item.name != "frame"
        }
        data["rows"] = int(len(self.frame))
        return data


@dataclass(frozen=True)
class OnlineSnapshot:
    """A published online snapshot: features of every customer as of one time.

    Attributes:
        path: the lake file (``features/online/<stamp>.parquet``).
        as_of: the as-of time, ISO 8601 in UTC.
        published_at: when it was written, ISO 8601 in UTC.
        customers: rows (one per customer).
        features: feature columns, in definition order.
        definitions_digest: SHA-256 of the feature definitions used.
        sha256: SHA-256 of the written file.
    """

    path: str
    as_of: str
    published_at: str
    customers: int
    features: list[str]
    definitions_digest: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
