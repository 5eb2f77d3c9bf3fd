"""/v1/features and /v1/customers/{id}/features: definitions, online lookups, publishing.

The small company of the identity tests, with payments, tickets and web events up to
1 November 2026 (tests/factories/features.py), is ingested and resolved once per module.

``FEATURE_SAMPLES`` holds one allowed request per route for the permission matrix
(tests/api/test_permission_matrix.py merges it into its ``SAMPLES``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import NotFound, Workspace
from aimsight.features import FeatureService, shipped_definitions
from aimsight.identity import IdentityService
from aimsight.ingest import IngestService
from aimsight.security import Role
from aimsight.store import Ledger, Store
from tests.api.conftest import Api, open_api
from tests.api.test_identity import company_workspace
from tests.factories.features import write_activity

ADA = "crm.customers:C1001"  # person 0: pays on the 3rd of each month from February 2026


def activity_workspace(root: Path) -> Workspace:
    """The identity tests' company with payments, tickets and web events up to 1 November
    2026, resolved."""
    workspace = company_workspace(root)
    paths = write_activity(root / "activity", until=date(2026, 11, 1))
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        ingest = IngestService(workspace, store, ledger)
        for key, source, entity in (
            ("transactions", "billing", "transactions"),
            ("tickets", "support", "tickets"),
            ("events", "web", "events"),
        ):
            [result] = ingest.ingest_path(paths[key], source=source, entity=entity, actor="test")
            assert result.verdict == "accepted", result.report.verdict_reason
        IdentityService(workspace, store, ledger).run(actor="test")
    return workspace


class Caller:
    """Keys per role on one API, and requests made with them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys = {role: api.key_for(role, f"f-{role.value}") for role in Role}

    def get(self, url: str, role: Role = Role.ANALYST) -> Any:
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def post(self, url: str, body: object, role: Role = Role.DATA_ENGINEER) -> Any:
        return self.api.client.post(url, json=body, headers=self.api.auth(self.keys[role]))


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resolved company (once per module); tests copy it before serving it."""
    return activity_workspace(tmp_path_factory.mktemp("features-api")).root


@pytest.fixture(scope="module")
def published(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caller]:
    """An API on a copy of the company whose online snapshot was published over the API."""
    root = shutil.copytree(company, tmp_path_factory.mktemp("published") / "ws")
    for api in open_api(Workspace.open(root)):
        caller = Caller(api)
        response = caller.post("/v1/features/online", {})
        assert response.status_code == 200, response.text
        yield caller


@pytest.fixture
def fresh(company: Path, tmp_path: Path) -> Iterator[Caller]:
    """An API on a private copy of the company, nothing published yet."""
    root = shutil.copytree(company, tmp_path / "ws")
    for api in open_api(Workspace.open(root)):
        yield Caller(api)


def test_the_definitions_in_force(published: Caller) -> None:
    response = published.get("/v1/features")
    assert response.status_code == 200, response.text
    found = response.json()
    shipped = shipped_definitions()
    assert found["file"] is None  # no features.yaml in this workspace: the shipped default
    assert found["digest"] == shipped.digest
    assert found["population"] == ["crm.customers", "billing.accounts"]
    assert found["payments"] == {
        "source": "billing.transactions",
        "where": {"type": "payment"},
        "value": "amount",
    }
    assert found["sources"]["support.tickets"]["links"][1] == {
        "column": "email",
        "record": None,
        "identifier": "email",
    }
    assert [f["name"] for f in found["features"]] == shipped.names
    sensitive = [f["name"] for f in found["features"] if f["sensitive"]]
    assert sensitive == ["country", "age_band"]
    trend = next(f for f in found["features"] if f["name"] == "web_activity_trend")
    assert (trend["kind"], trend["type"]) == ("ratio", "number")
    assert trend["definition"]["multiplier"] == 3


def test_a_customer_s_features_come_from_the_online_snapshot(published: Caller) -> None:
    response = published.get(f"/v1/customers/{ADA}/features")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["customer_id"].startswith("cus_")
    assert found["as_of"] == "2026-10-10T12:00:00.000001Z"  # just after the last event
    features = found["features"]
    assert list(features) == shipped_definitions().names
    assert (features["payments_90d"], features["plan"], features["country"]) == (3, "basic", "GB")
    assert features["days_since_last_payment"] == pytest.approx(7 + 4 / 24)  # 3 October 08:00
    by_id = published.get(f"/v1/customers/{found['customer_id']}/features", Role.PRIVACY)
    assert by_id.status_code == 200 and by_id.json() == found


def test_an_unknown_customer_is_a_404(published: Caller) -> None:
    response = published.get("/v1/customers/cus_nobody/features")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "'cus_nobody' is not in the online feature snapshot" in error["message"]
    assert "aimsight features publish" in error["message"]


def test_before_any_publication_a_lookup_says_to_publish(fresh: Caller) -> None:
    response = fresh.get(f"/v1/customers/{ADA}/features")
    assert response.status_code == 404
    assert "no online feature snapshot has been published" in response.json()["error"]["message"]


def test_publishing_as_of_a_date_and_bad_dates(fresh: Caller) -> None:
    response = fresh.post("/v1/features/online", {"as_of": "2026-06-01"})
    assert response.status_code == 200, response.text
    snapshot = response.json()
    assert snapshot["as_of"] == "2026-06-01T00:00:00.000000Z" and snapshot["customers"] == 40
    assert snapshot["path"].startswith("features/online/") and len(snapshot["sha256"]) == 64
    found = fresh.get(f"/v1/customers/{ADA}/features").json()
    assert found["as_of"] == snapshot["as_of"]
    assert found["features"]["failed_payments_365d"] == 1  # 2 March
    assert found["features"]["web_events_30d"] == 1  # 10 May
    for bad, words in (
        ("June", "'June' is not a date or time"),
        ("2026-06-01T12:00:00", "has no time zone"),
    ):
        refused = fresh.post("/v1/features/online", {"as_of": bad})
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert words in error["message"] and error["details"][0]["field"] == "as_of"
    published = [
        entry.payload["as_of"]
        for entry in Ledger.open(fresh.api.workspace, fresh.api.store).entries(
            kind="features.online_published"
        )
    ]
    assert published == [snapshot["as_of"]]


def test_publishing_needs_models_train_and_reading_profiles_read(published: Caller) -> None:
    refused = published.post("/v1/features/online", {}, Role.ANALYST)
    assert refused.status_code == 403 and "'models:train'" in refused.json()["error"]["message"]
    governance = published.get(f"/v1/customers/{ADA}/features", Role.GOVERNANCE)
    assert (
        governance.status_code == 403 and "'profiles:read'" in governance.json()["error"]["message"]
    )


# -- samples for the permission matrix --------------------------------------------------------


def resolved(api: Api) -> None:
    """Run identity on the API's workspace unless a run has completed already."""
    service = IdentityService(api.workspace, api.store, Ledger.open(api.workspace, api.store))
    if not any(run["status"] == "completed" for run in service.runs(5)):
        service.run(actor="test")


def _published_customer(api: Api) -> str:
    """A record key of a customer in the workspace's online snapshot (published if need be)."""
    service = FeatureService(api.workspace, api.store, Ledger.open(api.workspace, api.store))
    try:
        service.online(ADA)
    except NotFound:
        resolved(api)
        service.publish_online(actor="test")
    return ADA


def _publishable(api: Api) -> str:
    resolved(api)
    return "/v1/features/online"


FEATURE_SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = {
    ("GET", "/v1/features"): lambda _api: ("/v1/features", None),
    ("GET", "/v1/customers/{customer_id}/features"): lambda api: (
        f"/v1/customers/{_published_customer(api)}/features",
        None,
    ),
    ("POST", "/v1/features/online"): lambda api: (_publishable(api), {}),
}
