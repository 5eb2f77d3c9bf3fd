"""Whatever is done to the stored chain, ``verify`` names the first entry that is not as written.

Hypothesis picks the tampering (change a field, delete, insert a forged entry, swap two entries,
cut off the tail, or rewrite the chain from some entry on with correctly recomputed hashes but
without the seal key) and where; each example starts again from the same pristine ledger.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from aimsight.core import Workspace
from aimsight.store import Ledger, Store

ENTRIES = 12
COLUMNS = [
    "seq",
    "recorded_at",
    "actor",
    "kind",
    "subject",
    "payload",
    "personal_digest",
    "prev_hash",
    "hash",
    "seal",
]
CHANGEABLE = [c for c in COLUMNS if c != "seq"]

Row = dict[str, Any]


def chained_hash(row: Row) -> str:
    """The hash as DESIGN and the ledger module document it, computed independently."""
    chained = {name: row[name] for name in COLUMNS if name not in ("hash", "seal")}
    chained["payload"] = json.loads(row["payload"])
    return hashlib.sha256(rfc8785.dumps(chained)).hexdigest()


class Pristine:
    """A ledger of ENTRIES entries and a copy of its rows to restore before each example."""

    def __init__(self, root: Path) -> None:
        self.workspace = Workspace.create(root)
        self.store = Store.open(self.workspace)
        self.ledger = Ledger.open(self.workspace, self.store)
        for i in range(ENTRIES):
            self.ledger.append(
                "decision.made" if i % 3 else "consent.granted",
                actor=f"svc-{i % 2}",
                subject=f"cust_{i % 4}",
                payload={"i": i, "offer": ["a", "b"][i % 2]},
                personal={"email": f"p{i}@example.com"} if i % 4 == 1 else None,
            )
        with self.store.engine.connect() as connection:
            self.entries = [dict(r._mapping) for r in connection.execute(_all("ledger_entries"))]
            self.personal = [
                dict(r._mapping) for r in connection.execute(_all("ledger_personal_data"))
            ]
            self.head = dict(connection.execute(text("SELECT * FROM ledger_head")).one()._mapping)

    def write(self, entries: list[Row], head: Row | None = None) -> None:
        """Replace the stored ledger with ``entries`` (personal rows follow their seq)."""
        seqs = {row["seq"] for row in entries}
        with self.store.engine.begin() as connection:
            for table in ("ledger_personal_data", "ledger_entries", "ledger_head"):
                connection.execute(text(f"DELETE FROM {table}"))
            _insert(connection, "ledger_entries", entries)
            _insert(
                connection, "ledger_personal_data", [p for p in self.personal if p["seq"] in seqs]
            )
            _insert(connection, "ledger_head", [head or self.head])


def _all(table: str) -> Any:
    return text(f"SELECT * FROM {table} ORDER BY seq")


def _insert(connection: Any, table: str, rows: list[Row]) -> None:
    if rows:
        names = list(rows[0])
        statement = text(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        )
        connection.execute(statement, rows)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pristine]:
    built = Pristine(tmp_path_factory.mktemp("tamper") / "ws")
    yield built
    built.store.dispose()


def _other_value(column: str, value: Any) -> Any:
    if column in ("hash", "prev_hash", "seal", "personal_digest"):
        return ("f" if (value or "0")[0] != "f" else "e") + (value or "0" * 64)[1:]
    if column == "payload":
        return '{"i":-1}'
    if column == "kind":
        return "decision.reversed"
    return f"{value}x"


Tampering = tuple[str, int, Any]
seqs = st.integers(min_value=1, max_value=ENTRIES)
tamperings = st.one_of(
    st.tuples(st.just("change"), seqs, st.sampled_from(CHANGEABLE)),
    st.tuples(st.just("delete"), seqs, st.none()),
    st.tuples(st.just("insert"), st.integers(1, ENTRIES + 1), st.none()),
    st.tuples(st.just("swap"), st.integers(1, ENTRIES - 1), st.integers(1, ENTRIES - 1)),
    st.tuples(st.just("truncate"), seqs, st.none()),
    st.tuples(st.just("rehash"), seqs, st.none()),
)


def tamper(pristine: Pristine, how: Tampering) -> int:
    """Apply ``how`` to the stored ledger; return the sequence number verify must name."""
    action, seq, extra = how
    rows = [dict(row) for row in pristine.entries]
    if action == "change":
        rows[seq - 1][extra] = _other_value(extra, rows[seq - 1][extra])
        pristine.write(rows)
        return seq
    if action == "delete":
        pristine.write([row for row in rows if row["seq"] != seq])
        return seq
    if action == "truncate":
        pristine.write([row for row in rows if row["seq"] < seq])
        return seq
    if action == "swap":
        first, second = sorted((seq, min(seq + extra, ENTRIES)))
        if first == second:
            second = first + 1
        a, b = rows[first - 1], rows[second - 1]
        rows[first - 1], rows[second - 1] = {**b, "seq": first}, {**a, "seq": second}
        pristine.write(rows)
        return first
    if action == "insert":
        prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
        forged: Row = {
            "seq": seq,
            "recorded_at": rows[min(seq, ENTRIES) - 1]["recorded_at"],
            "actor": "intruder",
            "kind": "decision.made",
            "subject": "cust_0",
            "payload": '{"offer":"free"}',
            "personal_digest": None,
            "prev_hash": prev,
            "seal": "0" * 64,
        }
        forged["hash"] = chained_hash(forged)
        shifted = [{**row, "seq": row["seq"] + 1} if row["seq"] >= seq else row for row in rows]
        pristine.write(sorted([*shifted, forged], key=lambda row: row["seq"]))
        return seq
    # rehash: change an entry and recompute every later hash, as someone without the key could
    rows[seq - 1]["payload"] = '{"i":-1}'
    for index in range(seq - 1, ENTRIES):
        if index > 0:
            rows[index]["prev_hash"] = rows[index - 1]["hash"]
        rows[index]["hash"] = chained_hash(rows[index])
    pristine.write(rows, head={**pristine.head, "hash": rows[-1]["hash"]})
    return seq


def test_the_independent_hash_matches_the_ledger(pristine: Pristine) -> None:
    assert all(chained_hash(row) == row["hash"] for row in pristine.entries)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(how=tamperings)
def test_verify_names_the_first_tampered_entry(pristine: Pristine, how: Tampering) -> None:
    expected = tamper(pristine, how)
    result = pristine.ledger.verify()
    assert not result.ok
    assert result.first_bad_seq == expected, result.problem
    assert result.problem


def test_restoring_the_rows_restores_a_valid_chain(pristine: Pristine) -> None:
    pristine.write([dict(row) for row in pristine.entries])
    assert pristine.ledger.verify().ok
