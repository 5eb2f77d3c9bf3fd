"""``aimsight ledger verify`` and ``aimsight ledger show``: check and read the decision ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from aimsight.cli._common import JsonOpt, WorkspaceOpt, console, open_workspace, print_json
from aimsight.core import InvalidInput, LedgerIntegrityError

__all__ = ["register"]

ledger_app = typer.Typer(
    help="The tamper-evident ledger: verify and read it.", no_args_is_help=True
)


@ledger_app.command("verify")
def verify_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Check every entry's hash, link and seal; exit 1 naming the first bad entry if any."""
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        result = Ledger.open(opened, store).verify()
    if as_json:
        print_json(result.to_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    if not result.ok:
        raise LedgerIntegrityError(
            f"ledger broken at entry {result.first_bad_seq}: {result.problem} "
            f"({result.entries_checked} entries before it are intact)"
        )
    console.print(
        f"[green]ledger intact[/green]: {result.entries_checked:,} entries, "
        f"head {result.head_seq or 0}"
    )


@ledger_app.command("show")
def show_command(
    subject: Annotated[str | None, typer.Option(help="Only entries about this subject.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind; 'decision.*' matches a prefix.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time on (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    after: Annotated[int | None, typer.Option(help="Only entries after this sequence.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    personal: Annotated[
        bool, typer.Option("--personal", help="Also print personal data (unless erased).")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List ledger entries in order, filtered by subject, kind and time."""
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        entries = Ledger.open(opened, store).entries(
            subject=subject,
            kind=kind,
            since=_parse_time("--since", since),
            until=_parse_time("--until", until),
            after_seq=after,
            limit=limit,
            include_personal=personal,
        )
    if as_json:
        print_json([entry.to_dict() for entry in entries])
        return
    table = Table(title=f"ledger: {len(entries)} entries")
    for column in ("seq", "recorded at", "kind", "subject", "actor", "payload"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        payload = json.dumps(entry.payload, sort_keys=True)
        if entry.personal is not None:
            payload += "  personal: " + json.dumps(entry.personal, sort_keys=True)
        elif entry.personal_erased:
            payload += "  personal: [erased]"
        table.add_row(
            str(entry.seq), entry.recorded_at, entry.kind, entry.subject or "", entry.actor, payload
        )
    console.print(table)


def _parse_time(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{option} {value!r} is not an ISO 8601 time; use e.g. 2026-11-01 or "
            "2026-11-01T09:30:00+01:00",
            field=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    """Add the ``ledger`` group to ``app``."""
    app.add_typer(ledger_app, name="ledger")
