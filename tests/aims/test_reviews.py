"""Management reviews: the record with its inputs and pack digest, and its actions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import Conflict, InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store

INPUTS = {"checks": {"pass": 9, "fail": 2}, "open_nonconformities": 1, "incidents": []}


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_a_review_records_its_pack_digest_and_its_actions(
    records: AimsRecords, workspace: Workspace, ledger: Ledger
) -> None:
    pack = workspace.root / "reports" / "review-2026.pdf"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(b"%PDF-1.7 review pack")
    review = records.record_management_review(
        actor="cli:gina",
        held_on="2026-11-30",
        attendees=["Gina (governance)", "Dan (data)", "CEO"],
        inputs=INPUTS,
        pack_path=pack,
    )
    assert review.pack_path == "reports/review-2026.pdf"  # relative to the workspace
    assert review.pack_sha256 == hashlib.sha256(b"%PDF-1.7 review pack").hexdigest()
    assert review.inputs == INPUTS
    action = records.add_review_action(
        review.review_id,
        actor="cli:gina",
        decision="Add a drift monitor to the upsell model",
        owner="data_engineer",
        due="2027-01-31",
    )
    [stored] = records.management_reviews()
    assert stored.actions == (action,)
    assert records.review_actions(status="open") == [action]
    closed = records.close_review_action(
        action.action_id, actor="cli:dan", outcome="Monitor live since 2027-01-20"
    )
    assert (closed.status, closed.closed_by) == ("closed", "cli:dan")
    assert records.review_actions(status="open") == []
    with pytest.raises(Conflict):
        records.close_review_action(action.action_id, actor="cli:dan", outcome="again")
    entry = ledger.entries(subject=review.review_id, include_personal=True)[0]
    assert entry.payload["pack_sha256"] == review.pack_sha256
    assert entry.personal == {"attendees": ["Gina (governance)", "Dan (data)", "CEO"]}


def test_a_pack_that_changed_since_its_digest_is_refused(
    records: AimsRecords, tmp_path: Path
) -> None:
    pack = tmp_path / "outside.html"
    pack.write_text("<html>pack</html>", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        records.record_management_review(
            actor="g",
            held_on="2026-11-30",
            attendees=["g"],
            inputs={},
            pack_path=pack,
            pack_sha256="0" * 64,
        )
    assert raised.value.field == "pack_sha256"
    with pytest.raises(InvalidInput) as raised:
        records.record_management_review(
            actor="g", held_on="2026-11-30", attendees=["g"], inputs={}, pack_path="missing.pdf"
        )
    assert raised.value.field == "pack_path"
    outside = records.record_management_review(
        actor="g", held_on="2026-11-30", attendees=["g"], inputs={}, pack_path=pack
    )
    assert outside.pack_path == str(pack)  # outside the workspace: kept absolute


@pytest.mark.parametrize(
    ("attendees", "inputs", "field"),
    [([], {}, "attendees"), (["g"], {"score": float("nan")}, "inputs"), (["g"], [1], "inputs")],
)
def test_malformed_reviews_are_refused(
    records: AimsRecords, attendees: list[str], inputs: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.record_management_review(
            actor="g",
            held_on="2026-11-30",
            attendees=attendees,
            inputs=inputs,  # type: ignore[arg-type]
        )
    assert raised.value.field == field
    with pytest.raises(NotFound):
        records.add_review_action("mrv_nope", actor="g", decision="d", owner="o", due="2027-01-01")
