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


def test_a_server_checkpoints_the_log_in_the_background_not_in_a_commit(
    any_store: Store,
) -> None:
    from sqlalchemy import text

    started = any_store.checkpoint_in_background(interval=0.05)
    if any_store.backend != "sqlite":
        assert not started  # PostgreSQL has no write-ahead log to checkpoint from here
        return
    assert started
    with any_store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        connection.commit()
    import time

    time.sleep(0.3)
    with any_store.engine.connect() as connection:
        busy, frames, done = connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
    assert busy == 0 and frames == done  # the background thread had moved the log already
    any_store.dispose()
    with any_store.engine.connect() as connection:  # short-lived users checkpoint as usual
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
