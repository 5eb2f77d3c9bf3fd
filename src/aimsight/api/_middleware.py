"""The request envelope, as pure ASGI middleware: request id, body size limit, access log,
and the last-resort 500.

Pure ASGI (not ``BaseHTTPMiddleware``) so bodies stream through untouched and exceptions keep
their context. For each HTTP request it:

- takes a sane incoming ``X-Request-ID`` or makes one, and echoes it on the response;
- refuses bodies over ``api.max_body_bytes`` with 413, whether announced by ``Content-Length``
  or only discovered while the (chunked) body streams in;
- turns any exception nothing else handled into a 500 in the one error shape, logging the
  traceback server-side only;
- writes one JSON access-log line: method, route template, status, duration, request id and
  key id. Never the query string, a body, or personal data.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aimsight.api._errors import SERVER_ERROR_MESSAGE, error_body
from aimsight.core.ids import new_id
from aimsight.core.log import get_logger, scrub

__all__ = ["REQUEST_ID_HEADER", "RequestEnvelopeMiddleware"]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_MAX_LOGGED_PATH = 200

_access_log = get_logger("aimsight.api.access")
_error_log = get_logger("aimsight.api")


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once the streamed body passes the limit."""


class RequestEnvelopeMiddleware:
    """Wraps every HTTP request of the app (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(self.app, scope, receive, send, self.max_body_bytes).run()


class _Exchange:
    """One request and its response, as seen by the middleware."""

    def __init__(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.limit = limit
        self.request_id = _incoming_request_id(scope) or new_id("req", 20)
        self.state: dict[str, Any] = scope.setdefault("state", {})
        self.state["request_id"] = self.request_id
        self.received = 0
        self.too_large = False
        self.started = False  # a response start has gone out
        self.replaced = False  # we answered instead of the app; drop what it sends
        self.status: int | None = None

    async def run(self) -> None:
        began = time.perf_counter()
        try:
            await self._run()
        finally:
            self._log_access(began)

    async def _run(self) -> None:
        announced = _content_length(self.scope)
        if announced == -1:
            await self._error(400, "invalid_content_length", "Content-Length is not a number")
            return
        if announced is not None and announced > self.limit:
            await self._too_large()
            return
        try:
            await self.app(self.scope, self._receive, self._send)
        except _BodyTooLarge:
            if not self.started:
                await self._too_large()
        except Exception:
            if self.too_large and not self.started:
                await self._too_large()
                return
            _error_log.exception("unhandled error", extra={"request_id": self.request_id})
            if self.started:
                raise  # headers are out; the server can only drop the connection
            await self._error(500, "internal_error", SERVER_ERROR_MESSAGE)

    async def _receive(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.too_large = True
                raise _BodyTooLarge
        return message

    async def _send(self, message: Message) -> None:
        if self.replaced:
            return
        if message["type"] == "http.response.start":
            if self.too_large:  # the app caught the overflow and answered something else
                await self._too_large()
                self.replaced = True
                return
            self.started = True
            self.status = int(message["status"])
            MutableHeaders(scope=message)[REQUEST_ID_HEADER] = self.request_id
        await self.send(message)

    async def _too_large(self) -> None:
        await self._error(
            413,
            "payload_too_large",
            f"the request body is larger than the limit of {self.limit:,} bytes "
            "(setting api.max_body_bytes)",
        )

    async def _error(self, status: int, code: str, message: str) -> None:
        body = error_body(code, message, request_id=self.request_id)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (REQUEST_ID_HEADER.lower().encode("ascii"), self.request_id.encode("ascii")),
        ]
        if status == 413:
            headers.append((b"connection", b"close"))
        self.started = True
        self.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    def _log_access(self, began: float) -> None:
        route = self.scope.get("route")
        template = getattr(route, "path", None)
        path = template if isinstance(template, str) else _logged_path(self.scope)
        key_id = self.state.get("key_id")
        _access_log.info(
            "request",
            extra={
                "method": self.scope.get("method"),
                "path": path,
                "status": self.status,
                "duration_ms": round((time.perf_counter() - began) * 1000, 2),
                "request_id": self.request_id,
                "key_id": key_id if isinstance(key_id, str) else None,
            },
        )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


def _content_length(scope: Scope) -> int | None:
    """The announced body size; ``None`` if not announced, ``-1`` if not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else -1
    return None


def _logged_path(scope: Scope) -> str:
    """The raw path of a request no route matched: scrubbed and cut short."""
    path = str(scope.get("path", ""))
    return scrub(path)[:_MAX_LOGGED_PATH]
