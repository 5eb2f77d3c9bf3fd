"""Checks over the ledger and the data: ledger integrity and retention (A.6.2.8), ingest quality
(A.7.4) and lineage of every lake file (A.7.5)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aimsight.aims._checks_data import ingest_quality, ledger_integrity, lineage_coverage
from aimsight.aims._model import CheckStatus
from aimsight.ingest import IngestService
from tests.aims._checks_fakes import Live, open_live
from tests.factories.ingest import PEOPLE, install, person, write_csv


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from open_live(tmp_path / "ws")


def _append(live: Live, count: int = 3) -> None:
    for i in range(count):
        live.ledger.append("decision.made", actor="nba", subject=f"c{i}", payload={"i": i})


# -- ledger integrity ---------------------------------------------------------------------


def test_a_verified_ledger_older_than_six_months_passes_with_its_head_hash(live: Live) -> None:
    _append(live)
    head = live.ledger.get(3)
    result = ledger_integrity(live.context(days=200))
    assert result.status is CheckStatus.PASS
    assert "3 entries" in result.summary
    assert any(e.ref == "seq 3" and head.hash in e.detail for e in result.evidence)
    assert any(e.ref == "ledger.retention_days" for e in result.evidence)


def test_a_young_ledger_warns_that_six_months_cannot_be_shown_yet(live: Live) -> None:
    _append(live)
    result = ledger_integrity(live.context(days=10))
    assert result.status is CheckStatus.WARN
    assert "only 10 days old" in result.summary


def test_an_empty_ledger_warns(live: Live) -> None:
    assert ledger_integrity(live.context()).status is CheckStatus.WARN


def test_a_tampered_entry_fails_naming_it(live: Live) -> None:
    _append(live)
    with live.store.engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_entries SET payload = :p WHERE seq = 2"), {"p": '{"i":7}'}
        )
    result = ledger_integrity(live.context(days=200))
    assert result.status is CheckStatus.FAIL
    assert "failed at entry 2 (altered)" in result.findings[0]


def test_a_removed_oldest_entry_fails(live: Live) -> None:
    _append(live)
    with live.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_entries WHERE seq = 1"))
    result = ledger_integrity(live.context(days=200))
    assert result.status is CheckStatus.FAIL
    assert "entry 1 (missing)" in result.findings[0]


def test_retention_under_six_months_fails(live: Live) -> None:
    _append(live)
    settings = live.workspace.settings
    short = settings.model_copy(
        update={"ledger": settings.ledger.model_copy(update={"retention_days": 90})}
    )
    live.workspace = dataclasses.replace(live.workspace, settings=short)
    result = ledger_integrity(live.context(days=200))
    assert result.status is CheckStatus.FAIL
    assert result.findings == ("ledger.retention_days is 90; set it to at least 183 (six months)",)


# -- ingest quality and lineage -----------------------------------------------------------


@pytest.fixture
def ingest(live: Live) -> IngestService:
    install(live.workspace, PEOPLE)
    return IngestService(live.workspace, live.store, live.ledger)


def _good(ingest: IngestService, path: Path, *ids: str) -> list[str]:
    [result] = ingest.ingest_path(
        write_csv(path, [person(i) for i in ids]), source="crm", entity="people", actor="t"
    )
    assert result.verdict == "accepted"
    return result.files


def _rejected(ingest: IngestService, path: Path) -> str:
    lines = [person("R1", email="x"), person("R2", email="y"), person("R3", age="z")]
    [result] = ingest.ingest_path(write_csv(path, lines), source="crm", entity="people", actor="t")
    assert result.verdict == "rejected"
    return result.batch_id


def test_recent_batches_that_passed_their_rules_pass(
    live: Live, ingest: IngestService, tmp_path: Path
) -> None:
    _good(ingest, tmp_path / "a.csv", "P1", "P2")
    _good(ingest, tmp_path / "b.csv", "P3")
    result = ingest_quality(live.context())
    assert result.status is CheckStatus.PASS
    assert result.summary.startswith("2 of 2 batches ingested in the last 30 days passed")


def test_a_rejected_batch_pulls_the_pass_rate_under_the_threshold(
    live: Live, ingest: IngestService, tmp_path: Path
) -> None:
    _good(ingest, tmp_path / "a.csv", "P1")
    batch_id = _rejected(ingest, tmp_path / "bad.csv")
    result = ingest_quality(live.context())
    assert result.status is CheckStatus.FAIL
    assert "50.0%" in result.summary
    assert len(result.findings) == 1 and batch_id in result.findings[0]
    assert any(e.ref == batch_id for e in result.evidence)


def test_nothing_ingested_recently_warns(live: Live, ingest: IngestService, tmp_path: Path) -> None:
    assert "No data has been ingested" in ingest_quality(live.context()).summary
    _good(ingest, tmp_path / "a.csv", "P1")
    result = ingest_quality(live.context(days=45))
    assert result.status is CheckStatus.WARN
    assert "in the last 30 days" in result.summary


def test_every_committed_file_traced_to_its_batch_passes(
    live: Live, ingest: IngestService, tmp_path: Path
) -> None:
    files = _good(ingest, tmp_path / "a.csv", "P1", "P2")
    result = lineage_coverage(live.context())
    assert result.status is CheckStatus.PASS
    assert [e.ref for e in result.evidence] == files
    assert "contract v1" in result.evidence[0].detail


def test_a_stray_parquet_file_in_the_lake_fails(
    live: Live, ingest: IngestService, tmp_path: Path
) -> None:
    [committed] = _good(ingest, tmp_path / "a.csv", "P1")
    stray = live.workspace.lake_dir / "raw" / "people" / "stray.parquet"
    stray.write_bytes((live.workspace.lake_dir / committed).read_bytes())
    assert lineage_coverage(live.context()).status is CheckStatus.PASS  # may be mid-commit
    old = time.time() - 2 * 3600
    os.utime(stray, (old, old))
    result = lineage_coverage(live.context())
    assert result.status is CheckStatus.FAIL
    assert result.findings[0].startswith("raw/people/stray.parquet is in the lake but no batch")


def test_a_committed_file_changed_or_removed_fails(
    live: Live, ingest: IngestService, tmp_path: Path
) -> None:
    (first,) = _good(ingest, tmp_path / "a.csv", "P1")
    (second,) = _good(ingest, tmp_path / "b.csv", "P2")
    (live.workspace.lake_dir / first).write_bytes(b"not the committed bytes")
    (live.workspace.lake_dir / second).unlink()
    result = lineage_coverage(live.context())
    assert result.status is CheckStatus.FAIL
    assert sorted(result.findings) == sorted(
        [
            f"{first} changed after batch {first.rsplit('/', 1)[-1][:-8]} committed it "
            "(SHA-256 differs); restore it from a backup or ingest its source again",
            f"{second} is committed by batch {second.rsplit('/', 1)[-1][:-8]} but missing "
            "from the lake",
        ]
    )


def test_an_empty_lake_warns(live: Live, ingest: IngestService) -> None:
    del ingest
    assert lineage_coverage(live.context()).status is CheckStatus.WARN
