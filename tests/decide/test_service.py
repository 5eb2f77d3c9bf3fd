"""The decision service: every safeguard of a decision, as a caller sees it.

Consent, shadow and canary models, the stop switch, the review queue with its reviewer,
contact caps under concurrent requests, fallbacks on model trouble, explanations, outcomes
and the ledger entry written before the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from aimsight.core import Conflict, InvalidInput, NotFound, Workspace, now_utc
from aimsight.decide import DecisionRequest, DecisionService
from aimsight.privacy import ConsentChangeIn, ConsentService
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store
from tests.decide._fakes import (
    EMPTY,
    HIGH_RISK,
    LOW_RISK,
    NO_TENURE,
    FakeFeatures,
    SlowChurnModel,
    customer_rows,
    decision_service,
    grant_profiling,
    install_flow,
    release,
)
from tests.registry._fakes import FakeChurnModel


@pytest.fixture
def ledger(workspace: Workspace, store: Store) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def registry(workspace: Workspace, store: Store, ledger: Ledger) -> ModelRegistry:
    return ModelRegistry(workspace, store, ledger)


@pytest.fixture
def consent(workspace: Workspace, store: Store, ledger: Ledger) -> ConsentService:
    return ConsentService(workspace, store, ledger)


@pytest.fixture
def service(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    registry: ModelRegistry,
    consent: ConsentService,
) -> Iterator[DecisionService]:
    install_flow(workspace)
    release(registry)
    grant_profiling(consent, list(customer_rows()))
    decisions = decision_service(workspace, store, ledger)
    decisions.warm()
    yield decisions
    decisions.close()


def _decide(service: DecisionService, customer: str | None, channel: str = "email") -> object:
    return service.decide(
        DecisionRequest(flow="retention", customer_id=customer, channel=channel), actor="test"
    )


def test_a_low_risk_customer_gets_the_reminder_with_reasons_and_factors(
    service: DecisionService,
) -> None:
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"), actor="test"
    )
    assert decision.action == "reminder"
    assert decision.status == "decided" and not decision.fallback
    assert "consent_granted" in decision.reason_codes
    assert decision.top_factors and decision.top_factors[0]["feature"] == "tenure_days"
    [model] = decision.models
    assert (model["model"], model["role"], model["acted_on"]) == ("churn", "champion", True)
    assert decision.disclosure == "This message was chosen by an automated system."


def test_every_decision_is_on_the_ledger_before_it_returns(
    service: DecisionService, ledger: Ledger
) -> None:
    before = ledger.count()
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"), actor="test"
    )
    entry = ledger.get(decision.ledger_seq)
    assert entry.kind == "decision.made"
    assert entry.subject == LOW_RISK
    payload = entry.payload
    assert payload["decision_id"] == decision.decision_id
    assert payload["actions"] == ["reminder"]
    assert payload["models"][0]["version"] == 1
    assert payload["consent"] and all(c["allowed"] for c in payload["consent"])
    assert set(payload) >= {
        "input_digest",
        "features_used",
        "rules_fired",
        "fallback",
        "human_review",
        "latency_ms",
        "flow_version",
    }
    assert "tenure_days" in payload["features_used"]
    assert ledger.count() >= before + 1
    assert ledger.verify().ok


def test_consent_revoked_between_two_calls_changes_the_second_decision(
    service: DecisionService, consent: ConsentService, ledger: Ledger
) -> None:
    first = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="web"), actor="test"
    )
    assert first.action == "banner" and not first.fallback
    consent.set(LOW_RISK, [ConsentChangeIn("profiling", "*", "revoked", source="app")], actor="t")
    second = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="web"), actor="test"
    )
    # revoking profiling also stops ai_decisioning (the policy's propagation rule)
    assert second.fallback
    assert second.fallback_reason == "consent_missing:profiling,ai_decisioning"
    assert second.action == "newsletter"
    assert second.models == () and second.top_factors == ()  # nothing was scored
    payload = ledger.get(second.ledger_seq).payload
    assert payload["features_used"] == [] and payload["models"] == []
    assert [c["allowed"] for c in payload["consent"]] == [False, False]


def test_an_email_opt_out_suppresses_every_email_action(
    service: DecisionService, consent: ConsentService
) -> None:
    consent.set(
        LOW_RISK, [ConsentChangeIn("*", "email", "revoked", source="unsubscribe")], actor="t"
    )
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"), actor="test"
    )
    assert decision.action is None
    assert "no_action" in decision.reason_codes


def test_a_stopped_flow_returns_its_fallback_at_once_and_resumes(
    service: DecisionService, ledger: Ledger
) -> None:
    service.stop("retention", actor="ops", reason="complaints about the offer")
    stopped = service.decide(
        DecisionRequest(flow="retention", customer_id=HIGH_RISK, channel="email"), actor="test"
    )
    assert stopped.fallback and stopped.fallback_reason == "flow_stopped"
    assert stopped.action == "newsletter" and stopped.models == ()
    assert service.flow_status("retention")[0].stopped
    service.resume("retention", actor="ops", reason="offer fixed")
    again = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="web"), actor="test"
    )
    assert not again.fallback and again.action == "banner"
    kinds = [e.kind for e in ledger.entries(limit=500)]
    assert "decision.flow_stopped" in kinds and "decision.flow_resumed" in kinds


def test_a_stop_switch_thrown_by_another_service_takes_effect_at_once(
    service: DecisionService, workspace: Workspace, store: Store, ledger: Ledger
) -> None:
    other = decision_service(workspace, store, ledger)
    other.stop("retention", actor="ops", reason="incident")
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"), actor="test"
    )
    assert decision.fallback_reason == "flow_stopped"


def test_the_stop_switch_test_is_recorded_for_oversight(service: DecisionService) -> None:
    result = service.test_stop_switch("retention", actor="governance")
    assert result["passed"] and result["models_scored"] == 0
    [item] = service.oversight()
    assert item.flow_id == "retention" and item.high_stakes and item.human_review
    assert item.stop_switch_tested_at == result["tested_at"]
    assert not service.flow_status("retention")[0].stopped  # live traffic untouched


def test_a_shadow_model_never_changes_an_action(
    service: DecisionService, registry: ModelRegistry
) -> None:
    customers = list(customer_rows())
    before = {c: _decide(service, c, "web").action for c in customers}  # type: ignore[attr-defined]
    release(registry, stage="shadow", model=FakeChurnModel(bias=8.0))  # says everyone churns
    service_models = service._models  # noqa: SLF001 - forget cached serving for the test
    assert service_models is not None
    service_models.refresh()
    for customer in customers:
        decision = _decide(service, customer, "web")
        assert decision.action == before[customer]  # type: ignore[attr-defined]
        if decision.models and decision.models[0]["score"] is not None:  # type: ignore[attr-defined]
            roles = {m["role"]: m for m in decision.models}  # type: ignore[attr-defined]
            assert roles["shadow"]["acted_on"] is False and roles["shadow"]["version"] == 2
            assert roles["shadow"]["score"] > 0.99 > roles["champion"]["score"]


def test_a_canary_gets_its_share_by_a_stable_hash_of_the_customer(
    service: DecisionService, registry: ModelRegistry
) -> None:
    release(registry, stage="canary", model=FakeChurnModel(bias=0.1))
    assert service._models is not None  # noqa: SLF001
    service._models.refresh()  # noqa: SLF001
    customers = [c for c in customer_rows() if c != EMPTY]
    first = {c: _decide(service, c, "web").models[0]["version"] for c in customers}  # type: ignore[attr-defined]
    second = {c: _decide(service, c, "web").models[0]["version"] for c in customers}  # type: ignore[attr-defined]
    assert first == second
    assert set(first.values()) == {1, 2}


def test_a_model_timeout_falls_back_to_the_flows_rule(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    registry: ModelRegistry,
    consent: ConsentService,
) -> None:
    install_flow(workspace)
    release(registry, model=SlowChurnModel())
    grant_profiling(consent, [LOW_RISK])
    service = decision_service(workspace, store, ledger)
    try:
        decision = service.decide(
            DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"),
            actor="test",
        )
    finally:
        service.close()
    assert decision.fallback
    assert decision.fallback_reason == "model_unavailable:churn:model_timeout"
    assert decision.action == "newsletter"


def test_a_customer_the_model_cannot_score_gets_the_fallback(service: DecisionService) -> None:
    decision = _decide(service, EMPTY)
    assert decision.fallback_reason == "model_unavailable:churn:model_error"  # type: ignore[attr-defined]


def test_high_stakes_actions_wait_for_a_reviewer_whose_override_is_recorded(
    service: DecisionService, ledger: Ledger
) -> None:
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=HIGH_RISK, channel="email"), actor="test"
    )
    assert decision.status == "pending_review" and decision.human_review
    assert decision.action == "discount" and decision.review_id
    [pending] = service.reviews()
    assert pending.decision_id == decision.decision_id and pending.proposed_action == "discount"
    with pytest.raises(InvalidInput, match="action"):
        service.settle_review(pending.review_id, "override", reviewer="rita", reason="too rich")
    settled = service.settle_review(
        pending.review_id,
        "override",
        reviewer="rita (reviewer)",
        reason="too generous",
        action="reminder",
    )
    assert (settled.status, settled.final_action, settled.reviewer) == (
        "overridden",
        "reminder",
        "rita (reviewer)",
    )
    stored = service.get(decision.decision_id)
    assert (stored["status"], stored["action_id"]) == ("overridden", "reminder")
    entry = next(e for e in ledger.entries(limit=500) if e.kind == "decision.reviewed")
    assert entry.payload["reviewer"] == "rita (reviewer)"
    assert entry.payload["final_action"] == "reminder"
    with pytest.raises(Conflict):
        service.settle_review(pending.review_id, "approve", reviewer="sam", reason="late")


def test_a_review_past_its_deadline_expires_and_nothing_is_done(
    service: DecisionService,
) -> None:
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=HIGH_RISK, channel="email"), actor="test"
    )
    queue = service._reviews  # noqa: SLF001
    assert queue.expire_overdue(actor="clock", now=now_utc() + timedelta(hours=25)) == 1
    assert service.get(decision.decision_id)["status"] == "expired"
    assert service.get(decision.decision_id)["action_id"] is None


def test_frequency_caps_hold_under_concurrent_requests(service: DecisionService) -> None:
    results: list[object] = []
    barrier = threading.Barrier(12)

    def one() -> None:
        barrier.wait()
        results.append(_decide(service, LOW_RISK, "email"))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emailed = [r for r in results if r.actions]  # type: ignore[attr-defined]
    assert len(emailed) == 1  # one e-mail a week, however many ask at once
    for refused in (r for r in results if not r.actions):  # type: ignore[attr-defined]
        assert "no_action" in refused.reason_codes  # type: ignore[attr-defined]
        blocks = service.get(refused.decision_id)["record"]["contact_blocks"]  # type: ignore[attr-defined]
        assert {b["code"] for b in blocks} == {"frequency_cap"}


def test_rejects_suppress_further_offers(service: DecisionService) -> None:
    customer = "cus_000"
    for _ in range(2):
        decision = _decide(service, customer, "web")
        service.record_outcome(decision.decision_id, "rejected", actor="web")  # type: ignore[attr-defined]
    third = _decide(service, customer, "web")
    assert third.action != "banner"  # type: ignore[attr-defined]


def test_outcomes_feed_the_kpis_and_need_an_action(service: DecisionService) -> None:
    decision = _decide(service, LOW_RISK)
    outcome = service.record_outcome(
        decision.decision_id,
        "converted",
        actor="crm",
        value=30.0,  # type: ignore[attr-defined]
    )
    assert outcome.action_id == "reminder"
    kpis = service.kpis("retention")["retention"]
    assert kpis["outcomes"]["converted"] == {"count": 1, "value": 30.0}
    with pytest.raises(InvalidInput, match="outcome"):
        service.record_outcome(decision.decision_id, "loved it", actor="crm")  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        service.record_outcome("dec_missing", "accepted", actor="crm")


def test_the_explanation_is_plain_words_from_the_customers_own_data(
    service: DecisionService,
) -> None:
    decision = _decide(service, LOW_RISK)
    explanation = service.explanation(decision.decision_id)  # type: ignore[attr-defined]
    assert explanation.text.startswith("We chose: Loyalty reminder.")
    assert "days since the customer's first order (120) lowered the score" in explanation.text
    assert "automated system" in explanation.text
    assert "ask for a person to review" in explanation.rights
    assert explanation.technical["flow_version"] == 1
    assert "feature_values" not in explanation.technical


def test_unknown_customers_flows_and_channels_are_clear_errors(service: DecisionService) -> None:
    with pytest.raises(NotFound, match="cus_nobody"):
        _decide(service, "cus_nobody")
    with pytest.raises(NotFound, match="no decision flow 'upsell'"):
        service.decide(
            DecisionRequest(flow="upsell", customer_id=LOW_RISK, channel="web"), actor="t"
        )
    with pytest.raises(InvalidInput, match="channel 'sms'") as caught:
        _decide(service, LOW_RISK, "sms")
    assert caught.value.field == "channel"
    with pytest.raises(InvalidInput) as bad:
        DecisionRequest(
            flow="retention", customer_id=LOW_RISK, channel="web", context={"nested": {"a": 1}}
        )
    assert bad.value.field == "context.nested"


def test_a_flow_changed_without_a_new_version_is_refused(
    service: DecisionService, workspace: Workspace
) -> None:
    _decide(service, LOW_RISK)
    from tests.decide._fakes import FLOW

    install_flow(workspace, FLOW.replace("value: 20", "value: 25"))
    service.reload()
    with pytest.raises(Conflict, match="bump `version`"):
        _decide(service, LOW_RISK)
    install_flow(
        workspace, FLOW.replace("value: 20", "value: 25").replace("version: 1", "version: 2")
    )
    service.reload()
    assert _decide(service, NO_TENURE).flow_version == 2  # type: ignore[attr-defined]
    assert [v["version"] for v in service.flow_versions("retention")] == [1, 2]


def test_anonymous_visitors_get_the_fallback_when_the_flow_allows(
    workspace: Workspace, store: Store, ledger: Ledger, registry: ModelRegistry
) -> None:
    from tests.decide._fakes import FLOW

    install_flow(workspace, FLOW.replace("top_n: 1", "top_n: 1\nunknown_customer: anonymous"))
    release(registry)
    service = decision_service(workspace, store, ledger, FakeFeatures())
    decision = service.decide(
        DecisionRequest(flow="retention", customer_id=None, channel="web"), actor="test"
    )
    assert decision.fallback_reason == "customer_unknown" and decision.action == "newsletter"
    assert decision.customer_id.startswith("anon_")
