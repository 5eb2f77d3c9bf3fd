"""A consent writer run in a separate (spawned) process, as another server would be."""

from __future__ import annotations

from aimsight.core import Workspace
from aimsight.privacy import ConsentChangeIn, ConsentService
from aimsight.store import Ledger, Store


def record_change(workspace_root: str, customer_id: str, purpose: str, status: str) -> None:
    """Open the workspace afresh and record one change for ``customer_id`` on every channel."""
    workspace = Workspace.open(workspace_root)
    store = Store.open(workspace)
    try:
        service = ConsentService(workspace, store, Ledger.open(workspace, store))
        change = ConsentChangeIn(purpose, "*", status, source="other_process")
        service.set(customer_id, [change], actor="test:other-process")
    finally:
        store.dispose()
