"""The management review pack: compiled from the live system with every input a review must
consider, readable as HTML and PDF, empty inputs said out loud, and stored with its digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._records import AimsRecords
from aimsight.aims._review_pack import (
    REVIEW_INPUTS,
    REVIEWS_DIR,
    ReviewPack,
    compile_review_pack,
    record_review_with_pack,
)
from aimsight.core import Workspace
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.ingest import ContractRegistry, shipped_contracts
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store
from tests.aims._checks_fakes import champion
from tests.aims._pdf_pages import render

GINA = "cli:gina"


@dataclass
class Live:
    workspace: Workspace
    store: Store
    ledger: Ledger

    @property
    def records(self) -> AimsRecords:
        return AimsRecords(self.workspace, self.store, self.ledger)

    def compile(self, **options: Any) -> ReviewPack:
        return compile_review_pack(self.workspace, self.store, self.ledger, actor=GINA, **options)


@pytest.fixture
def live(workspace: Workspace) -> Iterator[Live]:
    with Store.open(workspace, upgrade=True) as store:
        yield Live(workspace, store, Ledger.open(workspace, store))


def _result(check_id: str, status: CheckStatus, controls: tuple[str, ...]) -> ControlCheckResult:
    return ControlCheckResult(check_id, controls, check_id, status, f"{check_id} is {status}")


def seed(live: Live) -> dict[str, str]:
    """An earlier review with an overdue action, then a period's worth of AIMS activity."""
    records = live.records
    earlier = records.record_management_review(
        actor=GINA, held_on="2026-01-15", attendees=["Gina", "Carl"], inputs={}
    )
    action = records.add_review_action(
        earlier.review_id,
        actor=GINA,
        decision="Add a fairness objective",
        owner="Gina",
        due="2026-02-01",
    )
    champion(ModelRegistry(live.workspace, live.store, live.ledger))
    system = records.create_system(
        "Churn scoring", actor=GINA, kind="model", owner="governance", purpose="Spot churn"
    )
    records.add_policy_version(
        "We use AI only where people can contest its decisions.",
        actor=GINA,
        approved_by="Board",
        effective="2026-02-01",
        next_review="2027-02-01",
    )
    risk = records.add_risk(
        "=Offers skip older customers",
        actor=GINA,
        source="impact assessment",
        owner="Gina",
        likelihood=3,
        impact=4,
        system_id=system.system_id,
        treatment="mitigate",
        treatment_plan="Fairness gate on age band",
        controls=["A.6.2.4"],
        next_review="2026-01-31",
    )
    records.report_concern("The model ignores my complaints", reporter="Pat")
    objective = records.add_objective(
        "Keep the ledger growing", actor=GINA, owner="Gina", metric="ledger.entries", target=10
    )
    records.record_kpi(objective.objective_id, 3, actor=GINA)
    records.record_kpi(objective.objective_id, 8, actor=GINA)
    incident = records.open_incident(
        "Scores missing for a day", actor=GINA, severity="sev2", system_id=system.system_id
    )
    records.add_incident_communication(
        incident.incident_id, actor=GINA, audience="retention team", message="Scores are back"
    )
    nc = records.raise_nonconformity(
        "Model promoted without a card", actor=GINA, source="other", root_cause="No gate"
    )
    records.add_corrective_action(
        nc.nc_id, actor=GINA, action="Gate promotions on cards", owner="Carl", due="2026-03-01"
    )
    records.save_check_results(
        [
            _result("ledger_integrity", CheckStatus.FAIL, ("A.6.2.8",)),
            _result("model_cards_complete", CheckStatus.PASS, ("A.6.2.7",)),
        ],
        run_by=GINA,
    )
    records.save_check_results(
        [
            _result("ledger_integrity", CheckStatus.PASS, ("A.6.2.8",)),
            _result("model_cards_complete", CheckStatus.FAIL, ("A.6.2.7",)),
        ],
        run_by=GINA,
    )
    programme = records.add_audit_programme(
        actor=GINA,
        period_start="2026-01-01",
        period_end="2026-12-31",
        scope="All AI systems",
        criteria="ISO/IEC 42001",
    )
    audit = records.plan_audit(
        programme.programme_id,
        actor=GINA,
        title="Spring audit",
        scope="Churn",
        auditor="Ann",
        planned_on="2026-04-01",
    )
    records.add_finding(audit.audit_id, actor=GINA, severity="major", text="No stop switch test")
    records.add_finding(
        audit.audit_id, actor=GINA, severity="opportunity", text="Automate card reviews"
    )
    return {
        "action": action.action_id,
        "system": system.system_id,
        "risk": risk.risk_id,
        "incident": incident.incident_id,
        "nc": nc.nc_id,
        "audit": audit.audit_id,
        "previous_review": earlier.review_id,
    }


def test_the_pack_covers_every_review_input_from_the_live_system(live: Live) -> None:
    ids = seed(live)
    pack = live.compile()
    inputs = pack.inputs

    assert {key for key, _ in REVIEW_INPUTS} | {"about", "period"} == set(inputs)
    json.dumps(inputs, allow_nan=False)  # JSON-ready, as the review record stores it
    assert inputs["period"]["previous_review"] == ids["previous_review"]
    assert inputs["period"]["since"] is not None  # from the last review on

    [action] = inputs["previous_actions"]["actions"]
    assert action["action_id"] == ids["action"] and action["overdue"] is True

    changes = inputs["changes"]
    assert [e["action"] for e in changes["model_events"]][:1] == ["register"]
    assert any(e["to_stage"] == "production" for e in changes["model_events"])
    assert [s["system_id"] for s in changes["ai_systems_added"]] == [ids["system"]]
    assert [p["version"] for p in changes["policy_versions"]] == [1]

    assert inputs["interested_parties"]["open"] == 1
    assert "reporter" not in inputs["interested_parties"]["concerns"][0]  # never named

    [objective] = inputs["objectives"]["objectives"]
    assert [r["value"] for r in objective["readings"]] == [3.0, 8.0]
    assert objective["trend"] == "improving" and objective["met"] is False
    assert objective["live"]["value"] == pytest.approx(float(live.ledger.count()), abs=5)

    [incident] = inputs["incidents"]["incidents"]
    assert incident["incident_id"] == ids["incident"] and incident["severity"] == "sev2"
    assert inputs["incidents"]["unresolved"] == 1

    [nc] = inputs["nonconformities"]["nonconformities"]
    assert nc["nc_id"] == ids["nc"] and nc["actions"][0]["owner"] == "Carl"

    monitoring = inputs["monitoring"]
    assert len(monitoring["runs"]) == 2
    trends = {c["check_id"]: (c["statuses"], c["trend"]) for c in monitoring["checks"]}
    assert trends["ledger_integrity"] == (["fail", "pass"], "improving")
    assert trends["model_cards_complete"] == (["pass", "fail"], "worsening")

    [audit] = inputs["audits"]["audits"]
    assert audit["audit_id"] == ids["audit"]
    assert inputs["audits"]["findings_by_severity"] == {"major": 1, "opportunity": 1}

    risks = inputs["risks_and_opportunities"]
    [risk] = risks["risks"]
    assert risk["risk_id"] == ids["risk"] and risk["review_overdue"] is True
    assert risk["treatment"] == "mitigate" and risk["level"] == "medium"
    assert [o["text"] for o in risks["opportunities"]] == ["Automate card reviews"]


def test_the_pdf_opens_and_shows_each_section(live: Live) -> None:
    seed(live)
    pack = live.compile()

    rendered = render(pack.pdf)
    assert rendered.first_page_dark_pixels > 1000
    text = "\n".join(rendered.texts)
    assert "Management review pack" in rendered.texts[0]
    for _, heading in REVIEW_INPUTS:
        assert heading in text
        assert heading in pack.html
    assert "Scores missing for a day" in text
    assert "Automate card reviews" in text
    assert "improving" in text and "worsening" in text


def test_an_empty_system_says_so_in_every_section(live: Live) -> None:
    pack = live.compile()

    text = "\n".join(render(pack.pdf).texts)
    assert pack.inputs["period"]["previous_review"] is None
    for key, heading in REVIEW_INPUTS:
        summary = pack.inputs[key]["summary"]
        assert summary.startswith("No ") or "empty" in summary, key
        assert heading in text
        assert summary in pack.html
    assert "No incidents since the AI management system began" in text
    assert "first management review" in text


def test_recording_stores_the_pack_with_its_digests_and_the_next_pack_follows_on(
    live: Live,
) -> None:
    ContractRegistry.for_workspace(live.workspace).add(shipped_contracts()[0])
    pack = live.compile()

    review = record_review_with_pack(
        live.workspace,
        live.store,
        live.ledger,
        pack,
        actor=GINA,
        attendees=["Gina", "Carl"],
        held_on=date(2026, 3, 1),
    )

    assert review.pack_path is not None and review.pack_path.startswith(REVIEWS_DIR + "/")
    folder = live.workspace.root / review.pack_path.rsplit("/", 1)[0]
    assert sorted(p.name for p in folder.iterdir()) == ["inputs.json", "review.html", "review.pdf"]
    assert (folder / "review.pdf").read_bytes() == pack.pdf
    assert review.pack_sha256 == hashlib.sha256(pack.pdf).hexdigest()
    assert review.inputs == pack.inputs
    [stored] = live.ledger.entries(kind="aims.management_review.pack_stored")
    assert stored.subject == review.review_id
    assert stored.payload["files"]["review.html"] == pack.html_sha256
    with pytest.raises(Conflict, match="stored already"):
        record_review_with_pack(
            live.workspace, live.store, live.ledger, pack, actor=GINA, attendees=["Gina"]
        )

    later = live.compile()
    assert later.inputs["period"]["previous_review"] == review.review_id
    contracts = later.inputs["changes"]["contracts"]
    assert contracts["changed"] == [] and contracts["current"]  # same versions as last time
    assert "No changes" in later.inputs["changes"]["summary"]


def test_a_pack_without_attendees_writes_nothing(live: Live) -> None:
    pack = live.compile()

    with pytest.raises(InvalidInput, match="attendees"):
        record_review_with_pack(
            live.workspace, live.store, live.ledger, pack, actor=GINA, attendees=[]
        )

    reviews = live.workspace.root / REVIEWS_DIR
    assert not reviews.exists() or list(reviews.iterdir()) == []
    assert live.records.management_reviews() == []


def test_the_period_can_be_chosen_but_not_ambiguous_or_in_the_future(live: Live) -> None:
    seed(live)
    start = datetime.now(UTC) - timedelta(days=400)

    pack = live.compile(since=start.date())

    assert pack.inputs["period"]["since"].startswith(start.date().isoformat())
    assert len(pack.inputs["previous_actions"]["actions"]) == 1
    with pytest.raises(InvalidInput, match="time zone"):
        live.compile(since=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="future"):
        live.compile(since=datetime.now(UTC) + timedelta(days=2))
