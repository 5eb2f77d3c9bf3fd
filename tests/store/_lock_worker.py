"""A process that takes a store lock, as another server would (spawned by test_locks.py)."""

from __future__ import annotations

import time
from typing import Any

from aimsight.core import Workspace
from aimsight.store import Store


def take_lock(workspace_root: str, name: str, ready: Any, results: Any) -> None:
    """Signal ``ready``, wait for the lock ``name``, then report how long the wait took."""
    store = Store.open(Workspace.open(workspace_root))
    try:
        ready.set()
        started = time.monotonic()
        with store.lock(name):
            results.put(time.monotonic() - started)
    finally:
        store.dispose()
