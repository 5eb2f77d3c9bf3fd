"""Identity resolution as a data team and a steward meet it: one person, one customer id.

A small company (tests/factories/identity.py) is ingested and resolved once per module; tests
that change it work on a copy of that workspace.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimsight.core.errors import NotFound
from aimsight.core.workspace import Workspace
from aimsight.identity import IdentityService, MatchingConfig
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.store import Ledger, Store
from tests.factories.identity import (
    CRM_HEADER,
    FIRST,
    LAST,
    SHARED_EMAIL,
    SHARING,
    crm_row,
    email_of,
    write_csv,
    write_people,
)


def _ingest(ws: Workspace, path: Path, source: str, entity: str) -> None:
    with Store.open(ws) as store:
        service = IngestService(ws, store, Ledger.open(ws, store))
        service.ingest_path(path, source=source, entity=entity, actor="test")


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the company ingested and resolved once (the model trained)."""
    root = tmp_path_factory.mktemp("identity-service")
    ws = Workspace.create(root / "acme")
    with Store.open(ws, upgrade=True) as store:
        ContractRegistry.for_workspace(ws).install_defaults()
        service = IdentityService(ws, store, Ledger.open(ws, store))
        service.install_default_config()
    paths = write_people(root / "data")
    _ingest(ws, paths["crm"], "crm", "customers")
    _ingest(ws, paths["billing"], "billing", "accounts")
    with Store.open(ws) as store:
        IdentityService(ws, store, Ledger.open(ws, store)).run(actor="test")
    return ws.root


@pytest.fixture
def workspace(resolved: Path, tmp_path: Path) -> Workspace:
    """A private copy of the resolved workspace."""
    shutil.copytree(resolved, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def identity(workspace: Workspace) -> Iterator[IdentityService]:
    with Store.open(workspace) as store:
        yield IdentityService(workspace, store, Ledger.open(workspace, store))


def test_one_person_across_crm_duplicates_and_billing_is_one_customer(
    identity: IdentityService,
) -> None:
    customer = identity.customer_id_of("crm.customers:C1001")
    assert identity.customer_id_of("crm.customers:C2001") == customer  # re-registered
    assert identity.customer_id_of("billing.accounts:A3001") == customer
    assert identity.lookup("email", email_of(0).upper())["customer_id"] == customer
    assert identity.customer_id_of("crm.customers:C1002") != customer


def test_a_shared_info_address_does_not_merge_unrelated_people(
    identity: IdentityService,
) -> None:
    ids = {identity.customer_id_of(f"crm.customers:C{1001 + i}") for i in SHARING}
    assert len(ids) == len(SHARING)
    with pytest.raises(NotFound, match="shared by several people"):
        identity.lookup("email", SHARED_EMAIL)


def test_ids_stay_stable_when_ten_percent_more_records_arrive(
    workspace: Workspace, identity: IdentityService
) -> None:
    before = {k: identity.customer_id_of(k) for k in _all_records(identity)}
    extra = workspace.root / "more.csv"
    rows = [
        crm_row(i, f"C{5001 + i}", email=email_of(i), signup="2026-05-01T10:00:00Z")
        for i in (7, 8)  # two known people register again
    ]
    rows += [
        [
            "C6001",
            "Orla",
            "Quigley",
            "orla.q@example.org",
            "07911 200001",
            "",
            "",
            "",
            "GB",
            "1990-04-04",
            "2026-05-02T10:00:00Z",
            "basic",
            "2026-05-02T10:00:00Z",
            "crm",
        ],
        [
            "C6002",
            "Pavel",
            "Rudd",
            "pavel.r@example.org",
            "07911 200002",
            "",
            "",
            "",
            "GB",
            "1985-08-08",
            "2026-05-02T10:00:00Z",
            "basic",
            "2026-05-02T10:00:00Z",
            "crm",
        ],
    ]
    write_csv(extra, CRM_HEADER, rows)
    _ingest(workspace, extra, "crm", "customers")
    summary = identity.run(actor="test")
    assert summary.merged == 0 and summary.split == 0 and not summary.trained
    assert {k: identity.customer_id_of(k) for k in before} == before
    assert identity.customer_id_of("crm.customers:C5008") == before["crm.customers:C1008"]
    new = {
        identity.customer_id_of("crm.customers:C6001"),
        identity.customer_id_of("crm.customers:C6002"),
    }
    assert len(new) == 2 and not new & set(before.values())


def test_must_link_and_cannot_link_survive_a_rerun(identity: IdentityService) -> None:
    kira, liam = "crm.customers:C1011", "crm.customers:C1012"
    linked = identity.link(kira, liam, reason="same person, confirmed by phone", actor="steward")
    ada, ada_again = "crm.customers:C1001", "crm.customers:C2001"
    identity.unlink(ada, ada_again, reason="twins sharing an inbox", actor="steward")
    assert identity.customer_id_of(ada) != identity.customer_id_of(ada_again)
    for _ in range(2):
        identity.run(actor="test")
        assert identity.customer_id_of(kira) == identity.customer_id_of(liam)
        assert identity.customer_id_of(kira) == linked["customer_id"]
        assert identity.customer_id_of(ada) != identity.customer_id_of(ada_again)


def test_an_alias_resolves_after_a_merge_and_after_reruns(identity: IdentityService) -> None:
    a = identity.customer_id_of("crm.customers:C1021")
    b = identity.customer_id_of("crm.customers:C1022")
    result = identity.link(a, b, reason="merged accounts", actor="steward")
    survivor, merged = result["customer_id"], result["merged"]
    assert {survivor, merged} == {a, b}
    assert identity.customer_id_of(merged) == survivor
    assert identity.lookup("id", merged)["customer_id"] == survivor
    assert merged in identity.profile(survivor)["aliases"]
    identity.run(actor="test")
    assert identity.customer_id_of(merged) == survivor


def test_unlinking_a_steward_link_gives_the_old_id_back(identity: IdentityService) -> None:
    a = identity.customer_id_of("crm.customers:C1031")
    b = identity.customer_id_of("crm.customers:C1032")
    identity.link(a, b, reason="mistake", actor="steward")
    identity.unlink("crm.customers:C1031", "crm.customers:C1032", reason="undo", actor="steward")
    assert identity.customer_id_of("crm.customers:C1031") == a
    assert identity.customer_id_of("crm.customers:C1032") == b
    identity.run(actor="test")
    assert identity.customer_id_of("crm.customers:C1032") == b


def test_explain_shows_which_comparisons_joined_the_records(identity: IdentityService) -> None:
    story = identity.explain("crm.customers:C1002")
    records = {r["unique_id"] for r in story["records"]}
    assert {"crm.customers:C1002", "crm.customers:C2002"} <= records
    accepted = [link for link in story["links"] if link["accepted"]]
    assert accepted and all(link["rule"] for link in accepted)
    scored = [link for link in story["links"] if link["comparisons"]]
    assert scored and "first_name" in scored[0]["comparisons"]


def test_records_without_identifiers_and_non_latin_names_are_resolved(
    workspace: Workspace, identity: IdentityService
) -> None:
    extra = workspace.root / "odd.csv"
    blank = [
        "C7001",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-05-01T10:00:00Z",
        "basic",
        "2026-05-01T10:00:00Z",
        "crm",
    ]
    ivan = [
        "Иван",
        "Петров",
        "ivan.petrov@example.ru",
        "+7 912 345 67 89",
        "",
        "Москва",
        "",
        "RU",
        "1979-03-03",
    ]
    rows = [
        blank,
        ["C7002", *ivan, "2026-05-01T10:00:00Z", "basic", "2026-05-01T10:00:00Z", "crm"],
        ["C7003", *ivan, "2026-05-03T10:00:00Z", "basic", "2026-05-03T10:00:00Z", "crm"],
    ]
    write_csv(extra, CRM_HEADER, rows)
    _ingest(workspace, extra, "crm", "customers")
    identity.run(actor="test")
    lonely = identity.customer_id_of("crm.customers:C7001")
    assert identity.records_of(lonely) == ["crm.customers:C7001"]
    ivan_id = identity.customer_id_of("crm.customers:C7002")
    assert identity.customer_id_of("crm.customers:C7003") == ivan_id
    assert identity.profile(ivan_id)["attributes"]["first_name"]["value"] == "Иван"


def test_real_time_resolution_knows_makes_and_arbitrates(identity: IdentityService) -> None:
    known = identity.resolve({"email": email_of(3)})
    assert known.status == "known"
    assert known.customer_id == identity.customer_id_of("crm.customers:C1004")
    stranger = identity.resolve({"email": "new.visitor@example.net", "device_id": "dev-9"})
    assert stranger.status == "new" and stranger.kind == "anonymous"
    again = identity.resolve({"device_id": "dev-9"})
    assert again.customer_id == stranger.customer_id and again.status == "known"
    clash = identity.resolve({"email": email_of(4), "crm_id": "C1006"})
    assert clash.status == "conflict" and clash.rule == "priority:crm_id"
    assert clash.customer_id == identity.customer_id_of("crm.customers:C1006")
    assert len(clash.candidates) == 2


def test_a_later_run_merges_an_anonymous_profile_into_the_known_customer(
    workspace: Workspace, identity: IdentityService
) -> None:
    visitor = identity.resolve({"email": "orla.q@example.org"})
    assert visitor.status == "new"
    extra = workspace.root / "orla.csv"
    write_csv(
        extra,
        CRM_HEADER,
        [
            [
                "C6001",
                "Orla",
                "Quigley",
                "orla.q@example.org",
                "",
                "",
                "",
                "",
                "GB",
                "1990-04-04",
                "2026-05-02T10:00:00Z",
                "basic",
                "2026-05-02T10:00:00Z",
                "crm",
            ]
        ],
    )
    _ingest(workspace, extra, "crm", "customers")
    identity.run(actor="test")
    orla = identity.customer_id_of("crm.customers:C6001")
    assert identity.customer_id_of(visitor.customer_id) == orla
    assert identity.resolve({"email": "orla.q@example.org"}).customer_id == orla


def test_a_cluster_over_the_size_limit_is_held_for_review(identity: IdentityService) -> None:
    data = identity.config().to_dict()
    data["clustering"]["max_cluster_size"] = 2
    summary = identity.run(actor="test", config=MatchingConfig.from_dict(data, origin="test"))
    assert summary.held_for_review >= 1
    held = identity.reviews()
    assert held and held[0]["reason"] == "cluster_too_large"
    assert all(
        len(identity.records_of(identity.customer_id_of(k))) <= 2 for k in _all_records(identity)
    )


def test_a_steward_can_name_people_by_name_in_the_ledger_without_leaking_it(
    identity: IdentityService,
) -> None:
    identity.link(
        "crm.customers:C1015", "crm.customers:C1016", reason=f"{FIRST[14]} {LAST[14]}", actor="s"
    )
    assert identity.customer_id_of("crm.customers:C1015") == identity.customer_id_of(
        "crm.customers:C1016"
    )


def _all_records(identity: IdentityService) -> list[str]:
    """Every record of the company's 40 people, through their customers."""
    customers = {identity.customer_id_of(f"crm.customers:C{1001 + i}") for i in range(40)}
    return sorted(k for c in customers for k in identity.records_of(c))


def test_record_links_join_every_record_to_its_customer_after_steward_changes(
    identity: IdentityService,
) -> None:
    links = identity.record_links()
    assert set(links.column_names) == {"unique_id", "dataset", "record_id", "customer_id"}
    by_key = dict(
        zip(links["unique_id"].to_pylist(), links["customer_id"].to_pylist(), strict=True)
    )
    first, second = sorted(k for k in by_key if k.startswith("crm.customers:"))[:2]
    if by_key[first] == by_key[second]:
        identity.unlink(first, second, reason="test", actor="cli:test")
    else:
        identity.link(first, second, reason="test", actor="cli:test")
    after = identity.record_links()
    now = dict(zip(after["unique_id"].to_pylist(), after["customer_id"].to_pylist(), strict=True))
    assert now[first] == identity.customer_id_of(first)
    assert now[second] == identity.customer_id_of(second)
    assert (now[first] == now[second]) != (by_key[first] == by_key[second])


def test_identifier_links_name_one_customer_per_email_and_leave_shared_ones_out(
    identity: IdentityService,
) -> None:
    links = identity.identifier_links("email")
    values = links["value"].to_pylist()
    assert len(values) == len(set(values))
    assert SHARED_EMAIL not in values
    some = values[0]
    customer = links["customer_id"].to_pylist()[0]
    assert identity.lookup("email", some)["customer_id"] == customer


def test_a_consent_refusal_follows_the_person_through_a_merge(
    workspace: Workspace, identity: IdentityService
) -> None:
    from aimsight.privacy import ConsentChangeIn, ConsentService

    a = identity.customer_id_of("crm.customers:C1021")
    b = identity.customer_id_of("crm.customers:C1022")
    with Store.open(workspace) as store:
        consent = ConsentService(workspace, store, Ledger.open(workspace, store))
        consent.set(a, [ConsentChangeIn("*", "email", "revoked", source="t")], actor="t")
        consent.set(b, [ConsentChangeIn("*", "sms", "revoked", source="t")], actor="t")
        result = identity.link(a, b, reason="merged accounts", actor="steward")
        survivor = result["customer_id"]
        for channel in ("email", "sms"):  # the opt-out given under either id still holds
            [check] = consent.check(survivor, ["marketing"], channel)
            assert not check.allowed, channel
        assert consent.history(result["merged"]) == []
