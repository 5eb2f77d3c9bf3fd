"""The settings of a decision flow: pydantic models with ``extra="forbid"``.

Each model documents its settings; docs/decisions.md has an example of every one. The models
hold the compiled expressions as private attributes, filled in by :func:`aimsight.decide._flow.
parse_flow` once every reference has been checked, so the decision path never parses text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import typing
import zoneinfo
from collections.abc import Iterator, Mapping
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
)

from aimsight.core.errors import NotFound
from aimsight.decide._expr import Expression
from aimsight.decide._flow_yaml import suggest

__all__ = [
    "ACTION_FIELDS",
    "ANY_CHANNEL",
    "CHANNELS",
    "CUSTOMER_FIELDS",
    "DOCS",
    "HISTORY_FIELDS",
    "PATTERN_HELP",
    "RULE_KINDS",
    "Action",
    "Cap",
    "ConfidenceSpec",
    "ConflictRule",
    "ConsentSpec",
    "ContactPolicy",
    "ContextWeight",
    "FallbackSpec",
    "Flow",
    "ModelRef",
    "QuietHours",
    "ReviewSpec",
    "Suppression",
]

CHANNELS = ("email", "sms", "push", "web", "phone")
"""Every channel a flow can serve and an action can contact through."""

ANY_CHANNEL = "any"
"""An action's channel meaning "whatever channel the request came on"."""

RULE_KINDS = ("eligibility", "applicability", "suitability")
"""The three rules an action may have, in the order they are evaluated and explained."""

HISTORY_FIELDS = frozenset(
    {
        "contacts_7d",
        "contacts_30d",
        "rejects_30d",
        "accepts_30d",
        "open_complaints",
        "days_since_last_contact",
    }
)
"""The names rules may read as ``history.<name>`` (see :mod:`aimsight.decide._contact`)."""

ACTION_FIELDS = frozenset({"id", "value", "priority", "channel"})
"""The names ``review.when`` may read as ``action.<name>``."""

CUSTOMER_FIELDS = frozenset({"known"})
"""The names rules may read as ``customer.<name>`` (``known``: false for anonymous requests)."""

DOCS = "docs/decisions.md"
MAX_TOP_N = 20
MAX_DAYS = 3650
_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_FLOW_ID = r"^[a-z][a-z0-9_-]{0,63}$"
_MODEL = r"^[a-z][a-z0-9_-]{0,63}$"
_COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PATTERN_HELP = {
    _NAME: "use lowercase letters, digits and _, starting with a letter (at most 64)",
    _FLOW_ID: "use lowercase letters, digits, _ and -, starting with a letter (at most 64)",
    _COLUMN: "use letters, digits and _, not starting with a digit (at most 64)",
}
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


# --- small validated types ------------------------------------------------------------------


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise ValueError(
            f"unknown channel {value!r}{suggest(value, CHANNELS)} "
            f"(use one of {', '.join(CHANNELS)})"
        )
    return value


def _action_channel(value: str) -> str:
    if value != ANY_CHANNEL and value not in CHANNELS:
        choices = (*CHANNELS, ANY_CHANNEL)
        raise ValueError(
            f"unknown channel {value!r}{suggest(value, choices)} (use one of "
            f"{', '.join(CHANNELS)}, or {ANY_CHANNEL} for the request's channel)"
        )
    return value


def _clock(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 21:00 as the base-60 number 1260.
        raise ValueError(
            f"YAML read this time as the number {value}; put it in quotes, e.g. "
            f'"{value // 60:02d}:{value % 60:02d}"'
        )
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValueError(
            f'bad time {value!r}; write a 24-hour clock time HH:MM in quotes, e.g. "21:00"'
        )
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(
            f"unknown time zone {value!r}{suggest(value, _zones())} "
            "(use an IANA name such as Europe/London or America/New_York)"
        )
    return value


def _number_or_expression(value: object) -> float | int | str:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError('empty expression; write a number or an expression, e.g. "0.5"')
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not allowed; use a finite number of 0 or more")
        return value
    raise ValueError(
        f"expected a number or an expression in quotes, got {value!r}; write e.g. 150 or "
        '"scores.value * 0.2"'
    )


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice; list each once")
        seen.add(value)
    return values


Name = Annotated[str, Field(pattern=_NAME)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Source = Annotated[str, Field(min_length=1, max_length=2000)]
Channel = Annotated[str, AfterValidator(_channel)]
ActionChannel = Annotated[str, AfterValidator(_action_channel)]
ClockTime = Annotated[str, BeforeValidator(_clock)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
NumberOrExpression = Annotated[float | int | str, PlainValidator(_number_or_expression)]
Days = Annotated[StrictInt, Field(ge=1, le=MAX_DAYS)]
Weight = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]


class _Spec(BaseModel):
    # serialize_by_alias: a plain model_dump() writes `while`, not `while_`, so it re-parses.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )


def _compiled(value: Any, what: str) -> Any:
    if value is None:
        raise RuntimeError(
            f"{what} is not compiled; build flows with parse_flow or load_flow, not "
            "Flow.model_validate"
        )
    return value


# --- the flow settings ----------------------------------------------------------------------


class ModelRef(_Spec):
    """A registry model the flow scores, read as ``scores.<alias>``.

    ``output`` is the column of the model's scores taken as the number (``probability`` for
    churn, ``clv`` for lifetime value); ``timeout_ms`` bounds the scoring time, after which
    the decision falls back.
    """

    model: str = Field(pattern=_MODEL)
    output: str = Field(pattern=_COLUMN)
    timeout_ms: StrictInt = Field(default=50, ge=1, le=10_000)


class ConsentSpec(_Spec):
    """Purposes the customer must have granted on the request channel for a personalised
    decision (otherwise the fallback answers), and the purpose every outbound action (e-mail,
    SMS, push, phone) needs on its own channel, so an e-mail opt-out suppresses every e-mail
    action, the fallback's too; ``contact_purpose: null`` for flows whose actions are service
    messages, not marketing."""

    purposes: Annotated[tuple[Name, ...], AfterValidator(_unique)] = Field(min_length=1)
    contact_purpose: Name | None = "marketing"


class ConfidenceSpec(_Spec):
    """How sure the decision must be: below ``min`` it goes to the fallback or to review."""

    score: Source
    from_probability: StrictBool = False
    min: Annotated[StrictFloat, Field(ge=0, le=1)]
    below: Literal["fallback", "review"] = "fallback"
    _score: Expression | None = PrivateAttr(default=None)

    @property
    def score_expression(self) -> Expression:
        """The compiled ``score`` expression."""
        return typing.cast(Expression, _compiled(self._score, "confidence.score"))

    def measure(self, env: Mapping[str, Mapping[str, Any]]) -> float | None:
        """The confidence for ``env`` (``max(p, 1 - p)`` when ``from_probability``), or
        ``None`` when the expression gives no number."""
        value = _number(self.score_expression.evaluate(env))
        if value is None:
            return None
        return max(value, 1 - value) if self.from_probability else value


class ReviewSpec(_Spec):
    """Which decisions go to the human review queue and how soon they must be reviewed.

    An action goes to review when it is ``high_stakes`` or ``when`` is true for it.
    """

    when: Source | None = None
    deadline_hours: StrictInt = Field(default=24, ge=1, le=720)
    _when: Expression | None = PrivateAttr(default=None)

    @property
    def when_expression(self) -> Expression | None:
        """The compiled ``when`` expression (``None`` when not given)."""
        return self._when


class FallbackSpec(_Spec):
    """The non-personalised action given when the flow is stopped, consent is missing or no
    personalised action qualifies."""

    action: Name
    reason: Text


class Cap(_Spec):
    """At most ``max`` contacts in any ``per_days`` days, counting contacts on ``channel``
    and/or of ``action`` (neither: every contact)."""

    channel: Channel | None = None
    action: Name | None = None
    max: StrictInt = Field(ge=1, le=1000)
    per_days: Days

    @property
    def scope(self) -> str:
        """The cap in words, e.g. ``email contacts`` or ``retention_discount on email``."""
        if self.action and self.channel:
            return f"{self.action} on {self.channel}"
        if self.action:
            return str(self.action)
        return f"{self.channel} contacts" if self.channel else "contacts"


class Suppression(_Spec):
    """After ``count`` rejects of one action within ``within_days`` days, that action is
    not offered again for ``suppress_days`` days after the last reject."""

    count: StrictInt = Field(ge=1, le=100)
    within_days: Days
    suppress_days: Days


class ConflictRule(_Spec):
    """Actions carrying any of ``tags`` are blocked while ``while`` is true."""

    tags: Annotated[tuple[Name, ...], AfterValidator(_unique)] = Field(min_length=1)
    while_: Source = Field(alias="while")
    reason: Text
    _while: Expression | None = PrivateAttr(default=None)

    @property
    def while_expression(self) -> Expression:
        """The compiled ``while`` expression."""
        return typing.cast(Expression, _compiled(self._while, "conflicts.while"))


class QuietHours(_Spec):
    """No contact on ``channels`` between ``start`` and ``end`` (local time of the customer;
    the window may wrap midnight)."""

    start: ClockTime
    end: ClockTime
    channels: Annotated[tuple[Channel, ...], AfterValidator(_unique)] = Field(min_length=1)
    default_timezone: TimeZone = "UTC"

    @property
    def start_time(self) -> time:
        """``start`` as a clock time."""
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        """``end`` as a clock time."""
        return time.fromisoformat(self.end)

    def covers(self, local: time) -> bool:
        """Whether the local clock time ``local`` is inside the quiet window."""
        start, end = self.start_time, self.end_time
        if start <= end:
            return start <= local < end
        return local >= start or local < end


class ContactPolicy(_Spec):
    """What keeps contact respectful: caps, suppression, conflicts, quiet hours, lengths."""

    caps: tuple[Cap, ...] = ()
    suppress_after_rejects: Suppression | None = None
    conflicts: tuple[ConflictRule, ...] = ()
    quiet_hours: QuietHours | None = None
    channel_limits: dict[Channel, Annotated[StrictInt, Field(ge=1, le=100_000)]] = {}


class ContextWeight(_Spec):
    """Multiply the action's priority by ``weight`` when ``when`` is true."""

    when: Source
    weight: Weight
    _when: Expression | None = PrivateAttr(default=None)

    @property
    def when_expression(self) -> Expression:
        """The compiled ``when`` expression."""
        return typing.cast(Expression, _compiled(self._when, "context_weights.when"))


class Action(_Spec):
    """One thing the flow can recommend; see docs/decisions.md for every setting."""

    id: Name
    title: Text
    channel: ActionChannel
    tags: Annotated[tuple[Name, ...], AfterValidator(_unique)] = ()
    message: Text
    value: NumberOrExpression = 1.0
    propensity: NumberOrExpression = 1.0
    eligibility: Source | None = None
    applicability: Source | None = None
    suitability: Source | None = None
    context_weights: tuple[ContextWeight, ...] = ()
    levers: Annotated[tuple[Name, ...], AfterValidator(_unique)] = ()
    high_stakes: StrictBool = False
    reason: Text
    _rules: tuple[tuple[str, Expression], ...] | None = PrivateAttr(default=None)
    _value: Expression | None = PrivateAttr(default=None)
    _propensity: Expression | None = PrivateAttr(default=None)

    @property
    def rules(self) -> tuple[tuple[str, Expression], ...]:
        """``(kind, expression)`` for each rule given, in :data:`RULE_KINDS` order."""
        return typing.cast(
            tuple[tuple[str, Expression], ...], _compiled(self._rules, f"action {self.id}")
        )

    @property
    def value_expression(self) -> Expression | None:
        """The compiled ``value`` when it is an expression (``None`` for a number)."""
        return self._value

    @property
    def propensity_expression(self) -> Expression | None:
        """The compiled ``propensity`` when it is an expression (``None`` for a number)."""
        return self._propensity

    def value_in(self, env: Mapping[str, Mapping[str, Any]]) -> float | None:
        """The action's value for ``env``; ``None`` when the expression gives no number."""
        if self._value is None:
            return float(self.value) if not isinstance(self.value, str) else None
        return _number(self._value.evaluate(env))

    def propensity_in(self, env: Mapping[str, Mapping[str, Any]]) -> float | None:
        """The action's propensity for ``env``; ``None`` when it gives no number."""
        if self._propensity is None:
            return float(self.propensity) if not isinstance(self.propensity, str) else None
        return _number(self._propensity.evaluate(env))

    def context_weight_in(self, env: Mapping[str, Mapping[str, Any]]) -> float:
        """The product of the weights whose ``when`` is true for ``env`` (1.0 if none)."""
        weight = 1.0
        for item in self.context_weights:
            if item.when_expression.test(env):
                weight *= item.weight
        return weight

    def expressions(self) -> Iterator[tuple[tuple[str | int, ...], Expression]]:
        """Every compiled expression with its location inside the action."""
        for kind, expression in self.rules:
            yield (kind,), expression
        if self._value is not None:
            yield ("value",), self._value
        if self._propensity is not None:
            yield ("propensity",), self._propensity
        for index, item in enumerate(self.context_weights):
            yield ("context_weights", index, "when"), item.when_expression


class Flow(_Spec):
    """A decision flow; build it with :func:`parse_flow` or :func:`load_flow`."""

    flow: str = Field(pattern=_FLOW_ID)
    version: StrictInt = Field(ge=1)
    description: Text
    owner: Text
    unknown_customer: Literal["not_found", "anonymous"] = "not_found"
    consent: ConsentSpec
    channels: Annotated[tuple[Channel, ...], AfterValidator(_unique)] = Field(min_length=1)
    top_n: StrictInt = Field(default=1, ge=1, le=MAX_TOP_N)
    models: dict[Name, ModelRef] = {}
    confidence: ConfidenceSpec | None = None
    review: ReviewSpec | None = None
    fallback: FallbackSpec
    levers: dict[Name, Weight] = {}
    disclosure: dict[Channel, Text] = {}
    contact_policy: ContactPolicy = ContactPolicy()
    actions: tuple[Action, ...] = Field(min_length=1, max_length=200)
    _features: frozenset[str] | None = PrivateAttr(default=None)
    _digest: str | None = PrivateAttr(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what the ledger and the registry store)."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal flows have equal digests (computed once;
        the flow is frozen and every decision records it)."""
        if self._digest is None:
            text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
            self._digest = hashlib.sha256(text.encode()).hexdigest()
        return self._digest

    def action(self, action_id: str) -> Action:
        """The action with this id.

        Raises:
            NotFound: the flow has no such action (the message lists its actions).
        """
        for action in self.actions:
            if action.id == action_id:
                return action
        ids = [a.id for a in self.actions]
        raise NotFound(
            f"flow {self.flow} has no action {action_id!r}{suggest(action_id, ids)} "
            f"(its actions: {', '.join(ids)})"
        )

    @property
    def fallback_action(self) -> Action:
        """The non-personalised fallback action."""
        return self.action(self.fallback.action)

    @property
    def personalised_actions(self) -> tuple[Action, ...]:
        """Every action but the fallback: the candidates of a personalised decision."""
        return tuple(a for a in self.actions if a.id != self.fallback.action)

    @property
    def high_stakes(self) -> bool:
        """Whether any decision of this flow can be high-stakes (an action marked so, or a
        ``review.when`` rule)."""
        review_rule = self.review is not None and self.review.when is not None
        return review_rule or any(a.high_stakes for a in self.actions)

    @property
    def human_review(self) -> bool:
        """Whether the flow sends decisions to the human review queue."""
        return self.review is not None

    @property
    def features(self) -> frozenset[str]:
        """The feature names the flow was compiled against."""
        return typing.cast(frozenset[str], _compiled(self._features, f"flow {self.flow}"))

    def references(self) -> frozenset[str]:
        """Every ``namespace.name`` any expression of the flow reads."""
        found: set[str] = set()
        for expression in self._expressions():
            found.update(expression.references)
        return frozenset(found)

    def needs_review(
        self,
        action: Action,
        env: Mapping[str, Mapping[str, Any]],
        *,
        value: float | None,
        priority: float | None,
        channel: str,
    ) -> bool:
        """Whether a decision for ``action`` goes to human review: the action is high-stakes
        or ``review.when`` is true with ``action.*`` set to these values."""
        if action.high_stakes:
            return True
        if self.review is None or self.review.when_expression is None:
            return False
        fields = {"id": action.id, "value": value, "priority": priority, "channel": channel}
        return self.review.when_expression.test({**env, "action": fields})

    def _expressions(self) -> Iterator[Expression]:
        for action in self.actions:
            for _, expression in action.expressions():
                yield expression
        for conflict in self.contact_policy.conflicts:
            yield conflict.while_expression
        if self.review is not None and self.review.when_expression is not None:
            yield self.review.when_expression
        if self.confidence is not None:
            yield self.confidence.score_expression


def _number(value: Any) -> float | None:
    """A finite float from an expression's result, else ``None`` (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
