"""Models in the loop: which version scores a customer, with what score, within what time.

The champion is scored and acted on; a canary replaces it for its share of customers, chosen
by a deterministic hash of the customer id (the same customer always sees the same version);
shadow versions are scored and logged but never acted on.

Scoring one row through a calibrated gradient-boosting model costs about 1.3 ms, too much for
a 2 ms decision budget. Features come from the online snapshot, which changes only when a new
one is published, so each serving version scores and explains the whole snapshot once (about
70 ms for 2,000 customers) and requests read the result. A customer missing from that batch
(a newer snapshot not yet scored, or features outside the signature) is scored live, within
the flow's timeout; a timeout or an error is reported so the flow can fall back.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from aimsight.core.errors import AimsightError
from aimsight.features import FeatureService
from aimsight.registry import ModelRegistry, ScoringModel

__all__ = ["ModelLoop", "ModelScore", "canary_bucket"]

SERVING_TTL_SECONDS = 2.0
"""How long which-version-serves is remembered; a promotion reaches decisions within it."""

TOP_FACTORS = 5


@dataclass(frozen=True)
class ModelScore:
    """One model version's score for one customer, and how it was obtained."""

    alias: str
    model: str
    version: int | None
    role: str  # champion | canary | shadow
    output: str
    score: float | None
    factors: tuple[dict[str, Any], ...] = ()
    error: str | None = None  # model_error | model_timeout | model_unavailable
    detail: str | None = None
    source: str = "batch"  # batch | live
    elapsed_ms: float = 0.0

    @property
    def acted_on(self) -> bool:
        """Whether decisions act on this score (never for a shadow)."""
        return self.role != "shadow"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "alias": self.alias,
            "model": self.model,
            "version": self.version,
            "role": self.role,
            "acted_on": self.acted_on,
            "output": self.output,
            "score": self.score,
            "error": self.error,
            "detail": self.detail,
            "source": self.source,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def canary_bucket(model: str, customer_id: str) -> float:
    """A number in [0, 1) fixed by the model and the customer: the canary gets the customers
    whose bucket is below its share."""
    digest = hashlib.sha256(f"{model}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class _Batch:
    """A version's scores (and top factors) for everyone in one online snapshot."""

    scores: dict[str, float | None] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    factors: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Serving:
    champion: int | None
    canary: int | None
    canary_share: float
    shadows: tuple[int, ...]
    read_at: float


class ModelLoop:
    """Scores customers with the versions that serve each model (thread-safe, one per app)."""

    def __init__(
        self,
        registry: ModelRegistry,
        features: FeatureService,
        *,
        serving_ttl: float = SERVING_TTL_SECONDS,
    ) -> None:
        self._registry = registry
        self._features = features
        self._serving_ttl = serving_ttl
        self._serving: dict[str, _Serving] = {}
        self._models: dict[tuple[str, int], ScoringModel] = {}
        self._batches: dict[tuple[str, int, str, str], _Batch] = {}
        self._building: set[tuple[str, int, str, str]] = set()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aimsight-score")

    # -- which version -----------------------------------------------------------------------

    def serving(self, model: str) -> _Serving:
        """Which versions of ``model`` serve now (re-read after the TTL)."""
        now = time.monotonic()
        cached = self._serving.get(model)
        if cached is not None and now - cached.read_at < self._serving_ttl:
            return cached
        found = self._registry.serving(model)
        serving = _Serving(
            champion=found.champion,
            canary=found.canary,
            canary_share=float(found.canary_share or 0.0),
            shadows=tuple(found.shadows),
            read_at=now,
        )
        self._serving[model] = serving
        return serving

    def refresh(self) -> None:
        """Forget which versions serve, so the next decision reads the registry again."""
        self._serving.clear()

    # -- scoring -----------------------------------------------------------------------------

    def score(
        self,
        alias: str,
        model: str,
        output: str,
        customer_id: str,
        row: Mapping[str, Any],
        *,
        snapshot: str,
        timeout_ms: float,
    ) -> list[ModelScore]:
        """The acted-on score (champion or canary) first, then every shadow's.

        Never raises for a model problem: an unavailable model, a scoring error or a timeout
        comes back as a score of ``None`` with ``error`` set.
        """
        try:
            serving = self.serving(model)
        except AimsightError as exc:
            return [
                ModelScore(
                    alias,
                    model,
                    None,
                    "champion",
                    output,
                    None,
                    error="model_unavailable",
                    detail=str(exc),
                )
            ]
        role, version = "champion", serving.champion
        if serving.canary is not None and canary_bucket(model, customer_id) < serving.canary_share:
            role, version = "canary", serving.canary
        results = [
            self._one(alias, model, version, role, output, customer_id, row, snapshot, timeout_ms)
        ]
        for shadow in serving.shadows:
            results.append(
                self._one(
                    alias, model, shadow, "shadow", output, customer_id, row, snapshot, timeout_ms
                )
            )
        return results

    def warm(self, model: str, output: str) -> None:
        """Score the newest snapshot with every serving version of ``model`` now (instead of
        in the background on first use)."""
        serving = self.serving(model)
        snapshot, frame = self._features.online_frame()
        versions = [serving.champion, serving.canary, *serving.shadows]
        for version in versions:
            if version is not None:
                self._build(model, version, output, snapshot, frame)

    def close(self) -> None:
        """Stop the scoring threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _one(
        self,
        alias: str,
        model: str,
        version: int | None,
        role: str,
        output: str,
        customer_id: str,
        row: Mapping[str, Any],
        snapshot: str,
        timeout_ms: float,
    ) -> ModelScore:
        start = time.perf_counter()
        if version is None:
            return ModelScore(
                alias,
                model,
                None,
                role,
                output,
                None,
                error="model_unavailable",
                detail=f"model {model!r} has no {role} version",
            )
        scored = partial(ModelScore, alias, model, version, role, output)

        def elapsed() -> float:
            return (time.perf_counter() - start) * 1000

        key = (model, version, output, snapshot)
        batch = self._batches.get(key)
        if batch is not None and customer_id in batch.scores:
            score = batch.scores[customer_id]
            if score is None:
                return scored(
                    None,
                    error="model_error",
                    detail=batch.problems.get(customer_id),
                    elapsed_ms=elapsed(),
                )
            return scored(score, batch.factors.get(customer_id, ()), elapsed_ms=elapsed())
        if batch is None:
            self._build_later(key)
        future: Future[tuple[float | None, tuple[dict[str, Any], ...]]] = self._executor.submit(
            self._live, model, version, output, dict(row)
        )
        try:
            score, factors = future.result(timeout=timeout_ms / 1000)
        except FutureTimeout:
            future.cancel()
            return scored(
                None,
                error="model_timeout",
                detail=f"{model} v{version} took longer than {timeout_ms:g} ms",
                source="live",
                elapsed_ms=elapsed(),
            )
        except Exception as exc:  # noqa: BLE001 - any model failure falls back, named
            return scored(
                None,
                error="model_error",
                detail=_first_line(exc),
                source="live",
                elapsed_ms=elapsed(),
            )
        return scored(score, factors, source="live", elapsed_ms=elapsed())

    def _load(self, model: str, version: int) -> ScoringModel:
        key = (model, version)
        loaded = self._models.get(key)
        if loaded is None:
            loaded = self._registry.load(model, version, serving_only=True)
            self._models[key] = loaded
        return loaded

    def _live(
        self, model: str, version: int, output: str, row: dict[str, Any]
    ) -> tuple[float | None, tuple[dict[str, Any], ...]]:
        scoring = self._load(model, version)
        inputs = {spec.name: row.get(spec.name) for spec in scoring.features}
        prediction = scoring.predict([inputs], explain=_explainable(scoring), top=TOP_FACTORS)
        score = _number(prediction.scores[0].get(output), output, model)
        factors = tuple(prediction.contributions[0]) if prediction.contributions else ()
        return score, factors

    def _build_later(self, key: tuple[str, int, str, str]) -> None:
        with self._lock:
            if key in self._building or key in self._batches:
                return
            self._building.add(key)

        def build() -> None:
            try:
                snapshot, frame = self._features.online_frame()
                if snapshot == key[3]:
                    self._build(key[0], key[1], key[2], snapshot, frame)
            finally:
                with self._lock:
                    self._building.discard(key)

        threading.Thread(target=build, name="aimsight-score-batch", daemon=True).start()

    def _build(
        self, model: str, version: int, output: str, snapshot: str, frame: pd.DataFrame
    ) -> None:
        key = (model, version, output, snapshot)
        if key in self._batches:
            return
        scoring = self._load(model, version)
        names = [spec.name for spec in scoring.features]
        required = [s.name for s in scoring.features if not s.nullable and s.name in frame]
        usable = frame.dropna(subset=required)
        batch = _Batch()
        for customer in sorted(set(frame["customer_id"]) - set(usable["customer_id"])):
            batch.scores[customer] = None
            batch.problems[customer] = (
                f"{model} v{version} cannot score this customer: some of its inputs are "
                "empty in the online snapshot (for example no payment yet)"
            )
        if set(names) <= set(frame.columns) and len(usable):
            rows = usable[names].to_dict(orient="records")
            prediction = scoring.predict(rows, explain=_explainable(scoring), top=TOP_FACTORS)
            for index, customer in enumerate(usable["customer_id"].tolist()):
                try:
                    batch.scores[customer] = _number(
                        prediction.scores[index].get(output), output, model
                    )
                except ValueError as exc:
                    batch.scores[customer] = None
                    batch.problems[customer] = str(exc)
                if prediction.contributions:
                    batch.factors[customer] = tuple(prediction.contributions[index])
        with self._lock:
            self._batches = {k: v for k, v in self._batches.items() if k[3] == snapshot}
            self._batches[key] = batch


def _explainable(scoring: ScoringModel) -> bool:
    return scoring.kind in {"churn", "propensity"}


def _number(value: Any, output: str, model: str) -> float | None:
    if value is None:
        raise ValueError(f"{model} gave no {output!r} output")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{model}'s {output!r} output is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{model}'s {output!r} output is not finite")
    return number


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}"[:500]
