"""Explanations of decisions in plain words, fit to show the customer (GDPR Art. 15(1)(h), 22).

The text uses only the customer's own data and the flow's own wording; the technical record
beside it is for staff and auditors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimsight.decide._results import Explanation

__all__ = ["RIGHTS_TEXT", "explain", "factor_phrase"]

RIGHTS_TEXT = (
    "You can ask for a person to review this decision, tell us your point of view, or object "
    "to automated decisions about you; contact us and quote the decision reference."
)

_FALLBACK_WORDS = {
    "flow_stopped": "Automated personalisation is paused, so you received our standard offer.",
    "consent_missing": (
        "You have not agreed to personalised decisions for this purpose, so we did not use "
        "your data and you received our standard offer."
    ),
    "customer_unknown": "We do not hold a profile for you, so you received our standard offer.",
    "model_unavailable": (
        "Our prediction service was not available, so you received our standard offer."
    ),
    "low_confidence": (
        "Our system was not confident enough to personalise this, so you received our "
        "standard offer."
    ),
    "no_eligible_action": "None of our personalised offers applied to you right now.",
    "contact_policy": (
        "We limit how often and when we contact you, so you received our standard offer."
    ),
}


def factor_phrase(factor: Mapping[str, Any], descriptions: Mapping[str, str]) -> str:
    """One top factor in words: what it is, its value for this customer, and which way it
    pushed the decision."""
    name = str(factor.get("feature"))
    label = descriptions.get(name) or name.replace("_", " ")
    label = label.rstrip(".")
    value = factor.get("value")
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    contribution = float(factor.get("contribution") or 0.0)
    direction = "raised" if contribution > 0 else "lowered"
    return f"{label[0].lower() + label[1:] if label else name} ({shown}) {direction} the score"


def explain(
    decision: Mapping[str, Any],
    record: Mapping[str, Any],
    descriptions: Mapping[str, str],
) -> Explanation:
    """The explanation of a stored decision (its row as a dict and its technical record)."""
    actions = record.get("actions") or []
    fallback_reason = record.get("fallback_reason")
    reasons: list[str] = []
    if actions:
        first = actions[0]
        title = first.get("title") or first.get("action_id")
        if decision.get("status") == "pending_review":
            lead = f"We proposed: {title}. A member of our team reviews it before anything is sent."
        elif decision.get("status") == "rejected":
            lead = f"A member of our team decided not to go ahead with: {title}."
        else:
            lead = f"We chose: {title}."
        if first.get("reason"):
            reasons.append(str(first["reason"]))
    else:
        lead = "We chose not to contact you or show you an offer this time."
    if record.get("fallback") and fallback_reason:
        code = str(fallback_reason).split(":", 1)[0]
        reasons.append(_FALLBACK_WORDS.get(code, "You received our standard offer."))
    factors = tuple(factor_phrase(f, descriptions) for f in (record.get("top_factors") or [])[:3])
    parts = [lead, *reasons]
    if factors:
        parts.append("What mattered most in your account: " + "; ".join(factors) + ".")
    human = bool(record.get("human_review")) or decision.get("status") in {
        "approved",
        "overridden",
        "rejected",
    }
    if human:
        parts.append("A person was involved in this decision.")
    disclosure = record.get("disclosure")
    if disclosure:
        parts.append(str(disclosure))
    parts.append(RIGHTS_TEXT)
    return Explanation(
        decision_id=str(decision["decision_id"]),
        text=" ".join(parts),
        reasons=tuple(reasons),
        factors=factors,
        disclosure=disclosure,
        human_involved=human,
        rights=RIGHTS_TEXT,
        technical=dict(record),
    )
