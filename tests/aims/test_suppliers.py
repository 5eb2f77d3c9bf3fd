"""Supplier and third-party AI component assessments (A.10.3)."""

from __future__ import annotations

from typing import Any

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import InvalidInput, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_assessments_are_kept_per_component_oldest_first(
    records: AimsRecords, ledger: Ledger
) -> None:
    first = records.assess_supplier(
        "splink",
        actor="cli:gina",
        supplier="UK Ministry of Justice",
        assessed_by="Gina",
        outcome="approved",
        assessed_at="2026-01-05T10:00:00Z",
        next_review="2027-01-05",
    )
    records.assess_supplier(
        "shap",
        actor="cli:gina",
        supplier="shap maintainers",
        assessed_by="Gina",
        outcome="approved_with_conditions",
        notes="Pin the version; exact TreeSHAP only",
    )
    again = records.assess_supplier(
        "splink",
        actor="cli:gina",
        supplier="UK Ministry of Justice",
        assessed_by="Olga",
        outcome="Approved",
    )
    assert records.supplier_assessments("splink") == [first, again]
    assert [a.component for a in records.supplier_assessments()] == ["splink", "shap", "splink"]
    assert (first.outcome, first.next_review) == ("approved", "2027-01-05")
    entry = ledger.entries(subject=first.assessment_id, include_personal=True)[0]
    assert entry.payload["component"] == "splink" and entry.personal == {"assessed_by": "Gina"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "approved_with_conditions"}, "notes"),
        ({"supplier": ""}, "supplier"),
        ({"next_review": "2026-01-05", "assessed_at": "2026-01-05T10:00:00Z"}, "next_review"),
    ],
)
def test_malformed_assessments_are_refused(
    records: AimsRecords, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "actor": "cli:gina",
        "supplier": "scikit-learn developers",
        "assessed_by": "Gina",
        "outcome": "approved",
    }
    values.update(changes)
    with pytest.raises(InvalidInput) as raised:
        records.assess_supplier("scikit-learn", **values)
    assert raised.value.field == field
    assert records.supplier_assessments() == []
