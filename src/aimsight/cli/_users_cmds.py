"""``aimsight users add|list|revoke``: API keys, one per person or system that calls the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from aimsight.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    cli_actor,
    console,
    err_console,
    open_workspace,
    print_json,
)

if TYPE_CHECKING:  # the security layer loads the store: only when a command runs
    from aimsight.security import ApiKeyService

__all__ = ["register"]

# The values of aimsight.security.Role, spelled out so that building the help does not load the
# security layer (and the store behind it); tests/cli/test_startup.py checks they agree.
_ROLE_NAMES = ("admin", "data_engineer", "analyst", "governance", "privacy", "agent", "service")

ONE_TIME_WARNING = "This key is shown only now and cannot be shown again: store it somewhere safe."

users_app = typer.Typer(
    help="API keys: create, list and revoke them (each has one role).", no_args_is_help=True
)


@contextmanager
def _keys(workspace: str | None) -> Iterator[ApiKeyService]:
    """The key service of the workspace, recording changes on its ledger."""
    from aimsight.security import ApiKeyService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield ApiKeyService(store, audit=Ledger.open(opened, store))


@users_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="Label for who holds the key, e.g. ci-loader.")],
    role: Annotated[str, typer.Option("--role", "-r", help="One of: " + ", ".join(_ROLE_NAMES))],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key with a role; the key is printed once."""
    from aimsight.security import parse_role

    checked = parse_role(role)
    with _keys(workspace) as keys:
        key, secret = keys.create(name, checked, created_by=cli_actor())
    if as_json:
        print_json({"user": key.to_dict(), "key": secret, "warning": ONE_TIME_WARNING})
        return
    console.print(f"[green]created[/green] key {key.key_id} for {key.name} (role {key.role})")
    typer.echo(secret)
    err_console.print(f"[yellow]warning:[/yellow] {ONE_TIME_WARNING}", highlight=False)


@users_app.command("list")
def list_command(
    include_revoked: Annotated[bool, typer.Option("--all", help="Also list revoked keys.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (never their secrets)."""
    with _keys(workspace) as keys:
        found = keys.list(include_revoked)
    if as_json:
        print_json([key.to_dict() for key in found])
        return
    table = Table(title="API keys")
    for column in ("name", "role", "key id", "created", "created by", "last used", "state"):
        table.add_column(column)
    for key in found:
        table.add_row(
            key.name,
            key.role.value,
            key.key_id,
            key.created_at[:19],
            key.created_by,
            (key.last_used_at or "never")[:19],
            "active" if key.active else f"revoked {(key.revoked_at or '')[:19]}",
        )
    console.print(table)
    if not found:
        console.print("no keys yet: create one with `aimsight users add NAME --role ROLE`")


@users_app.command("revoke")
def revoke_command(
    name: Annotated[str, typer.Argument(help="The key's name (or key id).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API key; it stops working at once."""
    with _keys(workspace) as keys:
        key = keys.revoke(name, revoked_by=cli_actor())
    if as_json:
        print_json(key.to_dict())
        return
    console.print(f"[green]revoked[/green] key {key.key_id} of {key.name}")


def register(app: typer.Typer) -> None:
    """Add ``users`` to ``app``."""
    app.add_typer(users_app, name="users")
