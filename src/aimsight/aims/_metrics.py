"""Live metrics that AIMS objectives (ISO/IEC 42001 6.2) bind their KPIs to.

An objective names a metric (``ingest.pass_rate``); :class:`LiveMetrics` reads its value from
the running system through the other layers' public services, so an objective's trend is
evidence, not a number someone typed. A metric whose capability has not landed yet answers
``None`` with the reason, never a made-up value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aimsight.core.errors import InvalidInput
from aimsight.core.workspace import Workspace
from aimsight.ingest import IngestService
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store

__all__ = ["METRICS", "LiveMetrics", "MetricReading"]

RECENT = timedelta(days=30)


@dataclass(frozen=True)
class MetricReading:
    """One reading of a live metric: its value (None when unavailable) and why."""

    metric: str
    value: float | None
    detail: str
    read_at: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "metric": self.metric,
            "value": self.value,
            "detail": self.detail,
            "read_at": self.read_at,
        }


# name -> (description, unit)
METRICS: dict[str, tuple[str, str]] = {
    "ledger.verified": ("1 when the ledger verifies end to end, else 0", "flag"),
    "ledger.entries": ("entries on the ledger", "count"),
    "ingest.pass_rate": ("share of batches accepted by their quality rules, last 30 days", "share"),
    "ingest.quarantine_rate": ("share of rows quarantined, last 30 days", "share"),
    "models.production_count": ("models with a champion in production", "count"),
    "models.approved_share": (
        "share of production models approved by someone other than the trainer",
        "share",
    ),
    "checks.pass_rate": ("share of the latest automated control checks that passed", "share"),
}


class LiveMetrics:
    """Reads the metrics in :data:`METRICS` from the live workspace."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        *,
        check_pass_rate: Callable[[], float | None] | None = None,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._check_pass_rate = check_pass_rate
        self._registry = ModelRegistry(workspace, store, ledger)

    def read(self, metric: str, *, now: datetime | None = None) -> MetricReading:
        """The current value of ``metric``.

        Raises:
            InvalidInput: ``metric`` is not one of :data:`METRICS` (the message lists them).
        """
        if metric not in METRICS:
            raise InvalidInput(
                f"unknown metric {metric!r}; objectives can bind to: {', '.join(sorted(METRICS))}",
                field="metric",
            )
        moment = now or datetime.now(UTC)
        value, detail = getattr(self, "_" + metric.replace(".", "_"))(moment)
        return MetricReading(metric, value, detail, moment.isoformat())

    # -- one reader per metric ----------------------------------------------------------------

    def _ledger_verified(self, _now: datetime) -> tuple[float | None, str]:
        result = self._ledger.verify()
        return (1.0 if result.ok else 0.0), f"{result.entries_checked} entries checked"

    def _ledger_entries(self, _now: datetime) -> tuple[float | None, str]:
        return float(self._ledger.count()), "entries on the ledger"

    def _recent_batches(self, now: datetime) -> list[tuple[str, int, int]]:
        since = now - RECENT
        batches = IngestService(self._workspace, self._store, self._ledger).batches(limit=10_000)
        recent = []
        for batch in batches:
            committed = datetime.fromisoformat(batch.committed_at)
            if committed.tzinfo is None:
                committed = committed.replace(tzinfo=UTC)
            if committed >= since:
                recent.append((batch.verdict, batch.rows_in, batch.rows_quarantined))
        return recent

    def _ingest_pass_rate(self, now: datetime) -> tuple[float | None, str]:
        recent = self._recent_batches(now)
        if not recent:
            return None, "no batch was ingested in the last 30 days"
        accepted = sum(1 for verdict, _, _ in recent if verdict == "accepted")
        return accepted / len(recent), f"{accepted} of {len(recent)} batches accepted"

    def _ingest_quarantine_rate(self, now: datetime) -> tuple[float | None, str]:
        recent = self._recent_batches(now)
        rows = sum(rows_in for _, rows_in, _ in recent)
        if not rows:
            return None, "no rows were ingested in the last 30 days"
        quarantined = sum(q for _, _, q in recent)
        return quarantined / rows, f"{quarantined} of {rows} rows quarantined"

    def _production(self) -> list[tuple[str, int]]:
        return [
            (model.name, model.champion)
            for model in self._registry.list_models()
            if model.champion is not None
        ]

    def _models_production_count(self, _now: datetime) -> tuple[float | None, str]:
        production = self._production()
        names = ", ".join(name for name, _ in production) or "none"
        return float(len(production)), f"in production: {names}"

    def _models_approved_share(self, _now: datetime) -> tuple[float | None, str]:
        production = self._production()
        if not production:
            return None, "no model is in production"
        separated = 0
        for name, version in production:
            trainer = self._registry.version(name, version).trainer
            approvers = [a.approver for a in self._registry.approvals(name, version)]
            if approvers and all(a != trainer for a in approvers):
                separated += 1
        return separated / len(production), f"{separated} of {len(production)} approved by others"

    def _checks_pass_rate(self, _now: datetime) -> tuple[float | None, str]:
        if self._check_pass_rate is None:
            return None, "no control checks have been run"
        rate = self._check_pass_rate()
        if rate is None:
            return None, "no control checks have been run"
        return rate, "share of the latest run's checks that passed"
