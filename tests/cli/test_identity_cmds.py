"""`aimsight identity ...`: runs, lookups, profiles, explanations and steward overrides.

One small company is ingested and resolved once per module (training Splink takes seconds):
40 people in the CRM, six of them registered twice, 30 billing accounts (some naming the CRM
customer), and three people who left the shop's shared info@ address.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from aimsight.cli import main
from tests.cli._runner import run, run_json
from tests.factories.identity import (
    BILLED,
    DUPLICATES,
    PEOPLE,
    SHARED_EMAIL,
    SHARING,
    email_of,
    write_people,
)

pytestmark = pytest.mark.usefixtures("wide_terminal")


def _quiet(argv: list[str]) -> int:
    """Run a setup command outside any test's capture; its exit code."""
    try:
        main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A workspace holding the company's data, resolved once by `aimsight identity run`."""
    root = tmp_path_factory.mktemp("identity")
    ws = str(root / "acme")
    paths = write_people(root / "data")
    assert _quiet(["init", ws]) == 0
    for key, source, entity in (("crm", "crm", "customers"), ("billing", "billing", "accounts")):
        argv = ["ingest", str(paths[key]), "--source", source, "--entity", entity, "-w", ws]
        assert _quiet([*argv, "--json"]) == 0
    yield {"ws": ws, "truth": str(paths["truth"])}


@pytest.fixture(scope="module")
def first_run(company: dict[str, str]) -> dict[str, Any]:
    """The JSON summary of the first run (which trains the model)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert _quiet(["identity", "run", "-w", company["ws"], "--json"]) == 0
    summary: dict[str, Any] = json.loads(buffer.getvalue())
    return summary


def test_the_run_summary_counts_records_customers_and_the_model(
    first_run: dict[str, Any],
) -> None:
    records = PEOPLE + DUPLICATES + BILLED
    assert first_run["records"] == records
    assert first_run["trained"] is True and first_run["model_version"] == 1
    customers = first_run["customers"]
    assert isinstance(customers, int) and PEOPLE - 2 <= customers <= PEOPLE + 4
    assert first_run["shared_identifiers"] >= 1  # the info@ address
    assert set(first_run["seconds"]) >= {"prepare", "train", "score", "cluster"}


def test_a_rerun_reuses_the_model_and_keeps_every_customer_id(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    before = run_json(["identity", "lookup", "--email", email_of(0), "-w", company["ws"]], capsys)
    code, out, err = run(["identity", "run", "-w", company["ws"]], capsys)
    assert code == 0, err
    assert "model" in out and "v1 (reused)" in out
    assert f"{PEOPLE + DUPLICATES + BILLED} records" in out
    for label in ("threshold", "merges", "held for review", "timings"):
        assert label in out
    after = run_json(["identity", "lookup", "--email", email_of(0), "-w", company["ws"]], capsys)
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["customer_id"] == before["customer_id"]
    runs = run_json(["identity", "runs", "-w", company["ws"]], capsys)
    assert isinstance(runs, list) and len(runs) == 2
    assert [r["status"] for r in runs] == ["completed", "completed"]
    assert runs[1]["run_id"] == first_run["run_id"]  # newest first


def test_lookup_finds_one_person_across_crm_duplicates_and_billing(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    profile = run_json(["identity", "lookup", "--email", email_of(0), "-w", company["ws"]], capsys)
    assert isinstance(profile, dict)
    assert set(profile["records"]) >= {
        "crm.customers:C1001",
        "crm.customers:C2001",  # the same address in capitals
        "billing.accounts:A3001",
    }
    attributes = profile["attributes"]
    assert attributes["first_name"]["value"] == "Ada"
    assert attributes["last_name"]["value"] == "Lovelace"
    # The CRM is trusted more than billing, so it supplies the name; provenance says so.
    assert attributes["first_name"]["dataset"] == "crm.customers"
    by_crm_id = run_json(["identity", "lookup", "--crm-id", "C1001", "-w", company["ws"]], capsys)
    assert isinstance(by_crm_id, dict) and by_crm_id["customer_id"] == profile["customer_id"]


def test_show_prints_the_golden_record_with_provenance(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    code, out, err = run(["identity", "show", "crm.customers:C1001", "-w", company["ws"]], capsys)
    assert code == 0, err
    assert "golden record" in out and "Lovelace" in out
    assert "crm.customers" in out and "billing.accounts:A3001" in out


def test_a_shared_address_names_no_one(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    code, _, err = run(["identity", "lookup", "--email", SHARED_EMAIL, "-w", company["ws"]], capsys)
    assert code == 1
    assert "shared by several people" in err and len(err.strip().splitlines()) == 1
    people = {
        json.loads(
            run(
                ["identity", "show", f"crm.customers:C{1001 + i}", "-w", company["ws"], "--json"],
                capsys,
            )[1]
        )["customer_id"]
        for i in SHARING
    }
    assert len(people) == len(SHARING)  # the address did not merge them


def test_lookup_needs_exactly_one_identifier(
    company: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["identity", "lookup", "-w", company["ws"]], capsys)
    assert code == 2 and "exactly one of --email" in err
    code, _, err = run(["identity", "show", "cus_nobody", "-w", company["ws"]], capsys)
    assert code == 1 and "no customer, alias or record 'cus_nobody'" in err


def test_explain_shows_records_links_rules_and_weights(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    found = run_json(["identity", "explain", "crm.customers:C1001", "-w", company["ws"]], capsys)
    assert isinstance(found, dict)
    rules = {link["rule"] for link in found["links"] if link["accepted"]}
    assert any("email" in rule or "crm_id" in rule for rule in rules)
    assert {record["unique_id"] for record in found["records"]} >= {"crm.customers:C1001"}
    code, out, err = run(
        ["identity", "explain", "crm.customers:C1001", "-w", company["ws"]], capsys
    )
    assert code == 0, err
    for label in ("records", "links", "rule", "weight", "probability", "comparisons"):
        assert label in out
    assert "crm.customers:C2001" in out


def test_evaluate_reports_cluster_and_link_scores(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    scores = run_json(
        ["identity", "evaluate", "--truth", company["truth"], "-w", company["ws"]], capsys
    )
    assert isinstance(scores, dict)
    assert scores["records_scored"] == PEOPLE + DUPLICATES + BILLED
    assert scores["cluster"]["precision"] >= 0.95 and scores["cluster"]["recall"] >= 0.9
    code, out, _ = run(
        ["identity", "evaluate", "--truth", company["truth"], "-w", company["ws"]], capsys
    )
    assert code == 0
    assert "precision" in out and "recall" in out and "F1" in out
    assert "customers" in out and "accepted links" in out


def test_resolve_knows_a_customer_and_makes_a_new_one_for_strangers(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    known = run_json(["identity", "resolve", "--email", email_of(3), "-w", company["ws"]], capsys)
    profile = run_json(["identity", "lookup", "--email", email_of(3), "-w", company["ws"]], capsys)
    assert isinstance(known, dict) and isinstance(profile, dict)
    assert known["status"] == "known" and known["customer_id"] == profile["customer_id"]
    code, out, err = run(
        ["identity", "resolve", "--device-id", "dev-new-1", "-w", company["ws"]], capsys
    )
    assert code == 0, err
    assert out.startswith("new cus_") and "(anonymous)" in out
    code, _, err = run(["identity", "resolve", "-w", company["ws"]], capsys)
    assert code == 2 and "at least one of --email" in err


def test_reviews_lists_held_merges(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    del first_run
    assert run_json(["identity", "reviews", "-w", company["ws"]], capsys) == []
    code, out, _ = run(["identity", "reviews", "-w", company["ws"]], capsys)
    assert code == 0 and "identity reviews: 0 (open)" in out


def test_a_steward_links_two_people_and_unlinks_them_for_good(
    company: dict[str, str], first_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs last in the module: it changes who is who."""
    del first_run
    ws = company["ws"]
    kira = run_json(["identity", "show", "crm.customers:C1011", "-w", ws], capsys)
    liam = run_json(["identity", "show", "crm.customers:C1012", "-w", ws], capsys)
    assert isinstance(kira, dict) and isinstance(liam, dict)
    assert kira["customer_id"] != liam["customer_id"]

    code, out, err = run(
        [
            "identity",
            "link",
            "crm.customers:C1011",
            "crm.customers:C1012",
            "--reason",
            "ticket 42: same person",
            "-w",
            ws,
        ],
        capsys,
    )
    assert code == 0, err
    assert out.startswith("linked:") and "is now its alias" in out
    merged = run_json(["identity", "show", "crm.customers:C1012", "-w", ws], capsys)
    assert isinstance(merged, dict)
    assert merged["customer_id"] in (kira["customer_id"], liam["customer_id"])
    gone = (
        liam["customer_id"] if merged["customer_id"] == kira["customer_id"] else kira["customer_id"]
    )
    assert gone in merged["aliases"]
    assert (
        run_json(["identity", "show", gone, "-w", ws], capsys)["customer_id"]
        == merged["customer_id"]
    )

    code, out, err = run(
        [
            "identity",
            "unlink",
            "crm.customers:C1011",
            "crm.customers:C1012",
            "--reason",
            "ticket 43: not the same after all",
            "-w",
            ws,
        ],
        capsys,
    )
    assert code == 0, err
    assert out.startswith("unlinked:") and "split into" in out
    apart = {
        run_json(["identity", "show", key, "-w", ws], capsys)["customer_id"]
        for key in ("crm.customers:C1011", "crm.customers:C1012")
    }
    assert len(apart) == 2

    code, out, err = run(["identity", "explain", "crm.customers:C1012", "-w", ws], capsys)
    assert code == 0, err
    assert "steward overrides" in out and "cannot_link" in out and "ticket 43" in out
    assert "history" in out

    # A new run keeps them apart.
    assert run(["identity", "run", "-w", ws], capsys)[0] == 0
    again = {
        run_json(["identity", "show", key, "-w", ws], capsys)["customer_id"]
        for key in ("crm.customers:C1011", "crm.customers:C1012")
    }
    assert len(again) == 2

    code, _, err = run(
        [
            "identity",
            "link",
            "crm.customers:C1001",
            "crm.customers:C2001",
            "--reason",
            "x",
            "-w",
            ws,
        ],
        capsys,
    )
    assert code == 1 and "already one customer" in err


def test_an_unknown_backend_is_a_usage_error(
    company: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["identity", "run", "--backend", "oracle", "-w", company["ws"]], capsys)
    assert code == 2 and "'oracle' is not one of duckdb, spark" in err
