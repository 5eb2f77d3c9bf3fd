"""What the consent layer takes in and hands out: changes, records, checks and reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ConsentChange",
    "ConsentChangeIn",
    "ConsentCheck",
    "ConsentRecord",
    "CustomerConsents",
    "ImportReport",
    "RejectedConsent",
]


@dataclass(frozen=True)
class ConsentChangeIn:
    """A change to record: what the customer said, about which purpose, on which channel.

    ``purpose`` ``*`` with a channel is a channel opt-out (or, granted, lifts one); channel
    ``*`` means every channel. ``status`` is ``granted``, ``denied`` or ``revoked``
    (``withdrawn`` is read as ``revoked``). ``legal_basis`` defaults to the purpose's basis in
    the policy, ``recorded_at`` (when the customer said it) to now. ``customer_id`` and
    ``source_ref`` are for imports: who the row is about (a customer id, alias or record key
    when the import resolves references) and the source's own id of the row, which makes a
    re-import skip it. ``line`` is where the row sits in its file, for reports.
    """

    purpose: str
    channel: str
    status: str
    source: str = ""
    legal_basis: str | None = None
    recorded_at: datetime | str | None = None
    customer_id: str | None = None
    source_ref: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ConsentRecord:
    """A record in force: the newest change for one purpose and channel of a customer.

    ``recorded_at`` is ISO 8601 UTC text as aimsight writes it (``...Z``), so records compare
    by text. ``collected_via`` is the channel a purpose-scoped record was collected on (it is
    kept under channel ``*``, since it covers every channel).
    """

    purpose: str
    channel: str
    status: str
    recorded_at: str
    source: str
    legal_basis: str | None = None
    collected_via: str | None = None

    @property
    def denies(self) -> bool:
        """True for ``denied`` and ``revoked``."""
        return self.status != "granted"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ConsentCheck:
    """Whether a purpose may run on a channel for a customer, and why.

    ``status`` is what holds: ``granted``, ``denied`` or ``revoked`` from a record, or the
    policy's default (``granted`` or ``denied``) when nothing applies. ``basis`` is the legal
    basis it rests on. ``blocked_by`` names the record that blocks it (directly, through a
    channel opt-out, or through a propagation rule); ``granted_by`` the record that grants it.
    """

    allowed: bool
    purpose: str
    channel: str
    status: str
    basis: str | None
    reason: str
    blocked_by: ConsentRecord | None = None
    granted_by: ConsentRecord | None = None

    @property
    def by_default(self) -> bool:
        """True when no record applies and the policy's default decided."""
        return self.blocked_by is None and self.granted_by is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "allowed": self.allowed,
            "purpose": self.purpose,
            "channel": self.channel,
            "status": self.status,
            "basis": self.basis,
            "reason": self.reason,
            "by_default": self.by_default,
            "blocked_by": self.blocked_by.to_dict() if self.blocked_by else None,
            "granted_by": self.granted_by.to_dict() if self.granted_by else None,
        }


@dataclass(frozen=True)
class ConsentChange:
    """One change as recorded, for the history. ``in_force`` is true while it is the record
    its key is decided by (a newer change replaces it; a late, older one never is)."""

    change_id: int
    customer_id: str
    purpose: str
    channel: str
    status: str
    legal_basis: str | None
    source: str
    collected_via: str | None
    recorded_at: str
    received_at: str
    actor: str
    source_ref: str | None
    in_force: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class CustomerConsents:
    """A customer's records in force and the effective status of every purpose x channel."""

    customer_id: str
    records: tuple[ConsentRecord, ...]
    effective: tuple[ConsentCheck, ...]
    policy_digest: str

    def check(self, purpose: str, channel: str) -> ConsentCheck:
        """The effective status of ``purpose`` on ``channel``.

        Raises:
            KeyError: the policy has no such purpose or channel.
        """
        for item in self.effective:
            if item.purpose == purpose and item.channel == channel:
                return item
        raise KeyError((purpose, channel))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape of ``GET /v1/customers/{id}/consents``)."""
        return {
            "customer_id": self.customer_id,
            "policy_digest": self.policy_digest,
            "records": [record.to_dict() for record in self.records],
            "effective": [item.to_dict() for item in self.effective],
        }


@dataclass(frozen=True)
class RejectedConsent:
    """A row an import refused, and why; nothing is dropped without a line here."""

    line: int | None
    customer: str | None
    source_ref: str | None
    field: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows in = applied + skipped + rejected.

    ``applied`` rows were recorded (and written to the ledger); ``in_force`` of them became
    the record of their key (the rest were older than a record already held). ``skipped``
    rows had been imported before (same ``source_ref``).
    """

    rows: int
    applied: int
    in_force: int
    skipped: int
    rejected: tuple[RejectedConsent, ...] = field(default_factory=tuple)
    customers: int = 0

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rows": self.rows,
            "applied": self.applied,
            "in_force": self.in_force,
            "skipped": self.skipped,
            "rejected": [item.to_dict() for item in self.rejected],
            "customers": self.customers,
            "ok": self.ok,
        }
