"""The permission matrix: complete, separating duties, and parsed and rendered faithfully."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core import InvalidInput
from aimsight.security import (
    ROLE_PERMISSIONS,
    SEPARATED_DUTIES,
    Permission,
    Role,
    has_permission,
    parse_role,
    render_permission_matrix,
)


def test_every_role_is_in_the_matrix_and_admin_holds_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_every_role_can_check_health_and_see_who_it_is() -> None:
    for role in Role:
        assert has_permission(role, Permission.HEALTH_READ)
        assert has_permission(role, Permission.META_READ)


def test_only_admin_manages_keys() -> None:
    assert [r for r in Role if has_permission(r, Permission.USERS_MANAGE)] == [Role.ADMIN]


def test_no_role_but_admin_both_trains_and_approves_a_model() -> None:
    duty = {Permission.MODELS_TRAIN, Permission.MODELS_APPROVE}
    assert frozenset(duty) in SEPARATED_DUTIES
    for role in Role:
        if role is not Role.ADMIN:
            for separated in SEPARATED_DUTIES:
                assert not separated <= ROLE_PERMISSIONS[role], f"{role} holds all of {separated}"
    assert has_permission(Role.DATA_ENGINEER, Permission.MODELS_TRAIN)
    assert has_permission(Role.GOVERNANCE, Permission.MODELS_APPROVE)


def test_the_jobs_in_the_design_have_their_permissions() -> None:
    assert has_permission(Role.PRIVACY, Permission.LEDGER_ERASE)
    assert has_permission(Role.PRIVACY, Permission.DSAR_MANAGE)
    assert has_permission(Role.GOVERNANCE, Permission.LEDGER_VERIFY)
    assert has_permission(Role.AGENT, Permission.DECISIONS_MAKE)
    assert not has_permission(Role.AGENT, Permission.CUSTOMERS_READ)
    assert has_permission(Role.SERVICE, Permission.INGEST_WRITE)
    assert not has_permission(Role.ANALYST, Permission.LEDGER_ERASE)


def test_permissions_read_resource_colon_action() -> None:
    for permission in Permission:
        assert re.fullmatch(r"[a-z]+:[a-z]+", permission.value)


@given(st.sampled_from(list(Role)), st.sampled_from(list(Permission)))
def test_has_permission_is_the_matrix(role: Role, permission: Permission) -> None:
    assert has_permission(role, permission) == (permission in ROLE_PERMISSIONS[role])


@given(st.sampled_from(list(Role)), st.data())
def test_parse_role_ignores_case_spaces_and_dashes(role: Role, data: st.DataObject) -> None:
    spelled = "".join(
        data.draw(st.sampled_from([ch.lower(), ch.upper()])) if ch != "_" else "-"
        for ch in role.value
    )
    assert parse_role(f"  {spelled} ") is role


@given(st.text(max_size=30))
def test_parse_role_rejects_anything_else_naming_the_allowed_roles(text: str) -> None:
    if text.strip().lower().replace("-", "_") in {role.value for role in Role}:
        return
    with pytest.raises(InvalidInput) as caught:
        parse_role(text)
    assert caught.value.field == "role"
    for role in Role:
        assert role.value in caught.value.message


def test_the_rendered_matrix_ticks_exactly_the_held_permissions() -> None:
    lines = render_permission_matrix().splitlines()
    header = [cell.strip(" `") for cell in lines[0].strip("|").split("|")]
    assert header == ["permission", *(role.value for role in Role)]
    rows = lines[2:]
    assert len(rows) == len(Permission)
    for row, permission in zip(rows, Permission, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0] == f"`{permission.value}`"
        ticks = [cell == "✓" for cell in cells[1:]]
        assert ticks == [has_permission(role, permission) for role in Role]
