"""Fast bulk writes of many small rows (record links, identifiers, customers).

A first run over a million people writes millions of rows. SQLAlchemy's ORM-aware
``insert`` builds parameters row by row; here rows go to the driver as tuples in one
``executemany`` (SQLite) or one ``COPY`` (PostgreSQL), inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

__all__ = ["bulk_insert"]

_CHUNK = 50_000


def bulk_insert(
    session: Session, table: Any, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` within ``session``."""
    if not rows:
        return
    target: Table = table.__table__ if hasattr(table, "__table__") else table
    connection = session.connection()
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f'COPY "{target.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{target.name}" ({names}) VALUES ({marks})'
    for start in range(0, len(rows), _CHUNK):
        connection.exec_driver_sql(statement, list(rows[start : start + _CHUNK]))
