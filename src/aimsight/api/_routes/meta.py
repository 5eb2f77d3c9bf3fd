"""/v1/health, /v1/version and /v1/whoami: is it up, what is it, who am I."""

from __future__ import annotations

from aimsight import __version__
from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import ServicesDep
from aimsight.api._routes.common import API_VERSION, new_router
from aimsight.api._schemas import HealthPublic, StoreHealth, VersionPublic, WhoAmIPublic
from aimsight.security import ROLE_PERMISSIONS, Permission

__all__ = ["router"]

router = new_router("meta")


@router.get("/health", **guarded(Permission.HEALTH_READ))
def health(services: ServicesDep) -> HealthPublic:
    """Check the store answers and its schema is current."""
    store = services.store
    revision = store.current_revision()
    head = services.head_revision
    return HealthPublic(
        status="ok" if revision == head else "degraded",
        store=StoreHealth(
            backend=store.backend, revision=revision, head=head, up_to_date=revision == head
        ),
    )


@router.get("/version", **guarded(Permission.META_READ))
def version() -> VersionPublic:
    """The aimsight version and API version."""
    return VersionPublic(version=__version__, api_version=API_VERSION)


@router.get("/whoami", **guarded(Permission.META_READ))
def whoami(caller: CallerDep) -> WhoAmIPublic:
    """The calling key's name, role and permissions."""
    return WhoAmIPublic(
        key_id=caller.key_id,
        name=caller.name,
        role=caller.role,
        permissions=sorted(ROLE_PERMISSIONS[caller.role]),
    )
