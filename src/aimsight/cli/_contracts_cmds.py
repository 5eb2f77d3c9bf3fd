"""``aimsight contracts list|show|add|install-defaults``: the workspace's data contracts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from aimsight.cli._common import JsonOpt, WorkspaceOpt, console, open_workspace, print_json
from aimsight.core import InvalidInput

if TYPE_CHECKING:  # the ingest layer loads only when a command runs, for a fast --help
    from aimsight.ingest import Contract, ContractRegistry

__all__ = ["register"]

contracts_app = typer.Typer(
    help="Data contracts: what each source may send, versioned YAML in the workspace.",
    no_args_is_help=True,
)


def _registry(workspace: str | None) -> ContractRegistry:
    from aimsight.ingest import ContractRegistry

    return ContractRegistry.for_workspace(open_workspace(workspace))


def _summary(contract: Contract) -> dict[str, Any]:
    return {
        "name": contract.name,
        "version": contract.version,
        "fields": len(contract.fields),
        "primary_key": list(contract.primary_key),
        "event_time": contract.event_time,
        "digest": contract.digest(),
        "description": contract.description,
    }


@contracts_app.command("list")
def list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the latest version of every contract."""
    registry = _registry(workspace)
    contracts = registry.list()
    if as_json:
        print_json(
            [{**_summary(c), "versions": registry.versions(c.source, c.entity)} for c in contracts]
        )
        return
    if not contracts:
        console.print(
            "no contracts yet: add one with `aimsight contracts add FILE`, or install the "
            "demo defaults with `aimsight contracts install-defaults`"
        )
        return
    table = Table(title=f"contracts: {len(contracts)}")
    for column in ("dataset", "version", "fields", "primary key", "event time"):
        table.add_column(column, overflow="fold")
    for contract in contracts:
        table.add_row(
            contract.name,
            str(contract.version),
            str(len(contract.fields)),
            ", ".join(contract.primary_key),
            contract.event_time or "",
        )
    console.print(table)


def _split(dataset: str) -> tuple[str, str]:
    source, dot, entity = dataset.partition(".")
    if not dot or not source or not entity or "." in entity:
        raise InvalidInput(
            f"DATASET {dataset[:80]!r} is not SOURCE.ENTITY; write it like crm.customers",
            field="dataset",
        )
    return source, entity


@contracts_app.command("show")
def show_command(
    dataset: Annotated[str, typer.Argument(help="SOURCE.ENTITY, e.g. crm.customers.")],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="This version (default: latest).")
    ] = None,
    yaml_out: Annotated[bool, typer.Option("--yaml", help="Print the contract as YAML.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one contract: its fields, rules and quality thresholds."""
    source, entity = _split(dataset)
    registry = _registry(workspace)
    contract = registry.get(source, entity, version)
    if as_json:
        print_json(
            {
                **contract.to_dict(),
                "digest": contract.digest(),
                "versions": registry.versions(source, entity),
            }
        )
        return
    if yaml_out:
        typer.echo(contract.to_yaml(), nl=False)
        return
    console.print(
        f"[bold]{contract.name}[/bold] v{contract.version}  "
        f"(versions {', '.join(str(v) for v in registry.versions(source, entity))}; "
        f"digest {contract.digest()[:12]})"
    )
    if contract.description:
        console.print(contract.description)
    console.print(
        f"primary key: {', '.join(contract.primary_key) or '(none)'}   "
        f"event time: {contract.event_time or '(none)'}   "
        f"extra fields: {contract.extra_fields}"
    )
    table = Table(title="fields")
    for column in ("field", "type", "required", "rules", "description"):
        table.add_column(column, overflow="fold")
    for spec in contract.fields:
        rules = {
            key: value
            for key, value in spec.to_dict().items()
            if key not in ("name", "type", "required", "description")
        }
        table.add_row(
            spec.name,
            spec.type,
            "yes" if spec.required else "",
            ", ".join(
                f"{key}={','.join(value) if isinstance(value, list) else value}"
                for key, value in rules.items()
            ),
            spec.description,
        )
    console.print(table)
    quality = contract.quality
    completeness = ", ".join(f"{k} {v:.0%}" for k, v in quality.min_completeness.items())
    volume = quality.volume
    console.print(
        f"quality: batch rejected above {quality.max_quarantine_rate:.0%} quarantined rows; "
        f"min completeness: {completeness or 'none'}; future tolerance "
        f"{quality.future_tolerance_seconds:g} s; max age "
        f"{'none' if quality.max_age_days is None else f'{quality.max_age_days:g} days'}; "
        f"volume ratio {volume.min_ratio:g}-{volume.max_ratio:g} over {volume.window} batches "
        f"({volume.action})"
    )


@contracts_app.command("add")
def add_command(
    file: Annotated[Path, typer.Argument(help="A contract YAML file.", show_default=False)],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a contract, or a compatible new version of one (a breaking change is refused)."""
    from aimsight.ingest import Contract

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(
            f"FILE {file}: cannot read it ({reason}); pass a contract YAML file", field="file"
        ) from None
    contract = Contract.from_yaml(text, origin=str(file))
    registry = _registry(workspace)
    before = registry.versions(contract.source, contract.entity)
    stored = registry.add(contract)
    added = stored.version not in before
    if as_json:
        print_json({**_summary(stored), "added": added})
        return
    if added:
        console.print(f"[green]added[/green] {stored.name} v{stored.version}")
    else:
        console.print(f"unchanged: {stored.name} v{stored.version} is identical")


@contracts_app.command("install-defaults")
def install_defaults_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Install the contracts shipped for the demo company (existing ones are kept)."""
    installed = _registry(workspace).install_defaults()
    if as_json:
        print_json([_summary(contract) for contract in installed])
        return
    if not installed:
        console.print("every default contract is already installed")
        return
    for contract in installed:
        console.print(f"[green]installed[/green] {contract.name} v{contract.version}")


def register(app: typer.Typer) -> None:
    """Add the ``contracts`` group to ``app``."""
    app.add_typer(contracts_app, name="contracts")
