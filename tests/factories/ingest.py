"""Small contracts and sources for pipeline tests, and the books every batch must balance."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import func, select

from aimsight.core import Workspace
from aimsight.ingest._contracts import Contract, ContractRegistry
from aimsight.ingest._tables import BatchRow, LakeFileRow, QuarantineRow
from aimsight.store import Store

PEOPLE = """
source: crm
entity: people
version: 1
primary_key: [person_id]
event_time: updated_at
fields:
  - {name: person_id, type: string, required: true}
  - {name: email, type: email}
  - {name: age, type: integer, minimum: 0}
  - {name: updated_at, type: timestamp, required: true}
quality:
  max_quarantine_rate: 0.5
"""

PAYMENTS = """
source: billing
entity: payments
version: 1
primary_key: [payment_id]
event_time: paid_at
fields:
  - {name: payment_id, type: string, required: true}
  - {name: person_id, type: string, required: true, references: crm.people.person_id}
  - {name: amount, type: decimal, required: true, minimum: 0}
  - {name: paid_at, type: timestamp, required: true}
"""

PEOPLE_HEADER = "person_id,email,age,updated_at"


def contract(text: str = PEOPLE, **changes: object) -> Contract:
    """A contract from YAML text, with top-level keys replaced by ``changes``."""
    data = yaml.safe_load(text)
    data.update(changes)
    return Contract.from_dict(data, origin="test")


def with_field(text: str, name: str, **spec: object) -> Contract:
    """The contract of ``text`` with its field ``name`` replaced by ``spec``."""
    data = yaml.safe_load(text)
    data["fields"] = [
        {"name": name, **spec} if field["name"] == name else field for field in data["fields"]
    ]
    return Contract.from_dict(data, origin="test")


def install(workspace: Workspace, *texts: str) -> ContractRegistry:
    """The workspace's registry holding the given contracts (people and payments by default)."""
    registry = ContractRegistry.for_workspace(workspace)
    for text in texts or (PEOPLE, PAYMENTS):
        registry.add(contract(text))
    return registry


def person(
    person_id: str,
    *,
    email: str = "",
    age: str = "30",
    updated_at: str = "2026-11-01T10:00:00Z",
) -> str:
    """One CSV line of crm.people (email defaults to one derived from the id)."""
    return ",".join([person_id, email or f"{person_id.lower()}@example.com", age, updated_at])


def write_csv(path: Path, lines: list[str], header: str = PEOPLE_HEADER) -> Path:
    """A CSV file with ``header`` and ``lines``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def assert_books_balance(store: Store) -> int:
    """Every batch: rows in = accepted + quarantined, each count matching what is stored.

    Returns the number of batches checked.
    """
    with store.session() as session:
        batches = list(session.scalars(select(BatchRow)))
        for batch in batches:
            quarantined = session.scalar(
                select(func.count()).where(QuarantineRow.batch_id == batch.batch_id)
            )
            in_lake = session.scalar(
                select(func.coalesce(func.sum(LakeFileRow.rows), 0)).where(
                    LakeFileRow.batch_id == batch.batch_id
                )
            )
            assert batch.rows_in == batch.rows_accepted + batch.rows_quarantined, batch.batch_id
            assert quarantined == batch.rows_quarantined, batch.batch_id
            assert in_lake == batch.rows_accepted, batch.batch_id
    return len(batches)
