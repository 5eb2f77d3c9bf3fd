"""Quarantine: refused rows are kept whole with their reasons, and replay brings them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimsight.core import NotFound, Workspace
from aimsight.ingest._contracts import ContractRegistry
from aimsight.ingest._quarantine import QuarantineService
from aimsight.ingest._service import BatchResult, IngestService
from aimsight.store import Ledger, Store
from tests.factories.ingest import (
    PEOPLE,
    assert_books_balance,
    contract,
    install,
    person,
    with_field,
    write_csv,
)


@pytest.fixture
def registry(any_workspace: Workspace) -> ContractRegistry:
    return install(any_workspace, PEOPLE)


@pytest.fixture
def ingest(any_workspace: Workspace, any_store: Store, registry: ContractRegistry) -> IngestService:
    return IngestService(any_workspace, any_store, Ledger.open(any_workspace, any_store), registry)


@pytest.fixture
def quarantine(
    any_workspace: Workspace, any_store: Store, registry: ContractRegistry
) -> QuarantineService:
    return QuarantineService(
        any_workspace, any_store, Ledger.open(any_workspace, any_store), registry
    )


def _people(ingest: IngestService, tmp_path: Path, lines: list[str]) -> BatchResult:
    source = write_csv(tmp_path / "people.csv", lines)
    [result] = ingest.ingest_path(source, source="crm", entity="people", actor="test")
    return result


def _ids(ingest: IngestService) -> list[str]:
    with ingest.lake() as db:
        return [r[0] for r in db.sql("SELECT person_id FROM crm.people ORDER BY 1").fetchall()]


def _mixed(ingest: IngestService, tmp_path: Path) -> BatchResult:
    return _people(
        ingest,
        tmp_path,
        [
            person("P1"),
            person("P2", age="-3"),  # out_of_range until the contract allows it
            person("P3", age="old"),  # invalid_type, whatever the contract
            "P4,ragged",  # text: only a fixed source brings it back
            person("P5"),
            person("P6"),
            person("P7"),
        ],
    )


def test_refused_rows_are_kept_whole_with_their_reasons(
    ingest: IngestService, quarantine: QuarantineService, tmp_path: Path
) -> None:
    batch = _mixed(ingest, tmp_path)
    rows = quarantine.list(batch_id=batch.batch_id)
    assert [(row.line, row.raw_format, row.codes) for row in rows] == [
        (2, "fields", ["out_of_range"]),
        (3, "fields", ["invalid_type"]),
        (4, "text", ["ragged_row"]),
    ]
    assert '"age":"-3"' in rows[0].raw and rows[2].raw == "P4,ragged"
    assert all(row.status == "open" for row in rows)
    assert quarantine.show(rows[1].id) == rows[1]
    assert [row.line for row in quarantine.list(reason="invalid_type")] == [3]
    assert quarantine.list(dataset="billing.payments") == []
    assert quarantine.summary() == [
        {"dataset": "crm.people", "batch_id": batch.batch_id, "status": "open", "rows": 3}
    ]


def test_replay_after_a_contract_fix_moves_passing_rows_into_a_child_batch(
    ingest: IngestService,
    quarantine: QuarantineService,
    registry: ContractRegistry,
    any_workspace: Workspace,
    any_store: Store,
    tmp_path: Path,
) -> None:
    original = _mixed(ingest, tmp_path)
    before = quarantine.replay(actor="test", batch_id=original.batch_id)
    assert (before.replayed, before.still_open, before.needs_source) == (0, 2, 1)
    assert before.batches == []

    fixed = registry.add(with_field(PEOPLE, "age", type="integer", minimum=-10))
    assert fixed.version == 2
    result = quarantine.replay(actor="test", batch_id=original.batch_id)

    counts = (result.considered, result.replayed, result.still_open, result.needs_source)
    assert counts == (3, 1, 1, 1)
    assert result.reasons == {"invalid_type": 1}
    [child] = result.batches
    assert (child.rows_in, child.rows_accepted, child.rows_quarantined) == (1, 1, 0)
    info = ingest.batch(child.batch_id)
    assert (info.parent_batch_id, info.kind) == (original.batch_id, "replay")
    assert info.contract_version == 2 and info.contract_digest == fixed.digest()
    assert info.report.contract["digest"] == fixed.digest() and info.report.reasons == {}
    assert _ids(ingest) == ["P1", "P2", "P5", "P6", "P7"]

    rows = {row.line: row for row in quarantine.list(batch_id=original.batch_id, status=None)}
    assert (rows[2].status, rows[2].replayed_into) == ("replayed", child.batch_id)
    assert (rows[3].status, rows[3].codes) == ("open", ["invalid_type"])
    assert rows[4].status == "open"
    assert assert_books_balance(any_store) == 2

    kinds = [e.kind for e in Ledger.open(any_workspace, any_store).entries(kind="ingest.*")]
    assert kinds.count("ingest.quarantine_replayed") == 2
    assert kinds.count("ingest.batch_committed") == 2


def test_replay_rejudges_a_rejected_batch_as_a_batch(
    ingest: IngestService, quarantine: QuarantineService, registry: ContractRegistry, tmp_path: Path
) -> None:
    rejected = _people(
        ingest,
        tmp_path,
        [person("P1"), person("P2", email="x"), person("P3", email="y"), person("P4", email="z")],
    )
    assert rejected.verdict == "rejected"
    again = quarantine.replay(actor="test")  # no fix: the rules still reject it whole
    assert (again.replayed, again.still_open) == (0, 4)
    assert again.reasons["batch_rejected"] == 4

    registry.add(contract(PEOPLE, quality={"max_quarantine_rate": 0.9}))
    result = quarantine.replay(actor="test")
    assert (result.replayed, result.still_open) == (1, 3)
    assert result.reasons == {"invalid_email": 3}
    assert _ids(ingest) == ["P1"]


def test_replay_of_stragglers_of_an_accepted_batch_ignores_batch_thresholds(
    ingest: IngestService, quarantine: QuarantineService, registry: ContractRegistry, tmp_path: Path
) -> None:
    batch = _people(
        ingest,
        tmp_path,
        [person(f"P{n}") for n in range(6)] + [person("Q1", age="-1"), person("Q2", age="x")],
    )
    assert batch.verdict == "accepted"
    registry.add(with_field(PEOPLE, "age", type="integer"))
    # one of the two replayed rows still fails: 50 % of the replay, but not of the batch
    result = quarantine.replay(actor="test", row_ids=[r.id for r in quarantine.list()])
    assert (result.replayed, result.still_open) == (1, 1)


def test_replayed_rows_are_not_replayed_twice(
    ingest: IngestService, quarantine: QuarantineService, registry: ContractRegistry, tmp_path: Path
) -> None:
    _mixed(ingest, tmp_path)
    registry.add(with_field(PEOPLE, "age", type="integer"))
    first = quarantine.replay(actor="test")
    second = quarantine.replay(actor="test")
    assert first.replayed == 1 and second.replayed == 0
    assert _ids(ingest).count("P2") == 1


def test_unknown_rows_and_batches_are_not_found(quarantine: QuarantineService) -> None:
    with pytest.raises(NotFound, match="quarantine list"):
        quarantine.show(12345)
    with pytest.raises(NotFound, match="ingest batches"):
        quarantine.replay(actor="test", batch_id="b_000000000000000000000000")
    with pytest.raises(NotFound):
        quarantine.replay(actor="test", row_ids=[999])
    assert quarantine.replay(actor="test").considered == 0
