"""What every /v1 route module shares: the prefix and the error responses it declares."""

from __future__ import annotations

from fastapi import APIRouter

from aimsight.api._schemas import ErrorResponse

__all__ = ["API_VERSION", "ERROR_RESPONSES", "new_router"]

API_VERSION = "v1"

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "No API key, or a malformed, unknown or revoked one."),
        (403, "The key's role lacks the permission this route needs."),
        (422, "The request is not valid; `details` names each field."),
    )
}


def new_router(tag: str) -> APIRouter:
    """A router for one resource under /v1, declaring the shared error responses."""
    return APIRouter(prefix=f"/{API_VERSION}", tags=[tag], responses=ERROR_RESPONSES)
