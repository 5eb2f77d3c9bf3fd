"""The FastAPI application: services, error handlers, middleware and the /v1 routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from aimsight import __version__
from aimsight.api._deps import Services
from aimsight.api._errors import install_error_handlers
from aimsight.api._middleware import REQUEST_ID_HEADER, RequestEnvelopeMiddleware
from aimsight.api._routes import v1_routes
from aimsight.api._routes.collect import flush_periodically
from aimsight.core.workspace import Workspace
from aimsight.store import Store

__all__ = ["app_from_environment", "create_app"]

_DESCRIPTION = """\
Governed customer intelligence. Every `/v1` route needs an API key
(`Authorization: Bearer aims_...` or `X-API-Key`) whose role has the permission named in the
route's `x-permission`; errors share one JSON shape. See docs/api.md and docs/security.md.
"""


def create_app(
    workspace: Workspace, *, store: Store | None = None, server: bool = False
) -> FastAPI:
    """Build the API for ``workspace``.

    Args:
        workspace: the workspace whose store, ledger and keys the API serves.
        store: an already open store to use (the caller disposes of it); by default the app
            opens the workspace's store at start-up and disposes of it at shutdown.
        server: the app is a long-running server (``aimsight serve``): once the decision
            flows are warmed, what they loaded is frozen out of the garbage collector's
            sweeps (``gc.freeze``), which would otherwise stall requests walking it.

    Returns:
        The app; serve it with uvicorn (``aimsight serve``) or test it with ``TestClient``.
    """
    services = Services(workspace, store, server=server)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.open)
        ingest = workspace.settings.ingest
        flusher = asyncio.create_task(
            flush_periodically(
                services,
                ingest.collector_flush_seconds,
                ingest.collector_flush_rows,
                timedelta(hours=ingest.collector_keep_hours),
            )
        )
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="aimsight",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    install_error_handlers(app)
    settings = workspace.settings.api
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestEnvelopeMiddleware, max_body_bytes=settings.max_body_bytes)
    # Added flat rather than with include_router (which newer FastAPI nests lazily), so
    # app.routes lists every route with its full path: the access log and tests use that.
    app.router.routes.extend(v1_routes())
    return app


def app_from_environment() -> FastAPI:
    """The app of the workspace ``$AIMSIGHT_WORKSPACE`` names: what each worker process of
    ``aimsight serve --workers N`` builds for itself (uvicorn imports it by name)."""
    return create_app(Workspace.open(), server=True)
