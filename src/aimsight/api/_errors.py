"""One JSON error shape for every error, and the mapping of domain errors to status codes.

Every error body is ``{"error": {"code", "message", "details", "request_id"}}``: domain errors
(:class:`AimsightError`), unknown routes and methods, request validation, oversized bodies
(from the middleware) and unexpected failures alike. Routes never catch errors themselves.
A 5xx body never carries exception text: that stays in the server log under the request id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aimsight.core.errors import (
    AimsightError,
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    InvalidInput,
    LedgerError,
    LedgerIntegrityError,
    NotFound,
    PermissionDenied,
    StoreError,
    WorkspaceError,
)
from aimsight.core.log import get_logger

__all__ = [
    "SERVER_ERROR_MESSAGE",
    "error_body",
    "error_content",
    "install_error_handlers",
    "request_id_of",
    "status_for",
]

_log = get_logger("aimsight.api")

SERVER_ERROR_MESSAGE = (
    "the server could not complete the request; an operator can find the cause in the "
    "server log under this request id"
)

_STATUS: dict[type[AimsightError], int] = {
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    LedgerIntegrityError: 500,
    LedgerError: 503,
    StoreError: 503,
    ConfigurationError: 500,
    WorkspaceError: 500,
    AimsightError: 400,
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def status_for(error: AimsightError) -> int:
    """The HTTP status for a domain error: its nearest class in the table above."""
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500  # pragma: no cover - AimsightError is always in the MRO


def error_content(
    code: str,
    message: str,
    *,
    request_id: str | None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The error body as a dict."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or [],
            "request_id": request_id,
        }
    }


def error_body(
    code: str,
    message: str,
    *,
    request_id: str | None,
    details: list[dict[str, Any]] | None = None,
) -> bytes:
    """The error body as JSON bytes (for the ASGI middleware, which has no Response)."""
    content = error_content(code, message, request_id=request_id, details=details)
    return json.dumps(content, separators=(",", ":")).encode("utf-8")


def request_id_of(request: Request) -> str | None:
    """The id the middleware gave this request."""
    state = request.scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def install_error_handlers(app: FastAPI) -> None:
    """Make every handled error use the one error shape."""
    app.add_exception_handler(AimsightError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    content = error_content(code, message, request_id=request_id_of(request), details=details)
    return JSONResponse(content, status_code=status, headers=headers)


async def _domain_error(request: Request, exc: AimsightError) -> JSONResponse:
    status = status_for(exc)
    if status >= 500:
        _log.error(
            "request failed: %s",
            exc.message,
            extra={"code": exc.code, "request_id": request_id_of(request)},
        )
        return _respond(request, status, exc.code, SERVER_ERROR_MESSAGE)
    details: list[dict[str, Any]] = []
    if isinstance(exc, InvalidInput) and exc.field:
        details.append({"field": exc.field, "message": exc.message})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _respond(request, status, exc.code, exc.message, details=details, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    code = _HTTP_CODES.get(status) or _snake(status)
    if status == 404:
        message = f"no route {request.method} {request.url.path}; see /docs for the API"
    elif status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}"
        message += f"; allowed: {allowed}" if allowed else ""
    elif isinstance(exc.detail, str) and status < 500:
        message = exc.detail
    else:
        message = SERVER_ERROR_MESSAGE if status >= 500 else HTTPStatus(status).phrase
    return _respond(request, status, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]  # the rejected input is left out on purpose: it may be personal data
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in details[:5])
    return _respond(
        request, 422, "invalid_input", f"the request is not valid: {summary}", details=details
    )


def _snake(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"
