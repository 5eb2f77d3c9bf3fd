"""AI objectives (ISO/IEC 42001 6.2) whose KPIs are bound to live metrics, and their trends.

An objective stores the name of the metric that measures it (e.g. ``ledger.verified``,
``models.production_count``, ``ingest.pass_rate``, ``checks.pass_rate``); whoever resolves
metrics reads it and calls :meth:`ObjectiveRecords.record_kpi`, which keeps every reading.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from aimsight.aims._fields import choice, moment, now_text, number, text
from aimsight.aims._record_types import KpiReading, Objective
from aimsight.aims._recording import RecordsBase, get_row
from aimsight.aims._tables import KpiValueRow, ObjectiveRow
from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id

__all__ = ["DIRECTIONS", "ObjectiveRecords"]

DIRECTIONS = ("at_least", "at_most")
_METRIC = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class ObjectiveRecords(RecordsBase):
    """Set objectives, record KPI readings and read their trends."""

    def add_objective(
        self,
        objective: str,
        *,
        actor: str,
        owner: str,
        metric: str,
        target: float,
        direction: str = "at_least",
    ) -> Objective:
        """Set an objective measured by ``metric`` against ``target``.

        Args:
            metric: the live metric's name, dotted (e.g. ``ingest.pass_rate``).
            direction: ``at_least`` (met when the value is >= target) or ``at_most``.

        Raises:
            InvalidInput: a field is blank, the metric name is malformed or the target is not
                a finite number.
        """
        goal = text("objective", objective)
        who = text("owner", owner, limit=200)
        bound = text("metric", metric, limit=100)
        if not _METRIC.match(bound):
            raise InvalidInput(
                f"metric {bound!r} is not a metric name; write it dotted in lower case, "
                "e.g. ingest.pass_rate or ledger.verified",
                field="metric",
            )
        goal_value = number("target", target)
        way = choice("direction", direction, DIRECTIONS)
        with self._unit(actor) as unit:
            row = unit.add(
                ObjectiveRow(
                    objective_id=new_id("obj"),
                    objective=goal,
                    owner=who,
                    metric=bound,
                    target=goal_value,
                    direction=way,
                    created_at=now_text(),
                    created_by=unit.actor,
                )
            )
            unit.record(
                "aims.objective.created",
                row.objective_id,
                {
                    "objective_id": row.objective_id,
                    "metric": bound,
                    "target": goal_value,
                    "direction": way,
                },
                {"objective": goal, "owner": who},
            )
        return _objective_of(row, None)

    def record_kpi(
        self, objective_id: str, value: float, at: object = None, *, actor: str
    ) -> KpiReading:
        """Keep one reading of an objective's KPI (``at`` defaults to now).

        Raises:
            NotFound: no objective has this id.
            InvalidInput: the value is not a finite number or ``at`` is not a time.
        """
        reading = number("value", value)
        when = moment("at", at)
        with self._unit(actor) as unit:
            objective = get_row(unit.session, ObjectiveRow, objective_id, "objective", "id")
            row = unit.add(
                KpiValueRow(
                    objective_id=objective_id, value=reading, at=when, recorded_by=unit.actor
                )
            )
            unit.record(
                "aims.objective.kpi_recorded",
                objective_id,
                {
                    "objective_id": objective_id,
                    "metric": objective.metric,
                    "value": reading,
                    "at": when,
                },
            )
        return _reading_of(row)

    def objectives(self) -> list[Objective]:
        """Every objective with its latest reading and whether that meets the target."""
        with self._store.session() as session:
            rows = session.scalars(
                select(ObjectiveRow).order_by(ObjectiveRow.created_at, ObjectiveRow.objective_id)
            ).all()
            return [_objective_of(row, _latest(session, row.objective_id)) for row in rows]

    def objective(self, objective_id: str) -> Objective:
        """One objective with its latest reading.

        Raises:
            NotFound: no objective has this id.
        """
        with self._store.session() as session:
            row = get_row(session, ObjectiveRow, objective_id, "objective", "id")
            return _objective_of(row, _latest(session, objective_id))

    def kpi_trend(self, objective_id: str, limit: int = 100) -> list[KpiReading]:
        """The latest ``limit`` readings of an objective's KPI, oldest first.

        Raises:
            NotFound: no objective has this id.
        """
        with self._store.session() as session:
            get_row(session, ObjectiveRow, objective_id, "objective", "id")
            rows = session.scalars(
                select(KpiValueRow)
                .where(KpiValueRow.objective_id == objective_id)
                .order_by(KpiValueRow.at.desc(), KpiValueRow.id.desc())
                .limit(max(1, limit))
            ).all()
        return [_reading_of(row) for row in reversed(rows)]


def _latest(session: Session, objective_id: str) -> KpiValueRow | None:
    return session.scalars(
        select(KpiValueRow)
        .where(KpiValueRow.objective_id == objective_id)
        .order_by(KpiValueRow.at.desc(), KpiValueRow.id.desc())
        .limit(1)
    ).first()


def _reading_of(row: KpiValueRow) -> KpiReading:
    return KpiReading(
        objective_id=row.objective_id, value=row.value, at=row.at, recorded_by=row.recorded_by
    )


def _objective_of(row: ObjectiveRow, latest: KpiValueRow | None) -> Objective:
    reading = None if latest is None else _reading_of(latest)
    met = None
    if reading is not None:
        met = (
            reading.value >= row.target
            if row.direction == "at_least"
            else (reading.value <= row.target)
        )
    return Objective(
        objective_id=row.objective_id,
        objective=row.objective,
        owner=row.owner,
        metric=row.metric,
        target=row.target,
        direction=row.direction,
        latest=reading,
        met=met,
        created_at=row.created_at,
    )
