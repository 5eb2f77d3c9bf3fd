"""The demo's decision flows: installed into the workspace, switch-tested and exercised.

The retention and next-best-offer flows are copied into ``<workspace>/flows`` (where a team
edits them), their stop switches are tested, and a sample of customers gets decisions on
the web and by e-mail, with outcomes and one settled review, so the dashboard, the AIMS
checks and the ledger show decisioning at work from the first minute.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from aimsight.core import Workspace
from aimsight.decide import DecisionRequest, DecisionService
from aimsight.features import FeatureService
from aimsight.store import Ledger, Store

__all__ = ["serve_demo_flows"]

SAMPLE_CUSTOMERS = 150


def serve_demo_flows(
    workspace: Workspace, store: Store, ledger: Ledger, *, actor: str, seed: int = 7
) -> dict[str, Any]:
    """Install, switch-test and exercise the demo flows; returns what the demo prints."""
    features = FeatureService(workspace, store, ledger)
    service = DecisionService(workspace, store, ledger, features=features)
    service.install_example_flows()
    try:
        service.warm()
        for flow in service.flows():
            service.test_stop_switch(flow, actor=actor)
        _, frame = features.online_frame()
        rng = random.Random(seed)
        customers = sorted(frame["customer_id"].tolist())
        sample = rng.sample(customers, min(SAMPLE_CUSTOMERS, len(customers)))
        actions: Counter[str] = Counter()
        fallbacks = reviews = 0
        decided = []
        for index, customer in enumerate(sample):
            for flow, channel in (("retention", "email"), ("next_best_offer", "web")):
                if flow not in service.flows():
                    continue
                decision = service.decide(
                    DecisionRequest(flow=flow, customer_id=customer, channel=channel),
                    actor=actor,
                )
                actions[f"{flow}:{decision.action or 'none'}"] += 1
                fallbacks += decision.fallback
                reviews += decision.human_review
                if decision.status == "decided" and decision.action and index % 3 == 0:
                    decided.append(decision.decision_id)
        for number, decision_id in enumerate(decided):
            outcome = ("accepted", "rejected", "converted")[number % 3]
            service.record_outcome(
                decision_id, outcome, actor=actor, value=25.0 if outcome == "converted" else None
            )
        pending = service.reviews()
        if pending:
            service.settle_review(
                pending[0].review_id,
                "approve",
                reviewer="demo-retention-lead",
                reason="Long-standing customer with a real risk of leaving; the offer is fair.",
            )
    finally:
        service.close()
    top = ", ".join(f"{name} {count}" for name, count in actions.most_common(4))
    return {
        "flows": len(service.flows()),
        "decisions": sum(actions.values()),
        "fallbacks": fallbacks,
        "sent to review": reviews,
        "outcomes": len(decided),
        "top actions": top,
    }
