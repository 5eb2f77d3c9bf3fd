"""Shared fixtures: a fresh workspace, and an operational store on SQLite and PostgreSQL.

PostgreSQL tests use the server on 127.0.0.1:5432 (trust auth, database ``test``), each test in a
fresh schema that is dropped afterwards; they skip with a reason where the server is absent.
Set ``AIMSIGHT_TEST_POSTGRES_URL`` to use another server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimsight.core import Workspace, set_clock
from aimsight.store import Store

POSTGRES_URL = os.environ.get(
    "AIMSIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_postgres_reason: str | None = None
_postgres_checked = False


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or ``None`` when it can (checked once)."""
    global _postgres_checked, _postgres_reason
    if not _postgres_checked:
        _postgres_checked = True
        try:
            import psycopg

            conninfo = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(conninfo, connect_timeout=3):
                pass
        except ImportError:
            _postgres_reason = "psycopg is not installed (pip install 'aimsight[postgres]')"
        except Exception as exc:  # noqa: BLE001 - any failure means: skip with the reason
            _postgres_reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}".splitlines()[0]
    return _postgres_reason


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's AIMSIGHT_* variables; the clock is always the real one."""
    for name in list(os.environ):
        if name.startswith("AIMSIGHT"):
            monkeypatch.delenv(name)
    yield
    set_clock(None)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A new workspace with the SQLite store."""
    return Workspace.create(tmp_path / "ws")


def _postgres_workspace(tmp_path: Path) -> Iterator[Workspace]:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"aimsight_t_{uuid.uuid4().hex[:10]}"
    root = tmp_path / "ws_pg"
    Workspace.create(root)
    os.environ["AIMSIGHT__STORE__DATABASE_URL"] = POSTGRES_URL
    os.environ["AIMSIGHT__STORE__SCHEMA_NAME"] = schema
    try:
        yield Workspace.open(root)
    finally:
        os.environ.pop("AIMSIGHT__STORE__DATABASE_URL", None)
        os.environ.pop("AIMSIGHT__STORE__SCHEMA_NAME", None)
        import psycopg

        conninfo = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def any_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose store is SQLite, then (as an integration test) PostgreSQL."""
    if request.param == "sqlite":
        yield Workspace.create(tmp_path / "ws")
    else:
        yield from _postgres_workspace(tmp_path)


@pytest.fixture
def any_store(any_workspace: Workspace) -> Iterator[Store]:
    """The operational store of :func:`any_workspace`, migrated to the newest schema."""
    store = Store.open(any_workspace)
    yield store
    store.dispose()


@pytest.fixture
def store(workspace: Workspace) -> Iterator[Store]:
    """The SQLite operational store of :func:`workspace`, migrated to the newest schema."""
    opened = Store.open(workspace)
    yield opened
    opened.dispose()
