"""``aimsight init``, ``status`` and ``db``: create, inspect and migrate a workspace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from aimsight.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    cli_actor,
    console,
    open_workspace,
    print_json,
)
from aimsight.core import Workspace

__all__ = ["register"]

db_app = typer.Typer(help="Operational store: schema migrations.", no_args_is_help=True)


def init_command(
    directory: Annotated[
        str | None, typer.Argument(help="Folder for the new workspace (default: current).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: aimsight.toml, lake/, artifacts/, contracts/, identity/, features/,
    models/ and the store."""
    from aimsight.features import FeatureService
    from aimsight.identity import IdentityService
    from aimsight.ingest import ContractRegistry
    from aimsight.registry import ModelTrainer
    from aimsight.store import Ledger, Store

    workspace = Workspace.create(directory)
    # The shipped contracts are a starting point users edit; collector.events is needed as
    # soon as the API takes events.
    contracts = [c.name for c in ContractRegistry.for_workspace(workspace).install_defaults()]
    with Store.open(workspace, upgrade=True) as store:
        revision = store.current_revision()
        ledger = Ledger.open(workspace, store)
        # The shipped matching configuration, like the contracts, is a starting point to edit.
        identity = IdentityService(workspace, store, ledger)
        identity.install_default_config()
        # So are the feature definitions and the model declarations.
        features = FeatureService(workspace, store, ledger)
        features.install_default_definitions()
        trainer = ModelTrainer(workspace, store, ledger)
        trainer.install_default_config()
        ledger.append(
            "workspace.created",
            actor=cli_actor(),
            payload={"store": store.backend, "revision": revision},
        )
    matching = identity.config_path
    if as_json:
        print_json(
            {
                "workspace": str(workspace.root),
                "store": store.url,
                "revision": revision,
                "contracts": contracts,
                "matching_config": str(matching),
                "feature_definitions": str(features.definitions_path),
                "models_config": str(trainer.config_path),
            }
        )
        return
    console.print(f"[green]created[/green] workspace {workspace.root}")
    console.print(f"  settings   {workspace.config_file}")
    console.print(f"  store      {store.url} (schema {revision})")
    console.print(f"  contracts  {len(contracts)} defaults in {workspace.root / 'contracts'}")
    console.print(f"  identity   {matching}")
    console.print(f"  features   {features.definitions_path}")
    console.print(f"  models     {trainer.config_path}")
    console.print("  next       aimsight users add admin --role admin -w " + str(workspace.root))


def status_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Summarise what the workspace holds."""
    from aimsight.status import workspace_status

    status = workspace_status(open_workspace(workspace))
    if as_json:
        print_json(status)
        return
    table = Table(title=f"aimsight workspace {status['workspace']}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in _flatten(status).items():
        if key != "workspace":
            table.add_row(key, str(value))
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply schema migrations to the operational store."""
    from aimsight.store import Store

    with Store.open(open_workspace(workspace), upgrade=False) as store:
        before = store.current_revision()
        store.upgrade(revision)
        after = store.current_revision()
    if as_json:
        print_json({"store": store.url, "from": before, "to": after})
    else:
        console.print(f"store {store.url}: {before or 'empty'} -> {after}")


@db_app.command("current")
def db_current(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Show the store's schema revision and the newest one this version ships."""
    from aimsight.store import Store

    with Store.open(open_workspace(workspace), upgrade=False) as store:
        current, head = store.current_revision(), store.head_revision()
    if as_json:
        print_json({"store": store.url, "current": current, "head": head})
    else:
        state = "up to date" if current == head else f"behind (newest is {head})"
        console.print(f"store {store.url}: revision {current or 'none'}, {state}")


def register(app: typer.Typer) -> None:
    """Add ``init``, ``status`` and ``db`` to ``app``."""
    app.command("init")(init_command)
    app.command("status")(status_command)
    app.add_typer(db_app, name="db")


def _flatten(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
