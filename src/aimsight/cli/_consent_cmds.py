"""``aimsight consent ...``: a customer's consents, changes, history and imports from a shell.

A customer is named by their id, an alias or a record key (``crm.customers:C1001``); identity
resolves it. Every change is written to the ledger with the shell user as the actor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

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

if TYPE_CHECKING:  # privacy and identity load only when a command runs, for a fast --help
    from aimsight.identity import IdentityService
    from aimsight.privacy import (
        ConsentChange,
        ConsentPolicy,
        ConsentService,
        CustomerConsents,
        ImportReport,
    )

__all__ = ["register"]

consent_app = typer.Typer(
    help=(
        "Consent per customer, purpose and channel: what holds now, recording a change, the "
        "full history, imports from another system and the policy in force."
    ),
    no_args_is_help=True,
)

CustomerArg = Annotated[
    str,
    typer.Argument(
        help="A customer id (cus_…), one of its aliases, or a record key (crm.customers:C1001).",
        show_default=False,
    ),
]


@contextmanager
def _services(workspace: str | None) -> Iterator[tuple[ConsentService, IdentityService]]:
    """The workspace's consent service and identity (to resolve customer references)."""
    from aimsight.identity import IdentityService
    from aimsight.privacy import ConsentService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        ledger = Ledger.open(opened, store)
        yield ConsentService(opened, store, ledger), IdentityService(opened, store, ledger)


@consent_app.command("show")
def show_command(
    customer: CustomerArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show a customer's records in force and what each purpose may do on each channel."""
    with _services(workspace) as (consents, identity):
        found = consents.get(identity.customer_id_of(customer))
        policy = consents.policy
    if as_json:  # the shape of GET /v1/customers/{id}/consents
        print_json(found.to_dict())
        return
    _print_consents(found, policy)


def _print_consents(found: CustomerConsents, policy: ConsentPolicy) -> None:
    console.print(f"[bold]{found.customer_id}[/bold]", highlight=False)
    if found.records:
        records = Table(title="records in force")
        for column in ("purpose", "channel", "status", "recorded", "source", "basis"):
            records.add_column(column, overflow="fold")
        for record in found.records:
            via = f" (via {record.collected_via})" if record.collected_via else ""
            records.add_row(
                record.purpose,
                record.channel + via,
                _status(record.status),
                record.recorded_at[:16].replace("T", " "),
                escape(record.source),
                record.legal_basis or "",
            )
        console.print(records)
    else:
        console.print("no records: the policy's defaults hold", style="dim")
    matrix = Table(title="may this purpose run on this channel?")
    matrix.add_column("purpose", no_wrap=True)
    for channel in policy.channels:
        matrix.add_column(channel, justify="center")
    for purpose in policy.purposes:
        cells = []
        for channel in policy.channels:
            check = found.check(purpose, channel)
            mark = "[green]yes[/green]" if check.allowed else "[red]no[/red]"
            cells.append(mark + (" [dim]default[/dim]" if check.by_default else ""))
        matrix.add_row(purpose, *cells)
    console.print(matrix)
    blocked = {
        check.reason
        for check in found.effective
        if not check.allowed and check.blocked_by is not None
    }
    for reason in sorted(blocked):
        console.print(f"[red]blocked:[/red] {escape(reason)}", highlight=False)


def _status(status: str) -> str:
    colour = "green" if status == "granted" else "red"
    return f"[{colour}]{status}[/{colour}]"


@consent_app.command("set")
def set_command(
    customer: CustomerArg,
    purpose: Annotated[
        str,
        typer.Option(
            "--purpose", help="A purpose of the policy, or * for every purpose on --channel."
        ),
    ],
    channel: Annotated[str, typer.Option("--channel", help="A channel, or * for every one.")],
    status: Annotated[
        str, typer.Option("--status", help="granted, denied or revoked (withdrawn = revoked).")
    ],
    source: Annotated[
        str, typer.Option("--source", help="Where the customer said it, e.g. call_centre.")
    ] = "cli",
    legal_basis: Annotated[
        str | None,
        typer.Option("--legal-basis", help="GDPR Art. 6 basis; default: the purpose's."),
    ] = None,
    recorded_at: Annotated[
        str | None,
        typer.Option(
            "--recorded-at",
            help="When the customer said it (ISO 8601 with a zone); default: now.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what a customer said about one purpose on one channel (written to the ledger)."""
    from aimsight.privacy import ConsentChangeIn

    change = ConsentChangeIn(
        purpose=purpose,
        channel=channel,
        status=status,
        source=source,
        legal_basis=legal_basis,
        recorded_at=recorded_at,
    )
    with _services(workspace) as (consents, identity):
        customer_id = identity.customer_id_of(customer)
        found = consents.set(customer_id, [change], actor=cli_actor())
        policy = consents.policy
    if as_json:
        print_json(found.to_dict())
        return
    console.print(
        f"[green]recorded[/green] {escape(purpose)} on {escape(channel)}: {escape(status)} "
        f"for {customer_id}",
        highlight=False,
    )
    _print_consents(found, policy)


@consent_app.command("history")
def history_command(
    customer: CustomerArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = (
        500
    ),
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every consent change recorded for a customer, newest first."""
    with _services(workspace) as (consents, identity):
        customer_id = identity.customer_id_of(customer)
        changes = consents.history(customer_id, limit=limit)
    if as_json:  # the shape of GET /v1/customers/{id}/consents/history
        print_json({"customer_id": customer_id, "changes": [c.to_dict() for c in changes]})
        return
    _print_history(customer_id, changes)


def _print_history(customer_id: str, changes: list[ConsentChange]) -> None:
    if not changes:
        console.print(f"no consent changes recorded for {customer_id}", highlight=False)
        return
    table = Table(title=f"consent history of {customer_id}: {len(changes)} changes")
    for column in ("recorded", "purpose", "channel", "status", "source", "by", "in force"):
        table.add_column(column, overflow="fold")
    for change in changes:
        via = f" (via {change.collected_via})" if change.collected_via else ""
        table.add_row(
            change.recorded_at[:16].replace("T", " "),
            change.purpose,
            change.channel + via,
            _status(change.status),
            escape(change.source),
            escape(change.actor),
            "yes" if change.in_force else "[dim]no[/dim]",
        )
    console.print(table)


@consent_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv (header: customer, purpose, channel, status, recorded_at, source, "
            "optionally legal_basis, source_ref) or .jsonl file.",
            show_default=False,
        ),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import consent records from another system (CSV or JSON Lines).

    Rows are applied in recorded_at order; rows imported before (same source_ref) are
    skipped; rejected rows are listed with the reason, and the exit code is 1 when any is.
    """
    from aimsight.privacy import read_changes

    changes, unreadable = read_changes(file)
    with (
        _services(workspace) as (consents, identity),
        stage_progress(not as_json and err_console.is_terminal) as progress,
    ):
        report = consents.import_changes(
            changes,
            actor=cli_actor(),
            progress=progress,
            resolve_customer=identity.customer_id_of,
            rejected=unreadable,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(file, report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(file: Path, report: ImportReport) -> None:
    console.print(
        f"[green]imported[/green] {escape(file.name)}: {report.rows:,} rows, "
        f"{report.applied:,} recorded ({report.in_force:,} in force), {report.skipped:,} "
        f"already imported, {len(report.rejected):,} rejected",
        highlight=False,
    )
    if report.rejected:
        table = Table(title="rejected rows")
        for column in ("line", "customer", "field", "reason"):
            table.add_column(column, overflow="fold")
        for item in report.rejected:
            table.add_row(
                str(item.line or ""),
                escape(item.customer or ""),
                item.field or "",
                escape(item.reason),
            )
        err_console.print(table)


@consent_app.command("policy")
def policy_command(
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Copy the shipped policy to <workspace>/privacy/consent.yaml to edit.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the consent policy in force: purposes, channels, defaults and propagation."""
    with _services(workspace) as (consents, _identity):
        if install:
            path = consents.install_default_policy()
            err_console.print(f"policy file: {path}", highlight=False)
        policy = consents.policy
        origin = consents.policy_path if consents.policy_path.exists() else None
    if as_json:
        print_json(
            {"file": str(origin) if origin else None, "digest": policy.digest, **policy.to_dict()}
        )
        return
    table = Table(title=f"consent policy ({origin or 'the shipped default'})")
    for column in ("purpose", "legal basis", "when nothing is recorded", "scope"):
        table.add_column(column)
    for name, spec in policy.purposes.items():
        table.add_row(name, spec.legal_basis, spec.default, spec.scope)
    console.print(table)
    console.print(f"channels: {', '.join(policy.channels)}", highlight=False)
    for rule in policy.propagation:
        console.print(
            f"a refused [bold]{rule.when}[/bold] blocks {', '.join(rule.blocks)}: "
            f"{escape(rule.reason.strip())}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add the ``consent`` group to ``app``."""
    app.add_typer(consent_app, name="consent")
