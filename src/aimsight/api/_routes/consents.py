"""/v1/customers/{id}/consents: a customer's consent records, changes and history.

Routes parse, resolve the customer reference (an id, alias or record key) through identity,
call :class:`~aimsight.privacy.ConsentService` and return a schema. The schemas live here,
one per direction, apart from the service's dataclasses.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import ConsentsDep, IdentityDep
from aimsight.api._routes.common import new_router
from aimsight.privacy import ConsentChange, ConsentChangeIn, CustomerConsents
from aimsight.security import Permission

__all__ = [
    "MAX_CHANGES",
    "ConsentChangeCreate",
    "ConsentChangePublic",
    "ConsentCheckPublic",
    "ConsentHistoryPublic",
    "ConsentRecordPublic",
    "ConsentsUpdate",
    "CustomerConsentsPublic",
    "router",
]

MAX_CHANGES = 100

router = new_router("consents")

CustomerRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        description="A customer id (`cus_...`), one of its aliases, or a record key "
        "(`crm.customers:C1001`).",
    ),
]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentChangeCreate(_Schema):
    """What the customer said about one purpose on one channel."""

    purpose: str = Field(
        min_length=1,
        max_length=64,
        description="A purpose of the policy (e.g. `marketing`, `profiling`), or `*` with a "
        "channel for a channel opt-out (every purpose on that channel).",
    )
    channel: str = Field(
        min_length=1,
        max_length=64,
        description="A channel of the policy (e.g. `email`), or `*` for every channel. "
        "Purpose-scoped purposes (profiling, ...) cover every channel whatever is given.",
    )
    status: str = Field(
        min_length=1,
        max_length=16,
        description="`granted`, `denied` or `revoked` (`withdrawn` is read as `revoked`).",
    )
    legal_basis: str | None = Field(
        default=None,
        max_length=32,
        description="GDPR Art. 6 basis; default: the purpose's basis in the policy.",
    )
    source: str = Field(
        min_length=1,
        max_length=100,
        description="Where the customer said it, e.g. `preference_centre`, `call_centre`.",
    )
    recorded_at: str | None = Field(
        default=None,
        max_length=40,
        description="When the customer said it (ISO 8601 with a zone); default: now. A "
        "record older than the one held for its key goes into the history only.",
    )

    def to_change(self) -> ConsentChangeIn:
        """The service's form of this change."""
        return ConsentChangeIn(
            purpose=self.purpose,
            channel=self.channel,
            status=self.status,
            source=self.source,
            legal_basis=self.legal_basis,
            recorded_at=self.recorded_at,
        )


class ConsentsUpdate(_Schema):
    """Changes to record, all or none: any invalid change is a 422 and nothing is written."""

    changes: list[ConsentChangeCreate] = Field(min_length=1, max_length=MAX_CHANGES)


class ConsentRecordPublic(_Schema):
    """A record in force: the newest for its purpose and channel."""

    purpose: str
    channel: str = Field(description="`*` = every channel.")
    status: str = Field(description="`granted`, `denied` or `revoked`.")
    recorded_at: str = Field(description="When the customer said it (ISO 8601, UTC).")
    source: str
    legal_basis: str | None
    collected_via: str | None = Field(
        description="The channel a purpose-scoped record was collected on."
    )


class ConsentCheckPublic(_Schema):
    """Whether a purpose may run on a channel, and why."""

    purpose: str
    channel: str
    allowed: bool
    status: str = Field(description="What holds: from a record, or the policy's default.")
    basis: str | None = Field(description="The legal basis it rests on.")
    reason: str = Field(description="Why, in words.")
    by_default: bool = Field(description="True when no record applies.")
    blocked_by: ConsentRecordPublic | None = Field(
        description="The record that blocks it: directly, by a channel opt-out, or through a "
        "propagation rule (e.g. a revoked profiling)."
    )
    granted_by: ConsentRecordPublic | None = Field(description="The record that grants it.")


class CustomerConsentsPublic(_Schema):
    """A customer's records in force and the effective status of every purpose x channel."""

    customer_id: str = Field(description="The customer's id now (an alias is followed).")
    policy_digest: str = Field(description="SHA-256 of the consent policy in force.")
    records: list[ConsentRecordPublic]
    effective: list[ConsentCheckPublic]

    @classmethod
    def of(cls, consents: CustomerConsents) -> CustomerConsentsPublic:
        """The public view of ``consents``."""
        return cls.model_validate(consents.to_dict())


class ConsentChangePublic(_Schema):
    """One change as recorded."""

    change_id: int
    customer_id: str
    purpose: str
    channel: str
    status: str
    legal_basis: str | None
    source: str
    collected_via: str | None
    recorded_at: str = Field(description="When the customer said it.")
    received_at: str = Field(description="When aimsight recorded it.")
    actor: str
    source_ref: str | None = Field(description="The source system's id of an imported row.")
    in_force: bool = Field(description="True while this change decides its key.")


class ConsentHistoryPublic(_Schema):
    """Every change recorded for a customer, newest first."""

    customer_id: str
    changes: list[ConsentChangePublic]

    @classmethod
    def of(cls, customer_id: str, changes: list[ConsentChange]) -> ConsentHistoryPublic:
        """The public view of a customer's history."""
        items: list[dict[str, Any]] = [change.to_dict() for change in changes]
        return cls.model_validate({"customer_id": customer_id, "changes": items})


@router.get("/customers/{customer_id}/consents", **guarded(Permission.CONSENT_READ))
def get_consents(
    customer_id: CustomerRef, consents: ConsentsDep, identity: IdentityDep
) -> CustomerConsentsPublic:
    """A customer's consent records in force and what each purpose may do on each channel.

    Where nothing is recorded the policy's default holds; each effective status says why.
    """
    return CustomerConsentsPublic.of(consents.get(identity.customer_id_of(customer_id)))


@router.put("/customers/{customer_id}/consents", **guarded(Permission.CONSENT_WRITE))
def set_consents(
    customer_id: CustomerRef,
    body: ConsentsUpdate,
    consents: ConsentsDep,
    identity: IdentityDep,
    caller: CallerDep,
) -> CustomerConsentsPublic:
    """Record what the customer said (at most 100 changes), each written to the ledger.

    A bad purpose, channel, status or time is a 422 naming `changes[i].<field>`, and nothing
    is written. The answer is the customer's consents as they now stand.
    """
    customer = identity.customer_id_of(customer_id)
    changes = [change.to_change() for change in body.changes]
    result = consents.set(customer, changes, actor=f"api:{caller.key_id}")
    return CustomerConsentsPublic.of(result)


@router.get("/customers/{customer_id}/consents/history", **guarded(Permission.CONSENT_READ))
def consent_history(
    customer_id: CustomerRef,
    consents: ConsentsDep,
    identity: IdentityDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many.")] = 500,
) -> ConsentHistoryPublic:
    """Every consent change recorded for the customer, newest first.

    Late records (older than the one held for their key) are listed with `in_force` false.
    """
    customer = identity.customer_id_of(customer_id)
    return ConsentHistoryPublic.of(customer, consents.history(customer, limit=limit))
