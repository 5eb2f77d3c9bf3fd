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


def test_policy_roles_objectives_and_suppliers_over_the_api(caller: Caller) -> None:
    policy = caller.send(
        "POST",
        "/v1/aims/policies",
        {"text": "We use AI fairly.", "approved_by": "board", "effective": "2020-01-01",
         "next_review": "2099-01-01"},
    )  # fmt: skip
    assert policy.status_code == 201, policy.text
    assert policy.json()["version"] == 1 and policy.json()["created_by"].startswith("api:")
    listed = caller.get("/v1/aims/policies").json()
    assert listed["current_version"] == 1 and len(listed["versions"]) == 1
    backwards = caller.send(
        "POST",
        "/v1/aims/policies",
        {"text": "v2", "approved_by": "board", "effective": "2030-01-01",
         "next_review": "2029-01-01"},
    )  # fmt: skip
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"][0]["field"] == "next_review"

    roles = {row["role"]: row for row in caller.get("/v1/aims/roles").json()["roles"]}
    assert "aims:write" in roles["governance"]["permissions"]
    assert (
        "a-governance" in roles["governance"]["holders"] and roles["governance"]["responsibilities"]
    )

    objective = caller.send(
        "POST",
        "/v1/aims/objectives",
        {"objective": "Keep the ledger growing", "owner": "gina", "metric": "ledger.entries",
         "target": 1},
    )  # fmt: skip
    assert objective.status_code == 201, objective.text
    oid = objective.json()["objective_id"]
    live = caller.send("POST", f"/v1/aims/objectives/{oid}/kpi", None)
    assert live.status_code == 201 and live.json()["value"] >= 1, live.text
    given = caller.send("POST", f"/v1/aims/objectives/{oid}/kpi", {"value": 0.5})
    assert given.status_code == 201 and given.json()["value"] == 0.5
    listed_objective = caller.get("/v1/aims/objectives").json()["objectives"][0]
    assert listed_objective["latest"]["value"] == 0.5 and listed_objective["met"] is False
    trend = caller.get(f"/v1/aims/objectives/{oid}/kpi").json()["readings"]
    assert [r["value"] for r in trend][-1] == 0.5 and len(trend) == 2
    assert caller.get("/v1/aims/objectives/obj_missing/kpi").status_code == 404
    assert (
        caller.send("POST", "/v1/aims/objectives/obj_missing/kpi", {"value": 1}).status_code == 404
    )
    for metric, field in (("ingest.pass_rate", "value"), ("no.such_metric", "metric")):
        unbound = caller.send(
            "POST",
            "/v1/aims/objectives",
            {"objective": "x", "owner": "gina", "metric": metric, "target": 1},
        )
        url = f"/v1/aims/objectives/{unbound.json()['objective_id']}/kpi"
        no_value = caller.send("POST", url, {})
        assert no_value.status_code == 422, no_value.text
        assert no_value.json()["error"]["details"][0]["field"] == field
    bad_metric = caller.send(
        "POST", "/v1/aims/objectives", {"objective": "x", "owner": "g", "metric": "Not A Name",
                                        "target": 1},
    )  # fmt: skip
    assert bad_metric.json()["error"]["details"][0]["field"] == "metric"

    supplier = caller.send(
        "POST",
        "/v1/aims/suppliers",
        {"component": "scikit-learn", "supplier": "open source", "assessed_by": "gina",
         "outcome": "approved", "next_review": "2099-01-01"},
    )  # fmt: skip
    assert supplier.status_code == 201, supplier.text
    conditions = caller.send(
        "POST",
        "/v1/aims/suppliers",
        {"component": "splink", "supplier": "MoJ", "assessed_by": "gina",
         "outcome": "approved_with_conditions"},
    )  # fmt: skip
    assert conditions.status_code == 422
    assert conditions.json()["error"]["details"][0]["field"] == "notes"
    unknown_outcome = caller.send(
        "POST",
        "/v1/aims/suppliers",
        {"component": "x", "supplier": "y", "assessed_by": "z", "outcome": "fine"},
    )
    assert unknown_outcome.json()["error"]["details"][0]["field"] == "body.outcome"
    found = caller.get("/v1/aims/suppliers?component=scikit-learn").json()["assessments"]
    assert [a["component"] for a in found] == ["scikit-learn"]
    assert caller.get("/v1/aims/suppliers?component=none").json() == {"assessments": []}


def test_an_incident_response_and_a_nonconformity_closed_over_the_api(caller: Caller) -> None:
    iid = caller.send("POST", "/v1/aims/incidents", {"title": "Drift", "severity": "sev2"}).json()[
        "incident_id"
    ]
    step = caller.send(
        "POST", f"/v1/aims/incidents/{iid}/steps", {"step": "contained", "note": "rolled back"}
    )
    assert step.status_code == 201 and step.json()["status"] == "contained", step.text
    assert [s["step"] for s in step.json()["timeline"]] == ["detected", "contained"]
    again = caller.send("POST", f"/v1/aims/incidents/{iid}/steps", {"step": "acknowledged"})
    assert again.status_code == 409
    bad = caller.send("POST", f"/v1/aims/incidents/{iid}/steps", {"step": "panicked"})
    assert bad.json()["error"]["details"][0]["field"] == "body.step"
    told = caller.send(
        "POST",
        f"/v1/aims/incidents/{iid}/communications",
        {"audience": "customers", "message": "We fixed it"},
    )
    assert told.status_code == 201 and told.json()["communications"][0]["audience"] == "customers"
    assert (
        caller.send(
            "POST", "/v1/aims/incidents/inc_missing/steps", {"step": "resolved"}
        ).status_code
        == 404
    )

    nc = caller.send(
        "POST",
        "/v1/aims/nonconformities",
        {"description": "Model went live unmonitored", "source": "incident", "source_ref": iid},
    )
    assert nc.status_code == 201, nc.text
    nc_id = nc.json()["nc_id"]
    early = caller.send("POST", f"/v1/aims/nonconformities/{nc_id}/close", None)
    assert early.status_code == 409 and "root cause" in early.json()["error"]["message"]
    cause = caller.send(
        "PUT", f"/v1/aims/nonconformities/{nc_id}/root-cause", {"root_cause": "No gate"}
    )
    assert cause.json()["root_cause"] == "No gate"
    action = caller.send(
        "POST",
        f"/v1/aims/nonconformities/{nc_id}/actions",
        {"action": "Add a monitor gate", "owner": "dan", "due": "2099-01-01"},
    )
    assert action.status_code == 201 and action.json()["status"] == "open", action.text
    bad_due = caller.send(
        "POST", f"/v1/aims/nonconformities/{nc_id}/actions",
        {"action": "x", "owner": "dan", "due": "someday"},
    )  # fmt: skip
    assert bad_due.json()["error"]["details"][0]["field"] == "body.due"
    open_actions = caller.send("POST", f"/v1/aims/nonconformities/{nc_id}/close", None)
    assert open_actions.status_code == 409
    done = caller.send(
        "POST", f"/v1/aims/corrective-actions/{action.json()['action_id']}/complete", None
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    check = caller.send(
        "POST",
        f"/v1/aims/nonconformities/{nc_id}/effectiveness",
        {"effective": True, "result": "Gate blocked a bad model", "checked_by": "gina"},
    )
    assert check.status_code == 201 and check.json()["effective"] is True, check.text
    closed = caller.send("POST", f"/v1/aims/nonconformities/{nc_id}/close", None)
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    assert closed.json()["closed_by"].startswith("api:")
    assert caller.send("POST", "/v1/aims/nonconformities/nc_missing/close", None).status_code == 404

    cid = caller.send("POST", "/v1/aims/concerns", {"text": "Unfair?"}).json()["concern_id"]
    no_outcome = caller.send("POST", f"/v1/aims/concerns/{cid}/triage", {"status": "closed"})
    assert no_outcome.json()["error"]["details"][0]["field"] == "outcome"
    triaged = caller.send(
        "POST", f"/v1/aims/concerns/{cid}/triage", {"status": "closed", "outcome": "Checked"}
    )
    assert triaged.json()["status"] == "closed"


def test_an_internal_audit_from_programme_to_nonconformity(caller: Caller) -> None:
    programme = caller.send(
        "POST",
        "/v1/aims/audit-programmes",
        {"period_start": "2026-01-01", "period_end": "2026-12-31", "scope": "all AI systems",
         "criteria": "ISO/IEC 42001"},
    )  # fmt: skip
    assert programme.status_code == 201, programme.text
    pid = programme.json()["programme_id"]
    reversed_period = caller.send(
        "POST",
        "/v1/aims/audit-programmes",
        {"period_start": "2026-12-31", "period_end": "2026-01-01", "scope": "s", "criteria": "c"},
    )
    assert reversed_period.json()["error"]["details"][0]["field"] == "period_end"
    auditors = caller.get("/v1/aims/audit-programmes", Role.PRIVACY).json()["programmes"]
    assert [p["programme_id"] for p in auditors] == [pid]

    planned = caller.send(
        "POST",
        "/v1/aims/audits",
        {"programme_id": pid, "title": "Q1 audit", "scope": "churn", "auditor": "ian",
         "planned_on": "2026-03-01", "questions": ["Is the policy known to staff?"]},
    )  # fmt: skip
    assert planned.status_code == 201, planned.text
    audit = planned.json()
    aid = audit["audit_id"]
    assert audit["status"] == "planned" and audit["checklist"][-1]["question"]
    assert sum(item["check_id"] is not None for item in audit["checklist"]) >= 10
    missing_programme = caller.send(
        "POST",
        "/v1/aims/audits",
        {"programme_id": "apg_missing", "title": "t", "scope": "s", "auditor": "a",
         "planned_on": "2026-03-01"},
    )  # fmt: skip
    assert missing_programme.status_code == 404

    ran = caller.send("POST", f"/v1/aims/audits/{aid}/run", None)
    assert ran.status_code == 200 and ran.json()["status"] == "in_progress", ran.text
    automated = [item for item in ran.json()["checklist"] if item["check_id"] is not None]
    assert all(item["result"] is not None for item in automated)
    question = ran.json()["checklist"][-1]
    answered = caller.send(
        "POST",
        f"/v1/aims/checklist-items/{question['item_id']}/answer",
        {"result": "nonconforming", "answer": "Nobody had read it"},
    )
    assert answered.status_code == 200 and answered.json()["answered_by"].startswith("api:")

    finding = caller.send(
        "POST",
        f"/v1/aims/audits/{aid}/findings",
        {"severity": "minor", "text": "Policy unknown", "item_id": question["item_id"],
         "raise_nonconformity": True},
    )  # fmt: skip
    assert finding.status_code == 201, finding.text
    raised = finding.json()["nonconformity"]
    assert (
        raised["source"] == "audit_finding"
        and finding.json()["finding"]["nc_id"] == raised["nc_id"]
    )
    plain = caller.send(
        "POST", f"/v1/aims/audits/{aid}/findings", {"severity": "opportunity", "text": "Automate"}
    )
    assert plain.json()["nonconformity"] is None
    bad = caller.send("POST", f"/v1/aims/audits/{aid}/findings", {"severity": "grave", "text": "x"})
    assert bad.json()["error"]["details"][0]["field"] == "body.severity"
    assert caller.send("POST", "/v1/aims/audits/aud_missing/run", None).status_code == 404

    no_date = caller.send("PATCH", f"/v1/aims/audits/{aid}", {"status": "completed"})
    assert no_date.json()["error"]["details"][0]["field"] == "held_on"
    completed = caller.send(
        "PATCH", f"/v1/aims/audits/{aid}", {"status": "completed", "held_on": "2026-03-02"}
    )
    assert completed.json()["status"] == "completed"
    assert caller.send("POST", f"/v1/aims/audits/{aid}/run", None).status_code == 409
    read = caller.get(f"/v1/aims/audits/{aid}", Role.PRIVACY).json()
    assert len(read["findings"]) == 2


def test_a_management_review_is_held_and_its_actions_closed(caller: Caller) -> None:
    held = caller.send("POST", "/v1/aims/reviews", {"attendees": ["gina", "ceo"]})
    assert held.status_code == 201, held.text
    pack = held.json()
    assert pack["review"]["attendees"] == ["gina", "ceo"]
    assert pack["pack_sha256"] == pack["review"]["pack_sha256"] and len(pack["pack_sha256"]) == 64
    pdf = caller.api.workspace.root / pack["pdf_path"]
    assert pdf.read_bytes().startswith(b"%PDF")
    assert (caller.api.workspace.root / pack["html_path"]).is_file()
    future = caller.send("POST", "/v1/aims/reviews", {"since": "2999-01-01"})
    assert future.json()["error"]["details"][0]["field"] == "since"

    rid = pack["review"]["review_id"]
    action = caller.send(
        "POST",
        f"/v1/aims/reviews/{rid}/actions",
        {"decision": "Hire a second approver", "owner": "ceo", "due": "2099-01-01"},
    )
    assert action.status_code == 201 and action.json()["status"] == "open", action.text
    assert caller.send(
        "POST", "/v1/aims/reviews/mrv_missing/actions",
        {"decision": "x", "owner": "y", "due": "2099-01-01"},
    ).status_code == 404  # fmt: skip
    listed = caller.get("/v1/aims/review-actions?status=open", Role.PRIVACY).json()["actions"]
    assert [a["action_id"] for a in listed] == [action.json()["action_id"]]
    aid = action.json()["action_id"]
    closed = caller.send("POST", f"/v1/aims/review-actions/{aid}/close", {"outcome": "Hired"})
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "Hired"
    twice = caller.send("POST", f"/v1/aims/review-actions/{aid}/close", {"outcome": "Again"})
    assert twice.status_code == 409
    assert caller.get("/v1/aims/review-actions?status=open").json() == {"actions": []}
    reviews = caller.get("/v1/aims/reviews").json()["reviews"]
    assert reviews[0]["actions"][0]["outcome"] == "Hired"
    refused = caller.send("POST", "/v1/aims/reviews", None, Role.PRIVACY)
    assert refused.status_code == 403


# -- one allowed request per route, for tests/api/test_permission_matrix.py ------------------

_names = itertools.count()


def _system(api: Api) -> str:
    """A new AI system's id."""
    return _aims(api).records.create_system(f"sample-{next(_names)}", actor="test").system_id


def _incident(api: Api) -> str:
    return _aims(api).records.open_incident("sample", actor="test", severity="sev3").incident_id


def _nonconformity(api: Api, *, ready_to_close: bool = False) -> str:
    records = _aims(api).records
    nc_id = records.raise_nonconformity(
        "sample", actor="test", source="other", root_cause="cause"
    ).nc_id
    if ready_to_close:
        records.record_effectiveness_check(
            nc_id, actor="test", effective=True, result="worked", checked_by="gina"
        )
    return nc_id


def _corrective_action(api: Api) -> str:
    records = _aims(api).records
    return records.add_corrective_action(
        _nonconformity(api), actor="test", action="fix", owner="dan", due="2099-01-01"
    ).action_id


def _objective(api: Api) -> str:
    return (
        _aims(api)
        .records.add_objective("sample", actor="test", owner="g", metric="ledger.entries", target=1)
        .objective_id
    )


def _programme(api: Api) -> str:
    return (
        _aims(api)
        .records.add_audit_programme(
            actor="test",
            period_start="2026-01-01",
            period_end="2026-12-31",
            scope="s",
            criteria="c",
        )
        .programme_id
    )


def _audit(api: Api) -> str:
    return (
        _aims(api)
        .records.plan_audit(
            _programme(api),
            actor="test",
            title="t",
            scope="s",
            auditor="a",
            planned_on="2026-03-01",
        )
        .audit_id
    )


def _checklist_item(api: Api) -> str:
    records = _aims(api).records
    return records.add_checklist_item(_audit(api), actor="test", question="Known?").item_id


def _review(api: Api) -> str:
    return (
        _aims(api)
        .records.record_management_review(
            actor="test", held_on="2026-01-01", attendees=["gina"], inputs={}
        )
        .review_id
    )


def _review_action(api: Api) -> str:
    records = _aims(api).records
    return records.add_review_action(
        _review(api), actor="test", decision="d", owner="o", due="2099-01-01"
    ).action_id


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
    ("POST", "/v1/aims/incidents/{incident_id}/steps"): lambda api: (
        f"/v1/aims/incidents/{_incident(api)}/steps",
        {"step": "acknowledged"},
    ),
    ("POST", "/v1/aims/incidents/{incident_id}/communications"): lambda api: (
        f"/v1/aims/incidents/{_incident(api)}/communications",
        {"audience": "board", "message": "Told"},
    ),
    ("POST", "/v1/aims/nonconformities"): lambda _api: (
        "/v1/aims/nonconformities",
        {"description": "Gap", "source": "other"},
    ),
    ("PUT", "/v1/aims/nonconformities/{nc_id}/root-cause"): lambda api: (
        f"/v1/aims/nonconformities/{_nonconformity(api)}/root-cause",
        {"root_cause": "No gate"},
    ),
    ("POST", "/v1/aims/nonconformities/{nc_id}/actions"): lambda api: (
        f"/v1/aims/nonconformities/{_nonconformity(api)}/actions",
        {"action": "Add a gate", "owner": "dan", "due": "2099-01-01"},
    ),
    ("POST", "/v1/aims/corrective-actions/{action_id}/complete"): lambda api: (
        f"/v1/aims/corrective-actions/{_corrective_action(api)}/complete",
        None,
    ),
    ("POST", "/v1/aims/nonconformities/{nc_id}/effectiveness"): lambda api: (
        f"/v1/aims/nonconformities/{_nonconformity(api)}/effectiveness",
        {"effective": True, "result": "Worked", "checked_by": "gina"},
    ),
    ("POST", "/v1/aims/nonconformities/{nc_id}/close"): lambda api: (
        f"/v1/aims/nonconformities/{_nonconformity(api, ready_to_close=True)}/close",
        None,
    ),
    ("POST", "/v1/aims/concerns/{concern_id}/triage"): lambda api: (
        f"/v1/aims/concerns/{_aims(api).records.report_concern('x').concern_id}/triage",
        {"status": "investigating"},
    ),
    ("GET", "/v1/aims/policies"): lambda _api: ("/v1/aims/policies", None),
    ("POST", "/v1/aims/policies"): lambda _api: (
        "/v1/aims/policies",
        {
            "text": "Fair AI",
            "approved_by": "board",
            "effective": "2026-01-01",
            "next_review": "2027-01-01",
        },
    ),  # fmt: skip
    ("GET", "/v1/aims/roles"): lambda _api: ("/v1/aims/roles", None),
    ("GET", "/v1/aims/objectives"): lambda _api: ("/v1/aims/objectives", None),
    ("POST", "/v1/aims/objectives"): lambda _api: (
        "/v1/aims/objectives",
        {"objective": "Verified ledger", "owner": "gina", "metric": "ledger.verified", "target": 1},
    ),
    ("GET", "/v1/aims/objectives/{objective_id}/kpi"): lambda api: (
        f"/v1/aims/objectives/{_objective(api)}/kpi",
        None,
    ),
    ("POST", "/v1/aims/objectives/{objective_id}/kpi"): lambda api: (
        f"/v1/aims/objectives/{_objective(api)}/kpi",
        {"value": 3},
    ),
    ("GET", "/v1/aims/suppliers"): lambda _api: ("/v1/aims/suppliers", None),
    ("POST", "/v1/aims/suppliers"): lambda _api: (
        "/v1/aims/suppliers",
        {"component": "splink", "supplier": "MoJ", "assessed_by": "gina", "outcome": "approved"},
    ),
    ("GET", "/v1/aims/audit-programmes"): lambda _api: ("/v1/aims/audit-programmes", None),
    ("POST", "/v1/aims/audit-programmes"): lambda _api: (
        "/v1/aims/audit-programmes",
        {"period_start": "2026-01-01", "period_end": "2026-12-31", "scope": "s", "criteria": "c"},
    ),
    ("POST", "/v1/aims/audits"): lambda api: (
        "/v1/aims/audits",
        {
            "programme_id": _programme(api),
            "title": "t",
            "scope": "s",
            "auditor": "a",
            "planned_on": "2026-03-01",
        },
    ),  # fmt: skip
    ("GET", "/v1/aims/audits/{audit_id}"): lambda api: (f"/v1/aims/audits/{_audit(api)}", None),
    ("PATCH", "/v1/aims/audits/{audit_id}"): lambda api: (
        f"/v1/aims/audits/{_audit(api)}",
        {"status": "in_progress"},
    ),
    ("POST", "/v1/aims/audits/{audit_id}/run"): lambda api: (
        f"/v1/aims/audits/{_audit(api)}/run",
        None,
    ),
    ("POST", "/v1/aims/checklist-items/{item_id}/answer"): lambda api: (
        f"/v1/aims/checklist-items/{_checklist_item(api)}/answer",
        {"result": "conforming"},
    ),
    ("POST", "/v1/aims/audits/{audit_id}/findings"): lambda api: (
        f"/v1/aims/audits/{_audit(api)}/findings",
        {"severity": "minor", "text": "Gap", "raise_nonconformity": True},
    ),
    ("POST", "/v1/aims/reviews"): lambda _api: ("/v1/aims/reviews", None),
    ("POST", "/v1/aims/reviews/{review_id}/actions"): lambda api: (
        f"/v1/aims/reviews/{_review(api)}/actions",
        {"decision": "Hire", "owner": "ceo", "due": "2099-01-01"},
    ),
    ("GET", "/v1/aims/review-actions"): lambda _api: ("/v1/aims/review-actions", None),
    ("POST", "/v1/aims/review-actions/{action_id}/close"): lambda api: (
        f"/v1/aims/review-actions/{_review_action(api)}/close",
        {"outcome": "Done"},
    ),
}
