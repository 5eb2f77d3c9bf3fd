"""Validated ingest into the lake beside DuckDB's own CSV → Parquet copy, in the same run.

Anchors:
  DuckDB  COPY (SELECT * FROM read_csv(file)) TO 'x.parquet'   the raw conversion, no checks
  FastAPI a bare POST route parsing the same batch body        HTTP and JSON cost, no durability

Measured:
  aimsight ingest of the same CSV (billing.transactions contract: types, currencies, UTC
  timestamps, uniqueness, referential integrity against billing.accounts, timeliness, volume,
  atomic lake write, manifest commit, ledger entry)
  HTTP collector /v1/collect/batch with 100 events per request (each request durable in the
  store before its 202)

Run:  .venv/bin/python bench/ingest.py [--rows 1000000] [--requests 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from aimsight.api import create_app
from aimsight.core import Workspace
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store

ACCOUNTS = 50_000
EVENTS_PER_REQUEST = 100


def _write_accounts(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"BA{2_000_000 + i}" for i in range(ACCOUNTS)]
    countries = np.array(["GB", "DE", "FR", "NL", "US"])[rng.integers(0, 5, ACCOUNTS)]
    currency = {"GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "US": "USD"}
    table = pa.table(
        {
            "account_id": ids,
            "holder_name": [f"Holder {i}" for i in range(ACCOUNTS)],
            "email": [f"holder{i}@example.com" for i in range(ACCOUNTS)],
            "postcode": [f"{10000 + i % 89999}" for i in range(ACCOUNTS)],
            "country": countries,
            "currency": [currency[c] for c in countries],
            "plan": np.array(["basic", "standard", "premium"])[rng.integers(0, 3, ACCOUNTS)],
            "opened_at": ["2023-01-19T21:00:36Z"] * ACCOUNTS,
            "crm_customer_ref": [f"C{1_000_000 + i}" for i in range(ACCOUNTS)],
        }
    )
    pacsv.write_csv(table, path)


def _write_transactions(path: Path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    seconds = rng.integers(0, 300 * 86_400, rows)
    occurred = np.datetime_as_string(start + seconds.astype("timedelta64[s]")).astype(object) + "Z"
    table = pa.table(
        {
            "transaction_id": [f"TX{i:09d}" for i in range(rows)],
            "account_id": [f"BA{2_000_000 + a}" for a in rng.integers(0, ACCOUNTS, rows)],
            "occurred_at": occurred,
            "amount": np.round(rng.choice([9.99, 14.99, 19.99], rows), 2).astype(str),
            "currency": np.array(["EUR", "GBP", "USD"])[rng.integers(0, 3, rows)],
            "type": np.array(["payment", "refund", "failed"])[
                rng.choice(3, rows, p=[0.9, 0.03, 0.07])
            ],
        }
    )
    pacsv.write_csv(table, path)


def _duckdb_copy(csv_path: Path, out: Path) -> float:
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{out}' (FORMAT parquet)")
    connection.close()
    return time.perf_counter() - started


def _ingest(workspace: Workspace, csv_path: Path, accounts: Path) -> tuple[float, int, int]:
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        service = IngestService(workspace, store, ledger)
        service.ingest_path(accounts, source="billing", entity="accounts", actor="bench")
        started = time.perf_counter()
        [result] = service.ingest_path(
            csv_path, source="billing", entity="transactions", actor="bench"
        )
        seconds = time.perf_counter() - started
        return seconds, result.rows_accepted, result.rows_quarantined


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _events(request: int) -> dict[str, Any]:
    return {
        "batch": [
            {
                "type": "track",
                "messageId": f"m-{request}-{i}",
                "anonymousId": f"anon-{request % 997}",
                "event": "page_view",
                "properties": {"path": "/plans", "plan": "premium"},
                "timestamp": "2026-11-23T08:00:00Z",
            }
            for i in range(EVENTS_PER_REQUEST)
        ]
    }


def _post_batches(base: str, path: str, requests: int, key: str | None) -> float:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    bodies = [_events(r) for r in range(requests)]
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post(path, json=body)
            if response.status_code != 202:
                raise SystemExit(f"{path} answered {response.status_code}: {response.text}")
        return requests * EVENTS_PER_REQUEST / (time.perf_counter() - started)


class _Message(BaseModel):
    type: str
    messageId: str  # the Segment field names
    anonymousId: str | None = None
    event: str | None = None
    properties: dict[str, Any] = {}
    timestamp: str | None = None


class _Batch(BaseModel):
    batch: list[_Message]


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/batch", status_code=202)
    def batch(body: _Batch) -> dict[str, int]:
        return {"accepted": len(body.batch), "duplicates": 0}

    return app


def _collector(workspace: Workspace, requests: int) -> tuple[float, float]:
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        _, key = ApiKeyService(store, audit=ledger).create(
            "bench-service", Role.SERVICE, created_by="bench"
        )
    with _serving(_bare_app()) as base:
        bare = _post_batches(base, "/batch", requests, None)
    with _serving(create_app(workspace)) as base:
        ours = _post_batches(base, "/v1/collect/batch", requests, key)
    return ours, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="aimsight-bench-") as tmp:
        root = Path(tmp)
        accounts, transactions = root / "accounts.csv", root / "transactions.csv"
        _write_accounts(accounts, args.seed)
        _write_transactions(transactions, args.rows, args.seed)
        csv_mb = round(transactions.stat().st_size / 1e6, 1)
        duck_seconds = _duckdb_copy(transactions, root / "duck.parquet")
        workspace = Workspace.create(root / "ws")
        ContractRegistry.for_workspace(workspace).install_defaults()
        ours_seconds, accepted, quarantined = _ingest(workspace, transactions, accounts)
        collector, bare = _collector(workspace, args.requests)
    results = {
        "rows": args.rows,
        "csv_mb": csv_mb,
        "duckdb_copy_rows_per_s": round(args.rows / duck_seconds),
        "aimsight_ingest_rows_per_s": round(args.rows / ours_seconds),
        "ingest_ratio_vs_duckdb": round(duck_seconds / ours_seconds, 3),
        "rows_accepted": accepted,
        "rows_quarantined": quarantined,
        "bare_fastapi_events_per_s": round(bare),
        "collector_events_per_s": round(collector),
        "collector_ratio_vs_bare": round(collector / bare, 3),
        "events_per_request": EVENTS_PER_REQUEST,
        "requests": args.requests,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    table = Table(title=f"ingest: {args.rows:,}-row CSV, collector batches of {EVENTS_PER_REQUEST}")
    table.add_column("what")
    table.add_column("per second", justify="right")
    table.add_column("ratio to anchor", justify="right")
    table.add_row("DuckDB COPY read_csv → Parquet (anchor)", f"{args.rows / duck_seconds:,.0f}", "")
    table.add_row(
        "aimsight validated ingest",
        f"{args.rows / ours_seconds:,.0f}",
        f"{duck_seconds / ours_seconds:.2f}x",
    )
    table.add_row("bare FastAPI POST, events (anchor)", f"{bare:,.0f}", "")
    table.add_row(
        "collector /v1/collect/batch, events", f"{collector:,.0f}", f"{collector / bare:.2f}x"
    )
    console.print(table)
    console.print(f"accepted {accepted:,}, quarantined {quarantined:,}")
    console.print(f"command: .venv/bin/python bench/ingest.py --rows {args.rows}")


if __name__ == "__main__":
    main()
