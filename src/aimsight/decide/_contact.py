"""The contact policy: may this action reach this customer on this channel now?

Pure: the customer's contact history, the time and the time zone are passed in (the service
reads them), so every rule can be tested with made-up histories. A check returns every reason
the contact is blocked, not just the first, so a decision can be explained in full:

``frequency_cap``
    a cap allows at most ``max`` contacts in any ``per_days`` days for its scope (a channel,
    an action, both, or every contact); the contact would be one too many.
``suppressed``
    the customer rejected this action ``count`` times within ``within_days`` days, and the
    last of those rejects is less than ``suppress_days`` days ago.
``conflict``
    the action carries a tag of a conflict rule whose ``while`` expression is true (e.g. no
    upsell while a complaint is open).
``quiet_hours``
    the channel is quiet at this local clock time of the customer (windows may wrap midnight,
    and daylight saving is applied by the IANA time zone).
``channel_limit``
    the message is longer than the channel allows (SMS 160 characters).

Times without a zone are taken as UTC.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytz  # type: ignore[import-untyped]  # country -> time zone table; no stubs published

from aimsight.decide._flow import Action, Cap, Flow, Suppression

__all__ = [
    "ACCEPT_OUTCOMES",
    "BLOCK_CODES",
    "REJECT_OUTCOME",
    "Contact",
    "ContactBlock",
    "ContactHistory",
    "check_contact",
    "customer_timezone",
]

BLOCK_CODES = ("frequency_cap", "suppressed", "conflict", "quiet_hours", "channel_limit")
"""Every reason a contact can be blocked, in the order they are checked."""

REJECT_OUTCOME = "rejected"
"""The outcome that counts as a reject (for suppression and ``history.rejects_30d``)."""

ACCEPT_OUTCOMES = frozenset({"accepted", "converted"})
"""Outcomes that count as an accept (``history.accepts_30d``)."""


def _utc(moment: datetime) -> datetime:
    """``moment`` with a zone: naive times are taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Contact:
    """One contact made with the customer, and the latest outcome recorded for it."""

    action_id: str
    channel: str
    at: datetime
    outcome: str | None = None


@dataclass(frozen=True)
class ContactHistory:
    """A customer's contacts (any order) and how many complaints are open."""

    contacts: tuple[Contact, ...] = ()
    open_complaints: int = 0

    def fields(self, now: datetime) -> dict[str, Any]:
        """The ``history`` namespace rules read, as of ``now``.

        Counts cover the last 7 or 30 days up to ``now``; ``days_since_last_contact`` is
        ``None`` when there was no contact.
        """
        now = _utc(now)
        last_7 = now - timedelta(days=7)
        last_30 = now - timedelta(days=30)
        past = [c for c in self.contacts if _utc(c.at) <= now]
        recent = [c for c in past if _utc(c.at) > last_30]
        latest = max((_utc(c.at) for c in past), default=None)
        return {
            "contacts_7d": sum(1 for c in recent if _utc(c.at) > last_7),
            "contacts_30d": len(recent),
            "rejects_30d": sum(1 for c in recent if c.outcome == REJECT_OUTCOME),
            "accepts_30d": sum(1 for c in recent if c.outcome in ACCEPT_OUTCOMES),
            "open_complaints": self.open_complaints,
            "days_since_last_contact": (
                None if latest is None else (now - latest).total_seconds() / 86_400
            ),
        }


@dataclass(frozen=True)
class ContactBlock:
    """Why one action may not be sent now: ``code`` is one of :data:`BLOCK_CODES`."""

    action_id: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {"action_id": self.action_id, "code": self.code, "message": self.message}


def check_contact(
    flow: Flow,
    action: Action,
    channel: str,
    history: ContactHistory,
    now: datetime,
    timezone: str | None,
    env: Mapping[str, Mapping[str, Any]],
) -> list[ContactBlock]:
    """Every reason the contact policy blocks ``action`` on ``channel`` now (empty: allowed).

    Args:
        flow: the compiled flow whose ``contact_policy`` applies.
        action: the action to send.
        channel: the channel it would go out on (the request's channel for ``any`` actions).
        history: the customer's contacts and open complaints.
        now: the time of the decision.
        timezone: the customer's IANA time zone (see :func:`customer_timezone`); ``None``
            or an unknown zone uses the quiet hours' ``default_timezone``.
        env: the expression namespaces for conflict rules; ``history`` is filled in from
            ``history`` as of ``now``.
    """
    now = _utc(now)
    policy = flow.contact_policy
    blocks: list[ContactBlock] = []

    def block(code: str, message: str) -> None:
        blocks.append(ContactBlock(action.id, code, message))

    for cap in policy.caps:
        if _in_scope(cap, action.id, channel):
            since = now - timedelta(days=cap.per_days)
            used = sum(
                1
                for c in history.contacts
                if _in_scope(cap, c.action_id, c.channel) and _utc(c.at) > since
            )
            if used >= cap.max:
                block(
                    "frequency_cap",
                    f"at most {cap.max} {cap.scope} per {cap.per_days} days, and "
                    f"{used} were made in the last {cap.per_days} days",
                )
    suppression = policy.suppress_after_rejects
    if suppression is not None:
        until = _suppressed_until(history, action.id, suppression, now)
        if until is not None:
            block(
                "suppressed",
                f"rejected {suppression.count} times within {suppression.within_days} days; "
                f"not offered again until {until.date().isoformat()}",
            )
    if policy.conflicts and action.tags:
        scope = {**env, "history": history.fields(now)}
        for conflict in policy.conflicts:
            if set(conflict.tags) & set(action.tags) and conflict.while_expression.test(scope):
                block("conflict", conflict.reason)
    quiet = policy.quiet_hours
    if quiet is not None and channel in quiet.channels:
        name = timezone if timezone is not None and _zone(timezone) else quiet.default_timezone
        zone = _zone(name) or zoneinfo.ZoneInfo("UTC")
        local = now.astimezone(zone)
        if quiet.covers(local.time().replace(tzinfo=None)):
            block(
                "quiet_hours",
                f"it is {local:%H:%M} in {name}, inside the quiet hours {quiet.start}-"
                f"{quiet.end} for {channel}",
            )
    limit = policy.channel_limits.get(channel)
    if limit is not None and len(action.message) > limit:
        block(
            "channel_limit",
            f"the message has {len(action.message)} characters; {channel} allows {limit}",
        )
    return blocks


def _in_scope(cap: Cap, action_id: str, channel: str) -> bool:
    return (cap.action is None or cap.action == action_id) and (
        cap.channel is None or cap.channel == channel
    )


def _suppressed_until(
    history: ContactHistory, action_id: str, rule: Suppression, now: datetime
) -> datetime | None:
    """The end of the suppression for ``action_id``, or ``None`` when it is not suppressed.

    Suppressed when some ``count`` rejects lie within ``within_days`` of each other and the
    last of them is less than ``suppress_days`` before ``now``.
    """
    rejects = sorted(
        _utc(c.at)
        for c in history.contacts
        if c.action_id == action_id and c.outcome == REJECT_OUTCOME and _utc(c.at) <= now
    )
    count = rule.count
    window = timedelta(days=rule.within_days)
    hold = timedelta(days=rule.suppress_days)
    until: datetime | None = None
    for last in range(count - 1, len(rejects)):
        if rejects[last] - rejects[last - count + 1] <= window and now < rejects[last] + hold:
            until = rejects[last] + hold
    return until


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called ``name``, or ``None`` when there is none."""
    if name not in _zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


def customer_timezone(country: str | None, requested: str | None, default: str) -> str:
    """The time zone quiet hours use for a customer.

    The request's IANA zone when it is a valid one; else the main zone of the customer's
    ISO country code (the first zone ``pytz`` lists: ``US`` -> ``America/New_York``); else
    ``default``.
    """
    if requested and _zone(requested) is not None:
        return requested
    if country:
        zones = pytz.country_timezones.get(country.strip().upper())
        if zones:
            return str(zones[0])
    return default
