"""The consent rules as one pure function: examples a privacy officer would check, and the
invariants (Hypothesis) the decision gate relies on."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core import InvalidInput
from aimsight.privacy import (
    ANY,
    ConsentCheck,
    ConsentRecord,
    current_records,
    effective,
    shipped_policy,
)

POLICY = shipped_policy()
CHANNELS = list(POLICY.channels)
PURPOSES = list(POLICY.purposes)
DAY = "2026-03-{:02d}T09:00:00.000000Z"


def rec(
    purpose: str, channel: str, status: str, day: int = 1, source: str = "test"
) -> ConsentRecord:
    return ConsentRecord(purpose, channel, status, DAY.format(day), source)


def one(records: list[ConsentRecord], purpose: str, channel: str) -> ConsentCheck:
    [check] = effective(records, POLICY, [purpose], channel)
    return check


# -- examples ---------------------------------------------------------------------------------


def test_with_nothing_recorded_the_policy_defaults_hold() -> None:
    checks = effective([], POLICY, PURPOSES, "email")
    allowed = {check.purpose: check.allowed for check in checks}
    assert allowed == {purpose: purpose == "ai_decisioning" for purpose in PURPOSES}
    ai = checks[-1]
    assert ai.by_default and ai.basis == "legitimate_interest" and ai.status == "granted"
    assert "until the customer objects" in ai.reason
    assert "needs the customer's consent" in checks[0].reason


def test_a_channel_scoped_grant_covers_only_its_channel() -> None:
    records = [rec("marketing", "email", "granted")]
    assert one(records, "marketing", "email").allowed
    assert not one(records, "marketing", "sms").allowed
    granted = one(records, "marketing", "email")
    assert granted.granted_by == records[0] and granted.basis == "consent"
    assert granted.reason == "marketing on email was granted on 2026-03-01 (source test)"


def test_a_grant_on_every_channel_covers_each_channel() -> None:
    records = [rec("marketing", ANY, "granted")]
    assert all(one(records, "marketing", channel).allowed for channel in CHANNELS)


def test_a_purpose_scoped_record_on_one_channel_covers_every_channel() -> None:
    cookie_banner = rec("profiling", "web", "granted", source="cookie_banner")
    assert one([cookie_banner], "profiling", "email").allowed


def test_a_specific_denial_wins_over_a_general_grant_and_is_named() -> None:
    general = rec("marketing", ANY, "granted", day=5)
    specific = rec("marketing", "sms", "revoked", day=2)
    check = one([general, specific], "marketing", "sms")
    assert not check.allowed and check.status == "revoked" and check.blocked_by == specific
    assert one([general, specific], "marketing", "email").allowed


def test_a_general_denial_is_lifted_only_by_a_newer_record_on_its_own_key() -> None:
    general = rec("marketing", ANY, "denied", day=1)
    later_specific = rec("marketing", "email", "granted", day=9)
    assert one([general, later_specific], "marketing", "email").blocked_by == general
    lifted = rec("marketing", ANY, "granted", day=10)
    assert one([general, later_specific, lifted], "marketing", "email").allowed


def test_an_email_opt_out_suppresses_every_purpose_on_email_only() -> None:
    records = [
        rec("marketing", "email", "granted"),
        rec("profiling", ANY, "granted"),
        rec(ANY, "email", "denied", day=3, source="unsubscribe_link"),
    ]
    for check in effective(records, POLICY, PURPOSES, "email"):
        assert not check.allowed
        assert check.blocked_by == records[2]
        assert check.reason.startswith("the customer opted out of everything on email")
    assert one(records, "profiling", "sms").allowed


def test_an_opt_out_granted_again_no_longer_blocks_but_grants_nothing_itself() -> None:
    records = [rec(ANY, "email", "denied", day=1), rec(ANY, "email", "granted", day=2)]
    assert one(records, "ai_decisioning", "email").allowed  # the default again
    assert not one(records, "marketing", "email").allowed  # no marketing consent
    assert one(records, "marketing", "email").by_default


def test_revoking_profiling_stops_every_personalised_decision() -> None:
    records = [
        rec("profiling", "web", "granted", day=1),
        rec("personalisation", ANY, "granted", day=1),
        rec("ai_decisioning", ANY, "granted", day=1),
        rec("profiling", "email", "revoked", day=4, source="preference_centre"),
    ]
    for purpose in ("profiling", "personalisation", "ai_decisioning"):
        check = one(records, purpose, "push")
        assert not check.allowed and check.status == "revoked"
        assert check.blocked_by == records[3]
    blocked = one(records, "ai_decisioning", "push")
    assert "profiling on email was revoked on 2026-03-04" in blocked.reason
    assert "which blocks ai_decisioning" in blocked.reason
    assert "rest on a profile" in blocked.reason
    assert one(records, "marketing", "push").by_default  # marketing has nothing to do with it


def test_an_objection_to_ai_decisioning_stops_it_whatever_else_is_granted() -> None:
    records = [rec("profiling", ANY, "granted"), rec("ai_decisioning", ANY, "denied", day=2)]
    check = one(records, "ai_decisioning", "email")
    assert not check.allowed and check.status == "denied"
    assert one(records, "personalisation", "email").by_default


def test_records_of_a_purpose_the_policy_dropped_are_ignored() -> None:
    assert effective([rec("telepathy", ANY, "denied")], POLICY, ["ai_decisioning"], "sms")[
        0
    ].allowed


@pytest.mark.parametrize(
    ("purposes", "channel", "field"),
    [
        (["profiling"], "fax", "channel"),
        (["profiling"], ANY, "channel"),
        (["profiling", "telepathy"], "email", "purposes[1]"),
        ([ANY], "email", "purposes[0]"),
    ],
)
def test_an_unknown_purpose_or_channel_is_refused_naming_the_allowed_ones(
    purposes: list[str], channel: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        effective([], POLICY, purposes, channel)
    assert caught.value.field == field
    assert "use one of:" in caught.value.message


def test_a_single_purpose_given_as_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be a list"):
        effective([], POLICY, "profiling", "email")


# -- invariants -------------------------------------------------------------------------------

STATUSES = ["granted", "denied", "revoked"]
records_strategy = st.lists(
    st.builds(
        rec,
        st.sampled_from([*PURPOSES, ANY]),
        st.sampled_from([*CHANNELS, ANY]),
        st.sampled_from(STATUSES),
        st.integers(1, 28),
    ),
    max_size=25,
)


def _newest(records: list[ConsentRecord]) -> int:
    return max((int(r.recorded_at[8:10]) for r in records), default=0)


@given(records_strategy, st.sampled_from(["denied", "revoked"]), st.sampled_from(CHANNELS))
def test_a_revoked_profiling_blocks_personalisation_and_ai_decisioning_everywhere(
    records: list[ConsentRecord], status: str, collected_on: str
) -> None:
    refusal = ConsentRecord(
        "profiling", collected_on, status, "2026-03-29T00:00:00.000000Z", "preference_centre"
    )
    for channel in CHANNELS:
        for check in effective(
            [*records, refusal], POLICY, ["personalisation", "ai_decisioning"], channel
        ):
            assert not check.allowed
            assert check.blocked_by is not None and check.blocked_by.status != "granted"


@given(records_strategy, st.sampled_from(CHANNELS), st.sampled_from(["denied", "revoked"]))
def test_a_channel_opt_out_blocks_every_purpose_on_that_channel(
    records: list[ConsentRecord], channel: str, status: str
) -> None:
    opt_out = ConsentRecord(ANY, channel, status, "2026-03-29T00:00:00.000000Z", "unsubscribe")
    for check in effective([*records, opt_out], POLICY, PURPOSES, channel):
        assert not check.allowed


@given(records_strategy, st.sampled_from(STATUSES), st.sampled_from(CHANNELS))
def test_the_newest_record_for_a_key_wins(
    records: list[ConsentRecord], status: str, channel: str
) -> None:
    # Every generated record is older (days 1-28). Marketing is channel-scoped and nothing
    # propagates to it, so the newest record decides unless a wildcard record in force denies.
    newest = ConsentRecord("marketing", channel, status, "2026-03-29T00:00:00.000000Z", "new")
    check = one([*records, newest], "marketing", channel)
    wildcard_denies = any(
        r.denies and (r.purpose, r.channel) in {("marketing", ANY), (ANY, channel), (ANY, ANY)}
        for r in current_records(records, POLICY).values()
    )
    if status != "granted":
        assert not check.allowed and check.blocked_by == newest
    elif not wildcard_denies:
        assert check.allowed and check.granted_by == newest


def replace_day(record: ConsentRecord, day: int) -> ConsentRecord:
    return ConsentRecord(
        record.purpose, record.channel, record.status, DAY.format(day), record.source
    )


@given(records_strategy, st.sampled_from(CHANNELS), st.randoms(use_true_random=False))
def test_the_order_records_arrive_in_does_not_matter_when_their_times_differ(
    records: list[ConsentRecord], channel: str, shuffler: random.Random
) -> None:
    distinct = [replace_day(r, index + 1) for index, r in enumerate(records[:28])]
    shuffled = list(distinct)
    shuffler.shuffle(shuffled)
    assert effective(distinct, POLICY, PURPOSES, channel) == effective(
        shuffled, POLICY, PURPOSES, channel
    )


@given(records_strategy, st.sampled_from(CHANNELS))
def test_an_allowed_purpose_has_no_denying_record_in_force_that_applies(
    records: list[ConsentRecord], channel: str
) -> None:
    current = current_records(records, POLICY)
    for check in effective(records, POLICY, PURPOSES, channel):
        if not check.allowed:
            continue
        scope = POLICY.purposes[check.purpose].scope
        keys = {(check.purpose, ANY), (ANY, channel), (ANY, ANY)}
        if scope == "channel":
            keys.add((check.purpose, channel))
        keys |= {(when, c) for when, _ in POLICY.blockers(check.purpose) for c in [*CHANNELS, ANY]}
        assert not any(current[key].denies for key in keys if key in current)
