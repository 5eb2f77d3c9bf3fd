"""Tables of the consent store: the record in force per key, and every change ever made.

``privacy_consents`` holds one row per (customer, purpose, channel), the newest record for
that key, so the decision gate reads a customer's consent with one indexed SELECT.
``privacy_consent_changes`` keeps every change, in arrival order, including late records that
arrived after a newer one and so never came into force. Times are ISO 8601 UTC text.
Only :class:`aimsight.privacy.ConsentService` reads or writes these tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = ["ConsentChangeRow", "ConsentRow"]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")
CUSTOMER = 100
NAME = 64
TIME = 32


class ConsentRow(Base):
    """The record in force for one customer, purpose and channel (``*`` = every one)."""

    __tablename__ = "privacy_consents"

    customer_id: Mapped[str] = mapped_column(String(CUSTOMER), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    channel: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(100))
    collected_via: Mapped[str | None] = mapped_column(String(NAME))
    recorded_at: Mapped[str] = mapped_column(String(TIME))
    change_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[str] = mapped_column(String(TIME))


class ConsentChangeRow(Base):
    """One change as it arrived; ``source_ref`` makes imports idempotent."""

    __tablename__ = "privacy_consent_changes"

    change_id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(CUSTOMER))
    purpose: Mapped[str] = mapped_column(String(NAME))
    channel: Mapped[str] = mapped_column(String(NAME))
    status: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(100))
    collected_via: Mapped[str | None] = mapped_column(String(NAME))
    recorded_at: Mapped[str] = mapped_column(String(TIME))
    received_at: Mapped[str] = mapped_column(String(TIME))
    actor: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str | None] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_privacy_consent_changes_customer", "customer_id", "recorded_at"),)
