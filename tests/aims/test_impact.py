"""Impact assessments per AI system: sign-off, expiry, and which one is current."""

from __future__ import annotations

from datetime import date
from typing import Any

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


@pytest.fixture
def system_id(records: AimsRecords) -> str:
    return records.create_system("churn", actor="cli:gina").system_id


def _assess(records: AimsRecords, system_id: str, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "actor": "cli:gina",
        "affected": ["paying customers", "customers over 65"],
        "harms": ["retention offers withheld from a group"],
        "severity": "medium",
        "mitigations": ["fairness gate at training", "monthly parity report"],
        "expires_on": "2027-06-30",
    }
    values.update(changes)
    return records.add_impact_assessment(system_id, **values)


def test_a_signed_unexpired_assessment_is_current_until_it_expires(
    records: AimsRecords, system_id: str, ledger: Ledger
) -> None:
    draft = _assess(records, system_id)
    assert draft.signed_off_by is None
    assert records.current_assessment(system_id, on=date(2027, 1, 1)) is None  # not signed

    signed = records.sign_off_impact_assessment(
        draft.assessment_id, by="Gina", at="2026-12-01T09:00:00Z", actor="cli:gina"
    )
    assert (signed.signed_off_by, signed.signed_off_at) == ("Gina", "2026-12-01T09:00:00.000000Z")
    assert records.current_assessment(system_id, on=date(2027, 6, 30)) == signed  # last day
    assert records.current_assessment(system_id, on=date(2027, 7, 1)) is None  # expired
    assert records.impact_assessments(system_id) == [signed]
    entry = ledger.entries(kind="aims.impact_assessment.signed_off", include_personal=True)[0]
    assert entry.personal == {"signed_off_by": "Gina"}
    with pytest.raises(Conflict):
        records.sign_off_impact_assessment(draft.assessment_id, by="Olga", actor="cli:olga")


def test_the_newest_signed_assessment_is_the_current_one(
    records: AimsRecords, system_id: str
) -> None:
    _assess(records, system_id, signed_off_by="Gina", signed_off_at="2026-01-10T00:00:00Z")
    newer = _assess(
        records,
        system_id,
        severity="high",
        signed_off_by="Gina",
        signed_off_at="2026-03-10T00:00:00+01:00",
    )
    assert records.current_assessment(system_id, on=date(2026, 4, 1)) == newer
    other = records.create_system("upsell", actor="cli:gina").system_id
    assert records.current_assessment(other, on=date(2026, 4, 1)) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"affected": []}, "affected"),
        ({"harms": [" "]}, "harms[0]"),
        ({"severity": "catastrophic"}, "severity"),
        ({"expires_on": "next year"}, "expires_on"),
        ({"signed_off_by": "Gina", "signed_off_at": "2027-07-01T00:00:00Z"}, "expires_on"),
        ({"signed_off_by": "Gina", "signed_off_at": "2026-07-01T00:00:00"}, "signed_off_at"),
        ({"signed_off_at": "2026-07-01T00:00:00Z"}, "signed_off_by"),
    ],
)
def test_malformed_assessments_are_refused_naming_the_field(
    records: AimsRecords, system_id: str, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _assess(records, system_id, **changes)
    assert raised.value.field == field
    assert records.impact_assessments() == []


def test_sign_off_after_expiry_and_unknown_ids_are_refused(
    records: AimsRecords, system_id: str
) -> None:
    draft = _assess(records, system_id, expires_on="2026-01-01")
    with pytest.raises(InvalidInput) as raised:
        records.sign_off_impact_assessment(
            draft.assessment_id, by="Gina", at="2026-01-01T08:00:00Z", actor="cli:gina"
        )
    assert raised.value.field == "expires_on"
    with pytest.raises(NotFound):
        _assess(records, "ais_nope")
    with pytest.raises(NotFound):
        records.sign_off_impact_assessment("aia_nope", by="Gina", actor="cli:gina")
