"""AimsService: the one object the CLI and the API call for the AI management system."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsight.aims._checks import CHECKS
from aimsight.aims._metrics import METRICS
from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._service import AimsService
from aimsight.core import Conflict, InvalidInput, NotFound, Workspace
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store
from tests.registry._fakes import register

ACTOR = "cli:gina"


@pytest.fixture
def aims(workspace: Workspace, store: Store) -> AimsService:
    return AimsService(workspace, store, Ledger.open(workspace, store))


def _status_of(results: list[ControlCheckResult], check_id: str) -> str:
    return next(r.status.value for r in results if r.check_id == check_id)


def test_a_check_run_is_kept_and_its_trend_shows_oldest_first(aims: AimsService) -> None:
    run_id, first = aims.run_checks(actor=ACTOR)
    assert [r.check_id for r in first] == [check.check_id for check in CHECKS]
    assert _status_of(first, "owners_hold_roles") == "warn"  # nothing in the inventory yet
    assert aims.latest_checks() == first
    system = aims.records.create_system("churn", actor=ACTOR, kind="model")  # no owner: fails
    aims.run_checks(actor=ACTOR, only=["A.3.2"])
    aims.records.update_system(system.system_id, actor=ACTOR, owner="governance")
    _, last = aims.run_checks(actor=ACTOR, only=["owners_hold_roles"])

    trend = next(t for t in aims.check_trends() if t.check_id == "owners_hold_roles")
    assert trend.statuses == ("warn", "fail", "pass")
    assert trend.latest == last[0]
    never_rerun = next(t for t in aims.check_trends() if t.check_id == "ledger_integrity")
    assert len(never_rerun.statuses) == 1
    assert [r.status for r in aims.check_history("owners_hold_roles")] == [
        CheckStatus.PASS,
        CheckStatus.FAIL,
        CheckStatus.WARN,
    ]
    assert aims.records.check_runs(limit=10)[-1].run_id == run_id


def test_an_unknown_check_is_refused_before_anything_runs(aims: AimsService) -> None:
    with pytest.raises(InvalidInput, match="ledger_integrity") as caught:
        aims.run_checks(actor=ACTOR, only=["ledger_integrty"])
    assert caught.value.field == "only"
    assert aims.records.check_runs() == []
    with pytest.raises(InvalidInput, match="owners_hold_roles"):
        aims.check_history("no_such_check")


def test_the_soa_has_every_control_with_decisions_and_latest_checks(aims: AimsService) -> None:
    soa = aims.soa()
    assert len(soa.rows) == 38 and soa.summary.undecided == 38
    assert soa.row("A.6.2.8").check_status == "not_run"
    aims.set_soa_entry(
        "A.6.2.8",
        actor=ACTOR,
        applicable=True,
        justification="Every decision is logged",
        status="implemented",
        owner="gina",
    )
    aims.run_checks(actor=ACTOR, only=["ledger_integrity"])
    row = aims.soa().row("A.6.2.8")
    assert (row.applicable, row.implementation_status, row.owner) == (True, "implemented", "gina")
    assert row.check_status == aims.latest_checks()[0].status.value


def test_a_control_outside_the_catalogue_is_refused_and_nothing_stored(
    aims: AimsService,
) -> None:
    with pytest.raises(InvalidInput, match="A.2.2 to A.10.4") as caught:
        aims.set_soa_entry("A.9.9", actor=ACTOR, applicable=True, justification="x")
    assert caught.value.field == "control_id"
    assert aims.records.soa_entries() == []
    assert len(aims.soa().rows) == 38


def test_the_soa_exports_in_each_format(aims: AimsService) -> None:
    csv_lines = aims.export_soa("csv").decode("utf-8-sig").strip().splitlines()
    assert len(csv_lines) == 39 and csv_lines[1].startswith("A.2.2,")
    assert aims.export_soa("pdf").startswith(b"%PDF")
    assert zipfile.is_zipfile(_bytes_file(aims.export_soa("xlsx")))
    assert b"A.10.4" in aims.export_soa("html")
    with pytest.raises(InvalidInput, match="csv"):
        aims.export_soa("docx")


def _bytes_file(data: bytes) -> Path:
    path = Path(tempfile.mkdtemp()) / "file"
    path.write_bytes(data)
    return path


def test_metrics_read_every_metric_and_the_latest_check_run(aims: AimsService) -> None:
    readings = {reading.metric: reading for reading in aims.metrics()}
    assert set(readings) == set(METRICS)
    assert readings["checks.pass_rate"].value is None
    assert readings["ledger.verified"].value == 1.0
    aims.records.create_system("churn", actor=ACTOR, owner="governance")
    _, results = aims.run_checks(actor=ACTOR, only=["owners_hold_roles", "ledger_integrity"])
    passed = sum(r.status is CheckStatus.PASS for r in results)
    rate = {reading.metric: reading for reading in aims.metrics()}["checks.pass_rate"]
    assert rate.value == passed / 2 and passed == 1


def test_an_objective_records_its_live_metric_or_a_given_value(aims: AimsService) -> None:
    kept = aims.records.add_objective(
        "Keep the ledger intact", actor=ACTOR, owner="gina", metric="ledger.verified", target=1
    )
    reading = aims.record_objective_kpi(kept.objective_id, actor=ACTOR)
    assert reading.value == 1.0 and aims.records.objective(kept.objective_id).met is True
    quality = aims.records.add_objective(
        "Clean data", actor=ACTOR, owner="gina", metric="ingest.pass_rate", target=0.95
    )
    with pytest.raises(InvalidInput, match="no batch was ingested") as caught:
        aims.record_objective_kpi(quality.objective_id, actor=ACTOR)
    assert caught.value.field == "value"
    assert aims.record_objective_kpi(quality.objective_id, actor=ACTOR, value=0.9).value == 0.9
    with pytest.raises(NotFound):
        aims.record_objective_kpi("obj_missing", actor=ACTOR)


def test_the_inventory_syncs_from_the_registry(aims: AimsService) -> None:
    assert aims.sync_inventory(ACTOR) == []
    register(ModelRegistry(aims.workspace, aims.store, aims.ledger))
    synced = aims.sync_inventory(ACTOR)
    assert [(s.name, s.kind, s.components) for s in synced] == [("churn", "model", ("churn",))]
    assert aims.sync_inventory(ACTOR) == synced


def test_an_audit_is_planned_with_every_check_and_run_from_them(aims: AimsService) -> None:
    programme = aims.records.add_audit_programme(
        actor=ACTOR,
        period_start="2026-01-01",
        period_end="2026-12-31",
        scope="all",
        criteria="42001",
    )
    audit = aims.plan_audit(
        programme.programme_id,
        actor=ACTOR,
        title="Q4",
        scope="all AI systems",
        auditor="tom",
        planned_on="2026-12-01",
        questions=["Do people know the AI policy?"],
    )
    assert [item.check_id for item in audit.checklist][: len(CHECKS)] == [
        check.check_id for check in CHECKS
    ]
    assert audit.checklist[-1].question == "Do people know the AI policy?"
    ran = aims.run_audit(audit.audit_id, actor=ACTOR)
    assert ran.status == "in_progress"
    automated = [item for item in ran.checklist if item.check_id]
    assert all(item.result is not None for item in automated)
    assert ran.checklist[-1].result is None  # a person answers the manual question
    aims.records.update_audit(audit.audit_id, actor=ACTOR, status="completed", held_on="2026-12-01")
    runs = len(aims.records.check_runs())
    with pytest.raises(Conflict, match="completed"):
        aims.run_audit(audit.audit_id, actor=ACTOR)
    assert len(aims.records.check_runs()) == runs


def test_a_review_pack_is_stored_recorded_and_copied(aims: AimsService, tmp_path: Path) -> None:
    aims.run_checks(actor=ACTOR)
    files = aims.review_pack(
        actor=ACTOR, attendees=["gina", "tom"], held_on=date(2026, 11, 20), out_dir=tmp_path / "out"
    )
    review = files.review
    assert review.attendees == ("gina", "tom") and review.held_on == "2026-11-20"
    assert files.pdf_path.parent == tmp_path / "out"
    assert files.pdf_path.read_bytes().startswith(b"%PDF")
    assert hashlib.sha256(files.pdf_path.read_bytes()).hexdigest() == review.pack_sha256
    stored = aims.workspace.root / str(review.pack_path)
    assert stored.read_bytes() == files.pdf_path.read_bytes()
    assert "monitoring" in review.inputs
    assert aims.records.management_reviews() == [review]
    again = aims.review_pack(actor=ACTOR, out_dir=tmp_path / "out")
    assert again.pdf_path != files.pdf_path and again.review.attendees == (ACTOR,)


def test_an_evidence_pack_verifies_and_a_tampered_one_names_the_file(
    aims: AimsService, tmp_path: Path
) -> None:
    aims.run_checks(actor=ACTOR)
    manifest = aims.evidence_pack(tmp_path / "pack.zip", actor=ACTOR)
    assert any(item.path == "checks/check_history.json" for item in manifest.files)
    checked = aims.verify_pack(tmp_path / "pack.zip")
    assert checked.ok and checked.on_ledger is True
    assert AimsService.verify_pack_files(tmp_path / "pack.zip").on_ledger is None

    tampered = tmp_path / "tampered.zip"
    with (
        zipfile.ZipFile(tmp_path / "pack.zip") as source,
        zipfile.ZipFile(tampered, "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "checks/check_history.json":
                data = data.replace(b"warn", b"pass")
            target.writestr(info.filename, data)
    result = aims.verify_pack(tampered)
    assert not result.ok and result.changed == ("checks/check_history.json",)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    runs=st.lists(st.sampled_from(list(CheckStatus)), min_size=1, max_size=6),
    limit=st.integers(min_value=1, max_value=8),
)
def test_a_trend_is_the_last_runs_of_a_check_oldest_first(
    aims: AimsService, runs: list[CheckStatus], limit: int
) -> None:
    # One store across examples: the expected trend is the tail of everything saved so far.
    saved = [CheckStatus(s) for s in aims.check_trends(limit=1000)[0].statuses]
    for status in runs:
        result = ControlCheckResult(
            check_id=CHECKS[0].check_id,
            controls=CHECKS[0].controls,
            title=CHECKS[0].title,
            status=status,
            summary="fabricated",
            checked_at=f"2026-01-01T00:{len(saved) // 60:02d}:{len(saved) % 60:02d}.000000Z",
        )
        aims.records.save_check_results([result], ACTOR)
        saved.append(status)
    trend = aims.check_trends(limit=limit)[0]
    assert trend.statuses == tuple(status.value for status in saved[-limit:])
    assert list(trend.checked_at) == sorted(trend.checked_at)
