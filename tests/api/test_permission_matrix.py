"""Every /v1 route x every role: allowed roles get 2xx, others 403; no/bad/revoked key 401.

The routes are read from the app itself, so a new route without a permission, or without a
sample request here, fails these tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from aimsight.api import create_app
from aimsight.core import Workspace, load_settings
from aimsight.identity import IdentityService
from aimsight.security import ROLE_PERMISSIONS, Permission, Role
from aimsight.store import Ledger
from tests.api.conftest import Api, open_api
from tests.api.test_aims import AIMS_SAMPLES
from tests.api.test_consents import CONSENT_SAMPLES
from tests.api.test_decisions import DECISION_SAMPLES
from tests.api.test_features import FEATURE_SAMPLES
from tests.api.test_identity import company_workspace
from tests.api.test_models import MODEL_SAMPLES


def _v1_routes() -> list[tuple[str, str, str]]:
    """(method, path, permission) of every /v1 route of an app, as the app lists them."""
    app = create_app(Workspace(root=Path("unused"), settings=load_settings()))
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/v1"):
            permission = (route.openapi_extra or {}).get("x-permission", "")
            found.extend((method, route.path, permission) for method in sorted(route.methods))
    return found


ROUTES = _v1_routes()
_names = itertools.count()

# A request each route accepts when the caller is allowed: (url, JSON body) from the Api.
SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = {
    ("GET", "/v1/health"): lambda _api: ("/v1/health", None),
    ("GET", "/v1/version"): lambda _api: ("/v1/version", None),
    ("GET", "/v1/whoami"): lambda _api: ("/v1/whoami", None),
    ("GET", "/v1/users"): lambda _api: ("/v1/users", None),
    ("POST", "/v1/users"): lambda _api: (
        "/v1/users",
        {"name": f"new-{next(_names)}", "role": "analyst"},
    ),
    ("DELETE", "/v1/users/{name}"): lambda api: (f"/v1/users/{_target(api)}", None),
    ("GET", "/v1/ledger/entries"): lambda _api: ("/v1/ledger/entries?limit=5", None),
    ("GET", "/v1/ledger/verify"): lambda _api: ("/v1/ledger/verify", None),
    ("POST", "/v1/collect/track"): lambda _api: (
        "/v1/collect/track",
        {"messageId": f"t-{next(_names)}", "anonymousId": "a-1", "event": "Viewed"},
    ),
    ("POST", "/v1/collect/identify"): lambda _api: (
        "/v1/collect/identify",
        {"messageId": f"i-{next(_names)}", "userId": "u-1", "traits": {"plan": "basic"}},
    ),
    ("POST", "/v1/collect/batch"): lambda _api: (
        "/v1/collect/batch",
        {"batch": [{"type": "track", "anonymousId": "a-1", "event": "Viewed"}]},
    ),
    ("POST", "/v1/identity/runs"): lambda _api: ("/v1/identity/runs", {}),
    ("GET", "/v1/identity/runs"): lambda _api: ("/v1/identity/runs?limit=5", None),
    ("GET", "/v1/identity/reviews"): lambda _api: ("/v1/identity/reviews", None),
    ("POST", "/v1/identity/links"): lambda api: (
        "/v1/identity/links",
        {"a": _customer(api), "b": _customer(api), "reason": "matrix"},
    ),
    ("POST", "/v1/identity/unlinks"): lambda api: (
        "/v1/identity/unlinks",
        {"a": _customer(api), "b": _customer(api), "reason": "matrix"},
    ),
    ("POST", "/v1/identity/resolve"): lambda _api: (
        "/v1/identity/resolve",
        {"identifiers": {"email": f"visitor-{next(_names)}@example.org"}},
    ),
    ("GET", "/v1/customers/lookup"): lambda api: (
        f"/v1/customers/lookup?kind=email&value={_email_of(_customer(api))}",
        None,
    ),
    ("GET", "/v1/customers/{customer_id}"): lambda api: (f"/v1/customers/{_customer(api)}", None),
    ("GET", "/v1/customers/{customer_id}/explain"): lambda api: (
        f"/v1/customers/{_customer(api)}/explain",
        None,
    ),
}
SAMPLES.update(MODEL_SAMPLES)
SAMPLES.update(FEATURE_SAMPLES)
SAMPLES.update(AIMS_SAMPLES)
SAMPLES.update(CONSENT_SAMPLES)
SAMPLES.update(DECISION_SAMPLES)


def _target(api: Api) -> str:
    name = f"target-{next(_names)}"
    api.key_for(Role.SERVICE, name)
    return name


def _customer(api: Api) -> str:
    """A new (anonymous) customer, known by a fresh e-mail address."""
    service = IdentityService(api.workspace, api.store, Ledger.open(api.workspace, api.store))
    email = f"matrix-{next(_names)}@example.org"
    customer_id = service.resolve({"email": email}, actor="test").customer_id
    _emails[customer_id] = email
    return customer_id


_emails: dict[str, str] = {}


def _email_of(customer_id: str) -> str:
    return _emails[customer_id]


@pytest.fixture(scope="module")
def matrix_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str]]]:
    """One app for the whole matrix, with a key for every role and a revoked key.

    The workspace holds a little CRM and billing data, so an identity run has work to do.
    """
    workspace = company_workspace(tmp_path_factory.mktemp("matrix"))
    for api in open_api(workspace):
        keys = {role.value: api.key_for(role, f"role-{role.value}") for role in Role}
        keys["revoked"] = api.key_for(Role.ADMIN, "revoked-admin")
        api.keys.revoke("revoked-admin", revoked_by="test")
        yield api, keys


def _call(api: Api, method: str, path: str, key: str | None, header: str = "bearer") -> Any:
    url, body = SAMPLES[(method, path)](api)
    headers: dict[str, str] = {}
    if key is not None:
        headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
    return api.client.request(method, url, json=body, headers=headers)


def test_every_v1_route_declares_a_permission_and_has_a_sample_request() -> None:
    assert ROUTES, "the app has no /v1 routes"
    for method, path, permission in ROUTES:
        assert permission in {p.value for p in Permission}, f"{method} {path} declares none"
    assert {(method, path) for method, path, _ in ROUTES} == set(SAMPLES)


def test_the_openapi_contract_names_each_operations_permission(
    matrix_api: tuple[Api, dict[str, str]],
) -> None:
    api, _ = matrix_api
    response = api.client.get("/openapi.json")  # served without a key
    assert response.status_code == 200
    operations = {
        (method.upper(), path): operation.get("x-permission")
        for path, item in response.json()["paths"].items()
        for method, operation in item.items()
    }
    for method, path, permission in ROUTES:
        if method != "HEAD":
            assert operations[(method, path)] == permission
    assert api.client.get("/docs").status_code == 200


@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_a_role_gets_exactly_the_routes_its_permissions_allow(
    matrix_api: tuple[Api, dict[str, str]], method: str, path: str, permission: str, role: str
) -> None:
    api, keys = matrix_api
    response = _call(api, method, path, keys[role])
    allowed = Permission(permission) in ROLE_PERMISSIONS[Role(role)]
    if allowed:
        assert response.status_code in (200, 201, 202, 204), response.text
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        assert permission in error["message"] and role in error["message"]


@pytest.mark.parametrize("credential", ["none", "malformed", "unknown", "revoked"])
@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_no_bad_or_revoked_key_gets_401(
    matrix_api: tuple[Api, dict[str, str]],
    method: str,
    path: str,
    permission: str,
    credential: str,
) -> None:
    del permission
    api, keys = matrix_api
    presented = {
        "none": None,
        "malformed": "not-a-key",
        "unknown": "aims_ak_0000000000000000_" + "x" * 43,
        "revoked": keys["revoked"],
    }[credential]
    response = _call(api, method, path, presented)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_the_key_may_come_in_the_x_api_key_header(
    matrix_api: tuple[Api, dict[str, str]],
) -> None:
    api, keys = matrix_api
    response = _call(api, "GET", "/v1/whoami", keys["analyst"], header="x-api-key")
    assert response.status_code == 200
    assert response.json()["role"] == "analyst"
