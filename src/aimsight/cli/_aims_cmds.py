"""``aimsight aims ...``: the AI management system (ISO/IEC 42001) from a shell.

Automated control checks and their trends, the Statement of Applicability and its exports,
the catalogue, every AIMS record (AI systems, risks, impact assessments, policy, roles,
concerns, objectives, incidents, nonconformities, suppliers, audits), the management review
pack and the evidence pack. Each command parses, calls
:class:`~aimsight.aims._service.AimsService` and renders; the rules live in the service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
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

if TYPE_CHECKING:  # the AIMS layer loads the store and the registry: only when a command runs
    from aimsight.aims import (
        AimsService,
        AISystem,
        Audit,
        CheckTrend,
        ControlCheckResult,
        ImpactAssessment,
        Incident,
        Nonconformity,
        PackVerification,
        Risk,
        StatementOfApplicability,
    )

__all__ = ["register"]

aims_app = typer.Typer(
    help=(
        "The AI management system (ISO/IEC 42001): automated control checks, the Statement "
        "of Applicability, AI systems, risks, impact assessments, audits, management review "
        "and evidence packs."
    ),
    no_args_is_help=True,
)

_STATUS_STYLE = {
    "pass": "green",
    "fail": "red",
    "warn": "yellow",
    "not_yet_available": "blue",
    "not_run": "dim",
    "no_check": "dim",
}
_MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "not_yet_available": "·"}
_RESULT_STYLE = {
    "conforming": "green",
    "nonconforming": "red",
    "observation": "yellow",
    "not_available": "blue",
}
_SOA_FORMATS = ("table", "csv", "xlsx", "html", "pdf")
_TEXT_FORMATS = ("csv", "html")

SystemOpt = Annotated[
    str | None, typer.Option("--system", help="The AI system's id (see `aims systems list`).")
]
DateHelp = "A date, YYYY-MM-DD."


@contextmanager
def _aims(workspace: str | None) -> Iterator[AimsService]:
    """The workspace's AIMS service, recording on its ledger."""
    from aimsight.aims import AimsService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield AimsService(opened, store, Ledger.open(opened, store))


def _done(message: str) -> None:
    console.print(f"[green]{message}[/green]", highlight=False)


def _status(value: str) -> str:
    style = _STATUS_STYLE.get(value, "")
    label = value.replace("_", " ")
    return f"[{style}]{label}[/{style}]" if style else label


def _day(option: str, value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` option as a date, refused in one line when it is not one."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{option} {value!r} is not a date; write it YYYY-MM-DD", field=option
        ) from None


def _table(title: str, *columns: str) -> Table:
    """A table whose id column never wraps (ids are copied into the next command)."""
    table = Table(title=title)
    for column in columns:
        if column in ("id", "item"):
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    return table


def _list(values: Sequence[str] | None) -> list[str]:
    return list(values or [])


# -- checks --------------------------------------------------------------------------------


@aims_app.command("check")
def check_command(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this check (by check id or control id); repeat."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the automated control checks against the live system and keep the results.

    The exit code is 0 whenever the checks ran, whatever they found: the report is the
    output (failures are findings to act on, not a failure of the command). Use --json and
    read each status to gate a pipeline.
    """
    with _aims(workspace) as aims:
        run_id, results = aims.run_checks(actor=cli_actor(), only=only)
    if as_json:
        print_json({"run_id": run_id, "results": [result.to_dict() for result in results]})
        return
    _print_results(results, title=f"control checks: run {run_id}")


def _print_results(results: Sequence[ControlCheckResult], *, title: str) -> None:
    table = _table(title)
    table.add_column("check", overflow="fold", max_width=28)
    table.add_column("status", overflow="fold", max_width=10)
    table.add_column("summary", overflow="fold", ratio=1)
    for result in results:
        summary = result.summary
        if result.findings:
            summary += "".join(f"\n- {finding}" for finding in result.findings[:5])
            if len(result.findings) > 5:
                summary += f"\n... {len(result.findings) - 5} more (--json lists them)"
        table.add_row(
            f"{result.check_id}\n[dim]{' '.join(result.controls)}[/dim]",
            _status(result.status.value),
            summary,
        )
    console.print(table, highlight=False)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    console.print(
        ", ".join(f"{count} {_status(status)}" for status, count in sorted(counts.items())),
        highlight=False,
    )


checks_app = typer.Typer(help="Results of the control checks over time.", no_args_is_help=True)


@checks_app.command("history")
def checks_history_command(
    check_id: Annotated[
        str | None, typer.Argument(help="One check's results; leave out for every trend.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many runs.")] = 10,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show each check's recent statuses (oldest first), or one check's results."""
    with _aims(workspace) as aims:
        if check_id is not None:
            history = aims.check_history(check_id, limit=limit)
            trends: list[CheckTrend] = []
        else:
            history = []
            trends = aims.check_trends(limit=limit)
    if check_id is not None:
        if as_json:
            print_json([result.to_dict() for result in history])
            return
        if not history:
            console.print(f"check {check_id} has not run yet: run `aimsight aims check`")
            return
        table = _table(
            f"{check_id}: latest {len(history)} results, newest first",
            "checked at",
            "status",
            "summary",
        )
        for result in history:
            table.add_row(result.checked_at, _status(result.status.value), result.summary)
        console.print(table, highlight=False)
        return
    if as_json:
        print_json([trend.to_dict() for trend in trends])
        return
    table = _table(
        "control checks: trend, oldest to newest", "check", "controls", "trend", "latest"
    )
    for trend in trends:
        marks = "".join(_mark(status) for status in trend.statuses) or "[dim]not run[/dim]"
        latest = _status(trend.statuses[-1]) if trend.statuses else ""
        table.add_row(trend.check_id, " ".join(trend.controls), marks, latest)
    console.print(table, highlight=False)
    console.print(
        "trend: " + ", ".join(f"{_mark(status)} {status.replace('_', ' ')}" for status in _MARKS),
        highlight=False,
    )


def _mark(status: str) -> str:
    style = _STATUS_STYLE.get(status, "")
    return f"[{style}]{_MARKS.get(status, '?')}[/{style}]"


# -- catalogue and Statement of Applicability ---------------------------------------------


@aims_app.command("catalogue")
def catalogue_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the clauses and the Annex A controls, with the checks that evidence each."""
    with _aims(workspace) as aims:
        catalogue = aims.catalogue()
    if as_json:
        print_json(catalogue.to_dict())
        return
    clauses = Table(title=f"{catalogue.standard}: clauses (catalogue {catalogue.version})")
    clauses.add_column("clause", no_wrap=True)
    clauses.add_column("title", overflow="fold")
    for clause in catalogue.clauses():
        clauses.add_row(clause.id, clause.title)
    console.print(clauses, highlight=False)
    controls = Table(title=f"Annex A: {len(catalogue.controls())} controls")
    for column in ("control", "title", "automated checks"):
        controls.add_column(column, overflow="fold")
    for control in catalogue.controls():
        controls.add_row(control.id, control.title, ", ".join(control.checks))
    console.print(controls, highlight=False)


@aims_app.command("soa")
def soa_command(
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, csv, xlsx, html or pdf.")
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the file here (needed for xlsx and pdf)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or export the Statement of Applicability: every Annex A control with its
    decision, justification, implementation status, owner, evidence and latest check."""
    wanted = format.strip().lower()
    if wanted not in _SOA_FORMATS:
        raise InvalidInput(
            f"--format {format!r} is not a format; use one of {', '.join(_SOA_FORMATS)}",
            field="format",
        )
    if wanted not in ("table", *_TEXT_FORMATS) and out is None and not as_json:
        raise InvalidInput(f"--format {wanted} writes a file: give --out FILE", field="out")
    with _aims(workspace) as aims:
        soa = aims.soa()
        data = None if wanted == "table" else aims.export_soa(wanted)
    if as_json and data is None:
        print_json(soa.to_dict())
        return
    if data is None:
        _print_soa(soa)
        return
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    _write_file(out, data)
    if as_json:
        print_json({"path": str(out), "format": wanted, "bytes": len(data)})
        return
    _done(f"wrote the Statement of Applicability ({wanted}, {len(soa.rows)} controls) to {out}")


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(
            f"--out {path}: cannot write it ({exc.strerror or exc}); give a path you can write to",
            field="out",
        ) from None


def _print_soa(soa: StatementOfApplicability) -> None:
    table = _table(
        f"Statement of Applicability (catalogue {soa.catalogue_version})",
        "control",
        "title",
        "decision",
        "implementation",
        "owner",
        "check",
    )
    for row in soa.rows:
        table.add_row(
            row.control_id,
            row.title,
            row.decision,
            row.implementation_status.replace("_", " "),
            row.owner or "",
            _status(row.check_status),
        )
    console.print(table, highlight=False)
    summary = soa.summary
    console.print(
        f"{summary.controls} controls: {summary.applicable} applicable, "
        f"{summary.not_applicable} not applicable, {summary.undecided} not yet decided",
        highlight=False,
    )


soa_entry_app = typer.Typer(
    help="Decisions in the Statement of Applicability, one per Annex A control.",
    no_args_is_help=True,
)


@soa_entry_app.command("set")
def soa_entry_set_command(
    control_id: Annotated[str, typer.Argument(help="An Annex A control id, e.g. A.6.2.4.")],
    applicable: Annotated[
        bool,
        typer.Option(
            "--applicable/--not-applicable",
            help="Whether the control applies here.",
            show_default=False,
        ),
    ],
    justification: Annotated[
        str, typer.Option("--justification", help="Why it is included or excluded.")
    ],
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="not_started, planned, partial or implemented (applicable only)."
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who answers for it.")] = None,
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="A link to its evidence; repeat for more."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record whether an Annex A control applies, why, how far it is done and who owns it."""
    with _aims(workspace) as aims:
        entry = aims.set_soa_entry(
            control_id,
            actor=cli_actor(),
            applicable=applicable,
            justification=justification,
            status=status,
            owner=owner,
            evidence=_list(evidence),
        )
    if as_json:
        print_json(entry)
        return
    decision = "applicable" if entry["applicable"] else "not applicable"
    _done(f"{entry['control_id']}: {decision}, {entry['status'].replace('_', ' ')}")


# -- AI systems ----------------------------------------------------------------------------

systems_app = typer.Typer(
    help="The AI systems inventory: models, identity matching, decision flows.",
    no_args_is_help=True,
)

KindOpt = Annotated[
    str | None,
    typer.Option("--kind", help="model, identity_matching, decision_flow or other."),
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="A person's key name or an application role.")
]
OwnerRoleOpt = Annotated[
    str | None, typer.Option("--owner-role", help="The application role the owner holds.")
]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", help="What the system is for.")]
IntendedUseOpt = Annotated[
    str | None, typer.Option("--intended-use", help="How it is meant to be used.")
]
ScopeOpt = Annotated[
    bool | None,
    typer.Option(
        "--in-scope/--out-of-scope",
        help="Inside the management system's scope (out of scope needs --justification).",
        show_default=False,
    ),
]
JustificationOpt = Annotated[
    str | None, typer.Option("--justification", help="Why it is in or out of scope.")
]
StakeholderOpt = Annotated[
    list[str] | None, typer.Option("--stakeholder", help="An interested party; repeat.")
]
RiskLevelOpt = Annotated[
    str | None, typer.Option("--risk-level", help="low, medium, high or unassessed.")
]
ComponentOpt = Annotated[
    list[str] | None,
    typer.Option("--component", help="A registry name or flow id it is made of; repeat."),
]
ThirdPartyOpt = Annotated[
    list[str] | None,
    typer.Option("--third-party", help="A third-party component it relies on; repeat."),
]
HighStakesOpt = Annotated[
    bool | None,
    typer.Option(
        "--high-stakes/--not-high-stakes",
        help="Whether its decisions can seriously affect people.",
        show_default=False,
    ),
]


@systems_app.command("list")
def systems_list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the AI systems in the inventory."""
    with _aims(workspace) as aims:
        systems = aims.records.ai_systems()
    if as_json:
        print_json([system.to_dict() for system in systems])
        return
    _print_systems(systems, f"AI systems: {len(systems)}")


def _print_systems(systems: Sequence[AISystem], title: str) -> None:
    if not systems:
        console.print(
            "no AI systems yet: `aimsight aims systems sync` registers what runs, "
            "`aimsight aims systems add` adds one by hand"
        )
        return
    table = _table(title, "id", "name", "kind", "owner", "risk", "scope", "components")
    for system in systems:
        owner = system.owner or "[red]none[/red]"
        if system.owner and system.owner_role:
            owner += f" ({system.owner_role})"
        table.add_row(
            system.system_id,
            system.name,
            system.kind,
            owner,
            system.risk_level,
            "in" if system.in_scope else "out",
            ", ".join(system.components),
        )
    console.print(table, highlight=False)


@systems_app.command("show")
def systems_show_command(
    system_id: Annotated[str, typer.Argument(help="The AI system's id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one AI system with its current impact assessment and risks."""
    with _aims(workspace) as aims:
        system = aims.records.ai_system(system_id)
        current = aims.records.current_assessment(system_id)
        risks = aims.records.risks(system_id)
    if as_json:
        print_json(
            {
                **system.to_dict(),
                "current_assessment": None if current is None else current.to_dict(),
                "risks": [risk.to_dict() for risk in risks],
            }
        )
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in system.to_dict().items():
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = json.dumps(value, sort_keys=True) if value else ""
        grid.add_row(name.replace("_", " "), "" if value is None else str(value))
    grid.add_row(
        "impact assessment",
        "[red]none current[/red]"
        if current is None
        else f"{current.assessment_id}, {current.severity}, expires {current.expires_on}",
    )
    grid.add_row("risks", ", ".join(f"{r.risk_id} ({r.level})" for r in risks) or "none")
    console.print(grid, highlight=False)


@systems_app.command("sync")
def systems_sync_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Register every model and identity-matching model that runs as an AI system (or join
    the system that lists it); running it again changes nothing."""
    with _aims(workspace) as aims:
        systems = aims.sync_inventory(cli_actor())
    if as_json:
        print_json([system.to_dict() for system in systems])
        return
    if not systems:
        console.print("nothing to register yet: no model is registered and identity has not run")
        return
    _print_systems(systems, f"AI systems covering what runs: {len(systems)}")


@systems_app.command("add")
def systems_add_command(
    name: Annotated[str, typer.Argument(help="A name people know the system by.")],
    kind: KindOpt = None,
    owner: OwnerOpt = None,
    owner_role: OwnerRoleOpt = None,
    purpose: PurposeOpt = None,
    intended_use: IntendedUseOpt = None,
    in_scope: ScopeOpt = None,
    justification: JustificationOpt = None,
    stakeholder: StakeholderOpt = None,
    risk_level: RiskLevelOpt = None,
    component: ComponentOpt = None,
    third_party: ThirdPartyOpt = None,
    high_stakes: HighStakesOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an AI system to the inventory by hand."""
    with _aims(workspace) as aims:
        system = aims.records.create_system(
            name,
            actor=cli_actor(),
            kind=kind or "other",
            owner=owner,
            owner_role=owner_role,
            purpose=purpose or "",
            intended_use=intended_use or "",
            in_scope=True if in_scope is None else in_scope,
            scope_justification=justification or "",
            stakeholders=_list(stakeholder),
            risk_level=risk_level or "unassessed",
            components=_list(component),
            third_party=_list(third_party),
            high_stakes=bool(high_stakes),
        )
    if as_json:
        print_json(system.to_dict())
        return
    _done(f"added AI system {system.name} as {system.system_id}")


@systems_app.command("update")
def systems_update_command(
    system_id: Annotated[str, typer.Argument(help="The AI system's id.")],
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    kind: KindOpt = None,
    owner: OwnerOpt = None,
    owner_role: OwnerRoleOpt = None,
    purpose: PurposeOpt = None,
    intended_use: IntendedUseOpt = None,
    in_scope: ScopeOpt = None,
    justification: JustificationOpt = None,
    stakeholder: StakeholderOpt = None,
    risk_level: RiskLevelOpt = None,
    component: ComponentOpt = None,
    third_party: ThirdPartyOpt = None,
    high_stakes: HighStakesOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of an AI system; only the options given change (a list option replaces
    the whole list)."""
    given: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "owner": owner,
        "owner_role": owner_role,
        "purpose": purpose,
        "intended_use": intended_use,
        "in_scope": in_scope,
        "scope_justification": justification,
        "stakeholders": stakeholder,
        "risk_level": risk_level,
        "components": component,
        "third_party": third_party,
        "high_stakes": high_stakes,
    }
    changes = {field: value for field, value in given.items() if value is not None}
    if not changes:
        raise InvalidInput(
            "nothing to change: give at least one option (see `aimsight aims systems update "
            "--help`)"
        )
    with _aims(workspace) as aims:
        system = aims.records.update_system(system_id, actor=cli_actor(), **changes)
    if as_json:
        print_json(system.to_dict())
        return
    _done(f"updated AI system {system.system_id} ({', '.join(sorted(changes))})")


# -- risks ---------------------------------------------------------------------------------

risks_app = typer.Typer(help="The risk register and risk treatment.", no_args_is_help=True)

ControlOpt = Annotated[
    list[str] | None,
    typer.Option("--control", help="An Annex A control the treatment relies on; repeat."),
]
ResidualLikelihoodOpt = Annotated[
    int | None, typer.Option("--residual-likelihood", help="Likelihood after treatment.")
]
ResidualImpactOpt = Annotated[
    int | None, typer.Option("--residual-impact", help="Impact after treatment.")
]
NextReviewOpt = Annotated[str | None, typer.Option("--next-review", help=DateHelp)]


@risks_app.command("list")
def risks_list_command(
    system: SystemOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """List the risk register (of one AI system with --system)."""
    with _aims(workspace) as aims:
        risks = aims.records.risks(system)
    if as_json:
        print_json([risk.to_dict() for risk in risks])
        return
    if not risks:
        console.print("the risk register is empty: add one with `aimsight aims risks add`")
        return
    _print_risks(risks)


def _print_risks(risks: Sequence[Risk]) -> None:
    table = _table(
        f"risks: {len(risks)}",
        "id",
        "risk",
        "owner",
        "level",
        "treatment",
        "residual",
        "next review",
    )
    for risk in risks:
        table.add_row(
            risk.risk_id,
            risk.risk,
            risk.owner,
            f"{risk.level} ({risk.likelihood}x{risk.impact})",
            risk.treatment or "[red]untreated[/red]",
            risk.residual_level or "",
            risk.next_review or "",
        )
    console.print(table, highlight=False)


@risks_app.command("add")
def risks_add_command(
    risk: Annotated[str, typer.Argument(help="What could go wrong, in a sentence.")],
    source: Annotated[
        str, typer.Option("--source", help="Where it was found: impact assessment, audit...")
    ],
    owner: Annotated[str, typer.Option("--owner", help="Who answers for it.")],
    likelihood: Annotated[int, typer.Option("--likelihood", help="A point on the scale.")],
    impact: Annotated[int, typer.Option("--impact", help="A point on the scale.")],
    system: SystemOpt = None,
    treatment: Annotated[
        str | None, typer.Option("--treatment", help="avoid, mitigate, transfer or accept.")
    ] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="How it is treated.")] = None,
    control: ControlOpt = None,
    residual_likelihood: ResidualLikelihoodOpt = None,
    residual_impact: ResidualImpactOpt = None,
    next_review: NextReviewOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a risk to the register; its level comes from the configured scales."""
    with _aims(workspace) as aims:
        added = aims.records.add_risk(
            risk,
            actor=cli_actor(),
            source=source,
            owner=owner,
            likelihood=likelihood,
            impact=impact,
            system_id=system,
            treatment=treatment,
            treatment_plan=plan or "",
            controls=_list(control),
            residual_likelihood=residual_likelihood,
            residual_impact=residual_impact,
            next_review=next_review,
        )
    if as_json:
        print_json(added.to_dict())
        return
    _done(f"added risk {added.risk_id}: level {added.level} (score {added.score})")


@risks_app.command("treat")
def risks_treat_command(
    risk_id: Annotated[str, typer.Argument(help="The risk's id.")],
    treatment: Annotated[
        str, typer.Option("--treatment", help="avoid, mitigate, transfer or accept.")
    ],
    plan: Annotated[str, typer.Option("--plan", help="How it is treated.")],
    control: ControlOpt = None,
    residual_likelihood: ResidualLikelihoodOpt = None,
    residual_impact: ResidualImpactOpt = None,
    next_review: NextReviewOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record how a risk is treated, the controls it relies on and the risk left after."""
    changes: dict[str, Any] = {"treatment": treatment, "treatment_plan": plan}
    if control is not None:
        changes["controls"] = control
    if residual_likelihood is not None or residual_impact is not None:
        changes["residual_likelihood"] = residual_likelihood
        changes["residual_impact"] = residual_impact
    if next_review is not None:
        changes["next_review"] = next_review
    with _aims(workspace) as aims:
        treated = aims.records.update_risk(risk_id, actor=cli_actor(), **changes)
    if as_json:
        print_json(treated.to_dict())
        return
    residual = f", residual {treated.residual_level}" if treated.residual_level else ""
    _done(f"risk {treated.risk_id}: {treated.treatment}{residual}")


# -- impact assessments --------------------------------------------------------------------

assessments_app = typer.Typer(
    help="AI system impact assessments: who may be harmed, how badly, what is done.",
    no_args_is_help=True,
)


@assessments_app.command("list")
def assessments_list_command(
    system: SystemOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """List impact assessments (of one AI system with --system)."""
    with _aims(workspace) as aims:
        found = aims.records.impact_assessments(system)
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no impact assessments yet: add one with `aimsight aims assessments add`")
        return
    _print_assessments(found)


def _print_assessments(found: Sequence[ImpactAssessment]) -> None:
    table = _table(
        f"impact assessments: {len(found)}",
        "id",
        "system",
        "severity",
        "harms",
        "signed off",
        "expires",
    )
    for item in found:
        table.add_row(
            item.assessment_id,
            item.system_id,
            item.severity,
            "; ".join(item.harms),
            f"{item.signed_off_by} {item.signed_off_at[:10]}"
            if item.signed_off_by and item.signed_off_at
            else "[yellow]not yet[/yellow]",
            item.expires_on,
        )
    console.print(table, highlight=False)


@assessments_app.command("add")
def assessments_add_command(
    system_id: Annotated[str, typer.Argument(help="The AI system assessed.")],
    affected: Annotated[list[str], typer.Option("--affected", help="Who may be affected; repeat.")],
    harm: Annotated[list[str], typer.Option("--harm", help="A harm it may cause; repeat.")],
    severity: Annotated[str, typer.Option("--severity", help="low, medium, high or critical.")],
    expires: Annotated[str, typer.Option("--expires", help="Redo it by this date, YYYY-MM-DD.")],
    mitigation: Annotated[
        list[str] | None, typer.Option("--mitigation", help="What reduces the harm; repeat.")
    ] = None,
    signed_off_by: Annotated[
        str | None, typer.Option("--signed-off-by", help="Who signed it off, if signed now.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an impact assessment of an AI system."""
    with _aims(workspace) as aims:
        added = aims.records.add_impact_assessment(
            system_id,
            actor=cli_actor(),
            affected=affected,
            harms=harm,
            severity=severity,
            mitigations=_list(mitigation),
            expires_on=expires,
            signed_off_by=signed_off_by,
        )
    if as_json:
        print_json(added.to_dict())
        return
    state = "signed off" if added.signed_off_by else "awaiting sign-off"
    _done(f"recorded impact assessment {added.assessment_id} ({state})")


@assessments_app.command("sign-off")
def assessments_sign_off_command(
    assessment_id: Annotated[str, typer.Argument(help="The assessment's id.")],
    by: Annotated[str, typer.Option("--by", help="Who signs it off.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign off an impact assessment, so it counts as current until it expires."""
    with _aims(workspace) as aims:
        signed = aims.records.sign_off_impact_assessment(assessment_id, by=by, actor=cli_actor())
    if as_json:
        print_json(signed.to_dict())
        return
    _done(f"impact assessment {signed.assessment_id} signed off; expires {signed.expires_on}")


# -- policy, roles and concerns ------------------------------------------------------------

policy_app = typer.Typer(help="The AI policy's approved versions.", no_args_is_help=True)


@policy_app.command("list")
def policy_list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the AI policy's versions and their review dates."""
    with _aims(workspace) as aims:
        versions = aims.records.policy_versions()
        current = aims.records.current_policy()
    if as_json:
        print_json([version.to_dict() for version in versions])
        return
    if not versions:
        console.print("no AI policy recorded yet: add one with `aimsight aims policy add`")
        return
    table = _table(
        "AI policy versions", "version", "approved by", "effective", "next review", "sha256"
    )
    for version in versions:
        mark = " [green](current)[/green]" if current and current.version == version.version else ""
        table.add_row(
            f"v{version.version}{mark}",
            version.approved_by,
            version.effective,
            version.next_review,
            version.text_sha256[:12],
        )
    console.print(table, highlight=False)


@policy_app.command("add")
def policy_add_command(
    file: Annotated[Path, typer.Argument(help="The policy text (Markdown or plain text).")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="Who approved it.")],
    effective: Annotated[str, typer.Option("--effective", help="In force from, YYYY-MM-DD.")],
    next_review: Annotated[
        str, typer.Option("--next-review", help="Reviewed again by, YYYY-MM-DD.")
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a new approved version of the AI policy from a file."""
    try:
        body = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read the policy file {file} ({getattr(exc, 'strerror', None) or exc}); "
            "give a UTF-8 text file",
            field="file",
        ) from None
    with _aims(workspace) as aims:
        version = aims.records.add_policy_version(
            body,
            actor=cli_actor(),
            approved_by=approved_by,
            effective=effective,
            next_review=next_review,
        )
    if as_json:
        print_json(version.to_dict())
        return
    _done(f"recorded AI policy v{version.version}, effective {version.effective}")


@aims_app.command("roles")
def roles_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Show the roles and responsibilities matrix: each role's AIMS duties and holders."""
    with _aims(workspace) as aims:
        matrix = aims.records.roles_matrix()
    if as_json:
        print_json(matrix)
        return
    table = _table("roles and responsibilities", "role", "responsibilities", "holders")
    for row in matrix:
        table.add_row(
            row["role"],
            "\n".join(row["responsibilities"]),
            ", ".join(row["holders"]) or "[dim]nobody[/dim]",
        )
    console.print(table, highlight=False)


concerns_app = typer.Typer(
    help="The channel for reporting concerns about AI systems.", no_args_is_help=True
)


@concerns_app.command("list")
def concerns_list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="open, investigating or closed.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List reported concerns."""
    with _aims(workspace) as aims:
        found = aims.records.concerns(status)
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no concerns reported")
        return
    table = _table(f"concerns: {len(found)}", "id", "reported", "system", "status", "text")
    for item in found:
        table.add_row(
            item.concern_id, item.reported_at[:10], item.system_id or "", item.status, item.text
        )
    console.print(table, highlight=False)


@concerns_app.command("report")
def concerns_report_command(
    text: Annotated[str, typer.Argument(help="The concern, in your own words.")],
    reporter: Annotated[
        str | None, typer.Option("--reporter", help="Your name; leave out to stay anonymous.")
    ] = None,
    system: SystemOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a concern about an AI system (anonymously unless --reporter is given)."""
    with _aims(workspace) as aims:
        concern = aims.records.report_concern(text, reporter=reporter, system_id=system)
    if as_json:
        print_json(concern.to_dict())
        return
    _done(f"recorded concern {concern.concern_id}")


# -- objectives ----------------------------------------------------------------------------

objectives_app = typer.Typer(
    help="AI objectives whose KPIs are read from live metrics.", no_args_is_help=True
)


@objectives_app.command("list")
def objectives_list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the objectives with their latest KPI reading and whether it meets the target."""
    with _aims(workspace) as aims:
        found = aims.records.objectives()
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no objectives yet: add one with `aimsight aims objectives add`")
        return
    table = _table(
        f"objectives: {len(found)}", "id", "objective", "metric", "target", "latest", "met"
    )
    for item in found:
        sign = ">=" if item.direction == "at_least" else "<="
        met = {None: "[dim]no reading[/dim]", True: "[green]yes[/green]", False: "[red]no[/red]"}
        table.add_row(
            item.objective_id,
            item.objective,
            item.metric,
            f"{sign} {item.target:g}",
            "" if item.latest is None else f"{item.latest.value:g} ({item.latest.at[:10]})",
            met[item.met],
        )
    console.print(table, highlight=False)


@objectives_app.command("add")
def objectives_add_command(
    objective: Annotated[str, typer.Argument(help="The objective, in a sentence.")],
    owner: Annotated[str, typer.Option("--owner", help="Who answers for it.")],
    metric: Annotated[
        str,
        typer.Option("--metric", help="The live metric it is measured by, e.g. ledger.verified."),
    ],
    target: Annotated[float, typer.Option("--target", help="The value to reach.")],
    direction: Annotated[
        str, typer.Option("--direction", help="at_least (higher is better) or at_most.")
    ] = "at_least",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set an objective measured by a live metric."""
    with _aims(workspace) as aims:
        added = aims.records.add_objective(
            objective,
            actor=cli_actor(),
            owner=owner,
            metric=metric,
            target=target,
            direction=direction,
        )
    if as_json:
        print_json(added.to_dict())
        return
    _done(f"added objective {added.objective_id} on {added.metric}")


@objectives_app.command("record")
def objectives_record_command(
    objective_id: Annotated[str, typer.Argument(help="The objective's id.")],
    value: Annotated[
        float | None,
        typer.Option("--value", help="The reading; leave out to read the live metric now."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a KPI reading of an objective, read from its live metric unless --value."""
    with _aims(workspace) as aims:
        reading = aims.record_objective_kpi(objective_id, actor=cli_actor(), value=value)
    if as_json:
        print_json(reading.to_dict())
        return
    _done(f"recorded {reading.value:g} for objective {reading.objective_id}")


# -- incidents -----------------------------------------------------------------------------

incidents_app = typer.Typer(
    help="AI incidents: severity, response timeline and communications.", no_args_is_help=True
)


@incidents_app.command("list")
def incidents_list_command(
    status: Annotated[
        str | None,
        typer.Option("--status", help="detected, acknowledged, contained or resolved."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents and how far their response got."""
    with _aims(workspace) as aims:
        found = aims.records.incidents(status)
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no incidents recorded")
        return
    _print_incidents(found)


def _print_incidents(found: Sequence[Incident]) -> None:
    table = _table(
        f"incidents: {len(found)}", "id", "severity", "title", "system", "status", "told"
    )
    for item in found:
        table.add_row(
            item.incident_id,
            item.severity,
            item.title,
            item.system_id or "",
            item.status,
            ", ".join(c.audience for c in item.communications),
        )
    console.print(table, highlight=False)


@incidents_app.command("open")
def incidents_open_command(
    title: Annotated[str, typer.Argument(help="What happened, in a line.")],
    severity: Annotated[str, typer.Option("--severity", help="sev1 (worst) to sev4.")],
    system: SystemOpt = None,
    description: Annotated[str | None, typer.Option("--description", help="More detail.")] = None,
    detected_at: Annotated[
        str | None,
        typer.Option("--detected-at", help="When it was detected (ISO 8601 with Z); now."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an AI incident."""
    with _aims(workspace) as aims:
        incident = aims.records.open_incident(
            title,
            actor=cli_actor(),
            severity=severity,
            system_id=system,
            description=description or "",
            detected_at=detected_at,
        )
    if as_json:
        print_json(incident.to_dict())
        return
    _done(f"opened incident {incident.incident_id} ({incident.severity})")


@incidents_app.command("update")
def incidents_update_command(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")],
    step: Annotated[
        str | None,
        typer.Option("--step", help="The step reached: acknowledged, contained or resolved."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    told: Annotated[
        str | None, typer.Option("--told", help="Who was told (customers, regulator...).")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", help="What they were told (with --told).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO 8601 with Z); default now.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the next response step of an incident, and/or who was told what."""
    if step is None and told is None:
        raise InvalidInput("give --step, or --told with --message, or both", field="step")
    if (told is None) != (message is None):
        raise InvalidInput("--told and --message go together", field="message")
    with _aims(workspace) as aims:
        if step is not None:
            aims.records.record_incident_step(
                incident_id, step, actor=cli_actor(), at=at, note=note or ""
            )
        if told is not None and message is not None:
            aims.records.add_incident_communication(
                incident_id, actor=cli_actor(), audience=told, message=message, at=at
            )
        incident = aims.records.incident(incident_id)
    if as_json:
        print_json(incident.to_dict())
        return
    _done(f"incident {incident.incident_id} is {incident.status}")


# -- nonconformities -----------------------------------------------------------------------

nc_app = typer.Typer(
    help="Nonconformities, corrective actions and effectiveness checks.", no_args_is_help=True
)


@nc_app.command("list")
def nc_list_command(
    status: Annotated[str | None, typer.Option("--status", help="open or closed.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List nonconformities with their corrective actions."""
    with _aims(workspace) as aims:
        found = aims.records.nonconformities(status)
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no nonconformities recorded")
        return
    _print_nonconformities(found)


def _print_nonconformities(found: Sequence[Nonconformity]) -> None:
    table = _table(
        f"nonconformities: {len(found)}",
        "id",
        "source",
        "status",
        "description",
        "actions",
        "effective",
    )
    for item in found:
        actions = "\n".join(
            f"{a.action_id} {a.status} (due {a.due}): {a.action}" for a in item.actions
        )
        checks = item.effectiveness_checks
        effective = "" if not checks else ("yes" if checks[-1].effective else "[red]no[/red]")
        table.add_row(item.nc_id, item.source, item.status, item.description, actions, effective)
    console.print(table, highlight=False)


@nc_app.command("open")
def nc_open_command(
    description: Annotated[str, typer.Argument(help="What does not conform.")],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="audit_finding, check_failure, incident, concern, management_review or other.",
        ),
    ],
    ref: Annotated[str | None, typer.Option("--ref", help="The id of what it came from.")] = None,
    system: SystemOpt = None,
    root_cause: Annotated[
        str | None, typer.Option("--root-cause", help="Why it happened, if known.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Raise a nonconformity."""
    with _aims(workspace) as aims:
        raised = aims.records.raise_nonconformity(
            description,
            actor=cli_actor(),
            source=source,
            source_ref=ref,
            system_id=system,
            root_cause=root_cause or "",
        )
    if as_json:
        print_json(raised.to_dict())
        return
    _done(f"raised nonconformity {raised.nc_id}")


@nc_app.command("cause")
def nc_cause_command(
    nc_id: Annotated[str, typer.Argument(help="The nonconformity's id.")],
    root_cause: Annotated[str, typer.Argument(help="Why it happened.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the root cause of a nonconformity."""
    with _aims(workspace) as aims:
        updated = aims.records.set_root_cause(nc_id, root_cause, actor=cli_actor())
    if as_json:
        print_json(updated.to_dict())
        return
    _done(f"recorded the root cause of {updated.nc_id}")


@nc_app.command("action")
def nc_action_command(
    nc_id: Annotated[str, typer.Argument(help="The nonconformity's id.")],
    action: Annotated[str, typer.Argument(help="The corrective action.")],
    owner: Annotated[str, typer.Option("--owner", help="Who does it.")],
    due: Annotated[str, typer.Option("--due", help="Done by, YYYY-MM-DD.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a corrective action to a nonconformity."""
    with _aims(workspace) as aims:
        added = aims.records.add_corrective_action(
            nc_id, actor=cli_actor(), action=action, owner=owner, due=due
        )
    if as_json:
        print_json(added.to_dict())
        return
    _done(f"added corrective action {added.action_id} to {added.nc_id}, due {added.due}")


@nc_app.command("done")
def nc_done_command(
    action_id: Annotated[str, typer.Argument(help="The corrective action's id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a corrective action done."""
    with _aims(workspace) as aims:
        completed = aims.records.complete_corrective_action(action_id, actor=cli_actor())
    if as_json:
        print_json(completed.to_dict())
        return
    _done(f"corrective action {completed.action_id} is done")


@nc_app.command("verify")
def nc_verify_command(
    nc_id: Annotated[str, typer.Argument(help="The nonconformity's id.")],
    effective: Annotated[
        bool,
        typer.Option(
            "--effective/--not-effective",
            help="Whether the corrective actions worked.",
            show_default=False,
        ),
    ],
    result: Annotated[str, typer.Option("--result", help="What the check found.")],
    by: Annotated[str, typer.Option("--by", help="Who checked.")],
    on: Annotated[str | None, typer.Option("--on", help="Checked on (default today).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record whether a nonconformity's corrective actions were effective."""
    with _aims(workspace) as aims:
        check = aims.records.record_effectiveness_check(
            nc_id,
            actor=cli_actor(),
            effective=effective,
            result=result,
            checked_by=by,
            checked_on=on,
        )
    if as_json:
        print_json(check.to_dict())
        return
    _done(
        f"{check.nc_id}: corrective actions {'effective' if check.effective else 'not effective'}"
    )


@nc_app.command("close")
def nc_close_command(
    nc_id: Annotated[str, typer.Argument(help="The nonconformity's id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a nonconformity whose root cause is known and whose actions proved effective."""
    with _aims(workspace) as aims:
        closed = aims.records.close_nonconformity(nc_id, actor=cli_actor())
    if as_json:
        print_json(closed.to_dict())
        return
    _done(f"closed nonconformity {closed.nc_id}")


# -- suppliers -----------------------------------------------------------------------------

suppliers_app = typer.Typer(
    help="Assessments of suppliers and third-party AI components.", no_args_is_help=True
)


@suppliers_app.command("list")
def suppliers_list_command(
    component: Annotated[
        str | None, typer.Option("--component", help="Only this component.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List supplier and third-party component assessments."""
    with _aims(workspace) as aims:
        found = aims.records.supplier_assessments(component)
    if as_json:
        print_json([item.to_dict() for item in found])
        return
    if not found:
        console.print("no supplier assessments yet: add one with `aimsight aims suppliers assess`")
        return
    table = _table(
        f"supplier assessments: {len(found)}",
        "id",
        "component",
        "supplier",
        "outcome",
        "assessed",
        "next review",
    )
    for item in found:
        table.add_row(
            item.assessment_id,
            item.component,
            item.supplier,
            item.outcome.replace("_", " "),
            f"{item.assessed_at[:10]} by {item.assessed_by}",
            item.next_review or "",
        )
    console.print(table, highlight=False)


@suppliers_app.command("assess")
def suppliers_assess_command(
    component: Annotated[str, typer.Argument(help="The component, e.g. scikit-learn.")],
    supplier: Annotated[str, typer.Option("--supplier", help="Who supplies it.")],
    by: Annotated[str, typer.Option("--by", help="Who assessed it.")],
    outcome: Annotated[
        str,
        typer.Option("--outcome", help="approved, approved_with_conditions or rejected."),
    ],
    notes: Annotated[
        str | None, typer.Option("--notes", help="Findings; the conditions, if any.")
    ] = None,
    next_review: NextReviewOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an assessment of a supplier's or third party's component."""
    with _aims(workspace) as aims:
        assessed = aims.records.assess_supplier(
            component,
            actor=cli_actor(),
            supplier=supplier,
            assessed_by=by,
            outcome=outcome,
            notes=notes or "",
            next_review=next_review,
        )
    if as_json:
        print_json(assessed.to_dict())
        return
    _done(f"recorded assessment {assessed.assessment_id}: {assessed.component} {assessed.outcome}")


# -- internal audits -----------------------------------------------------------------------

audits_app = typer.Typer(
    help="Internal audits: programmes, checklists filled from the checks, findings.",
    no_args_is_help=True,
)


@audits_app.command("list")
def audits_list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List audit programmes and their audits."""
    with _aims(workspace) as aims:
        programmes = aims.records.audit_programmes()
        audits = aims.records.audits()
    if as_json:
        print_json(
            {
                "programmes": [item.to_dict() for item in programmes],
                "audits": [item.to_dict() for item in audits],
            }
        )
        return
    if not programmes:
        console.print("no audit programme yet: add one with `aimsight aims audits programme`")
        return
    table = _table(
        f"audits: {len(audits)}",
        "id",
        "programme",
        "title",
        "auditor",
        "planned",
        "status",
        "findings",
    )
    for audit in audits:
        table.add_row(
            audit.audit_id,
            audit.programme_id,
            audit.title,
            audit.auditor,
            audit.planned_on,
            audit.status,
            str(len(audit.findings)),
        )
    console.print(table, highlight=False)


@audits_app.command("programme")
def audits_programme_command(
    start: Annotated[str, typer.Option("--start", help="First day covered, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day covered, YYYY-MM-DD.")],
    scope: Annotated[str, typer.Option("--scope", help="What the audits cover.")],
    criteria: Annotated[str, typer.Option("--criteria", help="What they audit against.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set up an internal audit programme for a period."""
    with _aims(workspace) as aims:
        programme = aims.records.add_audit_programme(
            actor=cli_actor(), period_start=start, period_end=end, scope=scope, criteria=criteria
        )
    if as_json:
        print_json(programme.to_dict())
        return
    _done(f"added audit programme {programme.programme_id}")


@audits_app.command("plan")
def audits_plan_command(
    programme_id: Annotated[str, typer.Argument(help="The programme it belongs to.")],
    title: Annotated[str, typer.Option("--title", help="The audit's title.")],
    scope: Annotated[str, typer.Option("--scope", help="What it covers.")],
    auditor: Annotated[str, typer.Option("--auditor", help="Who audits.")],
    on: Annotated[str, typer.Option("--on", help="Planned for, YYYY-MM-DD.")],
    question: Annotated[
        list[str] | None,
        typer.Option("--question", help="A manual checklist question; repeat."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan an audit; its checklist holds every automated check and your questions."""
    with _aims(workspace) as aims:
        audit = aims.plan_audit(
            programme_id,
            actor=cli_actor(),
            title=title,
            scope=scope,
            auditor=auditor,
            planned_on=on,
            questions=_list(question),
        )
    if as_json:
        print_json(audit.to_dict())
        return
    _done(f"planned audit {audit.audit_id} with {len(audit.checklist)} checklist items")


@audits_app.command("run")
def audits_run_command(
    audit_id: Annotated[str, typer.Argument(help="The audit's id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the automated checks and fill the audit's automated checklist items from them."""
    with _aims(workspace) as aims:
        audit = aims.run_audit(audit_id, actor=cli_actor())
    if as_json:
        print_json(audit.to_dict())
        return
    _print_checklist(audit)


def _print_checklist(audit: Audit) -> None:
    table = _table(
        f"audit {audit.audit_id}: {audit.title} ({audit.status})",
        "item",
        "check or question",
        "result",
        "answer",
    )
    for item in audit.checklist:
        result = item.result or "open"
        style = _RESULT_STYLE.get(result, "dim")
        table.add_row(
            item.item_id,
            item.check_id or item.question or "",
            f"[{style}]{result.replace('_', ' ')}[/{style}]",
            item.answer,
        )
    console.print(table, highlight=False)


@audits_app.command("find")
def audits_find_command(
    audit_id: Annotated[str, typer.Argument(help="The audit's id.")],
    severity: Annotated[
        str, typer.Option("--severity", help="major, minor, observation or opportunity.")
    ],
    text: Annotated[str, typer.Option("--text", help="The finding.")],
    item: Annotated[
        str | None, typer.Option("--item", help="The checklist item it concerns.")
    ] = None,
    raise_nc: Annotated[
        bool, typer.Option("--raise-nc", help="Also raise a nonconformity from it.")
    ] = False,
    system: SystemOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a finding of an audit, optionally raising a nonconformity from it."""
    with _aims(workspace) as aims:
        finding = aims.records.add_finding(
            audit_id, actor=cli_actor(), severity=severity, text=text, item_id=item
        )
        raised = (
            aims.records.raise_nonconformity_from_finding(
                finding.finding_id, actor=cli_actor(), system_id=system
            )
            if raise_nc
            else None
        )
    if as_json:
        print_json(
            {
                "finding": finding.to_dict(),
                "nonconformity": None if raised is None else raised.to_dict(),
            }
        )
        return
    extra = f"; raised nonconformity {raised.nc_id}" if raised is not None else ""
    _done(f"recorded finding {finding.finding_id} ({finding.severity}){extra}")


# -- management review, evidence -----------------------------------------------------------


@aims_app.command("review")
def review_command(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Also write the pack's HTML and PDF to this folder."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Cover changes from this date, YYYY-MM-DD.")
    ] = None,
    attendee: Annotated[
        list[str] | None,
        typer.Option("--attendee", help="Who attended the review; repeat (default: you)."),
    ] = None,
    held_on: Annotated[
        str | None, typer.Option("--held-on", help="When it was held (default today).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compile the management review pack (HTML and PDF) from the live system and record the
    review; the pack is kept under aims/reviews/ in the workspace with its SHA-256 on the
    ledger, and copied to --out-dir for the people attending."""
    start = _day("--since", since)
    held = _day("--held-on", held_on)
    with _aims(workspace) as aims:
        files = aims.review_pack(
            actor=cli_actor(),
            since=start,
            attendees=_list(attendee),
            held_on=held,
            out_dir=None if out_dir is None else out_dir.resolve(),
        )
    if as_json:
        print_json(files.to_dict())
        return
    _done(f"recorded management review {files.review.review_id}")
    console.print(f"pack: {files.html_path}\n      {files.pdf_path}", highlight=False)


review_actions_app = typer.Typer(
    help="Outputs of management reviews (9.3.3): decisions and actions with owners.",
    no_args_is_help=True,
)


@review_actions_app.command("list")
def review_actions_list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="Only actions in this status (open, closed).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the actions management reviews decided, with owners and due dates."""
    with _aims(workspace) as aims:
        actions = aims.records.review_actions(status)
    if as_json:
        print_json([action.to_dict() for action in actions])
        return
    if not actions:
        console.print("no review actions recorded")
        return
    for action in actions:
        console.print(
            f"{action.action_id}  {action.status}  due {action.due}  "
            f"{action.owner}: {action.decision}",
            highlight=False,
        )


@review_actions_app.command("add")
def review_actions_add_command(
    review_id: Annotated[str, typer.Argument(help="The management review it came out of.")],
    decision: Annotated[str, typer.Option("--decision", help="What was decided or must be done.")],
    owner: Annotated[str, typer.Option("--owner", help="Who owns it.")],
    due: Annotated[str, typer.Option("--due", help="Due date, YYYY-MM-DD.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an output of a management review as an action (on the ledger)."""
    with _aims(workspace) as aims:
        action = aims.records.add_review_action(
            review_id, actor=cli_actor(), decision=decision, owner=owner, due=_day("--due", due)
        )
    if as_json:
        print_json(action.to_dict())
        return
    _done(f"recorded review action {action.action_id} for {owner}, due {due}")


@review_actions_app.command("close")
def review_actions_close_command(
    action_id: Annotated[str, typer.Argument(help="The action to close.")],
    outcome: Annotated[str, typer.Option("--outcome", help="What was done.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a review action with its outcome (the next review reports it)."""
    with _aims(workspace) as aims:
        action = aims.records.close_review_action(action_id, actor=cli_actor(), outcome=outcome)
    if as_json:
        print_json(action.to_dict())
        return
    _done(f"closed review action {action.action_id}")


@aims_app.command("evidence")
def evidence_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="The zip file to write.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the evidence pack for an auditor: SoA, check history, model cards, impact
    assessments, risk register, reports, the ledger head and a SHA-256 manifest."""
    with _aims(workspace) as aims:
        manifest = aims.evidence_pack(out.resolve(), actor=cli_actor())
    if as_json:
        print_json(manifest.to_dict())
        return
    _done(
        f"wrote the evidence pack to {out}: {len(manifest.files)} files, each with its SHA-256 "
        f"in the manifest (SHA-256 {manifest.manifest_sha256[:16]}... on the ledger)"
    )
    for note in manifest.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)


@aims_app.command("verify-pack")
def verify_pack_command(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (zip) to re-check.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-check an evidence pack: every file against its manifest and, inside the workspace
    that built it, the manifest against the ledger. Exit 1 naming every changed, added or
    removed file.

    Outside any workspace only the files are checked (an auditor can do that anywhere).
    """
    result = _verify(pack, workspace)
    if as_json:
        print_json(result.to_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    ledger_note = {
        None: " (the ledger was not checked: no workspace here)",
        True: "; its manifest is on the ledger",
        False: "",
    }[result.on_ledger]
    if result.ok:
        _done(f"{pack}: all {result.files_checked} files match the manifest{ledger_note}")
        return
    problems = [
        f"{label}: {', '.join(names)}"
        for label, names in (
            ("changed", result.changed),
            ("added", result.added),
            ("removed", result.removed),
        )
        if names
    ]
    if result.on_ledger is False:
        problems.append("its manifest is not on this workspace's ledger")
    err_console.print(
        f"[red]error:[/red] {pack} fails verification; " + "; ".join(problems),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


def _verify(pack: Path, workspace: str | None) -> PackVerification:
    """The pack checked with the workspace's ledger, or its files alone outside a workspace."""
    from aimsight.aims import AimsService
    from aimsight.core import WorkspaceNotFound

    if workspace is None:
        try:
            open_workspace(None)
        except WorkspaceNotFound:
            return AimsService.verify_pack_files(pack)
    with _aims(workspace) as aims:
        return aims.verify_pack(pack)


@aims_app.command("metrics")
def metrics_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Read the live metrics objectives can bind to."""
    with _aims(workspace) as aims:
        readings = aims.metrics()
    if as_json:
        print_json([reading.to_dict() for reading in readings])
        return
    table = _table("live metrics", "metric", "value", "detail")
    for reading in readings:
        value = "[dim]n/a[/dim]" if reading.value is None else f"{reading.value:g}"
        table.add_row(reading.metric, value, reading.detail)
    console.print(table, highlight=False)


aims_app.add_typer(checks_app, name="checks")
aims_app.add_typer(soa_entry_app, name="soa-entry")
aims_app.add_typer(systems_app, name="systems")
aims_app.add_typer(risks_app, name="risks")
aims_app.add_typer(assessments_app, name="assessments")
aims_app.add_typer(policy_app, name="policy")
aims_app.add_typer(concerns_app, name="concerns")
aims_app.add_typer(objectives_app, name="objectives")
aims_app.add_typer(incidents_app, name="incidents")
aims_app.add_typer(nc_app, name="nonconformities")
aims_app.add_typer(suppliers_app, name="suppliers")
aims_app.add_typer(audits_app, name="audits")
aims_app.add_typer(review_actions_app, name="review-actions")


def register(app: typer.Typer) -> None:
    """Add ``aims`` to ``app``."""
    app.add_typer(aims_app, name="aims")
