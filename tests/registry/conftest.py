"""A registry on a fresh SQLite workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aimsight.core import Workspace
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    """The workspace's ledger."""
    return Ledger.open(workspace, store)


@pytest.fixture
def registry(workspace: Workspace, store: Store, ledger: Ledger) -> Iterator[ModelRegistry]:
    """The model registry of a fresh workspace."""
    yield ModelRegistry(workspace, store, ledger)
