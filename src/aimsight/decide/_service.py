"""The decision service: one decision per request, every safeguard in order, on the ledger.

Order of a decision (each step can end it with the flow's non-personalised fallback):
the stop switch, the consent gate (before any data is read or any model scored), the
customer's features, the models (champion or canary acted on, shadows logged), confidence,
the actions' rules, the contact policy, arbitration, and human review for high stakes. The
decision row, its contacts and its review item are written in the same transaction as the
ledger entry, before the answer is returned.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict, InvalidInput, NotFound
from aimsight.core.ids import new_id
from aimsight.core.workspace import Workspace
from aimsight.decide._arbitration import Candidate, arbitrate, evaluate_actions
from aimsight.decide._contact import check_contact, customer_timezone
from aimsight.decide._explain import explain
from aimsight.decide._flow import Flow, load_flows, shipped_flows_folder
from aimsight.decide._flow_state import FlowStates
from aimsight.decide._history import read_history
from aimsight.decide._models import ModelLoop, ModelScore
from aimsight.decide._results import (
    OUTCOMES,
    ChosenAction,
    Decision,
    DecisionRequest,
    Explanation,
    FlowOversight,
    FlowStatus,
    Outcome,
    Review,
)
from aimsight.decide._review import ReviewQueue
from aimsight.decide._tables import ContactRow, DecisionRow, OutcomeRow, ReviewRow
from aimsight.features import FeatureService
from aimsight.privacy import ConsentRecord, ConsentService, effective
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, LedgerEntry, Store

__all__ = ["FLOWS_FOLDER", "DecisionService"]

FLOWS_FOLDER = "flows"
"""Where a workspace keeps its decision flows (``<workspace>/flows/*.yaml``)."""

OUTBOUND_CHANNELS = frozenset({"email", "sms", "push", "phone"})
"""Channels where an action contacts the customer, so it needs the flow's contact purpose
(marketing) on that channel; on the web the customer came to us and sees the page anyway."""

# Built once: every decision writes a decision row and usually a contact.
_INSERT_DECISION = insert(DecisionRow)
_INSERT_CONTACT = insert(ContactRow)


class DecisionService:
    """Decides, explains, records outcomes and runs the review queue and stop switches.

    One instance per app or process: it keeps the flows, loaded models and batch scores in
    memory. Flows come from ``<workspace>/flows``.
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        *,
        features: FeatureService | None = None,
        registry: ModelRegistry | None = None,
        consent: ConsentService | None = None,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._features = features or FeatureService(workspace, store, ledger)
        self._registry = registry or ModelRegistry(workspace, store, ledger)
        self._consent = consent or ConsentService(workspace, store, ledger)
        self._states = FlowStates(store, ledger)
        self._reviews = ReviewQueue(store, ledger)
        self._models: ModelLoop | None = None
        self._flows: dict[str, Flow] | None = None
        self._flows_lock = threading.Lock()
        self._pinned: set[tuple[str, int, str]] = set()  # (flow, version, digest) on record

    # -- flows -------------------------------------------------------------------------------

    @property
    def flows_folder(self) -> Path:
        """``<workspace>/flows``: the flows this workspace serves (none until a team writes
        one or installs the shipped examples with :meth:`install_example_flows`)."""
        return self._workspace.root / FLOWS_FOLDER

    def install_example_flows(self) -> list[Path]:
        """Copy the shipped retention and next-best-offer flows into the workspace (files
        already there are kept); returns the files written."""
        folder = self.flows_folder
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for source in sorted(shipped_flows_folder().glob("*.yaml")):
            target = folder / source.name
            if not target.exists():
                target.write_bytes(source.read_bytes())
                written.append(target)
        return written

    def flows(self) -> dict[str, Flow]:
        """Every flow by id, loaded and validated once (see :meth:`reload`)."""
        with self._flows_lock:
            if self._flows is None:
                names = self._features.definitions().names
                self._flows = load_flows(self.flows_folder, features=names)
            return self._flows

    def reload(self) -> dict[str, Flow]:
        """Read the flow files again (after an edit); a bad file keeps the old flows."""
        names = self._features.definitions().names
        flows = load_flows(self.flows_folder, features=names)
        with self._flows_lock:
            self._flows = flows
        if self._models is not None:
            self._models.refresh()
        return flows

    def flow(self, flow_id: str) -> Flow:
        """One flow.

        Raises:
            NotFound: no flow has this id.
        """
        found = self.flows().get(flow_id)
        if found is None:
            raise NotFound(
                f"no decision flow {flow_id!r}; flows: {', '.join(sorted(self.flows())) or 'none'}"
            )
        return found

    def flow_status(self, flow_id: str | None = None) -> list[FlowStatus]:
        """Each flow (or one) with its stop switch and review settings."""
        flows = [self.flow(flow_id)] if flow_id else list(self.flows().values())
        states = self._states.all()
        result = []
        for flow in flows:
            state = states.get(flow.flow)
            result.append(
                FlowStatus(
                    flow=flow.flow,
                    version=flow.version,
                    digest=flow.digest,
                    description=flow.description,
                    owner=flow.owner,
                    channels=tuple(flow.channels),
                    actions=tuple(a.id for a in flow.actions),
                    models={alias: use.model for alias, use in flow.models.items()},
                    stopped=bool(state and state.stopped),
                    stop_reason=state.stop_reason if state else None,
                    stop_changed_by=state.changed_by if state else None,
                    stop_changed_at=state.changed_at if state else None,
                    stop_switch_tested_at=state.stop_switch_tested_at if state else None,
                    high_stakes=flow.high_stakes,
                    human_review=flow.human_review,
                    source=str(self.flows_folder / f"{flow.flow}.yaml"),
                )
            )
        return result

    def oversight(self) -> list[FlowOversight]:
        """Per flow: high stakes, human review and when the stop switch was last tested
        (what the AIMS human-oversight check reads)."""
        return [
            FlowOversight(
                flow_id=status.flow,
                high_stakes=status.high_stakes,
                human_review=status.human_review,
                stop_switch_tested_at=status.stop_switch_tested_at,
            )
            for status in self.flow_status()
        ]

    def flow_versions(self, flow_id: str) -> list[dict[str, object]]:
        """Every version of the flow that has served decisions."""
        self.flow(flow_id)
        return self._states.versions(flow_id)

    def stop(self, flow_id: str, *, actor: str, reason: str) -> FlowStatus:
        """Engage the flow's stop switch: from now on it answers with its safe fallback."""
        self.flow(flow_id)
        _need_reason(reason)
        self._states.set_stopped(flow_id, True, actor=actor, reason=reason)
        return self.flow_status(flow_id)[0]

    def resume(self, flow_id: str, *, actor: str, reason: str) -> FlowStatus:
        """Release the stop switch."""
        self.flow(flow_id)
        _need_reason(reason)
        self._states.set_stopped(flow_id, False, actor=actor, reason=reason)
        return self.flow_status(flow_id)[0]

    def test_stop_switch(self, flow_id: str, *, actor: str) -> dict[str, Any]:
        """Prove the stop switch works without stopping live traffic.

        Runs a dry decision with the switch forced on and checks it gives the fallback, with
        no model scored and no customer data read; records the passed test on the ledger
        (what the AIMS human-oversight check reads).

        Raises:
            Conflict: the dry run did not give the fallback (the switch is broken).
        """
        flow = self.flow(flow_id)
        request = DecisionRequest(flow=flow_id, customer_id=None, channel=flow.channels[0])
        plan = self._plan(flow, request, forced_stop=True, now=now_utc())
        passed = (
            plan["fallback"]
            and plan["fallback_reason"] == "flow_stopped"
            and not plan["models"]
            and not plan["features_used"]
        )
        result = {
            "passed": bool(passed),
            "fallback_action": plan["actions"][0]["action_id"] if plan["actions"] else None,
            "models_scored": len(plan["models"]),
            "features_read": len(plan["features_used"]),
        }
        if not passed:
            raise Conflict(
                f"the stop switch of flow {flow_id!r} did not give the fallback in a dry run "
                f"({result}); do not rely on it until this is fixed"
            )
        result["tested_at"] = self._states.record_test(flow_id, actor=actor, result=result)
        return result

    # -- deciding ----------------------------------------------------------------------------

    def decide(self, request: DecisionRequest, *, actor: str) -> Decision:
        """Decide for one customer; the decision is on the ledger when this returns.

        Raises:
            NotFound: unknown flow, or an unknown customer for a flow that answers 404.
            InvalidInput: a channel the flow does not serve, or a bad context.
        """
        start = time.perf_counter()
        flow = self.flow(request.flow)
        if request.channel not in flow.channels:
            raise InvalidInput(
                f"flow {flow.flow!r} does not serve channel {request.channel!r}; use one of "
                f"{', '.join(flow.channels)}",
                field="channel",
            )
        self._pin(flow, actor)
        # One customer's decisions run one at a time, across threads and server processes,
        # so a contact cap read and the contact written after it cannot interleave.
        customer = request.customer_id
        lock = self._store.lock(f"aimsight-customer:{customer}") if customer else nullcontext()
        with lock:
            now = now_utc()
            plan = self._plan(flow, request, forced_stop=False, now=now)
            plan["latency_ms"] = round((time.perf_counter() - start) * 1000, 3)
            entry = self._write(flow, request, plan, now, actor)
        return self._decision(flow, plan, entry, (time.perf_counter() - start) * 1000)

    def _plan(
        self, flow: Flow, request: DecisionRequest, *, forced_stop: bool, now: datetime
    ) -> dict[str, Any]:
        """Everything decided before the write: actions, reasons, scores and flags."""
        plan: dict[str, Any] = {
            "decision_id": new_id("dec"),
            "flow": flow.flow,
            "flow_version": flow.version,
            "flow_digest": flow.digest,
            "channel": request.channel,
            "customer_known": False,
            "models": [],
            "features_used": [],
            "feature_values": {},
            "rules": [],
            "consent": [],
            "contact_blocks": [],
            "candidates": [],
            "reason_codes": [],
            "top_factors": [],
            "fallback": False,
            "fallback_reason": None,
            "human_review": False,
            "review": None,
            "disclosure": (flow.disclosure or {}).get(request.channel),
            "context": dict(request.context),
            "input_digest": _digest(
                {
                    "flow": flow.flow,
                    "customer": request.customer_id,
                    "channel": request.channel,
                    "context": request.context,
                    "top_n": request.top_n,
                }
            ),
        }
        with self._store.engine.connect() as connection:
            stopped = forced_stop or self._states.stopped(connection, flow.flow)
            if stopped:
                plan["customer_id"] = request.customer_id or new_id("anon")
                return self._fallback(flow, plan, "flow_stopped", request, None, now)
            customer_id, row = self._customer(flow, request)
            plan["customer_id"] = customer_id
            history = read_history(connection, customer_id, now)
            # Read once, with the rest; every consent check below uses these records.
            consents = (
                self._consent.records(customer_id, connection=connection) if row is not None else []
            )
        if row is None:
            return self._fallback(flow, plan, "customer_unknown", request, history, now)
        plan["customer_known"] = True
        policy = self._consent.policy
        plan["consent_records"] = consents
        checks = effective(consents, policy, list(flow.consent.purposes), request.channel)
        plan["consent"] = [_consent_dict(c) for c in checks]
        refused = [c for c in checks if not c.allowed]
        if refused:
            reason = "consent_missing:" + ",".join(c.purpose for c in refused)
            return self._fallback(flow, plan, reason, request, history, now)
        plan["reason_codes"].append("consent_granted")

        snapshot = self._features.online_version()
        scores: dict[str, float | None] = {}
        acted: dict[str, ModelScore] = {}
        for alias, use in flow.models.items():
            results = self._loop().score(
                alias,
                use.model,
                use.output,
                customer_id,
                row,
                snapshot=snapshot,
                timeout_ms=float(use.timeout_ms),
            )
            plan["models"].extend(r.to_dict() for r in results)
            acted[alias] = results[0]
            scores[alias] = results[0].score
        failed = [s for s in acted.values() if s.score is None]
        env = {
            "features": row,
            "scores": scores,
            "context": dict(request.context),
            "history": history.fields(now),
            "customer": {"known": True},
        }
        used = sorted({name for name in _feature_names(flow)} | _model_inputs(acted))
        plan["features_used"] = used
        plan["feature_values"] = {name: row.get(name) for name in used if name in row}
        plan["top_factors"] = _top_factors(acted)
        if failed:
            first = failed[0]
            reason = f"model_unavailable:{first.alias}:{first.error}"
            return self._fallback(flow, plan, reason, request, history, now, env=env)
        confidence = _confidence(flow, env)
        if confidence is not None:
            plan["confidence"] = confidence
        low = (
            confidence is not None
            and flow.confidence is not None
            and confidence < float(flow.confidence.min)
        )
        if low and flow.confidence is not None and flow.confidence.below == "fallback":
            return self._fallback(flow, plan, "low_confidence", request, history, now, env=env)

        candidates, rules = evaluate_actions(flow, env, request_channel=request.channel)
        plan["rules"] = [_rule_dict(r) for r in rules]
        allowed: list[Candidate] = []
        timezone = customer_timezone(
            _text(row.get("country")), request.timezone, _default_timezone(flow)
        )
        for candidate in candidates:
            blocks = self._contact_blocks(
                flow, candidate.action, request, history, now, timezone, env, customer_id, consents
            )
            if blocks:
                plan["contact_blocks"].extend(blocks)
            else:
                allowed.append(candidate)
        plan["candidates"] = [_candidate_dict(c) for c in candidates]
        chosen = arbitrate(allowed, min(request.top_n or flow.top_n, flow.top_n))
        if not chosen:
            reason = "contact_policy" if candidates else "no_eligible_action"
            return self._fallback(flow, plan, reason, request, history, now, env=env)
        plan["actions"] = [_chosen(c, request.channel) for c in chosen]
        plan["reason_codes"].extend([f"rules_met:{chosen[0].action.id}", "highest_priority"])
        review_why = (
            self._review_reason(flow, chosen[0], env)
            if not low
            else (
                f"confidence {confidence:.2f} is below the flow's minimum {flow.confidence.min}"
                if flow.confidence is not None and confidence is not None
                else None
            )
        )
        if review_why:
            plan["human_review"] = True
            plan["review"] = {
                "review_id": new_id("rev"),
                "why": review_why,
                "deadline": isoformat_utc(
                    now + timedelta(hours=float(flow.review.deadline_hours if flow.review else 24))
                ),
            }
            plan["reason_codes"].append("human_review")
        return plan

    def _fallback(
        self,
        flow: Flow,
        plan: dict[str, Any],
        reason: str,
        request: DecisionRequest,
        history: Any,
        now: datetime,
        *,
        env: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The flow's non-personalised fallback, unless the contact policy or a channel
        opt-out forbids even that (then no action)."""
        plan["fallback"] = True
        plan["fallback_reason"] = reason
        plan["reason_codes"].append(reason.split(":", 1)[0])
        action = flow.action(flow.fallback.action)
        blocks: list[dict[str, Any]] = []
        if history is not None and plan.get("customer_known"):
            timezone = customer_timezone(None, request.timezone, _default_timezone(flow))
            blocks = self._contact_blocks(
                flow,
                action,
                request,
                history,
                now,
                timezone,
                env or _empty_env(request),
                plan["customer_id"],
                plan.get("consent_records"),
            )
        if blocks:
            plan["contact_blocks"].extend(blocks)
            plan["actions"] = []
            plan["reason_codes"].append("no_action")
            return plan
        channel = request.channel if action.channel == "any" else action.channel
        plan["actions"] = [
            {
                "action_id": action.id,
                "title": action.title or action.id,
                "channel": channel,
                "message": action.message,
                "priority": 0.0,
                "propensity": 0.0,
                "value": 0.0,
                "context_weight": 1.0,
                "lever": 1.0,
                "high_stakes": False,
                "reason": flow.fallback.reason,
            }
        ]
        return plan

    def _contact_blocks(
        self,
        flow: Flow,
        action: Any,
        request: DecisionRequest,
        history: Any,
        now: datetime,
        timezone: str,
        env: Mapping[str, Any],
        customer_id: str,
        consents: Sequence[ConsentRecord] | None = None,
    ) -> list[dict[str, Any]]:
        channel = request.channel if action.channel == "any" else action.channel
        blocks = [
            {"action_id": b.action_id, "code": b.code, "message": b.message}
            for b in check_contact(flow, action, channel, history, now, timezone, env)
        ]
        purpose = flow.consent.contact_purpose
        if purpose and channel in OUTBOUND_CHANNELS:
            held = consents if consents is not None else self._consent.records(customer_id)
            for check in effective(held, self._consent.policy, [purpose], channel):
                if not check.allowed:
                    blocks.append(
                        {
                            "action_id": action.id,
                            "code": "consent",
                            "message": f"no {purpose} consent on {channel}: {check.reason}",
                        }
                    )
        return blocks

    def _review_reason(self, flow: Flow, chosen: Candidate, env: Mapping[str, Any]) -> str | None:
        action = chosen.action
        channel = action.channel
        if not flow.needs_review(
            action, env, value=chosen.value, priority=chosen.priority, channel=channel
        ):
            return None
        if action.high_stakes:
            return f"action {action.id} is marked high-stakes"
        when = flow.review.when if flow.review is not None else None
        return f"review rule matched: {when}"

    def _customer(self, flow: Flow, request: DecisionRequest) -> tuple[str, dict[str, Any] | None]:
        """The customer's id and features (``None`` for an anonymous visitor)."""
        if request.customer_id is None:
            if flow.unknown_customer == "anonymous":
                return new_id("anon"), None
            raise InvalidInput(
                f"flow {flow.flow!r} needs a customer_id (it answers unknown customers with 404)",
                field="customer_id",
            )
        try:
            row = self._features.online(request.customer_id)
        except NotFound as exc:
            if flow.unknown_customer == "anonymous":
                return request.customer_id, None
            raise NotFound(
                f"customer {request.customer_id!r} is unknown to flow {flow.flow!r}: {exc}"
            ) from None
        return str(row["customer_id"]), row

    def _write(
        self,
        flow: Flow,
        request: DecisionRequest,
        plan: dict[str, Any],
        now: datetime,
        actor: str,
    ) -> LedgerEntry:
        at = isoformat_utc(now)
        status = "pending_review" if plan["human_review"] else "decided"
        action_id = plan["actions"][0]["action_id"] if plan["actions"] else None
        record = {
            k: v
            for k, v in plan.items()
            if k not in {"feature_values", "context", "consent_records"}
        }
        record["status"] = status
        payload = {
            "decision_id": plan["decision_id"],
            "flow": flow.flow,
            "flow_version": flow.version,
            "flow_digest": plan["flow_digest"],
            "channel": request.channel,
            "input_digest": plan["input_digest"],
            "features_used": plan["features_used"],
            "models": [
                {
                    k: m[k]
                    for k in ("alias", "model", "version", "role", "acted_on", "score", "error")
                }
                for m in plan["models"]
            ],
            "rules_fired": [r for r in plan["rules"] if r["passed"]],
            "consent": plan["consent"],
            "contact_blocks": [
                {k: b[k] for k in ("action_id", "code")} for b in plan["contact_blocks"]
            ],
            "actions": [a["action_id"] for a in plan["actions"]],
            "status": status,
            "fallback": plan["fallback"],
            "fallback_reason": plan["fallback_reason"],
            "human_review": plan["human_review"],
            "reason_codes": plan["reason_codes"],
            "latency_ms": plan["latency_ms"],
        }
        personal = {"features": plan["feature_values"], "context": plan["context"]}

        def write(connection: Connection, entry: LedgerEntry) -> None:
            connection.execute(
                _INSERT_DECISION,
                {
                    "decision_id": plan["decision_id"],
                    "flow_id": flow.flow,
                    "flow_version": flow.version,
                    "customer_id": plan["customer_id"],
                    "channel": request.channel,
                    "action_id": action_id,
                    "status": status,
                    "fallback": plan["fallback"],
                    "human_review": plan["human_review"],
                    "reason_codes": json.dumps(plan["reason_codes"]),
                    "record": json.dumps(
                        {**record, "feature_values": plan["feature_values"]}, default=str
                    ),
                    "ledger_seq": entry.seq,
                    "latency_ms": plan["latency_ms"],
                    "created_at": at,
                    "updated_at": at,
                },
            )
            if status == "decided" and plan["actions"]:
                connection.execute(
                    _INSERT_CONTACT,
                    [
                        {
                            "customer_id": plan["customer_id"],
                            "flow_id": flow.flow,
                            "action_id": action["action_id"],
                            "channel": action["channel"],
                            "decision_id": plan["decision_id"],
                            "at": at,
                        }
                        for action in plan["actions"]
                    ],
                )
            elif plan["review"] is not None:
                connection.execute(
                    insert(ReviewRow).values(
                        review_id=plan["review"]["review_id"],
                        decision_id=plan["decision_id"],
                        flow_id=flow.flow,
                        customer_id=plan["customer_id"],
                        channel=plan["actions"][0]["channel"],
                        proposed_action=action_id,
                        why=plan["review"]["why"],
                        status="pending",
                        deadline=plan["review"]["deadline"],
                        created_at=at,
                    )
                )

        return self._ledger.append(
            "decision.made",
            actor=actor,
            subject=plan["customer_id"],
            payload=payload,
            personal=personal,
            alongside=write,
        )

    def _decision(
        self, flow: Flow, plan: Mapping[str, Any], entry: LedgerEntry, elapsed_ms: float
    ) -> Decision:
        review = plan.get("review")
        return Decision(
            decision_id=plan["decision_id"],
            flow=flow.flow,
            flow_version=flow.version,
            customer_id=plan["customer_id"],
            channel=plan["channel"],
            status="pending_review" if plan["human_review"] else "decided",
            actions=tuple(
                ChosenAction(**{k: v for k, v in a.items() if k != "reason"})
                for a in plan["actions"]
            ),
            fallback=plan["fallback"],
            fallback_reason=plan["fallback_reason"],
            human_review=plan["human_review"],
            review_id=review["review_id"] if review else None,
            review_deadline=review["deadline"] if review else None,
            reason_codes=tuple(plan["reason_codes"]),
            top_factors=tuple(plan["top_factors"]),
            models=tuple(plan["models"]),
            disclosure=plan["disclosure"],
            ledger_seq=entry.seq,
            latency_ms=round(elapsed_ms, 3),
            created_at=entry.recorded_at,
        )

    # -- reading decisions -------------------------------------------------------------------

    def get(self, decision_id: str) -> dict[str, Any]:
        """A decision as stored: its row and technical record.

        Raises:
            NotFound: no such decision.
        """
        with self._store.session() as session:
            row = session.get(DecisionRow, decision_id)
            if row is None:
                raise NotFound(f"no decision {decision_id!r}")
            record = json.loads(row.record)
            outcomes = session.scalars(
                select(OutcomeRow)
                .where(OutcomeRow.decision_id == decision_id)
                .order_by(OutcomeRow.id)
            ).all()
            return {
                "decision_id": row.decision_id,
                "flow": row.flow_id,
                "flow_version": row.flow_version,
                "customer_id": row.customer_id,
                "channel": row.channel,
                "action_id": row.action_id,
                "status": row.status,
                "fallback": row.fallback,
                "human_review": row.human_review,
                "reason_codes": json.loads(row.reason_codes),
                "ledger_seq": row.ledger_seq,
                "latency_ms": row.latency_ms,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "outcomes": [
                    {"outcome": o.outcome, "value": o.value, "recorded_at": o.recorded_at}
                    for o in outcomes
                ],
                "record": record,
            }

    def explanation(self, decision_id: str) -> Explanation:
        """The decision in plain words for the customer, with the technical record."""
        found = self.get(decision_id)
        record = dict(found.pop("record"))
        record.pop("feature_values", None)
        descriptions = {
            feature.name: feature.description for feature in self._features.definitions().features
        }
        return explain(found, record, descriptions)

    def record_outcome(
        self, decision_id: str, outcome: str, *, actor: str, value: float | None = None
    ) -> Outcome:
        """Record what came of a decision; rejects and complaints feed the contact policy.

        Raises:
            InvalidInput: unknown outcome or a value that is not a finite number.
            NotFound: no such decision.
            Conflict: the decision chose no action, so nothing could come of it.
        """
        if outcome not in OUTCOMES:
            raise InvalidInput(
                f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}", field="outcome"
            )
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != value
            or abs(value) > 1e12
        ):
            raise InvalidInput("value must be a finite number", field="value")
        with self._store.session() as session:
            row = session.get(DecisionRow, decision_id)
            if row is None:
                raise NotFound(f"no decision {decision_id!r}")
            if row.action_id is None:
                raise Conflict(
                    f"decision {decision_id} chose no action (status {row.status}), so it has "
                    "no outcome to record"
                )
            customer_id, flow_id, action_id, channel = (
                row.customer_id,
                row.flow_id,
                row.action_id,
                row.channel,
            )
        at = isoformat_utc(now_utc())

        def write(connection: Connection, _entry: LedgerEntry) -> None:
            connection.execute(
                insert(OutcomeRow).values(
                    decision_id=decision_id,
                    customer_id=customer_id,
                    flow_id=flow_id,
                    action_id=action_id,
                    channel=channel,
                    outcome=outcome,
                    value=None if value is None else float(value),
                    recorded_at=at,
                    actor=actor,
                )
            )

        entry = self._ledger.append(
            "decision.outcome",
            actor=actor,
            subject=customer_id,
            payload={
                "decision_id": decision_id,
                "flow": flow_id,
                "action_id": action_id,
                "outcome": outcome,
                "value": value,
            },
            alongside=write,
        )
        return Outcome(decision_id, outcome, value, action_id, at, entry.seq)

    def kpis(self, flow_id: str | None = None) -> dict[str, Any]:
        """Decisions, fallbacks, reviews and outcomes per flow: what the outcomes feed."""
        where = "WHERE flow_id = :flow" if flow_id else ""
        params = {"flow": flow_id} if flow_id else {}
        with self._store.engine.connect() as connection:
            decisions = connection.execute(
                text(
                    "SELECT flow_id, COUNT(*) AS n, SUM(CASE WHEN fallback THEN 1 ELSE 0 END) "
                    "AS fallbacks, SUM(CASE WHEN human_review THEN 1 ELSE 0 END) AS reviews, "
                    f"AVG(latency_ms) AS latency FROM decide_decisions {where} GROUP BY flow_id"
                ),
                params,
            ).all()
            outcomes = connection.execute(
                text(
                    "SELECT flow_id, outcome, COUNT(*) AS n, SUM(value) AS value "
                    f"FROM decide_outcomes {where} GROUP BY flow_id, outcome"
                ),
                params,
            ).all()
        result: dict[str, Any] = {}
        for row in decisions:
            result[row.flow_id] = {
                "decisions": int(row.n),
                "fallbacks": int(row.fallbacks or 0),
                "human_reviews": int(row.reviews or 0),
                "mean_latency_ms": round(float(row.latency or 0.0), 3),
                "outcomes": {},
            }
        for row in outcomes:
            entry = result.setdefault(
                row.flow_id,
                {
                    "decisions": 0,
                    "fallbacks": 0,
                    "human_reviews": 0,
                    "mean_latency_ms": 0.0,
                    "outcomes": {},
                },
            )
            entry["outcomes"][row.outcome] = {"count": int(row.n), "value": row.value}
        for entry in result.values():
            acted = entry["decisions"]
            converted = entry["outcomes"].get("converted", {}).get("count", 0)
            entry["conversion_rate"] = round(converted / acted, 4) if acted else None
        return result

    # -- review queue ------------------------------------------------------------------------

    def reviews(
        self, *, status: str | None = "pending", flow: str | None = None, limit: int = 100
    ) -> list[Review]:
        """The review queue (pending by default), oldest deadline first."""
        return self._reviews.list(status=status, flow=flow, limit=limit)

    def review(self, review_id: str) -> Review:
        """One review."""
        return self._reviews.get(review_id)

    def settle_review(
        self,
        review_id: str,
        verdict: str,
        *,
        reviewer: str,
        reason: str,
        action: str | None = None,
    ) -> Review:
        """Approve, override (with ``action``) or reject a pending review."""
        return self._reviews.decide(
            review_id,
            verdict,
            reviewer=reviewer,
            reason=reason,
            action=action,
            valid_actions=lambda flow_id: frozenset(a.id for a in self.flow(flow_id).actions),
        )

    # -- internals ---------------------------------------------------------------------------

    def warm(self) -> None:
        """Load every flow's models and score the online snapshot now (at start-up), so the
        first requests do not pay for it."""
        for flow in self.flows().values():
            for use in flow.models.values():
                try:
                    self._loop().warm(use.model, use.output)
                except Exception:  # noqa: BLE001, S112 - a model that cannot load falls back
                    continue

    def close(self) -> None:
        """Stop background scoring threads."""
        if self._models is not None:
            self._models.close()

    def _loop(self) -> ModelLoop:
        if self._models is None:
            self._models = ModelLoop(self._registry, self._features)
        return self._models

    def _pin(self, flow: Flow, actor: str) -> None:
        """Pin the flow's version to its content the first time it serves (an edited file
        has a new digest, so it is checked again)."""
        key = (flow.flow, flow.version, flow.digest)
        if key not in self._pinned:
            self._states.pin(flow, actor=actor)
            self._pinned.add(key)


def _need_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise InvalidInput("say why: switching a flow needs a reason", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("the reason must be at most 2,000 characters", field="reason")


def _digest(value: Any) -> str:
    text_ = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text_.encode()).hexdigest()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _default_timezone(flow: Flow) -> str:
    quiet = flow.contact_policy.quiet_hours if flow.contact_policy else None
    return quiet.default_timezone if quiet is not None else "UTC"


def _empty_env(request: DecisionRequest) -> dict[str, Any]:
    return {
        "features": {},
        "scores": {},
        "context": dict(request.context),
        "history": {},
        "customer": {"known": False},
    }


def _feature_names(flow: Flow) -> set[str]:
    return {
        name
        for namespace, _, name in (ref.partition(".") for ref in flow.references())
        if namespace == "features"
    }


def _model_inputs(acted: Mapping[str, ModelScore]) -> set[str]:
    return {str(f.get("feature")) for s in acted.values() for f in s.factors}


def _top_factors(acted: Mapping[str, ModelScore]) -> list[dict[str, Any]]:
    factors = [
        {**f, "model": s.model, "version": s.version} for s in acted.values() for f in s.factors
    ]
    factors.sort(key=lambda f: -abs(float(f.get("contribution") or 0.0)))
    return factors[:5]


def _confidence(flow: Flow, env: Mapping[str, Any]) -> float | None:
    """The decision's confidence, or ``None`` when the flow sets no threshold; a rule that
    gives no number counts as no confidence at all."""
    if flow.confidence is None:
        return None
    measured = flow.confidence.measure(env)
    return 0.0 if measured is None else measured


def _consent_dict(check: Any) -> dict[str, Any]:
    return {
        "purpose": check.purpose,
        "channel": check.channel,
        "allowed": check.allowed,
        "basis": getattr(check, "basis", None),
        "reason": check.reason,
    }


def _rule_dict(rule: Any) -> dict[str, Any]:
    return {
        "action_id": rule.action_id,
        "kind": rule.kind,
        "expression": rule.expression,
        "passed": rule.passed,
    }


def _candidate_dict(candidate: Candidate) -> dict[str, Any]:
    return {
        "action_id": candidate.action.id,
        "priority": _finite(candidate.priority),
        "propensity": _finite(candidate.propensity),
        "value": _finite(candidate.value),
        "context_weight": _finite(candidate.context_weight),
        "lever": _finite(candidate.lever),
    }


def _finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def _chosen(candidate: Candidate, request_channel: str) -> dict[str, Any]:
    action = candidate.action
    return {
        "action_id": action.id,
        "title": action.title or action.id,
        "channel": request_channel if action.channel == "any" else action.channel,
        "message": action.message,
        "priority": candidate.priority,
        "propensity": candidate.propensity,
        "value": candidate.value,
        "context_weight": candidate.context_weight,
        "lever": candidate.lever,
        "high_stakes": bool(action.high_stakes),
        "reason": action.reason,
    }
