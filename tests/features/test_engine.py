"""Features and labels on hand-built histories: the numbers a data engineer would check."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from aimsight.core.errors import InvalidInput
from aimsight.features import FeatureDefinitions, LabelSpec
from aimsight.features._definitions import shipped_definitions_text
from tests.factories.features import at, make_engine, monthly_payments, person

T = at(200)
SECOND = timedelta(seconds=1)


def _crm(key: str, updated: float, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"customer_id": key, "updated_at": at(updated), "signup_at": at(updated)}
    row.update(values)
    return row


def _account(key: str, opened: float, **values: Any) -> dict[str, Any]:
    return {"account_id": key, "opened_at": at(opened), **values}


def _tx(account: str, moment: Any, kind: str = "payment", amount: float = 9.99) -> dict[str, Any]:
    return {
        "transaction_id": f"{account}-{moment.isoformat()}-{kind}",
        "account_id": account,
        "occurred_at": moment,
        "amount": amount,
        "type": kind,
    }


def _event(anon: str, moment: Any, kind: str = "page_view") -> dict[str, Any]:
    return {
        "event_id": f"{anon}-{moment.isoformat()}",
        "anonymous_id": anon,
        "type": kind,
        "occurred_at": moment,
    }


def _row(frame: pd.DataFrame, customer: str) -> pd.Series:
    found = frame[frame["customer_id"] == customer]
    assert len(found) == 1, f"{customer} not in {list(frame['customer_id'])}"
    return found.iloc[0]


def _definitions(**changes: Any) -> FeatureDefinitions:
    data = yaml.safe_load(shipped_definitions_text())
    data.update(changes)
    return FeatureDefinitions.from_dict(data, origin="test.yaml")


def test_windows_count_rows_from_their_start_up_to_just_before_the_as_of() -> None:
    rows = {
        "billing.accounts": [_account("A1", 0)],
        "billing.transactions": [
            _tx("A1", T - timedelta(days=90) - SECOND),  # just outside 90 days
            _tx("A1", T - timedelta(days=90)),  # first moment inside
            _tx("A1", T - timedelta(days=10), "failed"),
            _tx("A1", T - timedelta(microseconds=1)),  # last moment before T
            _tx("A1", T),  # at T: an outcome, not evidence
            _tx("A1", T + timedelta(days=3)),
        ],
    }
    frame = make_engine(rows, person(1)).compute(T)
    row = _row(frame, "cus_1")
    assert row["payments_90d"] == 2
    assert row["payments_365d"] == 3
    assert row["failed_payments_90d"] == 1
    assert row["amount_paid_365d"] == pytest.approx(3 * 9.99)
    assert row["days_since_last_payment"] == pytest.approx(1e-6 / 86_400)
    assert row["as_of"] == pd.Timestamp(T)


def test_a_customer_without_events_has_zero_counts_and_null_recency() -> None:
    rows = {"billing.accounts": [_account("A1", 0)]}
    row = _row(make_engine(rows, person(1)).compute(T), "cus_1")
    assert row["payments_90d"] == 0
    assert row["amount_paid_365d"] == 0
    assert row["tickets_90d"] == 0
    assert math.isnan(row["days_since_last_payment"])
    assert math.isnan(row["average_payment_365d"])
    assert math.isnan(row["web_activity_trend"])  # no earlier activity: no trend
    assert row["negative_ticket_share_90d"] == 0  # its declared default
    assert row["plan"] is None
    assert row["age_band"] is None


def test_the_population_is_customers_with_a_crm_or_billing_record_before_the_as_of() -> None:
    customers = {**person(1), **person(2), **person(3), **person(4)}
    rows = {
        "crm.customers": [_crm("K1", 10)],
        "billing.accounts": [_account("A2", 20), _account("A3", 200)],  # A3 opens at T
        "web.events": [_event("anon4", at(50))],  # a visitor, never a customer
    }
    frame = make_engine(rows, customers).compute(T)
    assert list(frame["customer_id"]) == ["cus_1", "cus_2"]
    assert frame["payments_90d"].dtype == np.int64
    assert frame["days_since_last_payment"].dtype == np.float64


def test_only_the_customers_asked_for_are_computed() -> None:
    customers = {**person(1), **person(2)}
    rows = {"billing.accounts": [_account("A1", 0), _account("A2", 0)]}
    engine = make_engine(rows, customers)
    assert list(engine.compute(T, ["cus_2", "cus_9"])["customer_id"]) == ["cus_2"]
    nobody = engine.compute(T, [])
    assert nobody.empty
    assert list(nobody.columns) == ["customer_id", "as_of", *engine.definitions.names]


def test_attributes_take_the_value_they_had_at_the_as_of() -> None:
    rows = {
        "crm.customers": [
            _crm("K1", 10, country="GB", plan="basic"),
            _crm("K1", 150, country="IE", plan="premium"),
        ],
        "billing.accounts": [_account("A1", 5)],  # no plan: the CRM's is the fallback
    }
    engine = make_engine(rows, person(1))
    assert _row(engine.compute(at(100)), "cus_1")[["country", "plan"]].tolist() == ["GB", "basic"]
    assert _row(engine.compute(at(150)), "cus_1")["country"] == "GB"  # the change is at T
    later = _row(engine.compute(at(151)), "cus_1")
    assert later[["country", "plan"]].tolist() == ["IE", "premium"]


def test_the_account_plan_wins_over_the_crm_plan() -> None:
    rows = {
        "crm.customers": [_crm("K1", 10, plan="basic")],
        "billing.accounts": [_account("A1", 5, plan="standard")],
    }
    assert _row(make_engine(rows, person(1)).compute(T), "cus_1")["plan"] == "standard"


def test_age_band_turns_on_the_birthday() -> None:
    rows = {"crm.customers": [_crm("K1", 10, birth_date=date(1999, 6, 15))]}
    engine = make_engine(rows, person(1))
    day_before = pd.Timestamp("2024-06-14", tz="UTC").to_pydatetime()
    birthday = pd.Timestamp("2024-06-15", tz="UTC").to_pydatetime()
    assert _row(engine.compute(day_before), "cus_1")["age_band"] == "under 25"
    assert _row(engine.compute(birthday), "cus_1")["age_band"] == "25-34"


def test_tenure_counts_from_the_signup_of_a_registration_known_at_the_as_of() -> None:
    rows = {"crm.customers": [_crm("K1", 100, signup_at=at(40))]}
    engine = make_engine(rows, person(1))
    assert _row(engine.compute(at(130)), "cus_1")["tenure_days"] == pytest.approx(90)
    assert engine.compute(at(90)).empty  # the registration was only recorded on day 100


def test_web_trend_compares_the_last_30_days_with_the_90_before() -> None:
    events = [_event("anon1", T - timedelta(days=d)) for d in (1, 29)]  # last 30 days
    events += [_event("anon1", T - timedelta(days=d)) for d in (31, 60, 119)]  # 90 before
    events += [_event("anon1", T - timedelta(days=121), "login")]  # older still
    rows = {"crm.customers": [_crm("K1", 0)], "web.events": events}
    row = _row(make_engine(rows, person(1)).compute(T), "cus_1")
    assert row["web_events_30d"] == 2
    assert row["web_events_prior_90d"] == 3
    assert row["web_activity_trend"] == pytest.approx(3 * 2 / 3)
    assert row["logins_30d"] == 0
    assert row["days_since_last_web_event"] == pytest.approx(1)


def test_tickets_join_by_crm_reference_else_by_email() -> None:
    customers = {**person(1), **person(2)}
    tickets: list[dict[str, Any]] = [
        {
            "ticket_id": "t1",
            "customer_ref": "K1",
            "email": "two@example.com",
            "created_at": T - timedelta(days=5),
            "intent": "cancel",
            "sentiment": "negative",
        },
        {
            "ticket_id": "t2",
            "customer_ref": None,
            "email": "two@example.com",
            "created_at": T - timedelta(days=5),
            "intent": "billing",
            "sentiment": "neutral",
        },
        {
            "ticket_id": "t3",
            "customer_ref": None,
            "email": "stranger@example.com",
            "created_at": T - timedelta(days=5),
            "intent": "cancel",
            "sentiment": "negative",
        },
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        "crm.customers": [_crm("K1", 0), _crm("K2", 0)],
        "support.tickets": tickets,
    }
    frame = make_engine(rows, customers, emails={"two@example.com": "cus_2"}).compute(T)
    one, two = _row(frame, "cus_1"), _row(frame, "cus_2")
    assert (one["tickets_90d"], one["cancel_tickets_90d"], one["negative_ticket_share_90d"]) == (
        1,
        1,
        1.0,
    )
    assert (two["tickets_90d"], two["cancel_tickets_90d"], two["negative_ticket_share_90d"]) == (
        1,
        0,
        0.0,
    )


def test_a_feature_naming_a_missing_column_fails_naming_the_feature_and_column() -> None:
    data = yaml.safe_load(shipped_definitions_text())
    data["features"].append(
        {
            "name": "colour_count",
            "description": "x",
            "type": "integer",
            "kind": "aggregate",
            "source": "crm.customers",
            "function": "distinct_count",
            "column": "colour",
        }
    )
    definitions = FeatureDefinitions.from_dict(data, origin="test.yaml")
    with pytest.raises(InvalidInput) as caught:
        make_engine({}, person(1), definitions=definitions)
    assert "feature 'colour_count' reads column 'colour' of crm.customers" in str(caught.value)
    assert caught.value.field == "colour_count"


def test_a_feature_summing_text_fails_naming_the_column_type() -> None:
    data = yaml.safe_load(shipped_definitions_text())
    data["features"].append(
        {
            "name": "type_total",
            "description": "x",
            "type": "number",
            "kind": "aggregate",
            "source": "billing.transactions",
            "function": "sum",
            "column": "type",
        }
    )
    definitions = FeatureDefinitions.from_dict(data, origin="test.yaml")
    with pytest.raises(InvalidInput, match="'type_total' needs a number in column 'type'"):
        make_engine({}, person(1), definitions=definitions)


def test_a_feature_naming_a_missing_dataset_fails_naming_the_feature() -> None:
    data = yaml.safe_load(shipped_definitions_text())
    data["sources"]["shop.orders"] = {
        "time": "ordered_at",
        "links": [{"column": "account_id", "record": "billing.accounts"}],
    }
    data["features"].append(
        {
            "name": "orders_30d",
            "description": "x",
            "type": "integer",
            "kind": "aggregate",
            "source": "shop.orders",
            "function": "count",
            "window": "30d",
        }
    )
    definitions = FeatureDefinitions.from_dict(data, origin="test.yaml")
    with pytest.raises(InvalidInput, match="feature 'orders_30d' reads the dataset 'shop.orders'"):
        make_engine({}, person(1), definitions=definitions)


def test_filter_values_are_data_not_sql() -> None:
    data = yaml.safe_load(shipped_definitions_text())
    data["features"].append(
        {
            "name": "odd",
            "description": "x",
            "type": "integer",
            "kind": "aggregate",
            "source": "web.events",
            "function": "count",
            "where": {"type": "x' OR '1'='1"},
        }
    )
    definitions = FeatureDefinitions.from_dict(data, origin="test.yaml")
    rows = {"crm.customers": [_crm("K1", 0)], "web.events": [_event("anon1", at(10))]}
    row = _row(make_engine(rows, person(1), definitions=definitions).compute(T), "cus_1")
    assert row["odd"] == 0


# -- labels -----------------------------------------------------------------------------------


def _label_world() -> dict[str, Any]:
    day = 200.0  # T
    payments = (
        monthly_payments("A1", 20, day + 120)  # keeps paying
        + monthly_payments("A2", 10, day - 10)  # last pays 10 days before T
        + monthly_payments("A3", 10, day + 20)  # pays once more, then stops
        + monthly_payments("A4", 20, day - 60)  # lapsed before T: not active
        + monthly_payments("A5", 15, day - 5)  # only failed charges after T
        + [_tx("A5", at(day + 10), "failed"), _tx("A5", at(day + 40), "failed")]
    )
    return {
        "billing.accounts": [_account(f"A{i}", 0) for i in range(1, 6)],
        "billing.transactions": payments,
        "web.events": [
            _event("anon1", T, "purchase"),
            _event("anon2", T - SECOND, "purchase"),
            _event("anon3", T + timedelta(days=30), "purchase"),
        ],
    }


def _everyone() -> dict[str, list[str]]:
    customers: dict[str, list[str]] = {}
    for i in range(1, 6):
        customers.update(person(i))
    return customers


def test_churn_labels_the_active_customers_who_stop_paying() -> None:
    engine = make_engine(_label_world(), _everyone())
    labels = engine.labels(T, LabelSpec(kind="churn")).set_index("customer_id")
    assert list(labels.index) == ["cus_1", "cus_2", "cus_3", "cus_5"]  # cus_4 had lapsed
    assert labels["churned"].to_dict() == {"cus_1": 0, "cus_2": 1, "cus_3": 0, "cus_5": 1}
    assert labels["event"].to_dict() == {"cus_1": 0, "cus_2": 1, "cus_3": 1, "cus_5": 1}
    durations = labels["duration_days"]
    assert durations["cus_1"] == 90  # censored at the window's end
    assert durations["cus_2"] == pytest.approx(-10 + 45)  # lapsed 45 days after paying
    assert durations["cus_3"] == pytest.approx(20 + 45)
    assert durations["cus_5"] == pytest.approx(-5 + 45)


def test_churn_windows_and_activity_are_configurable() -> None:
    engine = make_engine(_label_world(), _everyone())
    spec = LabelSpec(kind="churn", window_days=30, active_days=90)
    labels = engine.labels(T, spec).set_index("customer_id")
    assert "cus_4" in labels.index  # paid 60 days before T: active within 90 days
    assert labels.loc["cus_3", "churned"] == 0  # paid at T + 20, inside 30 days


def test_propensity_labels_an_event_in_the_window_from_the_as_of() -> None:
    engine = make_engine(_label_world(), _everyone())
    spec = LabelSpec(
        kind="propensity",
        source="web.events",
        where={"type": "purchase"},
        window_days=30,
        name="purchased",
    )
    labels = engine.labels(T, spec).set_index("customer_id")
    assert labels["purchased"].to_dict() == {
        "cus_1": 1,  # purchase at T: the window starts there
        "cus_2": 0,  # a second before T: evidence, not outcome
        "cus_3": 0,  # at T + 30 days: just outside
        "cus_4": 0,
        "cus_5": 0,
    }


def test_a_label_spec_is_declared_consistently() -> None:
    assert LabelSpec(kind="churn").active == 45
    assert LabelSpec(kind="propensity", source="web.events").target == "converted"
    with pytest.raises(ValueError, match="leave source and where out"):
        LabelSpec(kind="churn", source="web.events")
    with pytest.raises(ValueError, match="needs the source"):
        LabelSpec(kind="propensity")


def test_payments_lists_successful_payments_before_a_time() -> None:
    engine = make_engine(_label_world(), _everyone())
    payments = engine.payments(until=at(50))
    assert list(payments.columns) == ["customer_id", "date", "value"]
    assert set(payments["customer_id"]) == {f"cus_{i}" for i in range(1, 6)}
    assert len(payments) == 8  # two for A2, A3 and A5, one for A1 and A4; day 50 is out
    assert (payments["date"] < pd.Timestamp(at(50))).all()
    assert payments["value"].eq(9.99).all()
    assert engine.data_end("billing.transactions") == at(320)
    assert engine.latest_event() == at(320)


def test_a_definitions_set_without_payments_cannot_label_churn() -> None:
    engine = make_engine({}, person(1), definitions=_definitions(payments=None))
    with pytest.raises(InvalidInput, match="declares no payments"):
        engine.labels(T, LabelSpec(kind="churn"))


# -- scale --------------------------------------------------------------------------------------


def test_features_at_scale_match_a_plain_pandas_count() -> None:
    rng = np.random.default_rng(7)
    customers = 5_000
    rows_per = 40
    account = rng.integers(0, customers, customers * rows_per)
    day = rng.uniform(0, 400, account.size)
    kind = rng.choice(["payment", "failed", "refund"], account.size, p=[0.9, 0.07, 0.03])
    transactions = [
        {
            "transaction_id": f"t{i}",
            "account_id": f"A{a}",
            "occurred_at": at(d),
            "amount": 5.0,
            "type": k,
        }
        for i, (a, d, k) in enumerate(
            zip(account.tolist(), day.tolist(), kind.tolist(), strict=True)
        )
    ]
    links: dict[str, list[str]] = {}
    for i in range(customers):
        links.update(person(i))
    rows = {
        "billing.accounts": [_account(f"A{i}", 0) for i in range(customers)],
        "billing.transactions": transactions,
    }
    frame = make_engine(rows, links).compute(T).set_index("customer_id")
    cutoff = 200 - 90
    mask = (kind == "payment") & (day >= cutoff) & (day < 200)
    expected = pd.Series(np.bincount(account[mask], minlength=customers))
    expected.index = [f"cus_{i}" for i in range(customers)]
    assert len(frame) == customers
    assert frame["payments_90d"].sort_index().equals(expected.sort_index())
