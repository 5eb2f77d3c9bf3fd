"""A small workspace for decision tests: fake online features, a fake churn model in the
registry, consents granted, and a retention flow in ``<workspace>/flows``.

The models are defined at module level so joblib can pickle them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aimsight.core import Workspace
from aimsight.decide import DecisionService
from aimsight.privacy import ConsentChangeIn, ConsentService
from aimsight.registry import ModelRegistry, Principal
from aimsight.security import Role
from aimsight.store import Ledger, Store
from tests.registry._fakes import FakeChurnModel, register, trained

FLOW = """\
flow: retention
version: 1
description: Keep customers likely to leave.
owner: Test retention team
consent:
  purposes: [profiling, ai_decisioning]
channels: [email, web]
top_n: 1
models:
  churn: {model: churn, output: probability, timeout_ms: 200}
review:
  when: "action.value >= 100"
  deadline_hours: 24
fallback:
  action: newsletter
  reason: The newsletter everyone gets; it needs no personal data.
disclosure:
  email: This message was chosen by an automated system.
contact_policy:
  caps:
    - {channel: email, max: 1, per_days: 7}
  suppress_after_rejects: {count: 2, within_days: 30, suppress_days: 90}
actions:
  - id: discount
    title: 20 % off for three months
    channel: email
    message: Stay with us for 20 % less.
    value: 150
    propensity: scores.churn
    applicability: "scores.churn >= 0.5"
    reason: Customers at risk of leaving get our best offer.
  - id: reminder
    title: Loyalty reminder
    channel: email
    message: Thanks for being with us.
    value: 20
    propensity: scores.churn
    eligibility: "features.tenure_days >= 30"
    reason: Long-standing customers hear from us now and then.
  - id: banner
    title: What's new banner
    channel: web
    message: See what's new.
    value: 10
    propensity: "1 - scores.churn"
    reason: Engaged customers see what is new.
  - id: newsletter
    title: Newsletter
    channel: any
    message: Our news this month.
    reason: Everyone gets the newsletter.
"""

LOW_RISK = "cus_low"  # churn probability about 0.11: a reminder by e-mail
HIGH_RISK = "cus_high"  # about 0.88: the discount, which goes to review
NO_TENURE = "cus_new"  # low risk, too new for a reminder
EMPTY = "cus_empty"  # a feature is missing: the model cannot score


def customer_rows() -> dict[str, dict[str, Any]]:
    """The online features of the fake customers (plus 20 more low-risk ones)."""
    base = {"tenure_days": 120, "monthly_spend": 42.5, "plan": "basic", "autopay": False}
    rows = {
        LOW_RISK: {**base, "failed_payments": 0},
        HIGH_RISK: {**base, "failed_payments": 5},
        NO_TENURE: {**base, "tenure_days": 10, "failed_payments": 0},
        EMPTY: {**base, "failed_payments": None},
    }
    for index in range(20):
        rows[f"cus_{index:03d}"] = {**base, "failed_payments": index % 2}
    return rows


@dataclass(frozen=True)
class _Feature:
    name: str
    description: str


@dataclass
class FakeDefinitions:
    """What the decision layer reads of the feature definitions."""

    features: tuple[_Feature, ...] = (
        _Feature("tenure_days", "Days since the customer's first order"),
        _Feature("monthly_spend", "Average spend per month"),
        _Feature("failed_payments", "Failed payments in the last 90 days"),
        _Feature("plan", "Subscription plan"),
        _Feature("autopay", "Pays by direct debit"),
    )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


@dataclass
class FakeFeatures:
    """An online snapshot held in memory (what FeatureService offers decisions)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=customer_rows)
    as_of: str = "2026-11-01T00:00:00Z"
    snapshot: str = "snapshot-1.parquet"

    def definitions(self) -> FakeDefinitions:
        return FakeDefinitions()

    def online(self, customer_id: str) -> dict[str, Any]:
        from aimsight.core import NotFound

        row = self.rows.get(customer_id)
        if row is None:
            raise NotFound(f"customer {customer_id!r} is not in the online snapshot")
        return {"customer_id": customer_id, "as_of": self.as_of, **row}

    def online_version(self) -> str:
        return self.snapshot

    def online_frame(self) -> tuple[str, pd.DataFrame]:
        frame = pd.DataFrame([{"customer_id": c, **r} for c, r in self.rows.items()])
        return self.snapshot, frame


@dataclass
class SlowChurnModel(FakeChurnModel):
    """A churn model that takes half a second per call: for timeouts."""

    delay: float = 0.5

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        time.sleep(self.delay)
        return super().score(frame)


GOVERNANCE = Principal("gov", Role.GOVERNANCE, "key_gov")


def release(registry: ModelRegistry, stage: str = "production", **changes: Any) -> int:
    """Register, validate, approve and promote a fake churn version; returns its number."""
    version = register(registry, "churn", model=trained(**changes)).version
    registry.validate("churn", version, actor="test")
    registry.approve("churn", version, approver=GOVERNANCE, rationale="fine for tests")
    if stage == "canary":
        registry.promote("churn", version, to="canary", actor="test", share=0.5)
    elif stage == "shadow":
        registry.promote("churn", version, to="shadow", actor="test")
    else:
        registry.promote("churn", version, to="shadow", actor="test")
        registry.promote("churn", version, to="production", actor="test")
    return version


def grant_profiling(consent: ConsentService, customers: list[str]) -> None:
    """Every given customer agrees to profiling and to marketing on every channel."""
    for customer in customers:
        consent.set(
            customer,
            [
                ConsentChangeIn("profiling", "*", "granted", source="test"),
                ConsentChangeIn("marketing", "*", "granted", source="test"),
            ],
            actor="test",
        )


def decision_service(
    workspace: Workspace, store: Store, ledger: Ledger, features: FakeFeatures | None = None
) -> DecisionService:
    """A decision service over the fake features, the workspace's registry and consents."""
    return DecisionService(
        workspace,
        store,
        ledger,
        features=features or FakeFeatures(),  # type: ignore[arg-type]
        registry=ModelRegistry(workspace, store, ledger),
    )


def install_flow(workspace: Workspace, text: str = FLOW, name: str = "retention.yaml") -> None:
    """Write a flow into the workspace's flows folder."""
    folder = workspace.root / "flows"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, "utf-8")
