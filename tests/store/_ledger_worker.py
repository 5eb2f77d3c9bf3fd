"""A ledger appender run in a separate (spawned) process by the concurrency test."""

from __future__ import annotations

from aimsight.core import Workspace
from aimsight.store import Ledger, Store


def append_entries(workspace_root: str, writer: str, count: int) -> None:
    """Open the workspace afresh, as another process would, and append ``count`` entries."""
    workspace = Workspace.open(workspace_root)
    store = Store.open(workspace)
    try:
        ledger = Ledger.open(workspace, store)
        for index in range(count):
            ledger.append("test.appended", actor=writer, subject=writer, payload={"i": index})
    finally:
        store.dispose()
