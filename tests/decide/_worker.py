"""A decision made in a separate (spawned) process by the cross-process cap test."""

from __future__ import annotations

from typing import Any

from aimsight.core import Workspace
from aimsight.decide import DecisionRequest
from aimsight.store import Ledger, Store
from tests.decide._fakes import decision_service


def decide_once(workspace_root: str, customer: str, start: Any, results: Any) -> None:
    """Open the workspace afresh, as another server would, wait for the others, decide."""
    workspace = Workspace.open(workspace_root)
    store = Store.open(workspace)
    try:
        service = decision_service(workspace, store, Ledger.open(workspace, store))
        service.warm()
        start.wait()
        decision = service.decide(
            DecisionRequest(flow="retention", customer_id=customer, channel="email"),
            actor="worker",
        )
        results.put(decision.action)
        service.close()
    finally:
        store.dispose()
