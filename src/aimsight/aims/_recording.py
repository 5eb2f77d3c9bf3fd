"""How every AIMS record is written: the store first, then the ledger, undone if the ledger fails.

The ledger has its own cross-process write lock, so it cannot share a database transaction with
the store (on SQLite the open transaction would block it). As in the registry, a change is
committed, then recorded; when the ledger write fails, the change is reverted, so nothing is
acknowledged that the ledger does not hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from aimsight.aims._fields import text
from aimsight.aims._tables import AISystemRow
from aimsight.core.errors import NotFound
from aimsight.core.workspace import Workspace
from aimsight.store import Base, Ledger, Store

__all__ = ["RecordsBase", "Unit", "get_row", "require_system"]

_Row = TypeVar("_Row", bound=Base)


@dataclass
class Unit:
    """One change to AIMS records: the rows it touched (to undo) and its ledger entries."""

    session: Session
    actor: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    undo: list[tuple[type[Base], Any, dict[str, Any] | None]] = field(default_factory=list)

    def add(self, row: _Row) -> _Row:
        """Insert ``row`` (flushed, so generated ids are set)."""
        self.session.add(row)
        self.session.flush()
        self.undo.append((type(row), inspect(row).identity, None))
        return row

    def update(self, row: Base, **values: Any) -> None:
        """Set columns of ``row``, remembering what they held."""
        old = {name: getattr(row, name) for name in values}
        self.undo.append((type(row), inspect(row).identity, old))
        for name, value in values.items():
            setattr(row, name, value)

    def record(
        self,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        personal: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue a ledger entry ``aims.<record>.<verb>`` about ``subject``.

        ``payload`` is chained as it is and must hold no personal data; free text and
        people's names go in ``personal`` (chained by digest, erasable).
        """
        entry: dict[str, Any] = {
            "kind": kind,
            "actor": self.actor,
            "subject": subject,
            "payload": dict(payload),
        }
        if personal:
            entry["personal"] = dict(personal)
        self.entries.append(entry)


class RecordsBase:
    """What every part of :class:`~aimsight.aims._records.AimsRecords` shares.

    Args:
        workspace: the workspace (risk scales, review packs and registry artifacts live there).
        store: the operational store holding the ``aims_*`` tables.
        ledger: where every change is recorded before it is acknowledged.
    """

    def __init__(self, workspace: Workspace, store: Store, ledger: Ledger) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger

    @contextmanager
    def _unit(self, actor: str) -> Iterator[Unit]:
        """A change: committed to the store on leaving the block, then written to the ledger."""
        checked = text("actor", actor, limit=200)
        with self._store.session() as session:
            unit = Unit(session, checked)
            yield unit
        if not unit.entries:
            return
        try:
            self._ledger.append_many(unit.entries)
        except BaseException:
            self._revert(unit)
            raise

    def _revert(self, unit: Unit) -> None:
        """Undo a committed change whose ledger entries could not be written."""
        with self._store.session() as session:
            for table, identity, old in reversed(unit.undo):
                row = session.get(table, identity)
                if row is None:
                    continue
                if old is None:
                    session.delete(row)
                    session.flush()
                else:
                    for name, value in old.items():
                        setattr(row, name, value)


def get_row(session: Session, table: type[_Row], key: Any, what: str, field_name: str) -> _Row:
    """The row of ``table`` with primary key ``key``.

    Raises:
        NotFound: there is none; the message says what was looked for.
    """
    row = session.get(table, key)
    if row is None:
        raise NotFound(f"no {what} {key!r}; check the {field_name} (list them to see which exist)")
    return row


def require_system(session: Session, system_id: str | None, field_name: str = "system_id") -> None:
    """Refuse a ``system_id`` that names no AI system in the inventory (``None`` is allowed).

    Raises:
        NotFound: no AI system has this id.
    """
    if system_id is not None:
        get_row(session, AISystemRow, system_id, "AI system", field_name)
