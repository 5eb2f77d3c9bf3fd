"""Lineage: for each batch and lake file, where it came from and what judged it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimsight.core import InvalidInput, NotFound, Workspace
from aimsight.ingest._contracts import ContractRegistry
from aimsight.ingest._lineage import BatchLineage, DatasetLineage, LineageService
from aimsight.ingest._quarantine import QuarantineService
from aimsight.ingest._rules import RULE_SET_VERSION
from aimsight.ingest._service import IngestService
from aimsight.store import Lake, Ledger, Store
from tests.factories.ingest import PEOPLE, install, person, with_field, write_csv


@pytest.fixture
def registry(any_workspace: Workspace) -> ContractRegistry:
    return install(any_workspace, PEOPLE)


@pytest.fixture
def ingest(any_workspace: Workspace, any_store: Store, registry: ContractRegistry) -> IngestService:
    return IngestService(any_workspace, any_store, Ledger.open(any_workspace, any_store), registry)


def _ingest(ingest: IngestService, path: Path, lines: list[str]) -> str:
    [result] = ingest.ingest_path(write_csv(path, lines), source="crm", entity="people", actor="t")
    return result.batch_id


def test_a_batch_names_its_source_contract_rules_counts_and_files(
    ingest: IngestService,
    registry: ContractRegistry,
    any_workspace: Workspace,
    any_store: Store,
    tmp_path: Path,
) -> None:
    source = tmp_path / "people.csv"
    batch_id = _ingest(
        ingest,
        source,
        [
            person("P1", updated_at="2026-11-01T10:00:00Z"),
            person("P2", updated_at="2026-11-02T10:00:00Z"),
            person("P3", age="x"),
        ],
    )
    lineage = LineageService(any_store).batch(batch_id)
    info = lineage.batch
    assert info.origin == str(source.resolve()) and info.kind == "file"
    assert info.contract_version == 1
    assert info.contract_digest == registry.get("crm", "people").digest()
    assert info.rule_set_version == RULE_SET_VERSION
    assert (info.rows_in, info.rows_accepted, info.rows_quarantined) == (3, 2, 1)
    assert [f.partition_date for f in lineage.files] == ["2026-11-01", "2026-11-02"]
    assert sum(f.rows for f in lineage.files) == 2
    lake = Lake.for_workspace(any_workspace)
    assert all(lake.sha256(f.path) == f.sha256 for f in lineage.files)  # the committed bytes
    assert lineage.quarantine == {"open": 1}
    assert lineage.parents == [] and lineage.children == []
    entry = Ledger.open(any_workspace, any_store).get(info.ledger_seq or 0)
    assert entry.subject == batch_id


def test_a_replay_batch_points_to_its_parent_and_the_parent_to_it(
    ingest: IngestService,
    registry: ContractRegistry,
    any_workspace: Workspace,
    any_store: Store,
    tmp_path: Path,
) -> None:
    original = _ingest(
        ingest, tmp_path / "p.csv", [person("P1"), person("P2"), person("P3", age="-1")]
    )
    registry.add(with_field(PEOPLE, "age", type="integer"))
    quarantine = QuarantineService(
        any_workspace, any_store, Ledger.open(any_workspace, any_store), registry
    )
    [child] = quarantine.replay(actor="t").batches

    lineage = LineageService(any_store)
    assert [p.batch_id for p in lineage.batch(child.batch_id).parents] == [original]
    assert lineage.batch(original).children == [child.batch_id]
    assert lineage.batch(original).quarantine == {"replayed": 1}

    dataset = lineage.dataset("crm.people")
    assert [b.batch_id for b in dataset.batches] == [child.batch_id, original]
    counts = (dataset.rows_in, dataset.rows_accepted, dataset.rows_quarantined)
    assert counts == (3, 3, 0) and dataset.rows_replayed == 1  # replays bring no new rows
    assert dataset.contract_versions == [1, 2] and dataset.files == 2


def test_a_lake_file_leads_to_its_batch(
    ingest: IngestService, any_store: Store, tmp_path: Path
) -> None:
    batch_id = _ingest(ingest, tmp_path / "p.csv", [person("P1")])
    path = LineageService(any_store).batch(batch_id).files[0].path
    file, lineage = LineageService(any_store).file(f"lake/{path}")
    assert file.path == path and lineage.batch.batch_id == batch_id


def test_lookup_tells_batches_files_and_datasets_apart(
    ingest: IngestService, any_store: Store, tmp_path: Path
) -> None:
    batch_id = _ingest(ingest, tmp_path / "p.csv", [person("P1")])
    service = LineageService(any_store)
    assert isinstance(service.lookup(batch_id), BatchLineage)
    assert isinstance(service.lookup("crm.people"), DatasetLineage)
    assert isinstance(service.lookup(service.batch(batch_id).files[0].path), tuple)
    with pytest.raises(NotFound, match="source.entity"):
        service.lookup("crm.nothing")
    with pytest.raises(NotFound, match="no batch"):
        service.lookup("b_000000000000000000000000")
    with pytest.raises(NotFound, match="relative to the lake"):
        service.lookup("raw/x.parquet")
    with pytest.raises(InvalidInput):
        service.lookup("  ")
