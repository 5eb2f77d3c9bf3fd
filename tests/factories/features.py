"""Hand-built event histories for feature tests.

Two scales. :func:`make_engine` puts small tables straight into DuckDB as the lake views the
feature engine reads, with identity links given by hand: exact, fast, for the engine's rules
and for Hypothesis. :func:`write_activity` writes payments, tickets and web events for the
40-person company of ``tests/factories/identity.py``, to ingest into a real workspace.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from aimsight.features import FeatureDefinitions, shipped_definitions
from aimsight.features._engine import FeatureEngine
from tests.factories.identity import BILLED, email_of, write_csv

BASE = datetime(2024, 1, 1, tzinfo=UTC)
TIME = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "crm.customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("email", pa.string()),
            ("country", pa.string()),
            ("birth_date", pa.date32()),
            ("plan", pa.string()),
            ("signup_at", TIME),
            ("updated_at", TIME),
        ]
    ),
    "billing.accounts": pa.schema(
        [
            ("account_id", pa.string()),
            ("plan", pa.string()),
            ("country", pa.string()),
            ("opened_at", TIME),
        ]
    ),
    "billing.transactions": pa.schema(
        [
            ("transaction_id", pa.string()),
            ("account_id", pa.string()),
            ("occurred_at", TIME),
            ("amount", pa.float64()),
            ("type", pa.string()),
        ]
    ),
    "support.tickets": pa.schema(
        [
            ("ticket_id", pa.string()),
            ("customer_ref", pa.string()),
            ("email", pa.string()),
            ("created_at", TIME),
            ("intent", pa.string()),
            ("sentiment", pa.string()),
        ]
    ),
    "web.events": pa.schema(
        [
            ("event_id", pa.string()),
            ("anonymous_id", pa.string()),
            ("type", pa.string()),
            ("occurred_at", TIME),
        ]
    ),
}
TIME_COLUMN = {
    "crm.customers": "updated_at",
    "billing.accounts": "opened_at",
    "billing.transactions": "occurred_at",
    "support.tickets": "created_at",
    "web.events": "occurred_at",
}

Rows = Mapping[str, Sequence[Mapping[str, Any]]]


def at(days: float) -> datetime:
    """``days`` after 2024-01-01 UTC."""
    return BASE + timedelta(days=days)


def table(dataset: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows of ``dataset`` in its schema (missing values null)."""
    schema = SCHEMAS[dataset]
    listed = list(rows)
    return pa.table(
        {name: [row.get(name) for row in listed] for name in schema.names}, schema=schema
    )


def connect(rows: Rows) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per dataset, as ``IngestService.lake()`` gives
    (datasets not in ``rows`` are empty)."""
    connection = duckdb.connect()
    for dataset in SCHEMAS:
        schema, _, view = dataset.partition(".")
        name = f"raw_{schema}_{view}"
        connection.register(name, table(dataset, rows.get(dataset, [])))
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        connection.execute(f'CREATE VIEW "{schema}"."{view}" AS SELECT * FROM "{name}"')
    return connection


def record_links(customers: Mapping[str, Iterable[str]]) -> pa.Table:
    """Identity's record links from ``{customer_id: ["crm.customers:K1", ...]}``."""
    keys = sorted((key, customer) for customer, records in customers.items() for key in records)
    return pa.table(
        {
            "unique_id": [key for key, _ in keys],
            "dataset": [key.partition(":")[0] for key, _ in keys],
            "record_id": [key.partition(":")[2] for key, _ in keys],
            "customer_id": [customer for _, customer in keys],
        }
    )


def email_links(emails: Mapping[str, str]) -> pa.Table:
    """Identity's e-mail links from ``{address: customer_id}``."""
    return pa.table(
        {"value": list(emails), "customer_id": list(emails.values())},
        schema=pa.schema([("value", pa.string()), ("customer_id", pa.string())]),
    )


def make_engine(
    rows: Rows,
    customers: Mapping[str, Iterable[str]],
    *,
    emails: Mapping[str, str] | None = None,
    definitions: FeatureDefinitions | None = None,
) -> FeatureEngine:
    """A feature engine over hand-built tables and links (the shipped definitions by
    default)."""
    return FeatureEngine(
        connect(rows),
        definitions or _shipped(),
        record_links=record_links(customers),
        identifier_links={"email": email_links(emails or {})},
    )


@functools.cache
def _shipped() -> FeatureDefinitions:
    return shipped_definitions()


def person(index: int) -> dict[str, list[str]]:
    """The record keys of hand-built person ``index``: CRM ``K<i>``, account ``A<i>`` and
    cookie ``anon<i>``, all one customer ``cus_<i>``."""
    return {
        f"cus_{index}": [
            f"crm.customers:K{index}",
            f"billing.accounts:A{index}",
            f"web.events:anon{index}",
        ]
    }


def monthly_payments(
    account: str, first: float, last: float, *, every: float = 30
) -> list[dict[str, Any]]:
    """Successful payments of 9.99 on ``account`` every ``every`` days from day ``first``
    to day ``last`` (inclusive), as rows of billing.transactions."""
    rows = []
    day = first
    while day <= last:
        rows.append(
            {
                "transaction_id": f"{account}-{day:g}",
                "account_id": account,
                "occurred_at": at(day),
                "amount": 9.99,
                "type": "payment",
            }
        )
        day += every
    return rows


# -- a real workspace -------------------------------------------------------------------------

PAYING = 20  # people 0-19 keep paying; 20-29 stop after their May payment (churners)
FIRST_PAYMENT = date(2026, 2, 3)


def _month(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, start.day)


def write_activity(folder: Path, *, until: date, since: date | None = None) -> dict[str, Path]:
    """Payments, tickets and web events of the identity factory's company from ``since``
    (default: the first payment) to ``until`` (exclusive), as CSV files to ingest.

    Billed people (0-29) pay on the 3rd of each month from February 2026; people 20-29 stop
    after May. Every fifth billed person has a failed charge each March; person 1 a refund.
    People with a CRM id open a ticket in April (cancel and negative for the churners) and
    browse on the 10th of each month until they stop.
    """
    folder.mkdir(parents=True, exist_ok=True)
    start = since or FIRST_PAYMENT
    payments: list[list[str]] = []
    tickets: list[list[str]] = []
    events: list[list[str]] = []
    for months in range(0, 24):
        day = _month(FIRST_PAYMENT, months)
        for i in range(BILLED):
            stopped = i >= PAYING and day > date(2026, 5, 31)
            for kind, when, amount in _charges(i, day):
                if start <= when < until and not stopped:
                    stamp = f"{when.isoformat()}T08:00:00Z"
                    tx = f"TX{i:02d}{when.strftime('%Y%m%d')}{kind[0]}"
                    payments.append([tx, f"A{3001 + i}", stamp, amount, "GBP", kind])
            browse = _month(date(2026, 2, 10), months)
            if start <= browse < until and not stopped:
                events.append(
                    [
                        f"ev-{i}-{browse.isoformat()}",
                        f"anon-{1001 + i}",
                        f"C{1001 + i}",
                        "login" if months % 2 == 0 else "page_view",
                        f"{browse.isoformat()}T12:00:00Z",
                        "web",
                    ]
                )
    for i in range(BILLED):
        when = date(2026, 4, 15)
        if start <= when < until:
            churner = i >= PAYING
            tickets.append(
                [
                    f"T{i:03d}",
                    f"C{1001 + i}" if i % 2 == 0 else "",
                    email_of(i),
                    f"{when.isoformat()}T09:30:00Z",
                    "email",
                    "Cancel my plan" if churner else "A question",
                    "Please cancel." if churner else "How do I change my password?",
                    "cancel" if churner else "account",
                    "negative" if churner else "neutral",
                ]
            )
    paths = {
        "transactions": folder / "billing_transactions.csv",
        "tickets": folder / "support_tickets.csv",
        "events": folder / "web_events.csv",
    }
    write_csv(
        paths["transactions"],
        "transaction_id,account_id,occurred_at,amount,currency,type",
        payments,
    )
    write_csv(
        paths["tickets"],
        "ticket_id,customer_ref,email,created_at,channel,subject,body,intent,sentiment",
        tickets,
    )
    write_csv(paths["events"], "event_id,anonymous_id,user_id,type,occurred_at,platform", events)
    return paths


def _charges(i: int, day: date) -> list[tuple[str, date, str]]:
    charges = [("payment", day, "7.99")]
    if i % 5 == 0 and day.month == 3:
        charges.insert(0, ("failed", day - timedelta(days=1), "7.99"))
    if i == 1 and day == FIRST_PAYMENT:
        charges.append(("refund", day + timedelta(days=5), "7.99"))
    return charges
