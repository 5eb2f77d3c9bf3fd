"""/v1/identity and /v1/customers: resolution runs, who is who, steward overrides, real time.

Routes parse, call :class:`IdentityService` and return a schema; a run is synchronous and
answers with its summary.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import IdentityDep, ServicesDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import (
    CustomerExplanation,
    CustomerProfile,
    IdentityReviewList,
    IdentityRunCreate,
    IdentityRunList,
    IdentityRunSummary,
    LinkCreate,
    LinkResult,
    ResolutionPublic,
    ResolveRequest,
    UnlinkResult,
)
from aimsight.security import ApiKey, Permission

__all__ = ["router"]

router = new_router("identity")

LookupKind = Literal["email", "phone", "crm_id", "device_id", "id"]
CustomerRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        description="A customer id (`cus_...`), one of its aliases, or a record key "
        "(`crm.customers:C1001`).",
    ),
]


def _actor(caller: ApiKey) -> str:
    return f"api:{caller.key_id}"


@router.post("/identity/runs", **guarded(Permission.IDENTITY_RUN))
def start_run(
    services: ServicesDep, caller: CallerDep, body: IdentityRunCreate | None = None
) -> IdentityRunSummary:
    """Resolve every record in the lake into customers; answers when the run is done.

    A request that names no ``backend`` runs on the ``identity.backend`` setting.
    """
    wanted = body or IdentityRunCreate()
    backend = wanted.backend or services.workspace.settings.identity.backend
    summary = services.identity_on(backend).run(actor=_actor(caller), retrain=wanted.retrain)
    return IdentityRunSummary.model_validate(summary.to_dict())


@router.get("/identity/runs", **guarded(Permission.IDENTITY_READ))
def list_runs(
    identity: IdentityDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 20,
) -> IdentityRunList:
    """List resolution runs, newest first."""
    return IdentityRunList.model_validate({"runs": identity.runs(limit)})


@router.get("/identity/reviews", **guarded(Permission.IDENTITY_READ))
def list_reviews(
    identity: IdentityDep,
    status: Annotated[str, Query(max_length=16, description="Review status.")] = "open",
) -> IdentityReviewList:
    """List merges held for review (clusters that would have grown past the size limit)."""
    return IdentityReviewList.model_validate({"reviews": identity.reviews(status)})


@router.post("/identity/links", **guarded(Permission.IDENTITY_STEWARD))
def link(body: LinkCreate, identity: IdentityDep, caller: CallerDep) -> LinkResult:
    """Steward: two customers or records are one person; they merge now and in every run."""
    result = identity.link(body.a, body.b, reason=body.reason, actor=_actor(caller))
    return LinkResult.model_validate(result)


@router.post("/identity/unlinks", **guarded(Permission.IDENTITY_STEWARD))
def unlink(body: LinkCreate, identity: IdentityDep, caller: CallerDep) -> UnlinkResult:
    """Steward: two records or customers are different people; kept apart in every run."""
    result = identity.unlink(body.a, body.b, reason=body.reason, actor=_actor(caller))
    return UnlinkResult.model_validate(result)


@router.post("/identity/resolve", **guarded(Permission.IDENTITY_RESOLVE))
def resolve(body: ResolveRequest, identity: IdentityDep, caller: CallerDep) -> ResolutionPublic:
    """The customer behind identifiers seen now; unknown ones get an anonymous customer."""
    resolution = identity.resolve(body.identifiers, actor=_actor(caller))
    return ResolutionPublic.model_validate(resolution.to_dict())


# /customers/lookup comes before /customers/{customer_id}, which would otherwise match it.
@router.get("/customers/lookup", **guarded(Permission.IDENTITY_READ))
def lookup_customer(
    identity: IdentityDep,
    kind: Annotated[
        LookupKind,
        Query(description="`email`, `phone`, `crm_id`, `device_id`, or `id` (any reference)."),
    ],
    value: Annotated[str, Query(min_length=1, max_length=300, description="The identifier.")],
) -> CustomerProfile:
    """Find the customer an identifier names; a shared identifier names no one (404)."""
    return CustomerProfile.model_validate(identity.lookup(kind, value))


@router.get("/customers/{customer_id}", **guarded(Permission.IDENTITY_READ))
def get_customer(customer_id: CustomerRef, identity: IdentityDep) -> CustomerProfile:
    """A customer's golden record with provenance, aliases and records."""
    return CustomerProfile.model_validate(identity.lookup("id", customer_id))


@router.get("/customers/{customer_id}/explain", **guarded(Permission.IDENTITY_READ))
def explain_customer(customer_id: CustomerRef, identity: IdentityDep) -> CustomerExplanation:
    """Why a customer's records are one person: each link's rule, weight and probability."""
    return CustomerExplanation.model_validate(identity.explain(customer_id))
