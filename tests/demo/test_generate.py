"""The synthetic company is deterministic, noisy in realistic ways and honest about its truth."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aimsight.core.errors import InvalidInput
from aimsight.demo._generate import (
    IDENTITY_FILES,
    CompanyConfig,
    GenerationSummary,
    generate_company,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AMOUNT = re.compile(r"^\d+\.\d{2}$")
SOURCE_FILES = (
    "crm/customers.csv",
    "billing/accounts.csv",
    "billing/transactions.csv",
    "support/tickets.jsonl",
    "web/events.jsonl",
    "consent/consents.csv",
)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("company")
    generate_company(root, customers=400, seed=11)
    return root


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    generate_company(root, customers=5_000, seed=5)
    return root


def _malformed(root: Path) -> dict[str, dict[int, str]]:
    planted: dict[str, dict[int, str]] = defaultdict(dict)
    for row in _csv(root / "ground_truth/malformed.csv"):
        planted[row["file"]][int(row["line"])] = row["defect"]
    return planted


def _iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _csv_row_ok(rel: str, row: dict[str, str]) -> bool:
    """Whether a CSV row of ``rel`` passes the checks an ingest contract would make."""
    if rel == "crm/customers.csv":
        return (
            bool(row["customer_id"])
            and (not row["email"] or bool(EMAIL.match(row["email"])))
            and _iso(row["signup_at"])
            and (not row["birth_date"] or _iso(row["birth_date"]))
        )
    if rel == "billing/accounts.csv":
        return (
            bool(row["account_id"]) and bool(EMAIL.match(row["email"])) and _iso(row["opened_at"])
        )
    if rel == "billing/transactions.csv":
        return (
            bool(row["account_id"])
            and bool(AMOUNT.match(row["amount"]))
            and _iso(row["occurred_at"])
            and row["type"] in {"payment", "refund", "failed"}
        )
    return (
        bool(row["subject_id"])
        and _iso(row["recorded_at"])
        and row["status"] in {"granted", "withdrawn"}
    )


def _json_row_ok(rel: str, line: str) -> bool:
    try:
        record: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        return False
    key, stamp = ("ticket_id", "created_at") if "tickets" in rel else ("event_id", "occurred_at")
    return bool(record.get(key)) and _iso(record[stamp])


def _truth(root: Path) -> dict[tuple[str, str], str]:
    return {
        (row["source"], row["source_record_id"]): row["person_id"]
        for row in _csv(root / "ground_truth/persons.csv")
    }


def _region(country: str) -> str:
    typed = {"United States": "US", "USA": "US", "United Kingdom": "GB", "UK": "GB"}
    typed |= {"Germany": "DE", "Deutschland": "DE", "France": "FR", "FRANCE": "FR"}
    return typed.get(country, {"Netherlands": "NL", "Nederland": "NL"}.get(country, country))


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_company(tmp_path / "a", customers=150, seed=42)
    generate_company(tmp_path / "b", customers=150, seed=42)
    generate_company(tmp_path / "c", customers=150, seed=43)
    a, b, c = (_hashes(tmp_path / name) for name in "abc")
    assert a == b
    assert set(a) == {*first.files, "manifest.json"}
    assert all(a[name] != c[name] for name in SOURCE_FILES)


def test_summary_and_manifest_describe_every_file(company: Path) -> None:
    manifest = json.loads((company / "manifest.json").read_text("utf-8"))
    assert manifest["seed"] == 11 and manifest["customers"] == 400
    assert manifest["config"]["duplicate_rate"] == 0.12
    for rel, entry in manifest["files"].items():
        data = (company / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        lines = data.decode("utf-8").count("\n")
        assert entry["rows"] == (lines if rel.endswith(".jsonl") else lines - 1)
    summary = GenerationSummary(out=company, seed=1, customers=10, files={"a": 2, "b": 3})
    assert summary.total_rows == 5 and summary.to_dict()["total_rows"] == 5


def test_every_crm_and_billing_record_has_exactly_one_true_person(company: Path) -> None:
    truth = Counter(
        (row["source"], row["source_record_id"])
        for row in _csv(company / "ground_truth/persons.csv")
    )
    crm = [row["customer_id"] for row in _csv(company / "crm/customers.csv")]
    accounts = [row["account_id"] for row in _csv(company / "billing/accounts.csv")]
    assert len(set(crm)) == len(crm) and len(set(accounts)) == len(accounts)
    assert all(truth[("crm", record)] == 1 for record in crm)
    assert all(truth[("billing", record)] == 1 for record in accounts)
    assert sum(n for (source, _), n in truth.items() if source in {"crm", "billing"}) == len(
        crm
    ) + len(accounts)


def test_duplicates_match_the_configured_rate_and_look_alike(company: Path) -> None:
    person_of = {
        row["source_record_id"]: row["person_id"]
        for row in _csv(company / "ground_truth/persons.csv")
        if row["source"] == "crm"
    }
    records: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _csv(company / "crm/customers.csv"):
        records[person_of[row["customer_id"]]].append(row)
    assert len(records) == 400
    duplicated = [rows for rows in records.values() if len(rows) > 1]
    assert 0.10 <= len(duplicated) / len(records) <= 0.15

    def similar(a: dict[str, str], b: dict[str, str]) -> bool:
        same_last = a["last_name"][:2].lower() == b["last_name"][:2].lower()
        same_birth = a["birth_date"] == b["birth_date"] or not (a["birth_date"] and b["birth_date"])
        return same_last and same_birth

    assert sum(similar(rows[0], rows[1]) for rows in duplicated) >= 0.8 * len(duplicated)
    # Records of different people rarely agree on name, birth date and e-mail at once.
    singles = [rows[0] for rows in records.values()]
    pairs = list(zip(singles, singles[1:], strict=False))
    alike = sum(
        a["last_name"] == b["last_name"] and a["birth_date"] == b["birth_date"] for a, b in pairs
    )
    assert alike <= 0.02 * len(pairs)
    # The noise is there: some re-registrations changed their e-mail or used another phone form.
    assert any(rows[0]["email"] != rows[1]["email"] for rows in duplicated)
    assert any(rows[0]["first_name"] != rows[1]["first_name"] for rows in duplicated)


def test_malformed_rows_are_listed_and_really_malformed(company: Path) -> None:
    planted = _malformed(company)
    assert set(planted) == set(SOURCE_FILES)
    total = 0
    for rel in SOURCE_FILES:
        path = company / rel
        if rel.endswith(".jsonl"):
            lines = path.read_text("utf-8").splitlines()
            results = {n: _json_row_ok(rel, line) for n, line in enumerate(lines, start=1)}
        else:
            rows = _csv(path)
            results = {n: _csv_row_ok(rel, row) for n, row in enumerate(rows, start=2)}
        bad = {line for line, ok in results.items() if not ok}
        assert bad == set(planted[rel]), rel
        total += len(results)
    assert 0.005 <= sum(len(v) for v in planted.values()) / total <= 0.02


def test_phones_are_written_in_several_formats_and_parse(company: Path) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    rows = [row for row in _csv(company / "crm/customers.csv") if row["phone"]]
    assert len({row["country"] for row in rows}) >= 5
    assert any(row["phone"].startswith("+") for row in rows)
    assert any(row["phone"].startswith("0") for row in rows)
    for row in rows:
        region = row["country"]
        if region not in {"US", "GB", "DE", "FR", "NL"}:
            continue  # the country was typed out ("Deutschland", "UK"), as real data has it
        assert phonenumbers.is_valid_number(phonenumbers.parse(row["phone"], region))


def test_times_carry_several_utc_offsets(company: Path) -> None:
    offsets = {
        datetime.fromisoformat(row["signup_at"]).utcoffset()
        for row in _csv(company / "crm/customers.csv")
        if _iso(row["signup_at"])
    }
    assert len(offsets) >= 4


def test_consent_records_reference_existing_subjects(company: Path) -> None:
    customers = {row["customer_id"] for row in _csv(company / "crm/customers.csv")}
    consents = [row for row in _csv(company / "consent/consents.csv") if row["subject_id"]]
    assert consents and all(row["subject_id"] in customers for row in consents)
    assert {row["purpose"] for row in consents} == {
        "marketing",
        "analytics",
        "personalisation",
        "profiling",
    }
    assert {row["channel"] for row in consents} == {"email", "sms", "push", "web"}
    assert "withdrawn" in {row["status"] for row in consents}


def test_tickets_are_labelled_consistently_and_balanced(big: Path) -> None:
    tickets = []
    for line in (big / "support/tickets.jsonl").read_text("utf-8").splitlines():
        try:
            tickets.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    intents = Counter(t["intent"] for t in tickets)
    sentiments = Counter(t["sentiment"] for t in tickets)
    assert set(intents) == {"billing", "cancel", "technical", "account", "feature_request"}
    assert set(sentiments) == {"negative", "neutral", "positive"}
    assert min(intents.values()) >= 0.05 * len(tickets)
    assert min(sentiments.values()) >= 0.1 * len(tickets)
    cancel_words = sum("cancel" in t["body"].lower() for t in tickets if t["intent"] == "cancel")
    assert cancel_words >= 0.5 * intents["cancel"]
    assert all(t["email"] or t["customer_ref"] for t in tickets)


def test_churners_show_the_behaviour_that_predicts_churn(big: Path) -> None:
    churn = {
        row["person_id"]: row["churned"] == "true" for row in _csv(big / "ground_truth/churn.csv")
    }
    rate = sum(churn.values()) / len(churn)
    assert 0.12 <= rate <= 0.3
    truth = {
        (row["source"], row["source_record_id"]): row["person_id"]
        for row in _csv(big / "ground_truth/persons.csv")
    }
    failed: Counter[str] = Counter()
    for row in _csv(big / "billing/transactions.csv"):
        if row["type"] == "failed" and row["account_id"]:
            failed[truth[("billing", row["account_id"])]] += 1
    person_of_customer = {rid: pid for (src, rid), pid in truth.items() if src == "crm"}
    cancels: Counter[str] = Counter()
    for line in (big / "support/tickets.jsonl").read_text("utf-8").splitlines():
        try:
            ticket = json.loads(line)
        except json.JSONDecodeError:
            continue
        if ticket["intent"] == "cancel" and ticket["customer_ref"]:
            cancels[person_of_customer[ticket["customer_ref"]]] += 1

    def mean(counter: Counter[str], churned: bool) -> float:
        group = [p for p, c in churn.items() if c is churned]
        return sum(counter[p] for p in group) / len(group)

    assert mean(failed, True) > 1.5 * mean(failed, False)
    assert mean(cancels, True) > 2 * mean(cancels, False)


@pytest.mark.parametrize("customers", [0, 9, -5])
def test_too_few_customers_is_refused_naming_the_field(tmp_path: Path, customers: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_company(tmp_path, customers=customers, seed=1)
    assert caught.value.field == "customers"


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"duplicate_rate": 0.9}, "duplicate_rate"),
        ({"malformed_rate": -0.1}, "malformed_rate"),
        ({"churn_base_rate": 1.0}, "churn_base_rate"),
        ({"shared_email_rate": 0.5}, "shared_email_rate"),
        ({"shared_phone_rate": -0.01}, "shared_phone_rate"),
        ({"countries": (("XX", 1.0),)}, "countries"),
    ],
)
def test_config_validation_names_the_field(changes: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CompanyConfig(**changes)
    assert caught.value.field == name


def test_config_changes_the_data_and_lands_in_the_manifest(tmp_path: Path) -> None:
    config = CompanyConfig(duplicate_rate=0.0, malformed_rate=0.0)
    summary = generate_company(tmp_path, customers=50, seed=3, config=config)
    assert summary.files["crm/customers.csv"] == 50
    assert summary.files["ground_truth/malformed.csv"] == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    assert manifest["config"]["duplicate_rate"] == 0.0


def test_progress_reports_every_stage(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_company(tmp_path, customers=20, seed=1, progress=lambda *a: seen.append(a))
    assert [done for _, done, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][1] == seen[-1][2]


# --- names, identifiers and identity-only generation ------------------------------------


def test_names_are_drawn_by_real_frequency(big: Path) -> None:
    rows = _csv(big / "crm/customers.csv")
    for column in ("first_name", "last_name"):
        counts = Counter(row[column] for row in rows)
        top = counts.most_common(1)[0][1]
        # A few very common names and a long tail, from pools far bigger than 300 names.
        assert top >= 15 * statistics.median(counts.values()), column
        assert len(counts) > 1_000, column
    by_country: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        by_country[row["country"]][row["last_name"]] += 1
    assert by_country["US"].most_common(1)[0][0] in {"Smith", "Johnson", "Williams"}
    assert by_country["DE"].most_common(1)[0][0] in {"Müller", "Schmidt", "Schneider"}
    assert by_country["NL"].most_common(1)[0][0] in {"de Jong", "Jansen", "de Vries"}


def test_no_email_is_shared_by_two_people_except_the_planted_ones(big: Path) -> None:
    truth = _truth(big)
    people: dict[str, set[str]] = defaultdict(set)
    for rel, key in (("crm/customers.csv", "customer_id"), ("billing/accounts.csv", "account_id")):
        source = rel.split("/")[0]
        for row in _csv(big / rel):
            if EMAIL.match(row["email"]):  # planted malformed addresses aside
                people[row["email"]].add(truth[(source, row[key])])
    shared = {
        row["value"]: set(row["persons"].split())
        for row in _csv(big / "ground_truth/shared_identifiers.csv")
        if row["kind"] == "email"
    }
    assert shared
    assert {email: who for email, who in people.items() if len(who) > 1} == shared


def test_no_phone_is_shared_by_two_people_except_the_planted_ones(big: Path) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    truth = _truth(big)
    people: dict[str, set[str]] = defaultdict(set)
    for row in _csv(big / "crm/customers.csv"):
        if row["phone"]:
            number = phonenumbers.parse(row["phone"], _region(row["country"]))
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            people[e164].add(truth[("crm", row["customer_id"])])
    shared = {
        row["value"]: set(row["persons"].split())
        for row in _csv(big / "ground_truth/shared_identifiers.csv")
        if row["kind"] == "phone"
    }
    assert shared
    assert {phone: who for phone, who in people.items() if len(who) > 1} == shared


def test_shared_identifiers_are_listed_and_given_by_distinct_people(big: Path) -> None:
    listed = _csv(big / "ground_truth/shared_identifiers.csv")
    persons = {row["person_id"] for row in _csv(big / "ground_truth/persons.csv")}
    sharers: Counter[str] = Counter()
    for row in listed:
        who = row["persons"].split()
        assert len(set(who)) == len(who) and set(who) <= persons
        limit = 50 if row["kind"] == "email" else 20
        assert 2 <= len(who) <= limit, row["value"]
        sharers[row["kind"]] += len(who)
        if row["kind"] == "email":
            local, domain = row["value"].split("@")
            assert local in {"info", "office", "contact", "hello", "admin", "enquiries"} | {
                "kontakt",
                "buero",
                "mail",
                "accueil",
                "bureau",
                "secretariat",
                "kantoor",
                "administratie",
                "post",
            }
            assert domain.split(".")[0] not in {"gmail", "outlook", "yahoo", "hotmail"}
        else:
            assert row["value"].startswith("+")
    # The configured shares (1 % and 0.5 % of 5,000 people), less the odd person left over.
    assert 40 <= sharers["email"] <= 50
    assert 18 <= sharers["phone"] <= 25
    assert len({row["value"] for row in listed}) == len(listed)


def test_identity_parts_write_just_those_files_as_a_full_run_does(tmp_path: Path) -> None:
    full = tmp_path / "full"
    generate_company(full, customers=300, seed=9)
    only = tmp_path / "only"
    summary = generate_company(only, customers=300, seed=9, parts="identity")
    written = {str(p.relative_to(only)) for p in only.rglob("*") if p.is_file()}
    assert written == set(IDENTITY_FILES)
    assert summary.parts == "identity" and set(summary.files) == set(IDENTITY_FILES) - {
        "manifest.json"
    }
    for rel in ("crm/customers.csv", "billing/accounts.csv", "ground_truth/shared_identifiers.csv"):
        assert (only / rel).read_bytes() == (full / rel).read_bytes(), rel
    # Ground truth covers every CRM record and billing account exactly once, nothing else.
    rows = _csv(only / "ground_truth/persons.csv")
    keys = Counter((row["source"], row["source_record_id"]) for row in rows)
    crm = {("crm", row["customer_id"]) for row in _csv(only / "crm/customers.csv")}
    billing = {("billing", row["account_id"]) for row in _csv(only / "billing/accounts.csv")}
    assert set(keys) == crm | billing and set(keys.values()) == {1}
    full_truth = _truth(full)
    assert all(full_truth[(r["source"], r["source_record_id"])] == r["person_id"] for r in rows)
    manifest = json.loads((only / "manifest.json").read_text("utf-8"))
    assert manifest["parts"] == "identity" and set(manifest["files"]) == set(summary.files)


def test_identity_parts_replace_an_earlier_full_run(tmp_path: Path) -> None:
    generate_company(tmp_path, customers=60, seed=2)
    kept = tmp_path / "unrelated.txt"
    kept.write_text("mine", "utf-8")
    seen: list[tuple[str, int, int]] = []
    generate_company(
        tmp_path, customers=60, seed=2, parts="identity", progress=lambda *a: seen.append(a)
    )
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*") if p.is_file()}
    assert written == {*IDENTITY_FILES, "unrelated.txt"}
    assert [done for _, done, _ in seen] == list(range(1, 7)) and seen[-1][2] == 6


def test_unknown_parts_are_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_company(tmp_path, customers=20, seed=1, parts="web")  # type: ignore[arg-type]
    assert caught.value.field == "parts"
    assert not any(tmp_path.iterdir())


def test_no_shared_identifiers_when_the_rates_are_zero(tmp_path: Path) -> None:
    config = CompanyConfig(shared_email_rate=0.0, shared_phone_rate=0.0)
    summary = generate_company(tmp_path, customers=300, seed=4, config=config, parts="identity")
    assert summary.files["ground_truth/shared_identifiers.csv"] == 0
