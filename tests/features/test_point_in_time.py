"""No leakage: features as of T are a function of the rows before T and nothing else.

Hypothesis draws event histories over every dataset the shipped features read, and an as-of
time T. Features as of T must come out the same from the full history, from the history cut
at T (every row at or after T removed), and from the history with every row at or after T
changed arbitrarily (values, links, times moved later) and more rows added after T.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories.features import BASE, TIME_COLUMN, make_engine

HOURS = 24 * 500
hours = st.integers(0, HOURS)
plans = st.sampled_from(["basic", "standard", "premium", None])
countries = st.sampled_from(["GB", "IE", "FR", None])
births = st.none() | st.dates(date(1940, 1, 1), date(2008, 12, 31))
kinds = st.sampled_from(["payment", "payment", "failed", "refund"])
amounts = st.sampled_from([0.0, 7.99, 12.5, 19.99])
intents = st.sampled_from(["cancel", "billing", "technical"])
sentiments = st.sampled_from(["negative", "neutral", "positive"])
web_kinds = st.sampled_from(["page_view", "login", "purchase"])
PEOPLE = 3
Draw = Callable[..., Any]
"""Hypothesis' ``draw`` (from ``@composite`` or ``st.data()``)."""


def _at(hour: int) -> datetime:
    return BASE + timedelta(hours=hour)


def _customers() -> dict[str, list[str]]:
    return {
        f"cus_{i}": [
            f"crm.customers:K{i}",
            f"billing.accounts:A{i}a",
            f"billing.accounts:A{i}b",
            f"web.events:anon{i}",
        ]
        for i in range(PEOPLE)
    }


EMAILS = {f"p{i}@example.com": f"cus_{i}" for i in range(PEOPLE)}
people = st.integers(0, PEOPLE - 1)


def _crm(draw: Draw, hour: int) -> dict[str, Any]:
    return {
        "customer_id": f"K{draw(people)}",
        "email": f"p{draw(people)}@example.com",
        "country": draw(countries),
        "birth_date": draw(births),
        "plan": draw(plans),
        "signup_at": _at(draw(hours)),
        "updated_at": _at(hour),
    }


def _account(draw: Draw, hour: int) -> dict[str, Any]:
    return {
        "account_id": f"A{draw(people)}{draw(st.sampled_from('ab'))}",
        "plan": draw(plans),
        "country": draw(countries),
        "opened_at": _at(hour),
    }


def _transaction(draw: Draw, hour: int) -> dict[str, Any]:
    return {
        "transaction_id": f"t{draw(st.integers(0, 10**6))}",
        "account_id": f"A{draw(people)}{draw(st.sampled_from('ab'))}",
        "occurred_at": _at(hour),
        "amount": draw(amounts),
        "type": draw(kinds),
    }


def _ticket(draw: Draw, hour: int) -> dict[str, Any]:
    return {
        "ticket_id": f"k{draw(st.integers(0, 10**6))}",
        "customer_ref": draw(st.none() | st.just(f"K{draw(people)}")),
        "email": draw(st.none() | st.just(f"p{draw(people)}@example.com")),
        "created_at": _at(hour),
        "intent": draw(intents),
        "sentiment": draw(sentiments),
    }


def _event(draw: Draw, hour: int) -> dict[str, Any]:
    return {
        "event_id": f"e{draw(st.integers(0, 10**6))}",
        "anonymous_id": f"anon{draw(people)}",
        "type": draw(web_kinds),
        "occurred_at": _at(hour),
    }


MAKERS = {
    "crm.customers": (_crm, 4),
    "billing.accounts": (_account, 4),
    "billing.transactions": (_transaction, 25),
    "support.tickets": (_ticket, 6),
    "web.events": (_event, 15),
}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Rows of every dataset, at whole hours over 500 days (so many fall exactly on T)."""
    return {
        dataset: [make(draw, draw(hours)) for _ in range(draw(st.integers(0, most)))]
        for dataset, (make, most) in MAKERS.items()
    }


def _before(rows: dict[str, list[dict[str, Any]]], cut: datetime) -> dict[str, Any]:
    return {
        dataset: [row for row in listed if row[TIME_COLUMN[dataset]] < cut]
        for dataset, listed in rows.items()
    }


def _rewritten_after(
    draw: Draw, rows: dict[str, list[dict[str, Any]]], cut: datetime, cut_hour: int
) -> dict[str, Any]:
    """Every row at or after ``cut`` replaced by another drawn row (any values and links,
    a time at or after ``cut``), and a few new rows after ``cut``."""
    later = st.integers(cut_hour, HOURS + 1_000)
    changed: dict[str, list[dict[str, Any]]] = {}
    for dataset, listed in rows.items():
        make, _ = MAKERS[dataset]
        kept = [row for row in listed if row[TIME_COLUMN[dataset]] < cut]
        redrawn = [make(draw, draw(later)) for row in listed if row[TIME_COLUMN[dataset]] >= cut]
        added = [make(draw, draw(later)) for _ in range(draw(st.integers(0, 3)))]
        changed[dataset] = kept + redrawn + added
    return changed


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=histories(), cut_hour=hours, data=st.data())
def test_features_as_of_t_ignore_everything_at_or_after_t(
    rows: dict[str, list[dict[str, Any]]], cut_hour: int, data: st.DataObject
) -> None:
    cut = _at(cut_hour)
    customers = _customers()
    full = make_engine(rows, customers, emails=EMAILS).compute(cut)
    cut_off = make_engine(_before(rows, cut), customers, emails=EMAILS).compute(cut)
    rewritten = _rewritten_after(data.draw, rows, cut, cut_hour)
    changed = make_engine(rewritten, customers, emails=EMAILS).compute(cut)
    pd.testing.assert_frame_equal(full, cut_off)
    pd.testing.assert_frame_equal(full, changed)
    # Wider windows hold at least what narrower ones do.
    assert (full["payments_365d"] >= full["payments_90d"]).all()
    assert (full["failed_payments_lifetime"] >= full["failed_payments_365d"]).all()
    assert (full["tickets_365d"] >= full["tickets_90d"]).all()
    assert (full["tenure_days"] > 0).all()
