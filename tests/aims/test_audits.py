"""Internal audits: programme, audits with automated and manual checklist items, findings that
become nonconformities."""

from __future__ import annotations

import pytest

from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._records import AimsRecords
from aimsight.core import Conflict, InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def _planned(records: AimsRecords) -> str:
    programme = records.add_audit_programme(
        actor="cli:gina",
        period_start="2026-01-01",
        period_end="2026-12-31",
        scope="All in-scope AI systems",
        criteria="ISO/IEC 42001 clauses 4-10 and Annex A; our AI policy v1",
    )
    audit = records.plan_audit(
        programme.programme_id,
        actor="cli:gina",
        title="Model release controls",
        scope="Registry approvals and promotions",
        auditor="Olga (internal audit)",
        planned_on="2026-11-25",
    )
    assert programme in records.audit_programmes()
    return audit.audit_id


def test_an_audit_checklist_is_answered_from_checks_and_by_people(records: AimsRecords) -> None:
    audit_id = _planned(records)
    automated = records.add_checklist_item(
        audit_id, actor="cli:olga", check_id="approval_by_another"
    )
    manual = records.add_checklist_item(
        audit_id, actor="cli:olga", question="Do approvers read the model card before approving?"
    )
    records.save_check_results(
        [
            ControlCheckResult(
                check_id="approval_by_another",
                controls=("A.6.2.4",),
                title="Approved by someone other than the trainer",
                status=CheckStatus.FAIL,
                summary="churn:v3 was approved by its trainer",
            )
        ],
        run_by="cli:olga",
    )
    records.update_audit(audit_id, actor="cli:olga", status="in_progress")
    items = records.fill_checklist_from_checks(audit_id, actor="cli:olga")
    assert [(i.item_id, i.result) for i in items] == [
        (automated.item_id, "nonconforming"),
        (manual.item_id, None),  # people answer manual questions
    ]
    assert items[0].answer == "churn:v3 was approved by its trainer"
    answered = records.answer_checklist_item(
        manual.item_id, actor="cli:olga", result="conforming", answer="Yes, seen in three reviews"
    )
    assert (answered.result, answered.answered_by) == ("conforming", "cli:olga")
    assert [i.position for i in records.audit(audit_id).checklist] == [1, 2]


def test_a_finding_becomes_a_nonconformity_once(records: AimsRecords, ledger: Ledger) -> None:
    audit_id = _planned(records)
    item = records.add_checklist_item(audit_id, actor="cli:olga", check_id="model_cards")
    finding = records.add_finding(
        audit_id,
        actor="cli:olga",
        severity="major",
        text="Two production models lack an intended-use statement",
        item_id=item.item_id,
    )
    nc = records.raise_nonconformity_from_finding(finding.finding_id, actor="cli:olga")
    assert (nc.source, nc.source_ref) == ("audit_finding", finding.finding_id)
    assert nc.description == finding.text
    [stored] = records.audit(audit_id).findings
    assert stored.nc_id == nc.nc_id
    with pytest.raises(Conflict, match="already"):
        records.raise_nonconformity_from_finding(finding.finding_id, actor="cli:olga")
    assert len(records.nonconformities()) == 1
    assert ledger.entries(kind="aims.nonconformity.raised")[0].payload["source_ref"] == (
        finding.finding_id
    )


def test_an_audit_moves_forward_and_completed_audits_are_frozen(records: AimsRecords) -> None:
    audit_id = _planned(records)
    with pytest.raises(InvalidInput) as raised:
        records.update_audit(audit_id, actor="cli:olga", status="completed")
    assert raised.value.field == "held_on"
    done = records.update_audit(
        audit_id, actor="cli:olga", status="completed", held_on="2026-11-26"
    )
    assert (done.status, done.held_on) == ("completed", "2026-11-26")
    assert records.audits() == [done]
    with pytest.raises(Conflict):
        records.update_audit(audit_id, actor="cli:olga", status="in_progress")
    with pytest.raises(Conflict):
        records.add_checklist_item(audit_id, actor="cli:olga", question="Too late?")


def test_malformed_audit_input_is_refused(records: AimsRecords) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.add_audit_programme(
            actor="g", period_start="2026-12-31", period_end="2026-01-01", scope="s", criteria="c"
        )
    assert raised.value.field == "period_end"
    with pytest.raises(NotFound):
        records.plan_audit(
            "aup_nope", actor="g", title="t", scope="s", auditor="a", planned_on="2026-01-01"
        )
    audit_id = _planned(records)
    with pytest.raises(InvalidInput):
        records.add_checklist_item(audit_id, actor="g")
    with pytest.raises(InvalidInput):
        records.add_checklist_item(audit_id, actor="g", check_id="lineage", question="and?")
    with pytest.raises(InvalidInput) as raised:
        records.add_finding(audit_id, actor="g", severity="huge", text="x")
    assert raised.value.field == "severity"
    other = _planned(records)
    item = records.add_checklist_item(other, actor="g", question="q")
    with pytest.raises(InvalidInput) as raised:
        records.add_finding(audit_id, actor="g", severity="minor", text="x", item_id=item.item_id)
    assert raised.value.field == "item_id"
