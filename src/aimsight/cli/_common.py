"""What every CLI command shares: the --workspace and --json options and output helpers."""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from aimsight.core import InvalidInput, Workspace

__all__ = [
    "JsonOpt",
    "WorkspaceOpt",
    "cli_actor",
    "console",
    "ensure_port_free",
    "err_console",
    "open_workspace",
    "print_json",
    "stage_progress",
]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="AIMSIGHT_WORKSPACE",
        help="Workspace folder (default: the current folder or $AIMSIGHT_WORKSPACE).",
        show_default=False,
    ),
]

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")
]


def open_workspace(path: str | None) -> Workspace:
    """Open the workspace named by --workspace (errors become one line via ``main``)."""
    return Workspace.open(path)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout, with no colour codes."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def cli_actor() -> str:
    """Who acts, for the ledger, when a command is run from a shell: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers)
        return "cli:unknown"


def ensure_port_free(host: str, port: int) -> None:
    """Fail before any work is done when ``host:port`` cannot be listened on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InvalidInput(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "stop what is using it or pass another --port"
            ) from exc


@contextmanager
def stage_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A Rich progress bar on stderr fed by a service's ``(stage, done, total)`` callback,
    or ``None`` when disabled (``--json``, a quiet run)."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update
