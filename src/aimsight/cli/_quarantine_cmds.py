"""``aimsight quarantine list|show|replay``: rows that did not enter the lake, and their replay."""

from __future__ import annotations

import json
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
    open_workspace,
    print_json,
)

if TYPE_CHECKING:  # the ingest layer loads only when a command runs, for a fast --help
    from aimsight.ingest import QuarantineService
    from aimsight.ingest import QuarantineStatus as Status

__all__ = ["register"]

quarantine_app = typer.Typer(
    help="Rows refused on the way in: list them, see why, replay them after a fix.",
    no_args_is_help=True,
)


@contextmanager
def _service(workspace: str | None) -> Iterator[QuarantineService]:
    from aimsight.ingest import QuarantineService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield QuarantineService(opened, store, Ledger.open(opened, store))


def _status(value: str) -> Status | None:
    if value == "all":
        return None
    if value == "open":
        return "open"
    if value == "replayed":
        return "replayed"
    raise typer.BadParameter(f"{value!r} is not one of open, replayed, all", param_hint="--status")


@quarantine_app.command("list")
def list_command(
    batch: Annotated[str | None, typer.Option(help="Only rows of this batch.")] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Only this dataset, e.g. crm.customers.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Only rows with this reason code, e.g. invalid_email.")
    ] = None,
    status: Annotated[str, typer.Option(help="open, replayed or all.")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    after: Annotated[int | None, typer.Option(help="Only rows after this id (paging).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List quarantined rows with their reasons (not their values: `show` prints those)."""
    checked = _status(status)
    with _service(workspace) as service:
        rows = service.list(
            batch_id=batch,
            dataset=dataset,
            status=checked,
            reason=reason,
            limit=limit,
            after_id=after,
        )
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(title=f"quarantine: {len(rows)} rows ({status})")
    table.add_column("id", justify="right")
    table.add_column("batch", no_wrap=True, min_width=26)
    for column in ("dataset", "line", "status", "reasons"):
        table.add_column(column, overflow="fold")
    for row in rows:
        reasons = "; ".join(
            f"{reason.code}" + (f" ({reason.field})" if reason.field else "")
            for reason in row.reasons
        )
        table.add_row(
            str(row.id),
            row.batch_id,
            row.dataset,
            "" if row.line is None else str(row.line),
            row.status if row.replayed_into is None else f"{row.status} → {row.replayed_into}",
            reasons,
        )
    console.print(table)


@quarantine_app.command("show")
def show_command(
    row_id: Annotated[int, typer.Argument(help="The row id, from `aimsight quarantine list`.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one quarantined row: its values as received and every reason."""
    with _service(workspace) as service:
        row = service.show(row_id)
    if as_json:
        print_json(row.to_dict())
        return
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column(overflow="fold")
    header.add_row("row", str(row.id))
    header.add_row("batch", f"{row.batch_id} ({row.dataset})")
    header.add_row("line", "" if row.line is None else str(row.line))
    header.add_row(
        "status", row.status + (f" into {row.replayed_into}" if row.replayed_into else "")
    )
    header.add_row(
        "raw",
        f"{row.raw_format} (replayable)"
        if row.raw_format == "fields"
        else "text (fix the source file to bring it back)",
    )
    console.print(header)
    reasons = Table(title="reasons")
    for column in ("code", "field", "message"):
        reasons.add_column(column, overflow="fold")
    for reason in row.reasons:
        reasons.add_row(reason.code, reason.field or "", reason.message)
    console.print(reasons)
    if row.raw_format == "fields":
        values = Table(title="values as received")
        values.add_column("field")
        values.add_column("value", overflow="fold")
        for name, value in json.loads(row.raw).items():
            values.add_row(name, "[dim]null[/dim]" if value is None else repr(value))
        console.print(values)
    else:
        console.print("[bold]text as received[/bold]")
        console.print(row.raw, markup=False, highlight=False, soft_wrap=True)


@quarantine_app.command("replay")
def replay_command(
    batch: Annotated[str | None, typer.Option(help="Replay the open rows of this batch.")] = None,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Replay this row (repeat for several).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate open rows again against the latest contract (after fixing it).

    Rows that pass go into a new batch whose parent is the batch they came from; rows that
    still fail stay open with their new reasons. Without --batch or --id, every open row.
    """
    with _service(workspace) as service:
        result = service.replay(actor=cli_actor(), batch_id=batch, row_ids=ids)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"replayed {result.considered:,} open rows: [green]{result.replayed:,} passed[/green], "
        f"{result.still_open:,} still failing, {result.needs_source:,} need a fixed source",
        highlight=False,
    )
    for batch_result in result.batches:
        console.print(
            f"  new batch {batch_result.batch_id} ({batch_result.dataset}): "
            f"{batch_result.rows_accepted:,} rows into the lake",
            highlight=False,
        )
    if result.reasons:
        table = Table(title="still failing")
        table.add_column("reason")
        table.add_column("rows", justify="right")
        for code, count in sorted(result.reasons.items(), key=lambda item: (-item[1], item[0])):
            table.add_row(code, f"{count:,}")
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``quarantine`` group to ``app``."""
    app.add_typer(quarantine_app, name="quarantine")
