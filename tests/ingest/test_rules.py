"""Quality rules: rows in = accepted + refused, each refusal with a reason, batches judged whole."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsight.core import InvalidInput
from aimsight.ingest._contracts import Contract, QualityPolicy, VolumePolicy, shipped_contracts
from aimsight.ingest._report import QualityReport
from aimsight.ingest._rules import (
    RULE_SET_VERSION,
    Validated,
    ValidationContext,
    _repeats,
    validate,
)

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

CONTRACT = Contract.from_yaml(
    """\
source: shop
entity: orders
primary_key: [order_id]
event_time: placed_at
fields:
  - {name: order_id, type: string, required: true, max_length: 20}
  - {name: customer_id, type: string, references: crm.customers.customer_id}
  - {name: parent_id, type: string, references: shop.orders.order_id}
  - {name: email, type: email}
  - {name: country, type: country}
  - {name: phone, type: phone, default_region: GB, region_field: country}
  - {name: placed_at, type: timestamp, required: true}
  - {name: amount, type: decimal, minimum: 0}
  - {name: quantity, type: integer}
  - {name: status, type: enum, values: [open, paid]}
quality:
  max_quarantine_rate: 1.0  # row rules alone here; batch rules set their own thresholds
""",
    origin="test",
)


HALF = replace(CONTRACT, quality=replace(CONTRACT.quality, max_quarantine_rate=0.5))


def row(**values: str | None) -> dict[str, str | None]:
    good: dict[str, str | None] = {
        "order_id": "O1",
        "customer_id": "C1",
        "parent_id": None,
        "email": "ada@example.com",
        "country": "GB",
        "phone": "07920 444228",
        "placed_at": "2026-11-23T10:00:00+01:00",
        "amount": "9.99",
        "quantity": "2",
        "status": "paid",
    }
    good.update(values)
    return good


def table(rows: list[dict[str, Any]]) -> pa.Table:
    names = list(dict.fromkeys(name for r in rows for name in r)) or ["order_id"]
    columns = {name: pa.array([r.get(name) for r in rows], pa.string()) for name in names}
    columns["_line"] = pa.array(range(1, len(rows) + 1), pa.int64())
    return pa.table(columns)


def check(
    rows: list[dict[str, Any]],
    contract: Contract = CONTRACT,
    **context: Any,
) -> Validated:
    context.setdefault("received_at", RECEIVED)
    read = table(rows)
    result = validate(read, contract, ValidationContext(**context))
    assert result.accepted.num_rows + len(result.rejects) == read.num_rows
    assert all(reject.reasons for reject in result.rejects)
    lines = sorted(result.accepted.column("_line").to_pylist() + [r.line for r in result.rejects])
    assert lines == list(range(1, read.num_rows + 1))
    return result


def codes(result: Validated) -> dict[int, list[str]]:
    return {
        reject.line or 0: sorted(reason.code for reason in reject.reasons)
        for reject in result.rejects
    }


# --- the invariant -----------------------------------------------------------------------

_values = {
    "order_id": st.sampled_from(["O1", "O2", "O3", "", None, "x" * 30]),
    "email": st.sampled_from(["ada@example.com", "ADA@example.com ", "ada@", None, ""]),
    "country": st.sampled_from(["GB", "Germany", "Narnia", None]),
    "phone": st.sampled_from(["07920 444228", "+49 171 6079402", "12", None]),
    "placed_at": st.sampled_from(
        ["2026-11-23T10:00:00Z", "2026-11-23 10:00:00", "2099-01-01T00:00:00Z", "soon", None]
    ),
    "amount": st.sampled_from(["9.99", "-1", "9,99 USD", None]),
    "quantity": st.sampled_from(["1", "1.5", None]),
    "status": st.sampled_from(["open", "PAID", "lost", None]),
    "extra": st.text(max_size=5),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.fixed_dictionaries(_values), max_size=30),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["keep", "reject"]),
)
def test_rows_in_equal_accepted_plus_refused_each_with_a_reason(
    rows: list[dict[str, Any]], max_rate: float, extra: str
) -> None:
    contract = replace(
        CONTRACT,
        extra_fields=extra,  # type: ignore[arg-type]
        quality=replace(CONTRACT.quality, max_quarantine_rate=max_rate),
    )
    result = check(rows, contract)  # check() asserts the invariant itself
    report = result.report
    assert report.rows_in == report.rows_accepted + report.rows_quarantined == len(rows)
    assert sum(report.reasons.values()) >= len(result.rejects)
    if result.batch_rejected:
        assert result.accepted.num_rows == 0
        assert all(r.reasons[-1].code == "batch_rejected" for r in result.rejects)
    accepted_schema = result.accepted.schema
    assert accepted_schema.names[: len(contract.arrow_schema())] == contract.arrow_schema().names


# --- row rules ---------------------------------------------------------------------------


def test_clean_rows_are_accepted_standardised_with_the_originals() -> None:
    result = check([row(email=" ADA@Example.com", country="United Kingdom")])
    assert not result.rejects and result.report.verdict == "accepted"
    accepted = result.accepted.to_pylist()[0]
    assert accepted["email"] == "ada@example.com"
    assert accepted["email__original"] == " ADA@Example.com"
    assert accepted["country"] == "GB"
    assert accepted["phone"] == "+447920444228"
    assert accepted["placed_at"] == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert result.accepted.schema == CONTRACT.arrow_schema()
    assert result.report.rule_set_version == RULE_SET_VERSION
    assert result.report.contract["digest"] == CONTRACT.digest()


def test_wrong_types_are_quarantined_with_the_raw_values_kept() -> None:
    result = check(
        [
            row(order_id="O1", amount="9,99 USD"),
            row(order_id="O2", quantity="two"),
            row(order_id="O3", status="lost"),
            row(order_id="O4"),
        ]
    )
    assert codes(result) == {1: ["invalid_type"], 2: ["invalid_type"], 3: ["not_in_enum"]}
    first = result.rejects[0]
    assert first.raw_format == "fields"
    assert json.loads(first.raw)["amount"] == "9,99 USD"
    assert "9,99" not in first.reasons[0].message  # messages never repeat the value
    assert "amount" in first.reasons[0].message


def test_a_10_mb_field_is_too_long_not_a_crash() -> None:
    result = check([row(order_id="O1", email="a" * 10_000_000), row(order_id="O2")])
    assert codes(result) == {1: ["too_long"]}
    assert result.accepted.num_rows == 1


def test_a_timestamp_without_zone_is_quarantined() -> None:
    result = check([row(order_id="O1", placed_at="2026-11-23 10:00:00"), row(order_id="O2")])
    assert codes(result) == {1: ["timestamp_without_zone"]}
    assert "assume_zone" in result.rejects[0].reasons[0].message


def test_a_phone_number_from_the_wrong_country_is_quarantined() -> None:
    result = check([row(order_id="O1", phone="+49 171 6079402"), row(order_id="O2")])
    assert codes(result) == {1: ["phone_country_mismatch"]}


def test_missing_required_values_and_missing_columns() -> None:
    result = check([row(order_id=" "), {"order_id": "O2"}])
    assert codes(result) == {1: ["missing_required"], 2: ["missing_required"]}


def test_future_timestamps_beyond_the_tolerance_are_quarantined() -> None:
    soon = (RECEIVED + timedelta(seconds=200)).isoformat()
    later = (RECEIVED + timedelta(hours=2)).isoformat()
    result = check([row(order_id="O1", placed_at=soon), row(order_id="O2", placed_at=later)])
    assert codes(result) == {2: ["future_timestamp"]}


def test_too_old_timestamps_when_the_contract_sets_a_maximum_age() -> None:
    contract = replace(CONTRACT, quality=replace(CONTRACT.quality, max_age_days=30))
    result = check(
        [row(order_id="O1"), row(order_id="O2", placed_at="2020-01-01T00:00:00Z")], contract
    )
    assert codes(result) == {2: ["too_old"]}


def test_duplicate_keys_keep_the_first_valid_row() -> None:
    result = check(
        [
            row(order_id="O1", amount="oops"),
            row(order_id="O1"),
            row(order_id="O1"),
            row(order_id="O2"),
        ]
    )
    assert codes(result) == {1: ["invalid_type"], 3: ["duplicate_key"]}
    assert result.accepted.column("_line").to_pylist() == [2, 4]


def test_unknown_references_are_quarantined() -> None:
    asked: list[tuple[str, list[str]]] = []

    def known_keys(reference: str, values: pa.Array) -> pa.Array:
        asked.append((reference, sorted(values.to_pylist())))
        return pc.is_in(values, value_set=pa.array(["C1"]))

    result = check(
        [
            row(order_id="O1", customer_id="C1"),
            row(order_id="O2", customer_id="C9"),
            row(order_id="O3", parent_id="O1"),  # points into this same batch
            row(order_id="O4", parent_id="O404"),
        ],
        known_keys=known_keys,
    )
    assert codes(result) == {2: ["unknown_reference"], 4: ["unknown_reference"]}
    assert ("crm.customers.customer_id", ["C1", "C9"]) in asked


def test_references_are_noted_as_unchecked_without_a_lookup() -> None:
    result = check([row(customer_id="C9")])
    assert not result.rejects
    assert any("not checked" in note for note in result.report.notes)


def test_extra_fields_are_kept_or_refused_as_the_contract_says() -> None:
    kept = check([row(coupon="SAVE10")])
    assert kept.accepted.column_names[-1] == "coupon"
    strict = replace(CONTRACT, extra_fields="reject")
    refused = check([row(order_id="O1", coupon="SAVE10"), row(order_id="O2", coupon="")], strict)
    assert codes(refused) == {1: ["unknown_field"]}


# --- batch rules -------------------------------------------------------------------------


def test_a_batch_over_max_quarantine_rate_is_rejected_whole() -> None:
    rows = [row(order_id=f"O{i}", amount="bad") for i in range(6)]
    rows += [row(order_id=f"P{i}") for i in range(4)]
    result = check(rows, HALF)
    assert result.batch_rejected and result.accepted.num_rows == 0
    assert len(result.rejects) == 10
    assert codes(result)[1] == ["batch_rejected", "invalid_type"]
    assert codes(result)[7] == ["batch_rejected"]
    assert "max_quarantine_rate 50%" in result.report.verdict_reason
    assert result.report.reasons == {"batch_rejected": 10, "invalid_type": 6}
    assert result.report.rows_quarantined == 10


def test_reasons_count_rows_not_fields() -> None:
    result = check([row(order_id="O1", amount="x", quantity="y"), row(order_id="O2")])
    assert codes(result) == {1: ["invalid_type", "invalid_type"]}
    assert result.report.reasons == {"invalid_type": 1}


def test_reader_rejects_count_towards_the_quarantine_rate() -> None:
    result = check([row(order_id="O1")], HALF, reader_rejects=3, notes=("decoded as cp1252",))
    assert result.batch_rejected and len(result.rejects) == 1
    assert result.report.rows_in == 4 and result.report.rows_quarantined == 4
    assert result.report.notes[0] == "decoded as cp1252"


def test_a_field_below_its_minimum_completeness_rejects_the_batch() -> None:
    contract = replace(CONTRACT, quality=replace(CONTRACT.quality, min_completeness={"email": 0.8}))
    rows = [row(order_id=f"O{i}", email=None if i < 3 else "a@b.co") for i in range(10)]
    result = check(rows, contract)
    assert result.batch_rejected
    assert "email is filled in 70.0% of rows" in result.report.verdict_reason


@pytest.mark.parametrize(("action", "rejected"), [("warn", False), ("reject", True)])
def test_volume_outliers_against_recent_batches(action: str, rejected: bool) -> None:
    volume = VolumePolicy(window=3, min_ratio=0.5, max_ratio=2.0, action=action)  # type: ignore[arg-type]
    contract = replace(CONTRACT, quality=QualityPolicy(volume=volume))
    rows = [row(order_id=f"O{i}") for i in range(10)]
    normal = check(rows, contract, recent_volumes=[12, 9, 10, 100_000])
    assert not normal.batch_rejected
    outlier = check(rows, contract, recent_volumes=[100, 90, 110, 5])
    assert outlier.batch_rejected is rejected
    volume_check = next(c for c in outlier.report.checks if c.rule == "volume")
    assert volume_check.outcome == action
    assert "median 100" in volume_check.detail


def test_an_empty_batch_is_accepted() -> None:
    result = check([])
    assert result.report.verdict == "accepted" and result.report.rows_in == 0


def test_received_at_must_be_aware() -> None:
    with pytest.raises(InvalidInput, match="received_at"):
        validate(table([row()]), CONTRACT, ValidationContext(received_at=datetime(2026, 1, 1)))


def test_the_report_round_trips_through_json() -> None:
    result = check([row(order_id="O1"), row(order_id="O1"), row(order_id="O2", email="x")])
    data = json.loads(json.dumps(result.report.to_dict()))
    assert QualityReport.from_dict(data) == result.report
    assert data["reasons"] == {"duplicate_key": 1, "invalid_email": 1}


def test_the_report_renders_for_the_terminal() -> None:
    from rich.console import Console

    from aimsight.ingest._report import render_report

    result = check([row(order_id="O1"), row(order_id="O2", email="x")])
    console = Console(record=True, width=120)
    console.print(render_report(result.report))
    text = console.export_text()
    assert "accepted" in text and "invalid_email" in text and "shop.orders v1" in text


# --- the demo company --------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from aimsight.demo._generate import generate_company

    out = tmp_path_factory.mktemp("company")
    generate_company(out, customers=200, seed=7)
    yield out


def _read_demo_file(path: Path) -> pa.Table:
    """Strings as a reader hands them over (broken JSON lines are the reader's to refuse)."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            header, *records = list(csv.reader(handle))
        columns: dict[str, Any] = {h: [r[i] for r in records] for i, h in enumerate(header)}
        columns["_line"] = list(range(1, len(records) + 1))
        return pa.table(columns)
    objects, lines = [], []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(text)
        except ValueError:
            continue
        objects.append(
            {k: v if v is None or isinstance(v, str) else json.dumps(v) for k, v in record.items()}
        )
        lines.append(number)
    names = list(dict.fromkeys(k for record in objects for k in record))
    columns = {k: pa.array([r.get(k) for r in objects], pa.string()) for k in names}
    columns["_line"] = pa.array(lines, pa.int64())
    return pa.table(columns)


@pytest.mark.parametrize(
    ("relative", "dataset"),
    [
        ("crm/customers.csv", "crm.customers"),
        ("billing/accounts.csv", "billing.accounts"),
        ("billing/transactions.csv", "billing.transactions"),
        ("consent/consents.csv", "consent.consents"),
        ("support/tickets.jsonl", "support.tickets"),
        ("web/events.jsonl", "web.events"),
    ],
)
def test_default_contracts_accept_clean_demo_rows_and_quarantine_the_planted_ones(
    demo_company: Path, relative: str, dataset: str
) -> None:
    contract = {c.name: c for c in shipped_contracts()}[dataset]
    with (demo_company / "ground_truth" / "malformed.csv").open(encoding="utf-8") as handle:
        planted = [r for r in csv.DictReader(handle) if r["file"] == relative]
    header_lines = 1 if relative.endswith(".csv") else 0
    expected = {int(r["line"]) - header_lines for r in planted if r["defect"] != "broken_json"}
    read = _read_demo_file(demo_company / relative)
    result = validate(read, contract, ValidationContext(received_at=RECEIVED))
    assert result.report.verdict == "accepted"
    assert {reject.line for reject in result.rejects} == expected
    assert result.accepted.num_rows == read.num_rows - len(expected)
    assert np.all(np.asarray(result.accepted.column("_line").to_numpy()) > 0)


def _repeats_by_hand(keys: list[str]) -> list[bool]:
    seen: set[str] = set()
    out = []
    for key in keys:
        out.append(key in seen)
        seen.add(key)
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="ab\x1f", max_size=3), max_size=40).flatmap(
        lambda keys: st.sampled_from([keys, sorted(keys), sorted(set(keys))])
    )
)
def test_a_key_repeats_when_an_earlier_row_holds_it(keys: list[str]) -> None:
    """In any order, sorted with ties, or strictly rising (the shortcut)."""
    assert _repeats(pa.array(keys, pa.string())).tolist() == _repeats_by_hand(keys)


def test_duplicates_are_found_in_a_long_batch_in_any_order() -> None:
    ids = [f"O{i:06d}" for i in range(50_000)]
    shuffled = np.random.default_rng(3).permutation(ids).tolist()
    rows = [row(order_id=key, customer_id=None) for key in [*shuffled, ids[7], ids[49_999]]]
    result = check(rows)
    assert codes(result) == {50_001: ["duplicate_key"], 50_002: ["duplicate_key"]}
    assert result.accepted.num_rows == 50_000
