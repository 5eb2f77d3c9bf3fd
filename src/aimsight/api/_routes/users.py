"""/v1/users: API keys (one per user or system), created, listed and revoked by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import KeysDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import UserCreate, UserCreated, UserList, UserPublic
from aimsight.security import Permission

__all__ = ["ONE_TIME_WARNING", "router"]

router = new_router("users")

ONE_TIME_WARNING = "Store this key now: it is shown only once and cannot be shown again."


@router.get("/users", **guarded(Permission.USERS_MANAGE))
def list_users(
    keys: KeysDep,
    include_revoked: Annotated[bool, Query(description="Also list revoked keys.")] = False,
) -> UserList:
    """List API keys (never their secrets)."""
    return UserList(users=[UserPublic.of(key) for key in keys.list(include_revoked)])


@router.post("/users", status_code=201, **guarded(Permission.USERS_MANAGE))
def create_user(
    body: UserCreate, keys: KeysDep, caller: CallerDep, response: Response
) -> UserCreated:
    """Create an API key; the key is in this response only."""
    key, secret = keys.create(body.name, body.role, created_by=f"api:{caller.key_id}")
    response.headers["Cache-Control"] = "no-store"
    return UserCreated(user=UserPublic.of(key), key=secret, warning=ONE_TIME_WARNING)


@router.delete("/users/{name}", **guarded(Permission.USERS_MANAGE))
def revoke_user(name: str, keys: KeysDep, caller: CallerDep) -> UserPublic:
    """Revoke the active API key with this name (or key id); it stops working at once."""
    return UserPublic.of(keys.revoke(name, revoked_by=f"api:{caller.key_id}"))
