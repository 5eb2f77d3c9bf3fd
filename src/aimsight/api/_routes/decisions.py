"""/v1/decisions, /v1/flows and /v1/reviews: deciding, explaining, outcomes, stop switches
and the human review queue.

Routes parse, call :class:`~aimsight.decide.DecisionService` and return a schema. A decision
is on the ledger before its answer is sent; an unknown flow or customer is a 404, a channel
the flow does not serve or a bad context a 422 naming the field.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import DecisionsDep, ServicesDep
from aimsight.api._routes.common import new_router
from aimsight.decide import DecisionRequest
from aimsight.security import ApiKey, Permission

__all__ = ["router"]

router = new_router("decisions")

DecisionParam = Annotated[
    str, Path(min_length=1, max_length=40, description="A decision id (`dec_...`).")
]
FlowParam = Annotated[
    str, Path(min_length=1, max_length=64, description="A flow id, e.g. `retention`.")
]
ReviewParam = Annotated[
    str, Path(min_length=1, max_length=40, description="A review id (`rev_...`).")
]
ContextValue = str | int | float | bool | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionCreate(_Body):
    """A request for a decision."""

    flow: str = Field(min_length=1, max_length=64, description="The flow to run.")
    customer_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="A customer id, alias or record key; leave out for an anonymous visitor "
        "(only flows with `unknown_customer: anonymous`).",
    )
    channel: str = Field(min_length=1, max_length=16, description="Where the answer is used.")
    context: dict[str, ContextValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Flat values the rules read as `context.<name>` (at most 50).",
    )
    top_n: int | None = Field(default=None, ge=1, le=20, description="Actions to return.")
    timezone: str | None = Field(
        default=None, max_length=64, description="The customer's IANA time zone, if known."
    )


class DecisionPublic(BaseModel):
    """A decision as answered."""

    decision_id: str
    flow: str
    flow_version: int
    customer_id: str
    channel: str
    status: str
    actions: list[dict[str, Any]]
    fallback: bool
    fallback_reason: str | None
    human_review: bool
    review_id: str | None
    review_deadline: str | None
    reason_codes: list[str]
    top_factors: list[dict[str, Any]]
    models: list[dict[str, Any]]
    disclosure: str | None
    ledger_seq: int
    latency_ms: float
    created_at: str


class DecisionRecordPublic(BaseModel):
    """A stored decision with its technical record and outcomes."""

    decision_id: str
    flow: str
    flow_version: int
    customer_id: str
    channel: str
    action_id: str | None
    status: str
    fallback: bool
    human_review: bool
    reason_codes: list[str]
    ledger_seq: int
    latency_ms: float
    created_at: str
    updated_at: str
    outcomes: list[dict[str, Any]]
    record: dict[str, Any]


class ExplanationPublic(BaseModel):
    """A decision in plain words fit to show the customer, and the technical record."""

    decision_id: str
    text: str
    reasons: list[str]
    factors: list[str]
    disclosure: str | None
    human_involved: bool
    rights: str
    technical: dict[str, Any]


class OutcomeCreate(_Body):
    """What came of a decision."""

    outcome: Literal["accepted", "rejected", "converted", "complaint"]
    value: float | None = Field(default=None, ge=-1e12, le=1e12, allow_inf_nan=False)


class OutcomePublic(BaseModel):
    """An outcome as recorded."""

    decision_id: str
    outcome: str
    value: float | None
    action_id: str | None
    recorded_at: str
    ledger_seq: int


class FlowPublic(BaseModel):
    """A flow as served."""

    flow: str
    version: int
    digest: str
    description: str
    owner: str | None
    channels: list[str]
    actions: list[str]
    models: dict[str, str]
    stopped: bool
    stop_reason: str | None
    stop_changed_by: str | None
    stop_changed_at: str | None
    stop_switch_tested_at: str | None
    high_stakes: bool
    human_review: bool
    source: str


class FlowList(BaseModel):
    """Every flow."""

    flows: list[FlowPublic]


class SwitchCreate(_Body):
    """Why a flow is stopped or resumed."""

    reason: str = Field(min_length=1, max_length=2000)


class StopSwitchTestPublic(BaseModel):
    """A passed stop-switch test."""

    passed: bool
    fallback_action: str | None
    models_scored: int
    features_read: int
    tested_at: str


class ReviewPublic(BaseModel):
    """A review in the human review queue."""

    review_id: str
    decision_id: str
    flow: str
    customer_id: str
    channel: str
    proposed_action: str
    why: str
    status: str
    deadline: str
    created_at: str
    reviewer: str | None
    verdict_reason: str | None
    final_action: str | None
    decided_at: str | None


class ReviewList(BaseModel):
    """Reviews, oldest deadline first."""

    reviews: list[ReviewPublic]


class VerdictCreate(_Body):
    """A reviewer's verdict."""

    verdict: Literal["approve", "override", "reject"]
    reason: str = Field(min_length=1, max_length=2000)
    action: str | None = Field(
        default=None, max_length=64, description="The action to take instead (override only)."
    )


def _actor(caller: ApiKey) -> str:
    return f"api:{caller.key_id}"


@router.post("/decisions", response_model=DecisionPublic, **guarded(Permission.DECISIONS_MAKE))
async def make_decision(body: DecisionCreate, services: ServicesDep, caller: CallerDep) -> Response:
    """Decide for one customer now; the answer is on the ledger before it is sent."""
    request = DecisionRequest(
        flow=body.flow,
        customer_id=body.customer_id,
        channel=body.channel,
        context=dict(body.context),
        top_n=body.top_n,
        timezone=body.timezone,
    )
    decide = functools.partial(services.decisions.decide, request, actor=_actor(caller))
    decision = await services.in_decision_lane(decide)
    # The hot path: the service's result is already JSON-ready, so it is sent as it is
    # rather than validated into DecisionPublic and serialised again (the schema above still
    # documents it, and tests/api/test_decisions.py checks the two agree).
    return Response(
        json.dumps(decision.to_dict(), separators=(",", ":"), allow_nan=False).encode(),
        media_type="application/json",
    )


@router.get("/decisions/{decision_id}", **guarded(Permission.DECISIONS_READ))
def get_decision(decision_id: DecisionParam, decisions: DecisionsDep) -> DecisionRecordPublic:
    """A decision with its technical record and outcomes."""
    return DecisionRecordPublic.model_validate(decisions.get(decision_id))


@router.get("/decisions/{decision_id}/explanation", **guarded(Permission.DECISIONS_READ))
def explain_decision(decision_id: DecisionParam, decisions: DecisionsDep) -> ExplanationPublic:
    """The decision in plain words fit to show the customer (GDPR Art. 22, 15(1)(h)), with
    the technical record."""
    return ExplanationPublic.model_validate(decisions.explanation(decision_id).to_dict())


@router.post("/decisions/{decision_id}/outcome", **guarded(Permission.OUTCOMES_WRITE))
def record_outcome(
    decision_id: DecisionParam, body: OutcomeCreate, decisions: DecisionsDep, caller: CallerDep
) -> OutcomePublic:
    """Record what came of a decision (rejects and complaints feed the contact policy)."""
    outcome = decisions.record_outcome(
        decision_id, body.outcome, actor=_actor(caller), value=body.value
    )
    return OutcomePublic.model_validate(outcome.to_dict())


@router.get("/flows", **guarded(Permission.DECISIONS_READ))
def list_flows(decisions: DecisionsDep) -> FlowList:
    """Every decision flow with its version, stop switch and review settings."""
    return FlowList(flows=[FlowPublic.model_validate(s.to_dict()) for s in decisions.flow_status()])


@router.get("/flows/{flow_id}", **guarded(Permission.DECISIONS_READ))
def get_flow(flow_id: FlowParam, decisions: DecisionsDep) -> FlowPublic:
    """One flow."""
    return FlowPublic.model_validate(decisions.flow_status(flow_id)[0].to_dict())


@router.post("/flows/{flow_id}/stop", **guarded(Permission.FLOWS_MANAGE))
def stop_flow(
    flow_id: FlowParam, body: SwitchCreate, decisions: DecisionsDep, caller: CallerDep
) -> FlowPublic:
    """Engage the stop switch: the flow answers with its safe fallback at once."""
    status = decisions.stop(flow_id, actor=_actor(caller), reason=body.reason)
    return FlowPublic.model_validate(status.to_dict())


@router.post("/flows/{flow_id}/resume", **guarded(Permission.FLOWS_MANAGE))
def resume_flow(
    flow_id: FlowParam, body: SwitchCreate, decisions: DecisionsDep, caller: CallerDep
) -> FlowPublic:
    """Release the stop switch."""
    status = decisions.resume(flow_id, actor=_actor(caller), reason=body.reason)
    return FlowPublic.model_validate(status.to_dict())


@router.post("/flows/{flow_id}/stop-switch-test", **guarded(Permission.FLOWS_MANAGE))
def test_stop_switch(
    flow_id: FlowParam, decisions: DecisionsDep, caller: CallerDep
) -> StopSwitchTestPublic:
    """Prove the stop switch gives the fallback (a dry run; live traffic is not stopped)."""
    return StopSwitchTestPublic.model_validate(
        decisions.test_stop_switch(flow_id, actor=_actor(caller))
    )


@router.get("/reviews", **guarded(Permission.DECISIONS_REVIEW))
def list_reviews(
    decisions: DecisionsDep,
    status: Annotated[
        Literal["pending", "approved", "overridden", "rejected", "expired"] | None, Query()
    ] = "pending",
    flow: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReviewList:
    """The human review queue, oldest deadline first (overdue reviews expire first)."""
    found = decisions.reviews(status=status, flow=flow, limit=limit)
    return ReviewList(reviews=[ReviewPublic.model_validate(r.to_dict()) for r in found])


@router.post("/reviews/{review_id}", **guarded(Permission.DECISIONS_REVIEW))
def settle_review(
    review_id: ReviewParam, body: VerdictCreate, decisions: DecisionsDep, caller: CallerDep
) -> ReviewPublic:
    """Approve, override (naming the action) or reject a pending review, with a reason; the
    reviewer is the calling key."""
    review = decisions.settle_review(
        review_id,
        body.verdict,
        reviewer=f"{caller.name} ({caller.role.value}, {caller.key_id})",
        reason=body.reason,
        action=body.action,
    )
    return ReviewPublic.model_validate(review.to_dict())
