"""Migrations and table models never drift apart (the check fides runs in CI)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aimsight.store import Store
from aimsight.store._schema import full_metadata
from aimsight.store._store import _alembic_config


def test_models_match_the_migrated_schema(any_store: Store) -> None:
    with any_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, full_metadata())
    assert differences == [], (
        "a table model changed without a migration; add one under store/migrations/versions"
    )


def test_migrations_form_one_line_of_history() -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    assert len(script.get_heads()) == 1, "two migration heads: merge them"
