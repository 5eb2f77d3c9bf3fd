"""``aimsight models ...``: the model registry from a shell.

Training the models declared in ``models/models.yaml``, inventory, versions, cards,
validation, approval (authenticated with an API key, so the approver is a named person and
never the trainer), promotion, rollback, retirement, history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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
from aimsight.core import AuthenticationFailed, InvalidInput

if TYPE_CHECKING:  # the registry (scikit-learn and more) loads only when a command runs
    from aimsight.registry import (
        ModelRegistry,
        ModelSpec,
        ModelTrainer,
        ModelVersion,
        TrainingResult,
        ValidationReport,
    )
    from aimsight.store import Store

__all__ = ["register"]

models_app = typer.Typer(
    help=(
        "Models: training the declared models, and the registry: versions, model cards, "
        "validation, approvals, promotion through shadow and canary to production, rollback "
        "and history."
    ),
    no_args_is_help=True,
)

_FORMATS = ("markdown", "html", "json")
_TARGETS = ("shadow", "canary", "production")
_STAGE_COLOUR = {
    "draft": "dim",
    "validated": "cyan",
    "approved": "blue",
    "shadow": "magenta",
    "canary": "yellow",
    "production": "green",
    "retired": "dim",
}

NameArg = Annotated[str, typer.Argument(help="The model's name, e.g. churn.")]
VersionArg = Annotated[
    str, typer.Argument(help="A version: a number (3 or v3), latest, champion or canary.")
]
ReasonOpt = Annotated[
    str, typer.Option("--reason", help="Why (kept with the change and on the ledger).")
]


@contextmanager
def _registry(workspace: str | None) -> Iterator[tuple[ModelRegistry, Store]]:
    """The registry of the workspace, recording on its ledger, and its store."""
    from aimsight.registry import ModelRegistry
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        yield ModelRegistry(opened, store, Ledger.open(opened, store)), store


@contextmanager
def _trainer(workspace: str | None) -> Iterator[tuple[ModelTrainer, ModelRegistry]]:
    """The workspace's trainer and registry, both recording on its ledger."""
    from aimsight.registry import ModelRegistry, ModelTrainer
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        ledger = Ledger.open(opened, store)
        yield ModelTrainer(opened, store, ledger), ModelRegistry(opened, store, ledger)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A Rich spinner on stderr showing the training's current step, or ``None``."""
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


@models_app.command("train")
def train_command(
    name: Annotated[str, typer.Argument(help="A model declared in models/models.yaml.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a declared model, register it as a new version and validate it at once.

    The version stays a draft when a validation check fails (the output names it): fix the
    cause in models/models.yaml or the data and train again. Approval comes from someone else.
    """
    with (
        _trainer(workspace) as (trainer, _),
        _progress(not as_json and err_console.is_terminal) as progress,
    ):
        result = trainer.train(name, actor=cli_actor(), progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    _print_training(result)


def _print_training(result: TrainingResult) -> None:
    version = result.version
    report = result.validation
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(
        f"[green]trained[/green] {version.name} v{version.version} ({version.kind}, "
        f"{version.algorithm}): now {_stage(version)}; validation {verdict}",
        highlight=False,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row(
        "rows", f"{result.training_rows:,} training, {result.evaluation_rows:,} evaluation"
    )
    grid.add_row("metrics", _pairs(result.metrics) or "none")
    passed = [check.check for check in report.checks if check.passed]
    grid.add_row("checks passed", ", ".join(passed) or "none")
    for check in report.failures:
        grid.add_row("[red]failed[/red]", f"{check.check}: {check.detail}")
    for note in result.notes:
        grid.add_row("note", note)
    console.print(grid, highlight=False)
    if report.passed:
        console.print(
            f"next: a governance user approves it: aimsight models approve {version.name} "
            f"{version.version} --rationale …",
            highlight=False,
        )
    else:
        console.print(
            f"[yellow]{version.name} v{version.version} stays a draft[/yellow]: fix what failed "
            f"and train again (aimsight models train {version.name})",
            highlight=False,
        )


@models_app.command("declared")
def declared_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the models declared in models/models.yaml and their latest registered version."""
    from aimsight.registry import MODELS_CONFIG_PATH

    with _trainer(workspace) as (trainer, registry):
        config = trainer.config()
        origin = str(MODELS_CONFIG_PATH) if trainer.config_path.exists() else None
        latest = {summary.name: summary.latest_version for summary in registry.list_models()}
    if as_json:
        print_json(
            {
                "file": origin,
                "models": [_declared(spec, latest.get(spec.name)) for spec in config.models],
            }
        )
        return
    table = Table(
        title=f"declared models: {len(config.models)} "
        f"({origin or 'the shipped default; aimsight init installs an editable copy'})"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for column in ("inputs", "gates", "latest", "description"):
        table.add_column(column, overflow="fold")
    for spec in config.models:
        version = latest.get(spec.name)
        table.add_row(
            spec.name,
            spec.kind,
            f"{len(spec.features)} features" if spec.features else _default_inputs(spec),
            ", ".join(
                _gate(metric, gate.model_dump(exclude_none=True))
                for metric, gate in spec.gates.items()
            ),
            f"v{version}" if version is not None else "[dim]not trained[/dim]",
            spec.description,
        )
    console.print(table)


def _declared(spec: ModelSpec, latest_version: int | None) -> dict[str, Any]:
    return {**spec.to_dict(), "latest_version": latest_version}


def _default_inputs(spec: ModelSpec) -> str:
    if spec.kind == "clv":
        return "payment history"
    if spec.kind == "segmentation":
        return "all numeric, not sensitive"
    return "all not sensitive"


@models_app.command("list")
def list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the registered models: latest version, champion, canary and stages."""
    with _registry(workspace) as (registry, _):
        found = registry.list_models()
    if as_json:
        print_json([summary.to_dict() for summary in found])
        return
    if not found:
        console.print("no models registered yet")
        return
    table = Table(title=f"models: {len(found)}")
    for column in ("name", "kind", "latest", "champion", "canary", "versions by stage"):
        table.add_column(column)
    for summary in found:
        canary = (
            f"v{summary.canary} ({summary.canary_share:.0%})"
            if summary.canary is not None and summary.canary_share is not None
            else ""
        )
        table.add_row(
            summary.name,
            summary.kind,
            f"v{summary.latest_version}",
            f"v{summary.champion}" if summary.champion is not None else "none",
            canary,
            ", ".join(f"{stage} {count}" for stage, count in summary.stages.items()),
        )
    console.print(table)


@models_app.command("show")
def show_command(
    name: NameArg,
    version: VersionArg = "latest",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one version (the latest by default) with its metrics, gates and evidence."""
    with _registry(workspace) as (registry, _):
        found = registry.version(name, version)
        serving = registry.serving(name)
        reports = registry.validations(name, found.version)
        approvals = registry.approvals(name, found.version)
    if as_json:
        print_json(
            {
                **found.to_dict(),
                "serving": serving.to_dict(),
                "validations": [r.to_dict() for r in reports],
                "approvals": [a.to_dict() for a in approvals],
            }
        )
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("model", f"{found.name} v{found.version} ({found.kind}, {found.algorithm})")
    grid.add_row(
        "stage", _stage(found) + (f"  aliases: {', '.join(found.aliases)}" if found.aliases else "")
    )
    grid.add_row("trained by", f"{found.trainer} at {found.created_at}")
    grid.add_row("artifact", f"{found.artifact_path} (sha256 {found.artifact_sha256})")
    grid.add_row("rows", f"{found.training_rows:,} training, {found.evaluation_rows:,} evaluation")
    grid.add_row(
        "inputs", ", ".join(f"{spec.name} ({spec.type})" for spec in found.features) or "none"
    )
    grid.add_row("metrics", _pairs(found.metrics))
    grid.add_row("gates", ", ".join(_gate(m, b) for m, b in found.gates.items()) or "none")
    if reports:
        last = reports[-1]
        grid.add_row(
            "validation",
            ("passed" if last.passed else "failed: " + ", ".join(c.check for c in last.failures))
            + f" ({last.validated_at})",
        )
    for approval in approvals:
        grid.add_row(
            "approved by",
            f"{approval.approver} ({approval.approver_role}) at {approval.approved_at}",
        )
    champion = f"v{serving.champion}" if serving.champion is not None else "none"
    grid.add_row(
        "serving", f"champion {champion}" + _canary_words(serving.canary, serving.canary_share)
    )
    console.print(grid, highlight=False)


@models_app.command("versions")
def versions_command(
    name: NameArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """List every version of a model with its stage and headline metrics."""
    with _registry(workspace) as (registry, _):
        found = registry.versions(name)
    if as_json:
        print_json([version.to_dict(evidence=False) for version in found])
        return
    table = Table(title=f"{name}: {len(found)} versions")
    for column in (
        "version",
        "stage",
        "aliases",
        "algorithm",
        "metrics",
        "trained by",
        "registered",
    ):
        table.add_column(column, overflow="fold")
    for version in found:
        table.add_row(
            f"v{version.version}",
            _stage(version),
            ", ".join(version.aliases),
            version.algorithm,
            _pairs(version.metrics),
            version.trainer,
            version.created_at[:19],
        )
    console.print(table)


@models_app.command("card")
def card_command(
    name: NameArg,
    version: VersionArg = "latest",
    output_format: Annotated[
        str, typer.Option("--format", help="markdown, html (self-contained page) or json.")
    ] = "markdown",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the card to this file instead of stdout.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print or write a version's model card (Mitchell et al. 2019)."""
    wanted = output_format.lower()
    if wanted not in _FORMATS:
        raise InvalidInput(
            f"--format {output_format!r} is not one of markdown, html, json", field="format"
        )
    with _registry(workspace) as (registry, _):
        card = registry.card(name, version)
    if wanted == "json":
        text = json.dumps(card.to_dict(), indent=2) + "\n"
    elif wanted == "html":
        text = card.to_html()
    else:
        text = card.to_markdown()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"--out {out}: cannot write the card ({exc.strerror or exc})", field="out"
        ) from None
    console.print(f"[green]wrote[/green] the {wanted} card of {name} to {out}", highlight=False)


@models_app.command("validate")
def validate_command(
    name: NameArg, version: VersionArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Run the automatic checks; all passing makes a draft validated (the report is kept)."""
    with _registry(workspace) as (registry, _):
        report = registry.validate(name, version, actor=cli_actor())
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


@models_app.command("approve")
def approve_command(
    name: NameArg,
    version: VersionArg,
    rationale: Annotated[
        str, typer.Option("--rationale", help="Why you approve it (at least 10 characters).")
    ],
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="AIMSIGHT_API_KEY",
            help="Your API key: it names you as the approver ($AIMSIGHT_API_KEY).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a validated version as yourself (authenticated by your API key).

    Your role must hold models:approve, and you may not approve a model you trained.
    """
    from aimsight.registry import Principal
    from aimsight.security import ApiKeyService

    if not api_key:
        raise AuthenticationFailed(
            "approving needs your API key to name you as the approver: pass --api-key or set "
            "AIMSIGHT_API_KEY"
        )
    with _registry(workspace) as (registry, store):
        key = ApiKeyService(store).authenticate(api_key)
        approval = registry.approve(
            name,
            version,
            approver=Principal(key.name, key.role, key.key_id),
            rationale=rationale,
        )
    if as_json:
        print_json(approval.to_dict())
        return
    console.print(
        f"[green]approved[/green] {name} v{approval.version} by {approval.approver} "
        f"({approval.approver_role})",
        highlight=False,
    )


@models_app.command("promote")
def promote_command(
    name: NameArg,
    version: VersionArg,
    to: Annotated[str, typer.Option("--to", help="shadow, canary or production.")],
    share: Annotated[
        float | None,
        typer.Option("--share", help="For a canary: the share of traffic it gets, e.g. 0.1."),
    ] = None,
    exception: Annotated[
        str | None,
        typer.Option(
            "--exception",
            help="Why an approved version goes to production without shadow or canary (recorded).",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Promote an approved version to shadow, canary or production."""
    target = to.lower()
    if target not in _TARGETS:
        raise InvalidInput(f"--to {to!r} is not one of shadow, canary, production", field="to")
    with _registry(workspace) as (registry, _):
        promoted = registry.promote(
            name, version, to=target, actor=cli_actor(), share=share, exception=exception
        )
    _print_version_change(promoted, as_json, "promoted")


@models_app.command("retire")
def retire_command(
    name: NameArg,
    version: VersionArg,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retire a version for good (not the champion: promote another or roll back)."""
    with _registry(workspace) as (registry, _):
        retired = registry.retire(name, version, actor=cli_actor(), reason=reason)
    _print_version_change(retired, as_json, "retired")


@models_app.command("rollback")
def rollback_command(
    name: NameArg, reason: ReasonOpt, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Make the previous champion the champion again; the current one is retired."""
    with _registry(workspace) as (registry, _):
        restored = registry.rollback(name, actor=cli_actor(), reason=reason)
    _print_version_change(restored, as_json, "rolled back to")


@models_app.command("history")
def history_command(
    name: NameArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Every transition of a model, and which version was champion when."""
    with _registry(workspace) as (registry, _):
        transitions = registry.history(name)
        intervals = registry.production_history(name)
    if as_json:
        print_json(
            {
                "name": name,
                "transitions": [t.to_dict() for t in transitions],
                "production": [i.to_dict() for i in intervals],
            }
        )
        return
    table = Table(title=f"{name}: history")
    for column in ("when", "version", "action", "from", "to", "by", "reason"):
        table.add_column(column, overflow="fold")
    for step in transitions:
        table.add_row(
            step.at[:19].replace("T", " "),
            f"v{step.version}",
            step.action,
            step.from_stage or "",
            step.to_stage,
            step.actor,
            step.reason,
        )
    console.print(table)
    if intervals:
        champions = Table(title="champion over time")
        for column in ("version", "from", "until", "via"):
            champions.add_column(column)
        for interval in intervals:
            champions.add_row(
                f"v{interval.version}",
                interval.started_at[:19].replace("T", " "),
                (interval.ended_at or "now")[:19].replace("T", " "),
                interval.via,
            )
        console.print(champions)


def _print_report(report: ValidationReport) -> None:
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(
        f"validation of {report.name} v{report.version} {verdict}; stage {report.stage}",
        highlight=False,
    )
    table = Table()
    for column in ("check", "result", "detail"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        table.add_row(
            check.check, "[green]ok[/green]" if check.passed else "[red]failed[/red]", check.detail
        )
    console.print(table)


def _print_version_change(version: ModelVersion, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(version.to_dict(evidence=False))
        return
    console.print(
        f"[green]{verb}[/green] {version.name} v{version.version}: now {_stage(version)}"
        + (f" ({', '.join(version.aliases)})" if version.aliases else ""),
        highlight=False,
    )


def _stage(version: ModelVersion) -> str:
    colour = _STAGE_COLOUR.get(version.stage, "white")
    text: str = version.stage
    if version.stage == "canary" and version.canary_share is not None:
        text += f" {version.canary_share:.0%}"
    return f"[{colour}]{text}[/{colour}]"


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()
    )


def _gate(metric: str, bounds: dict[str, float]) -> str:
    parts = []
    if "min" in bounds:
        parts.append(f"{metric} >= {bounds['min']:g}")
    if "max" in bounds:
        parts.append(f"{metric} <= {bounds['max']:g}")
    return " and ".join(parts)


def _canary_words(canary: int | None, share: float | None) -> str:
    if canary is None:
        return ", no canary"
    return f", canary v{canary}" + (f" at {share:.0%}" if share is not None else "")


def register(app: typer.Typer) -> None:
    """Add ``models`` to ``app``."""
    app.add_typer(models_app, name="models")
