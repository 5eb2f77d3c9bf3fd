"""Arbitration: which of a flow's actions qualify for a customer, and which come first.

Every personalised action's rules (eligibility, applicability, suitability) are evaluated and
recorded, passed or not, so a decision can be explained in full. An action qualifies when its
channel fits the request and all its rules pass. Qualifying actions are ranked by

    priority = propensity x context weight x value x levers

highest first, ties broken by action id so the same inputs always give the same order. Pure:
no store, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aimsight.core.errors import InvalidInput
from aimsight.decide._flow import ANY_CHANNEL, Action, Flow

__all__ = ["Candidate", "RuleResult", "arbitrate", "evaluate_actions"]


@dataclass(frozen=True)
class RuleResult:
    """One rule of one action and whether it passed (``kind`` ``channel`` records whether the
    action's channel fits the request)."""

    action_id: str
    kind: str
    expression: str
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "expression": self.expression,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Candidate:
    """An action that qualified, with the parts of its priority (``priority`` is their
    product; ``nan`` when the propensity or value gave no number)."""

    action: Action
    propensity: float
    context_weight: float
    value: float
    lever: float
    priority: float
    rules: tuple[RuleResult, ...]

    @property
    def rankable(self) -> bool:
        """Whether arbitration can pick it: a finite priority above zero."""
        return math.isfinite(self.priority) and self.priority > 0


def evaluate_actions(
    flow: Flow, env: Mapping[str, Mapping[str, Any]], *, request_channel: str
) -> tuple[list[Candidate], list[RuleResult]]:
    """Evaluate every personalised action (all but the fallback) for one request.

    Args:
        flow: the compiled flow.
        env: the expression namespaces (``features``, ``scores``, ``history``, ``context``,
            ``customer``).
        request_channel: the channel the request came on; actions on another channel (not
            ``any``) do not qualify.

    Returns:
        The qualifying candidates in flow order, and the rule results of every action.
    """
    candidates: list[Candidate] = []
    results: list[RuleResult] = []
    for action in flow.personalised_actions:
        if action.channel not in (ANY_CHANNEL, request_channel):
            results.append(
                RuleResult(action.id, "channel", f"channel is {action.channel}", passed=False)
            )
            continue
        rules = tuple(
            RuleResult(action.id, kind, expression.source, expression.test(env))
            for kind, expression in action.rules
        )
        results.extend(rules)
        if not all(rule.passed for rule in rules):
            continue
        candidates.append(_candidate(flow, action, env, rules))
    return candidates, results


def _candidate(
    flow: Flow,
    action: Action,
    env: Mapping[str, Mapping[str, Any]],
    rules: tuple[RuleResult, ...],
) -> Candidate:
    propensity = action.propensity_in(env)
    value = action.value_in(env)
    weight = action.context_weight_in(env)
    lever = math.prod(flow.levers[name] for name in action.levers)
    if propensity is None or value is None:
        priority = math.nan
    else:
        priority = propensity * weight * value * lever
    return Candidate(
        action=action,
        propensity=math.nan if propensity is None else propensity,
        context_weight=weight,
        value=math.nan if value is None else value,
        lever=lever,
        priority=priority,
        rules=rules,
    )


def arbitrate(candidates: Iterable[Candidate], top_n: int) -> list[Candidate]:
    """The ``top_n`` candidates by priority, highest first, ties by action id.

    Candidates whose priority is not a finite number above zero are left out. The result does
    not depend on the order of ``candidates``.

    Raises:
        InvalidInput: ``top_n`` is not a whole number of at least 1.
    """
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InvalidInput(
            f"top_n must be a whole number of at least 1, got {top_n!r}", field="top_n"
        )
    ranked = sorted((c for c in candidates if c.rankable), key=lambda c: (-c.priority, c.action.id))
    return ranked[:top_n]
