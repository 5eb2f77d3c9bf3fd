"""``aimsight lineage DATASET|BATCH|FILE``: where data came from and what judged it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from aimsight.cli._common import JsonOpt, WorkspaceOpt, console, open_workspace, print_json

if TYPE_CHECKING:  # the ingest layer loads only when the command runs, for a fast --help
    from aimsight.ingest import BatchInfo, BatchLineage, DatasetLineage

__all__ = ["register"]


def lineage_command(
    target: Annotated[
        str,
        typer.Argument(
            help="A dataset (crm.customers), a batch id (b_…) or a lake file path (raw/….parquet)."
        ),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show lineage: source, contract version and digest, rule set, row counts, parents, files."""
    from aimsight.ingest import BatchLineage, LineageService
    from aimsight.store import Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        found = LineageService(store).lookup(target)
    if isinstance(found, tuple):
        file, batch = found
        if as_json:
            print_json({"file": file.to_dict(), **batch.to_dict()})
            return
        console.print(
            f"[bold]lake file[/bold] {file.path}: {file.rows:,} rows, {file.bytes:,} bytes, "
            f"sha256 {file.sha256[:16]}…, partition {file.partition_date}",
            highlight=False,
        )
        _print_batch(batch)
    elif isinstance(found, BatchLineage):
        if as_json:
            print_json(found.to_dict())
            return
        _print_batch(found)
    else:
        if as_json:
            print_json(found.to_dict())
            return
        _print_dataset(found)


def _print_batch(lineage: BatchLineage) -> None:
    info = lineage.batch
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("batch", info.batch_id)
    grid.add_row("dataset", info.dataset)
    grid.add_row("from", f"{info.kind}: {info.origin}")
    grid.add_row("content sha256", info.content_sha256)
    grid.add_row("contract", f"v{info.contract_version} ({info.contract_digest[:16]}…)")
    grid.add_row("rule set", info.rule_set_version)
    grid.add_row(
        "rows",
        f"{info.rows_in:,} in, {info.rows_accepted:,} accepted, "
        f"{info.rows_quarantined:,} quarantined ({info.verdict})",
    )
    if lineage.quarantine:
        grid.add_row(
            "quarantine", ", ".join(f"{n:,} {s}" for s, n in sorted(lineage.quarantine.items()))
        )
    grid.add_row("committed", f"{info.committed_at} by {info.actor}")
    grid.add_row(
        "ledger", "not yet recorded" if info.ledger_seq is None else f"entry {info.ledger_seq}"
    )
    chain = " ← ".join([info.batch_id, *(parent.batch_id for parent in lineage.parents)])
    if lineage.parents:
        grid.add_row("parents", chain)
    if lineage.children:
        grid.add_row("children", ", ".join(lineage.children))
    console.print(grid)
    if lineage.files:
        files = Table(title="lake files")
        for column in ("path", "date", "rows", "bytes"):
            files.add_column(
                column, overflow="fold", justify="right" if column in ("rows", "bytes") else "left"
            )
        for file in lineage.files:
            files.add_row(file.path, file.partition_date, f"{file.rows:,}", f"{file.bytes:,}")
        console.print(files)


def _print_dataset(lineage: DatasetLineage) -> None:
    console.print(
        f"[bold]{lineage.dataset}[/bold]: {len(lineage.batches):,} batches, "
        f"{lineage.rows_in:,} rows in, {lineage.rows_accepted:,} accepted, "
        f"{lineage.rows_quarantined:,} still in quarantine ({lineage.rows_replayed:,} "
        f"replayed); {lineage.files:,} lake files "
        f"({lineage.bytes:,} bytes); contract versions "
        f"{', '.join(f'v{v}' for v in lineage.contract_versions)}; rule sets "
        f"{', '.join(lineage.rule_set_versions)}",
        highlight=False,
    )
    table = Table(title="batches")
    table.add_column("batch", no_wrap=True, min_width=26)
    for column in ("kind", "committed", "contract", "in", "accepted", "quarantined", "parent"):
        table.add_column(column, overflow="fold")
    for info in lineage.batches:
        table.add_row(*_batch_cells(info))
    console.print(table)


def _batch_cells(info: BatchInfo) -> list[str]:
    return [
        info.batch_id,
        info.kind,
        info.committed_at,
        f"v{info.contract_version}",
        f"{info.rows_in:,}",
        f"{info.rows_accepted:,}",
        f"{info.rows_quarantined:,}",
        info.parent_batch_id or "",
    ]


def register(app: typer.Typer) -> None:
    """Add the ``lineage`` command to ``app``."""
    app.command("lineage")(lineage_command)
