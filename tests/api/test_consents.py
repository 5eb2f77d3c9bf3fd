"""/v1/customers/{id}/consents: records in force, changes, history.

The identity tests' small company is ingested and resolved once per module, so customers are
reached by id and by record key (``crm.customers:C1001``) as users would.

``CONSENT_SAMPLES`` holds one allowed request per route for the permission matrix
(tests/api/test_permission_matrix.py merges it into its ``SAMPLES``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aimsight.identity import IdentityService
from aimsight.privacy import LEDGER_KIND
from aimsight.security import Role
from aimsight.store import Ledger
from tests.api.conftest import Api, open_api
from tests.api.test_identity import company_workspace

ADA = "crm.customers:C1001"
_names = itertools.count()


class Caller:
    """Keys per role on one API, and requests made with them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys = {role: api.key_for(role, f"c-{role.value}") for role in Role}

    def get(self, url: str, role: Role = Role.PRIVACY) -> Any:
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def put(self, url: str, body: object, role: Role = Role.PRIVACY) -> Any:
        return self.api.client.put(url, json=body, headers=self.api.auth(self.keys[role]))

    def ledger(self) -> Ledger:
        return Ledger.open(self.api.workspace, self.api.store)


@pytest.fixture(scope="module")
def caller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caller]:
    """An API on the resolved company."""
    workspace = company_workspace(tmp_path_factory.mktemp("consents-api"))
    for api in open_api(workspace):
        IdentityService(workspace, api.store, Ledger.open(workspace, api.store)).run(actor="test")
        yield Caller(api)


def new_customer(api: Api) -> str:
    """A new (anonymous) customer, known by a fresh e-mail address."""
    service = IdentityService(api.workspace, api.store, Ledger.open(api.workspace, api.store))
    email = f"consent-{next(_names)}@example.org"
    return service.resolve({"email": email}, actor="test").customer_id


def grant(purpose: str, channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "channel": channel,
        "status": "granted",
        "source": "web_form",
    } | extra


def test_a_customer_with_nothing_recorded_gets_the_policy_defaults(caller: Caller) -> None:
    response = caller.get(f"/v1/customers/{ADA}/consents")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["customer_id"].startswith("cus_")
    assert found["records"] == []
    assert len(found["effective"]) == 36
    ai = next(
        c for c in found["effective"] if (c["purpose"], c["channel"]) == ("ai_decisioning", "sms")
    )
    assert ai["allowed"] and ai["by_default"] and ai["basis"] == "legitimate_interest"
    assert ai["blocked_by"] is None and ai["granted_by"] is None


def test_put_records_changes_by_record_key_and_answers_with_the_new_state(caller: Caller) -> None:
    customer = new_customer(caller.api)
    body = {
        "changes": [
            grant("profiling", "web", source="cookie_banner"),
            grant("marketing", "email", recorded_at="2026-03-01T09:00:00Z"),
            {"purpose": "*", "channel": "sms", "status": "denied", "source": "call_centre"},
        ]
    }
    response = caller.put(f"/v1/customers/{customer}/consents", body)
    assert response.status_code == 200, response.text
    found = response.json()
    assert {(r["purpose"], r["channel"]) for r in found["records"]} == {
        ("profiling", "*"),
        ("marketing", "email"),
        ("*", "sms"),
    }
    checks = {(c["purpose"], c["channel"]): c for c in found["effective"]}
    assert checks[("marketing", "email")]["allowed"]
    assert checks[("profiling", "push")]["granted_by"]["collected_via"] == "web"
    blocked = checks[("ai_decisioning", "sms")]
    assert not blocked["allowed"] and blocked["blocked_by"]["purpose"] == "*"
    assert caller.get(f"/v1/customers/{customer}/consents").json() == found
    [*_, last] = caller.ledger().entries(kind=LEDGER_KIND, subject=customer, limit=10)
    key_id = caller.api.keys.authenticate(caller.keys[Role.PRIVACY]).key_id
    assert last.actor == f"api:{key_id}"
    assert last.payload["purpose"] == "*" and last.payload["channel"] == "sms"


def test_revoking_profiling_blocks_personalised_decisions_on_every_channel(caller: Caller) -> None:
    customer = new_customer(caller.api)
    caller.put(f"/v1/customers/{customer}/consents", {"changes": [grant("profiling", "web")]})
    revoke = {"purpose": "profiling", "channel": "email", "status": "revoked", "source": "app"}
    found = caller.put(f"/v1/customers/{customer}/consents", {"changes": [revoke]}).json()
    for check in found["effective"]:
        if check["purpose"] in ("personalisation", "ai_decisioning", "profiling"):
            assert not check["allowed"], check
            assert check["blocked_by"]["status"] == "revoked"


def test_the_history_lists_every_change_newest_first(caller: Caller) -> None:
    customer = new_customer(caller.api)
    for day, status in ((1, "granted"), (3, "revoked"), (2, "granted")):
        change = grant(
            "newsletter", "email", status=status, recorded_at=f"2026-03-0{day}T08:00:00Z"
        )
        response = caller.put(f"/v1/customers/{customer}/consents", {"changes": [change]})
        assert response.status_code == 200, response.text
    response = caller.get(f"/v1/customers/{customer}/consents/history")
    assert response.status_code == 200, response.text
    history = response.json()
    assert history["customer_id"] == customer
    assert [(c["status"], c["in_force"]) for c in history["changes"]] == [
        ("revoked", True),
        ("granted", False),
        ("granted", False),
    ]
    assert all(c["actor"].startswith("api:ak_") for c in history["changes"])
    limited = caller.get(f"/v1/customers/{customer}/consents/history?limit=1").json()
    assert len(limited["changes"]) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (grant("telepathy", "email"), "changes[1].purpose"),
        (grant("marketing", "fax"), "changes[1].channel"),
        (grant("marketing", "email", status="perhaps"), "changes[1].status"),
        (grant("marketing", "email", legal_basis="vibes"), "changes[1].legal_basis"),
        (grant("marketing", "email", recorded_at="2026-03-01T09:00"), "changes[1].recorded_at"),
    ],
)
def test_a_bad_change_is_a_422_naming_the_field_and_nothing_is_written(
    caller: Caller, change: dict[str, Any], field: str
) -> None:
    customer = new_customer(caller.api)
    body = {"changes": [grant("newsletter", "post"), change]}
    response = caller.put(f"/v1/customers/{customer}/consents", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"][0]["field"] == field
    assert "use one of" in error["message"] or "zone" in error["message"]
    assert caller.get(f"/v1/customers/{customer}/consents/history").json()["changes"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": []}, "body.changes"),
        ({"changes": [grant("marketing", "email")] * 101}, "body.changes"),
        ({"changes": [{"purpose": "marketing", "channel": "email"}]}, "body.changes.0.status"),
        ({"changes": [grant("marketing", "email", colour="blue")]}, "body.changes.0.colour"),
    ],
)
def test_a_malformed_body_is_a_422(caller: Caller, body: dict[str, Any], field: str) -> None:
    response = caller.put(f"/v1/customers/{new_customer(caller.api)}/consents", body)
    assert response.status_code == 422, response.text
    assert field in [detail["field"] for detail in response.json()["error"]["details"]]


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_an_unknown_customer_is_a_404(caller: Caller, suffix: str) -> None:
    response = caller.get(f"/v1/customers/cus_nobody/consents{suffix}")
    assert response.status_code == 404
    assert "no customer, alias or record 'cus_nobody'" in response.json()["error"]["message"]
    put = caller.put("/v1/customers/cus_nobody/consents", {"changes": [grant("marketing", "sms")]})
    assert put.status_code == 404


def test_only_roles_with_consent_permissions_may_read_or_change(caller: Caller) -> None:
    url = f"/v1/customers/{ADA}/consents"
    assert caller.get(url, Role.ANALYST).status_code == 403
    assert (
        caller.put(url, {"changes": [grant("marketing", "sms")]}, Role.SERVICE).status_code == 403
    )
    assert caller.get(url, Role.ADMIN).status_code == 200


CONSENT_SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = {
    ("GET", "/v1/customers/{customer_id}/consents"): lambda api: (
        f"/v1/customers/{new_customer(api)}/consents",
        None,
    ),
    ("PUT", "/v1/customers/{customer_id}/consents"): lambda api: (
        f"/v1/customers/{new_customer(api)}/consents",
        {"changes": [grant("newsletter", "email", source="matrix")]},
    ),
    ("GET", "/v1/customers/{customer_id}/consents/history"): lambda api: (
        f"/v1/customers/{new_customer(api)}/consents/history",
        None,
    ),
}
