"""Ledger appends per second beside the raw insert rate of the same database, in the same run.

Anchors (no hashing, no sealing, no chain, same columns, same database):
  raw insert, one commit per row      what a naive audit table costs
  raw insert, one commit per 500 rows the database's bulk ceiling

Measured:
  ledger.append, 1 thread             every call waits for its own commit
  ledger.append, 8 threads            group commit folds concurrent calls into one transaction
  ledger.append_many, 500 per call    a batch job writing its decisions at once
  ledger.verify                       entries checked per second

Run:  .venv/bin/python bench/ledger.py [--entries 4000] [--postgres URL | --no-postgres] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from aimsight.core import Workspace
from aimsight.store import Ledger, Store

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 500
THREADS = 8
RAW_TABLE = "bench_raw_entries"
PAYLOAD = {"offer": "retention-discount", "score": 0.8312, "model": "churn-v3", "rank": 2}


def _timed(work: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def _raw_rows(count: int, start: int) -> list[dict[str, Any]]:
    payload = json.dumps(PAYLOAD)
    return [
        {
            "seq": start + i,
            "recorded_at": "2026-11-23T08:00:00.000000Z",
            "actor": "bench",
            "kind": "decision.made",
            "subject": f"cust_{i}",
            "payload": payload,
            "prev_hash": "0" * 64,
            "hash": uuid.uuid4().hex * 2,
            "seal": "0" * 64,
        }
        for i in range(count)
    ]


def _raw_insert(store: Store, rows: list[dict[str, Any]], per_commit: int) -> None:
    insert = text(
        f"INSERT INTO {RAW_TABLE} (seq, recorded_at, actor, kind, subject, payload, prev_hash, "
        "hash, seal) VALUES (:seq, :recorded_at, :actor, :kind, :subject, :payload, :prev_hash, "
        ":hash, :seal)"
    )
    for start in range(0, len(rows), per_commit):
        with store.engine.begin() as connection:
            connection.execute(insert, rows[start : start + per_commit])


def _ledger_threads(ledger: Ledger, count: int, threads: int) -> None:
    per_thread = count // threads

    def work(writer: int) -> None:
        for i in range(per_thread):
            ledger.append("decision.made", actor=f"t{writer}", subject=f"cust_{i}", payload=PAYLOAD)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def measure(workspace: Workspace, entries: int) -> dict[str, float]:
    """Rates per second on the workspace's store; anchors first, then the ledger."""
    with Store.open(workspace) as store:
        with store.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {RAW_TABLE}"))
            connection.execute(
                text(
                    f"CREATE TABLE {RAW_TABLE} (seq BIGINT PRIMARY KEY, recorded_at VARCHAR(32), "
                    "actor VARCHAR(200), kind VARCHAR(100), subject VARCHAR(200), payload TEXT, "
                    "prev_hash VARCHAR(64), hash VARCHAR(64) UNIQUE, seal VARCHAR(64))"
                )
            )
        rows = _raw_rows(entries * 2, 0)
        rates = {
            "raw_per_row": _timed(lambda: _raw_insert(store, rows[:entries], 1), entries),
            "raw_batched": _timed(lambda: _raw_insert(store, rows[entries:], BATCH), entries),
        }
        ledger = Ledger.open(workspace, store)

        def single() -> None:
            for i in range(entries):
                ledger.append("decision.made", actor="t", subject=f"cust_{i}", payload=PAYLOAD)

        def many() -> None:
            for start in range(0, entries, BATCH):
                ledger.append_many(
                    {"kind": "decision.made", "actor": "b", "subject": f"c{i}", "payload": PAYLOAD}
                    for i in range(start, min(start + BATCH, entries))
                )

        rates["ledger_1_thread"] = _timed(single, entries)
        rates["ledger_8_threads"] = _timed(
            lambda: _ledger_threads(ledger, entries, THREADS), entries
        )
        rates["ledger_append_many"] = _timed(many, entries)
        total = ledger.count()
        result: dict[str, Any] = {}
        rates["ledger_verify"] = _timed(lambda: result.update(ok=ledger.verify().ok), total)
        if not result["ok"]:
            raise SystemExit("the ledger did not verify after the benchmark: this is a bug")
        with store.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {RAW_TABLE}"))
        return rates


def _postgres_workspace(root: Path, url: str) -> tuple[Workspace, str] | None:
    try:
        import psycopg

        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            pass
    except Exception as exc:  # noqa: BLE001 - report and skip the backend
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    schema = f"aimsight_bench_{uuid.uuid4().hex[:8]}"
    Workspace.create(root)
    os.environ["AIMSIGHT__STORE__DATABASE_URL"] = url
    os.environ["AIMSIGHT__STORE__SCHEMA_NAME"] = schema
    return Workspace.open(root), schema


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=4000, help="entries per measurement")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("AIMSIGHT")]:
        del os.environ[name]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        results["sqlite"] = measure(Workspace.create(Path(scratch) / "sqlite"), args.entries)
        if not args.no_postgres:
            found = _postgres_workspace(Path(scratch) / "pg", args.postgres)
            if found:
                workspace, schema = found
                try:
                    results["postgresql"] = measure(workspace, args.entries)
                finally:
                    _drop_schema(args.postgres, schema)
    if args.json:
        print(json.dumps({"entries": args.entries, "rates_per_second": results}, indent=2))
        return
    console = Console()
    for backend, rates in results.items():
        table = Table(title=f"{backend}: {args.entries:,} entries per measurement")
        table.add_column("what")
        table.add_column("per second", justify="right")
        table.add_column("vs raw per-row", justify="right")
        table.add_column("vs raw batched", justify="right")
        for name, rate in rates.items():
            table.add_row(
                name,
                f"{rate:,.0f}",
                f"{rate / rates['raw_per_row']:.2f}x",
                f"{rate / rates['raw_batched']:.2f}x",
            )
        console.print(table)


if __name__ == "__main__":
    main()
