"""Running the automated control checks: which exist, what they evidence, isolation of errors,
and a well-run system against an empty one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aimsight.aims._checks import CHECKS, ControlCheck, find_checks, run_check, run_checks
from aimsight.aims._checks_base import CheckContext, CheckOutcome
from aimsight.aims._model import CheckStatus
from aimsight.core import InvalidInput, now_utc, set_clock
from aimsight.ingest import IngestService
from aimsight.security import ApiKeyService, Role
from tests.aims._checks_fakes import (
    FakeRecords,
    Live,
    champion,
    impact,
    open_live,
    supplier,
    system,
)
from tests.factories.ingest import PEOPLE, install, person, write_csv

ANNEX_A = {
    *(f"A.2.{i}" for i in range(2, 5)),
    *(f"A.3.{i}" for i in range(2, 4)),
    *(f"A.4.{i}" for i in range(2, 7)),
    *(f"A.5.{i}" for i in range(2, 6)),
    *(f"A.6.1.{i}" for i in range(2, 4)),
    *(f"A.6.2.{i}" for i in range(2, 9)),
    *(f"A.7.{i}" for i in range(2, 7)),
    *(f"A.8.{i}" for i in range(2, 6)),
    *(f"A.9.{i}" for i in range(2, 5)),
    *(f"A.10.{i}" for i in range(2, 5)),
}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from open_live(tmp_path / "ws")


def test_the_checks_the_issue_asks_for_exist_with_their_controls() -> None:
    assert len(ANNEX_A) == 38
    controls = {check.check_id: check.controls for check in CHECKS}
    assert controls == {
        "owners_hold_roles": ("A.3.2",),
        "impact_assessments_current": ("A.5.2", "A.5.3", "A.5.4"),
        "production_models_approved": ("A.6.2.4",),
        "promotions_staged": ("A.6.2.5",),
        "models_monitored": ("A.6.2.6",),
        "model_cards_complete": ("A.6.2.7", "A.8.2"),
        "ledger_integrity": ("A.6.2.8",),
        "ingest_quality": ("A.7.4",),
        "lineage_coverage": ("A.7.5",),
        "human_oversight": ("A.9.2", "A.9.3", "A.9.4"),
        "third_parties_assessed": ("A.10.3",),
    }
    assert {c for check in CHECKS for c in check.controls} <= ANNEX_A
    assert all(check.title and check.run.__doc__ for check in CHECKS)
    assert json.loads(json.dumps([check.to_dict() for check in CHECKS]))[0]["controls"] == ["A.3.2"]


def test_checks_are_picked_by_check_id_or_control_id() -> None:
    assert [c.check_id for c in find_checks(["ledger_integrity"])] == ["ledger_integrity"]
    assert [c.check_id for c in find_checks(["A.8.2", "A.3.2"])] == [
        "owners_hold_roles",
        "model_cards_complete",
    ]
    with pytest.raises(InvalidInput, match="unknown check 'A.99'") as caught:
        find_checks(["A.99"])
    assert caught.value.field == "only"


def test_a_context_needs_an_aware_time(live: Live) -> None:
    with pytest.raises(InvalidInput) as caught:
        CheckContext(live.workspace, live.store, live.ledger, live.records, datetime(2026, 1, 1))
    assert caught.value.field == "now"


def test_an_empty_workspace_passes_nothing_and_fails_nothing(live: Live) -> None:
    results = run_checks(live.context())
    assert [r.check_id for r in results] == [check.check_id for check in CHECKS]
    statuses = {r.check_id: r.status for r in results}
    assert set(statuses.values()) == {CheckStatus.WARN, CheckStatus.NOT_YET_AVAILABLE}
    assert statuses["models_monitored"] is CheckStatus.NOT_YET_AVAILABLE
    assert statuses["human_oversight"] is CheckStatus.WARN  # no decision flow declared yet
    assert all(r.summary and r.checked_at.endswith("Z") for r in results)
    json.dumps([r.to_dict() for r in results])


class _BrokenRecords(FakeRecords):
    def ai_systems(self) -> list:  # type: ignore[type-arg]
        raise RuntimeError("records table is locked")


def test_a_check_that_errors_fails_and_the_others_still_run(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    live.records = _BrokenRecords()
    with caplog.at_level(logging.ERROR, logger="aimsight.aims"):
        results = {r.check_id: r for r in run_checks(live.context())}
    broken = results["impact_assessments_current"]
    assert broken.status is CheckStatus.FAIL
    assert broken.findings == ("error while checking: RuntimeError: records table is locked",)
    assert "could not run" in broken.summary
    assert results["owners_hold_roles"].status is CheckStatus.FAIL
    assert results["ledger_integrity"].status is CheckStatus.WARN
    assert any("impact_assessments_current" in record.getMessage() for record in caplog.records)


def test_long_lists_of_findings_are_capped_with_a_count(live: Live) -> None:
    many = ControlCheck(
        "many",
        "Many findings",
        ("A.7.5",),
        lambda _: CheckOutcome(CheckStatus.FAIL, "lots", findings=tuple(map(str, range(500)))),
    )
    result = run_check(many, live.context())
    assert len(result.findings) == 200
    assert result.findings[-1] == "... and 301 more like these"


def test_a_well_run_system_passes_every_check_that_has_landed(live: Live, tmp_path: Path) -> None:
    real_now = now_utc()
    set_clock(lambda: real_now - timedelta(days=200))
    live.ledger.append("aims.policy_published", actor="gina", payload={"version": 1})
    set_clock(None)
    ApiKeyService(live.store).create("gina", Role.GOVERNANCE, created_by="admin")
    champion(live.registry)
    install(live.workspace, PEOPLE)
    IngestService(live.workspace, live.store, live.ledger).ingest_path(
        write_csv(tmp_path / "people.csv", [person("P1"), person("P2")]),
        source="crm",
        entity="people",
        actor="t",
    )
    live.records = FakeRecords([system()], [impact()], [supplier()])
    results = {r.check_id: r.status for r in run_checks(live.context())}
    assert results.pop("models_monitored") is CheckStatus.NOT_YET_AVAILABLE
    assert results.pop("human_oversight") is CheckStatus.WARN  # no decision flow declared
    assert set(results.values()) == {CheckStatus.PASS}, results
