"""/v1/aims: the AI management system over HTTP, with reads, writes and who may do which.

``AIMS_SAMPLES`` holds one allowed request per route for the permission matrix
(tests/api/test_permission_matrix.py merges it into its ``SAMPLES``).
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from aimsight.aims._service import AimsService
from aimsight.security import Role
from aimsight.store import Ledger
from tests.api.conftest import Api


class Caller:
    """Keys per role on one API, and requests made with them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys = {role: api.key_for(role, f"a-{role.value}") for role in Role}

    def get(self, url: str, role: Role = Role.GOVERNANCE) -> Any:
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def send(self, method: str, url: str, body: object, role: Role = Role.GOVERNANCE) -> Any:
        return self.api.client.request(
            method, url, json=body, headers=self.api.auth(self.keys[role])
        )


@pytest.fixture
def caller(api: Api) -> Caller:
    return Caller(api)


def _aims(api: Api) -> AimsService:
    return AimsService(api.workspace, api.store, Ledger.open(api.workspace, api.store))


def test_a_governance_lead_keeps_the_records_over_the_api(caller: Caller) -> None:
    created = caller.send(
        "POST",
        "/v1/aims/systems",
        {"name": "churn", "kind": "model", "owner": "governance", "stakeholders": ["customers"]},
    )
    assert created.status_code == 201, created.text
    system = created.json()
    assert system["owner_role"] == "governance" and system["risk_level"] == "unassessed"
    sid = system["system_id"]
    assert [s["name"] for s in caller.get("/v1/aims/systems").json()["systems"]] == ["churn"]

    risk = caller.send(
        "POST",
        "/v1/aims/risks",
        {"risk": "Offers skip older customers", "source": "impact assessment", "owner": "gina",
         "likelihood": 3, "impact": 4, "system_id": sid, "treatment": "mitigate",
         "treatment_plan": "fairness gate", "controls": ["A.6.2.4"], "next_review": "2099-01-01"},
    )  # fmt: skip
    assert risk.status_code == 201, risk.text
    assert (risk.json()["level"], risk.json()["next_review"]) == ("medium", "2099-01-01")
    listed = caller.get(f"/v1/aims/risks?system_id={sid}").json()["risks"]
    assert [r["risk_id"] for r in listed] == [risk.json()["risk_id"]]

    assessment = caller.send(
        "POST",
        "/v1/aims/impact-assessments",
        {"system_id": sid, "affected": ["customers"], "harms": ["unfair offers"],
         "severity": "high", "mitigations": ["fairness gate"], "expires_on": "2099-01-01",
         "signed_off_by": "gina"},
    )  # fmt: skip
    assert assessment.status_code == 201, assessment.text
    assessments = caller.get("/v1/aims/impact-assessments").json()["assessments"]
    assert assessments[0]["signed_off_by"] == "gina"

    incident = caller.send(
        "POST", "/v1/aims/incidents", {"title": "Bad scores", "severity": "sev2"}
    )
    assert incident.status_code == 201 and incident.json()["status"] == "detected"
    assert len(caller.get("/v1/aims/incidents").json()["incidents"]) == 1

    concern = caller.send("POST", "/v1/aims/concerns", {"text": "It ignores me"}, Role.GOVERNANCE)
    assert concern.status_code == 201 and concern.json()["reporter"] is None
    assert caller.get("/v1/aims/concerns").json()["concerns"][0]["text"] == "It ignores me"
    assert caller.get("/v1/aims/nonconformities").json() == {"nonconformities": []}


def test_checks_run_and_read_back_with_their_trend(caller: Caller) -> None:
    assert caller.get("/v1/aims/checks").json()["run"] is None
    ran = caller.send("POST", "/v1/aims/checks", {"only": ["ledger_integrity", "A.3.2"]})
    assert ran.status_code == 201, ran.text
    assert [r["check_id"] for r in ran.json()["results"]] == [
        "owners_hold_roles",
        "ledger_integrity",
    ]
    caller.send("POST", "/v1/aims/checks", None)
    checks = caller.get("/v1/aims/checks").json()
    assert checks["run"]["counts"] and len(checks["results"]) == len(checks["trends"])
    ledger = next(t for t in checks["trends"] if t["check_id"] == "ledger_integrity")
    assert len(ledger["statuses"]) == 2 and ledger["latest"]["check_id"] == "ledger_integrity"
    bad = caller.send("POST", "/v1/aims/checks", {"only": ["no_such_check"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "only"
    rate = next(
        m
        for m in caller.get("/v1/aims/metrics").json()["metrics"]
        if m["metric"] == "checks.pass_rate"
    )
    assert rate["value"] is not None


def test_the_soa_in_json_and_as_files_and_a_decision_put(caller: Caller) -> None:
    put = caller.send(
        "PUT",
        "/v1/aims/soa/A.6.2.8",
        {"applicable": True, "justification": "Every decision is logged", "status": "implemented"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["updated_by"].startswith("api:")
    statement = caller.get("/v1/aims/soa").json()
    assert len(statement["rows"]) == 38
    row = next(r for r in statement["rows"] if r["control_id"] == "A.6.2.8")
    assert row["implementation_status"] == "implemented"
    pdf = caller.get("/v1/aims/soa?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    csv = caller.get("/v1/aims/soa?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "statement-of-applicability.csv" in csv.headers["content-disposition"]
    xlsx = caller.get("/v1/aims/soa?format=xlsx")
    assert zipfile.is_zipfile(io.BytesIO(xlsx.content))
    assert caller.get("/v1/aims/soa?format=docx").status_code == 422

    unknown = caller.send("PUT", "/v1/aims/soa/A.9.9", {"applicable": True, "justification": "x"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "control_id"
    contradictory = caller.send(
        "PUT",
        "/v1/aims/soa/A.2.2",
        {"applicable": False, "justification": "n/a here", "status": "implemented"},
    )
    assert contradictory.status_code == 422 and "not_applicable" in contradictory.text


def test_the_catalogue_and_the_evidence_pack(caller: Caller) -> None:
    catalogue = caller.get("/v1/aims/catalogue", Role.GOVERNANCE).json()
    assert sum(len(group["controls"]) for group in catalogue["annex_a"]) == 38
    pack = caller.send("POST", "/v1/aims/evidence-pack", None)
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        assert "manifest.json" in archive.namelist()
    entries = Ledger.open(caller.api.workspace, caller.api.store).entries(kind="aims.*")
    assert any(entry.actor.startswith("api:") for entry in entries)


def test_audits_and_reviews_are_open_to_auditors_but_aims_records_are_not(
    caller: Caller,
) -> None:
    aims = _aims(caller.api)
    aims.review_pack(actor="cli:gina", attendees=["gina"])
    reviews = caller.get("/v1/aims/reviews", Role.PRIVACY)
    assert reviews.status_code == 200 and len(reviews.json()["reviews"]) == 1
    assert caller.get("/v1/aims/audits", Role.PRIVACY).json() == {"programmes": [], "audits": []}
    refused = caller.get("/v1/aims/systems", Role.PRIVACY)
    assert refused.status_code == 403 and "aims:read" in refused.json()["error"]["message"]
    analyst = caller.send("POST", "/v1/aims/systems", {"name": "x"}, Role.ANALYST)
    assert analyst.status_code == 403
    assert caller.get("/v1/aims/soa", Role.SERVICE).status_code == 403
    assert caller.api.client.get("/v1/aims/checks").status_code == 401
    assert caller.send("POST", "/v1/aims/checks", {}, Role.AGENT).status_code == 403


def test_a_malformed_body_names_the_field(caller: Caller) -> None:
    response = caller.send(
        "POST",
        "/v1/aims/impact-assessments",
        {"system_id": "ais_missing", "affected": [], "harms": ["x"], "severity": "grave",
         "expires_on": "soon"},
    )  # fmt: skip
    assert response.status_code == 422
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert {"body.affected", "body.severity", "body.expires_on"} <= fields
    missing = caller.send(
        "POST",
        "/v1/aims/impact-assessments",
        {"system_id": "ais_missing", "affected": ["a"], "harms": ["x"], "severity": "low",
         "expires_on": "2099-01-01"},
    )  # fmt: skip
    assert missing.status_code == 404 and "ais_missing" in missing.json()["error"]["message"]


# -- one allowed request per route, for tests/api/test_permission_matrix.py ------------------

_names = itertools.count()


def _system(api: Api) -> str:
    """A new AI system's id."""
    return _aims(api).records.create_system(f"sample-{next(_names)}", actor="test").system_id


AIMS_SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = {
    ("GET", "/v1/aims/catalogue"): lambda _api: ("/v1/aims/catalogue", None),
    ("GET", "/v1/aims/soa"): lambda _api: ("/v1/aims/soa", None),
    ("PUT", "/v1/aims/soa/{control_id}"): lambda _api: (
        "/v1/aims/soa/A.6.2.8",
        {"applicable": True, "justification": "Every decision is logged", "status": "partial"},
    ),
    ("POST", "/v1/aims/checks"): lambda _api: ("/v1/aims/checks", {"only": ["ledger_integrity"]}),
    ("GET", "/v1/aims/checks"): lambda _api: ("/v1/aims/checks", None),
    ("GET", "/v1/aims/metrics"): lambda _api: ("/v1/aims/metrics", None),
    ("GET", "/v1/aims/systems"): lambda _api: ("/v1/aims/systems", None),
    ("POST", "/v1/aims/systems"): lambda _api: (
        "/v1/aims/systems",
        {"name": f"matrix-{next(_names)}", "kind": "other"},
    ),
    ("GET", "/v1/aims/risks"): lambda _api: ("/v1/aims/risks", None),
    ("POST", "/v1/aims/risks"): lambda _api: (
        "/v1/aims/risks",
        {"risk": "Drift", "source": "audit", "owner": "gina", "likelihood": 2, "impact": 2},
    ),
    ("GET", "/v1/aims/impact-assessments"): lambda _api: ("/v1/aims/impact-assessments", None),
    ("POST", "/v1/aims/impact-assessments"): lambda api: (
        "/v1/aims/impact-assessments",
        {
            "system_id": _system(api),
            "affected": ["customers"],
            "harms": ["unfair offers"],
            "severity": "low",
            "expires_on": "2099-01-01",
        },
    ),  # fmt: skip
    ("GET", "/v1/aims/incidents"): lambda _api: ("/v1/aims/incidents", None),
    ("POST", "/v1/aims/incidents"): lambda _api: (
        "/v1/aims/incidents",
        {"title": "Scores drifted", "severity": "sev3"},
    ),
    ("GET", "/v1/aims/nonconformities"): lambda _api: ("/v1/aims/nonconformities", None),
    ("GET", "/v1/aims/concerns"): lambda _api: ("/v1/aims/concerns", None),
    ("POST", "/v1/aims/concerns"): lambda _api: ("/v1/aims/concerns", {"text": "Unfair?"}),
    ("GET", "/v1/aims/audits"): lambda _api: ("/v1/aims/audits", None),
    ("GET", "/v1/aims/reviews"): lambda _api: ("/v1/aims/reviews", None),
    ("POST", "/v1/aims/evidence-pack"): lambda _api: ("/v1/aims/evidence-pack", None),
}
