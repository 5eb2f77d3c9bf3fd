"""Results of the automated control checks over time: each run is kept, so the latest result
of every check and its trend can be shown, and an auditor can see what was found when.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import func, select

from aimsight.aims._fields import check_id_text, from_json, now_text, to_json
from aimsight.aims._model import CheckStatus, ControlCheckResult, Evidence
from aimsight.aims._record_types import CheckRun
from aimsight.aims._recording import RecordsBase, get_row
from aimsight.aims._tables import CheckResultRow, CheckRunRow
from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id

__all__ = ["CheckHistoryRecords"]


class CheckHistoryRecords(RecordsBase):
    """Save check runs and read them back: latest results, runs and per-check history."""

    def save_check_results(self, results: Sequence[ControlCheckResult], run_by: str) -> str:
        """Store one run of the checks and return its id (``run_by`` is the ledger actor).

        Results without ``checked_at`` get the run's time.

        Raises:
            InvalidInput: no results, something that is not a check result, or a check twice.
        """
        items = list(results)
        if not items:
            raise InvalidInput("a check run needs at least one result", field="results")
        seen: set[str] = set()
        for index, item in enumerate(items):
            if not isinstance(item, ControlCheckResult):
                raise InvalidInput(
                    f"results[{index}] is a {type(item).__name__}, not a ControlCheckResult",
                    field="results",
                )
            check_id_text(f"results[{index}].check_id", item.check_id)
            if item.check_id in seen:
                raise InvalidInput(
                    f"check {item.check_id!r} appears twice in one run; keep one result",
                    field="results",
                )
            seen.add(item.check_id)
            if item.status not in set(CheckStatus):
                raise InvalidInput(
                    f"results[{index}].status {item.status!r} is not one of "
                    f"{', '.join(status.value for status in CheckStatus)}",
                    field="results",
                )
            items[index] = replace(item, status=CheckStatus(item.status))
        run_at = now_text()
        stored = [item.to_dict() | {"checked_at": item.checked_at or run_at} for item in items]
        digest_source = to_json("results", stored)
        counts = dict(Counter(str(data["status"]) for data in stored))
        run_id = new_id("chk")
        with self._unit(run_by) as unit:
            unit.add(
                CheckRunRow(
                    run_id=run_id,
                    run_by=unit.actor,
                    run_at=run_at,
                    counts=to_json("counts", counts),
                    results_sha256=_sha256(digest_source),
                )
            )
            for data in stored:
                unit.add(
                    CheckResultRow(
                        run_id=run_id,
                        check_id=data["check_id"],
                        controls=to_json("controls", data["controls"]),
                        title=data["title"],
                        status=data["status"],
                        summary=data["summary"],
                        evidence=to_json("evidence", data["evidence"]),
                        findings=to_json("findings", data["findings"]),
                        checked_at=data["checked_at"],
                    )
                )
            unit.record(
                "aims.check_run.recorded",
                run_id,
                {
                    "run_id": run_id,
                    "counts": counts,
                    "results_sha256": _sha256(digest_source),
                    "statuses": {data["check_id"]: data["status"] for data in stored},
                },
            )
        return run_id

    def check_runs(self, limit: int = 20) -> list[CheckRun]:
        """The latest ``limit`` runs, newest first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(CheckRunRow)
                .order_by(CheckRunRow.run_at.desc(), CheckRunRow.run_id.desc())
                .limit(max(1, limit))
            ).all()
        return [_run_of(row) for row in rows]

    def check_run_results(self, run_id: str) -> list[ControlCheckResult]:
        """Every result of one run, in the order they were saved.

        Raises:
            NotFound: no run has this id.
        """
        with self._store.session() as session:
            get_row(session, CheckRunRow, run_id, "check run", "run_id")
            rows = session.scalars(
                select(CheckResultRow)
                .where(CheckResultRow.run_id == run_id)
                .order_by(CheckResultRow.id)
            ).all()
        return [_result_of(row) for row in rows]

    def latest_check_results(self) -> list[ControlCheckResult]:
        """The results of the newest run (empty before the first run)."""
        runs = self.check_runs(limit=1)
        return self.check_run_results(runs[0].run_id) if runs else []

    def check_history(self, check_id: str, limit: int = 50) -> list[ControlCheckResult]:
        """The latest ``limit`` results of one check across runs, newest first (its trend)."""
        with self._store.session() as session:
            rows = session.scalars(
                select(CheckResultRow)
                .where(CheckResultRow.check_id == check_id)
                .order_by(CheckResultRow.checked_at.desc(), CheckResultRow.id.desc())
                .limit(max(1, limit))
            ).all()
        return [_result_of(row) for row in rows]

    def check_run_count(self) -> int:
        """How many runs are stored."""
        with self._store.session() as session:
            return int(session.scalar(select(func.count()).select_from(CheckRunRow)) or 0)


def _sha256(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _run_of(row: CheckRunRow) -> CheckRun:
    return CheckRun(
        run_id=row.run_id,
        run_by=row.run_by,
        run_at=row.run_at,
        counts={str(k): int(v) for k, v in from_json(row.counts).items()},
        results_sha256=row.results_sha256,
    )


def _result_of(row: CheckResultRow) -> ControlCheckResult:
    return ControlCheckResult(
        check_id=row.check_id,
        controls=tuple(from_json(row.controls)),
        title=row.title,
        status=CheckStatus(row.status),
        summary=row.summary,
        evidence=tuple(Evidence(**item) for item in from_json(row.evidence)),
        findings=tuple(from_json(row.findings)),
        checked_at=row.checked_at,
    )
