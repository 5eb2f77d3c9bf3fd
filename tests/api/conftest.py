"""Fixtures for API tests: a workspace, keys per role, and a client on the app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from aimsight.api import create_app
from aimsight.core import Workspace
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store


@dataclass
class Api:
    """A running app and what tests need around it."""

    client: TestClient
    workspace: Workspace
    store: Store
    keys: ApiKeyService
    admin_key: str

    def key_for(self, role: Role, name: str) -> str:
        """A new key with ``role``."""
        return self.keys.create(name, role, created_by="test")[1]

    def auth(self, key: str | None = None) -> dict[str, str]:
        """Headers presenting ``key`` (the admin's by default)."""
        return {"Authorization": f"Bearer {key or self.admin_key}"}


def open_api(workspace: Workspace) -> Iterator[Api]:
    """Serve ``workspace`` in-process with an admin key made for the test."""
    store = Store.open(workspace)
    keys = ApiKeyService(store, audit=Ledger.open(workspace, store))
    _, admin_key = keys.create("test-admin", Role.ADMIN, created_by="test")
    try:
        with TestClient(create_app(workspace, store=store)) as client:
            yield Api(client, workspace, store, keys, admin_key)
    finally:
        store.dispose()


@pytest.fixture
def api(workspace: Workspace) -> Iterator[Api]:
    """The API of a fresh SQLite workspace."""
    yield from open_api(workspace)
