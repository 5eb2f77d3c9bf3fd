"""``aimsight features ...``: point-in-time customer features from a shell.

The definitions in force, one customer's features (as of a date, or from the online
snapshot), offline builds for training and publishing the online snapshot for decisions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

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
from aimsight.core import InvalidInput, Workspace, isoformat_utc

if TYPE_CHECKING:  # features (pandas, identity) load only when a command runs, for a fast --help
    from aimsight.features import (
        Feature,
        FeatureDefinitions,
        FeatureService,
        OfflineFeatures,
        OnlineSnapshot,
    )

__all__ = ["register"]

features_app = typer.Typer(
    help=(
        "Point-in-time customer features: the definitions, one customer's features, offline "
        "builds for training and the online snapshot decisions read."
    ),
    no_args_is_help=True,
)

_DATE_HELP = "2026-06-01 (midnight UTC) or a time with its zone, 2026-06-01T12:00:00Z"


def _as_of(value: str | None) -> date | datetime | None:
    """Read an ``--as-of`` value: an ISO date, or an ISO time with its zone."""
    if value is None:
        return None
    text = value.strip()
    try:
        parsed: date | datetime = (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        )
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time; write it as {_DATE_HELP}", param_hint="--as-of"
        ) from None
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no time zone; add one, e.g. Z for UTC", param_hint="--as-of"
        )
    return parsed


def _as_of_list(values: list[str]) -> list[date | datetime]:
    return [moment for moment in map(_as_of, values) if moment is not None]


AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help=f"The time the features describe: {_DATE_HELP}."),
]


@contextmanager
def _service(workspace: str | None) -> Iterator[tuple[FeatureService, Workspace]]:
    """The workspace's feature service, recording on its ledger, and the workspace."""
    from aimsight.features import FeatureService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield FeatureService(opened, store, Ledger.open(opened, store)), opened


@features_app.command("show")
def show_command(
    as_of: AsOfOpt = None,
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            help="A customer id (cus_…), one of its aliases, or a record key "
            "(crm.customers:C1001): show their features instead of the definitions.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the feature definitions, or one customer's features.

    With --customer: their features as of --as-of (computed from the lake), or from the
    latest online snapshot when no --as-of is given.
    """
    from aimsight.features import DEFINITIONS_PATH, FeatureService
    from aimsight.identity import IdentityService
    from aimsight.store import Ledger, Store

    moment = _as_of(as_of)
    if moment is not None and customer is None:
        raise InvalidInput(
            "--as-of goes with --customer: name the customer whose features you want as of "
            "that date (`aimsight features build --as-of` computes everyone's)",
            field="as_of",
        )
    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        ledger = Ledger.open(opened, store)
        service = FeatureService(opened, store, ledger)
        definitions = service.definitions()
        if customer is None:
            origin = DEFINITIONS_PATH if service.definitions_path.exists() else None
            _print_definitions(definitions, origin, as_json)
            return
        if moment is None:
            found = service.online(customer)
        else:
            customer_id = IdentityService(opened, store, ledger).customer_id_of(customer)
            found = _computed(service, customer_id, customer, moment)
    _print_customer(found, definitions, as_json)


def _computed(
    service: FeatureService, customer_id: str, reference: str, moment: date | datetime
) -> dict[str, Any]:
    """One customer's features as of ``moment``, JSON-ready, in the online lookup's shape."""
    frame = service.compute(moment, customers=[customer_id])
    if frame.empty:
        raise InvalidInput(
            f"customer {reference!r} was not yet a customer before {_moment_text(moment)} "
            "(no record of them in the population sources); give a later --as-of",
            field="as_of",
        )
    row = frame.iloc[0].to_dict()
    return {name: _plain(value) for name, value in row.items()}


def _moment_text(moment: date | datetime) -> str:
    return moment.isoformat() if not isinstance(moment, datetime) else isoformat_utc(moment)


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars unwrapped, times as ISO text, missing as ``None``."""
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return isoformat_utc(value.to_pydatetime())
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _definitions_json(definitions: FeatureDefinitions, origin: str | None) -> dict[str, Any]:
    """The definitions as ``--json`` prints them: the shape of ``GET /v1/features``."""
    data = definitions.to_dict()
    return {
        "file": origin,
        "digest": definitions.digest,
        "population": data["population"],
        "sources": data["sources"],
        "payments": data["payments"],
        "features": [
            {key: entry[key] for key in ("name", "kind", "type", "description", "sensitive")}
            | {"definition": entry}
            for entry in data["features"]
        ],
    }


def _print_definitions(definitions: FeatureDefinitions, origin: str | None, as_json: bool) -> None:
    if as_json:
        print_json(_definitions_json(definitions, origin))
        return
    table = Table(
        title=f"features: {len(definitions.features)} "
        f"({origin or 'the shipped default; aimsight init installs an editable copy'})"
    )
    table.add_column("feature", no_wrap=True)
    table.add_column("type")
    table.add_column("use")
    table.add_column("what it is (how it is computed)", overflow="fold")
    for feature in definitions.features:
        table.add_row(
            feature.name,
            feature.type,
            "[yellow]sensitive[/yellow]" if feature.sensitive else "input",
            f"{feature.description}\n[dim]{escape(_computed_as(feature))}[/dim]",
        )
    console.print(table)
    console.print(
        f"population: {', '.join(definitions.population)}; digest {definitions.digest[:12]}; "
        "sensitive features are kept for fairness checks, not model inputs",
        highlight=False,
    )


def _computed_as(feature: Feature) -> str:
    """A feature's definition in a few words, e.g. ``count of billing.transactions
    where type = payment, last 90d``."""
    from aimsight.features import AgeFeature, AggregateFeature, AttributeFeature, RatioFeature

    if isinstance(feature, AggregateFeature):
        if feature.function in ("days_since_last", "days_since_first"):
            which = feature.function.removeprefix("days_since_")
            text = f"days since the {which} row of {feature.source}"
        elif feature.column is None:
            text = f"count of rows of {feature.source}"
        else:
            text = f"{feature.function.replace('_', ' ')} of {feature.column} in {feature.source}"
        text += _where(feature.where)
        if feature.window == "all":
            return text + ", all history"
        if feature.offset:
            return text + f", {feature.window} ending {feature.offset} ago"
        return text + f", last {feature.window}"
    if isinstance(feature, RatioFeature):
        scale = "" if feature.multiplier == 1 else f"{feature.multiplier:g} × "
        default = "" if feature.default is None else f" (else {feature.default:g})"
        return f"{scale}{feature.numerator} / {feature.denominator}{default}"
    if isinstance(feature, AttributeFeature):
        places = [f"{feature.source}.{feature.column}"] + [
            f"{other.source}.{other.column}" for other in feature.fallback
        ]
        return "latest " + ", else ".join(places)
    if isinstance(feature, AgeFeature):
        text = f"age from {feature.source}.{feature.column}"
        return text + (f", bands {', '.join(feature.band_labels())}" if feature.bands else "")
    return "days since first seen in the population sources"


def _where(where: dict[str, Any]) -> str:
    if not where:
        return ""
    parts = [
        f"{column} in {', '.join(map(str, value))}"
        if isinstance(value, list)
        else f"{column} = {value}"
        for column, value in where.items()
    ]
    return " where " + " and ".join(parts)


def _print_customer(found: dict[str, Any], definitions: FeatureDefinitions, as_json: bool) -> None:
    features = {k: v for k, v in found.items() if k not in ("customer_id", "as_of")}
    if as_json:  # the shape of GET /v1/customers/{id}/features
        print_json(
            {"customer_id": found["customer_id"], "as_of": found["as_of"], "features": features}
        )
        return
    console.print(f"[bold]{found['customer_id']}[/bold] as of {found['as_of']}", highlight=False)
    descriptions = definitions.descriptions
    table = Table()
    for column in ("feature", "value", "description"):
        table.add_column(column, overflow="fold")
    for name, value in features.items():
        table.add_row(name, _value(value), descriptions.get(name, ""))
    console.print(table)


def _value(value: Any) -> str:
    if value is None:
        return "[dim]none[/dim]"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return escape(str(value))


@features_app.command("build")
def build_command(
    as_of: Annotated[
        list[str],
        typer.Option(
            "--as-of",
            help=f"An as-of time to compute features at ({_DATE_HELP}); repeat for more.",
        ),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute everyone's features at each --as-of and write them to one lake file.

    The build records the lake files it read (with their SHA-256) and is written to the
    ledger, so a model trained on it can name exactly the data it saw.
    """
    moments = _as_of_list(as_of)
    with (
        _service(workspace) as (service, opened),
        stage_progress(not as_json and err_console.is_terminal) as progress,
    ):
        built = service.build_offline(moments, progress=progress, actor=cli_actor())
    if as_json:
        print_json(built.to_dict())
        return
    _print_build(built, opened)


def _print_build(built: OfflineFeatures, workspace: Workspace) -> None:
    console.print(
        f"[green]built[/green] {built.build_id}: {built.rows:,} rows, "
        f"{built.customers:,} customers, {len(built.features)} features",
        highlight=False,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("file", f"{workspace.lake_dir / built.path} (sha256 {built.sha256})")
    grid.add_row("as of", ", ".join(built.as_of_dates))
    grid.add_row("snapshot", f"{len(built.snapshot):,} lake files read, each pinned by sha256")
    grid.add_row("definitions", f"digest {built.definitions_digest}")
    grid.add_row("identity", f"digest {built.identity_digest}")
    console.print(grid, highlight=False)


@contextmanager
def _spinner(enabled: bool, message: str) -> Iterator[None]:
    if not enabled:
        yield
        return
    with err_console.status(message):
        yield


@features_app.command("publish")
def publish_command(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help=f"The time the snapshot describes ({_DATE_HELP}); default: just after the "
            "lake's latest event.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish everyone's features as the online snapshot decisions and lookups read."""
    moment = _as_of(as_of)
    with (
        _service(workspace) as (service, opened),
        _spinner(not as_json and err_console.is_terminal, "computing features"),
    ):
        snapshot = service.publish_online(moment, actor=cli_actor())
    if as_json:
        print_json(snapshot.to_dict())
        return
    _print_snapshot(snapshot, opened)


def _print_snapshot(snapshot: OnlineSnapshot, workspace: Workspace) -> None:
    console.print(
        f"[green]published[/green] features of {snapshot.customers:,} customers as of "
        f"{snapshot.as_of}",
        highlight=False,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("file", f"{workspace.lake_dir / snapshot.path} (sha256 {snapshot.sha256})")
    grid.add_row("features", f"{len(snapshot.features)}")
    grid.add_row("definitions", f"digest {snapshot.definitions_digest}")
    grid.add_row("look up", "aimsight features show --customer ID")
    console.print(grid, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``features`` group to ``app``."""
    app.add_typer(features_app, name="features")
