"""Authentication and authorisation: who is calling, and may their role do this?

A key is read from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key, or an
unknown, malformed or revoked one, is 401 (with ``WWW-Authenticate: Bearer``); a role
without the route's permission is 403 naming both. Every route declares its permission with
:func:`guarded`, which both enforces it and writes it into the OpenAPI operation as
``x-permission``, so the contract and the check cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from aimsight.api._deps import get_services
from aimsight.core.errors import AuthenticationFailed, PermissionDenied
from aimsight.security import ApiKey, Permission, has_permission

__all__ = ["PERMISSION_EXTENSION", "CallerDep", "authenticated_key", "guarded", "require"]

PERMISSION_EXTENSION = "x-permission"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An aimsight API key: `Authorization: Bearer aims_...`.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="An aimsight API key in the `X-API-Key` header.",
)


async def authenticated_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> ApiKey:
    """The active key presented with this request.

    The check is one indexed read. On SQLite (a local file) it runs on the event loop, which
    costs less than handing every request to a thread; on PostgreSQL, where a read is a
    network round trip, it runs on the thread pool so a slow database cannot stall the loop.

    Raises:
        AuthenticationFailed: no key, or a malformed, unknown or revoked one.
    """
    presented = bearer.credentials if bearer is not None else header_key
    if not presented:
        raise AuthenticationFailed(
            "this route needs an API key: send `Authorization: Bearer <key>` or "
            "`X-API-Key: <key>`; create one with `aimsight users add NAME --role ROLE`"
        )
    services = await get_services(request)
    keys = services.keys
    if services.store.backend == "sqlite":
        key = keys.authenticate(presented, note_use=False)
        if keys.use_note_due(key):  # a write may wait for the lock: not on the loop
            key = await run_in_threadpool(keys.note_use, key)
    else:
        key = await run_in_threadpool(keys.authenticate, presented)
    request.state.key_id = key.key_id  # for the access log
    return key


CallerDep = Annotated[ApiKey, Depends(authenticated_key)]


def require(permission: Permission) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that lets the request through only if the key's role has ``permission``.

    Raises (from the dependency):
        AuthenticationFailed: see :func:`authenticated_key`.
        PermissionDenied: the role lacks ``permission``; the message names both.
    """

    async def check(caller: CallerDep) -> ApiKey:  # no I/O: run on the event loop
        if not has_permission(caller.role, permission):
            raise PermissionDenied(
                f"role {caller.role.value!r} does not have the permission "
                f"{permission.value!r} this route needs; ask an admin for a key with a role "
                "that has it (docs/security.md lists them)"
            )
        return caller

    check.__name__ = f"require_{permission.name.lower()}"
    return check


def guarded(permission: Permission) -> dict[str, Any]:
    """Route keyword arguments that enforce ``permission`` and declare it in OpenAPI.

    Examples:
        >>> @router.get("/health", **guarded(Permission.HEALTH_READ))  # doctest: +SKIP
    """
    return {
        "dependencies": [Depends(require(permission))],
        "openapi_extra": {PERMISSION_EXTENSION: permission.value},
    }
