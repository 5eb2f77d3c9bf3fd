"""Incidents: severity, a response timeline that only moves forward, and communications."""

from __future__ import annotations

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import Conflict, InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_an_incident_runs_from_detection_to_resolution_with_its_communications(
    records: AimsRecords, ledger: Ledger
) -> None:
    system = records.create_system("churn", actor="cli:gina")
    incident = records.open_incident(
        "Churn scores all 0.5 after deploy",
        actor="cli:dan",
        severity="SEV2",
        system_id=system.system_id,
        detected_at="2026-11-20T08:00:00Z",
    )
    assert (incident.severity, incident.status) == ("sev2", "detected")
    records.record_incident_step(
        incident.incident_id, "acknowledged", actor="cli:dan", at="2026-11-20T08:05:00Z"
    )
    records.add_incident_communication(
        incident.incident_id,
        actor="cli:dan",
        audience="retention team",
        message="Pause churn-based offers until further notice",
        at="2026-11-20T08:10:00Z",
    )
    done = records.record_incident_step(
        incident.incident_id,
        "resolved",
        actor="cli:dan",
        at="2026-11-20T10:00:00Z",
        note="Rolled back to v2",
    )
    assert done.status == "resolved"
    assert [(s.step, s.at[:16]) for s in done.timeline] == [
        ("detected", "2026-11-20T08:00"),
        ("acknowledged", "2026-11-20T08:05"),
        ("resolved", "2026-11-20T10:00"),  # contained may be skipped
    ]
    assert [c.audience for c in done.communications] == ["retention team"]
    assert records.incident(incident.incident_id) == done
    assert records.incidents(status="resolved") == [done] and records.incidents("detected") == []
    kinds = [e.kind for e in ledger.entries(subject=incident.incident_id)]
    assert kinds == [
        "aims.incident.opened",
        "aims.incident.step_recorded",
        "aims.incident.communicated",
        "aims.incident.step_recorded",
    ]


def test_the_timeline_never_goes_back(records: AimsRecords) -> None:
    incident = records.open_incident(
        "Bias report", actor="cli:gina", severity="sev3", detected_at="2026-11-20T08:00:00Z"
    )
    records.record_incident_step(
        incident.incident_id, "contained", actor="cli:gina", at="2026-11-20T09:00:00Z"
    )
    with pytest.raises(Conflict):
        records.record_incident_step(incident.incident_id, "acknowledged", actor="cli:gina")
    with pytest.raises(Conflict):
        records.record_incident_step(incident.incident_id, "contained", actor="cli:gina")
    with pytest.raises(InvalidInput) as raised:
        records.record_incident_step(
            incident.incident_id, "resolved", actor="cli:gina", at="2026-11-20T08:30:00Z"
        )
    assert raised.value.field == "at"
    assert records.incident(incident.incident_id).status == "contained"


@pytest.mark.parametrize(
    ("title", "severity", "field"),
    [(" ", "sev1", "title"), ("Outage", "sev5", "severity"), ("Outage", "critical", "severity")],
)
def test_malformed_incidents_are_refused(
    records: AimsRecords, title: str, severity: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.open_incident(title, actor="cli:gina", severity=severity)
    assert raised.value.field == field


def test_unknown_incidents_and_systems_are_not_found(records: AimsRecords) -> None:
    with pytest.raises(NotFound):
        records.open_incident("x", actor="cli:gina", severity="sev4", system_id="ais_nope")
    with pytest.raises(NotFound):
        records.record_incident_step("inc_nope", "resolved", actor="cli:gina")
    with pytest.raises(NotFound):
        records.add_incident_communication("inc_nope", actor="g", audience="a", message="m")
