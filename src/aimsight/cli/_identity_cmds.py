"""``aimsight identity ...``: resolution runs, who is who, steward overrides and explanations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
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
from aimsight.core import InvalidInput

if TYPE_CHECKING:  # identity (Splink, DuckDB) loads only when a command runs, for a fast --help
    from aimsight.identity import IdentityService, RunSummary

__all__ = ["register"]

identity_app = typer.Typer(
    help=(
        "Identity resolution: one customer per person across sources; runs, lookups, "
        "steward links and unlinks, and why records were joined."
    ),
    no_args_is_help=True,
)

_BACKENDS = ("duckdb", "spark")
_TOP_COMPARISONS = 3

IdOpt = Annotated[
    str,
    typer.Argument(
        help="A customer id (cus_…), one of its aliases, or a record key (crm.customers:C1001)."
    ),
]
ReasonOpt = Annotated[
    str, typer.Option("--reason", help="Why (kept with the override and on the ledger).")
]


@contextmanager
def _service(workspace: str | None, backend: str = "duckdb") -> Iterator[IdentityService]:
    """The identity service of the workspace, recording on its ledger."""
    from aimsight.identity import IdentityService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield IdentityService(opened, store, Ledger.open(opened, store), backend=backend)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A Rich spinner on stderr showing the run's current step, or ``None``."""
    if not enabled:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def update(step: str) -> None:
            bar.update(task, description=step)

        yield update


def _backend(value: str) -> str:
    lowered = value.lower()
    if lowered not in _BACKENDS:
        raise typer.BadParameter(f"{value!r} is not one of duckdb, spark", param_hint="--backend")
    return lowered


@identity_app.command("run")
def run_command(
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train a new model version instead of reusing one.")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            help="duckdb (one machine) or spark (the cluster tier). Default: the "
            "identity.backend setting (duckdb unless configured)."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve every record in the lake into customers.

    Reuses the trained model while the matching configuration is unchanged, so a rerun
    scores pairs exactly as before; customer ids stay stable across runs.
    """
    if backend is None:
        backend = open_workspace(workspace).settings.identity.backend
    checked = _backend(backend)
    with (
        _service(workspace, checked) as service,
        _progress(not as_json and err_console.is_terminal) as progress,
    ):
        summary = service.run(actor=cli_actor(), retrain=retrain, progress=progress)
    if as_json:
        print_json(summary.to_dict())
        return
    _print_summary(summary)


def _print_summary(summary: RunSummary) -> None:
    console.print(
        f"[green]run {summary.run_id}[/green] ({summary.backend}): "
        f"{summary.records:,} records → {summary.customers:,} customers",
        highlight=False,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    model = f"v{summary.model_version} " + ("(trained now)" if summary.trained else "(reused)")
    grid.add_row("model", model)
    grid.add_row("threshold", f"match probability ≥ {summary.threshold:.4f}")
    grid.add_row(
        "links",
        f"{summary.links:,} linked pairs, {summary.deterministic_links:,} of them by exact "
        "identifiers",
    )
    grid.add_row(
        "changes",
        f"{summary.created:,} new, {_n(summary.merged, 'merge')}, {_n(summary.split, 'split')}",
    )
    grid.add_row(
        "guards",
        f"{summary.held_for_review:,} merges held for review, "
        f"{summary.refused_conflicts:,} refused for conflicts, "
        f"{summary.shared_identifiers:,} shared identifiers left out",
    )
    if summary.pairs_per_rule:
        grid.add_row(
            "blocking",
            ", ".join(f"{rule}: {n:,}" for rule, n in summary.pairs_per_rule.items()),
        )
    total = sum(summary.seconds.values())
    grid.add_row(
        "timings",
        f"{total:.1f} s ("
        + ", ".join(f"{step} {secs:.1f} s" for step, secs in summary.seconds.items())
        + ")",
    )
    console.print(grid, highlight=False)
    if summary.held_for_review:
        console.print(
            f"[yellow]{summary.held_for_review:,} merges held for review[/yellow]: "
            "aimsight identity reviews",
            highlight=False,
        )


@identity_app.command("runs")
def runs_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 20,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List resolution runs, newest first."""
    with _service(workspace) as service:
        found = service.runs(limit)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"identity runs: {len(found)}")
    table.add_column("run", no_wrap=True)
    table.add_column("status")
    table.add_column("model")
    table.add_column("records", justify="right")
    table.add_column("customers", justify="right")
    table.add_column("changes")
    table.add_column("started")
    for run in found:
        colour = {"completed": "green", "failed": "red"}.get(run["status"], "yellow")
        table.add_row(
            run["run_id"],
            f"[{colour}]{run['status']}[/{colour}]",
            "" if run["model_version"] is None else f"v{run['model_version']}",
            f"{run['records']:,}",
            f"{run['customers']:,}",
            _changes(run.get("summary") or {}),
            str(run["started_at"])[:16].replace("T", " "),
        )
    console.print(table)


def _changes(summary: Mapping[str, Any]) -> str:
    """``3 new, 2 merged, 1 split, 1 held`` from a run summary; only what happened."""
    parts = [
        f"{summary[key]:,} {label}"
        for key, label in (
            ("created", "new"),
            ("merged", "merged"),
            ("split", "split"),
            ("held_for_review", "held"),
        )
        if isinstance(summary.get(key), int) and summary[key]
    ]
    return ", ".join(parts) or "none"


@identity_app.command("show")
def show_command(
    reference: IdOpt, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show a customer's golden record with where each value came from."""
    with _service(workspace) as service:
        profile = service.lookup("id", reference)
    if as_json:
        print_json(profile)
        return
    _print_profile(profile)


def _print_profile(profile: Mapping[str, Any]) -> None:
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column(overflow="fold")
    header.add_row("customer", profile["customer_id"])
    header.add_row("kind", f"{profile['kind']} ({profile['status']})")
    header.add_row("since", f"{profile['created_at']} (updated {profile['updated_at']})")
    header.add_row("aliases", ", ".join(profile["aliases"]) or "none")
    header.add_row("records", f"{len(profile['records']):,}")
    console.print(header, highlight=False)
    attributes = Table(title="golden record")
    for column in ("attribute", "value", "from", "record", "as of"):
        attributes.add_column(column, overflow="fold")
    for name, value in profile["attributes"].items():
        attributes.add_row(
            name,
            str(value.get("value", "")),
            str(value.get("dataset") or ""),
            str(value.get("record_id") or ""),
            str(value.get("updated_at") or ""),
        )
    console.print(attributes)
    records = Table(title="records")
    records.add_column("record", overflow="fold")
    for key in profile["records"]:
        records.add_row(key)
    console.print(records)


def _one_identifier(given: Mapping[str, str | None]) -> tuple[str, str]:
    present = {kind: value for kind, value in given.items() if value}
    if len(present) != 1:
        raise InvalidInput(
            "give exactly one of --email, --phone, --crm-id, --device-id", field="identifier"
        )
    return next(iter(present.items()))


EmailOpt = Annotated[str | None, typer.Option("--email", help="An e-mail address.")]
PhoneOpt = Annotated[
    str | None, typer.Option("--phone", help="A phone number (national numbers are read as GB).")
]
CrmIdOpt = Annotated[str | None, typer.Option("--crm-id", help="A CRM customer id.")]
DeviceIdOpt = Annotated[str | None, typer.Option("--device-id", help="A device id.")]


@identity_app.command("lookup")
def lookup_command(
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    crm_id: CrmIdOpt = None,
    device_id: DeviceIdOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the customer an identifier names, and show their golden record."""
    kind, value = _one_identifier(
        {"email": email, "phone": phone, "crm_id": crm_id, "device_id": device_id}
    )
    with _service(workspace) as service:
        profile = service.lookup(kind, value)
    if as_json:
        print_json(profile)
        return
    _print_profile(profile)


@identity_app.command("link")
def link_command(
    first: IdOpt,
    second: IdOpt,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Steward: these two are one person. They merge now and stay merged in every run."""
    with _service(workspace) as service:
        result = service.link(first, second, reason=reason, actor=cli_actor())
    if as_json:
        print_json(result)
        return
    console.print(
        f"[green]linked[/green]: {result['merged']} merged into {result['customer_id']} "
        f"({len(result['records']):,} records); {result['merged']} is now its alias",
        highlight=False,
    )


@identity_app.command("unlink")
def unlink_command(
    first: IdOpt,
    second: IdOpt,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Steward: these two are different people. They are kept apart in every run.

    Give two record keys to separate records of one customer (see `aimsight identity explain`).
    """
    with _service(workspace) as service:
        result = service.unlink(first, second, reason=reason, actor=cli_actor())
    if as_json:
        print_json(result)
        return
    pairs = len(result["records_a"]) * len(result["records_b"])
    customers = result["customers"]
    outcome = (
        f"split into {', '.join(customers)}"
        if len(customers) > 1
        else "they were already apart; they stay apart"
    )
    console.print(
        f"[green]unlinked[/green]: {_n(pairs, 'record pair')} may never join again; {outcome}",
        highlight=False,
    )


@identity_app.command("explain")
def explain_command(
    reference: IdOpt, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Why a customer's records are one person: each link's rule, weight and probability."""
    with _service(workspace) as service:
        found = service.explain(reference)
    if as_json:
        print_json(found)
        return
    console.print(
        f"[bold]{found['customer_id']}[/bold]: {_n(len(found['records']), 'record')}, "
        f"{_n(len(found['links']), 'link')}"
        + (f"; aliases {', '.join(found['aliases'])}" if found["aliases"] else ""),
        highlight=False,
    )
    console.print(_records_table(found["records"]))
    if found["links"]:
        console.print(_links_table(found["links"]))
    if found["overrides"]:
        overrides = Table(title="steward overrides")
        for column in ("kind", "record a", "record b", "reason", "by", "at"):
            overrides.add_column(column, overflow="fold")
        for override in found["overrides"]:
            overrides.add_row(
                override["kind"],
                override["record_a"],
                override["record_b"],
                override["reason"],
                override["actor"],
                override["created_at"],
            )
        console.print(overrides)
    if found["events"]:
        events = Table(title="history")
        for column in ("at", "event", "before", "after", "run"):
            events.add_column(column, overflow="fold")
        for event in found["events"]:
            events.add_row(
                event["at"],
                event["kind"],
                ", ".join(event["before"]),
                ", ".join(event["after"]),
                event["run_id"] or "",
            )
        console.print(events)


# The record columns explain shows (all of them are in --json), in this order.
_RECORD_COLUMNS = ("email", "phone", "birth_date", "postcode", "crm_id", "device_id")


def _records_table(records: list[dict[str, Any]]) -> Table:
    shown = [c for c in _RECORD_COLUMNS if any(record.get(c) is not None for record in records)]
    table = Table(title="records")
    table.add_column("record", overflow="fold")
    table.add_column("name", overflow="fold")
    for column in shown:
        table.add_column(column.replace("_", " "), overflow="fold")
    table.add_column("trust", justify="right")
    table.add_column("updated", no_wrap=True)
    for record in records:
        name = " ".join(_text(record.get(part)) for part in ("first_name", "last_name"))
        table.add_row(
            record["unique_id"],
            name.strip(),
            *(_text(record.get(column)) for column in shown),
            _text(record.get("trust")),
            _text(record.get("updated_at"))[:10],
        )
    return table


def _links_table(links: list[dict[str, Any]]) -> Table:
    table = Table(title="links")
    for column in ("left", "right", "rule"):
        table.add_column(column, overflow="fold")
    table.add_column("joined")
    table.add_column("weight", justify="right")
    table.add_column("probability", justify="right")
    table.add_column(f"top {_TOP_COMPARISONS} comparisons (weight)", overflow="fold")
    for link in links:
        weight = link["match_weight"]
        probability = link["match_probability"]
        table.add_row(
            link["left"],
            link["right"],
            link["rule"],
            "yes" if link["accepted"] else "[dim]already one[/dim]",
            "exact" if weight is None else f"{weight:+.2f}",
            "" if probability is None else f"{probability:.4f}",
            _top_comparisons(link["comparisons"]),
        )
    return table


def _top_comparisons(comparisons: Mapping[str, float]) -> str:
    ranked = sorted(comparisons.items(), key=lambda item: (-abs(item[1]), item[0]))
    return ", ".join(f"{name} {weight:+.2f}" for name, weight in ranked[:_TOP_COMPARISONS])


def _n(count: int, noun: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


@identity_app.command("resolve")
def resolve_command(
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    crm_id: CrmIdOpt = None,
    device_id: DeviceIdOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The customer behind identifiers seen now, as a decision request asks for it.

    Unknown identifiers get a new anonymous customer, which later runs merge with a known one
    once an identifier links them.
    """
    given = {"email": email, "phone": phone, "crm_id": crm_id, "device_id": device_id}
    identifiers = {kind: value for kind, value in given.items() if value}
    if not identifiers:
        raise InvalidInput(
            "give at least one of --email, --phone, --crm-id, --device-id", field="identifiers"
        )
    with _service(workspace) as service:
        resolution = service.resolve(identifiers, actor=cli_actor())
    if as_json:
        print_json(resolution.to_dict())
        return
    colour = {"known": "green", "new": "cyan", "conflict": "yellow"}.get(resolution.status, "")
    anonymous = " (anonymous)" if resolution.kind == "anonymous" else ""
    console.print(
        f"[{colour}]{resolution.status}[/{colour}] {resolution.customer_id}{anonymous}",
        highlight=False,
    )
    for kind, customer in resolution.matched.items():
        console.print(f"  {kind} names {customer}", highlight=False)
    for kind, why in resolution.ignored.items():
        console.print(f"  {kind} ignored: {why}", highlight=False)
    if resolution.status == "conflict":
        console.print(
            f"  identifiers name {', '.join(resolution.candidates)}; chose by {resolution.rule}",
            highlight=False,
        )


@identity_app.command("evaluate")
def evaluate_command(
    truth: Annotated[
        Path,
        typer.Option(
            "--truth",
            help="Ground-truth CSV: dataset (or source), record_id (or source_record_id), "
            "person_id.",
        ),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Precision, recall and F1 of the current customers against ground truth."""
    with _service(workspace) as service:
        scores = service.evaluate(truth)
    if as_json:
        print_json(scores)
        return
    console.print(
        f"scored {scores['records_scored']:,} records "
        f"({scores['records_without_truth']:,} resolved without truth, "
        f"{scores['truth_records_unresolved']:,} in the truth but not resolved)",
        highlight=False,
    )
    table = Table(title="pairwise scores")
    table.add_column("view")
    for column in ("precision", "recall", "F1", "true pairs", "predicted", "correct"):
        table.add_column(column, justify="right")
    for view, label in (("cluster", "customers"), ("links", "accepted links")):
        found = scores.get(view)
        if not found:
            continue
        table.add_row(
            label,
            f"{found['precision']:.4f}",
            f"{found['recall']:.4f}",
            f"{found['f1']:.4f}",
            f"{found['true_pairs']:,}",
            f"{found['predicted_pairs']:,}",
            f"{found['true_positives']:,}",
        )
    console.print(table)


@identity_app.command("reviews")
def reviews_command(
    status: Annotated[str, typer.Option(help="open, or another review status.")] = "open",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merges held for review: clusters that would have grown past the size limit."""
    with _service(workspace) as service:
        found = service.reviews(status)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"identity reviews: {len(found)} ({status})")
    table.add_column("id", justify="right")
    for column in ("reason", "record a", "record b", "detail", "run", "created"):
        table.add_column(column, overflow="fold")
    for review in found:
        table.add_row(
            str(review["id"]),
            review["reason"],
            review["record_a"],
            review["record_b"],
            _text(review["detail"]),
            review["run_id"],
            review["created_at"],
        )
    console.print(table)
    if found:
        console.print(
            "link or unlink the records to settle each: aimsight identity link|unlink A B "
            "--reason …",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add the ``identity`` group to ``app``."""
    app.add_typer(identity_app, name="identity")
