"""The operational store: an engine, sessions and schema migrations (Alembic)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aimsight.core.errors import MigrationError, StoreError
from aimsight.core.workspace import Workspace
from aimsight.store._engine import create_store_engine, is_sqlite, redact_url
from aimsight.store._locks import NamedLocks

__all__ = ["Store"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 0x61696D73  # "aims": PostgreSQL advisory lock held while migrating


class Store:
    """The operational store (consent, registry, approvals, AIMS records, ledger, keys).

    Built from a workspace with :meth:`open`; services take a :class:`Store` and use
    :meth:`session` for a unit of work.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._checkpointer: _Checkpointer | None = None
        self._locks = NamedLocks(engine)

    @classmethod
    def open(cls, workspace: Workspace, *, upgrade: bool | None = None) -> Store:
        """Connect to the workspace's store, applying pending migrations if configured to.

        Raises:
            StoreError: the database cannot be reached.
            MigrationError: a migration failed.
        """
        settings = workspace.settings.store
        engine = create_store_engine(
            workspace.database_url, schema=settings.schema_name, pool_size=settings.pool_size
        )
        store = cls(engine)
        store.check_connection()
        if settings.auto_upgrade if upgrade is None else upgrade:
            if store.current_revision() != store.head_revision():
                store.upgrade()
        return store

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return redact_url(self.engine.url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def check_connection(self) -> None:
        """Raise a :class:`StoreError` naming the URL if the database cannot be reached."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(
                f"cannot reach the operational store at {self.url}: {reason}; "
                "check store.database_url and that the database server is running"
            ) from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def lock(self, name: str) -> AbstractContextManager[None]:
        """An exclusive lock called ``name``, held until the ``with`` block ends, across the
        threads and processes using this database (a PostgreSQL advisory lock; on SQLite a
        byte-range lock on ``<db>-locks``, within one process only where POSIX locks are
        missing). For read-check-write sequences the database cannot lock by itself, such as
        a contact cap per customer."""
        return self._locks.hold(name)

    # -- migrations -------------------------------------------------------------------------

    def head_revision(self) -> str:
        """The newest migration shipped with this version of aimsight."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        if head is None:  # pragma: no cover - the package always ships migrations
            raise MigrationError("no migrations found in the aimsight package; reinstall it")
        return head

    def current_revision(self) -> str | None:
        """The migration the database is at, or ``None`` for an empty database."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``; safe when several processes start at once."""
        self._run_migration("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Revert migrations down to ``revision`` (``base`` empties the schema)."""
        self._run_migration("downgrade", revision)

    def _run_migration(self, direction: str, revision: str) -> None:
        try:
            with self._locked_connection() as connection:
                config = _alembic_config(connection)
                if direction == "upgrade":
                    command.upgrade(config, revision)
                else:
                    command.downgrade(config, revision)
        except SQLAlchemyError as exc:
            raise MigrationError(
                f"{direction} to {revision} failed on {self.url}: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}"
            ) from None

    @contextmanager
    def _locked_connection(self) -> Iterator[Connection]:
        """A connection in a transaction that holds the store's migration lock."""
        connection = self.engine.connect()
        try:
            if is_sqlite(self.engine):
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
            with connection.begin():
                if self.engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                    )
                yield connection
        finally:
            connection.close()

    def checkpoint_in_background(self, interval: float = 1.0) -> bool:
        """On SQLite, move the write-ahead log into the database from a background thread
        every ``interval`` seconds instead of inside whichever commit crosses SQLite's
        threshold. Returns whether it started (never on PostgreSQL).

        A long-running server calls this: an automatic checkpoint stalls the one commit that
        triggers it (6-12 ms on a decision's ledger write, the whole p99 tail); a passive
        checkpoint from another thread blocks no reader and no writer. Short-lived commands
        keep SQLite's automatic checkpoints, so the log never grows unattended.
        """
        if not is_sqlite(self.engine) or self._checkpointer is not None:
            return self._checkpointer is not None
        event.listen(self.engine, "connect", _no_automatic_checkpoint)
        self.engine.dispose()  # pooled connections were opened with automatic checkpoints
        self._checkpointer = _Checkpointer(self.engine, interval)
        self._checkpointer.start()
        return True

    def dispose(self) -> None:
        """Close every pooled connection (after a last checkpoint, if checkpointing here)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
            event.remove(self.engine, "connect", _no_automatic_checkpoint)
        self.engine.dispose()
        self._locks.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s",
    )
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _no_automatic_checkpoint(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class _Checkpointer(threading.Thread):
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float) -> None:
        super().__init__(name="aimsight-wal-checkpoint", daemon=True)
        self._engine = engine
        self._interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            self._checkpoint()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)
        self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except SQLAlchemyError:  # busy or closing: the next round (or SQLite) catches up
            pass
