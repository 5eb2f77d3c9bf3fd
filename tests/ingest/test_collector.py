"""The HTTP collector's spool and flush: durable on accept, each event in the lake exactly once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from aimsight.core import InvalidInput, NotFound, Workspace, set_clock
from aimsight.ingest._collector import (
    BatchOutcome,
    CollectedMessage,
    CollectorService,
    message_record,
)
from aimsight.ingest._collector_tables import CollectedEventRow
from aimsight.store import Ledger, Store


@pytest.fixture
def spool(any_store: Store) -> Store:
    """A migrated store (SQLite, then PostgreSQL): migration 0002 creates the spool."""
    return any_store


def _track(message_id: str | None = "m-1", **overrides: Any) -> CollectedMessage:
    values: dict[str, Any] = {
        "type": "track",
        "anonymous_id": "anon-1",
        "event": "Order Completed",
        "properties": {"total": 19.99, "items": [{"sku": "A"}]},
        "timestamp": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        "message_id": message_id,
    }
    values.update(overrides)
    return CollectedMessage(**values)


def _identify(message_id: str | None = "i-1", **overrides: Any) -> CollectedMessage:
    values: dict[str, Any] = {
        "type": "identify",
        "user_id": "u-1",
        "traits": {"email": "Ada@Example.com", "plan": "premium"},
        "message_id": message_id,
    }
    values.update(overrides)
    return CollectedMessage(**values)


def _spooled(store: Store) -> list[CollectedEventRow]:
    with store.session() as session:
        return list(session.scalars(select(CollectedEventRow).order_by(CollectedEventRow.id)))


# -- accept -----------------------------------------------------------------------------------


def test_accepted_events_are_committed_before_accept_returns(
    spool: Store, any_workspace: Workspace
) -> None:
    result = CollectorService(spool).accept([_track("m-1"), _identify("i-1")])

    assert (result.accepted, result.duplicates) == (2, 0)
    # Another connection pool (another process, after a crash) sees them: they are committed.
    other = Store.open(any_workspace)
    try:
        with other.session() as session:
            ids = session.scalars(select(CollectedEventRow.message_id)).all()
    finally:
        other.dispose()
    assert sorted(ids) == ["i-1", "m-1"]
    assert CollectorService(spool).pending() == 2


def test_a_resent_message_id_is_counted_as_a_duplicate_and_stored_once(spool: Store) -> None:
    collector = CollectorService(spool)
    collector.accept([_track("m-1")])

    again = collector.accept([_track("m-1"), _track("m-2"), _track("m-2")])

    assert (again.accepted, again.duplicates) == (1, 2)
    assert [row.message_id for row in _spooled(spool)] == ["m-1", "m-2"]


def test_without_message_id_an_identical_resend_is_still_recognised(spool: Store) -> None:
    collector = CollectorService(spool)
    first = collector.accept([_track(None)])
    resent = collector.accept([_track(None)])
    other = collector.accept([_track(None, event="Order Refunded")])

    assert (first.accepted, resent.duplicates, other.accepted) == (1, 1, 1)
    ids = [row.message_id for row in _spooled(spool)]
    assert len(set(ids)) == 2 and all(key.startswith("h_") for key in ids)


def test_the_spooled_record_has_the_collector_contract_fields(spool: Store) -> None:
    CollectorService(spool).accept(
        [_track("m-1", sent_at=datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC))]
    )

    record = json.loads(_spooled(spool)[0].payload)
    assert set(record) == {
        "message_id", "type", "event", "user_id", "anonymous_id", "timestamp", "sent_at",
        "received_at", "properties", "traits", "context",
    }  # fmt: skip
    assert record["timestamp"] == "2026-11-20T10:00:00.000000Z"
    assert record["properties"] == {"total": 19.99, "items": [{"sku": "A"}]}


def test_an_event_without_a_timestamp_happened_when_it_was_received() -> None:
    received = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    record = message_record(_identify(), received)
    assert record["timestamp"] == record["received_at"] == "2026-11-23T09:00:00.000000Z"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"anonymous_id": None, "user_id": None}, "anonymousId"),
        ({"event": None}, "event"),
        ({"timestamp": datetime(2026, 11, 20, 10, 0)}, "timestamp"),
    ],
)
def test_a_message_the_collector_cannot_key_is_refused_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _track(**overrides)
    assert caught.value.field == field


def test_concurrent_requests_with_the_same_message_id_store_it_once(spool: Store) -> None:
    collector = CollectorService(spool)
    results = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        results.append(collector.accept([_track("same"), _track(f"own-{threading.get_ident()}")]))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result.accepted for result in results) == 5
    assert sum(result.duplicates for result in results) == 3
    assert len(_spooled(spool)) == 5


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rounds=st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=6),
        min_size=1,
        max_size=4,
    )
)
def test_every_message_is_either_accepted_once_or_a_duplicate(
    spool: Store, rounds: list[list[str]]
) -> None:
    with spool.session() as session:
        session.execute(delete(CollectedEventRow))
    collector = CollectorService(spool)
    seen: set[str] = set()
    for ids in rounds:
        result = collector.accept([_track(key) for key in ids])
        fresh = set(ids) - seen
        assert result.accepted == len(fresh)
        assert result.accepted + result.duplicates == len(ids)
        seen |= fresh
    assert sorted(row.message_id for row in _spooled(spool)) == sorted(seen)


# -- flush ------------------------------------------------------------------------------------


def _ingest_service(workspace: Workspace, store: Store) -> Any:
    from aimsight.ingest._contracts import ContractRegistry
    from aimsight.ingest._service import IngestService

    ContractRegistry.for_workspace(workspace).install_defaults()
    return IngestService(workspace, store, Ledger.open(workspace, store))


@pytest.fixture
def ingest_store(workspace: Workspace) -> Iterator[tuple[Workspace, Store, Any]]:
    """A SQLite workspace with the shipped contracts, its store and an ingest service."""
    store = Store.open(workspace)
    try:
        yield workspace, store, _ingest_service(workspace, store)
    finally:
        store.dispose()


def _lake_events(ingest: Any) -> list[tuple[str, str | None]]:
    connection = ingest.lake()
    try:
        rows = connection.execute(
            "SELECT message_id, event FROM collector.events ORDER BY message_id"
        ).fetchall()
    finally:
        connection.close()
    return [(str(row[0]), row[1]) for row in rows]


def test_flush_moves_pending_events_into_one_lake_batch(
    ingest_store: tuple[Workspace, Store, Any],
) -> None:
    _, store, ingest = ingest_store
    collector = CollectorService(store, ingest)
    collector.accept([_track("m-1"), _identify("i-1"), _track("m-2", event="Signed Up")])

    result = collector.flush(100)

    assert result.claimed == 3 and result.rows_accepted == 3 and result.rows_quarantined == 0
    assert _lake_events(ingest) == [("i-1", None), ("m-1", "Order Completed"), ("m-2", "Signed Up")]
    assert {row.flushed_batch_id for row in _spooled(store)} == {result.batch_id}
    assert collector.pending() == 0
    assert collector.flush(100).claimed == 0  # nothing left: no empty batch


def test_flush_takes_at_most_limit_events_per_batch(
    ingest_store: tuple[Workspace, Store, Any],
) -> None:
    _, store, ingest = ingest_store
    collector = CollectorService(store, ingest)
    collector.accept([_track(f"m-{index}") for index in range(7)])

    results = collector.flush_all(3)

    assert [result.claimed for result in results] == [3, 3, 1]
    assert len({result.batch_id for result in results}) == 3
    assert len(_lake_events(ingest)) == 7


def test_a_flush_that_died_after_the_commit_is_redone_without_duplicates(
    ingest_store: tuple[Workspace, Store, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, store, ingest = ingest_store
    collector = CollectorService(store, ingest, lease_seconds=60)
    collector.accept([_track("m-1"), _track("m-2")])

    def die(*_: object) -> None:
        raise SystemExit("killed between the ingest commit and marking the spool")

    monkeypatch.setattr(collector, "_mark", die)
    with pytest.raises(SystemExit):
        collector.flush(100)
    monkeypatch.undo()
    assert collector.pending() == 2 and len(_lake_events(ingest)) == 2

    # Within the lease nobody takes the dead flush's rows; after it, the next flush does.
    assert CollectorService(store, ingest, lease_seconds=60).flush(100).claimed == 0
    later = datetime.now(UTC) + timedelta(seconds=61)
    set_clock(lambda: later)
    redo = CollectorService(store, ingest, lease_seconds=60).flush(100)

    assert redo.claimed == 2 and redo.rows_accepted == 0 and redo.duplicate_rows == 2
    assert len(_lake_events(ingest)) == 2
    assert collector.pending() == 0


def test_a_failed_ingest_leaves_the_events_pending_for_the_next_flush(
    workspace: Workspace,
) -> None:
    from aimsight.ingest._service import IngestService

    store = Store.open(workspace)
    try:
        ingest = IngestService(workspace, store, Ledger.open(workspace, store))  # no contracts
        collector = CollectorService(store, ingest)
        collector.accept([_track("m-1")])

        with pytest.raises(NotFound, match="collector"):
            collector.flush(100)
        assert collector.pending() == 1
        assert all(row.claim_token is None for row in _spooled(store))

        retry = CollectorService(store, _ingest_service(workspace, store)).flush(100)
        assert retry.claimed == 1 and retry.rows_accepted == 1
    finally:
        store.dispose()


class _SlowSink:
    """Wraps the ingest service, slowing each call so that flushes overlap."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.keys: list[str] = []
        self._lock = threading.Lock()

    def ingest_records(
        self, records: Sequence[object], *, message_keys: Sequence[str] | None = None, **kw: Any
    ) -> BatchOutcome:
        with self._lock:
            self.keys.extend(message_keys or ())
        threading.Event().wait(0.05)
        result: BatchOutcome = self.inner.ingest_records(records, message_keys=message_keys, **kw)
        return result


def test_racing_flushes_never_ingest_the_same_event_twice(
    ingest_store: tuple[Workspace, Store, Any],
) -> None:
    _, store, ingest = ingest_store
    CollectorService(store).accept([_track(f"m-{index:02d}") for index in range(40)])
    sink = _SlowSink(ingest)
    barrier = threading.Barrier(3)

    def flush() -> None:
        barrier.wait()
        CollectorService(store, sink).flush_all(5)

    threads = [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(sink.keys) == [f"m-{index:02d}" for index in range(40)]  # each claimed once
    assert len(_lake_events(ingest)) == 40
    assert CollectorService(store).pending() == 0


@dataclass(frozen=True)
class _Outcome:
    batch_id: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int = 0
    verdict: str = "accepted"
    duplicate: bool = False
    duplicates: int = 0


class _RecordingSink:
    """Stands in for ingestion where only the claims are under test (SQLite and PostgreSQL)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._lock = threading.Lock()

    def ingest_records(
        self, records: Sequence[object], *, message_keys: Sequence[str] | None = None, **_: Any
    ) -> BatchOutcome:
        threading.Event().wait(0.02)
        with self._lock:
            self.keys.extend(message_keys or ())
            number = len(self.keys)
        return _Outcome(batch_id=f"b_{number}", rows_in=len(records), rows_accepted=len(records))


def test_on_either_store_racing_flushes_claim_each_event_once(spool: Store) -> None:
    CollectorService(spool).accept([_track(f"m-{index:02d}") for index in range(30)])
    sink = _RecordingSink()
    barrier = threading.Barrier(3)

    def flush() -> None:
        barrier.wait()
        while CollectorService(spool, sink).flush_all(4):
            pass

    threads = [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(sink.keys) == [f"m-{index:02d}" for index in range(30)]
    assert all(row.flushed_batch_id for row in _spooled(spool))


def test_purging_removes_only_events_flushed_before_the_cutoff(
    ingest_store: tuple[Workspace, Store, Any],
) -> None:
    _, store, ingest = ingest_store
    collector = CollectorService(store, ingest)
    collector.accept([_track("old")])
    collector.flush(100)
    collector.accept([_track("pending")])

    assert collector.purge_flushed(datetime.now(UTC) - timedelta(days=1)) == 0
    assert collector.purge_flushed(datetime.now(UTC) + timedelta(seconds=1)) == 1

    assert [row.message_id for row in _spooled(store)] == ["pending"]
    assert _lake_events(ingest) == [("old", "Order Completed")]  # the lake keeps it


def test_flushing_with_a_retention_drops_spool_rows_kept_long_enough(
    ingest_store: tuple[Workspace, Store, Any],
) -> None:
    _, store, ingest = ingest_store
    collector = CollectorService(store, ingest)
    collector.accept([_track("a"), _track("b")])

    collector.flush_all(100, keep_flushed=timedelta(hours=1))
    assert sorted(row.message_id for row in _spooled(store)) == ["a", "b"]  # still recent

    collector.flush_all(100, keep_flushed=timedelta(0))
    assert _spooled(store) == []
    assert sorted(row[0] for row in _lake_events(ingest)) == ["a", "b"]
