"""The HTTP collector: Segment/RudderStack-style events, durable before they are acknowledged.

``accept`` commits each message to the ``collected_events`` spool in one store transaction and
only then returns, so a 202 means the event survives a crash. ``flush`` later moves pending
rows through the normal ingest path (contract ``collector.events``) as one lake batch, keyed
by ``message_id`` so that a flush repeated after a crash adds nothing. Two flushes never take
the same rows: each first *claims* rows with a token, and a claim older than the lease is
taken over (its flush died).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from aimsight.core import InvalidInput, isoformat_utc, new_id, now_utc
from aimsight.ingest._collector_tables import CollectedEventRow
from aimsight.store import Store

__all__ = [
    "COLLECTOR_ENTITY",
    "COLLECTOR_SOURCE",
    "AcceptResult",
    "BatchOutcome",
    "CollectedMessage",
    "CollectorService",
    "FlushResult",
    "RecordSink",
    "message_record",
]

COLLECTOR_SOURCE = "collector"
COLLECTOR_ENTITY = "events"
DEFAULT_LEASE_SECONDS = 300.0
_LOOKUP_CHUNK = 500

MessageType = Literal["track", "identify"]


class BatchOutcome(Protocol):
    """What the collector and the stream consumer read from an ingest result."""

    @property
    def batch_id(self) -> str: ...
    @property
    def rows_in(self) -> int: ...
    @property
    def rows_accepted(self) -> int: ...
    @property
    def rows_quarantined(self) -> int: ...
    @property
    def verdict(self) -> str: ...
    @property
    def duplicate(self) -> bool: ...
    @property
    def duplicates(self) -> int: ...


class RecordSink(Protocol):
    """The part of ``IngestService`` the collector and the stream consumer use."""

    def ingest_records(
        self,
        records: Sequence[object],
        *,
        source: str,
        entity: str,
        actor: str,
        origin: str,
        message_keys: Sequence[str] | None = None,
        received_at: datetime | None = None,
    ) -> BatchOutcome: ...


@dataclass(frozen=True)
class CollectedMessage:
    """One track or identify call, as the API parsed it (times aware, objects as dicts).

    ``message_id`` is the sender's id; when absent, one is made from a hash of the message so
    that a resent identical message is still recognised.
    """

    type: MessageType
    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    properties: Mapping[str, Any] | None = None
    traits: Mapping[str, Any] | None = None
    context: Mapping[str, Any] | None = None
    timestamp: datetime | None = None
    sent_at: datetime | None = None
    message_id: str | None = None

    def __post_init__(self) -> None:
        if not (self.user_id or self.anonymous_id):
            raise InvalidInput(
                "userId/anonymousId: a message needs one of them; send the visitor's "
                "anonymousId, or the userId once known",
                field="anonymousId",
            )
        if self.type == "track" and not self.event:
            raise InvalidInput(
                "event: a track message needs the event name (e.g. 'Order Completed')",
                field="event",
            )
        for name, moment in (("timestamp", self.timestamp), ("sentAt", self.sent_at)):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput(
                    f"{name}: the time has no zone; send ISO 8601 with an offset or 'Z'",
                    field=name,
                )

    def key(self) -> str:
        """The message id: the sender's, or ``h_`` + a hash of the message's content."""
        if self.message_id:
            return self.message_id
        content = {
            "type": self.type,
            "userId": self.user_id,
            "anonymousId": self.anonymous_id,
            "event": self.event,
            "properties": self.properties,
            "traits": self.traits,
            "context": self.context,
            "timestamp": _iso(self.timestamp),
            "sentAt": _iso(self.sent_at),
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return "h_" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def message_record(message: CollectedMessage, received_at: datetime) -> dict[str, Any]:
    """The record a message becomes in the lake (the fields of contract ``collector.events``).

    ``timestamp`` is when the event happened: the sender's, else the receipt time.
    """
    return {
        "message_id": message.key(),
        "type": message.type,
        "event": message.event,
        "user_id": message.user_id,
        "anonymous_id": message.anonymous_id,
        "timestamp": _iso(message.timestamp) or isoformat_utc(received_at),
        "sent_at": _iso(message.sent_at),
        "received_at": isoformat_utc(received_at),
        "properties": dict(message.properties) if message.properties is not None else None,
        "traits": dict(message.traits) if message.traits is not None else None,
        "context": dict(message.context) if message.context is not None else None,
    }


@dataclass(frozen=True)
class AcceptResult:
    """What ``accept`` did: messages newly spooled, and messages already seen (by id)."""

    accepted: int
    duplicates: int


@dataclass(frozen=True)
class FlushResult:
    """One flush: the rows it claimed and the batch they went into (None when none pending)."""

    claimed: int
    batch_id: str | None = None
    rows_accepted: int = 0
    rows_quarantined: int = 0
    duplicate_rows: int = 0
    verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (CLI ``--json``)."""
        return {
            "claimed": self.claimed,
            "batch_id": self.batch_id,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "duplicate_rows": self.duplicate_rows,
            "verdict": self.verdict,
        }


class CollectorService:
    """Spool collected events durably; flush them into the lake through ingestion.

    Args:
        store: the operational store holding the ``collected_events`` spool.
        ingest: the ingest service (``IngestService``); only ``flush`` needs it.
        lease_seconds: after this long a flush's claim is presumed dead and taken over.
    """

    def __init__(
        self,
        store: Store,
        ingest: RecordSink | None = None,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.lease_seconds = lease_seconds

    # -- accept ------------------------------------------------------------------------------

    def accept(self, messages: Sequence[CollectedMessage]) -> AcceptResult:
        """Commit ``messages`` to the spool; return once they are durable.

        A message whose id is already in the spool (or earlier in ``messages``) is a
        duplicate: counted, not stored again. Safe when requests race on the same id.
        """
        if not messages:
            return AcceptResult(accepted=0, duplicates=0)
        received_at = now_utc()
        stamp = isoformat_utc(received_at)
        rows: dict[str, dict[str, str]] = {}
        for message in messages:
            record = message_record(message, received_at)
            key = record["message_id"]
            if len(key) > 200:
                raise InvalidInput(
                    "messageId: longer than 200 characters; send a shorter unique id",
                    field="messageId",
                )
            rows.setdefault(
                key,
                {
                    "message_id": key,
                    "type": message.type,
                    "received_at": stamp,
                    "payload": json.dumps(
                        record, ensure_ascii=False, separators=(",", ":"), default=str
                    ),
                },
            )
        insert = postgresql.insert if self.store.backend == "postgresql" else sqlite.insert
        statement = (
            insert(CollectedEventRow)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(CollectedEventRow.message_id)
        )
        with self.store.session() as session:
            inserted = session.execute(statement, list(rows.values())).scalars().all()
        return AcceptResult(accepted=len(inserted), duplicates=len(messages) - len(inserted))

    # -- flush -------------------------------------------------------------------------------

    def pending(self) -> int:
        """How many spooled events no flush has committed yet."""
        with self.store.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(CollectedEventRow)
                .where(CollectedEventRow.flushed_batch_id.is_(None))
            )
        return int(count or 0)

    def flush(self, limit: int = 10_000, *, actor: str = "collector") -> FlushResult:
        """Move up to ``limit`` pending events into one lake batch; mark them flushed.

        Rows are claimed first, so a concurrent flush takes other rows. If this process dies
        after the batch committed but before the rows were marked, the next flush (after the
        lease) ingests them again and ingestion drops them as already-seen message keys.

        Raises:
            InvalidInput: ``limit`` is below 1.
            AimsightError: ingestion failed; the claim is released so the rows are retried.
        """
        if limit < 1:
            raise InvalidInput(f"limit: must be at least 1, got {limit}", field="limit")
        if self.ingest is None:
            raise InvalidInput(
                "the collector was built without an ingest service; pass one to flush"
            )
        token = new_id("fl", 20)
        claimed = self._claim(token, limit)
        if not claimed:
            return FlushResult(claimed=0)
        try:
            records = [json.loads(row.payload) for row in claimed]
            keys = [row.message_id for row in claimed]
            received_at = max(datetime.fromisoformat(row.received_at) for row in claimed)
            result = self.ingest.ingest_records(
                records,
                source=COLLECTOR_SOURCE,
                entity=COLLECTOR_ENTITY,
                actor=actor,
                origin="http-collector",
                message_keys=keys,
                received_at=received_at,
            )
        except BaseException:
            self._release(token)
            raise
        self._mark(token, result.batch_id)
        added = not result.duplicate  # a duplicate result describes an earlier batch
        return FlushResult(
            claimed=len(claimed),
            batch_id=result.batch_id,
            rows_accepted=result.rows_accepted if added else 0,
            rows_quarantined=result.rows_quarantined if added else 0,
            duplicate_rows=result.duplicates if added else len(claimed),
            verdict=result.verdict if added else "duplicate",
        )

    def flush_all(
        self,
        limit: int = 10_000,
        *,
        actor: str = "collector",
        keep_flushed: timedelta | None = None,
    ) -> list[FlushResult]:
        """Flush batch after batch until nothing is pending (or only rows others claimed).

        With ``keep_flushed``, spool rows flushed longer ago than that are then deleted: their
        events are in the lake, and the spool should not hold personal data (traits) longer
        than duplicate detection needs.
        """
        results: list[FlushResult] = []
        while True:
            result = self.flush(limit, actor=actor)
            if result.claimed:
                results.append(result)
            if result.claimed < limit:
                break
        if keep_flushed is not None:
            self.purge_flushed(datetime.now(UTC) - keep_flushed)
        return results

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        stale = isoformat_utc(now - timedelta(seconds=self.lease_seconds))
        row = CollectedEventRow
        return and_(
            row.flushed_batch_id.is_(None),
            or_(row.claim_token.is_(None), row.claimed_at < stale),
        )

    def _claim(self, token: str, limit: int) -> list[CollectedEventRow]:
        """Take up to ``limit`` pending rows for ``token``, oldest first.

        One UPDATE whose WHERE repeats the claimable test: PostgreSQL re-checks it on rows
        another flush just claimed, and SQLite runs writers one at a time, so a row is never
        claimed twice.
        """
        now = now_utc()
        row = CollectedEventRow
        candidates = (
            select(row.id).where(self._claimable(now)).order_by(row.id).limit(limit)
        ).scalar_subquery()
        with self.store.session() as session:
            session.execute(
                update(row)
                .where(row.id.in_(candidates), self._claimable(now))
                .values(claim_token=token, claimed_at=isoformat_utc(now))
                .execution_options(synchronize_session=False)
            )
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(row)
                    .where(row.flushed_batch_id.is_(None), row.claim_token == token)
                    .order_by(row.id)
                )
            )

    def _mark(self, token: str, batch_id: str) -> None:
        row = CollectedEventRow
        with self.store.session() as session:
            session.execute(
                update(row)
                .where(row.flushed_batch_id.is_(None), row.claim_token == token)
                .values(
                    flushed_batch_id=batch_id,
                    flushed_at=isoformat_utc(now_utc()),
                    claim_token=None,
                    claimed_at=None,
                )
                .execution_options(synchronize_session=False)
            )

    def _release(self, token: str) -> None:
        row = CollectedEventRow
        with self.store.session() as session:
            session.execute(
                update(row)
                .where(row.flushed_batch_id.is_(None), row.claim_token == token)
                .values(claim_token=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )

    def purge_flushed(self, before: datetime) -> int:
        """Delete spool rows flushed before ``before``; returns how many.

        Their events are in the lake; once purged, a resent ``messageId`` is no longer counted
        as a duplicate by ``accept`` but is still dropped by ingestion's message keys.
        """
        row = CollectedEventRow
        with self.store.session() as session:
            result = session.execute(
                delete(row).where(
                    row.flushed_batch_id.is_not(None), row.flushed_at < isoformat_utc(before)
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _iso(moment: datetime | None) -> str | None:
    return isoformat_utc(moment) if moment is not None else None
