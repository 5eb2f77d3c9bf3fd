"""``aimsight serve``: run the HTTP API on uvicorn, in one process or several."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from aimsight.cli._common import WorkspaceOpt, ensure_port_free, err_console, open_workspace
from aimsight.core import configure_logging

__all__ = ["register"]


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: api.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="TCP port to listen on (default: api.port)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes, one core each; contact caps and the ledger hold across "
            "them on SQLite and PostgreSQL alike.",
        ),
    ] = 1,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the API of a workspace (docs at /docs); stop with Ctrl+C."""
    import uvicorn

    from aimsight.api import create_app
    from aimsight.security import ApiKeyService
    from aimsight.store import Store

    opened = open_workspace(workspace)
    settings = opened.settings
    ensure_port_free(host or settings.api.host, port or settings.api.port)
    configure_logging(settings.logging.level, json_format=settings.logging.json_format)
    with Store.open(opened) as store:
        active = ApiKeyService(store).count_active()
    if active == 0:
        err_console.print(
            "[yellow]warning:[/yellow] no API keys yet, so every request will get 401; "
            f"create one with `aimsight users add admin --role admin -w {opened.root}`",
            highlight=False,
        )
    options = {
        "host": host or settings.api.host,
        "port": port or settings.api.port,
        "access_log": False,  # aimsight writes its own access log, without query strings
        "log_level": settings.logging.level.lower(),
    }
    if workers == 1:
        uvicorn.run(create_app(opened, server=True), **options)  # type: ignore[arg-type]
        return
    os.environ["AIMSIGHT_WORKSPACE"] = str(opened.root)  # each worker opens it by itself
    uvicorn.run(
        "aimsight.api:app_from_environment",
        factory=True,
        workers=workers,
        **options,  # type: ignore[arg-type]
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve_command)
