"""The operational store migrates an empty database on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import inspect

from aimsight.core import Workspace
from aimsight.store import Store


def test_first_use_upgrades_an_empty_database_to_the_newest_schema(
    any_workspace: Workspace,
) -> None:
    store = Store.open(any_workspace)
    try:
        assert store.current_revision() == store.head_revision()
        tables = set(inspect(store.engine).get_table_names())
        assert {"ledger_entries", "ledger_personal_data", "ledger_head", "api_keys"} <= tables
    finally:
        store.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(any_store: Store) -> None:
    any_store.downgrade("base")
    assert any_store.current_revision() is None
    assert "ledger_entries" not in inspect(any_store.engine).get_table_names()
    any_store.upgrade()
    assert any_store.current_revision() == any_store.head_revision()


def test_sqlite_store_runs_in_wal_mode(store: Store) -> None:
    with store.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
