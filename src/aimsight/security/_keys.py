"""API keys: create, list, revoke and authenticate.

A key reads ``aims_<key id>_<secret>``. It is shown once, when it is created; the store keeps
only the SHA-256 of the secret, so a copy of the database does not let anyone call the API.
The key id in front lets :meth:`ApiKeyService.authenticate` find the row without scanning,
and the secret is then compared in constant time.

Creating and revoking a key are recorded on the audit trail (the ledger) before they are
acknowledged, with the key's id, name and role and never its secret.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import OperationalError

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from aimsight.core.ids import new_id, new_secret
from aimsight.security._roles import Role, parse_role
from aimsight.security._tables import ApiKeyRow
from aimsight.store import Store

__all__ = ["ApiKey", "ApiKeyService", "AuditTrail"]

KEY_PREFIX = "aims_"
_KEY = re.compile(r"^aims_(ak_[0-9a-z]{16})_([A-Za-z0-9_-]{16,128})$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_MAX_ACTOR = 100
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_NO_MATCH = hashlib.sha256(b"no such key").hexdigest()


class AuditTrail(Protocol):
    """Where key changes are recorded; :class:`aimsight.store.Ledger` is one."""

    def append(
        self,
        kind: str,
        *,
        actor: str,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        personal: Mapping[str, Any] | None = None,
    ) -> object:
        """Record one event durably before returning."""
        ...


@dataclass(frozen=True)
class ApiKey:
    """An API key as its owner and admins see it: never the secret."""

    key_id: str
    name: str
    role: Role
    created_at: str
    created_by: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the key, with ``active`` included."""
        return {**asdict(self), "role": self.role.value, "active": self.active}


class ApiKeyService:
    """Creates, lists, revokes and checks API keys in the operational store.

    Args:
        store: the operational store holding the ``api_keys`` table.
        audit: where creations and revocations are recorded (the ledger); ``None`` records
            nothing, for read-only uses such as ``aimsight status``.
    """

    def __init__(self, store: Store, audit: AuditTrail | None = None) -> None:
        self._store = store
        self._audit = audit

    def create(self, name: str, role: Role | str, *, created_by: str) -> tuple[ApiKey, str]:
        """Create a key for ``name`` with ``role``; return it and the secret key string.

        The key string is returned only here: store it now, it cannot be shown again.

        Raises:
            InvalidInput: ``name``, ``role`` or ``created_by`` is malformed (the message names
                the field).
            Conflict: an active key with this name exists; revoke it first.
        """
        _check_name(name)
        checked_role = role if isinstance(role, Role) else parse_role(role)
        _check_actor(created_by, "created_by")
        secret = new_secret()
        row = ApiKeyRow(
            key_id=new_id("ak"),
            name=name,
            role=checked_role.value,
            secret_hash=_digest(secret),
            created_at=isoformat_utc(now_utc()),
            created_by=created_by,
            revoked_at=None,
            last_used_at=None,
        )
        with self._store.session() as session:
            clash = session.scalar(
                select(ApiKeyRow.key_id).where(
                    ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None)
                )
            )
            if clash is not None:
                raise Conflict(
                    f"an active key named {name!r} exists ({clash}); revoke it first or "
                    "choose another name"
                )
            session.add(row)
        key = _from_row(row)
        try:
            self._record("apikey.created", key, actor=created_by)
        except BaseException:
            with self._store.session() as session:  # not acknowledged unless recorded
                session.execute(delete(ApiKeyRow).where(ApiKeyRow.key_id == key.key_id))
            raise
        return key, f"{KEY_PREFIX}{key.key_id}_{secret}"

    def list(self, include_revoked: bool = False) -> builtins.list[ApiKey]:
        """Keys by creation time; only active ones unless ``include_revoked``."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._store.session() as session:
            return [_from_row(row) for row in session.scalars(query)]

    def revoke(self, name_or_key_id: str, *, revoked_by: str) -> ApiKey:
        """Revoke the active key with this name (or key id); it stops working at once.

        Raises:
            NotFound: no key has this name or id.
            Conflict: the key is already revoked.
        """
        _check_actor(revoked_by, "revoked_by")
        revoked_at = isoformat_utc(now_utc())
        with self._store.session() as session:
            row = session.get(ApiKeyRow, name_or_key_id) or session.scalar(
                select(ApiKeyRow).where(
                    ApiKeyRow.name == name_or_key_id, ApiKeyRow.revoked_at.is_(None)
                )
            )
            if row is None:
                revoked_before = session.scalar(
                    select(ApiKeyRow.key_id).where(ApiKeyRow.name == name_or_key_id)
                )
                if revoked_before is not None:
                    raise Conflict(f"the key {name_or_key_id!r} is already revoked")
                raise NotFound(
                    f"no API key named {name_or_key_id!r}; `aimsight users list` shows them"
                )
            if row.revoked_at is not None:
                raise Conflict(
                    f"the key {name_or_key_id!r} was already revoked at {row.revoked_at}"
                )
            row.revoked_at = revoked_at
        key = _from_row(row)
        try:
            self._record("apikey.revoked", key, actor=revoked_by)
        except BaseException:
            with self._store.session() as session:  # not acknowledged unless recorded
                session.execute(
                    update(ApiKeyRow).where(ApiKeyRow.key_id == key.key_id).values(revoked_at=None)
                )
            raise
        return key

    def authenticate(self, presented: str, *, note_use: bool = True) -> ApiKey:
        """The active key whose string is ``presented``.

        Also notes when the key was last used (at most once a minute, to spare the store),
        unless ``note_use`` is false: a caller that must not wait for a write (the API's
        event loop) then calls :meth:`note_use` where it may, when :meth:`use_note_due`.

        Raises:
            AuthenticationFailed: the string is malformed, unknown or revoked. The message
                never repeats what was presented.
        """
        match = _KEY.fullmatch(presented.strip())
        if match is None:
            raise AuthenticationFailed(
                "the API key is malformed; keys look like aims_ak_<id>_<secret>"
            )
        key_id, secret = match.groups()
        # A plain indexed read, not an ORM session: every API request makes it.
        with self._store.engine.connect() as connection:
            row = connection.execute(_SELECT_KEY, {"key_id": key_id}).first()
        expected = row.secret_hash if row is not None else _NO_MATCH
        if not hmac.compare_digest(_digest(secret), expected) or row is None:
            raise AuthenticationFailed("the API key is not valid")
        if row.revoked_at is not None:
            raise AuthenticationFailed("the API key has been revoked")
        try:
            role = Role(row.role)
        except ValueError:
            raise AuthenticationFailed(
                f"the API key has a role this version does not know ({row.role!r})"
            ) from None
        key = _from_row(row, role)
        return self.note_use(key) if note_use else key

    def use_note_due(self, key: ApiKey) -> bool:
        """Whether :meth:`note_use` would write (no note from this process in the last
        minute, nor in the store)."""
        now = now_utc()
        with _NOTING:
            return _due(key.last_used_at, now) and not _noted_lately(key.key_id, now)

    def note_use(self, key: ApiKey) -> ApiKey:
        """Note that ``key`` was used now, if due; ``key`` with its new last use."""
        noted = self._note_use(key.key_id, key.last_used_at)
        return key if noted is None else replace(key, last_used_at=noted)

    def _note_use(self, key_id: str, recorded: str | None) -> str | None:
        """Record that the key was used, at most once a minute and by one thread at a time.

        Best effort: when the store is busy (many requests at once on SQLite), the note is
        skipped rather than failing the request; the next minute's request writes it.
        """
        now = now_utc()
        if not _due(recorded, now):
            return None
        with _NOTING:
            if _noted_lately(key_id, now):
                return None
            _NOTED[key_id] = now
        noted = isoformat_utc(now)
        try:
            with self._store.session() as session:
                session.execute(
                    update(ApiKeyRow).where(ApiKeyRow.key_id == key_id).values(last_used_at=noted)
                )
        except OperationalError:
            with _NOTING:
                _NOTED.pop(key_id, None)
            return None
        return noted

    def count_active(self) -> int:
        """How many keys are not revoked."""
        with self._store.session() as session:
            count = session.scalar(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))
            )
        return int(count or 0)

    def _record(self, kind: str, key: ApiKey, *, actor: str) -> None:
        if self._audit is not None:
            self._audit.append(
                kind,
                actor=actor,
                subject=key.key_id,
                payload={"name": key.name, "role": key.role.value},
            )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


_SELECT_KEY = select(
    ApiKeyRow.key_id,
    ApiKeyRow.name,
    ApiKeyRow.role,
    ApiKeyRow.secret_hash,
    ApiKeyRow.created_at,
    ApiKeyRow.created_by,
    ApiKeyRow.revoked_at,
    ApiKeyRow.last_used_at,
).where(ApiKeyRow.key_id == bindparam("key_id"))

_NOTED: dict[str, datetime] = {}
"""When this process last wrote each key's last use (requests share it across service objects)."""
_NOTING = threading.Lock()


def _noted_lately(key_id: str, now: datetime) -> bool:
    """Whether this process noted the key's use within the last minute (hold ``_NOTING``)."""
    last = _NOTED.get(key_id)
    return last is not None and timedelta(0) <= now - last < _LAST_USED_RESOLUTION


def _due(last_used_at: str | None, now: datetime) -> bool:
    if last_used_at is None:
        return True
    try:
        last = datetime.fromisoformat(last_used_at)
    except ValueError:
        return True
    return now - last >= _LAST_USED_RESOLUTION


def _check_name(name: str) -> None:
    """Names are labels (``ci-loader``, ``jane.doe``), not e-mails: they enter the ledger."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidInput(
            f"name {name!r} is not allowed: use 1-100 lower-case letters, digits, '.', '_' or "
            "'-', starting with a letter or digit",
            field="name",
        )


def _check_actor(actor: str, field: str) -> None:
    if not actor or len(actor) > _MAX_ACTOR:
        raise InvalidInput(f"{field} must be 1-{_MAX_ACTOR} characters", field=field)


def _from_row(row: Any, role: Role | None = None) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        role=role or Role(row.role),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
