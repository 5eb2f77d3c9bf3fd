"""``aimsight decisions|flows|reviews ...``: decide, explain, stop switches and human review.

Each command calls :class:`~aimsight.decide.DecisionService`, the same service the API uses,
so a decision made here is on the ledger like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from aimsight.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    cli_actor,
    console,
    open_workspace,
    print_json,
)
from aimsight.core import InvalidInput

if TYPE_CHECKING:  # the decision layer loads models and pandas; keep --help fast
    from aimsight.decide import DecisionService, FlowStatus, Review

__all__ = ["register"]

decisions_app = typer.Typer(
    help="Real-time decisions: make one, show it, explain it, record its outcome, KPIs.",
    no_args_is_help=True,
)
flows_app = typer.Typer(
    help="Decision flows: list, show, validate a file, stop, resume and test the stop switch.",
    no_args_is_help=True,
)
reviews_app = typer.Typer(
    help="The human review queue of high-stakes decisions: list, approve, override, reject.",
    no_args_is_help=True,
)

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded on the ledger).")]


@contextmanager
def _service(workspace: str | None) -> Iterator[DecisionService]:
    from aimsight.decide import DecisionService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        service = DecisionService(opened, store, Ledger.open(opened, store))
        try:
            yield service
        finally:
            service.close()


def _context(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are read as JSON when they parse (numbers, true, null)."""
    context: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(
                f"--context {pair!r} must be name=value, e.g. --context page=pricing",
                field="context",
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        context[name] = value
    return context


@decisions_app.command("make")
def make_command(
    flow: Annotated[str, typer.Argument(help="The flow to run, e.g. retention.")],
    customer: Annotated[
        str | None,
        typer.Argument(help="A customer id, alias or record key (leave out for anonymous)."),
    ] = None,
    channel: Annotated[str, typer.Option("--channel", help="Where the answer is used.")] = "web",
    context: Annotated[
        list[str] | None,
        typer.Option("--context", help="name=value the rules read as context.<name>; repeat."),
    ] = None,
    top_n: Annotated[int | None, typer.Option("--top", min=1, help="Actions to return.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make one decision now (it is recorded on the ledger like an API decision)."""
    from aimsight.decide import DecisionRequest

    request = DecisionRequest(
        flow=flow,
        customer_id=customer,
        channel=channel,
        context=_context(context or []),
        top_n=top_n,
    )
    with _service(workspace) as service:
        decision = service.decide(request, actor=cli_actor())
    if as_json:
        print_json(decision.to_dict())
        return
    console.print(
        f"[bold]{decision.decision_id}[/]  flow {flow} v{decision.flow_version}  "
        f"status {decision.status}"
    )
    for action in decision.actions:
        console.print(
            f"  action  {escape(action.action_id)} on {action.channel} "
            f"(priority {action.priority:.3g})"
        )
    if not decision.actions:
        console.print("  no action")
    if decision.fallback:
        console.print(f"  fallback  {decision.fallback_reason}")
    if decision.review_id:
        console.print(f"  review    {decision.review_id} due {decision.review_deadline}")
    console.print(f"  reasons   {', '.join(decision.reason_codes)}")
    console.print(f"  ledger    #{decision.ledger_seq}  {decision.latency_ms:.2f} ms")


@decisions_app.command("show")
def show_command(
    decision_id: Annotated[str, typer.Argument(help="A decision id (dec_...).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a stored decision with its technical record."""
    with _service(workspace) as service:
        found = service.get(decision_id)
    if as_json:
        print_json(found)
        return
    for key in (
        "decision_id",
        "flow",
        "customer_id",
        "channel",
        "action_id",
        "status",
        "fallback",
        "human_review",
        "reason_codes",
        "ledger_seq",
        "created_at",
    ):
        console.print(f"{key:14} {escape(str(found[key]))}")
    for outcome in found["outcomes"]:
        console.print(f"outcome        {outcome['outcome']} {outcome['value'] or ''}")


@decisions_app.command("explain")
def explain_command(
    decision_id: Annotated[str, typer.Argument(help="A decision id (dec_...).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain a decision in plain words fit to show the customer."""
    with _service(workspace) as service:
        explanation = service.explanation(decision_id)
    if as_json:
        print_json(explanation.to_dict())
        return
    console.print(escape(explanation.text))


@decisions_app.command("outcome")
def outcome_command(
    decision_id: Annotated[str, typer.Argument(help="A decision id (dec_...).")],
    outcome: Annotated[
        str, typer.Option("--outcome", help="accepted, rejected, converted or complaint.")
    ],
    value: Annotated[float | None, typer.Option("--value", help="Money it brought.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what came of a decision."""
    with _service(workspace) as service:
        recorded = service.record_outcome(decision_id, outcome, actor=cli_actor(), value=value)
    if as_json:
        print_json(recorded.to_dict())
        return
    console.print(f"recorded {recorded.outcome} for {decision_id} (ledger #{recorded.ledger_seq})")


@decisions_app.command("kpis")
def kpis_command(
    flow: Annotated[str | None, typer.Option("--flow", help="One flow only.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decisions, fallbacks, reviews and outcomes per flow."""
    with _service(workspace) as service:
        kpis = service.kpis(flow)
    if as_json:
        print_json(kpis)
        return
    table = Table("flow", "decisions", "fallbacks", "reviews", "converted", "mean ms")
    for name, row in sorted(kpis.items()):
        converted = row["outcomes"].get("converted", {}).get("count", 0)
        table.add_row(
            name,
            str(row["decisions"]),
            str(row["fallbacks"]),
            str(row["human_reviews"]),
            str(converted),
            f"{row['mean_latency_ms']:.2f}",
        )
    console.print(table)


def _print_flows(flows: list[FlowStatus]) -> None:
    table = Table("flow", "version", "stopped", "high stakes", "review", "switch tested", "actions")
    for flow in flows:
        table.add_row(
            flow.flow,
            str(flow.version),
            "STOPPED" if flow.stopped else "no",
            "yes" if flow.high_stakes else "no",
            "yes" if flow.human_review else "no",
            flow.stop_switch_tested_at or "never",
            ", ".join(flow.actions),
        )
    console.print(table)


@flows_app.command("list")
def flows_list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every flow with its version, stop switch and review settings."""
    with _service(workspace) as service:
        flows = service.flow_status()
    if as_json:
        print_json([f.to_dict() for f in flows])
        return
    _print_flows(flows)


@flows_app.command("show")
def flows_show_command(
    flow: Annotated[str, typer.Argument(help="A flow id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One flow's definition, state and served versions."""
    with _service(workspace) as service:
        definition = service.flow(flow).model_dump(mode="json")
        status = service.flow_status(flow)[0].to_dict()
        versions = service.flow_versions(flow)
    data = {"status": status, "versions": versions, "definition": definition}
    if as_json:
        print_json(data)
        return
    _print_flows([service.flow_status(flow)[0]])
    for version in versions:
        console.print(
            f"version {version['version']}  {str(version['digest'])[:12]}  "
            f"first served {version['registered_at']}"
        )


@flows_app.command("validate")
def flows_validate_command(
    path: Annotated[Path, typer.Argument(help="A flow file to check.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a flow file against the workspace's features; errors give the line and fix."""
    from aimsight.decide import load_flow_file
    from aimsight.features import FeatureService
    from aimsight.store import Ledger, Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        names = FeatureService(opened, store, Ledger.open(opened, store)).definitions().names
    flow = load_flow_file(path, features=names)
    result = {
        "flow": flow.flow,
        "version": flow.version,
        "digest": flow.digest,
        "actions": [a.id for a in flow.actions],
        "valid": True,
    }
    if as_json:
        print_json(result)
        return
    console.print(
        f"{path}: flow {flow.flow} v{flow.version} is valid ({len(flow.actions)} actions)"
    )


@flows_app.command("stop")
def flows_stop_command(
    flow: Annotated[str, typer.Argument(help="A flow id.")],
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Engage the stop switch: the flow answers with its safe fallback at once."""
    with _service(workspace) as service:
        status = service.stop(flow, actor=cli_actor(), reason=reason)
    if as_json:
        print_json(status.to_dict())
        return
    console.print(f"flow {flow} is stopped: it answers with its fallback until resumed")


@flows_app.command("resume")
def flows_resume_command(
    flow: Annotated[str, typer.Argument(help="A flow id.")],
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release the stop switch."""
    with _service(workspace) as service:
        status = service.resume(flow, actor=cli_actor(), reason=reason)
    if as_json:
        print_json(status.to_dict())
        return
    console.print(f"flow {flow} is serving again")


@flows_app.command("test-stop-switch")
def flows_test_command(
    flow: Annotated[str, typer.Argument(help="A flow id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove the stop switch gives the fallback (a dry run; live traffic is not stopped)."""
    with _service(workspace) as service:
        result = service.test_stop_switch(flow, actor=cli_actor())
    if as_json:
        print_json(result)
        return
    console.print(
        f"stop switch of {flow} works: fallback {result['fallback_action']}, "
        f"no model scored, no data read (tested {result['tested_at']})"
    )


def _print_reviews(reviews: list[Review]) -> None:
    table = Table("review", "flow", "customer", "proposed", "status", "deadline", "why")
    for review in reviews:
        table.add_row(
            review.review_id,
            review.flow,
            review.customer_id,
            review.proposed_action,
            review.status,
            review.deadline,
            escape(review.why),
        )
    console.print(table)


@reviews_app.command("list")
def reviews_list_command(
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending (default), approved, overridden, rejected, expired"),
    ] = ("pending"),
    flow: Annotated[str | None, typer.Option("--flow", help="One flow only.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The review queue, oldest deadline first."""
    with _service(workspace) as service:
        reviews = service.reviews(status=status, flow=flow)
    if as_json:
        print_json([r.to_dict() for r in reviews])
        return
    _print_reviews(reviews)


def _settle(
    review_id: str,
    verdict: str,
    reason: str,
    action: str | None,
    workspace: str | None,
    as_json: bool,
) -> None:
    with _service(workspace) as service:
        review = service.settle_review(
            review_id, verdict, reviewer=cli_actor(), reason=reason, action=action
        )
    if as_json:
        print_json(review.to_dict())
        return
    console.print(
        f"review {review_id}: {review.status} by {review.reviewer}; action "
        f"{review.final_action or 'none'}"
    )


@reviews_app.command("approve")
def approve_command(
    review_id: Annotated[str, typer.Argument(help="A review id (rev_...).")],
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve the proposed action."""
    _settle(review_id, "approve", reason, None, workspace, as_json)


@reviews_app.command("override")
def override_command(
    review_id: Annotated[str, typer.Argument(help="A review id (rev_...).")],
    action: Annotated[str, typer.Option("--action", help="The action to take instead.")],
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the proposed action with another action of the flow."""
    _settle(review_id, "override", reason, action, workspace, as_json)


@reviews_app.command("reject")
def reject_command(
    review_id: Annotated[str, typer.Argument(help="A review id (rev_...).")],
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject: nothing is done for this decision."""
    _settle(review_id, "reject", reason, None, workspace, as_json)


def register(app: typer.Typer) -> None:
    """Add the ``decisions``, ``flows`` and ``reviews`` groups to ``app``."""
    app.add_typer(decisions_app, name="decisions")
    app.add_typer(flows_app, name="flows")
    app.add_typer(reviews_app, name="reviews")
