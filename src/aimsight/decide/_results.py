"""What the decision layer returns: requests, decisions, explanations, reviews and outcomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aimsight.core.errors import InvalidInput

__all__ = [
    "MAX_CONTEXT_KEYS",
    "OUTCOMES",
    "ChosenAction",
    "Decision",
    "DecisionRequest",
    "Explanation",
    "FlowOversight",
    "FlowStatus",
    "Outcome",
    "Review",
]

OUTCOMES = ("accepted", "rejected", "converted", "complaint")
MAX_CONTEXT_KEYS = 50
MAX_CONTEXT_TEXT = 500


@dataclass(frozen=True)
class DecisionRequest:
    """A request for a decision: which flow, about whom, on which channel, in what context.

    ``context`` holds flat values the flow's rules read as ``context.<name>`` (strings,
    numbers, booleans or null); ``timezone`` is the customer's IANA zone when the caller
    knows it (quiet hours).
    """

    flow: str
    customer_id: str | None
    channel: str
    context: dict[str, Any] = field(default_factory=dict)
    top_n: int | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.context, dict):
            raise InvalidInput("context must be an object of names to values", field="context")
        if len(self.context) > MAX_CONTEXT_KEYS:
            raise InvalidInput(
                f"context has {len(self.context)} entries; send at most {MAX_CONTEXT_KEYS}",
                field="context",
            )
        for key, value in self.context.items():
            if not isinstance(key, str) or not key.isidentifier() or len(key) > 64:
                raise InvalidInput(
                    f"context name {key!r} must be a plain identifier of at most 64 characters",
                    field="context",
                )
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InvalidInput(
                    f"context.{key} must be a string, number, boolean or null, not a list or "
                    "object",
                    field=f"context.{key}",
                )
            if isinstance(value, str) and len(value) > MAX_CONTEXT_TEXT:
                raise InvalidInput(
                    f"context.{key} is longer than {MAX_CONTEXT_TEXT} characters",
                    field=f"context.{key}",
                )
        if self.top_n is not None and (
            isinstance(self.top_n, bool) or not isinstance(self.top_n, int) or self.top_n < 1
        ):
            raise InvalidInput("top_n must be a whole number of at least 1", field="top_n")


@dataclass(frozen=True)
class ChosenAction:
    """An action a decision returns, with what ranked it."""

    action_id: str
    title: str
    channel: str
    message: str | None
    priority: float
    propensity: float
    value: float
    context_weight: float
    lever: float
    high_stakes: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """One decision as answered: the actions, why, and how it was reached."""

    decision_id: str
    flow: str
    flow_version: int
    customer_id: str
    channel: str
    status: str  # decided | pending_review | approved | overridden | rejected | expired
    actions: tuple[ChosenAction, ...]
    fallback: bool
    fallback_reason: str | None
    human_review: bool
    review_id: str | None
    review_deadline: str | None
    reason_codes: tuple[str, ...]
    top_factors: tuple[dict[str, Any], ...]
    models: tuple[dict[str, Any], ...]
    disclosure: str | None
    ledger_seq: int
    latency_ms: float
    created_at: str

    @property
    def action(self) -> str | None:
        """The first action's id, or ``None`` when nothing is to be done."""
        return self.actions[0].action_id if self.actions else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (shallow: the models and factors are already plain dicts, and
        every API decision builds this, so nothing is deep-copied)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["actions"] = [a.to_dict() for a in self.actions]
        data["reason_codes"] = list(self.reason_codes)
        data["top_factors"] = list(self.top_factors)
        data["models"] = list(self.models)
        return data


@dataclass(frozen=True)
class Explanation:
    """A decision explained: plain words fit to show the customer, and the technical record."""

    decision_id: str
    text: str
    reasons: tuple[str, ...]
    factors: tuple[str, ...]
    disclosure: str | None
    human_involved: bool
    rights: str
    technical: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Review:
    """A high-stakes decision in the human review queue."""

    review_id: str
    decision_id: str
    flow: str
    customer_id: str
    channel: str
    proposed_action: str
    why: str
    status: str  # pending | approved | overridden | rejected | expired
    deadline: str
    created_at: str
    reviewer: str | None
    verdict_reason: str | None
    final_action: str | None
    decided_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What came of a decision, as recorded."""

    decision_id: str
    outcome: str
    value: float | None
    action_id: str | None
    recorded_at: str
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class FlowStatus:
    """A flow as served: its version, digest, stop switch and review settings."""

    flow: str
    version: int
    digest: str
    description: str
    owner: str | None
    channels: tuple[str, ...]
    actions: tuple[str, ...]
    models: dict[str, str]
    stopped: bool
    stop_reason: str | None
    stop_changed_by: str | None
    stop_changed_at: str | None
    stop_switch_tested_at: str | None
    high_stakes: bool
    human_review: bool
    source: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class FlowOversight:
    """What the AIMS human-oversight check reads for one flow."""

    flow_id: str
    high_stakes: bool
    human_review: bool
    stop_switch_tested_at: str | None
