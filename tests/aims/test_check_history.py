"""Control check results over time: runs, the latest results and each check's history."""

from __future__ import annotations

import pytest

from aimsight.aims._model import CheckStatus, ControlCheckResult, Evidence
from aimsight.aims._records import AimsRecords
from aimsight.core import InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def _result(check_id: str, status: CheckStatus, at: str = "") -> ControlCheckResult:
    return ControlCheckResult(
        check_id=check_id,
        controls=("A.6.2.8",),
        title=f"{check_id} holds",
        status=status,
        summary=f"{check_id}: {status.value}",
        evidence=(Evidence("ledger", "seq 42", "head"),),
        findings=("entry 7 altered",) if status is CheckStatus.FAIL else (),
        checked_at=at,
    )


def test_runs_are_kept_and_the_latest_results_and_trends_read_back(
    records: AimsRecords, ledger: Ledger
) -> None:
    assert records.latest_check_results() == [] and records.check_runs() == []
    first = [
        _result("ledger_integrity", CheckStatus.PASS, "2026-11-01T00:00:00.000000Z"),
        _result("model_cards", CheckStatus.NOT_YET_AVAILABLE, "2026-11-01T00:00:00.000000Z"),
    ]
    second = [
        _result("ledger_integrity", CheckStatus.FAIL, "2026-11-02T00:00:00.000000Z"),
        _result("model_cards", CheckStatus.WARN, "2026-11-02T00:00:00.000000Z"),
    ]
    run_1 = records.save_check_results(first, run_by="cli:gina")
    run_2 = records.save_check_results(second, run_by="scheduler")

    assert records.latest_check_results() == second  # read back exactly as saved
    assert records.check_run_results(run_1) == first
    runs = records.check_runs()
    assert [r.run_id for r in runs] == [run_2, run_1]
    assert runs[0].counts == {"fail": 1, "warn": 1} and runs[0].run_by == "scheduler"
    history = records.check_history("ledger_integrity")
    assert [r.status for r in history] == [CheckStatus.FAIL, CheckStatus.PASS]
    assert len(records.check_history("ledger_integrity", limit=1)) == 1
    entry = ledger.entries(subject=run_2)[0]
    assert entry.kind == "aims.check_run.recorded"
    assert entry.payload["statuses"] == {"ledger_integrity": "fail", "model_cards": "warn"}
    assert entry.payload["results_sha256"] == runs[0].results_sha256


def test_a_result_without_a_time_gets_the_run_time(records: AimsRecords) -> None:
    run_id = records.save_check_results([_result("lineage", CheckStatus.PASS)], run_by="cli:gina")
    [saved] = records.check_run_results(run_id)
    assert saved.checked_at == records.check_runs()[0].run_at


def test_bad_runs_are_refused(records: AimsRecords) -> None:
    with pytest.raises(InvalidInput):
        records.save_check_results([], run_by="cli:gina")
    twice = [_result("lineage", CheckStatus.PASS), _result("lineage", CheckStatus.FAIL)]
    with pytest.raises(InvalidInput, match="twice"):
        records.save_check_results(twice, run_by="cli:gina")
    with pytest.raises(InvalidInput):
        records.save_check_results([{"check_id": "lineage"}], run_by="cli:gina")  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        records.save_check_results([_result("Bad Id", CheckStatus.PASS)], run_by="cli:gina")
    assert records.check_runs() == []
    with pytest.raises(NotFound):
        records.check_run_results("chk_missing")
