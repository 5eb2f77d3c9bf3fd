"""Records read from the lake and prepared for matching."""

from __future__ import annotations

import duckdb
import pytest

from aimsight.identity._config import MatchingConfig
from aimsight.identity._matcher import MatchingError, check_blocking, choose_threshold
from aimsight.identity._records import RECORDS, build_records, find_shared_values

CONFIG = {
    "sources": [
        {
            "dataset": "crm.customers",
            "record_id": "customer_id",
            "updated_at": "updated_at",
            "trust": 3,
            "attributes": {
                "first_name": "first_name",
                "last_name": "last_name",
                "email": "email",
                "postcode": "postcode",
                "birth_date": "birth_date",
            },
        },
        {
            "dataset": "billing.accounts",
            "record_id": "account_id",
            "attributes": {"full_name": "holder_name", "email": "email"},
        },
    ],
    "deterministic": ["email"],
    "shared_identifiers": ["email"],
    "shared_max_records": 5,
    "comparisons": [{"attribute": "first_name", "kind": "name"}],
    "blocking": [["email"], ["last_name"]],
    "max_pairs_per_record": 1,
    "training": {"em_blocking": [["email"]], "prior_rules": [["email"]]},
}


@pytest.fixture
def lake() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA crm; CREATE SCHEMA billing")
    con.execute(
        "CREATE TABLE crm.customers (customer_id VARCHAR, first_name VARCHAR, "
        "last_name VARCHAR, email VARCHAR, postcode VARCHAR, birth_date DATE, "
        "updated_at TIMESTAMPTZ)"
    )
    con.execute(
        "INSERT INTO crm.customers VALUES "
        "('C1', 'Zoë', 'Brontë', 'Zoe.B@Example.com', 'sw1a 1aa', '1980-02-03', '2024-01-01'),"
        "('C1', NULL, 'Bronte', NULL, NULL, NULL, '2024-06-01'),"
        "('C2', 'Иван', 'Петров', 'info@shop.example', NULL, NULL, '2024-01-01'),"
        "('C3', 'Ann', 'Lee', 'info@shop.example', NULL, NULL, '2024-01-01'),"
        "('C4', 'Bob', 'Marsh', 'info@shop.example', NULL, NULL, '2024-01-01'),"
        "('C5', '李', '雷', NULL, NULL, NULL, '2024-01-01'),"
        "('C6', NULL, NULL, NULL, NULL, NULL, '2024-01-01')"
    )
    con.execute(
        "CREATE TABLE billing.accounts (account_id VARCHAR, holder_name VARCHAR, email VARCHAR)"
    )
    con.execute(
        "INSERT INTO billing.accounts VALUES ('B1', 'BRONTË, Zoë', 'zoe.b@example.com'),"
        "('B2', 'Z. Bronte', NULL), ('B3', 'Mary Ann Evans', NULL)"
    )
    return con


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    table = con.sql(f"SELECT * FROM {RECORDS}").to_arrow_table()
    return {row["unique_id"]: row for row in table.to_pylist()}


def test_one_record_per_id_with_the_latest_non_null_values(lake: duckdb.DuckDBPyConnection) -> None:
    config = MatchingConfig.from_dict(CONFIG, origin="t")
    assert build_records(lake, config) == 9
    rows = _rows(lake)
    zoe = rows["crm.customers:C1"]
    assert zoe["last_name"] == "Bronte"  # the newer non-null value
    assert zoe["first_name"] == "Zoë"  # the older one, since the newer is null
    assert zoe["m_first_name"] == "zoe" and zoe["m_last_name"] == "bronte"
    assert zoe["m_email"] == "zoe.b@example.com" and zoe["m_postcode"] == "SW1A1AA"
    assert zoe["trust"] == 3 and zoe["m_birth_date"] == "1980-02-03"


def test_full_names_are_split_in_every_common_form(lake: duckdb.DuckDBPyConnection) -> None:
    build_records(lake, MatchingConfig.from_dict(CONFIG, origin="t"))
    rows = _rows(lake)
    assert (
        rows["billing.accounts:B1"]["m_first_name"],
        rows["billing.accounts:B1"]["m_last_name"],
    ) == ("zoe", "bronte")
    assert (
        rows["billing.accounts:B2"]["m_first_name"],
        rows["billing.accounts:B2"]["m_last_name"],
    ) == ("z", "bronte")
    assert (
        rows["billing.accounts:B3"]["m_first_name"],
        rows["billing.accounts:B3"]["m_last_name"],
    ) == ("mary ann", "evans")


def test_non_latin_names_keep_their_letters(lake: duckdb.DuckDBPyConnection) -> None:
    build_records(lake, MatchingConfig.from_dict(CONFIG, origin="t"))
    rows = _rows(lake)
    assert rows["crm.customers:C2"]["m_first_name"] == "иван"
    assert rows["crm.customers:C5"]["m_last_name"] == "雷"
    # a record with no identifiers at all is still a record
    assert rows["crm.customers:C6"]["m_email"] is None


def test_an_address_of_different_people_is_shared_and_left_out(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    config = MatchingConfig.from_dict(CONFIG, origin="t")
    build_records(lake, config)
    shared = find_shared_values(lake, config)
    assert [(s.attribute, s.value, s.records) for s in shared] == [
        ("email", "info@shop.example", 3)
    ]
    rows = _rows(lake)
    assert rows["crm.customers:C3"]["m_email"] is None
    assert rows["crm.customers:C3"]["email"] == "info@shop.example"  # display value kept
    assert rows["crm.customers:C1"]["m_email"] == "zoe.b@example.com"  # one person's: kept


def test_a_blocking_rule_that_compares_too_many_pairs_is_refused(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    data = dict(CONFIG, blocking=[["email"], ["postcode"]], max_pairs_per_record=2)
    config = MatchingConfig.from_dict(data, origin="t")
    n = build_records(lake, config)
    assert check_blocking(lake, config, n)["email"] == 3 + 1  # info@ trio + zoe pair
    lake.execute(f"UPDATE {RECORDS} SET m_postcode = 'SAME'")  # 9 records, 36 pairs
    with pytest.raises(MatchingError, match=r"blocking\[1\] \(postcode\) would compare 36"):
        check_blocking(lake, config, 5)


def test_threshold_auto_picks_the_valley_and_a_number_is_used_as_given() -> None:
    config = MatchingConfig.from_dict(CONFIG, origin="t")
    histogram = [0] * 60
    for weight, count in {-5: 900, -4: 800, 0: 50, 4: 3, 5: 2, 6: 5, 12: 300, 13: 400}.items():
        histogram[weight + 20] = count
    chosen = choose_threshold(config, histogram)
    assert 0.9 <= chosen < 0.999
    fixed = MatchingConfig.from_dict(dict(CONFIG, clustering={"threshold": 0.8}), origin="t")
    assert choose_threshold(fixed, histogram) == 0.8
