"""AimsRecords as a whole: every change is on the ledger (free text erasable), a change the
ledger cannot record is undone, and the methods the control checks read exist."""

from __future__ import annotations

from typing import Any

import pytest

from aimsight.aims._model import AISystem, ImpactAssessment, SupplierAssessment
from aimsight.aims._records import AimsRecords
from aimsight.core import LedgerError, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_each_change_is_on_the_ledger_with_free_text_kept_out_of_the_chain(
    records: AimsRecords, ledger: Ledger
) -> None:
    system = records.create_system(
        "churn",
        actor="cli:gina",
        kind="model",
        owner="Gina Governance",
        purpose="Spot customers about to leave",
    )
    risk = records.add_risk(
        "Retention offers skip older customers",
        actor="cli:gina",
        source="impact assessment",
        owner="Gina Governance",
        likelihood=3,
        impact=4,
        system_id=system.system_id,
    )
    records.report_concern("The churn model ignores my complaints", reporter="Pat")

    kinds = [entry.kind for entry in ledger.entries()]
    assert kinds == ["aims.system.created", "aims.risk.created", "aims.concern.reported"]
    created = ledger.entries(subject=system.system_id, include_personal=True)[0]
    assert created.actor == "cli:gina"
    assert created.payload["kind"] == "model" and "owner" not in created.payload
    assert created.personal == {
        "owner": "Gina Governance",
        "purpose": "Spot customers about to leave",
    }
    risk_entry = ledger.entries(subject=risk.risk_id, include_personal=True)[0]
    assert risk_entry.payload["level"] == "medium" and "risk" not in risk_entry.payload
    concern = ledger.entries(kind="aims.concern.reported", include_personal=True)[0]
    assert concern.actor == "aims:concerns-channel"  # the reporter is never in the chain
    assert concern.personal == {"text": "The churn model ignores my complaints", "reporter": "Pat"}
    assert ledger.verify().ok


def test_a_change_the_ledger_cannot_record_is_undone(
    records: AimsRecords, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = records.create_system("churn", actor="cli:gina", risk_level="low")

    def broken(_items: Any) -> Any:
        raise LedgerError("the ledger database is read-only")

    monkeypatch.setattr(ledger, "append_many", broken)
    with pytest.raises(LedgerError):
        records.create_system("upsell", actor="cli:gina")
    with pytest.raises(LedgerError):
        records.update_system(kept.system_id, actor="cli:gina", risk_level="high", owner="gina")
    with pytest.raises(LedgerError):
        records.report_concern("anything")

    assert [s.name for s in records.ai_systems()] == ["churn"]
    assert records.ai_system(kept.system_id) == kept
    assert records.concerns() == []


def test_the_records_the_control_checks_read_are_the_shared_dataclasses(
    records: AimsRecords,
) -> None:
    system = records.create_system("churn", actor="cli:gina")
    records.add_impact_assessment(
        system.system_id,
        actor="cli:gina",
        affected=["customers"],
        harms=["unfair offers"],
        severity="medium",
        mitigations=["fairness gate"],
        expires_on="2099-01-01",
    )
    records.assess_supplier(
        "scikit-learn",
        actor="cli:gina",
        supplier="scikit-learn",
        assessed_by="gina",
        outcome="approved",
    )
    assert all(isinstance(item, AISystem) for item in records.ai_systems())
    assert all(isinstance(item, ImpactAssessment) for item in records.impact_assessments())
    assert all(isinstance(item, SupplierAssessment) for item in records.supplier_assessments())
    assert len(records.impact_assessments()) == len(records.supplier_assessments()) == 1


def test_records_round_trip_on_every_store_backend(
    any_workspace: Workspace, any_store: Store
) -> None:
    ledger = Ledger.open(any_workspace, any_store)
    records = AimsRecords(any_workspace, any_store, ledger)
    system = records.create_system("churn", actor="cli:gina", high_stakes=True, in_scope=True)
    nc = records.raise_nonconformity("gap", actor="cli:gina", source="other", root_cause="why")
    records.record_effectiveness_check(
        nc.nc_id, actor="cli:gina", effective=True, result="fixed", checked_by="gina"
    )
    objective = records.add_objective(
        "Ledger verifies", actor="cli:gina", owner="admin", metric="ledger.verified", target=1
    )
    records.record_kpi(objective.objective_id, 1.0, actor="system")
    records.set_soa_entry("A.4.2", actor="cli:gina", applicable=True, justification="inventory")

    assert records.ai_systems() == [system] and system.high_stakes is True
    assert records.close_nonconformity(nc.nc_id, actor="cli:gina").status == "closed"
    assert records.objective(objective.objective_id).met is True
    assert records.soa_entries()[0]["applicable"] is True
    assert ledger.verify().ok
