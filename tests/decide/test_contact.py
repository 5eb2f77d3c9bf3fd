"""The contact policy: caps, suppression after rejects, conflicts, quiet hours, lengths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aimsight.decide._contact import (
    Contact,
    ContactHistory,
    check_contact,
    customer_timezone,
)
from aimsight.decide._flow import Flow, parse_flow

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # winter: London is on GMT (UTC+0)
LONG = "x" * 200


def make_flow(**policy: Any) -> Flow:
    data: dict[str, Any] = {
        "flow": "test",
        "version": 1,
        "description": "Contact policy tests.",
        "owner": "Tests",
        "consent": {"purposes": ["profiling"]},
        "channels": ["email", "sms", "push", "web", "phone"],
        "fallback": {"action": "newsletter", "reason": "Everyone."},
        "contact_policy": policy,
        "actions": [
            _action("discount", tags=["offer", "retention"]),
            _action("upgrade", tags=["upsell"]),
            _action("long_note", message=LONG),
            _action("newsletter"),
        ],
    }
    return parse_flow(yaml.safe_dump(data), origin="test.yaml", features=["plan"])


def _action(action_id: str, **settings: Any) -> dict[str, Any]:
    return {
        "id": action_id,
        "title": action_id,
        "channel": "any",
        "message": "Hello.",
        "reason": "For tests.",
        **settings,
    }


def contact(action_id: str, channel: str, days_ago: float, outcome: str | None = None) -> Contact:
    return Contact(action_id, channel, NOW - timedelta(days=days_ago), outcome)


def codes(
    flow: Flow,
    action_id: str,
    channel: str,
    history: ContactHistory | None = None,
    *,
    now: datetime = NOW,
    timezone: str | None = None,
    env: dict[str, Any] | None = None,
) -> list[str]:
    blocks = check_contact(
        flow,
        flow.action(action_id),
        channel,
        history or ContactHistory(),
        now,
        timezone,
        env or {},
    )
    assert all(block.action_id == action_id for block in blocks)
    return [block.code for block in blocks]


# --- the history namespace ------------------------------------------------------------------


def test_history_fields_count_recent_contacts_and_outcomes() -> None:
    history = ContactHistory(
        contacts=(
            contact("discount", "email", 2, "rejected"),
            contact("discount", "email", 10, "accepted"),
            contact("upgrade", "web", 20, "converted"),
            contact("upgrade", "web", 29.9, "complaint"),
            contact("upgrade", "web", 45, "rejected"),
            contact("upgrade", "web", -1),  # scheduled after now: not history yet
        ),
        open_complaints=1,
    )

    fields = history.fields(NOW)

    assert fields == {
        "contacts_7d": 1,
        "contacts_30d": 4,
        "rejects_30d": 1,
        "accepts_30d": 2,
        "open_complaints": 1,
        "days_since_last_contact": pytest.approx(2.0),
    }


def test_no_contacts_means_no_days_since_last_contact() -> None:
    assert ContactHistory().fields(NOW)["days_since_last_contact"] is None


def test_naive_times_are_taken_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    history = ContactHistory((Contact("discount", "email", naive - timedelta(days=1)),))

    assert history.fields(NOW)["days_since_last_contact"] == pytest.approx(1.0)
    assert history.fields(naive)["contacts_7d"] == 1


# --- caps -----------------------------------------------------------------------------------


def test_a_channel_cap_counts_contacts_on_that_channel_only() -> None:
    flow = make_flow(caps=[{"channel": "email", "max": 1, "per_days": 7}])
    history = ContactHistory((contact("upgrade", "email", 3),))

    assert codes(flow, "discount", "email", history) == ["frequency_cap"]
    assert codes(flow, "discount", "sms", history) == []
    assert codes(flow, "discount", "email", ContactHistory((contact("x", "web", 1),))) == []


def test_a_cap_window_ends_exactly_per_days_ago() -> None:
    flow = make_flow(caps=[{"channel": "email", "max": 1, "per_days": 7}])

    assert codes(flow, "discount", "email", ContactHistory((contact("a", "email", 7),))) == []
    inside = ContactHistory((contact("a", "email", 6.99),))
    assert codes(flow, "discount", "email", inside) == ["frequency_cap"]


def test_an_action_cap_counts_that_action_on_any_channel() -> None:
    flow = make_flow(caps=[{"action": "discount", "max": 2, "per_days": 30}])
    once = ContactHistory((contact("discount", "sms", 20),))
    twice = ContactHistory((*once.contacts, contact("discount", "email", 5)))

    assert codes(flow, "discount", "email", once) == []
    assert codes(flow, "discount", "email", twice) == ["frequency_cap"]
    assert codes(flow, "upgrade", "email", twice) == []


def test_a_cap_on_an_action_and_a_channel_needs_both_to_match() -> None:
    flow = make_flow(caps=[{"action": "discount", "channel": "sms", "max": 1, "per_days": 30}])
    history = ContactHistory((contact("discount", "email", 1),))

    assert codes(flow, "discount", "sms", history) == []
    history = ContactHistory((contact("discount", "sms", 1),))
    assert codes(flow, "discount", "sms", history) == ["frequency_cap"]
    assert codes(flow, "discount", "email", history) == []


def test_a_cap_with_no_scope_counts_every_contact() -> None:
    flow = make_flow(caps=[{"max": 2, "per_days": 7}])
    history = ContactHistory((contact("a", "web", 1), contact("b", "push", 2)))

    blocks = check_contact(flow, flow.action("upgrade"), "phone", history, NOW, None, {})

    assert [b.code for b in blocks] == ["frequency_cap"]
    assert blocks[0].message == "at most 2 contacts per 7 days, and 2 were made in the last 7 days"


# --- suppression after rejects --------------------------------------------------------------

SUPPRESS = {"count": 3, "within_days": 30, "suppress_days": 90}


def test_three_rejects_within_the_window_suppress_the_action() -> None:
    flow = make_flow(suppress_after_rejects=SUPPRESS)
    rejects = tuple(contact("discount", "email", d, "rejected") for d in (40, 30, 20))

    blocks = check_contact(
        flow, flow.action("discount"), "email", ContactHistory(rejects), NOW, None, {}
    )

    assert [b.code for b in blocks] == ["suppressed"]
    until = (NOW - timedelta(days=20) + timedelta(days=90)).date().isoformat()
    assert blocks[0].message.endswith(f"not offered again until {until}")
    assert codes(flow, "upgrade", "email", ContactHistory(rejects)) == []


def test_rejects_spread_wider_than_the_window_do_not_suppress() -> None:
    flow = make_flow(suppress_after_rejects=SUPPRESS)
    rejects = tuple(contact("discount", "email", d, "rejected") for d in (60, 40, 20))

    assert codes(flow, "discount", "email", ContactHistory(rejects)) == []


def test_suppression_ends_after_suppress_days() -> None:
    flow = make_flow(suppress_after_rejects=SUPPRESS)
    rejects = tuple(contact("discount", "email", d, "rejected") for d in (100, 95, 90))

    assert codes(flow, "discount", "email", ContactHistory(rejects)) == []
    later = ContactHistory(tuple(contact("discount", "email", d, "rejected") for d in (99, 95, 89)))
    assert codes(flow, "discount", "email", later) == ["suppressed"]


def test_only_rejects_count_towards_suppression() -> None:
    flow = make_flow(suppress_after_rejects=SUPPRESS)
    history = ContactHistory(
        (
            contact("discount", "email", 3, "rejected"),
            contact("discount", "email", 2, "accepted"),
            contact("discount", "email", 1, None),
        )
    )

    assert codes(flow, "discount", "email", history) == []


# --- conflicts ------------------------------------------------------------------------------


def test_a_conflict_blocks_tagged_actions_while_its_rule_holds() -> None:
    flow = make_flow(
        conflicts=[
            {
                "tags": ["offer", "upsell"],
                "while": "history.open_complaints > 0",
                "reason": "No offer while a complaint is open.",
            }
        ]
    )
    complaint = ContactHistory(open_complaints=1)

    blocks = check_contact(flow, flow.action("discount"), "email", complaint, NOW, None, {})

    assert [(b.code, b.message) for b in blocks] == [
        ("conflict", "No offer while a complaint is open.")
    ]
    assert codes(flow, "upgrade", "email", complaint) == ["conflict"]
    assert codes(flow, "newsletter", "email", complaint) == []
    assert codes(flow, "discount", "email", ContactHistory()) == []


def test_a_conflict_rule_can_read_features_from_the_request() -> None:
    flow = make_flow(
        conflicts=[
            {"tags": ["upsell"], "while": "features.plan == 'premium'", "reason": "Top plan."}
        ]
    )

    assert codes(flow, "upgrade", "web", env={"features": {"plan": "premium"}}) == ["conflict"]
    assert codes(flow, "upgrade", "web", env={"features": {"plan": "basic"}}) == []
    assert codes(flow, "upgrade", "web", env={}) == []


# --- quiet hours ----------------------------------------------------------------------------

QUIET = {
    "start": "21:00",
    "end": "08:00",
    "channels": ["sms", "push", "phone"],
    "default_timezone": "Europe/London",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        ("2025-01-15T20:59", False),
        ("2025-01-15T21:00", True),
        ("2025-01-15T23:59", True),
        ("2025-01-16T00:00", True),
        ("2025-01-16T07:59", True),
        ("2025-01-16T08:00", False),
        ("2025-01-16T12:00", False),
    ],
)
def test_quiet_hours_wrap_midnight(utc: str, quiet: bool) -> None:
    flow = make_flow(quiet_hours=QUIET)

    assert codes(flow, "discount", "sms", now=at(utc)) == (["quiet_hours"] if quiet else [])


def test_quiet_hours_apply_only_to_their_channels() -> None:
    flow = make_flow(quiet_hours=QUIET)

    assert codes(flow, "discount", "email", now=at("2025-01-15T23:00")) == []
    assert codes(flow, "discount", "push", now=at("2025-01-15T23:00")) == ["quiet_hours"]


def test_quiet_hours_use_the_customers_time_zone() -> None:
    flow = make_flow(quiet_hours=QUIET)
    now = at("2025-07-01T23:30")  # 00:30 in London (BST), 19:30 in New York (EDT)

    blocks = check_contact(flow, flow.action("discount"), "sms", ContactHistory(), now, None, {})
    assert blocks[0].message == (
        "it is 00:30 in Europe/London, inside the quiet hours 21:00-08:00 for sms"
    )
    assert codes(flow, "discount", "sms", now=now, timezone="America/New_York") == []
    assert codes(flow, "discount", "sms", now=now, timezone="Not/AZone") == ["quiet_hours"]


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        ("2025-03-29T20:30", False),  # 20:30 GMT, the day before the clocks go forward
        ("2025-03-31T20:30", True),  # 21:30 BST
        ("2025-10-25T07:30", False),  # 08:30 BST, the day before the clocks go back
        ("2025-10-27T07:30", True),  # 07:30 GMT
    ],
)
def test_quiet_hours_follow_daylight_saving_time(utc: str, quiet: bool) -> None:
    flow = make_flow(quiet_hours=QUIET)

    assert codes(flow, "discount", "phone", now=at(utc)) == (["quiet_hours"] if quiet else [])


def test_a_window_within_one_day() -> None:
    flow = make_flow(quiet_hours={"start": "12:00", "end": "14:00", "channels": ["phone"]})

    assert codes(flow, "discount", "phone", now=at("2025-01-15T11:59")) == []
    assert codes(flow, "discount", "phone", now=at("2025-01-15T12:00")) == ["quiet_hours"]
    assert codes(flow, "discount", "phone", now=at("2025-01-15T14:00")) == []


# --- channel limits and several reasons at once ---------------------------------------------


def test_a_message_too_long_for_the_channel_is_blocked() -> None:
    flow = make_flow(channel_limits={"sms": 160, "push": 120})

    blocks = check_contact(flow, flow.action("long_note"), "sms", ContactHistory(), NOW, None, {})

    assert [(b.code, b.message) for b in blocks] == [
        ("channel_limit", "the message has 200 characters; sms allows 160")
    ]
    assert codes(flow, "long_note", "email") == []
    assert codes(flow, "discount", "sms") == []


def test_every_reason_is_reported_not_just_the_first() -> None:
    flow = make_flow(
        caps=[{"channel": "sms", "max": 1, "per_days": 7}],
        suppress_after_rejects=SUPPRESS,
        conflicts=[{"tags": ["offer"], "while": "history.open_complaints > 0", "reason": "No."}],
        quiet_hours=QUIET,
        channel_limits={"sms": 1},
    )
    history = ContactHistory(
        tuple(contact("discount", "sms", d, "rejected") for d in (3, 2, 1)), open_complaints=1
    )

    found = codes(flow, "discount", "sms", history, now=at("2025-01-15T22:00"))

    assert found == ["frequency_cap", "suppressed", "conflict", "quiet_hours", "channel_limit"]


# --- the customer's time zone ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "requested", "expected"),
    [
        ("US", "Asia/Tokyo", "Asia/Tokyo"),
        ("US", None, "America/New_York"),
        ("gb", None, "Europe/London"),
        ("DE", "Mars/Olympus", "Europe/Berlin"),
        ("ZZ", None, "Europe/London"),
        (None, "", "Europe/London"),
    ],
)
def test_customer_timezone_prefers_the_request_then_the_country(
    country: str | None, requested: str | None, expected: str
) -> None:
    assert customer_timezone(country, requested, "Europe/London") == expected


# --- the caps invariant ---------------------------------------------------------------------

_CAPPED = make_flow(
    caps=[
        {"channel": "email", "max": 2, "per_days": 7},
        {"action": "discount", "max": 1, "per_days": 3},
        {"max": 3, "per_days": 5},
    ]
)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 30 * 24, allow_nan=False),  # hours after the start
            st.sampled_from(["discount", "upgrade"]),
            st.sampled_from(["email", "sms"]),
        ),
        max_size=60,
    )
)
def test_caps_never_allow_more_than_max_in_any_window(
    requests: list[tuple[float, str, str]],
) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    sent: list[Contact] = []
    for hours, action_id, channel in sorted(requests):
        now = start + timedelta(hours=hours)
        history = ContactHistory(tuple(sent))
        if not check_contact(_CAPPED, _CAPPED.action(action_id), channel, history, now, None, {}):
            sent.append(Contact(action_id, channel, now))

    for cap in _CAPPED.contact_policy.caps:
        window = timedelta(days=cap.per_days)
        scoped = [
            c.at
            for c in sent
            if (cap.channel in (None, c.channel)) and (cap.action in (None, c.action_id))
        ]
        for first in scoped:
            in_window = [t for t in scoped if first <= t < first + window]
            assert len(in_window) <= cap.max, (cap, in_window)
