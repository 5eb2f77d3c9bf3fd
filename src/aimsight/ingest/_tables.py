"""Tables of ingestion: batches, the lake files they committed, quarantined rows, message keys.

A batch exists for the lake only once its row here is committed, together with its lake files,
its quarantined rows and the message keys it consumed, all in one transaction. Lake views
read only the files listed in ``ingest_lake_files``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = ["BatchRow", "LakeFileRow", "MessageKeyRow", "QuarantineRow"]


class BatchRow(Base):
    """One ingested batch: where it came from, what judged it, and how many rows went where.

    ``rows_in = rows_accepted + rows_quarantined`` always holds; ``rows_duplicate`` counts
    records dropped before the batch was formed because their message key was already
    committed. ``report`` is the quality report as JSON. ``parent_batch_id`` names the batch
    a replay came from. ``ledger_seq`` is set once the ledger records the batch.
    """

    __tablename__ = "ingest_batches"

    batch_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(1000))
    content_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(16))
    contract_version: Mapped[int] = mapped_column(Integer)
    contract_digest: Mapped[str] = mapped_column(String(64))
    rule_set_version: Mapped[str] = mapped_column(String(32))
    rows_in: Mapped[int] = mapped_column(BigInteger)
    rows_accepted: Mapped[int] = mapped_column(BigInteger)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger)
    rows_duplicate: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16))
    report: Mapped[str] = mapped_column(Text)
    parent_batch_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("ingest_batches.batch_id"), index=True
    )
    received_at: Mapped[str] = mapped_column(String(32))
    committed_at: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger)


class LakeFileRow(Base):
    """A Parquet file of the lake, committed with its batch; ``path`` is relative to ``lake/``."""

    __tablename__ = "ingest_lake_files"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    batch_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("ingest_batches.batch_id"), index=True
    )
    dataset: Mapped[str] = mapped_column(String(200), index=True)
    partition_date: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[str] = mapped_column(String(32))


class QuarantineRow(Base):
    """A row that did not enter the lake, whole, with its reasons.

    ``raw_format`` is ``text`` (the source text; only a fixed source brings it back) or
    ``fields`` (its original values as JSON; ``quarantine replay`` re-validates them).
    ``reasons`` is a JSON list of ``{code, field, message}``; ``reason_codes`` the codes,
    space-separated with a space at each end, for filtering. ``status`` is ``open`` or
    ``replayed`` (then ``replayed_into`` names the batch that took the row in).
    """

    __tablename__ = "ingest_quarantine"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("ingest_batches.batch_id"))
    dataset: Mapped[str] = mapped_column(String(200))
    line: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[str] = mapped_column(Text)
    raw_format: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[str] = mapped_column(Text)
    reason_codes: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16))
    replayed_into: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_ingest_quarantine_batch_status", "batch_id", "status"),
        Index("ix_ingest_quarantine_dataset_status", "dataset", "status"),
    )


class MessageKeyRow(Base):
    """A message key (collector ``messageId``, ``stream:seq``) a committed batch consumed.

    A record arriving again with a known key is dropped before its batch is formed, so
    redelivery adds nothing.
    """

    __tablename__ = "ingest_message_keys"

    dataset: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    batch_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("ingest_batches.batch_id"), index=True
    )
