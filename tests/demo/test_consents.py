"""The demo's consent records go from the lake into the consent store, none lost."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aimsight.core import NotFound, Workspace
from aimsight.demo._consents import consents_from_lake
from aimsight.demo._generate import generate_company
from aimsight.identity import IdentityService
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.privacy import ANY, LEDGER_KIND, ConsentService, ImportReport
from aimsight.store import Ledger, Store


@dataclass
class Company:
    workspace: Workspace
    store: Store
    ledger: Ledger
    source_rows: list[dict[str, str]]


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    """A small synthetic company's CRM and consent sources, ingested and resolved."""
    root = tmp_path_factory.mktemp("demo-consents")
    generate_company(root / "sources", customers=150, seed=7)
    workspace = Workspace.create(root / "ws")
    ContractRegistry.for_workspace(workspace).install_defaults()
    store = Store.open(workspace)
    ledger = Ledger.open(workspace, store)
    ingest = IngestService(workspace, store, ledger)
    for relative, source, entity in (
        ("crm/customers.csv", "crm", "customers"),
        ("consent/consents.csv", "consent", "consents"),
    ):
        ingest.ingest_path(root / "sources" / relative, source=source, entity=entity, actor="t")
    identity = IdentityService(workspace, store, ledger)
    identity.install_default_config()
    identity.run(actor="test")
    with (root / "sources/consent/consents.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    yield Company(workspace, store, ledger, rows)
    store.dispose()


@pytest.fixture(scope="module")
def first(company: Company) -> ImportReport:
    return consents_from_lake(company.workspace, company.store, company.ledger)


def _accepted_rows(company: Company) -> int:
    connection = IngestService(company.workspace, company.store, company.ledger).lake()
    try:
        return int(connection.sql("SELECT count(*) FROM consent.consents").fetchall()[0][0])
    finally:
        connection.close()


def test_every_lake_row_is_recorded_or_rejected_with_its_reason(
    company: Company, first: ImportReport
) -> None:
    assert first.rows == _accepted_rows(company) > 0
    assert first.applied + first.skipped + len(first.rejected) == first.rows
    assert first.applied > 0.9 * first.rows
    for rejected in first.rejected:  # CRM records quarantined at ingestion have no customer
        assert rejected.field == "customer"
        assert f"CRM record {rejected.customer!r}" in rejected.reason
        assert rejected.source_ref is not None
        assert rejected.source_ref.startswith("consent.consents:CS")
    entries = company.ledger.entries(kind=LEDGER_KIND, limit=100_000)
    assert len(entries) == first.applied
    assert company.ledger.verify().ok


def test_records_keep_the_source_systems_words_and_times(
    company: Company, first: ImportReport
) -> None:
    del first
    links = IdentityService(company.workspace, company.store, company.ledger).record_links()
    customers = dict(
        zip(
            links.column("unique_id").to_pylist(),
            links.column("customer_id").to_pylist(),
            strict=True,
        )
    )
    consents = ConsentService(company.workspace, company.store, company.ledger)
    withdrawn = next(
        row
        for row in company.source_rows
        if row["status"] == "withdrawn" and f"crm.customers:{row['subject_id']}" in customers
    )
    customer = customers[f"crm.customers:{withdrawn['subject_id']}"]
    history = consents.history(customer)
    [change] = [c for c in history if c.source_ref == f"consent.consents:{withdrawn['consent_id']}"]
    assert change.status == "revoked"
    assert change.source == withdrawn["source"]  # the row's own source, not the lake folder
    assert change.actor == "aimsight-demo"
    purpose_scoped = consents.policy.purposes[withdrawn["purpose"]].scope == "purpose"
    assert change.channel == (ANY if purpose_scoped else withdrawn["channel"])


def test_importing_again_adds_nothing(company: Company, first: ImportReport) -> None:
    del first
    before = company.ledger.count()
    again = consents_from_lake(company.workspace, company.store, company.ledger)
    assert again.applied == 0
    assert again.skipped + len(again.rejected) == again.rows
    assert company.ledger.count() == before


def test_before_any_identity_run_the_import_says_what_to_do(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    with Store.open(workspace) as store:
        with pytest.raises(NotFound, match="aimsight identity run"):
            consents_from_lake(workspace, store, Ledger.open(workspace, store))
