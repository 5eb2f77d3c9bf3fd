"""The concerns channel (A.3.3): anonymous reports allowed, triaged to an outcome."""

from __future__ import annotations

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_an_anonymous_concern_is_triaged_and_closed_with_an_outcome(
    records: AimsRecords, ledger: Ledger
) -> None:
    system = records.create_system("churn", actor="cli:gina")
    concern = records.report_concern(
        "Offers seem to skip rural customers", system_id=system.system_id
    )
    assert (concern.reporter, concern.status, concern.system_id) == (None, "open", system.system_id)
    reported = ledger.entries(kind="aims.concern.reported", include_personal=True)[0]
    assert reported.payload["anonymous"] is True and "reporter" not in reported.personal

    looking = records.triage_concern(concern.concern_id, status="investigating", actor="cli:gina")
    assert looking.status == "investigating" and looking.triaged_by == "cli:gina"
    with pytest.raises(InvalidInput) as raised:
        records.triage_concern(concern.concern_id, status="closed", actor="cli:gina")
    assert raised.value.field == "outcome"
    closed = records.triage_concern(
        concern.concern_id,
        status="closed",
        outcome="Region was a proxy feature; removed in churn v3",
        actor="cli:gina",
    )
    assert closed.status == "closed" and closed.outcome.startswith("Region")
    assert records.concerns(status="open") == []
    assert records.concerns(status="closed") == [closed]
    steps = [
        (e.payload["from"], e.payload["to"]) for e in ledger.entries(kind="aims.concern.triaged")
    ]
    assert steps == [("open", "investigating"), ("investigating", "closed")]


def test_a_named_concern_keeps_its_reporter_and_bad_input_is_refused(
    records: AimsRecords,
) -> None:
    named = records.report_concern("The model card is out of date", reporter="Pat")
    assert named.reporter == "Pat"
    with pytest.raises(InvalidInput):
        records.report_concern("   ")
    with pytest.raises(NotFound):
        records.report_concern("About a system that is not there", system_id="ais_nope")
    with pytest.raises(InvalidInput) as raised:
        records.triage_concern(named.concern_id, status="ignored", actor="cli:gina")
    assert raised.value.field == "status"
    with pytest.raises(NotFound):
        records.triage_concern("con_missing", status="investigating", actor="cli:gina")
