"""Alembic environment: runs on the connection the store hands over (see ``Store.upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from aimsight.store._schema import full_metadata

target_metadata = full_metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `aimsight db upgrade`, not the alembic command")
_run(connection)
