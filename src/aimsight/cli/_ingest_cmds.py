"""``aimsight ingest``: files and folders into the lake, batch reports and the batch list.

``aimsight ingest PATH --source S --entity E`` is short for ``aimsight ingest file PATH ...``:
the group inserts the ``file`` subcommand when the first word is not one of its commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table
from typer.core import TyperGroup

from aimsight.cli import _stream_cmds
from aimsight.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    cli_actor,
    console,
    err_console,
    open_workspace,
    print_json,
    stage_progress,
)

if TYPE_CHECKING:  # the ingest layer loads only when a command runs, for a fast --help
    from aimsight.ingest import BatchResult, IngestService

__all__ = ["DefaultFileGroup", "register"]

_HELP_FLAGS = ("--help", "-h")


class DefaultFileGroup(TyperGroup):
    """A group whose default subcommand is ``file``: ``ingest PATH`` runs ``ingest file PATH``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _HELP_FLAGS:
            args = ["file", *args]
        return super().parse_args(ctx, args)


ingest_app = typer.Typer(
    cls=DefaultFileGroup,
    help=(
        "Bring data in through contracts, quality rules and quarantine: "
        "`aimsight ingest PATH --source S --entity E`."
    ),
    no_args_is_help=True,
)


@contextmanager
def _service(workspace: str | None) -> Iterator[IngestService]:
    """The ingest service of the workspace, recording batches on its ledger."""
    from aimsight.ingest import IngestService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield IngestService(opened, store, Ledger.open(opened, store))


@ingest_app.command("file")
def file_command(
    path: Annotated[
        Path, typer.Argument(help="A CSV, JSON Lines or Parquet file, or a folder of them.")
    ],
    source: Annotated[str, typer.Option(help="Where the data comes from, e.g. crm.")],
    entity: Annotated[str, typer.Option(help="What it describes, e.g. customers.")],
    format: Annotated[  # noqa: A002 - the option's name
        str | None,
        typer.Option(help="csv, jsonl or parquet (default: from the file suffix)."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter, e.g. ';' or tab (default: detected).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding, e.g. cp1252 (default: detected).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest a file (one batch) or a folder (one batch per file) under its contract.

    Prints each batch's quality report. Exits 1 when the rules rejected a batch (its rows are
    then in quarantine); ingesting the same content again adds nothing.
    """
    checked_format = _format(format)
    with (
        _service(workspace) as service,
        stage_progress(not as_json and err_console.is_terminal) as progress,
    ):
        results = service.ingest_path(
            path,
            source=source,
            entity=entity,
            actor=cli_actor(),
            format=checked_format,
            delimiter=delimiter,
            encoding=encoding,
            progress=progress,
        )
    if as_json:
        print_json([result.to_dict() for result in results])
    else:
        for result in results:
            _print_result(result)
    rejected = [result for result in results if result.verdict == "rejected"]
    if rejected:
        first = rejected[0]
        more = f" (and {len(rejected) - 1} more batches)" if len(rejected) > 1 else ""
        err_console.print(
            f"[red]error:[/red] batch {first.batch_id} rejected: {first.report.verdict_reason}; "
            f"its {first.rows_quarantined:,} rows are in quarantine "
            f"(aimsight quarantine list --batch {first.batch_id}){more}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _format(value: str | None) -> Literal["csv", "jsonl", "parquet"] | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered == "csv":
        return "csv"
    if lowered == "jsonl":
        return "jsonl"
    if lowered == "parquet":
        return "parquet"
    raise typer.BadParameter(f"{value!r} is not one of csv, jsonl, parquet", param_hint="--format")


def _print_result(result: BatchResult) -> None:
    from aimsight.ingest import render_report

    if result.duplicate:
        console.print(
            f"[yellow]already ingested[/yellow] as batch {result.batch_id} "
            f"({result.verdict}: {result.rows_in:,} rows in, {result.rows_accepted:,} accepted, "
            f"{result.rows_quarantined:,} quarantined); nothing added",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(render_report(result.report))
    colour = "green" if result.verdict == "accepted" else "red"
    console.print(
        f"[{colour}]batch {result.batch_id}[/{colour}] {result.dataset}: "
        f"{result.rows_in:,} rows in, {result.rows_accepted:,} accepted, "
        f"{result.rows_quarantined:,} quarantined, {len(result.files)} lake files",
        highlight=False,
        soft_wrap=True,
    )


@ingest_app.command("report")
def report_command(
    batch_id: Annotated[str, typer.Argument(help="The batch id, b_…")],
    all_checks: Annotated[
        bool, typer.Option("--all-checks", help="Also list checks that found nothing.")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a batch's stored quality report."""
    from aimsight.ingest import render_report

    with _service(workspace) as service:
        info = service.batch(batch_id)
    if as_json:
        print_json(info.to_dict())
        return
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("batch", info.batch_id)
    header.add_row("dataset", info.dataset)
    header.add_row("from", f"{info.kind}: {info.origin}")
    if info.parent_batch_id:
        header.add_row("parent", info.parent_batch_id)
    header.add_row("committed", f"{info.committed_at} by {info.actor}")
    console.print(header)
    console.print(render_report(info.report, all_checks=all_checks))


@ingest_app.command("batches")
def batches_command(
    dataset: Annotated[
        str | None, typer.Option(help="Only this dataset, e.g. crm.customers.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List committed batches, newest first."""
    with _service(workspace) as service:
        found = service.batches(dataset, limit=limit)
    if as_json:
        print_json([info.to_dict(with_report=False) for info in found])
        return
    table = Table(title=f"batches: {len(found)}")
    table.add_column("batch", no_wrap=True, min_width=26)
    for column in ("dataset", "kind", "committed"):
        table.add_column(column, overflow="fold")
    for column in ("in", "accepted", "quarantined"):
        table.add_column(column, justify="right")
    table.add_column("verdict")
    for info in found:
        colour = "green" if info.verdict == "accepted" else "red"
        table.add_row(
            info.batch_id,
            info.dataset,
            info.kind,
            info.committed_at,
            f"{info.rows_in:,}",
            f"{info.rows_accepted:,}",
            f"{info.rows_quarantined:,}",
            f"[{colour}]{info.verdict}[/{colour}]",
        )
    console.print(table)


@ingest_app.command("clean")
def clean_command(
    older_than: Annotated[
        float,
        typer.Option(
            min=0,
            help="Only files untouched for this many minutes (a running ingest's "
            "files are younger).",
        ),
    ] = 60.0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete lake files that no committed batch lists (left by interrupted ingests)."""
    with _service(workspace) as service:
        removed = service.remove_orphans(timedelta(minutes=older_than))
    if as_json:
        print_json({"removed": removed})
        return
    console.print(f"removed {len(removed)} orphaned lake files", highlight=False)
    for path in removed:
        console.print(f"  {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` group (with ``stream`` and ``flush``) to ``app``."""
    if not any(command.name == "stream" for command in ingest_app.registered_commands):
        _stream_cmds.register(ingest_app)
    app.add_typer(ingest_app, name="ingest")
