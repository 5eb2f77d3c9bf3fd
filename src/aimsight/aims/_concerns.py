"""The channel for reporting concerns about AI systems (A.3.3), anonymously if wanted.

The reporter's name and the text are personal data: on the ledger they are held erasably,
and the chained entry's actor is the channel itself, never the reporter.
"""

from __future__ import annotations

from sqlalchemy import select

from aimsight.aims._fields import choice, now_text, optional_text
from aimsight.aims._fields import text as checked_text
from aimsight.aims._record_types import Concern
from aimsight.aims._recording import RecordsBase, get_row, require_system
from aimsight.aims._tables import ConcernRow
from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id

__all__ = ["CONCERN_STATUSES", "CHANNEL_ACTOR", "ConcernRecords"]

CONCERN_STATUSES = ("open", "investigating", "closed")
CHANNEL_ACTOR = "aims:concerns-channel"
"""The ledger actor of every reported concern, so no reporter is named in the chain."""


class ConcernRecords(RecordsBase):
    """Report, list and triage concerns."""

    def report_concern(
        self, text: str, reporter: str | None = None, system_id: str | None = None
    ) -> Concern:
        """Record a concern; ``reporter`` ``None`` keeps it anonymous.

        Raises:
            InvalidInput: the text is blank.
            NotFound: ``system_id`` names no AI system.
        """
        body = checked_text("text", text, limit=20_000)
        who = optional_text("reporter", reporter)
        now = now_text()
        with self._unit(CHANNEL_ACTOR) as unit:
            require_system(unit.session, system_id)
            row = unit.add(
                ConcernRow(
                    concern_id=new_id("con"),
                    text=body,
                    reporter=who,
                    system_id=system_id,
                    status="open",
                    outcome="",
                    reported_at=now,
                    updated_at=now,
                    triaged_by=None,
                )
            )
            unit.record(
                "aims.concern.reported",
                row.concern_id,
                {
                    "concern_id": row.concern_id,
                    "system_id": system_id,
                    "anonymous": who is None,
                },
                {"text": body, **({"reporter": who} if who else {})},
            )
        return _concern_of(row)

    def triage_concern(
        self, concern_id: str, *, status: str, actor: str, outcome: str = ""
    ) -> Concern:
        """Move a concern to ``investigating`` or ``closed`` (closing needs an ``outcome``).

        Raises:
            NotFound: no concern has this id.
            InvalidInput: an unknown status, or closing without an outcome.
        """
        wanted = choice("status", status, CONCERN_STATUSES)
        result = checked_text("outcome", outcome, required=False)
        if wanted == "closed" and not result:
            raise InvalidInput(
                "closing a concern needs an outcome saying what was found and done",
                field="outcome",
            )
        with self._unit(actor) as unit:
            row = get_row(unit.session, ConcernRow, concern_id, "concern", "concern_id")
            previous = row.status
            unit.update(
                row,
                status=wanted,
                outcome=result or row.outcome,
                updated_at=now_text(),
                triaged_by=unit.actor,
            )
            unit.record(
                "aims.concern.triaged",
                concern_id,
                {"concern_id": concern_id, "from": previous, "to": wanted},
                {"outcome": result} if result else None,
            )
        return _concern_of(row)

    def concerns(self, status: str | None = None) -> list[Concern]:
        """Every concern (with ``status`` when given), oldest first."""
        query = select(ConcernRow).order_by(ConcernRow.reported_at, ConcernRow.concern_id)
        if status is not None:
            query = query.where(ConcernRow.status == choice("status", status, CONCERN_STATUSES))
        with self._store.session() as session:
            return [_concern_of(row) for row in session.scalars(query)]


def _concern_of(row: ConcernRow) -> Concern:
    return Concern(
        concern_id=row.concern_id,
        text=row.text,
        reporter=row.reporter,
        system_id=row.system_id,
        status=row.status,
        outcome=row.outcome,
        reported_at=row.reported_at,
        updated_at=row.updated_at,
        triaged_by=row.triaged_by,
    )
