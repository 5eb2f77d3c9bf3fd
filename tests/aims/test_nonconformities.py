"""Nonconformities and corrective actions: closing needs a root cause, done actions and an
effectiveness check that found them effective."""

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


def test_a_nonconformity_closes_only_after_an_effective_check(
    records: AimsRecords, ledger: Ledger
) -> None:
    nc = records.raise_nonconformity(
        "churn v3 was approved by the person who trained it",
        actor="cli:gina",
        source="check failure",
        source_ref="approval_by_another",
    )
    assert (nc.source, nc.status) == ("check_failure", "open")
    with pytest.raises(Conflict, match="root cause"):
        records.close_nonconformity(nc.nc_id, actor="cli:gina")
    records.set_root_cause(nc.nc_id, "Shared admin key used for both steps", actor="cli:gina")
    action = records.add_corrective_action(
        nc.nc_id, actor="cli:gina", action="Revoke the shared key", owner="admin", due="2026-12-01"
    )
    with pytest.raises(Conflict, match="open corrective actions"):
        records.close_nonconformity(nc.nc_id, actor="cli:gina")
    records.complete_corrective_action(action.action_id, actor="cli:admin")
    with pytest.raises(Conflict, match="none was recorded"):
        records.close_nonconformity(nc.nc_id, actor="cli:gina")
    records.record_effectiveness_check(
        nc.nc_id, actor="cli:gina", effective=False, result="Key still in CI", checked_by="Gina"
    )
    with pytest.raises(Conflict, match="not effective"):
        records.close_nonconformity(nc.nc_id, actor="cli:gina")
    records.record_effectiveness_check(
        nc.nc_id,
        actor="cli:gina",
        effective=True,
        result="No shared keys left; approvals since are by others",
        checked_by="Gina",
        checked_on="2026-12-15",
    )
    closed = records.close_nonconformity(nc.nc_id, actor="cli:gina")
    assert (closed.status, closed.closed_by) == ("closed", "cli:gina")
    assert [c.effective for c in closed.effectiveness_checks] == [False, True]
    assert [a.status for a in closed.actions] == ["done"]
    assert records.nonconformities(status="open") == []
    assert records.nonconformity(nc.nc_id) == closed
    assert ledger.entries(kind="aims.nonconformity.closed")[0].payload == {
        "nc_id": nc.nc_id,
        "effectiveness_checked_on": "2026-12-15",
    }
    with pytest.raises(Conflict, match="closed"):
        records.add_corrective_action(
            nc.nc_id, actor="g", action="more", owner="g", due="2027-01-01"
        )
    with pytest.raises(Conflict):
        records.complete_corrective_action(action.action_id, actor="cli:admin")


def test_malformed_input_and_unknown_ids_are_refused(records: AimsRecords) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.raise_nonconformity("x", actor="cli:gina", source="gossip")
    assert raised.value.field == "source"
    with pytest.raises(NotFound):
        records.raise_nonconformity("x", actor="cli:gina", source="other", system_id="ais_nope")
    nc = records.raise_nonconformity("x", actor="cli:gina", source="incident")
    with pytest.raises(InvalidInput) as raised:
        records.add_corrective_action(nc.nc_id, actor="g", action="fix", owner="g", due="soon")
    assert raised.value.field == "due"
    with pytest.raises(InvalidInput) as raised:
        records.record_effectiveness_check(
            nc.nc_id,
            actor="g",
            effective="yes",
            result="ok",
            checked_by="g",  # type: ignore[arg-type]
        )
    assert raised.value.field == "effective"
    with pytest.raises(NotFound):
        records.close_nonconformity("ncr_nope", actor="cli:gina")
