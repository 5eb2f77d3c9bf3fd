"""What the API sends and receives: one schema per direction, apart from the table models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aimsight.security import ApiKey, Permission, Role
from aimsight.store import LedgerEntry, LedgerVerification

__all__ = [
    "ErrorBody",
    "ErrorResponse",
    "HealthPublic",
    "LedgerEntryPublic",
    "LedgerPage",
    "LedgerVerificationPublic",
    "StoreHealth",
    "UserCreate",
    "UserCreated",
    "UserList",
    "UserPublic",
    "VersionPublic",
    "WhoAmIPublic",
]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Schema):
    """What went wrong, in the same shape for every error the API returns."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: list[dict[str, Any]] = Field(
        default_factory=list, description="Per-field problems (`field`, `message`), if any."
    )
    request_id: str | None = Field(description="Quote this id when asking an operator.")


class ErrorResponse(_Schema):
    """The body of every error response."""

    error: ErrorBody


class StoreHealth(_Schema):
    """The operational store as the API sees it."""

    backend: str
    revision: str | None
    head: str
    up_to_date: bool


class HealthPublic(_Schema):
    """``ok`` when the store answers and its schema is current, else ``degraded``."""

    status: Literal["ok", "degraded"]
    store: StoreHealth


class VersionPublic(_Schema):
    """The software and API versions serving this request."""

    version: str
    api_version: str


class WhoAmIPublic(_Schema):
    """The key making this request: its name, role and what that role may do."""

    key_id: str
    name: str
    role: Role
    permissions: list[Permission]


class UserPublic(_Schema):
    """An API key as admins see it; never the secret."""

    key_id: str
    name: str
    role: Role
    created_at: str
    created_by: str
    revoked_at: str | None
    last_used_at: str | None
    active: bool

    @classmethod
    def of(cls, key: ApiKey) -> UserPublic:
        """The public view of ``key``."""
        return cls.model_validate(key.to_dict())


class UserCreate(_Schema):
    """A new API key: a label for who holds it, and its role."""

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Lower-case letters, digits, '.', '_' or '-'; not an e-mail address.",
        examples=["ci-loader"],
    )
    role: Role


class UserCreated(_Schema):
    """A created key; ``key`` is shown only in this response."""

    user: UserPublic
    key: str = Field(description="The API key. Store it now: it cannot be shown again.")
    warning: str


class UserList(_Schema):
    """API keys by creation time."""

    users: list[UserPublic]


class LedgerEntryPublic(_Schema):
    """One ledger entry, without its personal data."""

    seq: int
    recorded_at: str
    actor: str
    kind: str
    subject: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    has_personal: bool
    personal_erased: bool

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryPublic:
        """The public view of ``entry`` (``personal`` is left out)."""
        data = entry.to_dict()
        data.pop("personal", None)
        return cls.model_validate(data)


class LedgerPage(_Schema):
    """A page of entries; pass ``next_after_seq`` as ``after_seq`` for the next page."""

    entries: list[LedgerEntryPublic]
    next_after_seq: int | None


class LedgerVerificationPublic(_Schema):
    """The outcome of checking every entry's hash, link and seal."""

    ok: bool
    entries_checked: int
    head_seq: int | None
    first_bad_seq: int | None
    problem: str | None
    kind: str | None

    @classmethod
    def of(cls, result: LedgerVerification) -> LedgerVerificationPublic:
        """The public view of ``result``."""
        return cls.model_validate(result.to_dict())
