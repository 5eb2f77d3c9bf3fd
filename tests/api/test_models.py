"""/v1/models: training declared models, inventory, versions, cards, validation, approval as
the caller, promotion, rollback, history and scoring with the signature enforced.

Training runs on the company of tests/api/test_features.py (resolved once per module, copied
per test) with the small models.yaml of the CLI tests.

``MODEL_SAMPLES`` holds one allowed request per route for the permission matrix
(tests/api/test_permission_matrix.py merges it into its ``SAMPLES``).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import Workspace
from aimsight.registry import ModelRegistry, Principal
from aimsight.security import Role
from aimsight.store import Ledger
from tests.api.conftest import Api, open_api
from tests.api.test_features import activity_workspace, resolved
from tests.cli.test_models_cmds import SEGMENTS_YAML
from tests.registry._fakes import ROW, register

RATIONALE = "Gates met and the card was reviewed with retention."


def _registry(api: Api) -> ModelRegistry:
    return ModelRegistry(api.workspace, api.store, Ledger.open(api.workspace, api.store))


class Caller:
    """Keys per role on one API, and requests made with them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys = {role: api.key_for(role, f"m-{role.value}") for role in Role}

    def get(self, url: str, role: Role = Role.ANALYST) -> Any:
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def post(self, url: str, body: object, role: Role) -> Any:
        return self.api.client.post(url, json=body, headers=self.api.auth(self.keys[role]))


@pytest.fixture
def caller(api: Api) -> Caller:
    """An API with churn v1 registered (trained by cli:alice) and a key for every role."""
    register(_registry(api))
    return Caller(api)


def _approve(caller: Caller, version: int = 1) -> None:
    base = f"/v1/models/churn/versions/{version}"
    validated = caller.post(f"{base}/validate", None, Role.DATA_ENGINEER)
    assert validated.status_code == 200 and validated.json()["passed"], validated.text
    approved = caller.post(f"{base}/approve", {"rationale": RATIONALE}, Role.GOVERNANCE)
    assert approved.status_code == 200, approved.text


def test_the_lifecycle_over_the_api(caller: Caller) -> None:
    listed = caller.get("/v1/models").json()["models"]
    assert [(m["name"], m["stages"]) for m in listed] == [("churn", {"draft": 1})]
    validated = caller.post("/v1/models/churn/versions/1/validate", None, Role.DATA_ENGINEER)
    report = validated.json()
    assert report["passed"] and report["stage"] == "validated"
    assert (
        report["actor"]
        == f"api:{caller.api.keys.authenticate(caller.keys[Role.DATA_ENGINEER]).key_id}"
    )
    approved = caller.post(
        "/v1/models/churn/versions/1/approve", {"rationale": RATIONALE}, Role.GOVERNANCE
    ).json()
    assert (approved["approver"], approved["approver_role"]) == ("m-governance", "governance")
    for body in ({"to": "shadow"}, {"to": "canary", "share": 0.2}, {"to": "production"}):
        moved = caller.post("/v1/models/churn/versions/1/promote", body, Role.DATA_ENGINEER)
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == body["to"]
    detail = caller.get("/v1/models/churn").json()
    assert detail["serving"] == {
        "name": "churn",
        "champion": 1,
        "canary": None,
        "canary_share": None,
        "shadows": [],
    }
    champion = caller.get("/v1/models/churn/versions/champion").json()
    assert champion["version"] == 1 and champion["aliases"] == ["champion"]
    assert champion["data_snapshot"] and champion["features"][0]["name"] == "tenure_days"
    history = caller.get("/v1/models/churn/history").json()
    assert [t["action"] for t in history["transitions"]] == [
        "register",
        "validate",
        "approve",
        "promote",
        "promote",
        "promote",
    ]
    assert history["production"][0]["version"] == 1


def test_rollback_over_the_api(caller: Caller) -> None:
    _approve(caller)
    exception = {"to": "production", "exception": "Pilot customers need it this week"}
    assert (
        caller.post("/v1/models/churn/versions/1/promote", exception, Role.ADMIN).status_code == 200
    )
    register(_registry(caller.api))
    _approve(caller, 2)
    assert (
        caller.post("/v1/models/churn/versions/2/promote", exception, Role.ADMIN).status_code == 200
    )
    back = caller.post("/v1/models/churn/rollback", {"reason": "v2 misfires"}, Role.DATA_ENGINEER)
    assert back.status_code == 200 and back.json()["version"] == 1
    production = caller.get("/v1/models/churn/history").json()["production"]
    assert [(p["version"], p["via"]) for p in production] == [
        (1, "promote"),
        (2, "promote"),
        (1, "rollback"),
    ]
    again = caller.post("/v1/models/churn/rollback", {"reason": "again"}, Role.DATA_ENGINEER)
    assert again.status_code == 409 and "no earlier production version" in again.text


def test_self_approval_is_a_403_naming_separation_of_duties(api: Api) -> None:
    register(_registry(api), trainer="gina")
    key = api.key_for(Role.GOVERNANCE, "gina")
    _registry(api).validate("churn", 1, actor="gina")
    response = api.client.post(
        "/v1/models/churn/versions/1/approve", json={"rationale": RATIONALE}, headers=api.auth(key)
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and "separation of duties" in error["message"]


def test_approval_refusals(caller: Caller) -> None:
    url = "/v1/models/churn/versions/1/approve"
    draft = caller.post(url, {"rationale": RATIONALE}, Role.GOVERNANCE)
    assert draft.status_code == 409 and "only a validated version" in draft.text
    short = caller.post(url, {"rationale": "ok"}, Role.GOVERNANCE)
    assert (
        short.status_code == 422
        and short.json()["error"]["details"][0]["field"] == "body.rationale"
    )
    engineer = caller.post(url, {"rationale": RATIONALE}, Role.DATA_ENGINEER)
    assert engineer.status_code == 403 and "models:approve" in engineer.text


def test_scoring_the_champion_with_reasons(caller: Caller) -> None:
    _approve(caller)
    caller.post("/v1/models/churn/versions/1/promote", {"to": "shadow"}, Role.DATA_ENGINEER)
    caller.post("/v1/models/churn/versions/1/promote", {"to": "production"}, Role.DATA_ENGINEER)
    body = {"rows": [ROW, dict(ROW, plan="family")], "explain": True, "top": 2}
    response = caller.post("/v1/models/churn/score", body, Role.AGENT)
    assert response.status_code == 200, response.text
    scored = response.json()
    assert (scored["version"], scored["stage"]) == (1, "production")
    assert len(scored["scores"]) == 2 and 0 < scored["scores"][0]["probability"] < 1
    assert [c["feature"] for c in scored["contributions"][0]] == ["failed_payments", "tenure_days"]
    assert scored["unseen_categories"] == {"plan": ["family"]}
    by_number = caller.post("/v1/models/churn/score", {"rows": [ROW], "ref": "1"}, Role.SERVICE)
    assert by_number.status_code == 200 and by_number.json()["contributions"] is None


def _shadow(caller: Caller) -> None:
    _approve(caller)
    moved = caller.post("/v1/models/churn/versions/1/promote", {"to": "shadow"}, Role.ADMIN)
    assert moved.status_code == 200, moved.text


def test_bad_scoring_input_is_a_json_error_naming_the_fields(caller: Caller) -> None:
    _shadow(caller)
    body = {"rows": [dict(ROW, tenure_days="long", coupon="X")], "ref": "latest"}
    response = caller.post("/v1/models/churn/score", body, Role.AGENT)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "signature_mismatch"
    assert "tenure_days expects integer but row 0 has text" in error["message"]
    assert "unexpected coupon" in error["message"]
    assert error["details"][0]["field"] == "coupon, tenure_days"
    too_many = caller.post("/v1/models/churn/score", {"rows": [ROW] * 1001}, Role.AGENT)
    assert too_many.status_code == 422 and "body.rows" in too_many.text
    no_champion = caller.post("/v1/models/churn/score", {"rows": [ROW]}, Role.AGENT)
    assert no_champion.status_code == 404 and "no champion yet" in no_champion.text
    unknown = caller.post("/v1/models/upsell/score", {"rows": [ROW]}, Role.AGENT)
    assert unknown.status_code == 404


def test_only_a_serving_version_scores(caller: Caller) -> None:
    draft = caller.post("/v1/models/churn/score", {"rows": [ROW], "ref": "1"}, Role.AGENT)
    assert draft.status_code == 409
    assert "churn:v1 is draft; only versions in shadow, canary or production" in draft.text
    _shadow(caller)
    shadow = caller.post("/v1/models/churn/score", {"rows": [ROW], "ref": "1"}, Role.AGENT)
    assert shadow.status_code == 200 and shadow.json()["stage"] == "shadow"


def test_a_tampered_artifact_is_refused_over_the_api(caller: Caller) -> None:
    _shadow(caller)
    version = _registry(caller.api).version("churn", 1)
    (caller.api.workspace.root / version.artifact_path).write_bytes(b"not the model")
    response = caller.post("/v1/models/churn/score", {"rows": [ROW], "ref": "1"}, Role.AGENT)
    assert response.status_code == 409
    assert "has changed since it was registered" in response.json()["error"]["message"]


def test_the_card_in_three_formats(caller: Caller) -> None:
    base = "/v1/models/churn/versions/latest/card"
    as_json = caller.get(base)
    assert as_json.status_code == 200 and as_json.json()["model_details"]["version"] == 1
    markdown = caller.get(f"{base}?format=markdown")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Model card: churn v1")
    page = caller.get(f"{base}?format=html")
    assert page.headers["content-type"].startswith("text/html") and "<svg" in page.text
    assert caller.get(f"{base}?format=pdf").status_code == 422


def test_unknown_models_and_versions_are_404_or_422(caller: Caller) -> None:
    assert caller.get("/v1/models/upsell").status_code == 404
    missing = caller.get("/v1/models/churn/versions/7")
    assert missing.status_code == 404 and "its versions are 1 to 1" in missing.text
    assert caller.get("/v1/models/churn/versions/best").status_code == 422
    bad_share = caller.post(
        "/v1/models/churn/versions/1/promote", {"to": "canary", "share": 2}, Role.DATA_ENGINEER
    )
    assert bad_share.status_code == 422


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resolved company with data to train on (once per module); read-only."""
    return activity_workspace(tmp_path_factory.mktemp("models-api")).root


@pytest.fixture
def trainable(company: Path, tmp_path: Path) -> Iterator[Caller]:
    """An API on a private copy of the company whose models.yaml declares two segmentations."""
    root = shutil.copytree(company, tmp_path / "ws")
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "models.yaml").write_text(SEGMENTS_YAML, encoding="utf-8")
    for api in open_api(Workspace.open(root)):
        yield Caller(api)


def test_training_over_the_api_registers_and_validates(trainable: Caller) -> None:
    declared = trainable.get("/v1/declared-models").json()
    assert declared["file"] == "models/models.yaml"
    assert [(m["name"], m["latest_version"]) for m in declared["models"]] == [
        ("segments", None),
        ("segments-strict", None),
    ]
    response = trainable.post("/v1/models/segments/train", None, Role.DATA_ENGINEER)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["model"], result["version"], result["stage"]) == ("segments", 1, "validated")
    assert result["validated"] and result["validation"]["passed"]
    key_id = trainable.api.keys.authenticate(trainable.keys[Role.DATA_ENGINEER]).key_id
    assert result["validation"]["actor"] == f"api:{key_id}"
    assert result["training_rows"] == 40 and result["metrics"]["stability_ari"] >= 0.5
    version = trainable.get("/v1/models/segments/versions/1").json()
    assert version["trainer"] == f"api:{key_id}" and version["stage"] == "validated"
    declared = trainable.get("/v1/declared-models").json()
    assert [m["latest_version"] for m in declared["models"]] == [1, None]

    strict = trainable.post("/v1/models/segments-strict/train", None, Role.ADMIN).json()
    assert (strict["stage"], strict["validated"]) == ("draft", False)
    failed = [c["check"] for c in strict["validation"]["checks"] if not c["passed"]]
    assert failed == ["gate:smallest_segment_share"]


def test_training_refusals(trainable: Caller) -> None:
    undeclared = trainable.post("/v1/models/upsell/train", None, Role.DATA_ENGINEER)
    assert undeclared.status_code == 404
    assert "no model named 'upsell' is declared" in undeclared.json()["error"]["message"]
    refused = trainable.post("/v1/models/segments/train", None, Role.GOVERNANCE)
    assert refused.status_code == 403 and "'models:train'" in refused.text
    # A declaration the data cannot train: the first feature is the same for every customer.
    path = trainable.api.workspace.root / "models" / "models.yaml"
    text = path.read_text(encoding="utf-8").replace("[payments_365d,", "[tenure_days,", 1)
    path.write_text(text, encoding="utf-8")
    unfit = trainable.post("/v1/models/segments/train", None, Role.DATA_ENGINEER)
    assert unfit.status_code == 422, unfit.text
    assert "'tenure_days' has the same value in every row" in unfit.json()["error"]["message"]
    assert trainable.get("/v1/models").json()["models"] == []  # nothing was registered


# -- samples for the permission matrix ----------------------------------------------------------

_names = itertools.count()


def _fresh(api: Api, stage: str) -> tuple[str, int]:
    """A new model (own name) brought to ``stage``: draft, validated or approved."""
    registry = _registry(api)
    name = f"matrix-{next(_names)}"
    register(registry, name, trainer="cli:matrix-trainer")
    if stage in ("validated", "approved"):
        registry.validate(name, 1, actor="matrix")
    if stage == "approved":
        registry.approve(
            name, 1, approver=Principal("matrix-approver", Role.GOVERNANCE), rationale=RATIONALE
        )
    return name, 1


def _with_two_champions(api: Api) -> str:
    registry = _registry(api)
    name, _ = _fresh(api, "approved")
    exception = "matrix sample skips shadow and canary"
    registry.promote(name, 1, to="production", actor="matrix", exception=exception)
    register(registry, name, trainer="cli:matrix-trainer")
    registry.validate(name, 2, actor="matrix")
    registry.approve(
        name, 2, approver=Principal("matrix-approver", Role.GOVERNANCE), rationale=RATIONALE
    )
    registry.promote(name, 2, to="production", actor="matrix", exception=exception)
    return name


_champions: dict[str, str] = {}


def _champion(api: Api) -> str:
    """One model with a champion per workspace, made on first use."""
    key = str(api.workspace.root)
    if key not in _champions:
        name, _ = _fresh(api, "approved")
        _registry(api).promote(
            name, 1, to="production", actor="matrix", exception="matrix sample champion"
        )
        _champions[key] = name
    return _champions[key]


_MATRIX_MODELS = """version: 1
models:
  - name: matrix-segments
    kind: segmentation
    description: Customers with and without a billing account.
    features: [billing_accounts]
    settings: {k_min: 2, k_max: 2, stability_bootstrap: 0}
    gates:
      n_segments: {min: 2}
    card: {owner: Matrix team}
"""


def _trainable(api: Api) -> str:
    """A declared model the workspace's data (CRM and billing only) can train."""
    path = api.workspace.root / "models" / "models.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_MATRIX_MODELS, encoding="utf-8")
        resolved(api)
    return "matrix-segments"


def _sample(method: str, path: str, make: Callable[[Api], tuple[str, object]]) -> Any:
    return (method, path), make


MODEL_SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = dict(
    [
        _sample("GET", "/v1/models", lambda _api: ("/v1/models", None)),
        _sample("GET", "/v1/models/{name}", lambda api: (f"/v1/models/{_champion(api)}", None)),
        _sample(
            "GET",
            "/v1/models/{name}/versions/{version}",
            lambda api: (f"/v1/models/{_champion(api)}/versions/champion", None),
        ),
        _sample(
            "GET",
            "/v1/models/{name}/versions/{version}/card",
            lambda api: (f"/v1/models/{_champion(api)}/versions/1/card?format=markdown", None),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/versions/{version}/validate",
            lambda api: (f"/v1/models/{_fresh(api, 'draft')[0]}/versions/1/validate", None),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/versions/{version}/approve",
            lambda api: (
                f"/v1/models/{_fresh(api, 'validated')[0]}/versions/1/approve",
                {"rationale": RATIONALE},
            ),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/versions/{version}/promote",
            lambda api: (
                f"/v1/models/{_fresh(api, 'approved')[0]}/versions/1/promote",
                {"to": "shadow"},
            ),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/versions/{version}/retire",
            lambda api: (
                f"/v1/models/{_fresh(api, 'draft')[0]}/versions/1/retire",
                {"reason": "matrix"},
            ),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/rollback",
            lambda api: (f"/v1/models/{_with_two_champions(api)}/rollback", {"reason": "matrix"}),
        ),
        _sample(
            "GET",
            "/v1/models/{name}/history",
            lambda api: (f"/v1/models/{_champion(api)}/history", None),
        ),
        _sample(
            "POST",
            "/v1/models/{name}/score",
            lambda api: (f"/v1/models/{_champion(api)}/score", {"rows": [ROW]}),
        ),
        _sample("GET", "/v1/declared-models", lambda _api: ("/v1/declared-models", None)),
        _sample(
            "POST",
            "/v1/models/{name}/train",
            lambda api: (f"/v1/models/{_trainable(api)}/train", None),
        ),
    ]
)


def test_model_samples_cover_every_models_route() -> None:
    from aimsight.api._routes import models

    routes = {
        (method, route.path)
        for route in models.router.routes
        for method in getattr(route, "methods", ())
    }
    assert routes == set(MODEL_SAMPLES)
