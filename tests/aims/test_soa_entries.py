"""Statement of Applicability entries: one per Annex A control, with justification and status."""

from __future__ import annotations

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import InvalidInput, Workspace
from aimsight.store import Ledger, Store

KEYS = {
    "control_id",
    "applicable",
    "justification",
    "status",
    "owner",
    "evidence",
    "updated_at",
    "updated_by",
}


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_entries_are_stored_replaced_and_listed_in_control_order(
    records: AimsRecords, ledger: Ledger
) -> None:
    records.set_soa_entry(
        "A.10.3",
        actor="cli:gina",
        applicable=True,
        justification="We rely on open-source ML libraries",
        status="partial",
        owner="governance",
        evidence=["check:third_parties_assessed"],
    )
    records.set_soa_entry(
        "A.2.2", actor="cli:gina", applicable=True, justification="Policy approved by the board"
    )
    records.set_soa_entry(
        "A.6.2.4", actor="cli:gina", applicable=False, justification="No models yet"
    )
    replaced = records.set_soa_entry(
        "A.6.2.4",
        actor="cli:gina",
        applicable=True,
        justification="Churn model in production",
        status="implemented",
        evidence=["ledger:seq 12"],
    )
    entries = records.soa_entries()
    assert [e["control_id"] for e in entries] == ["A.2.2", "A.6.2.4", "A.10.3"]
    assert all(set(entry) == KEYS for entry in entries)
    assert entries[0]["status"] == "not_started"  # the default for an applicable control
    assert entries[1] == replaced and replaced["evidence"] == ["ledger:seq 12"]
    history = ledger.entries(subject="A.6.2.4", include_personal=True)
    assert [(e.payload["applicable"], e.payload["status"]) for e in history] == [
        (False, "not_applicable"),
        (True, "implemented"),
    ]
    assert history[1].personal == {"justification": "Churn model in production"}


@pytest.mark.parametrize(
    ("control_id", "applicable", "justification", "status", "field"),
    [
        ("6.1.3", True, "why", None, "control_id"),  # a clause, not an Annex A control
        ("A.11.1", True, "why", None, "control_id"),
        ("A.5.2", True, "  ", None, "justification"),
        ("A.5.2", True, "why", "not_applicable", "status"),
        ("A.5.2", False, "why", "implemented", "status"),
        ("A.5.2", True, "why", "done", "status"),
    ],
)
def test_inconsistent_entries_are_refused(
    records: AimsRecords,
    control_id: str,
    applicable: bool,
    justification: str,
    status: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.set_soa_entry(
            control_id,
            actor="cli:gina",
            applicable=applicable,
            justification=justification,
            status=status,
        )
    assert raised.value.field == field
    assert records.soa_entries() == []
