"""What the API sends and receives: one schema per direction, apart from the table models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aimsight.security import ApiKey, Permission, Role
from aimsight.store import LedgerEntry, LedgerVerification

__all__ = [
    "CustomerAttribute",
    "CustomerExplanation",
    "CustomerProfile",
    "ErrorBody",
    "ErrorResponse",
    "HealthPublic",
    "IdentityEvent",
    "IdentityLink",
    "IdentityOverride",
    "IdentityReview",
    "IdentityReviewList",
    "IdentityRunCreate",
    "IdentityRunList",
    "IdentityRunPublic",
    "IdentityRunSummary",
    "LinkCreate",
    "LinkResult",
    "LedgerEntryPublic",
    "LedgerPage",
    "LedgerVerificationPublic",
    "ResolutionPublic",
    "ResolveRequest",
    "StoreHealth",
    "UnlinkResult",
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


# -- identity --------------------------------------------------------------------------------

_Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="A customer id (`cus_...`), one of its aliases, or a record key "
        "(`crm.customers:C1001`).",
    ),
]


class IdentityRunCreate(_Schema):
    """Start a resolution run."""

    retrain: bool = Field(
        default=False, description="Train a new model version instead of reusing the current one."
    )
    backend: Literal["duckdb", "spark"] | None = Field(
        default=None,
        description="`duckdb` (one machine) or `spark` (the cluster tier); default: the "
        "workspace's `identity.backend` setting.",
    )


class IdentityRunSummary(_Schema):
    """What a resolution run did."""

    run_id: str
    backend: str
    records: int = Field(description="Records read from the lake.")
    customers: int = Field(description="Customers they resolved into.")
    model_version: int
    trained: bool = Field(description="Whether this run trained the model (else reused it).")
    threshold: float = Field(description="Match probability from which pairs link.")
    links: int
    deterministic_links: int = Field(description="Links made by exact identifiers.")
    created: int
    merged: int
    split: int
    held_for_review: int = Field(description="Merges refused by the cluster size limit.")
    refused_conflicts: int = Field(description="Links refused for conflicting attributes.")
    shared_identifiers: int = Field(description="Identifier values left out as shared.")
    pairs_per_rule: dict[str, int] = Field(description="Pairs each blocking rule compares.")
    seconds: dict[str, float] = Field(description="Time taken by each step.")


class IdentityRunPublic(_Schema):
    """One resolution run, as the run history lists it."""

    run_id: str
    status: str = Field(description="`running`, `completed` or `failed`.")
    backend: str
    model_version: int | None
    records: int
    customers: int
    threshold: float | None
    started_at: str
    finished_at: str | None
    summary: dict[str, Any] = Field(description="The run's summary when it completed.")


class IdentityRunList(_Schema):
    """Resolution runs, newest first."""

    runs: list[IdentityRunPublic]


class CustomerAttribute(_Schema):
    """One golden-record value and where it came from."""

    value: Any
    dataset: str | None = Field(default=None, description="The dataset that supplied it.")
    record_id: str | None = Field(default=None, description="The record that supplied it.")
    updated_at: str | None = Field(default=None, description="As of when.")


class CustomerProfile(_Schema):
    """A customer's golden record, with provenance, aliases and records."""

    customer_id: str
    kind: str = Field(description="`known`, or `anonymous` for a profile made in real time.")
    status: str
    created_at: str
    updated_at: str
    aliases: list[str] = Field(description="Former ids that now name this customer.")
    records: list[str] = Field(description="Record keys (`dataset:record_id`).")
    attributes: dict[str, CustomerAttribute]


class IdentityLink(_Schema):
    """A link between two records and why it was made."""

    left: str
    right: str
    rule: str = Field(description="`probabilistic`, or the identifiers that matched exactly.")
    accepted: bool = Field(
        description="True when this link joined the records into one customer; false when "
        "other links had joined them already."
    )
    match_weight: float | None = Field(description="Log2 Bayes factor; null for exact links.")
    match_probability: float | None
    comparisons: dict[str, float] = Field(description="Each comparison's match weight.")


class IdentityOverride(_Schema):
    """A steward's must-link or cannot-link between two records."""

    kind: str
    record_a: str
    record_b: str
    reason: str
    actor: str
    created_at: str


class IdentityEvent(_Schema):
    """A change of customer ids: create, merge, split, link, conflict."""

    kind: str
    before: list[str]
    after: list[str]
    run_id: str | None
    at: str


class CustomerExplanation(_Schema):
    """Which records make up a customer and which links joined them."""

    customer_id: str
    asked_for: str
    records: list[dict[str, Any]]
    links: list[IdentityLink]
    overrides: list[IdentityOverride]
    aliases: list[str]
    events: list[IdentityEvent]


class LinkCreate(_Schema):
    """Two customers or records, and why a steward says they are (not) one person."""

    a: _Reference
    b: _Reference
    reason: str = Field(min_length=1, max_length=1000, description="Kept with the override.")


class LinkResult(_Schema):
    """The customer the two became; ``merged`` is now its alias."""

    customer_id: str
    merged: str
    records: list[str]


class UnlinkResult(_Schema):
    """The records kept apart, and the customers after a split (empty if none was needed)."""

    records_a: list[str]
    records_b: list[str]
    customers: list[str]


class ResolveRequest(_Schema):
    """Identifiers seen now, e.g. ``{"email": "ada@example.com", "device_id": "d-42"}``."""

    identifiers: dict[str, Annotated[str, Field(max_length=300)]] = Field(
        min_length=1,
        max_length=20,
        description="By kind: `email`, `phone`, `crm_id`, `device_id` (the configured "
        "lookup identifiers).",
    )


class ResolutionPublic(_Schema):
    """The customer behind the identifiers."""

    customer_id: str
    status: Literal["known", "new", "conflict"] = Field(
        description="`known`: one customer; `new`: nobody, an anonymous customer was made; "
        "`conflict`: several, the priority rule chose one."
    )
    kind: str = Field(description="`known` or `anonymous`.")
    matched: dict[str, str] = Field(description="Each matched identifier's customer.")
    candidates: list[str] = Field(description="On a conflict, every customer named.")
    ignored: dict[str, str] = Field(description="Identifiers not used, and why.")
    rule: str | None = Field(description="On a conflict, the rule that chose.")


class IdentityReview(_Schema):
    """A merge held for a steward to decide."""

    id: int
    run_id: str
    reason: str
    record_a: str
    record_b: str
    detail: str
    status: str
    created_at: str


class IdentityReviewList(_Schema):
    """Held merges, oldest first."""

    reviews: list[IdentityReview]
