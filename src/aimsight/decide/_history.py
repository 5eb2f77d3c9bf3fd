"""A customer's contact history as the contact policy sees it: contacts made and outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select

from aimsight.core.clock import isoformat_utc
from aimsight.decide._contact import Contact, ContactHistory
from aimsight.decide._tables import ContactRow, OutcomeRow

__all__ = ["COMPLAINT_OPEN_DAYS", "HISTORY_DAYS", "read_history"]

HISTORY_DAYS = 400
"""How far back contacts and outcomes are read (longer than any cap or suppression window)."""

COMPLAINT_OPEN_DAYS = 30
"""A complaint counts as open for this many days after it was recorded."""


# Built once: a decision reads its customer's history on every request.
_CONTACTS = (
    select(ContactRow.decision_id, ContactRow.action_id, ContactRow.channel, ContactRow.at)
    .where(ContactRow.customer_id == bindparam("customer"), ContactRow.at >= bindparam("since"))
    .order_by(ContactRow.at)
)
_OUTCOMES = (
    select(OutcomeRow.decision_id, OutcomeRow.outcome, OutcomeRow.recorded_at)
    .where(
        OutcomeRow.customer_id == bindparam("customer"),
        OutcomeRow.recorded_at >= bindparam("since"),
    )
    .order_by(OutcomeRow.recorded_at, OutcomeRow.id)
)


def read_history(connection: Connection, customer_id: str, now: datetime) -> ContactHistory:
    """The customer's contacts of the last :data:`HISTORY_DAYS`, each with the latest outcome
    recorded for its decision, and the complaints still open."""
    params = {"customer": customer_id, "since": isoformat_utc(now - timedelta(days=HISTORY_DAYS))}
    contacts = connection.execute(_CONTACTS, params).all()
    outcomes = connection.execute(_OUTCOMES, params).all()
    latest = {row.decision_id: row.outcome for row in outcomes}
    complaints_since = isoformat_utc(now - timedelta(days=COMPLAINT_OPEN_DAYS))
    open_complaints = sum(
        1 for row in outcomes if row.outcome == "complaint" and row.recorded_at >= complaints_since
    )
    return ContactHistory(
        contacts=tuple(
            Contact(
                action_id=row.action_id,
                channel=row.channel,
                at=datetime.fromisoformat(row.at.replace("Z", "+00:00")),
                outcome=latest.get(row.decision_id),
            )
            for row in contacts
        ),
        open_complaints=open_complaints,
    )
