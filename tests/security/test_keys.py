"""API keys on SQLite and PostgreSQL: only a digest is stored; keys authenticate until revoked."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from aimsight.core import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    Workspace,
    now_utc,
    set_clock,
)
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store


class RecordingAudit:
    """An audit trail that keeps what it is given."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def append(self, kind: str, **fields: Any) -> object:
        if self.fail:
            raise RuntimeError("audit trail unavailable")
        self.calls.append({"kind": kind, **fields})
        return None


@pytest.fixture
def audit() -> RecordingAudit:
    return RecordingAudit()


@pytest.fixture
def keys(any_store: Store, audit: RecordingAudit) -> ApiKeyService:
    return ApiKeyService(any_store, audit=audit)


def _secret_of(key_string: str) -> str:
    return key_string.split("_", 3)[3]


def test_only_a_digest_of_the_secret_is_stored(keys: ApiKeyService, any_store: Store) -> None:
    key, key_string = keys.create("ci-loader", Role.SERVICE, created_by="test")
    assert key_string.startswith(f"aims_{key.key_id}_")
    secret = _secret_of(key_string)
    with any_store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert secret not in stored and key_string not in stored
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()


def test_a_key_authenticates_with_its_role(keys: ApiKeyService) -> None:
    created, key_string = keys.create("jane.doe", "analyst", created_by="test")
    found = keys.authenticate(key_string)
    assert (found.key_id, found.name, found.role) == (created.key_id, "jane.doe", Role.ANALYST)
    assert found.active and found.last_used_at is not None
    assert "secret" not in str(found.to_dict()).lower()


@pytest.mark.parametrize(
    "presented",
    ["", "nope", "aims_x", "Bearer aims_y", "aims_ak_short_abcdefghijklmnopqrstuvwxyz"],
)
def test_malformed_keys_fail_without_echoing_them(keys: ApiKeyService, presented: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        keys.authenticate(presented)
    assert not presented or presented not in caught.value.message


def test_unknown_and_wrong_secret_keys_fail(keys: ApiKeyService) -> None:
    key, key_string = keys.create("svc", Role.SERVICE, created_by="test")
    wrong_secret = f"aims_{key.key_id}_" + "A" * 43
    unknown_id = "aims_ak_0000000000000000_" + _secret_of(key_string)
    for presented in (wrong_secret, unknown_id):
        with pytest.raises(AuthenticationFailed, match="not valid"):
            keys.authenticate(presented)


def test_a_revoked_key_fails_and_its_name_can_be_reused(keys: ApiKeyService) -> None:
    _, key_string = keys.create("svc", Role.SERVICE, created_by="test")
    revoked = keys.revoke("svc", revoked_by="test")
    assert not revoked.active
    with pytest.raises(AuthenticationFailed, match="revoked"):
        keys.authenticate(key_string)
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke("svc", revoked_by="test")
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke(revoked.key_id, revoked_by="test")
    _, again = keys.create("svc", Role.SERVICE, created_by="test")
    assert keys.authenticate(again).name == "svc"


def test_revoking_by_key_id_and_unknown_names(keys: ApiKeyService) -> None:
    key, _ = keys.create("svc", Role.SERVICE, created_by="test")
    assert keys.revoke(key.key_id, revoked_by="test").key_id == key.key_id
    with pytest.raises(NotFound, match="no API key named 'ghost'"):
        keys.revoke("ghost", revoked_by="test")


def test_a_duplicate_active_name_is_a_conflict(keys: ApiKeyService) -> None:
    keys.create("svc", Role.SERVICE, created_by="test")
    with pytest.raises(Conflict, match="active key named 'svc'"):
        keys.create("svc", Role.ADMIN, created_by="test")


@pytest.mark.parametrize("name", ["", "Jane", "jane@example.com", "a b", "-x", "x" * 101])
def test_bad_names_name_the_field(keys: ApiKeyService, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        keys.create(name, Role.ANALYST, created_by="test")
    assert caught.value.field == "name"


def test_a_bad_role_names_the_allowed_ones(keys: ApiKeyService) -> None:
    with pytest.raises(InvalidInput, match="allowed roles: admin, data_engineer") as caught:
        keys.create("x", "superuser", created_by="test")
    assert caught.value.field == "role"


def test_list_and_count_hide_revoked_keys_unless_asked(keys: ApiKeyService) -> None:
    for name in ("a", "b", "c"):
        keys.create(name, Role.AGENT, created_by="test")
    keys.revoke("b", revoked_by="test")
    assert [key.name for key in keys.list()] == ["a", "c"]
    assert [key.name for key in keys.list(include_revoked=True)] == ["a", "b", "c"]
    assert keys.count_active() == 2


def test_last_use_is_noted_at_most_once_a_minute(keys: ApiKeyService) -> None:
    _, key_string = keys.create("svc", Role.SERVICE, created_by="test")
    start = now_utc()
    set_clock(lambda: start)
    first = keys.authenticate(key_string).last_used_at
    set_clock(lambda: start + timedelta(seconds=30))
    assert keys.authenticate(key_string).last_used_at == first
    set_clock(lambda: start + timedelta(seconds=61))
    assert keys.authenticate(key_string).last_used_at != first


def test_changes_are_audited_without_the_secret(keys: ApiKeyService, audit: RecordingAudit) -> None:
    key, key_string = keys.create("svc", Role.SERVICE, created_by="cli:ops")
    keys.revoke("svc", revoked_by="cli:ops")
    assert [(c["kind"], c["subject"], c["payload"]) for c in audit.calls] == [
        ("apikey.created", key.key_id, {"name": "svc", "role": "service"}),
        ("apikey.revoked", key.key_id, {"name": "svc", "role": "service"}),
    ]
    assert all(call["actor"] == "cli:ops" for call in audit.calls)
    assert _secret_of(key_string) not in repr(audit.calls)


def test_a_change_the_audit_trail_refuses_is_not_made(any_store: Store) -> None:
    keys = ApiKeyService(any_store, audit=RecordingAudit(fail=True))
    with pytest.raises(RuntimeError):
        keys.create("svc", Role.SERVICE, created_by="test")
    assert keys.list(include_revoked=True) == []
    ApiKeyService(any_store).create("svc", Role.SERVICE, created_by="test")
    with pytest.raises(RuntimeError):
        keys.revoke("svc", revoked_by="test")
    assert [key.active for key in keys.list(include_revoked=True)] == [True]


def test_key_changes_land_on_the_ledger(any_workspace: Workspace, any_store: Store) -> None:
    ledger = Ledger.open(any_workspace, any_store)
    keys = ApiKeyService(any_store, audit=ledger)
    key, key_string = keys.create("svc", Role.SERVICE, created_by="test")
    keys.revoke("svc", revoked_by="test")
    entries = ledger.entries(kind="apikey.*")
    assert [(e.kind, e.subject) for e in entries] == [
        ("apikey.created", key.key_id),
        ("apikey.revoked", key.key_id),
    ]
    assert _secret_of(key_string) not in repr([e.to_dict() for e in entries])
    assert ledger.verify().ok
