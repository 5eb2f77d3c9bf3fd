"""Checks over decision flows: human oversight of high-stakes decisions (A.9.2-A.9.4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aimsight.aims._checks_base import CheckContext, CheckOutcome, landed, parse_time
from aimsight.aims._model import CheckStatus, Evidence

__all__ = ["DECISION_SERVICE", "STOP_SWITCH_MAX_AGE", "human_oversight"]

DECISION_SERVICE = ("aimsight.decide", "DecisionService")
"""Where the decisioning layer is expected: ``DecisionService(workspace, store, ledger)`` with
``oversight()`` returning one item per flow with ``flow_id``, ``high_stakes``,
``human_review`` (bool) and ``stop_switch_tested_at`` (ISO time or ``None``). Until it exists,
:func:`human_oversight` is not yet available."""

STOP_SWITCH_MAX_AGE = timedelta(days=90)
"""A high-stakes flow's stop switch must have been tested within this time."""


def human_oversight(context: CheckContext) -> CheckOutcome:
    """Every high-stakes decision flow sends its decisions to human review and has a stop
    switch that was tested recently.

    Not yet available while aimsight has no decisioning layer (:data:`DECISION_SERVICE`); it
    reads that layer by itself once it lands. Warns, never passes, when the layer is there but
    does not offer what this check reads, or when no flow is marked high-stakes.
    """
    module, name = DECISION_SERVICE
    service_type = landed(module, name)
    if service_type is None:
        return CheckOutcome(
            CheckStatus.NOT_YET_AVAILABLE,
            "Decision flows (with human review queues and stop switches) have not landed in "
            "aimsight yet, so human oversight of high-stakes decisions cannot be shown.",
            (Evidence("capability", module, "not installed"),),
        )
    try:
        flows = [
            (
                str(flow.flow_id),
                bool(flow.high_stakes),
                bool(flow.human_review),
                flow.stop_switch_tested_at,
            )
            for flow in _oversight(context, service_type)
        ]
    except (AttributeError, TypeError) as exc:
        return CheckOutcome(
            CheckStatus.WARN,
            f"{module} is installed but does not offer what this check reads ({name}(workspace, "
            "store, ledger).oversight() with flow_id, high_stakes, human_review and "
            f"stop_switch_tested_at): {exc}; the check must be brought up to date.",
        )
    if not flows:
        return CheckOutcome(
            CheckStatus.WARN,
            "No decision flow is declared in this workspace (flows/*.yaml), so there is no "
            "automated decision to oversee yet; this check passes once high-stakes flows send "
            "decisions to human review and their stop switches are tested.",
        )
    high = [flow for flow in flows if flow[1]]
    if not high:
        return CheckOutcome(
            CheckStatus.WARN,
            f"None of the {len(flows)} decision flow(s) is marked high-stakes; confirm that no "
            "flow takes decisions that need human oversight.",
        )
    evidence: list[Evidence] = []
    findings: list[str] = []
    for flow_id, _, human_review, tested_text in high:
        tested = parse_time(str(tested_text)) if tested_text else None
        problems = []
        if not human_review:
            problems.append("does not send decisions to human review")
        if tested is None:
            problems.append("has a stop switch that was never tested")
        elif context.now - tested > STOP_SWITCH_MAX_AGE:
            problems.append(
                f"had its stop switch last tested {tested.date().isoformat()}, more than "
                f"{STOP_SWITCH_MAX_AGE.days} days ago"
            )
        if problems:
            findings.append(f"high-stakes flow {flow_id} " + " and ".join(problems))
        else:
            evidence.append(
                Evidence("decision_flow", flow_id, f"human review; stop switch tested {tested}")
            )
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} of {len(high)} high-stakes flow(s) lack human oversight: "
            + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {len(high)} high-stakes decision flow(s) use human review and have a stop switch "
        f"tested within {STOP_SWITCH_MAX_AGE.days} days.",
        tuple(evidence),
    )


def _oversight(context: CheckContext, service_type: Callable[..., Any]) -> list[Any]:
    service = service_type(context.workspace, context.store, context.ledger)
    return list(service.oversight())
