"""/v1/identity and /v1/customers: runs, lookups, explanations, steward overrides, real time.

The small company of the CLI tests is ingested and resolved once per module, through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import Workspace
from aimsight.identity import IdentityService
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.security import Role
from aimsight.store import Ledger, Store
from tests.api.conftest import Api, open_api
from tests.factories.identity import (
    BILLED,
    DUPLICATES,
    FIRST,
    LAST,
    PEOPLE,
    SHARED_EMAIL,
    write_people,
)


def company_workspace(root: Path) -> Workspace:
    """A workspace with the default contracts and matching configuration and the company's
    CRM and billing data ingested (not yet resolved)."""
    workspace = Workspace.create(root / "ws")
    ContractRegistry.for_workspace(workspace).install_defaults()
    paths = write_people(root / "data")
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        IdentityService(workspace, store, ledger).install_default_config()
        ingest = IngestService(workspace, store, ledger)
        for key, source, entity in (
            ("crm", "crm", "customers"),
            ("billing", "billing", "accounts"),
        ):
            [result] = ingest.ingest_path(paths[key], source=source, entity=entity, actor="test")
            assert result.verdict == "accepted", result.report.verdict_reason
    return workspace


class Resolved:
    """The API of the resolved company, the first run's answer, and a key per role."""

    def __init__(self, api: Api, run: Any) -> None:
        self.api = api
        self.run = run
        self.keys = {role: api.key_for(role, f"id-{role.value}") for role in Role}

    def get(self, url: str, role: Role = Role.ANALYST) -> Any:
        """GET ``url`` with the key of ``role``."""
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def post(self, url: str, body: object, role: Role) -> Any:
        """POST ``body`` to ``url`` with the key of ``role``."""
        return self.api.client.post(url, json=body, headers=self.api.auth(self.keys[role]))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolved]:
    workspace = company_workspace(tmp_path_factory.mktemp("identity-api"))
    for api in open_api(workspace):
        engineer = api.key_for(Role.DATA_ENGINEER, "first-run")
        run = api.client.post("/v1/identity/runs", json={}, headers=api.auth(engineer))
        yield Resolved(api, run)


def _email(i: int) -> str:
    return f"{FIRST[i].lower()}.{LAST[i].lower()}@example.com"


def test_a_run_answers_with_its_summary(resolved: Resolved) -> None:
    assert resolved.run.status_code == 200, resolved.run.text
    summary = resolved.run.json()
    assert summary["records"] == PEOPLE + DUPLICATES + BILLED
    assert summary["trained"] is True and summary["backend"] == "duckdb"
    assert 0 < summary["customers"] < summary["records"]
    runs = resolved.get("/v1/identity/runs").json()["runs"]
    assert runs[0]["run_id"] == summary["run_id"] and runs[0]["status"] == "completed"
    assert runs[0]["summary"]["customers"] == summary["customers"]


def test_lookup_by_identifier_and_by_any_reference_give_one_profile(resolved: Resolved) -> None:
    response = resolved.get(f"/v1/customers/lookup?kind=email&value={_email(0).upper()}")
    assert response.status_code == 200, response.text
    profile = response.json()
    assert {"crm.customers:C1001", "crm.customers:C2001", "billing.accounts:A3001"} <= set(
        profile["records"]
    )
    assert profile["attributes"]["last_name"] == {
        "value": "Lovelace",
        "dataset": "crm.customers",
        "record_id": profile["attributes"]["last_name"]["record_id"],
        "updated_at": profile["attributes"]["last_name"]["updated_at"],
    }
    for reference in (profile["customer_id"], "billing.accounts:A3001"):
        again = resolved.get(f"/v1/customers/{reference}")
        assert again.status_code == 200 and again.json()["customer_id"] == profile["customer_id"]
    by_crm = resolved.get("/v1/customers/lookup?kind=crm_id&value=C1001").json()
    assert by_crm["customer_id"] == profile["customer_id"]


def test_a_shared_or_unknown_identifier_is_a_clear_404(resolved: Resolved) -> None:
    shared = resolved.get(f"/v1/customers/lookup?kind=email&value={SHARED_EMAIL}")
    assert shared.status_code == 404
    assert "shared by several people" in shared.json()["error"]["message"]
    unknown = resolved.get("/v1/customers/cus_nobody")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    bad_kind = resolved.get("/v1/customers/lookup?kind=shoe_size&value=42")
    assert bad_kind.status_code == 422
    assert bad_kind.json()["error"]["details"][0]["field"] == "query.kind"


def test_explain_gives_rules_weights_and_comparisons(resolved: Resolved) -> None:
    response = resolved.get("/v1/customers/crm.customers:C1001/explain")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["asked_for"] == "crm.customers:C1001"
    accepted = [link for link in found["links"] if link["accepted"]]
    assert accepted
    for link in accepted:
        assert link["rule"]
        assert 0 <= link["match_probability"] <= 1
    for link in found["links"]:
        if link["rule"] == "probabilistic":
            assert link["comparisons"] and link["match_weight"] is not None
        else:
            assert link["match_weight"] is None  # exact identifiers: no weight to give


def test_resolve_answers_known_new_and_refuses_nothing_usable(resolved: Resolved) -> None:
    known = resolved.post("/v1/identity/resolve", {"identifiers": {"email": _email(4)}}, Role.AGENT)
    assert known.status_code == 200, known.text
    profile = resolved.get(f"/v1/customers/lookup?kind=email&value={_email(4)}").json()
    assert known.json()["status"] == "known"
    assert known.json()["customer_id"] == profile["customer_id"]

    new = resolved.post(
        "/v1/identity/resolve", {"identifiers": {"device_id": "dev-api-1"}}, Role.SERVICE
    )
    assert new.status_code == 200 and new.json()["status"] == "new"
    assert new.json()["kind"] == "anonymous"
    seen = resolved.get("/v1/customers/lookup?kind=device_id&value=dev-api-1")
    assert seen.status_code == 200 and seen.json()["customer_id"] == new.json()["customer_id"]

    empty = resolved.post("/v1/identity/resolve", {"identifiers": {}}, Role.AGENT)
    assert empty.status_code == 422
    odd = resolved.post("/v1/identity/resolve", {"identifiers": {"shoe": "42"}}, Role.AGENT)
    assert odd.status_code == 422 and "unknown: shoe" in odd.json()["error"]["message"]


def test_readers_may_not_steward_or_run(resolved: Resolved) -> None:
    body = {"a": "crm.customers:C1011", "b": "crm.customers:C1012", "reason": "x"}
    assert resolved.post("/v1/identity/links", body, Role.ANALYST).status_code == 403
    assert resolved.post("/v1/identity/runs", {}, Role.ANALYST).status_code == 403
    assert (
        resolved.post("/v1/identity/resolve", {"identifiers": {}}, Role.GOVERNANCE).status_code
        == 403
    )


def test_a_steward_links_and_unlinks_with_their_key_as_actor(resolved: Resolved) -> None:
    """Runs last in the module: it changes who is who."""
    pair = {"a": "crm.customers:C1011", "b": "crm.customers:C1012"}
    before = {resolved.get(f"/v1/customers/{ref}").json()["customer_id"] for ref in pair.values()}
    assert len(before) == 2

    linked = resolved.post(
        "/v1/identity/links", {**pair, "reason": "ticket 42"}, Role.DATA_ENGINEER
    )
    assert linked.status_code == 200, linked.text
    result = linked.json()
    assert {result["customer_id"], result["merged"]} == before
    alias = resolved.get(f"/v1/customers/{result['merged']}").json()
    assert alias["customer_id"] == result["customer_id"] and result["merged"] in alias["aliases"]

    again = resolved.post("/v1/identity/links", {**pair, "reason": "again"}, Role.DATA_ENGINEER)
    assert again.status_code == 409 and "already one customer" in again.json()["error"]["message"]

    unlinked = resolved.post(
        "/v1/identity/unlinks", {**pair, "reason": "ticket 43"}, Role.DATA_ENGINEER
    )
    assert unlinked.status_code == 200, unlinked.text
    assert len(unlinked.json()["customers"]) == 2
    after = {resolved.get(f"/v1/customers/{ref}").json()["customer_id"] for ref in pair.values()}
    assert len(after) == 2

    explained = resolved.get(f"/v1/customers/{pair['a']}/explain").json()
    overrides = {(o["kind"], o["reason"]): o["actor"] for o in explained["overrides"]}
    steward = next(k for k in resolved.api.keys.list() if k.name == "id-data_engineer")
    assert overrides[("cannot_link", "ticket 43")] == f"api:{steward.key_id}"
    assert {"link", "split"} <= {event["kind"] for event in explained["events"]}


def test_link_bodies_are_validated(resolved: Resolved) -> None:
    response = resolved.post(
        "/v1/identity/links", {"a": "", "b": "x", "reason": "r"}, Role.DATA_ENGINEER
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.a"
    missing = resolved.post("/v1/identity/unlinks", {"a": "x", "b": "y"}, Role.DATA_ENGINEER)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "body.reason"
