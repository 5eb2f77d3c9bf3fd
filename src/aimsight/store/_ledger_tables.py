"""Tables of the tamper-evident ledger; only ``store/_ledger.py`` touches them."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store._base import Base

__all__ = ["LedgerEntryRow", "LedgerHeadRow", "LedgerPersonalDataRow"]


class LedgerEntryRow(Base):
    """One chained entry. ``hash`` covers every other column but ``seal``, canonically."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[str] = mapped_column(Text)
    personal_digest: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    seal: Mapped[str] = mapped_column(String(64))


class LedgerPersonalDataRow(Base):
    """Personal data of an entry, kept outside the chain so it can be erased.

    The entry holds ``sha256(salt || canonical(data))``; erasing sets ``data`` to NULL and
    records when and by which ledger entry, so verification still passes.
    """

    __tablename__ = "ledger_personal_data"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True, autoincrement=False
    )
    salt: Mapped[str] = mapped_column(String(64))
    data: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[str | None] = mapped_column(String(32))
    erased_by_seq: Mapped[int | None] = mapped_column(BigInteger)


class LedgerHeadRow(Base):
    """The single row naming the newest entry, so truncating the tail is detected."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
