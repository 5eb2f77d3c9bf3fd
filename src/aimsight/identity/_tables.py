"""Tables of identity resolution: runs, models, customers, record links, aliases, identifiers,
steward overrides, merge/split events and clusters held for review.

The record links and identifiers are the online side of resolution: a decision looks up an
identifier here and gets the customer id in one indexed read. Golden records live both here
(``identity_customers.profile``, for decisions) and in the lake (for analysis).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = [
    "AliasRow",
    "CustomerRow",
    "IdentifierRow",
    "IdentityEventRow",
    "IdentityModelRow",
    "IdentityRunRow",
    "ObservationRow",
    "OverrideRow",
    "RecordLinkRow",
    "ReviewRow",
]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class IdentityRunRow(Base):
    """One resolution run: what it read, what it used, what changed.

    ``summary`` is JSON: pairs per blocking rule, shared identifiers, merges, splits,
    creations, held clusters and timings. ``edges_path`` and ``profiles_path`` name its lake
    files (relative to ``lake/``).
    """

    __tablename__ = "identity_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[int | None] = mapped_column(Integer)
    config_digest: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    customers: Mapped[int] = mapped_column(BigInteger, default=0)
    threshold: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="{}")
    edges_path: Mapped[str | None] = mapped_column(String(500))
    profiles_path: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[str] = mapped_column(String(32), index=True)
    finished_at: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))


class IdentityModelRow(Base):
    """A trained matching model version: Splink's JSON stored under ``artifacts/``."""

    __tablename__ = "identity_models"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[str] = mapped_column(String(40))
    backend: Mapped[str] = mapped_column(String(16))
    config_digest: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))


class CustomerRow(Base):
    """A customer id: ``active`` (it has records) or ``merged`` (an alias of another now).

    ``kind`` is ``known`` (resolved from source records) or ``anonymous`` (made by real-time
    resolution for identifiers nobody knew; a later run may merge it into a known customer).
    ``profile`` is the golden record as JSON: per attribute its value and provenance.
    """

    __tablename__ = "identity_customers"

    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    merged_into: Mapped[str | None] = mapped_column(String(40))
    records: Mapped[int] = mapped_column(Integer, default=0)
    profile: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class RecordLinkRow(Base):
    """Which customer a source record belongs to (``record_key`` is ``dataset:record_id``)."""

    __tablename__ = "identity_record_links"

    record_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    run_id: Mapped[str] = mapped_column(String(40))


class AliasRow(Base):
    """An id that no longer names a cluster of its own and resolves to ``customer_id``."""

    __tablename__ = "identity_aliases"

    alias: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[str] = mapped_column(String(32))


class IdentifierRow(Base):
    """An identifier value (e-mail, phone, CRM id, device id) and the customer it names.

    ``shared`` values (an info@ address) name no one and resolve to nothing.
    """

    __tablename__ = "identity_identifiers"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(40), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    records: Mapped[int] = mapped_column(Integer, default=1)


class OverrideRow(Base):
    """A steward's must-link or cannot-link between two records; every later run obeys it."""

    __tablename__ = "identity_overrides"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_a: Mapped[str] = mapped_column(String(300), index=True)
    record_b: Mapped[str] = mapped_column(String(300), index=True)
    reason: Mapped[str] = mapped_column(String(1000))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))


class IdentityEventRow(Base):
    """A change of identity: create, merge, split, link, unlink, or a real-time conflict.

    ``before`` and ``after`` are JSON lists of customer ids; ``detail`` is JSON.
    """

    __tablename__ = "identity_events"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32), index=True)


class ReviewRow(Base):
    """A merge held for a person to decide: the clusters would have grown too large."""

    __tablename__ = "identity_reviews"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    record_a: Mapped[str] = mapped_column(String(300))
    record_b: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_identity_reviews_status", "status", "id"),)


class ObservationRow(Base):
    """An identifier seen by real-time resolution (``record_key`` is ``realtime:<id>``).

    Batch runs read these as records, so an anonymous profile made in real time is merged
    into the known customer once an identifier links them.
    """

    __tablename__ = "identity_observations"

    record_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300))
    observed_at: Mapped[str] = mapped_column(String(32))
