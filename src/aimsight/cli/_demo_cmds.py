"""``aimsight demo``: build and serve the demo workspace; ``demo generate``: write the data set."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aimsight.cli._common import JsonOpt, WorkspaceOpt, console, ensure_port_free, print_json

__all__ = ["register"]

demo_app = typer.Typer(
    help="The synthetic company: build a demo workspace, or just generate its data.",
    invoke_without_command=True,
)

CustomersOpt = Annotated[
    int, typer.Option("--customers", help="Number of true customers (at least 10).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; same seed, same bytes.")]
PartsOpt = Annotated[
    Literal["all", "identity"],
    typer.Option(
        "--parts",
        help="What to write: all (every source) or identity (CRM customers, billing accounts "
        "and their ground truth only, byte for byte as in a full run; for identity "
        "benchmarks at millions of customers).",
    ),
]


@demo_app.callback()
def demo_callback(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    customers: CustomersOpt = 2000,
    seed: SeedOpt = 7,
    host: Annotated[str, typer.Option("--host", help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port the API listens on.")] = 8000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the workspace but do not start the API.")
    ] = False,
) -> None:
    """Build a fresh demo workspace from the synthetic company and serve the API."""
    if ctx.invoked_subcommand is not None:
        return
    from aimsight.demo import run_demo

    if not no_serve:
        ensure_port_free(host, port)
    run_demo(
        workspace=workspace,
        customers=customers,
        seed=seed,
        host=host,
        port=port,
        serve=not no_serve,
    )


@demo_app.command("generate")
def generate_command(
    out: Annotated[str, typer.Option("--out", help="Folder to write the data set into.")],
    customers: CustomersOpt = 2000,
    seed: SeedOpt = 7,
    parts: PartsOpt = "all",
    as_json: JsonOpt = False,
) -> None:
    """Write the synthetic company's sources and ground truth (deterministic per seed)."""
    from aimsight.demo import generate_company

    if as_json:
        summary = generate_company(out, customers=customers, seed=seed, parts=parts)
        print_json(summary.to_dict())
        return
    with Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        summary = generate_company(
            out, customers=customers, seed=seed, parts=parts, progress=report
        )
    only = ", identity sources only" if parts == "identity" else ""
    table = Table(title=f"{customers:,} customers, seed {seed}{only}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in summary.files.items():
        table.add_row(name, f"{rows:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{summary.total_rows:,}[/bold]")
    console.print(table)
    console.print(f"written to {summary.out} (manifest.json lists a SHA-256 per file)")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command group to ``app``."""
    app.add_typer(demo_app, name="demo")
