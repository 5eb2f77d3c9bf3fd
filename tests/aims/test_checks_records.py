"""Checks over the AIMS records: impact assessments current (A.5.2-A.5.4), owners holding roles
(A.3.2) and third-party components assessed (A.10.3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.aims._checks_records import (
    impact_assessments_current,
    owners_hold_roles,
    third_parties_assessed,
)
from aimsight.aims._model import CheckStatus
from aimsight.security import ApiKeyService, Role
from tests.aims._checks_fakes import FakeRecords, Live, impact, open_live, supplier, system

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from open_live(tmp_path / "ws")


# -- impact assessments -------------------------------------------------------------------


def test_systems_with_signed_unexpired_assessments_pass(live: Live) -> None:
    live.records.systems = [system("a"), system("b")]
    live.records.assessments = [impact("a"), impact("b", expires_on="2026-06-01")]
    result = impact_assessments_current(live.context(NOW))
    assert result.status is CheckStatus.PASS
    assert {e.ref for e in result.evidence} == {"ia_a_2099-01-01", "ia_b_2026-06-01"}


def test_a_system_without_an_assessment_fails_naming_it(live: Live) -> None:
    live.records.systems = [system("a"), system("b")]
    live.records.assessments = [impact("a")]
    result = impact_assessments_current(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert len(result.findings) == 1
    assert "System b (b) has no impact assessment" in result.findings[0]


def test_an_expired_assessment_fails_with_its_date(live: Live) -> None:
    live.records.systems = [system("a")]
    live.records.assessments = [impact("a", expires_on="2026-05-31")]
    result = impact_assessments_current(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert "expired on 2026-05-31" in result.findings[0]


def test_an_assessment_nobody_signed_off_fails(live: Live) -> None:
    live.records.systems = [system("a")]
    live.records.assessments = [impact("a", signed_off_by=None, signed_off_at=None)]
    result = impact_assessments_current(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert "is not signed off" in result.findings[0]


def test_a_newer_assessment_replaces_an_expired_one(live: Live) -> None:
    live.records.systems = [system("a")]
    live.records.assessments = [impact("a", expires_on="2025-01-01"), impact("a")]
    assert impact_assessments_current(live.context(NOW)).status is CheckStatus.PASS


def test_out_of_scope_systems_need_no_assessment(live: Live) -> None:
    live.records.systems = [system("a"), system("lab", in_scope=False)]
    live.records.assessments = [impact("a")]
    assert impact_assessments_current(live.context(NOW)).status is CheckStatus.PASS


def test_an_empty_inventory_warns_rather_than_passes(live: Live) -> None:
    result = impact_assessments_current(live.context(NOW))
    assert result.status is CheckStatus.WARN
    assert "inventory is empty" in result.summary
    live.records.systems = [system("lab", in_scope=False)]
    assert "is in scope" in impact_assessments_current(live.context(NOW)).summary


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from open_live(tmp_path_factory.mktemp("records") / "ws")


assessment_states = st.sampled_from(["none", "current", "expired", "unsigned"])


@settings(max_examples=40, deadline=None)
@given(states=st.lists(st.tuples(st.booleans(), assessment_states), min_size=1, max_size=6))
def test_impact_check_passes_exactly_when_every_in_scope_system_is_covered(
    shared_live: Live, states: list[tuple[bool, str]]
) -> None:
    systems, assessments = [], []
    for index, (scoped, state) in enumerate(states):
        system_id = f"s{index}"
        systems.append(system(system_id, in_scope=scoped))
        if state == "current":
            assessments.append(impact(system_id))
        elif state == "expired":
            assessments.append(impact(system_id, expires_on="2020-01-01"))
        elif state == "unsigned":
            assessments.append(impact(system_id, signed_off_by=" ", signed_off_at=None))
    shared_live.records = FakeRecords(systems, assessments)
    result = impact_assessments_current(shared_live.context(NOW))
    in_scope = [state for is_in, state in states if is_in]
    lacking = [state for state in in_scope if state != "current"]
    if not in_scope:
        assert result.status is CheckStatus.WARN
    elif lacking:
        assert result.status is CheckStatus.FAIL
        assert len(result.findings) == len(lacking)
    else:
        assert result.status is CheckStatus.PASS and not result.findings
        assert len(result.evidence) == len(in_scope)


# -- owners hold roles --------------------------------------------------------------------


def test_an_owner_holding_an_active_key_passes_with_the_key_as_evidence(live: Live) -> None:
    key, _ = ApiKeyService(live.store).create("gina", Role.GOVERNANCE, created_by="admin")
    live.records.systems = [system("a", owner="Gina", owner_role=None)]
    result = owners_hold_roles(live.context(NOW))
    assert result.status is CheckStatus.PASS
    assert [(e.kind, e.ref) for e in result.evidence] == [("api_key", key.key_id)]


def test_an_owner_recorded_with_a_real_role_or_named_as_a_role_passes(live: Live) -> None:
    live.records.systems = [
        system("a", owner="Retention team", owner_role="analyst"),
        system("b", owner="governance", owner_role=None),
    ]
    assert owners_hold_roles(live.context(NOW)).status is CheckStatus.PASS


def test_a_system_without_an_owner_fails(live: Live) -> None:
    live.records.systems = [system("a"), system("b", owner=None, owner_role=None)]
    result = owners_hold_roles(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert result.findings == (
        "System b (b): it has no owner; name the person or role who answers for it",
    )


def test_owners_without_a_role_or_with_a_revoked_key_fail(live: Live) -> None:
    keys = ApiKeyService(live.store)
    keys.create("bob", Role.ANALYST, created_by="admin")
    keys.revoke("bob", revoked_by="admin")
    live.records.systems = [
        system("a", owner="bob", owner_role=None),
        system("b", owner="carol", owner_role="chief"),
    ]
    result = owners_hold_roles(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert "bob holds no role" in result.findings[0]
    assert "'chief' is not an aimsight role" in result.findings[1]


def test_an_owner_whose_key_holds_another_role_than_recorded_fails(live: Live) -> None:
    ApiKeyService(live.store).create("dan", Role.ANALYST, created_by="admin")
    live.records.systems = [system("a", owner="dan", owner_role="governance")]
    result = owners_hold_roles(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert "recorded with the role governance but holds analyst" in result.findings[0]


def test_owners_are_checked_for_out_of_scope_systems_too(live: Live) -> None:
    live.records.systems = [system("lab", in_scope=False, owner="", owner_role=None)]
    assert owners_hold_roles(live.context(NOW)).status is CheckStatus.FAIL


# -- third parties assessed ---------------------------------------------------------------


def test_components_with_standing_assessments_pass(live: Live) -> None:
    live.records.systems = [
        system("a", third_party=("scikit-learn", "Splink")),
        system("b", third_party=("splink",)),
    ]
    live.records.suppliers = [
        supplier("scikit-learn"),
        supplier("splink", outcome="approved_with_conditions", next_review=None),
    ]
    result = third_parties_assessed(live.context(NOW))
    assert result.status is CheckStatus.PASS
    assert {e.ref for e in result.evidence} == {"sa_scikit-learn", "sa_splink"}


def test_an_unassessed_component_fails_naming_who_uses_it(live: Live) -> None:
    live.records.systems = [system("a", third_party=("scikit-learn", "vendor scoring API"))]
    live.records.suppliers = [supplier("scikit-learn")]
    result = third_parties_assessed(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert result.findings == ("vendor scoring API (used by System a) has no supplier assessment",)


def test_rejected_or_overdue_assessments_fail(live: Live) -> None:
    live.records.systems = [system("a", third_party=("lifelines", "splink"))]
    live.records.suppliers = [
        supplier("lifelines", outcome="rejected"),
        supplier("splink", next_review=(NOW.date() - timedelta(days=1)).isoformat()),
    ]
    result = third_parties_assessed(live.context(NOW))
    assert result.status is CheckStatus.FAIL
    assert "rejected it" in result.findings[0]
    assert f"review was due on {date(2026, 5, 31).isoformat()}" in result.findings[1]


def test_the_latest_assessment_of_a_component_decides(live: Live) -> None:
    live.records.systems = [system("a", third_party=("splink",))]
    live.records.suppliers = [
        supplier("splink", assessment_id="old", outcome="rejected", assessed_at="2025-01-01"),
        supplier("splink", assessment_id="new", assessed_at="2026-03-01T10:00:00Z"),
    ]
    result = third_parties_assessed(live.context(NOW))
    assert result.status is CheckStatus.PASS
    assert [e.ref for e in result.evidence] == ["new"]


def test_no_listed_component_warns_that_the_list_is_likely_unfilled(live: Live) -> None:
    live.records.systems = [system("a", third_party=())]
    result = third_parties_assessed(live.context(NOW))
    assert result.status is CheckStatus.WARN
    assert "lists a third-party component" in result.summary
