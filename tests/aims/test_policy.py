"""AI policy versions with review dates (A.2) and the roles and responsibilities matrix (A.3.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import InvalidInput, Workspace
from aimsight.security import ROLE_PERMISSIONS, ApiKeyService, Role
from aimsight.store import Ledger, Store

POLICY = "We use AI only where it serves customers, with people able to overrule it."


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_policy_versions_are_numbered_and_the_current_one_is_in_effect(
    records: AimsRecords, ledger: Ledger
) -> None:
    assert records.current_policy() is None
    today = datetime.now(UTC).date()
    first = records.add_policy_version(
        POLICY,
        actor="cli:gina",
        approved_by="Board",
        effective=today - timedelta(days=30),
        next_review=today + timedelta(days=335),
    )
    future = records.add_policy_version(
        POLICY + " Reviewed yearly.",
        actor="cli:gina",
        approved_by="Board",
        effective=(today + timedelta(days=10)).isoformat(),
        next_review=(today + timedelta(days=375)).isoformat(),
    )
    assert (first.version, future.version) == (1, 2)
    assert [p.version for p in records.policy_versions()] == [1, 2]
    assert records.current_policy() == first  # version 2 is not in effect yet
    entry = ledger.entries(subject="policy:v1", include_personal=True)[0]
    assert entry.payload["text_sha256"] == first.text_sha256
    assert entry.personal == {"approved_by": "Board"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": " "}, "text"),
        ({"next_review": "2026-01-01"}, "next_review"),  # not after the effective date
        ({"effective": "1 March 2026"}, "effective"),
        ({"effective": "2026-02-30"}, "effective"),
    ],
)
def test_malformed_policy_versions_are_refused(
    records: AimsRecords, changes: dict[str, str], field: str
) -> None:
    values = {"text": POLICY, "effective": "2026-01-01", "next_review": "2027-01-01", **changes}
    with pytest.raises(InvalidInput) as raised:
        records.add_policy_version(
            values["text"],
            actor="cli:gina",
            approved_by="Board",
            effective=values["effective"],
            next_review=values["next_review"],
        )
    assert raised.value.field == field


def test_roles_matrix_ties_each_application_role_to_permissions_duties_and_holders(
    records: AimsRecords, store: Store
) -> None:
    keys = ApiKeyService(store)
    keys.create("gina", Role.GOVERNANCE, created_by="admin")
    keys.create("olga", Role.GOVERNANCE, created_by="admin")
    keys.create("dan", Role.DATA_ENGINEER, created_by="admin")
    keys.revoke("olga", revoked_by="admin")

    rows = {row["role"]: row for row in records.roles_matrix()}
    assert set(rows) == {role.value for role in Role}
    governance = rows["governance"]
    assert governance["holders"] == ["gina"]  # revoked keys hold no role
    assert "models:approve" in governance["permissions"]
    assert any("Approves models" in duty for duty in governance["responsibilities"])
    assert rows["data_engineer"]["holders"] == ["dan"]
    assert all(row["responsibilities"] for row in rows.values())
    assert rows["analyst"]["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS[Role.ANALYST])
