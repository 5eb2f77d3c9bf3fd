"""The Statement of Applicability: every Annex A control exactly once, decisions validated, the
latest automated evidence beside each control."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.aims._catalogue import shipped_catalogue
from aimsight.aims._model import CheckStatus, ControlCheckResult, Evidence
from aimsight.aims._soa import (
    CHECK_STATES,
    SOA_IMPLEMENTATION_STATUSES,
    SoaEntry,
    build_soa,
    validate_entry,
)
from aimsight.core import set_clock
from aimsight.core.errors import InvalidInput

CATALOGUE = shipped_catalogue()
CONTROL_IDS = [control.id for control in CATALOGUE.controls()]


def result(
    check_id: str,
    status: CheckStatus,
    controls: tuple[str, ...] = (),
    *,
    at: str = "2025-03-01T10:00:00.000000Z",
    summary: str = "",
) -> ControlCheckResult:
    return ControlCheckResult(
        check_id=check_id,
        controls=controls,
        title=check_id.replace("_", " "),
        status=status,
        summary=summary or f"{check_id} is {status.value}",
        evidence=(Evidence("record", check_id),),
        checked_at=at,
    )


def test_no_decisions_still_lists_all_38_controls_as_not_yet_decided() -> None:
    soa = build_soa(CATALOGUE, [], [])
    assert [row.control_id for row in soa.rows] == CONTROL_IDS
    assert len(soa.rows) == 38
    assert {row.decision for row in soa.rows} == {"not yet decided"}
    assert soa.summary.undecided == 38
    assert soa.summary.controls == 38
    assert soa.catalogue_version == CATALOGUE.version
    assert soa.standard == "ISO/IEC 42001:2023"


def test_a_decision_shows_on_its_control_with_the_catalogue_facts() -> None:
    entry = SoaEntry(
        control_id="A.6.2.8",
        applicable=True,
        justification="Every decision is written to the ledger",
        status="implemented",
        owner="ops-lead",
        evidence=["ledger:head", "https://wiki.example/logging"],
        updated_at="2025-02-01T09:00:00.000000Z",
        updated_by="ann",
    )
    row = build_soa(CATALOGUE, [entry], []).row("A.6.2.8")
    assert row.decision == "applicable"
    assert row.title == "Event logs of AI systems kept"
    assert (row.group, row.group_title) == ("A.6", "AI system life cycle")
    assert row.implementation_status == "implemented"
    assert row.owner == "ops-lead"
    assert row.evidence == ("ledger:head", "https://wiki.example/logging")
    assert (row.updated_at, row.updated_by) == ("2025-02-01T09:00:00.000000Z", "ann")


def test_an_exclusion_needs_a_justification_naming_the_control() -> None:
    entry = SoaEntry("A.10.4", applicable=False, justification="  ", status="not_applicable")
    with pytest.raises(InvalidInput, match="A.10.4.*needs a justification") as caught:
        build_soa(CATALOGUE, [entry], [])
    assert caught.value.field == "justification"
    justified = SoaEntry(
        "A.10.4", applicable=False, justification="We sell to no one", status="not_applicable"
    )
    soa = build_soa(CATALOGUE, [justified], [])
    assert soa.row("A.10.4").decision == "not applicable"
    assert soa.summary.not_applicable == 1


def test_an_entry_for_an_unknown_control_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="'A.6.2.9' is not an Annex A control") as caught:
        build_soa(CATALOGUE, [SoaEntry("A.6.2.9", applicable=True)], [])
    assert caught.value.field == "control_id"


def test_two_decisions_for_one_control_are_refused() -> None:
    entries = [SoaEntry("A.2.2", applicable=True), SoaEntry("A.2.2", applicable=True)]
    with pytest.raises(InvalidInput, match="A.2.2: two decisions"):
        build_soa(CATALOGUE, entries, [])


@pytest.mark.parametrize(
    ("applicable", "status", "message"),
    [
        (True, "done", "not an implementation status"),
        (True, "not_applicable", "only for excluded controls"),
        (None, "not_applicable", "only for excluded controls"),
        (False, "implemented", "has status not_applicable, not implemented"),
    ],
)
def test_status_must_fit_the_decision(applicable: bool | None, status: str, message: str) -> None:
    entry = SoaEntry("A.7.4", applicable=applicable, justification="why", status=status)
    with pytest.raises(InvalidInput, match=f"A.7.4: .*{message}") as caught:
        validate_entry(entry, CATALOGUE)
    assert caught.value.field == "status"


def test_the_worst_latest_check_result_stands_beside_each_control() -> None:
    checks = [
        result("ledger_integrity", CheckStatus.FAIL, ("A.6.2.8",), summary="entry 12 altered"),
        result("human_oversight", CheckStatus.PASS, ("A.9.2", "A.9.3", "A.9.4")),
        # a second check on A.9.3 that warns: the control shows the worse of the two
        result("stop_switch_tested", CheckStatus.WARN, ("A.9.3",), summary="last test 200d ago"),
        result("models_monitored", CheckStatus.NOT_YET_AVAILABLE, ("A.6.2.6",)),
        # pass and not-yet-available together: the judged result counts
        result("extra_cards", CheckStatus.NOT_YET_AVAILABLE, ("A.6.2.7",)),
        result("model_cards_complete", CheckStatus.PASS, ("A.6.2.7", "A.8.2")),
    ]
    soa = build_soa(CATALOGUE, [], checks)
    assert soa.row("A.6.2.8").check_status == "fail"
    assert soa.row("A.6.2.8").check_summary == "entry 12 altered"
    assert soa.row("A.9.2").check_status == "pass"
    assert soa.row("A.9.3").check_status == "warn"
    assert soa.row("A.9.3").check_summary == "last test 200d ago"
    assert soa.row("A.9.3").check_ids == ("human_oversight", "stop_switch_tested")
    assert soa.row("A.6.2.6").check_status == "not_yet_available"
    assert soa.row("A.6.2.7").check_status == "pass"
    assert soa.row("A.6.2.7").check_label == "pass"
    # mapped in the catalogue but never run, and nothing mapped at all
    assert soa.row("A.7.4").check_status == "not_run"
    assert soa.row("A.7.4").check_label == "not run yet"
    assert soa.row("A.2.2").check_status == "no_check"
    assert soa.row("A.2.2").check_label == "no automated check"
    assert soa.row("A.2.2").check_ids == ()


def test_a_result_counts_for_the_controls_the_catalogue_maps_it_to() -> None:
    # the check names no controls itself; the catalogue maps ledger_integrity to A.6.2.8
    soa = build_soa(CATALOGUE, [], [result("ledger_integrity", CheckStatus.PASS)])
    assert soa.row("A.6.2.8").check_status == "pass"


def test_only_the_newest_run_of_a_check_counts() -> None:
    checks = [
        result("ingest_quality", CheckStatus.PASS, ("A.7.4",), at="2025-03-02T00:00:00.000000Z"),
        result("ingest_quality", CheckStatus.FAIL, ("A.7.4",), at="2025-03-01T00:00:00.000000Z"),
    ]
    row = build_soa(CATALOGUE, [], checks).row("A.7.4")
    assert row.check_status == "pass"
    assert row.checked_at == "2025-03-02T00:00:00.000000Z"


def test_generated_at_comes_from_the_clock_and_the_statement_is_json_ready() -> None:
    set_clock(lambda: datetime(2025, 4, 1, 12, 0, tzinfo=UTC))
    soa = build_soa(CATALOGUE, [SoaEntry("A.2.2", True, "policy v3", "partial")], [])
    assert soa.generated_at == "2025-04-01T12:00:00.000000Z"
    data = json.loads(json.dumps(soa.to_dict()))
    assert data["catalogue_version"] == CATALOGUE.version
    assert len(data["rows"]) == 38
    assert data["rows"][0]["decision"] == "applicable"
    assert data["summary"]["implementation"]["partial"] == 1
    with pytest.raises(InvalidInput, match="A.1.1"):
        soa.row("A.1.1")


def test_an_entry_is_json_ready() -> None:
    entry = SoaEntry("A.3.2", True, "roles matrix", "planned", "hr", ["doc:roles"])
    assert json.loads(json.dumps(entry.to_dict()))["evidence"] == ["doc:roles"]


_decision = st.sampled_from(
    [
        (True, "not_started"),
        (True, "planned"),
        (True, "partial"),
        (True, "implemented"),
        (None, "not_started"),
        (False, "not_applicable"),
    ]
)
_checks = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3", "ledger_integrity"]),
        st.sampled_from(list(CheckStatus)),
        st.lists(st.sampled_from(CONTROL_IDS), max_size=3, unique=True),
        st.integers(min_value=0, max_value=5),
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    decided=st.dictionaries(st.sampled_from(CONTROL_IDS), _decision, max_size=38),
    raw_checks=_checks,
)
def test_any_decisions_give_exactly_one_row_per_control_and_consistent_counts(
    decided: dict[str, tuple[bool | None, str]],
    raw_checks: list[tuple[str, CheckStatus, list[str], int]],
) -> None:
    entries = [
        SoaEntry(cid, applicable, "because", status)
        for cid, (applicable, status) in decided.items()
    ]
    checks = [
        result(check, status, tuple(controls), at=f"2025-03-0{day + 1}T00:00:00.000000Z")
        for check, status, controls, day in raw_checks
    ]
    soa = build_soa(CATALOGUE, entries, checks)
    assert [row.control_id for row in soa.rows] == CONTROL_IDS
    summary = soa.summary
    assert summary.applicable + summary.not_applicable + summary.undecided == 38
    assert sum(summary.implementation.values()) == 38
    assert list(summary.implementation) == list(SOA_IMPLEMENTATION_STATUSES)
    assert sum(summary.checks.values()) == 38
    assert list(summary.checks) == list(CHECK_STATES)
    newest: dict[str, ControlCheckResult] = {}
    for check in sorted(checks, key=lambda r: r.checked_at):  # stable: later given wins ties
        newest[check.check_id] = check
    for row in soa.rows:
        expected = decided.get(row.control_id, (None, "not_started"))
        assert (row.applicable, row.implementation_status) == expected
        mapped = CATALOGUE.control(row.control_id).checks
        seen = {
            r.status.value
            for r in newest.values()
            if row.control_id in r.controls or r.check_id in mapped
        }
        ranked = [s for s in ("fail", "warn", "pass") if s in seen]
        if ranked:
            assert row.check_status == ranked[0]
        elif seen:
            assert row.check_status == "not_yet_available"
        else:
            assert row.check_status == ("not_run" if mapped else "no_check")
