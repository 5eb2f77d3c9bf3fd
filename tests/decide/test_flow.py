"""Decision flow files: the shipped flows load, and every mistake an author can make is
reported with the file, the line, the setting path and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.decide._arbitration import arbitrate, evaluate_actions
from aimsight.decide._flow import (
    MAX_FLOW_BYTES,
    Flow,
    FlowError,
    load_flow,
    load_flows,
    parse_flow,
    shipped_flows_folder,
)
from aimsight.features import shipped_definitions

FEATURES = frozenset(feature.name for feature in shipped_definitions().features)
ORIGIN = "flows/test.yaml"

MINIMAL = """\
flow: test
version: 1
description: A flow for tests.
owner: Tests
consent:
  purposes: [profiling]
channels: [email, web]
top_n: 1
models:
  churn: {model: churn, output: probability}
review:
  when: "action.value >= 100"
fallback:
  action: newsletter
  reason: Everyone gets it.
levers: {budget: 1.0}
contact_policy:
  quiet_hours: {start: "21:00", end: "08:00", channels: [email], default_timezone: Europe/London}
actions:
  - id: discount
    title: A discount
    channel: email
    tags: [offer]
    message: Stay with us.
    value: 150
    propensity: scores.churn
    eligibility: "features.tenure_days >= 90"
    levers: [budget]
    reason: At risk.
  - id: newsletter
    title: Newsletter
    channel: any
    message: News.
    reason: Everyone.
"""


def parse(text: str) -> Flow:
    return parse_flow(text, origin=ORIGIN, features=FEATURES)


def failure(text: str) -> FlowError:
    with pytest.raises(FlowError) as caught:
        parse(text)
    return caught.value


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``fragment``."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return found[occurrence - 1]


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def assert_error(
    error: FlowError, *, line: int | None, path: str, says: tuple[str, ...] = ()
) -> None:
    """The message names the file, the line and the path, and says each of ``says``."""
    message = str(error)
    where = f"{ORIGIN} line {line}" if line is not None else ORIGIN
    assert message.startswith(f"{where}: {path}: " if path else f"{where}: "), message
    assert error.line == line
    assert error.path == path
    assert error.field == (path or None)
    for fragment in says:
        assert fragment in message, (fragment, message)


# --- the shipped flows --------------------------------------------------------------------------


def test_the_shipped_flows_load_against_the_shipped_features() -> None:
    flows = load_flows(shipped_flows_folder(), features=FEATURES)

    assert set(flows) == {"retention", "next_best_offer"}
    retention = flows["retention"]
    assert retention.consent.purposes == ("profiling", "ai_decisioning")
    assert retention.fallback_action.id == "retention_newsletter"
    assert {a.id for a in retention.personalised_actions} == {
        "retention_discount",
        "service_call",
        "loyalty_reminder",
    }
    assert retention.high_stakes and retention.human_review
    offers = flows["next_best_offer"]
    assert offers.consent.purposes == ("personalisation", "ai_decisioning")
    assert offers.unknown_customer == "anonymous"
    assert not offers.human_review


def test_the_shipped_fallbacks_read_no_features_or_scores() -> None:
    for flow in load_flows(shipped_flows_folder(), features=FEATURES).values():
        for _, expression in flow.fallback_action.expressions():
            assert not expression.uses("features") and not expression.uses("scores")


def test_a_flow_round_trips_through_json_with_the_same_digest() -> None:
    flow = load_flow(shipped_flows_folder() / "retention.yaml", features=FEATURES)

    again = parse_flow(json.dumps(flow.to_dict()), origin="ledger", features=FEATURES)
    dumped = parse_flow(
        json.dumps(flow.model_dump(mode="json")), origin="ledger", features=FEATURES
    )

    assert again == flow == dumped
    assert again.digest == flow.digest
    assert len(flow.digest) == 64
    assert flow.to_dict()["contact_policy"]["conflicts"][0]["while"]


def test_a_changed_setting_changes_the_digest() -> None:
    assert parse(MINIMAL).digest != parse(edit("value: 150", "value: 151")).digest


def _env(**features: Any) -> dict[str, Any]:
    churn = features.pop("churn", 0.0)
    value = features.pop("value", 120.0)
    row = dict.fromkeys(FEATURES, 0)
    row.update(plan="basic", days_since_last_web_event=None, amount_paid_365d=value)
    row.update(features)
    return {
        "features": row,
        "scores": {"churn": churn},
        "history": {"open_complaints": 0},
        "context": {},
        "customer": {"known": True},
    }


@pytest.mark.parametrize(
    ("flow_id", "channel", "customer", "expected"),
    [
        (
            "retention",
            "email",
            {"churn": 0.3, "payments_90d": 2, "tenure_days": 400},
            ["retention_discount"],
        ),
        (
            "retention",
            "phone",
            {"churn": 0.2, "payments_90d": 2, "negative_tickets_90d": 1},
            ["service_call"],
        ),
        (
            "retention",
            "push",
            {"churn": 0.2, "payments_90d": 2, "tenure_days": 400, "days_since_last_web_event": 3},
            ["loyalty_reminder"],
        ),
        ("retention", "email", {"churn": 0.01, "payments_90d": 2, "tenure_days": 400}, []),
        (
            "next_best_offer",
            "web",
            {"churn": 0.02, "payments_90d": 3, "web_events_30d": 4, "logins_30d": 1},
            ["plan_upgrade", "add_on"],
        ),
        (
            "next_best_offer",
            "email",
            {"churn": 0.01, "payments_90d": 3, "payments_365d": 12, "tenure_days": 400},
            ["annual_plan"],
        ),
        ("next_best_offer", "push", {"churn": 0.5, "payments_90d": 3, "web_events_30d": 4}, []),
    ],
)
def test_the_shipped_flows_pick_each_action_for_a_fitting_customer(
    flow_id: str, channel: str, customer: dict[str, Any], expected: list[str]
) -> None:
    flow = load_flows(shipped_flows_folder(), features=FEATURES)[flow_id]

    candidates, _ = evaluate_actions(flow, _env(**customer), request_channel=channel)

    assert [c.action.id for c in arbitrate(candidates, flow.top_n)] == expected


# --- the flow object ----------------------------------------------------------------------------


def test_action_lookup_names_the_actions_when_missing() -> None:
    flow = parse(MINIMAL)

    assert flow.action("discount").title == "A discount"
    with pytest.raises(NotFound, match="did you mean 'discount'.*discount, newsletter"):
        flow.action("discont")


def test_review_applies_to_high_value_or_high_stakes_actions() -> None:
    flow = parse(MINIMAL)
    action = flow.action("discount")

    assert flow.needs_review(action, {}, value=150, priority=1, channel="email")
    assert not flow.needs_review(action, {}, value=99, priority=1, channel="email")
    assert not flow.needs_review(action, {}, value=None, priority=1, channel="email")


def test_values_and_propensities_evaluate_to_numbers_or_none() -> None:
    flow = parse(edit("value: 150", 'value: "scores.churn * 100"'))
    action = flow.action("discount")

    assert action.value_in({"scores": {"churn": 0.5}}) == 50
    assert action.propensity_in({"scores": {"churn": 0.5}}) == 0.5
    assert action.value_in({"scores": {}}) is None
    assert action.propensity_in({"scores": {"churn": True}}) is None
    assert flow.action("newsletter").value_in({}) == 1.0


def test_context_weights_multiply_when_true() -> None:
    text = edit(
        "    levers: [budget]\n",
        "    levers: [budget]\n    context_weights:\n"
        "      - {when: \"context.page == 'home'\", weight: 2}\n"
        '      - {when: "context.hour >= 18", weight: 0.5}\n',
    )
    action = parse(text).action("discount")

    assert action.context_weight_in({"context": {"page": "home"}}) == 2.0
    assert action.context_weight_in({"context": {"page": "home", "hour": 19}}) == 1.0
    assert action.context_weight_in({"context": {}}) == 1.0


def test_confidence_from_a_probability_is_the_larger_side() -> None:
    flow = parse(MINIMAL + "confidence: {score: scores.churn, from_probability: true, min: 0.6}\n")
    assert flow.confidence is not None

    assert flow.confidence.measure({"scores": {"churn": 0.1}}) == pytest.approx(0.9)
    assert flow.confidence.measure({"scores": {"churn": 0.55}}) == pytest.approx(0.55)
    assert flow.confidence.measure({"scores": {}}) is None


def test_references_list_everything_the_flow_reads() -> None:
    assert parse(MINIMAL).references() == {
        "scores.churn",
        "features.tenure_days",
        "action.value",
    }


def test_unquoted_numbers_keep_their_type_in_the_digest_form() -> None:
    flow = parse(MINIMAL)

    assert flow.to_dict()["actions"][0]["value"] == 150
    assert flow.to_dict()["contact_policy"]["quiet_hours"]["start"] == "21:00"


# --- errors: the file ---------------------------------------------------------------------------


def test_a_yaml_syntax_error_names_its_line() -> None:
    text = edit("owner: Tests", "owner: [Tests")
    error = failure(text)

    assert_error(error, line=error.line, path="", says=("not valid YAML", "fix the syntax"))
    assert error.line is not None and error.line >= line_of(text, "owner:")


def test_a_mis_indented_setting_is_a_syntax_error_with_a_line() -> None:
    text = edit("  reason: Everyone gets it.", " reason: Everyone gets it.")
    error = failure(text)

    assert_error(error, line=line_of(text, " reason: Everyone gets it."), path="")
    assert "indentation" in str(error)


def test_a_file_over_one_megabyte_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + "#" * MAX_FLOW_BYTES + "\n"
    assert_error(failure(text), line=None, path="", says=("more than the 1,000,000", "split"))

    path = tmp_path / "huge.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowError, match=r"huge.yaml: the file is [\d,]+ bytes"):
        load_flow(path, features=FEATURES)


def test_deep_nesting_is_refused_before_yaml_builds_it() -> None:
    # PyYAML builds nodes recursively; this would overflow the C stack and kill the process.
    text = MINIMAL + "deep: " + "[" * 200_000 + "]" * 200_000 + "\n"
    assert_error(
        failure(text),
        line=line_of(text, "deep:"),
        path="",
        says=("nested more than 50 levels deep", "close the brackets"),
    )


def test_anchors_and_aliases_are_refused() -> None:
    text = edit("channels: [email, web]", "channels: &c [email, web]\nmore: *c")
    assert_error(failure(text), line=line_of(text, "more:"), path="", says=("write the setting",))


def test_a_key_given_twice_is_refused_with_both_lines() -> None:
    text = edit("top_n: 1", "top_n: 1\ntop_n: 2")
    error = failure(text)

    assert_error(error, line=line_of(text, "top_n: 2"), path="", says=("appears twice", "keep one"))
    assert f"lines {line_of(text, 'top_n: 1')} and {line_of(text, 'top_n: 2')}" in str(error)


def test_the_top_level_must_be_a_mapping() -> None:
    assert_error(failure("- a\n- b\n"), line=1, path="", says=("mapping of settings",))


def test_a_missing_file_and_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="no such flow file"):
        load_flow(tmp_path / "absent.yaml", features=FEATURES)
    path = tmp_path / "latin1.yaml"
    path.write_bytes("owner: Zoë".encode("latin-1"))
    with pytest.raises(FlowError, match="save the file as UTF-8"):
        load_flow(path, features=FEATURES)


def test_load_flow_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "flows" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(edit("top_n: 1", "top_n: 0"), encoding="utf-8")

    with pytest.raises(FlowError) as caught:
        load_flow(path, features=FEATURES)

    assert str(caught.value).startswith(f"{path} line 8: top_n: must be at least 1")


def test_two_files_with_one_flow_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(edit("version: 1", "version: 2"), encoding="utf-8")

    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path, features=FEATURES)

    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'b.yaml'} line 1: flow: flow id 'test' is already")
    assert str(tmp_path / "a.yaml") in message and "its own id" in message


def test_a_missing_folder_holds_no_flows(tmp_path: Path) -> None:
    assert load_flows(tmp_path / "none", features=FEATURES) == {}


# --- errors: settings ---------------------------------------------------------------------------


def test_an_unknown_setting_suggests_the_right_name() -> None:
    text = edit("description:", "descripton:")
    assert_error(
        failure(text),
        line=line_of(text, "descripton"),
        path="descripton",
        says=("unknown setting 'descripton'", "did you mean 'description'?"),
    )


def test_an_unknown_setting_inside_an_action_lists_the_settings_there() -> None:
    text = edit("    title: A discount", "    titel: A discount")
    assert_error(
        failure(text),
        line=line_of(text, "titel"),
        path="actions[0].titel",
        says=("did you mean 'title'?", "settings here: id, title, channel"),
    )


def test_an_unknown_setting_in_a_nested_mapping_is_found_too() -> None:
    text = edit("default_timezone:", "default_zone:")
    assert_error(
        failure(text),
        line=line_of(text, "default_zone"),
        path="contact_policy.quiet_hours.default_zone",
        says=("did you mean 'default_timezone'?",),
    )


def test_a_missing_required_setting_is_named_at_its_parent() -> None:
    text = edit("    title: A discount\n", "")
    assert_error(
        failure(text),
        line=line_of(text, "- id: discount"),
        path="actions[0].title",
        says=("required setting 'title' is missing", "add it"),
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "says"),
    [
        ("top_n: 1", "top_n: two", "top_n", "expected a whole number, got 'two'"),
        ("top_n: 1", "top_n: true", "top_n", "expected a whole number, got True"),
        ("version: 1", 'version: "1"', "version", "expected a whole number, got '1'"),
        ("levers: {budget: 1.0}", "levers: {budget: high}", "levers.budget", "expected a number"),
        ("channels: [email, web]", "channels: email", "channels", "expected a list"),
        ("value: 150", "value: [1]", "actions[0].value", "expected a number or an expression"),
        ("value: 150", "value: -5", "actions[0].value", "finite number of 0 or more"),
        ("    message: Stay with us.", "    message: 3", "actions[0].message", "expected text"),
    ],
)
def test_a_wrong_type_says_what_is_expected(old: str, new: str, path: str, says: str) -> None:
    text = edit(old, new)
    assert_error(failure(text), line=line_of(text, new.strip()), path=path, says=(says,))


def test_top_n_below_one_is_refused() -> None:
    text = edit("top_n: 1", "top_n: 0")
    assert_error(
        failure(text), line=line_of(text, "top_n"), path="top_n", says=("must be at least 1",)
    )


def test_a_bad_flow_id_says_which_characters_are_allowed() -> None:
    text = edit("flow: test", "flow: My Flow")
    assert_error(
        failure(text),
        line=1,
        path="flow",
        says=("'My Flow' is not a valid name", "lowercase letters, digits, _ and -"),
    )


def test_a_bad_literal_lists_the_choices() -> None:
    text = MINIMAL + "unknown_customer: anonymus\n"
    assert_error(
        failure(text),
        line=line_of(text, "unknown_customer"),
        path="unknown_customer",
        says=("did you mean 'anonymous'?", "use not_found or anonymous"),
    )


def test_duplicate_action_ids_name_both_entries() -> None:
    text = edit("  - id: newsletter", "  - id: discount")
    assert_error(
        failure(text),
        line=line_of(text, "- id: discount", occurrence=2),
        path="actions[1].id",
        says=("already used by actions[0]", "its own id"),
    )


def test_an_unknown_channel_suggests_the_closest() -> None:
    text = edit("channels: [email, web]", "channels: [email, webb]")
    assert_error(
        failure(text),
        line=line_of(text, "channels:"),
        path="channels[1]",
        says=("unknown channel 'webb'", "did you mean 'web'?", "email, sms, push, web, phone"),
    )


def test_an_action_channel_must_be_known_and_served_by_the_flow() -> None:
    text = edit("    channel: email", "    channel: mail")
    assert_error(
        failure(text),
        line=line_of(text, "channel: mail"),
        path="actions[0].channel",
        says=("did you mean 'email'?", "or any for the request's channel"),
    )
    text = edit("    channel: email", "    channel: sms")
    assert_error(
        failure(text),
        line=line_of(text, "channel: sms"),
        path="actions[0].channel",
        says=("not one this flow serves (email, web)", "add it to channels:"),
    )


def test_an_unknown_lever_is_refused() -> None:
    text = edit("    levers: [budget]", "    levers: [speed]")
    assert_error(
        failure(text),
        line=line_of(text, "levers: [speed]"),
        path="actions[0].levers[0]",
        says=("unknown lever 'speed'; declare it under levers: (e.g. levers: {speed: 1.0})",),
    )
    text = edit("    levers: [budget]", "    levers: [budgt]")
    assert_error(
        failure(text),
        line=line_of(text, "levers: [budgt]"),
        path="actions[0].levers[0]",
        says=("unknown lever 'budgt'; did you mean 'budget'?",),
    )


def test_a_rule_naming_a_missing_feature_fails_at_that_rule() -> None:
    text = edit("features.tenure_days >= 90", "features.tenure >= 90")
    assert_error(
        failure(text),
        line=line_of(text, "eligibility:"),
        path="actions[0].eligibility",
        says=("unknown feature 'tenure'", "did you mean 'tenure_days'?"),
    )


def test_a_rule_with_a_syntax_error_fails_at_that_rule() -> None:
    text = edit("features.tenure_days >= 90", "features.tenure_days >=")
    assert_error(failure(text), line=line_of(text, "eligibility:"), path="actions[0].eligibility")


def test_an_unknown_model_alias_says_where_scores_come_from() -> None:
    text = edit("propensity: scores.churn", "propensity: scores.churn_risk")
    assert_error(
        failure(text),
        line=line_of(text, "propensity:"),
        path="actions[0].propensity",
        says=("unknown score 'churn_risk'", "did you mean 'churn'?", "declares: churn"),
    )


def test_action_fields_are_only_for_review_rules() -> None:
    text = edit("features.tenure_days >= 90", "action.value > 1")
    assert_error(
        failure(text),
        line=line_of(text, "eligibility:"),
        path="actions[0].eligibility",
        says=("unknown namespace 'action'",),
    )


def test_a_review_rule_naming_unknown_things_is_refused() -> None:
    text = edit('when: "action.value >= 100"', 'when: "action.cost >= 100"')
    assert_error(
        failure(text),
        line=line_of(text, "when:"),
        path="review.when",
        says=("unknown action field 'cost'",),
    )


def test_a_fallback_that_reads_features_or_scores_is_refused() -> None:
    text = edit(
        "    message: News.", "    message: News.\n    eligibility: \"features.plan == 'x'\""
    )
    assert_error(
        failure(text),
        line=line_of(text, "features.plan"),
        path="actions[1].eligibility",
        says=("newsletter is the fallback", "reads features.plan", "name another fallback"),
    )
    text = edit("    message: News.", "    message: News.\n    propensity: scores.churn")
    assert_error(
        failure(text),
        line=line_of(text, "propensity: scores.churn", 2),
        path=("actions[1].propensity"),
        says=("reads scores.churn",),
    )


def test_a_fallback_naming_no_action_suggests_one() -> None:
    text = edit("  action: newsletter", "  action: newsleter")
    assert_error(
        failure(text),
        line=line_of(text, "action: newsleter"),
        path="fallback.action",
        says=("did you mean 'newsletter'?",),
    )


def test_a_fallback_must_answer_on_every_channel() -> None:
    text = edit("    channel: any", "    channel: web")
    assert_error(
        failure(text),
        line=line_of(text, "channel: web"),
        path="actions[1].channel",
        says=("give it channel: any",),
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"25:00"', "bad time '25:00'; write a 24-hour clock time HH:MM"),
        ('"9pm"', "bad time '9pm'"),
        ("21:00", 'YAML read this time as the number 1260; put it in quotes, e.g. "21:00"'),
    ],
)
def test_a_bad_quiet_hours_time_is_refused(value: str, says: str) -> None:
    text = edit('start: "21:00"', f"start: {value}")
    assert_error(
        failure(text),
        line=line_of(text, "quiet_hours"),
        path="contact_policy.quiet_hours.start",
        says=(says,),
    )


def test_a_bad_time_zone_suggests_the_closest() -> None:
    text = edit("Europe/London", "Europe/Londn")
    assert_error(
        failure(text),
        line=line_of(text, "quiet_hours"),
        path="contact_policy.quiet_hours.default_timezone",
        says=("unknown time zone 'Europe/Londn'", "did you mean 'Europe/London'?", "IANA"),
    )


def test_a_message_too_long_for_its_channel_is_refused() -> None:
    text = edit("contact_policy:\n", "contact_policy:\n  channel_limits: {email: 5}\n")
    assert_error(
        failure(text),
        line=line_of(text, "message: Stay"),
        path="actions[0].message",
        says=("has 13 characters, more than the 5", "shorten it"),
    )


def test_a_high_stakes_action_needs_a_review_section() -> None:
    text = edit('review:\n  when: "action.value >= 100"\n', "")
    text = edit("    reason: At risk.", "    reason: At risk.\n    high_stakes: true", text)
    assert_error(
        failure(text),
        line=line_of(text, "high_stakes"),
        path="actions[0].high_stakes",
        says=("add one (e.g. review: {deadline_hours: 24})",),
    )


def test_confidence_below_review_needs_a_review_section() -> None:
    text = edit('review:\n  when: "action.value >= 100"\n', "")
    text += "confidence: {score: scores.churn, min: 0.6, below: review}\n"
    assert_error(
        failure(text), line=line_of(text, "confidence"), path="confidence.below", says=("review:",)
    )


def test_caps_and_conflicts_must_name_what_exists() -> None:
    text = edit(
        "contact_policy:\n", "contact_policy:\n  caps: [{action: discont, max: 1, per_days: 7}]\n"
    )
    assert_error(
        failure(text),
        line=line_of(text, "caps:"),
        path="contact_policy.caps[0].action",
        says=("did you mean 'discount'?",),
    )
    conflict = (
        "contact_policy:\n  conflicts:\n"
        '    - {tags: [ofer], while: "history.open_complaints > 0", reason: Complaint.}\n'
    )
    text = edit("contact_policy:\n", conflict)
    assert_error(
        failure(text),
        line=line_of(text, "tags: [ofer]"),
        path="contact_policy.conflicts[0].tags[0]",
        says=("no action has the tag 'ofer'", "did you mean 'offer'?"),
    )


# --- robustness ---------------------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_gives_a_flow_or_a_flow_error(text: str) -> None:
    try:
        parse(text)
    except FlowError as error:
        assert str(error).startswith(ORIGIN)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [(*prefix, k), *_paths(v, (*prefix, k))]]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in [(*prefix, i), *_paths(v, (*prefix, i))]]
    return []


_BASE = yaml.safe_load(MINIMAL)
_PATHS = _paths(_BASE)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_PATHS), _SCALARS)
def test_any_setting_replaced_by_any_value_gives_a_flow_or_a_flow_error(
    path: tuple[Any, ...], value: Any
) -> None:
    data = json.loads(json.dumps(_BASE))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    try:
        parse(text)
    except FlowError as error:
        assert isinstance(error, InvalidInput)
        assert error.line is None or error.line >= 1
        assert str(error).startswith(ORIGIN)
