"""The batch pipeline: every row accounted for, the same content once, only committed data read."""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from aimsight.core import InvalidInput, NotFound, StoreError, Workspace
from aimsight.ingest._service import BATCH_COLUMN, IngestService, _partitions
from aimsight.ingest._tables import LakeFileRow
from aimsight.store import Ledger, Store
from tests.factories.ingest import (
    PAYMENTS,
    PEOPLE,
    assert_books_balance,
    contract,
    install,
    person,
    write_csv,
)


@pytest.fixture
def service(any_workspace: Workspace, any_store: Store) -> IngestService:
    install(any_workspace)
    return IngestService(any_workspace, any_store, Ledger.open(any_workspace, any_store))


@pytest.fixture
def sqlite_service(workspace: Workspace, store: Store) -> Iterator[IngestService]:
    install(workspace)
    yield IngestService(workspace, store, Ledger.open(workspace, store))


def _ids(service: IngestService, dataset: str = "crm.people") -> list[str]:
    with service.lake() as db:
        rows = db.sql(f"SELECT person_id FROM {dataset} ORDER BY person_id").fetchall()
    return [row[0] for row in rows]


def _ledger(service: IngestService, store: Store, workspace: Workspace) -> list[dict[str, object]]:
    del service
    entries = Ledger.open(workspace, store).entries(kind="ingest.batch_committed", limit=1000)
    return [entry.payload for entry in entries]


def test_every_row_is_accepted_or_quarantined_and_only_accepted_rows_reach_the_lake(
    service: IngestService, any_workspace: Workspace, any_store: Store, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "people.csv",
        [
            person("P1"),
            person("P2", email="not-an-email"),
            person("P3"),
            "P4,ragged",
            person("P5", age="-3"),
            person("P6"),
            person("P7"),
        ],
    )
    [result] = service.ingest_path(source, source="crm", entity="people", actor="test")

    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (7, 4, 3)
    assert result.verdict == "accepted" and not result.duplicate
    assert _ids(service) == ["P1", "P3", "P6", "P7"]
    assert assert_books_balance(any_store) == 1
    assert result.report.reasons == {"invalid_email": 1, "out_of_range": 1, "ragged_row": 1}
    [recorded] = _ledger(service, any_store, any_workspace)
    assert recorded["batch_id"] == result.batch_id
    counts = (recorded["rows_in"], recorded["rows_accepted"], recorded["rows_quarantined"])
    assert counts == (7, 4, 3)
    assert "P2" not in json.dumps(recorded)  # ids and counts only, no row data


def test_the_same_file_twice_adds_nothing(
    service: IngestService, any_workspace: Workspace, any_store: Store, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "people.csv", [person("P1"), person("P2", email="bad"), person("P3")]
    )
    [first] = service.ingest_path(source, source="crm", entity="people", actor="test")
    copy = tmp_path / "elsewhere" / "renamed.csv"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    [again] = service.ingest_path(source, source="crm", entity="people", actor="test")
    [renamed] = service.ingest_path(copy, source="crm", entity="people", actor="test")

    for repeat in (again, renamed):
        assert repeat.duplicate
        assert repeat.batch_id == first.batch_id
        assert (repeat.rows_in, repeat.rows_accepted, repeat.rows_quarantined) == (3, 2, 1)
    assert _ids(service) == ["P1", "P3"]
    assert len(service.batches()) == 1
    assert len(_ledger(service, any_store, any_workspace)) == 1
    assert assert_books_balance(any_store) == 1


def test_the_same_file_ingested_at_once_by_several_threads_lands_once(
    service: IngestService, any_workspace: Workspace, any_store: Store, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", [person(f"P{n}") for n in range(20)])
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda _: service.ingest_path(source, source="crm", entity="people", actor="t")[0],
                range(4),
            )
        )
    assert len({result.batch_id for result in results}) == 1
    assert sum(not result.duplicate for result in results) == 1
    assert len(_ids(service)) == 20
    assert len(_ledger(service, any_store, any_workspace)) == 1
    assert assert_books_balance(any_store) == 1


def test_changed_content_is_a_new_batch(sqlite_service: IngestService, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])
    [first] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="test")
    write_csv(source, [person("P1"), person("P2")])
    [second] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="test")
    assert second.batch_id != first.batch_id and not second.duplicate
    assert _ids(sqlite_service) == ["P1", "P1", "P2"]  # a new batch, not a merge


def test_lake_files_are_partitioned_by_the_event_date_and_carry_their_batch(
    sqlite_service: IngestService, workspace: Workspace, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "people.csv",
        [
            person("P1", updated_at="2026-11-01T23:30:00-02:00"),  # 2 November in UTC
            person("P2", updated_at="2026-11-01T08:00:00Z"),
            person("P3", updated_at="2026-11-02T08:00:00Z"),
        ],
    )
    [result] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="test")
    prefix = "raw/people/source=crm/date="
    assert result.files == [
        f"{prefix}2026-11-01/{result.batch_id}.parquet",
        f"{prefix}2026-11-02/{result.batch_id}.parquet",
    ]
    second_day = pq.read_table(workspace.lake_dir / result.files[1])
    assert sorted(second_day.column("person_id").to_pylist()) == ["P1", "P3"]
    assert set(second_day.column(BATCH_COLUMN).to_pylist()) == {result.batch_id}
    metadata = pq.read_schema(workspace.lake_dir / result.files[0]).metadata
    assert metadata[b"aimsight.batch_id"] == result.batch_id.encode()
    assert metadata[b"aimsight.contract_version"] == b"1"


def test_a_batch_the_rules_reject_enters_the_lake_not_at_all(
    sqlite_service: IngestService, store: Store, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "people.csv",
        [person("P1"), person("P2", email="x"), person("P3", email="y"), person("P4", age="z")],
    )
    [result] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="test")
    assert result.verdict == "rejected"
    assert (result.rows_accepted, result.rows_quarantined, result.files) == (0, 4, [])
    assert result.report.reasons["batch_rejected"] == 4
    assert _ids(sqlite_service) == []
    assert assert_books_balance(store) == 1


def test_a_folder_is_one_batch_per_data_file_in_path_order(
    sqlite_service: IngestService, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    write_csv(folder / "b.csv", [person("P2")])
    write_csv(folder / "a" / "1.csv", [person("P1")])
    (folder / "notes.md").write_text("not data", encoding="utf-8")
    (folder / ".hidden.csv").write_text("not data either", encoding="utf-8")
    steps: list[tuple[str, int, int]] = []
    results = sqlite_service.ingest_path(
        folder, source="crm", entity="people", actor="test", progress=lambda *a: steps.append(a)
    )
    assert [result.rows_accepted for result in results] == [1, 1]
    assert _ids(sqlite_service) == ["P1", "P2"]
    assert steps[-1] == ("b.csv: done", 2, 2)
    assert {stage.split(": ")[1] for stage, _, _ in steps} >= {"reading", "writing", "committing"}


def test_an_empty_folder_and_a_missing_path_are_clear_errors(
    sqlite_service: IngestService, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="holds no data file"):
        sqlite_service.ingest_path(tmp_path / "empty", source="crm", entity="people", actor="t")
    with pytest.raises(InvalidInput, match="does not exist"):
        sqlite_service.ingest_path(tmp_path / "nope.csv", source="crm", entity="people", actor="t")


def test_an_unknown_contract_or_bad_name_is_refused_before_reading(
    sqlite_service: IngestService, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])
    with pytest.raises(NotFound, match="contract"):
        sqlite_service.ingest_path(source, source="crm", entity="nothing", actor="t")
    with pytest.raises(InvalidInput, match="--source"):
        sqlite_service.ingest_path(source, source="../etc", entity="people", actor="t")


def test_records_whose_message_key_was_committed_are_dropped(
    service: IngestService, any_store: Store
) -> None:
    def record(n: int) -> dict[str, str]:
        return {"person_id": f"P{n}", "updated_at": "2026-11-01T10:00:00Z"}

    first = service.ingest_records(
        [record(1), record(2), record(3)],
        source="crm",
        entity="people",
        actor="stream",
        origin="nats:test",
        message_keys=["s:1", "s:2", "s:3"],
    )
    redelivered = service.ingest_records(
        [record(2), record(3), record(4), record(4)],
        source="crm",
        entity="people",
        actor="stream",
        origin="nats:test",
        message_keys=["s:2", "s:3", "s:4", "s:4"],
    )
    again = service.ingest_records(
        [record(4)],
        source="crm",
        entity="people",
        actor="stream",
        origin="nats:test",
        message_keys=["s:4"],
    )
    assert (first.rows_in, first.duplicates) == (3, 0)
    assert (redelivered.rows_in, redelivered.duplicates, redelivered.duplicate) == (1, 3, False)
    assert (again.rows_in, again.duplicates, again.duplicate) == (0, 1, True)
    assert again.batch_id == redelivered.batch_id  # the batch holding the key
    assert _ids(service) == ["P1", "P2", "P3", "P4"]
    assert service.batch(redelivered.batch_id).rows_duplicate == 3
    assert assert_books_balance(any_store) == 2


def test_records_without_keys_are_deduplicated_by_content(sqlite_service: IngestService) -> None:
    records = [{"person_id": "P1", "updated_at": "2026-11-01T10:00:00Z"}, "not an object"]
    first = sqlite_service.ingest_records(
        records, source="crm", entity="people", actor="t", origin="test"
    )
    again = sqlite_service.ingest_records(
        records, source="crm", entity="people", actor="t", origin="test"
    )
    assert (first.rows_in, first.rows_accepted, first.rows_quarantined) == (2, 1, 1)
    assert first.report.reasons == {"not_an_object": 1}
    assert again.duplicate and again.duplicates == 2 and again.rows_in == 0


def test_records_need_one_key_each(sqlite_service: IngestService) -> None:
    with pytest.raises(InvalidInput, match="one key per record"):
        sqlite_service.ingest_records(
            [{}], source="crm", entity="people", actor="t", origin="t", message_keys=[]
        )
    with pytest.raises(InvalidInput, match="no records"):
        sqlite_service.ingest_records([], source="crm", entity="people", actor="t", origin="t")
    with pytest.raises(InvalidInput, match="time zone"):
        sqlite_service.ingest_records(
            [{}],
            source="crm",
            entity="people",
            actor="t",
            origin="t",
            received_at=datetime(2026, 11, 1, 10, 0),
        )


def test_references_are_checked_against_committed_lake_keys(
    service: IngestService, any_store: Store, tmp_path: Path
) -> None:
    service.ingest_path(
        write_csv(tmp_path / "people.csv", [person("P1"), person("P2")]),
        source="crm",
        entity="people",
        actor="t",
    )
    payments = write_csv(
        tmp_path / "payments.csv",
        [
            "T1,P1,9.99,2026-11-02T10:00:00Z",
            "T2,P2,5.00,2026-11-02T10:00:00Z",
            "T3,P9,1.00,2026-11-02T10:00:00Z",
        ],
        header="payment_id,person_id,amount,paid_at",
    )
    [result] = service.ingest_path(payments, source="billing", entity="payments", actor="t")
    assert (result.rows_accepted, result.report.reasons) == (2, {"unknown_reference": 1})
    assert assert_books_balance(any_store) == 2


def test_a_contract_without_data_has_an_empty_view(sqlite_service: IngestService) -> None:
    with sqlite_service.lake() as db:
        assert db.sql("SELECT count(*) FROM billing.payments").fetchall() == [(0,)]


def test_a_commit_whose_ledger_entry_was_lost_is_recorded_on_the_rerun(
    sqlite_service: IngestService,
    workspace: Workspace,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])

    def crash(_batch_id: str) -> None:
        raise KeyboardInterrupt  # the process dies between commit and ledger entry

    monkeypatch.setattr(sqlite_service, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    monkeypatch.undo()
    [batch] = sqlite_service.batches()
    assert batch.ledger_seq is None and _ledger(sqlite_service, store, workspace) == []

    [rerun] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    [rerun_again] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    assert rerun.duplicate and rerun_again.duplicate
    [recorded] = _ledger(sqlite_service, store, workspace)
    assert recorded["batch_id"] == batch.batch_id
    assert sqlite_service.batch(batch.batch_id).ledger_seq is not None


def test_orphaned_lake_files_are_removed_and_committed_ones_kept(
    sqlite_service: IngestService, workspace: Workspace, tmp_path: Path
) -> None:
    [result] = sqlite_service.ingest_path(
        write_csv(tmp_path / "people.csv", [person("P1")]),
        source="crm",
        entity="people",
        actor="t",
    )
    orphan = workspace.lake_dir / "raw/people/source=crm/date=2026-11-01/b_dead.parquet"
    orphan.write_bytes(b"left by a killed ingest")
    assert sqlite_service.remove_orphans(timedelta(0)) == [
        orphan.relative_to(workspace.lake_dir).as_posix()
    ]
    assert (workspace.lake_dir / result.files[0]).exists()
    assert _ids(sqlite_service) == ["P1"]


def test_batches_are_listed_newest_first_and_unknown_ones_are_not_found(
    sqlite_service: IngestService, tmp_path: Path
) -> None:
    for n in range(3):
        sqlite_service.ingest_path(
            write_csv(tmp_path / f"{n}.csv", [person(f"P{n}")]),
            source="crm",
            entity="people",
            actor="t",
        )
    listed = sqlite_service.batches(limit=2)
    assert len(listed) == 2 and listed[0].committed_at >= listed[1].committed_at
    assert sqlite_service.batches(dataset="billing.payments") == []
    with pytest.raises(NotFound, match="aimsight ingest batches"):
        sqlite_service.batch("b_000000000000000000000000")


_cell = st.text(alphabet=string.ascii_letters + string.digits + "@.-", max_size=12)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(_cell, _cell, st.one_of(st.integers(-5, 200).map(str), _cell), st.booleans()),
        max_size=12,
    )
)
def test_books_balance_for_any_mix_of_rows(
    sqlite_service: IngestService,
    store: Store,
    tmp_path: Path,
    rows: list[tuple[str, str, str, bool]],
) -> None:
    lines = [
        f"{pid},{email},{age},2026-11-01T10:00:00Z" if whole else f"{pid},{email}"
        for pid, email, age, whole in rows
    ]
    source = write_csv(tmp_path / "people.csv", lines)
    [result] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    assert result.rows_in == len(rows)
    assert result.rows_in == result.rows_accepted + result.rows_quarantined
    assert assert_books_balance(store) >= 1


def test_contracts_used_in_these_tests_are_valid() -> None:
    assert contract(PEOPLE).name == "crm.people"
    assert contract(PAYMENTS).name == "billing.payments"


def test_lake_timestamps_come_back_as_utc_datetimes(
    sqlite_service: IngestService, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "people.csv", [person("P1", updated_at="2026-11-01T12:00:00+02:00")]
    )
    sqlite_service.ingest_path(source, source="crm", entity="people", actor="test")
    with sqlite_service.lake() as db:
        [(updated_at,)] = db.sql("SELECT updated_at FROM crm.people").fetchall()
    assert updated_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def test_a_monthly_contract_writes_one_lake_file_per_month(
    workspace: Workspace, store: Store, tmp_path: Path
) -> None:
    install(workspace, PEOPLE + "partition: month\n")
    service = IngestService(workspace, store, Ledger.open(workspace, store))
    days = ["2026-10-01", "2026-10-31", "2026-11-01", "2026-11-15"]
    source = write_csv(
        tmp_path / "people.csv",
        [person(f"P{i}", updated_at=f"{day}T10:00:00Z") for i, day in enumerate(days)],
    )
    [batch] = service.ingest_path(source, source="crm", entity="people", actor="test")
    assert sorted(Path(path).parent.name for path in batch.files) == [
        "month=2026-10",
        "month=2026-11",
    ]
    assert sorted(_ids(service)) == ["P0", "P1", "P2", "P3"]


@pytest.mark.parametrize("by", ["day", "month"])
@pytest.mark.parametrize("shuffled", [False, True])
def test_partitions_hold_each_row_once_in_its_date_and_in_source_order(
    by: str, shuffled: bool
) -> None:
    rng = np.random.default_rng(11)
    days = np.sort(rng.integers(0, 90, 5_000))
    if shuffled:
        days = rng.permutation(days)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stamps: list[datetime | None] = [start + timedelta(days=int(d), hours=23) for d in days]
    stamps[17] = None  # no event time: the receipt date
    table = pa.table(
        {"at": pa.array(stamps, pa.timestamp("us", tz="UTC")), "n": range(len(stamps))}
    )
    received = datetime(2026, 6, 30, 12, tzinfo=UTC)
    parts = _partitions(table, "at", received, by=by)
    labels = [label for label, _ in parts]
    assert labels == sorted(set(labels))
    width = 7 if by == "month" else 10
    seen: list[int] = []
    for label, rows in parts:
        part = rows()
        numbers = part.column("n").to_pylist()
        assert numbers == sorted(numbers)  # source order kept within a part
        for n in numbers:
            when = stamps[n] or received
            assert when.date().isoformat()[:width] == label
        seen.extend(numbers)
    assert sorted(seen) == list(range(len(stamps)))


def test_lake_files_skip_dictionaries_and_statistics_that_do_not_pay(
    sqlite_service: IngestService, workspace: Workspace, store: Store, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", [person(f"P{i}") for i in range(50)])
    [result] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    [path] = result.files
    metadata = pq.ParquetFile(workspace.lake_dir / path).metadata.row_group(0)
    columns = {
        metadata.column(i).path_in_schema: metadata.column(i) for i in range(metadata.num_columns)
    }
    dictionary = {"RLE_DICTIONARY", "PLAIN_DICTIONARY"}
    for name in ("person_id", "updated_at", "updated_at__original", "_line"):  # all distinct
        assert not dictionary & set(columns[name].encodings), name
    assert dictionary & set(columns[BATCH_COLUMN].encodings)
    assert columns["updated_at__original"].statistics is None  # values as received
    for name in ("person_id", "email", "age", "updated_at", "_line", BATCH_COLUMN):
        assert columns[name].statistics.has_min_max, name
    with store.session() as session:
        [(size, sha)] = session.execute(
            select(LakeFileRow.bytes, LakeFileRow.sha256).where(LakeFileRow.path == path)
        ).all()
    data = (workspace.lake_dir / path).read_bytes()
    assert (size, sha) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_lake_write_that_fails_midway_leaves_no_file_and_no_batch(
    sqlite_service: IngestService,
    workspace: Workspace,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1"), person("P2")])

    def disk_full(_table: pa.Table, where: Any, **_options: Any) -> None:
        where.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("aimsight.store._lake.pq.write_table", disk_full)
    with pytest.raises(StoreError, match="No space left on device"):
        sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    monkeypatch.undo()
    assert [p for p in workspace.lake_dir.rglob("*") if p.is_file()] == []
    assert sqlite_service.batches() == []
    [result] = sqlite_service.ingest_path(source, source="crm", entity="people", actor="t")
    assert result.rows_accepted == 2 and _ids(sqlite_service) == ["P1", "P2"]
    assert assert_books_balance(store) == 1
