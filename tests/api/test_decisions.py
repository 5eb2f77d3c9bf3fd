"""/v1/decisions, /v1/flows and /v1/reviews: deciding, explaining, outcomes, stop switches and
the human review queue, as an API caller sees them.

The app's decision service is pointed at the fake online features of tests/decide/_fakes.py
(a churn model released in the registry, consents granted, the test retention flow in
``<workspace>/flows``), so every step of a decision is reached without building a lake.

``DECISION_SAMPLES`` holds one allowed request per route for the permission matrix
(tests/api/test_permission_matrix.py merges it into its ``SAMPLES``). The matrix workspace has
no online features and no flows, so its samples install the shipped example flows and use
``next_best_offer``, which answers an anonymous visitor with its fallback, and make the one
pending review they need with a decision service over the fake features on the matrix's own
store.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from aimsight.api import create_app
from aimsight.api._deps import Services
from aimsight.core import Workspace, load_settings
from aimsight.core.settings import ApiSettings
from aimsight.decide import FLOWS_FOLDER, DecisionRequest, DecisionService
from aimsight.privacy import ConsentService
from aimsight.registry import ModelRegistry
from aimsight.security import Role
from aimsight.store import Ledger
from tests.api.conftest import Api, open_api
from tests.api.test_errors import assert_error
from tests.decide._fakes import (
    HIGH_RISK,
    LOW_RISK,
    FakeFeatures,
    customer_rows,
    decision_service,
    grant_profiling,
    install_flow,
    release,
)

DECISION_PREFIXES = ("/v1/decisions", "/v1/flows", "/v1/reviews")
LIMIT = 4096


def services_of(api: Api) -> Services:
    """The app's services (what the routes' dependencies read)."""
    return cast(Services, cast(FastAPI, api.client.app).state.services)


class Caller:
    """Keys per role on one API, and requests made with them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys = {role: api.key_for(role, f"d-{role.value}") for role in Role}
        self.key_ids = {
            key.name: key.key_id for key in api.keys.list() if key.name.startswith("d-")
        }

    def get(self, url: str, role: Role = Role.ANALYST) -> Any:
        return self.api.client.get(url, headers=self.api.auth(self.keys[role]))

    def post(self, url: str, body: object = None, role: Role = Role.AGENT) -> Any:
        return self.api.client.post(url, json=body, headers=self.api.auth(self.keys[role]))

    def actor(self, role: Role) -> str:
        """What the API records as the actor for a key of ``role``."""
        return f"api:{self.key_ids[f'd-{role.value}']}"

    def decide(self, customer: str | None, channel: str = "email", **extra: Any) -> Any:
        body = {"flow": "retention", "customer_id": customer, "channel": channel, **extra}
        return self.post("/v1/decisions", body)

    def ledger(self) -> Ledger:
        return services_of(self.api).ledger


def fake_decisions(api: Api) -> DecisionService:
    """Point the app at the fake decision setup: the test flow, a released churn model,
    consents granted and the fake online features."""
    workspace, store = api.workspace, api.store
    services = services_of(api)
    install_flow(workspace)
    release(ModelRegistry(workspace, store, services.ledger))
    grant_profiling(ConsentService(workspace, store, services.ledger), list(customer_rows()))
    service = decision_service(workspace, store, services.ledger)
    services._decisions = service  # noqa: SLF001 - the app builds its own over real features
    service.warm()
    return service


@pytest.fixture
def caller(workspace: Workspace) -> Iterator[Caller]:
    """An API whose decision service runs over the fake features."""
    for api in open_api(workspace):
        fake_decisions(api)
        yield Caller(api)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


# -- deciding ----------------------------------------------------------------------------------


def test_a_decision_is_answered_with_its_ledger_entry_already_written(caller: Caller) -> None:
    decision = ok(caller.decide(LOW_RISK))
    assert decision["decision_id"].startswith("dec_")
    assert (decision["flow"], decision["customer_id"], decision["status"]) == (
        "retention",
        LOW_RISK,
        "decided",
    )
    [action] = decision["actions"]
    assert (action["action_id"], action["channel"]) == ("reminder", "email")
    assert not decision["fallback"] and "consent_granted" in decision["reason_codes"]
    assert decision["disclosure"] == "This message was chosen by an automated system."
    assert decision["models"][0]["model"] == "churn"
    entry = caller.ledger().get(decision["ledger_seq"])
    assert entry.kind == "decision.made"
    assert entry.actor == caller.actor(Role.AGENT)
    assert entry.subject == LOW_RISK
    assert entry.payload["decision_id"] == decision["decision_id"]
    assert entry.payload["actions"] == ["reminder"]
    assert caller.ledger().verify().ok


def test_the_decision_answer_is_exactly_what_its_documented_schema_says(caller: Caller) -> None:
    from aimsight.api._routes.decisions import DecisionPublic

    for customer, channel in ((LOW_RISK, "email"), (HIGH_RISK, "email"), (LOW_RISK, "web")):
        answer = ok(caller.decide(customer, channel))
        assert DecisionPublic.model_validate(answer).model_dump() == answer
    schema = caller.api.client.get("/openapi.json").json()
    documented = schema["paths"]["/v1/decisions"]["post"]["responses"]["200"]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("DecisionPublic")


def test_a_warmed_service_answers_from_the_snapshot_s_batch_scores(caller: Caller) -> None:
    """The service scored the whole online snapshot at start-up (``warm``), so a customer of
    that snapshot is answered from the batch, not scored live per request (which costs
    milliseconds and, at a few hundred requests a second, queues the server)."""
    decision = ok(caller.decide(LOW_RISK, "web"))
    [model] = decision["models"]
    assert (model["role"], model["source"]) == ("champion", "batch"), model


def test_a_stored_decision_reads_back_with_its_record(caller: Caller) -> None:
    made = ok(caller.decide(LOW_RISK, "web"))
    stored = ok(caller.get(f"/v1/decisions/{made['decision_id']}"))
    assert stored["ledger_seq"] == made["ledger_seq"]
    assert (stored["action_id"], stored["channel"], stored["outcomes"]) == ("banner", "web", [])
    assert stored["record"]["flow_digest"] and stored["record"]["consent"]
    assert "tenure_days" in stored["record"]["feature_values"]  # for the data subject's access
    assert ok(caller.get(f"/v1/decisions/{made['decision_id']}", Role.GOVERNANCE)) == stored


def test_the_explanation_is_plain_words_without_the_raw_features(caller: Caller) -> None:
    made = ok(caller.decide(LOW_RISK))
    explanation = ok(caller.get(f"/v1/decisions/{made['decision_id']}/explanation"))
    assert explanation["decision_id"] == made["decision_id"]
    assert explanation["text"].startswith("We chose: Loyalty reminder.")
    assert "automated system" in explanation["text"]
    assert "ask for a person to review" in explanation["rights"]
    assert explanation["disclosure"] == made["disclosure"]
    assert not explanation["human_involved"]
    assert explanation["technical"]["flow_version"] == 1
    assert "feature_values" not in explanation["technical"]


def test_unknown_customers_flows_and_channels_are_json_errors_naming_the_problem(
    caller: Caller,
) -> None:
    error = assert_error(caller.decide("cus_nobody"), 404, "not_found")
    assert "'cus_nobody'" in error["message"] and "'retention'" in error["message"]
    body = {"flow": "upsell", "customer_id": LOW_RISK, "channel": "web"}
    error = assert_error(caller.post("/v1/decisions", body), 404, "not_found")
    assert "no decision flow 'upsell'" in error["message"] and "retention" in error["message"]
    for channel in ("sms", "fax"):
        error = assert_error(caller.decide(LOW_RISK, channel), 422, "invalid_input")
        assert f"channel {channel!r}" in error["message"] and "email, web" in error["message"]
        assert [d["field"] for d in error["details"]] == ["channel"]
    assert caller.ledger().entries(kind="decision.made") == []


def test_a_bad_context_is_a_422_naming_the_field(caller: Caller) -> None:
    error = assert_error(
        caller.decide(LOW_RISK, context={"nested": {"a": 1}}), 422, "invalid_input"
    )
    assert {d["field"] for d in error["details"]} >= {"body.context.nested.str"}
    assert all(d["field"].startswith("body.context.nested") for d in error["details"])
    error = assert_error(caller.decide(LOW_RISK, context={"a list": 1}), 422, "invalid_input")
    assert error["details"][0]["field"] == "context" and "'a list'" in error["message"]
    error = assert_error(caller.decide(LOW_RISK, context={"page": "x" * 501}), 422, "invalid_input")
    assert error["details"][0]["field"] == "context.page"
    many = {f"k{i}": i for i in range(51)}
    error = assert_error(caller.decide(LOW_RISK, context=many), 422, "invalid_input")
    assert error["details"][0]["field"] == "body.context"
    error = assert_error(caller.decide(LOW_RISK, colour="red"), 422, "invalid_input")
    assert error["details"][0]["field"] == "body.colour"
    error = assert_error(caller.decide(LOW_RISK, top_n=0), 422, "invalid_input")
    assert error["details"][0]["field"] == "body.top_n"


def test_a_context_value_reaches_the_rules_and_the_input_digest(caller: Caller) -> None:
    first = ok(caller.decide(LOW_RISK, "web", context={"page": "pricing", "visits": 3}))
    second = ok(caller.decide(LOW_RISK, "web", context={"page": "home", "visits": 3}))
    digests = [
        caller.ledger().get(d["ledger_seq"]).payload["input_digest"] for d in (first, second)
    ]
    assert digests[0] != digests[1]


@pytest.fixture
def small_api(workspace: Workspace) -> Iterator[Api]:
    """The API with a 4 KiB body limit."""
    settings = workspace.settings.model_copy(update={"api": ApiSettings(max_body_bytes=LIMIT)})
    yield from open_api(dataclasses.replace(workspace, settings=settings))


def test_an_oversized_decision_request_is_a_413(small_api: Api) -> None:
    body = json.dumps(
        {"flow": "retention", "customer_id": LOW_RISK, "channel": "web", "context": {}}
    )
    padded = body[:-2] + ", " + ", ".join(f'"k{i}": "{"x" * 90}"' for i in range(50)) + "}}"
    assert len(padded) > LIMIT
    response = small_api.client.post(
        "/v1/decisions",
        content=padded,
        headers={**small_api.auth(), "Content-Type": "application/json"},
    )
    error = assert_error(response, 413, "payload_too_large")
    assert f"{LIMIT:,}" in error["message"] and "api.max_body_bytes" in error["message"]


class _Peak:
    """Wraps a service's ``decide`` to count how many run at once (each takes 0.2 s)."""

    def __init__(self, service: DecisionService) -> None:
        self._decide = service.decide
        self._guard = threading.Lock()
        self.running = self.peak = 0
        service.decide = self  # type: ignore[method-assign]

    def __call__(self, request: DecisionRequest, *, actor: str) -> Any:
        with self._guard:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.2)
            return self._decide(request, actor=actor)
        finally:
            with self._guard:
                self.running -= 1


@pytest.mark.parametrize("lanes", [1, 3])
def test_decisions_run_at_most_as_many_at_once_as_the_process_has_lanes(
    workspace: Workspace, lanes: int
) -> None:
    settings = workspace.settings.model_copy(update={"api": ApiSettings(decision_threads=lanes)})
    for api in open_api(dataclasses.replace(workspace, settings=settings)):
        caller = Caller(api)
        peak = _Peak(fake_decisions(api))
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: caller.decide(LOW_RISK, "web"), range(8)))  # noqa: B023
        assert [a.status_code for a in answers] == [200] * 8
        assert peak.peak == lanes  # eight callers, never more than the lanes at once


@pytest.mark.parametrize("server", [True, False])
def test_a_server_freezes_what_warming_loaded_out_of_the_collector_s_sweeps(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, server: bool
) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    services = Services(workspace, server=server)
    try:
        services._warm_decisions()  # noqa: SLF001 - what open() runs on its warm-up thread
    finally:
        services.close()
    assert frozen == ([True] if server else [])  # tests and scripts keep a normal collector


# -- outcomes ------------------------------------------------------------------------------------


def test_an_outcome_is_recorded_on_the_decision_and_the_ledger(caller: Caller) -> None:
    made = ok(caller.decide(LOW_RISK))
    url = f"/v1/decisions/{made['decision_id']}/outcome"
    outcome = ok(caller.post(url, {"outcome": "converted", "value": 30.0}, Role.SERVICE))
    assert (outcome["outcome"], outcome["value"], outcome["action_id"]) == (
        "converted",
        30.0,
        "reminder",
    )
    entry = caller.ledger().get(outcome["ledger_seq"])
    assert entry.kind == "decision.outcome" and entry.actor == caller.actor(Role.SERVICE)
    assert entry.payload["decision_id"] == made["decision_id"]
    stored = ok(caller.get(f"/v1/decisions/{made['decision_id']}"))
    assert [(o["outcome"], o["value"]) for o in stored["outcomes"]] == [("converted", 30.0)]


def test_a_bad_outcome_is_a_422_naming_the_field(caller: Caller) -> None:
    made = ok(caller.decide(LOW_RISK))
    url = f"/v1/decisions/{made['decision_id']}/outcome"
    error = assert_error(caller.post(url, {"outcome": "loved it"}), 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["body.outcome"]
    assert "accepted" in error["message"] and "complaint" in error["message"]
    error = assert_error(caller.post(url, {}), 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["body.outcome"]
    for value in ("lots", 1e13):
        error = assert_error(
            caller.post(url, {"outcome": "converted", "value": value}), 422, "invalid_input"
        )
        assert [d["field"] for d in error["details"]] == ["body.value"]
    nan = '{"outcome": "converted", "value": NaN}'
    response = caller.api.client.post(
        url,
        content=nan,
        headers={**caller.api.auth(caller.keys[Role.AGENT]), "Content-Type": "application/json"},
    )
    assert_error(response, 422, "invalid_input")
    assert ok(caller.get(f"/v1/decisions/{made['decision_id']}"))["outcomes"] == []


def test_an_outcome_for_a_decision_without_an_action_is_a_409(caller: Caller) -> None:
    ok(caller.decide(LOW_RISK))  # the week's one e-mail
    capped = ok(caller.decide(LOW_RISK))  # even the newsletter would break the cap
    assert capped["actions"] == [] and "no_action" in capped["reason_codes"]
    url = f"/v1/decisions/{capped['decision_id']}/outcome"
    error = assert_error(caller.post(url, {"outcome": "accepted"}), 409, "conflict")
    assert "chose no action" in error["message"]


def test_an_unknown_decision_is_a_404_on_every_route(caller: Caller) -> None:
    for response in (
        caller.get("/v1/decisions/dec_missing"),
        caller.get("/v1/decisions/dec_missing/explanation"),
        caller.post("/v1/decisions/dec_missing/outcome", {"outcome": "accepted"}),
    ):
        error = assert_error(response, 404, "not_found")
        assert "'dec_missing'" in error["message"]


def test_reading_making_and_recording_need_their_permissions(caller: Caller) -> None:
    made = ok(caller.decide(LOW_RISK))
    refused = caller.post(
        "/v1/decisions",
        {"flow": "retention", "customer_id": LOW_RISK, "channel": "web"},
        Role.ANALYST,
    )
    assert "'decisions:make'" in assert_error(refused, 403, "forbidden")["message"]
    url = f"/v1/decisions/{made['decision_id']}/outcome"
    refused = caller.post(url, {"outcome": "accepted"}, Role.DATA_ENGINEER)
    assert "'outcomes:write'" in assert_error(refused, 403, "forbidden")["message"]
    refused = caller.get(f"/v1/decisions/{made['decision_id']}", Role.PRIVACY)
    assert "'decisions:read'" in assert_error(refused, 403, "forbidden")["message"]


# -- flows and stop switches ---------------------------------------------------------------------


def test_the_flows_are_listed_with_their_switches(caller: Caller) -> None:
    [flow] = ok(caller.get("/v1/flows"))["flows"]
    assert (flow["flow"], flow["version"], flow["owner"]) == ("retention", 1, "Test retention team")
    assert flow["actions"] == ["discount", "reminder", "banner", "newsletter"]
    assert flow["models"] == {"churn": "churn"} and flow["channels"] == ["email", "web"]
    assert not flow["stopped"] and flow["stop_switch_tested_at"] is None
    assert flow["high_stakes"] and flow["human_review"]
    assert flow["source"].endswith("flows/retention.yaml") and len(flow["digest"]) == 64
    assert ok(caller.get("/v1/flows/retention")) == flow
    error = assert_error(caller.get("/v1/flows/upsell"), 404, "not_found")
    assert "no decision flow 'upsell'" in error["message"]


def test_a_stopped_flow_answers_with_its_fallback_until_resumed(caller: Caller) -> None:
    why = {"reason": "complaints about the offer"}
    stopped = ok(caller.post("/v1/flows/retention/stop", why, Role.DATA_ENGINEER))
    assert stopped["stopped"] and stopped["stop_reason"] == why["reason"]
    assert stopped["stop_changed_by"] == caller.actor(Role.DATA_ENGINEER)
    assert ok(caller.get("/v1/flows/retention"))["stopped"]
    decision = ok(caller.decide(HIGH_RISK))
    assert decision["fallback"] and decision["fallback_reason"] == "flow_stopped"
    assert [a["action_id"] for a in decision["actions"]] == ["newsletter"]
    assert decision["models"] == [] and not decision["human_review"]
    resumed = ok(caller.post("/v1/flows/retention/resume", {"reason": "fixed"}, Role.ADMIN))
    assert not resumed["stopped"] and resumed["stop_reason"] == "fixed"
    assert not ok(caller.decide(LOW_RISK, "web"))["fallback"]
    kinds = [e.kind for e in caller.ledger().entries(limit=1000)]
    assert "decision.flow_stopped" in kinds and "decision.flow_resumed" in kinds


def test_switching_a_flow_needs_a_reason_and_flows_manage(caller: Caller) -> None:
    url = "/v1/flows/retention/stop"
    error = assert_error(caller.post(url, {}, Role.DATA_ENGINEER), 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["body.reason"]
    error = assert_error(
        caller.post(url, {"reason": "   "}, Role.DATA_ENGINEER), 422, "invalid_input"
    )
    assert [d["field"] for d in error["details"]] == ["reason"]
    for role in (Role.ANALYST, Role.GOVERNANCE, Role.AGENT):
        refused = caller.post(url, {"reason": "no"}, role)
        assert "'flows:manage'" in assert_error(refused, 403, "forbidden")["message"]
    assert_error(
        caller.post("/v1/flows/upsell/stop", {"reason": "x"}, Role.ADMIN), 404, "not_found"
    )
    assert not ok(caller.get("/v1/flows/retention"))["stopped"]


def test_the_stop_switch_test_is_a_dry_run_on_record(caller: Caller) -> None:
    result = ok(caller.post("/v1/flows/retention/stop-switch-test", None, Role.DATA_ENGINEER))
    assert result["passed"] and result["fallback_action"] == "newsletter"
    assert (result["models_scored"], result["features_read"]) == (0, 0)
    flow = ok(caller.get("/v1/flows/retention"))
    assert flow["stop_switch_tested_at"] == result["tested_at"] and not flow["stopped"]
    [entry] = caller.ledger().entries(kind="decision.stop_switch_tested")
    assert entry.actor == caller.actor(Role.DATA_ENGINEER)
    refused = caller.post("/v1/flows/retention/stop-switch-test", None, Role.ANALYST)
    assert_error(refused, 403, "forbidden")
    missing = caller.post("/v1/flows/upsell/stop-switch-test", None, Role.ADMIN)
    assert_error(missing, 404, "not_found")


# -- the review queue ----------------------------------------------------------------------------


def test_a_high_stakes_decision_waits_for_a_reviewer_named_by_their_key(caller: Caller) -> None:
    decision = ok(caller.decide(HIGH_RISK))
    assert decision["status"] == "pending_review" and decision["human_review"]
    assert decision["review_id"].startswith("rev_") and decision["review_deadline"]
    [review] = ok(caller.get("/v1/reviews", Role.GOVERNANCE))["reviews"]
    assert review["review_id"] == decision["review_id"]
    assert (review["proposed_action"], review["status"]) == ("discount", "pending")
    assert "action.value >= 100" in review["why"]
    url = f"/v1/reviews/{review['review_id']}"
    error = assert_error(
        caller.post(url, {"verdict": "override", "reason": "too generous"}, Role.GOVERNANCE),
        422,
        "invalid_input",
    )
    assert [d["field"] for d in error["details"]] == ["action"] and "reminder" in error["message"]
    settled = ok(
        caller.post(
            url,
            {"verdict": "override", "reason": "too generous", "action": "reminder"},
            Role.GOVERNANCE,
        )
    )
    assert (settled["status"], settled["final_action"]) == ("overridden", "reminder")
    key_id = caller.key_ids["d-governance"]
    assert settled["reviewer"] == f"d-governance (governance, {key_id})"
    assert settled["verdict_reason"] == "too generous"
    entry = caller.ledger().entries(kind="decision.reviewed")[-1]
    assert entry.payload["reviewer"] == settled["reviewer"]
    stored = ok(caller.get(f"/v1/decisions/{decision['decision_id']}"))
    assert (stored["status"], stored["action_id"]) == ("overridden", "reminder")
    again = caller.post(url, {"verdict": "approve", "reason": "late"}, Role.GOVERNANCE)
    assert "not pending" in assert_error(again, 409, "conflict")["message"]
    assert ok(caller.get("/v1/reviews", Role.GOVERNANCE))["reviews"] == []
    done = ok(caller.get("/v1/reviews?status=overridden&flow=retention", Role.GOVERNANCE))
    assert [r["review_id"] for r in done["reviews"]] == [review["review_id"]]


def test_a_rejected_review_leaves_nothing_to_record_an_outcome_for(caller: Caller) -> None:
    decision = ok(caller.decide(HIGH_RISK))
    url = f"/v1/reviews/{decision['review_id']}"
    body = {"verdict": "reject", "reason": "not for this customer"}
    settled = ok(caller.post(url, body, Role.ADMIN))
    assert (settled["status"], settled["final_action"]) == ("rejected", None)
    assert settled["reviewer"].startswith("d-admin (admin, ak_")
    outcome = caller.post(
        f"/v1/decisions/{decision['decision_id']}/outcome", {"outcome": "accepted"}
    )
    assert_error(outcome, 409, "conflict")


def test_verdicts_are_checked_and_need_decisions_review(caller: Caller) -> None:
    decision = ok(caller.decide(HIGH_RISK))
    url = f"/v1/reviews/{decision['review_id']}"
    for body, field in (
        ({"verdict": "maybe", "reason": "x"}, "body.verdict"),
        ({"verdict": "approve"}, "body.reason"),
        ({"verdict": "approve", "reason": ""}, "body.reason"),
    ):
        error = assert_error(caller.post(url, body, Role.GOVERNANCE), 422, "invalid_input")
        assert [d["field"] for d in error["details"]] == [field]
    error = assert_error(
        caller.post(
            url, {"verdict": "approve", "reason": "ok", "action": "reminder"}, Role.GOVERNANCE
        ),
        422,
        "invalid_input",
    )
    assert [d["field"] for d in error["details"]] == ["action"]
    for role in (Role.ANALYST, Role.AGENT, Role.DATA_ENGINEER):
        refused = caller.post(url, {"verdict": "approve", "reason": "ok"}, role)
        assert "'decisions:review'" in assert_error(refused, 403, "forbidden")["message"]
    assert_error(caller.get("/v1/reviews", Role.ANALYST), 403, "forbidden")
    missing = caller.post("/v1/reviews/rev_missing", {"verdict": "approve", "reason": "ok"})
    assert_error(missing, 403, "forbidden")  # the agent may not review at all
    missing = caller.post(
        "/v1/reviews/rev_missing", {"verdict": "approve", "reason": "ok"}, Role.GOVERNANCE
    )
    assert "'rev_missing'" in assert_error(missing, 404, "not_found")["message"]
    error = assert_error(
        caller.get("/v1/reviews?status=lost", Role.GOVERNANCE), 422, "invalid_input"
    )
    assert [d["field"] for d in error["details"]] == ["query.status"]
    approved = ok(caller.post(url, {"verdict": "approve", "reason": "fair"}, Role.GOVERNANCE))
    assert (approved["status"], approved["final_action"]) == ("approved", "discount")


# -- samples for the permission matrix -----------------------------------------------------------

_names = itertools.count()

REVIEW_FLOW = """\
flow: matrix_review
version: 1
description: A flow whose one offer always waits for a person (permission matrix).
owner: Matrix team
consent:
  purposes: [profiling]
channels: [email]
review: {deadline_hours: 24}
fallback:
  action: newsletter
  reason: The newsletter everyone gets.
actions:
  - id: big_offer
    title: A large offer
    channel: email
    message: A large offer.
    value: 500
    high_stakes: true
    reason: Only a person may grant it.
  - id: newsletter
    title: Newsletter
    channel: any
    message: Our news.
    reason: Everyone gets the newsletter.
"""


def _anonymous_decision(api: Api) -> str:
    """A decision the app makes in any workspace once the example flows are installed: the
    shipped ``next_best_offer`` flow answers an anonymous web visitor with its generic offer."""
    response = api.client.post(
        _with_flows(api, "/v1/decisions"),
        json={"flow": "next_best_offer", "channel": "web"},
        headers=api.auth(),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["decision_id"])


def _pending_review(api: Api) -> str:
    """A pending review in the API's store, made by a decision service over the fake features
    (the matrix workspace has no online features, so its own service cannot make one)."""
    root = api.workspace.root / "matrix-review"
    other = dataclasses.replace(api.workspace, root=root)
    ledger = Ledger.open(api.workspace, api.store)
    if not root.exists():
        root.mkdir()
        install_flow(other, REVIEW_FLOW, "matrix_review.yaml")
        grant_profiling(ConsentService(other, api.store, ledger), [LOW_RISK])
    service = DecisionService(
        other,
        api.store,
        ledger,
        features=FakeFeatures(),  # type: ignore[arg-type]
        registry=ModelRegistry(other, api.store, ledger),
    )
    try:
        decision = service.decide(
            DecisionRequest(flow="matrix_review", customer_id=LOW_RISK, channel="email"),
            actor=f"matrix-{next(_names)}",
        )
    finally:
        service.close()
    assert decision.review_id is not None, decision
    return decision.review_id


def _with_flows(api: Api, path: str) -> str:
    """``path``, once the shipped example flows are installed in the API's workspace (a
    workspace serves none until then) and the app's decision service has read them."""
    if not (api.workspace.root / FLOWS_FOLDER).is_dir():
        decisions = services_of(api).decisions
        decisions.install_example_flows()
        decisions.reload()
    return path


DECISION_SAMPLES: dict[tuple[str, str], Callable[[Api], tuple[str, object]]] = {
    ("POST", "/v1/decisions"): lambda api: (
        _with_flows(api, "/v1/decisions"),
        {"flow": "next_best_offer", "channel": "web", "context": {"page": "pricing"}},
    ),
    ("GET", "/v1/decisions/{decision_id}"): lambda api: (
        f"/v1/decisions/{_anonymous_decision(api)}",
        None,
    ),
    ("GET", "/v1/decisions/{decision_id}/explanation"): lambda api: (
        f"/v1/decisions/{_anonymous_decision(api)}/explanation",
        None,
    ),
    ("POST", "/v1/decisions/{decision_id}/outcome"): lambda api: (
        f"/v1/decisions/{_anonymous_decision(api)}/outcome",
        {"outcome": "accepted"},
    ),
    ("GET", "/v1/flows"): lambda api: (_with_flows(api, "/v1/flows"), None),
    ("GET", "/v1/flows/{flow_id}"): lambda api: (_with_flows(api, "/v1/flows/retention"), None),
    ("POST", "/v1/flows/{flow_id}/stop"): lambda api: (
        _with_flows(api, "/v1/flows/retention/stop"),
        {"reason": "permission matrix"},
    ),
    ("POST", "/v1/flows/{flow_id}/resume"): lambda api: (
        _with_flows(api, "/v1/flows/retention/resume"),
        {"reason": "permission matrix"},
    ),
    ("POST", "/v1/flows/{flow_id}/stop-switch-test"): lambda api: (
        _with_flows(api, "/v1/flows/retention/stop-switch-test"),
        None,
    ),
    ("GET", "/v1/reviews"): lambda _api: ("/v1/reviews?status=pending", None),
    ("POST", "/v1/reviews/{review_id}"): lambda api: (
        f"/v1/reviews/{_pending_review(api)}",
        {"verdict": "approve", "reason": "permission matrix"},
    ),
}


def _decision_routes() -> set[tuple[str, str]]:
    app = create_app(Workspace(root=Path("unused"), settings=load_settings()))
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith(DECISION_PREFIXES)
        for method in route.methods
    }


def test_decision_samples_cover_every_decision_route() -> None:
    assert _decision_routes() == set(DECISION_SAMPLES)


def test_every_sample_is_allowed_in_a_workspace_without_features(api: Api) -> None:
    """What the permission matrix does with the samples, for the admin: each gets a 2xx in a
    workspace with no online snapshot and no flows of its own."""
    for (method, _path), sample in DECISION_SAMPLES.items():
        url, body = sample(api)
        response = api.client.request(method, url, json=body, headers=api.auth())
        assert response.status_code in (200, 201, 202, 204), (url, response.text)
