"""Tables of the decision layer: decisions, outcomes, contacts, the review queue and the
state and versions of each flow.

JSON documents (a decision's technical record, a flow's definition) are stored as text, as
elsewhere, so SQLite and PostgreSQL hold them alike. Times are ISO-8601 UTC strings, which
sort as times.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = [
    "ContactRow",
    "DecisionRow",
    "FlowStateRow",
    "FlowVersionRow",
    "OutcomeRow",
    "ReviewRow",
]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class DecisionRow(Base):
    """One decision as it was answered, with its technical record (JSON).

    ``status`` is ``decided``, ``pending_review``, ``approved``, ``overridden``, ``rejected``
    or ``expired``; ``action_id`` is the action in force (``None`` when nothing may be done).
    """

    __tablename__ = "decide_decisions"

    decision_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(16))
    action_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    fallback: Mapped[bool] = mapped_column(Boolean)
    human_review: Mapped[bool] = mapped_column(Boolean)
    reason_codes: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_decide_decisions_customer", "customer_id", "created_at"),
        Index("ix_decide_decisions_flow", "flow_id", "created_at"),
    )


class ContactRow(Base):
    """A contact a decision made (or a reviewer released): what the contact policy counts."""

    __tablename__ = "decide_contacts"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(300))
    flow_id: Mapped[str] = mapped_column(String(64))
    action_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    decision_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_decide_contacts_customer", "customer_id", "at"),)


class OutcomeRow(Base):
    """What came of a decision: accepted, rejected, converted or complaint, with a value."""

    __tablename__ = "decide_outcomes"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(300))
    flow_id: Mapped[str] = mapped_column(String(64))
    action_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_decide_outcomes_customer", "customer_id", "recorded_at"),
        Index("ix_decide_outcomes_decision", "decision_id"),
    )


class ReviewRow(Base):
    """A high-stakes decision waiting for (or given) a reviewer's verdict.

    ``status`` is ``pending``, ``approved``, ``overridden``, ``rejected`` or ``expired``.
    """

    __tablename__ = "decide_reviews"

    review_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(40), unique=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(16))
    proposed_action: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str | None] = mapped_column(String(200))
    verdict_reason: Mapped[str | None] = mapped_column(Text)
    final_action: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_decide_reviews_status", "status", "deadline"),)


class FlowStateRow(Base):
    """A flow's stop switch and when it was last tested."""

    __tablename__ = "decide_flow_states"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stopped: Mapped[bool] = mapped_column(Boolean)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[str | None] = mapped_column(String(32))
    stop_switch_tested_at: Mapped[str | None] = mapped_column(String(32))
    stop_switch_tested_by: Mapped[str | None] = mapped_column(String(200))


class FlowVersionRow(Base):
    """A version of a flow definition as first served (its digest pins the content)."""

    __tablename__ = "decide_flow_versions"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    definition: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[str] = mapped_column(String(32))
    registered_by: Mapped[str] = mapped_column(String(200))
