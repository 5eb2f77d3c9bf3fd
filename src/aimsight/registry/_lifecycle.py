"""The lifecycle rules: which stage may follow which, and who was champion when.

::

    draft ──validate──▶ validated ──approve──▶ approved ──▶ shadow ──▶ canary ──▶ production
                                                   │           └──────────────────▲    │
                                                   └── production only with an     │    ▼
                                                       exception on record ────────┘ retired

A version reaches production through shadow or canary, or straight from approved with a
recorded exception (the AIMS checks every promotion for one or the other). A new champion
retires the previous one; a rollback returns the champion before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aimsight.core.errors import Conflict, InvalidInput
from aimsight.registry._types import ProductionInterval

__all__ = [
    "PROMOTION_TARGETS",
    "ChampionEvent",
    "champion_stack",
    "check_promotion",
    "production_intervals",
]

PROMOTION_TARGETS = ("shadow", "canary", "production")

_ALLOWED: dict[str, frozenset[str]] = {
    "approved": frozenset({"shadow", "canary", "production"}),
    "shadow": frozenset({"canary", "production"}),
    "canary": frozenset({"production"}),
}
_MIN_REASON = 10


@dataclass(frozen=True)
class ChampionEvent:
    """A version becoming champion: by promotion or by rollback, when and by whom."""

    version: int
    action: str
    at: str
    actor: str


def check_promotion(
    ref: str, current: str, to: str, *, share: float | None, exception: str | None
) -> None:
    """Refuse a promotion the lifecycle does not allow.

    Raises:
        InvalidInput: ``to`` is not a promotion stage, a canary has no share in (0, 1), a share
            was given for another stage, or an exception reason is too short.
        Conflict: the version's stage cannot move to ``to`` (the message says what can), or
            approved goes straight to production without an exception.
    """
    if to not in PROMOTION_TARGETS:
        raise InvalidInput(
            f"cannot promote to {to!r}; promote to shadow, canary or production", field="to"
        )
    if to == "canary":
        if share is None or not 0 < share < 1:
            raise InvalidInput(
                "a canary needs a share of traffic between 0 and 1 (exclusive), e.g. 0.1",
                field="share",
            )
    elif share is not None:
        raise InvalidInput(
            f"share applies to canaries only; leave it out when promoting to {to}",
            field="share",
        )
    if exception is not None and len(exception.strip()) < _MIN_REASON:
        raise InvalidInput(
            f"the exception must say why (at least {_MIN_REASON} characters)", field="exception"
        )
    allowed = _ALLOWED.get(current, frozenset())
    if to not in allowed:
        if current in ("draft", "validated"):
            hint = "validate it and have it approved first"
        elif current == "retired":
            hint = "a retired version cannot return except by `rollback`"
        elif current == "production":
            hint = "it is the champion already"
        else:
            hint = "it can go to " + " or ".join(sorted(allowed))
        raise Conflict(f"{ref} is {current} and cannot be promoted to {to}: {hint}")
    if current == "approved" and to == "production" and exception is None:
        raise Conflict(
            f"{ref} has not run in shadow or as a canary; promote it to shadow or canary first, "
            "or pass an exception saying why it must skip them (the exception is recorded)"
        )


def champion_stack(events: Sequence[ChampionEvent]) -> list[int]:
    """The champions in force, oldest first; the last is the champion now.

    A promotion to production pushes; a rollback pops the champion it replaces, so rolling
    back twice walks back two champions rather than flipping between the last two.
    """
    stack: list[int] = []
    for event in events:
        if event.action == "rollback" and stack:
            stack.pop()
        if event.version in stack:
            stack.remove(event.version)
        stack.append(event.version)
    return stack


def production_intervals(events: Sequence[ChampionEvent]) -> list[ProductionInterval]:
    """When each version was champion, from the events in order (the last may be open)."""
    intervals: list[ProductionInterval] = []
    for index, event in enumerate(events):
        ended = events[index + 1].at if index + 1 < len(events) else None
        intervals.append(
            ProductionInterval(
                version=event.version,
                started_at=event.at,
                ended_at=ended,
                via=event.action,
                actor=event.actor,
            )
        )
    return intervals
