"""Golden-record survivorship: rules, provenance, determinism, and the JSON-ready profiles."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.identity._golden import SURVIVORSHIP_RULES, build_profiles, profile_dicts

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TRUST = {"crm": 3, "billing": 2, "web": 1}
# first_name and email have match keys; city has none (compared on its display value).
ATTRIBUTES = ("first_name", "email", "city")
KEYED = ("first_name", "email")


@dataclass
class Record:
    """One input record; ``keys`` overrides a match key (``None`` = blanked)."""

    dataset: str
    record_id: str
    customer: str | None
    updated_at: datetime | None = None
    values: dict[str, str | None] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)
    trust: int | None = None

    @property
    def unique_id(self) -> str:
        return f"{self.dataset}:{self.record_id}"

    def key(self, attribute: str) -> str | None:
        if attribute in self.keys:
            return self.keys[attribute]
        value = self.values.get(attribute)
        return None if value is None else value.lower()

    def trust_level(self) -> int | None:
        return TRUST[self.dataset] if self.trust is None else self.trust


def load(connection: duckdb.DuckDBPyConnection, records: Sequence[Record]) -> None:
    """Create ``identity_records`` and ``identity_membership`` holding ``records``, in order."""
    display = ", ".join(f"{a} VARCHAR" for a in ATTRIBUTES)
    keys = ", ".join(f"m_{a} VARCHAR" for a in KEYED)
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE identity_records (unique_id VARCHAR, dataset VARCHAR, "
        f"record_id VARCHAR, trust INTEGER, updated_at TIMESTAMPTZ, {display}, {keys})"
    )
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE identity_membership (unique_id VARCHAR, customer_id VARCHAR)"
    )
    width = 5 + len(ATTRIBUTES) + len(KEYED)
    if not records:
        return
    connection.executemany(
        f"INSERT INTO identity_records VALUES ({', '.join('?' * width)})",
        [
            [
                r.unique_id,
                r.dataset,
                r.record_id,
                r.trust_level(),
                r.updated_at,
                *(r.values.get(a) for a in ATTRIBUTES),
                *(r.key(a) for a in KEYED),
            ]
            for r in records
        ],
    )
    members = [[r.unique_id, r.customer] for r in records if r.customer is not None]
    if members:
        connection.executemany("INSERT INTO identity_membership VALUES (?, ?)", members)


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        yield con


@pytest.fixture(scope="module")
def shared() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection for property tests (a new one costs ~50 ms); each load replaces the tables."""
    with duckdb.connect() as con:
        yield con


def profiles(
    connection: duckdb.DuckDBPyConnection,
    records: Sequence[Record],
    rules: Mapping[str, str] | None = None,
    default: str = "trust",
) -> dict[str, dict[str, Any]]:
    """Build from ``records`` and return each profile row as a dict, by customer id."""
    load(connection, records)
    build_profiles(connection, attributes=ATTRIBUTES, rules=rules or {}, default=default)
    table = connection.sql("SELECT * FROM identity_profiles").to_arrow_table()
    return {row["customer_id"]: row for row in table.to_pylist()}


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


# --- The rules, as a user sees them ------------------------------------------------------


def test_trust_prefers_the_crm_even_when_billing_is_newer(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"first_name": "Ada"}),
            Record("billing", "9", "c1", at(48), {"first_name": "Adah"}),
        ],
        {"first_name": "trust"},
    )
    assert rows["c1"]["first_name"] == "Ada"
    assert rows["c1"]["first_name__dataset"] == "crm"


def test_trust_ties_go_to_the_most_recent_then_the_smallest_unique_id(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", None, {"first_name": "Undated"}),
            Record("crm", "2", "c1", at(1), {"first_name": "Older"}),
            Record("crm", "3", "c1", at(5), {"first_name": "Newest"}),
            Record("crm", "b", "c2", at(5), {"first_name": "Second"}),
            Record("crm", "a", "c2", at(5), {"first_name": "First"}),
        ],
    )
    assert rows["c1"]["first_name"] == "Newest"
    assert rows["c2"]["first_name"] == "First"


def test_recent_takes_the_newest_value_and_ties_go_to_trust(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"city": "Paris"}),
            Record("web", "7", "c1", at(30), {"city": "Lyon"}),
            Record("billing", "4", "c1", None, {"city": "Nice"}),
            Record("web", "8", "c2", at(3), {"city": "Oslo"}),
            Record("billing", "5", "c2", at(3), {"city": "Bergen"}),
        ],
        {"city": "recent"},
    )
    assert rows["c1"]["city"] == "Lyon"
    assert rows["c1"]["city__dataset"] == "web"
    assert rows["c2"]["city"] == "Bergen"


def test_frequent_takes_the_majority_case_insensitively(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"email": "bob@y.com"}),
            Record("web", "2", "c1", at(1), {"email": "ada@x.com"}),
            Record("billing", "3", "c1", at(2), {"email": "Ada@X.com"}),
        ],
        {"email": "frequent"},
    )
    # Two records carry ada@x.com; the billing one is the more trusted of them.
    assert rows["c1"]["email"] == "Ada@X.com"
    assert (rows["c1"]["email__dataset"], rows["c1"]["email__record_id"]) == ("billing", "3")


def test_frequent_ties_go_to_the_value_of_the_most_trusted_record(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("web", "1", "c1", at(9), {"email": "web@x.com"}),
            Record("billing", "2", "c1", at(0), {"email": "bill@x.com"}),
        ],
        {"email": "frequent"},
    )
    assert rows["c1"]["email"] == "bill@x.com"


def test_frequent_without_a_match_key_compares_display_values(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"city": "PARIS"}),
            Record("web", "2", "c1", at(0), {"city": "paris"}),
            Record("web", "3", "c1", at(0), {"city": "Lyon"}),
            Record("web", "4", "c1", at(0), {"city": "Lyon"}),
        ],
        {"city": "frequent"},
    )
    assert rows["c1"]["city"] == "Lyon"


def test_frequent_counts_a_blanked_shared_value_on_its_display_value(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    blank: dict[str, str | None] = {"email": None}
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"email": "ada@x.com"}),
            Record("web", "2", "c1", at(0), {"email": "info@shop.com"}, blank),
            Record("web", "3", "c1", at(0), {"email": "info@shop.com"}, blank),
        ],
        {"email": "frequent"},
    )
    assert rows["c1"]["email"] == "info@shop.com"


@pytest.mark.parametrize("rule", SURVIVORSHIP_RULES)
def test_null_never_survives_while_any_record_has_a_value(
    connection: duckdb.DuckDBPyConnection, rule: str
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(9), {"first_name": None}),
            Record("crm", "2", "c1", at(8), {}),
            Record("web", "3", "c1", at(0), {"first_name": "Ada"}),
        ],
        default=rule,
    )
    assert rows["c1"]["first_name"] == "Ada"
    assert rows["c1"]["first_name__record_id"] == "3"


@pytest.mark.parametrize("rule", SURVIVORSHIP_RULES)
def test_provenance_names_the_record_that_gave_the_value(
    connection: duckdb.DuckDBPyConnection, rule: str
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "c-17", "c1", at(4), {"email": "ada@x.com", "city": "Paris"}),
            Record("web", "w-2", "c1", at(2), {"email": None, "city": "Lyon"}),
        ],
        default=rule,
    )
    row = rows["c1"]
    assert (row["email"], row["email__dataset"], row["email__record_id"]) == (
        "ada@x.com",
        "crm",
        "c-17",
    )
    assert row["email__updated_at"] == at(4)


def test_an_attribute_no_record_has_is_null_with_no_provenance(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"first_name": "Ada"}),
            Record("web", "2", "c1", at(1), {"first_name": "Ada"}),
        ],
        {"email": "frequent", "city": "recent"},
    )
    row = rows["c1"]
    for attribute in ("email", "city"):
        assert row[attribute] is None
        assert row[f"{attribute}__dataset"] is None
        assert row[f"{attribute}__record_id"] is None
        assert row[f"{attribute}__updated_at"] is None


def test_non_latin_values_survive_unchanged(connection: duckdb.DuckDBPyConnection) -> None:
    rows = profiles(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"first_name": "Иван", "city": "Москва"}),
            Record("crm", "2", "c2", at(0), {"first_name": "李雷", "city": "北京"}),
            Record("web", "3", "c2", at(0), {"first_name": "李雷"}),
        ],
        {"first_name": "frequent"},
    )
    assert (rows["c1"]["first_name"], rows["c1"]["city"]) == ("Иван", "Москва")
    assert (rows["c2"]["first_name"], rows["c2"]["city"]) == ("李雷", "北京")


def test_counts_datasets_and_dates_summarise_the_records(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = profiles(
        connection,
        [
            Record("web", "1", "c1", at(5), {}),
            Record("crm", "2", "c1", None, {}),
            Record("web", "3", "c1", at(1), {}),
            Record("billing", "4", "c1", at(3), {}),
            Record("web", "5", None, at(99), {"first_name": "Nobody"}),
        ],
    )
    assert list(rows) == ["c1"]
    row = rows["c1"]
    assert row["records"] == 4
    assert row["datasets"] == ["billing", "crm", "web"]
    assert (row["first_seen"], row["last_updated"]) == (at(1), at(5))


def test_returns_the_number_of_profiles_and_replaces_the_table(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    load(connection, [Record("crm", str(i), f"c{i % 3}", at(i)) for i in range(7)])
    assert build_profiles(connection, attributes=ATTRIBUTES, rules={}) == 3
    connection.execute("DELETE FROM identity_membership WHERE customer_id = 'c0'")
    assert build_profiles(connection, attributes=["city"], rules={}) == 2
    columns = [d[0] for d in connection.execute("SELECT * FROM identity_profiles").description]
    assert columns == [
        "customer_id",
        "records",
        "datasets",
        "first_seen",
        "last_updated",
        "city",
        "city__dataset",
        "city__record_id",
        "city__updated_at",
    ]
    tables = connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert ("_golden_base",) not in tables


def test_other_table_names_are_used(connection: duckdb.DuckDBPyConnection) -> None:
    load(connection, [Record("crm", "1", "c1", at(0), {"city": "Rome"})])
    connection.execute("ALTER TABLE identity_records RENAME TO recs")
    connection.execute("ALTER TABLE identity_membership RENAME TO members")
    count = build_profiles(
        connection, attributes=["city"], rules={}, records="recs", membership="members", into="p"
    )
    assert count == 1
    assert connection.execute("SELECT city FROM p").fetchall() == [("Rome",)]


# --- Errors -------------------------------------------------------------------------------


def test_an_unknown_rule_names_the_attribute_and_the_allowed_rules(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    load(connection, [])
    with pytest.raises(InvalidInput) as caught:
        build_profiles(connection, attributes=ATTRIBUTES, rules={"email": "newest"})
    message = str(caught.value)
    assert "email" in message and "newest" in message
    assert all(rule in message for rule in SURVIVORSHIP_RULES)
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"attributes": ["city"], "rules": {}, "default": "longest"}, "longest"),
        ({"attributes": ["city", "shoe_size"], "rules": {}}, "shoe_size"),
        ({"attributes": ["city"], "rules": {"email": "trust"}}, "email"),
        ({"attributes": ["city", "city"], "rules": {}}, "more than once"),
        ({"attributes": ["dataset"], "rules": {}}, "dataset"),
        ({"attributes": ["city"], "rules": {}, "records": "missing"}, "missing"),
        ({"attributes": ["city"], "rules": {}, "membership": "missing"}, "missing"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_it(
    connection: duckdb.DuckDBPyConnection, kwargs: dict[str, Any], named: str
) -> None:
    load(connection, [])
    with pytest.raises(InvalidInput, match=named):
        build_profiles(connection, **kwargs)


def test_a_unique_id_in_two_customers_is_refused(connection: duckdb.DuckDBPyConnection) -> None:
    load(connection, [Record("crm", "1", "c1", at(0), {"city": "Rome"})])
    connection.execute("INSERT INTO identity_membership VALUES ('crm:1', 'c2')")
    with pytest.raises(InvalidInput, match="crm:1"):
        build_profiles(connection, attributes=ATTRIBUTES, rules={})


# --- Invariants: a reference implementation, and row order --------------------------------


def _trust_order(record: Record) -> tuple[Any, ...]:
    trust, updated = record.trust_level(), record.updated_at
    return (
        trust is None,
        -(trust or 0),
        updated is None,
        -(updated.timestamp() if updated else 0),
        record.unique_id,
    )


def _recent_order(record: Record) -> tuple[Any, ...]:
    trust, updated = record.trust_level(), record.updated_at
    return (
        updated is None,
        -(updated.timestamp() if updated else 0),
        trust is None,
        -(trust or 0),
        record.unique_id,
    )


def reference(records: Sequence[Record], rules: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The survivorship rules in plain Python: what the SQL must agree with."""
    customers: dict[str, list[Record]] = {}
    for record in records:
        if record.customer is not None:
            customers.setdefault(record.customer, []).append(record)
    result: dict[str, dict[str, Any]] = {}
    for customer, own in customers.items():
        row: dict[str, Any] = {"records": len(own)}
        for attribute in ATTRIBUTES:
            carrying = [r for r in own if r.values.get(attribute) is not None]
            winner: Record | None = None
            if carrying and rules[attribute] == "recent":
                winner = min(carrying, key=_recent_order)
            elif carrying and rules[attribute] == "trust":
                winner = min(carrying, key=_trust_order)
            elif carrying:
                groups: dict[tuple[str | None, str | None], list[Record]] = {}
                for r in carrying:
                    key = r.key(attribute) if attribute in KEYED else None
                    group = (key, None if key is not None else r.values[attribute])
                    groups.setdefault(group, []).append(r)
                bests = [(len(g), min(g, key=_trust_order)) for g in groups.values()]
                winner = min(bests, key=lambda nb: (-nb[0], _trust_order(nb[1])))[1]
            row[attribute] = None if winner is None else winner.values[attribute]
            row[f"{attribute}__record_id"] = None if winner is None else winner.record_id
        result[customer] = row
    return result


_values = {
    "first_name": st.sampled_from(["Ada", "ada", "ADA", "Bob", "Иван", "李雷"]),
    "email": st.sampled_from(["ada@x.com", "Ada@X.com", "bob@y.com", "info@shop.com"]),
    "city": st.sampled_from(["Paris", "paris", "Lyon", "北京"]),
}


@st.composite
def record_sets(draw: st.DrawFn) -> list[Record]:
    """A handful of records of a few customers, with ties in trust and time on purpose."""
    records = []
    for index in range(draw(st.integers(1, 12))):
        values = {
            a: draw(st.one_of(st.none(), strategy, strategy)) for a, strategy in _values.items()
        }
        blanked: dict[str, str | None] = {"email": None} if draw(st.integers(0, 4)) == 0 else {}
        records.append(
            Record(
                dataset=draw(st.sampled_from(sorted(TRUST))),
                record_id=str(index),
                customer=draw(st.sampled_from(["c1", "c2", "c3", None])),
                updated_at=draw(st.sampled_from([None, at(0), at(1), at(2)])),
                values=values,
                keys=blanked,
                trust=draw(st.sampled_from([None, None, 1, 3])),
            )
        )
    return records


_rule_sets = st.fixed_dictionaries({a: st.sampled_from(SURVIVORSHIP_RULES) for a in ATTRIBUTES})


@settings(max_examples=120, deadline=None)
@given(records=record_sets(), rules=_rule_sets)
def test_agrees_with_the_reference_implementation(
    shared: duckdb.DuckDBPyConnection, records: list[Record], rules: dict[str, str]
) -> None:
    rows = profiles(shared, records, rules)
    expected = reference(records, rules)
    assert set(rows) == set(expected)
    for customer, want in expected.items():
        assert {k: rows[customer][k] for k in want} == want


@settings(max_examples=60, deadline=None)
@given(records=record_sets(), rules=_rule_sets, seed=st.integers(0, 2**32 - 1))
def test_the_result_does_not_depend_on_insertion_order(
    shared: duckdb.DuckDBPyConnection, records: list[Record], rules: dict[str, str], seed: int
) -> None:
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    assert profiles(shared, records, rules) == profiles(shared, shuffled, rules)


@settings(max_examples=60, deadline=None)
@given(records=record_sets(), rules=_rule_sets)
def test_every_value_comes_from_a_record_of_its_customer(
    shared: duckdb.DuckDBPyConnection, records: list[Record], rules: dict[str, str]
) -> None:
    by_key = {(r.dataset, r.record_id): r for r in records}
    rows = profiles(shared, records, rules)
    for customer, row in rows.items():
        for attribute in ATTRIBUTES:
            has_value = any(
                r.customer == customer and r.values.get(attribute) is not None for r in records
            )
            assert (row[attribute] is not None) == has_value
            if row[attribute] is not None:
                source = by_key[(row[f"{attribute}__dataset"], row[f"{attribute}__record_id"])]
                assert source.customer == customer
                assert source.values[attribute] == row[attribute]
                assert source.updated_at == row[f"{attribute}__updated_at"]


# --- JSON-ready profiles ------------------------------------------------------------------


def test_profile_dicts_are_json_ready_with_iso_times_and_no_empty_attributes(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    load(
        connection,
        [
            Record("crm", "1", "c1", at(0), {"first_name": "Иван", "email": "i@x.ru"}),
            Record("web", "2", "c1", None, {"first_name": "Ivan"}),
            Record("web", "3", "c2", None, {}),
        ],
    )
    build_profiles(connection, attributes=ATTRIBUTES, rules={})
    result = profile_dicts(connection, attributes=ATTRIBUTES)
    assert result["c1"] == {
        "customer_id": "c1",
        "records": 2,
        "datasets": ["crm", "web"],
        "first_seen": "2024-01-01T00:00:00.000000Z",
        "last_updated": "2024-01-01T00:00:00.000000Z",
        "attributes": {
            "first_name": {
                "value": "Иван",
                "dataset": "crm",
                "record_id": "1",
                "updated_at": "2024-01-01T00:00:00.000000Z",
            },
            "email": {
                "value": "i@x.ru",
                "dataset": "crm",
                "record_id": "1",
                "updated_at": "2024-01-01T00:00:00.000000Z",
            },
        },
    }
    assert result["c2"]["attributes"] == {}
    assert result["c2"]["first_seen"] is None


def test_profile_dicts_write_times_in_utc_whatever_the_session_time_zone(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    connection.execute("SET TimeZone = 'America/New_York'")
    load(connection, [Record("crm", "1", "c1", at(0), {"city": "Rome"})])
    build_profiles(connection, attributes=["city"], rules={})
    result = profile_dicts(connection, attributes=["city"])
    assert result["c1"]["attributes"]["city"]["updated_at"] == "2024-01-01T00:00:00.000000Z"


def test_profile_dicts_can_be_limited_to_some_customers(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    load(connection, [Record("crm", str(i), f"c{i}", at(i), {"city": "Rome"}) for i in range(5)])
    build_profiles(connection, attributes=["city"], rules={})
    assert set(profile_dicts(connection, attributes=["city"], customer_ids=["c1", "c3", "zz"])) == {
        "c1",
        "c3",
    }
    assert profile_dicts(connection, attributes=["city"], customer_ids=[]) == {}


def test_profile_dicts_refuse_an_attribute_the_table_lacks(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    load(connection, [Record("crm", "1", "c1", at(0), {"city": "Rome"})])
    build_profiles(connection, attributes=["city"], rules={})
    with pytest.raises(InvalidInput, match="email"):
        profile_dicts(connection, attributes=["city", "email"])
    with pytest.raises(InvalidInput, match="nowhere"):
        profile_dicts(connection, attributes=["city"], into="nowhere")
