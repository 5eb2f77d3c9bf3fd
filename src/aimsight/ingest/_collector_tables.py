"""The HTTP collector's spool: events made durable before the API answers 202.

A collected event is committed here first, then a flush turns pending rows into one lake
batch through the normal ingest path and marks them with that batch id. Rows stay after the
flush so that a resent ``messageId`` is still counted as a duplicate.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = ["CollectedEventRow"]


class CollectedEventRow(Base):
    """One event received by ``POST /v1/collect/...``, pending until a flush moves it on.

    ``claim_token``/``claimed_at`` mark rows a flush is working on, so that two flushes never
    ingest the same rows at once; a claim older than the flush lease is taken over (the
    earlier flush died). ``flushed_batch_id`` is set once the rows' batch is committed.
    """

    __tablename__ = "collected_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[str | None] = mapped_column(String(32))
    flushed_batch_id: Mapped[str | None] = mapped_column(String(40))
    flushed_at: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_collected_events_pending", "flushed_batch_id", "id"),)
