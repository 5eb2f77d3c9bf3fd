"""``aimsight demo``: build a fresh workspace from the synthetic company and serve it.

Each capability adds its step to :data:`STEPS` as it lands (ingest, identity, models, ...);
every step is recorded on the ledger so the demo workspace shows its own history.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from aimsight.core import Workspace, WorkspaceError, configure_logging
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.demo._aims_seed import seed_aims
from aimsight.demo._consents import consents_from_lake
from aimsight.demo._decisions import serve_demo_flows
from aimsight.demo._generate import generate_company
from aimsight.features import FeatureService
from aimsight.identity import IdentityService
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.registry import ModelRegistry, ModelTrainer, Principal
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store

__all__ = ["DemoResult", "build_demo", "run_demo"]

DEMO_MARKER = ".aimsight-demo"
DEMO_ACTOR = "aimsight-demo"


@dataclass
class DemoResult:
    """What the demo built: the workspace, the admin key and what each step reported."""

    workspace: Workspace
    admin_key: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)


def build_demo(
    workspace_dir: str | Path,
    *,
    customers: int,
    seed: int,
    console: Console | None = None,
) -> DemoResult:
    """Create a fresh demo workspace and run every capability that exists end to end.

    An existing folder is replaced only if an earlier demo made it (it holds the
    ``.aimsight-demo`` marker); anything else is refused so no user data is deleted.

    Raises:
        WorkspaceError: the folder exists, is not empty and was not made by the demo.
    """
    out = console or Console()
    root = Path(workspace_dir).expanduser().resolve()
    _clear_previous_demo(root)
    workspace = Workspace.create(root)
    (root / DEMO_MARKER).write_text("made by `aimsight demo`; safe to delete\n", "utf-8")
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        ledger.append(
            "workspace.created", actor=DEMO_ACTOR, subject=str(root), payload={"seed": seed}
        )
        result_steps: dict[str, dict[str, Any]] = {}
        for name, step in STEPS:
            started = time.perf_counter()
            with out.status(f"[bold]{name}[/bold]"):
                report = step(_StepContext(workspace, store, ledger, customers, seed, out))
            report["seconds"] = round(time.perf_counter() - started, 2)
            result_steps[name] = report
            ledger.append(
                "demo.step_completed", actor=DEMO_ACTOR, subject=name, payload=dict(report)
            )
            out.print(f"[green]✓[/green] {name}  " + _summarise(report))
        keys = ApiKeyService(store, audit=ledger)
        _, admin_key = keys.create("demo-admin", Role.ADMIN, created_by=DEMO_ACTOR)
        verification = ledger.verify()
        result_steps["ledger"] = {
            "entries": verification.entries_checked,
            "valid": verification.ok,
        }
        out.print(
            f"[green]✓[/green] ledger verified  {verification.entries_checked} entries, "
            f"chain {'intact' if verification.ok else 'BROKEN'}"
        )
        return DemoResult(workspace=workspace, admin_key=admin_key, steps=result_steps)


def run_demo(
    *, workspace: str | None, customers: int, seed: int, host: str, port: int, serve: bool
) -> None:
    """Build the demo workspace, then serve the API on ``host:port`` until interrupted."""
    console = Console()
    root = workspace or ".aimsight-demo"
    console.print(
        Panel.fit(
            f"Building the demo company: {customers:,} customers, seed {seed}, "
            f"workspace {Path(root).resolve()}",
            title="aimsight demo",
        )
    )
    result = build_demo(root, customers=customers, seed=seed, console=console)
    base = f"http://{host}:{port}"
    console.print(
        Panel.fit(
            "\n".join(
                [
                    f"API docs     {base}/docs",
                    f"workspace    {result.workspace.root}",
                    f"CLI          aimsight status -w {result.workspace.root}",
                ]
            ),
            title="aimsight is ready" if serve else "aimsight demo built",
        )
    )
    # Outside the panel and never wrapped, so the key can be copied whole from any terminal.
    console.print(f"admin key    {result.admin_key}", soft_wrap=True, highlight=False)
    console.print(
        f"try          curl -H 'Authorization: Bearer {result.admin_key}' {base}/v1/health",
        soft_wrap=True,
        highlight=False,
    )
    if serve:
        _serve(result.workspace, host, port)


def _serve(workspace: Workspace, host: str, port: int) -> None:
    import uvicorn

    from aimsight.api import create_app

    logging_settings = workspace.settings.logging
    configure_logging(logging_settings.level, json_format=logging_settings.json_format)
    uvicorn.run(
        create_app(workspace),
        host=host,
        port=port,
        access_log=False,  # aimsight writes its own access log, without query strings
        log_level="warning",
    )


@dataclass(frozen=True)
class _StepContext:
    workspace: Workspace
    store: Store
    ledger: Ledger
    customers: int
    seed: int
    console: Console


def _generate_company_step(context: _StepContext) -> dict[str, Any]:
    summary = generate_company(
        context.workspace.root / "sources", customers=context.customers, seed=context.seed
    )
    return {"files": len(summary.files), "rows": summary.total_rows}


# Parents before children, so referential checks (a transaction's account) find their keys.
DEMO_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("crm/customers.csv", "crm", "customers"),
    ("billing/accounts.csv", "billing", "accounts"),
    ("billing/transactions.csv", "billing", "transactions"),
    ("consent/consents.csv", "consent", "consents"),
    ("support/tickets.jsonl", "support", "tickets"),
    ("web/events.jsonl", "web", "events"),
)


def _ingest_company_step(context: _StepContext) -> dict[str, Any]:
    """Every source through contracts, rules and quarantine into the lake, as users would."""
    ContractRegistry.for_workspace(context.workspace).install_defaults()
    service = IngestService(context.workspace, context.store, context.ledger)
    sources = context.workspace.root / "sources"
    totals = {"batches": 0, "rows in": 0, "accepted": 0, "quarantined": 0}
    for relative, source, entity in DEMO_SOURCES:
        for batch in service.ingest_path(
            sources / relative, source=source, entity=entity, actor=DEMO_ACTOR
        ):
            totals["batches"] += 1
            totals["rows in"] += batch.rows_in
            totals["accepted"] += batch.rows_accepted
            totals["quarantined"] += batch.rows_quarantined
    return totals


def _resolve_identities_step(context: _StepContext) -> dict[str, Any]:
    """One customer per person, scored against the generator's ground truth."""
    service = IdentityService(context.workspace, context.store, context.ledger)
    service.install_default_config()
    summary = service.run(actor=DEMO_ACTOR)
    scores = service.evaluate(context.workspace.root / "sources/ground_truth/persons.csv")
    cluster = scores["cluster"]
    return {
        "records": summary.records,
        "customers": summary.customers,
        "precision": f"{cluster['precision']:.3f}",
        "recall": f"{cluster['recall']:.3f}",
        "F1": f"{cluster['f1']:.3f}",
    }


def _publish_features_step(context: _StepContext) -> dict[str, Any]:
    """Every customer's point-in-time features, published for real-time lookups."""
    service = FeatureService(context.workspace, context.store, context.ledger)
    service.install_default_definitions()
    snapshot = service.publish_online(actor=DEMO_ACTOR)
    return {"customers": snapshot.customers, "features": len(snapshot.features)}


def _train_models_step(context: _StepContext) -> dict[str, Any]:
    """Every declared model trained, registered as a draft and validated against its gates."""
    trainer = ModelTrainer(context.workspace, context.store, context.ledger)
    trainer.install_default_config()
    report: dict[str, Any] = {}
    for spec in trainer.config().models:
        try:
            result = trainer.train(spec.name, actor=DEMO_ACTOR)
        except InvalidInput as exc:  # a company too small to learn from: say so, go on
            report[spec.name] = f"not trained: {exc.message}"
            continue
        headline = next(
            (
                f"{metric} {result.metrics[metric]:.3f}"
                for metric in DEMO_HEADLINES
                if metric in result.metrics
            ),
            "",
        )
        state = "validated" if result.validation.passed else "draft (failed checks)"
        report[spec.name] = f"v{result.version.version} {state} {headline}".strip()
    return report


# The one number shown per model in the demo's summary line.
DEMO_HEADLINES = ("roc_auc", "stability_ari", "spend_mae_ratio_to_baseline", "concordance")
# What the demo's governance user signs off and puts into production, with the reason.
DEMO_RELEASES = {
    "churn": "holdout ROC-AUC, calibration and fairness gaps are within the declared gates",
    "segments": "segments are stable under resampling and every persona is large enough",
}


def _release_models_step(context: _StepContext) -> dict[str, Any]:
    """A governance user (not the trainer) approves; then shadow, then production."""
    keys = ApiKeyService(context.store, audit=context.ledger)
    governance, _ = keys.create("demo-governance", Role.GOVERNANCE, created_by=DEMO_ACTOR)
    approver = Principal(governance.name, governance.role, governance.key_id)
    registry = ModelRegistry(context.workspace, context.store, context.ledger)
    report: dict[str, Any] = {}
    for name, rationale in DEMO_RELEASES.items():
        try:
            version = registry.version(name, "latest")
        except NotFound:
            report[name] = "not released: it was not trained"
            continue
        if version.stage != "validated":
            report[name] = f"v{version.version} left in {version.stage}: it failed validation"
            continue
        registry.approve(name, version.version, approver=approver, rationale=rationale)
        registry.promote(name, version.version, to="shadow", actor=DEMO_ACTOR)
        registry.promote(name, version.version, to="production", actor=DEMO_ACTOR)
        report[name] = f"v{version.version} champion (approved by {approver.name})"
    if any(model.name == "segments" for model in registry.list_models()):
        stability = registry.version("segments", "latest").metrics.get("stability_ari")
        if stability is not None:
            report["segment stability (bootstrap ARI)"] = f"{stability:.3f}"
    return report


def _import_consents_step(context: _StepContext) -> dict[str, Any]:
    """Consents from the ingested consent source into the consent store the gate reads."""
    report = consents_from_lake(context.workspace, context.store, context.ledger)
    return {key: value for key, value in report.to_dict().items() if not isinstance(value, list)}


def _serve_flows_step(context: _StepContext) -> dict[str, Any]:
    """The retention and next-best-offer flows: installed, switch-tested and exercised."""
    return serve_demo_flows(context.workspace, context.store, context.ledger, actor=DEMO_ACTOR)


def _seed_aims_step(context: _StepContext) -> dict[str, Any]:
    """A plausible AI management system, then every automated control check, run for real."""
    return seed_aims(context.workspace, context.store, context.ledger, actor=DEMO_ACTOR)


STEPS: list[tuple[str, Callable[[_StepContext], dict[str, Any]]]] = [
    ("generate synthetic company", _generate_company_step),
    ("ingest sources", _ingest_company_step),
    ("resolve identities", _resolve_identities_step),
    ("import consents", _import_consents_step),
    ("publish features", _publish_features_step),
    ("train models", _train_models_step),
    ("approve and promote models", _release_models_step),
    ("serve decision flows", _serve_flows_step),
    ("seed the AI management system and run its checks", _seed_aims_step),
]


def _clear_previous_demo(root: Path) -> None:
    if not root.exists():
        return
    if (root / DEMO_MARKER).exists():
        shutil.rmtree(root)
        return
    if any(root.iterdir()):
        raise WorkspaceError(
            f"{root} exists and was not made by `aimsight demo`; "
            "pass another folder with --workspace or empty this one"
        )


def _summarise(report: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
        for key, value in report.items()
    )
