"""Engines for the operational store: SQLite (WAL) embedded, PostgreSQL for a team server."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from aimsight.core.errors import ConfigurationError

__all__ = ["create_store_engine", "is_sqlite", "redact_url"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def redact_url(url: str | URL) -> str:
    """The URL with any password masked, fit for logs and ``aimsight status``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable url>"


SQLITE_POOL_SIZE = 16
"""Connections a SQLite store keeps open at least (they are cheap: a file handle each)."""


def create_store_engine(url: str, *, schema: str | None = None, pool_size: int = 5) -> Engine:
    """Create the store's engine.

    SQLite runs in WAL mode with foreign keys on and a busy timeout, and opens write
    transactions with ``BEGIN IMMEDIATE`` when a connection asks for it through the
    ``sqlite_begin="IMMEDIATE"`` execution option (the ledger does, so appenders in several
    processes serialise instead of deadlocking). On PostgreSQL, ``schema`` becomes the
    ``search_path`` and is created if missing.

    Raises:
        ConfigurationError: the URL cannot be parsed or its driver is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"setting store.database_url = {redact_url(url)!r} is not a valid database URL; "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/db"
        ) from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    elif parsed.get_backend_name() == "sqlite":
        # A server's thread pool runs up to 40 requests at once: keep enough connections
        # pooled that none is opened (and set up with its pragmas) per request.
        kwargs.update(
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=max(pool_size, SQLITE_POOL_SIZE),
            max_overflow=SQLITE_POOL_SIZE,
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"no driver for {parsed.drivername} ({exc}); for PostgreSQL install the extra: "
            "pip install 'aimsight[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql" and schema:
        _configure_postgres_schema(engine, schema)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin")
        if mode is None:
            # A deferred BEGIN takes no lock and cannot fail, so it goes straight to the
            # driver: every read on the API's hot paths opens one, and the full statement
            # machinery costs more than the read itself.
            connection.connection.driver_connection.execute("BEGIN")
        else:  # may wait for the write lock and fail: let SQLAlchemy wrap the error
            connection.exec_driver_sql(f"BEGIN {mode}")


def _configure_postgres_schema(engine: Engine, schema: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cursor.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.autocommit = autocommit
