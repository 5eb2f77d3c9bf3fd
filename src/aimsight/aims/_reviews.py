"""Management reviews (ISO/IEC 42001 9.3): the record of a review (who attended, the inputs it
saw, the pack file and its SHA-256) and its outputs as actions someone owns.

The pack itself is compiled elsewhere; this module records it and checks its digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aimsight.aims._fields import choice, day, from_json, json_sha256, now_text, texts, to_json
from aimsight.aims._fields import text as checked_text
from aimsight.aims._record_types import ManagementReview, ReviewAction
from aimsight.aims._recording import RecordsBase, get_row
from aimsight.aims._tables import ManagementReviewRow, ReviewActionRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id

__all__ = ["ReviewRecords"]

_SHA256_HEX = frozenset("0123456789abcdef")


class ReviewRecords(RecordsBase):
    """Record management reviews and follow their actions."""

    def record_management_review(
        self,
        *,
        actor: str,
        held_on: object,
        attendees: Sequence[str],
        inputs: Mapping[str, Any],
        pack_path: str | Path | None = None,
        pack_sha256: str | None = None,
    ) -> ManagementReview:
        """Record a management review.

        Args:
            inputs: a JSON-ready snapshot of what the review looked at (9.3.2).
            pack_path: the review pack file; relative paths are taken from the workspace root.
            pack_sha256: its SHA-256; computed from the file when left out. When both are
                given and the file exists, they must match.

        Raises:
            InvalidInput: no attendees, inputs not JSON-ready, a pack file that is missing
                (with no digest given) or does not match its digest.
        """
        on = day("held_on", held_on)
        people = texts("attendees", attendees, limit=200, required=True)
        if not isinstance(inputs, Mapping):
            raise InvalidInput("inputs must be a mapping of names to values", field="inputs")
        snapshot = dict(inputs)
        inputs_text = to_json("inputs", snapshot)
        path_text, digest = self._review_pack(pack_path, pack_sha256)
        with self._unit(actor) as unit:
            row = unit.add(
                ManagementReviewRow(
                    review_id=new_id("mrv"),
                    held_on=on,
                    attendees=to_json("attendees", people),
                    inputs=inputs_text,
                    pack_path=path_text,
                    pack_sha256=digest,
                    recorded_at=now_text(),
                    recorded_by=unit.actor,
                )
            )
            unit.record(
                "aims.management_review.recorded",
                row.review_id,
                {
                    "review_id": row.review_id,
                    "held_on": on,
                    "inputs_sha256": json_sha256(snapshot),
                    "pack_path": path_text,
                    "pack_sha256": digest,
                },
                {"attendees": people},
            )
            return _review_of(unit.session, row)

    def add_review_action(
        self, review_id: str, *, actor: str, decision: str, owner: str, due: object
    ) -> ReviewAction:
        """Record an output of a review: a decision or action, its owner and due date.

        Raises:
            NotFound: no review has this id.
            InvalidInput: a blank decision or owner, or a malformed date.
        """
        what = checked_text("decision", decision, limit=20_000)
        who = checked_text("owner", owner, limit=200)
        by = day("due", due)
        with self._unit(actor) as unit:
            get_row(unit.session, ManagementReviewRow, review_id, "management review", "id")
            row = unit.add(
                ReviewActionRow(
                    action_id=new_id("mra"),
                    review_id=review_id,
                    decision=what,
                    owner=who,
                    due=by,
                    status="open",
                    outcome="",
                    created_at=now_text(),
                    closed_at=None,
                    closed_by=None,
                )
            )
            unit.record(
                "aims.review_action.added",
                row.action_id,
                {"action_id": row.action_id, "review_id": review_id, "due": by},
                {"decision": what, "owner": who},
            )
        return _action_of(row)

    def close_review_action(self, action_id: str, *, actor: str, outcome: str) -> ReviewAction:
        """Close a review action with what came of it.

        Raises:
            NotFound: no review action has this id.
            InvalidInput: the outcome is blank.
            Conflict: it is closed already.
        """
        result = checked_text("outcome", outcome, limit=20_000)
        with self._unit(actor) as unit:
            row = get_row(unit.session, ReviewActionRow, action_id, "review action", "id")
            if row.status == "closed":
                raise Conflict(f"review action {action_id} was closed already on {row.closed_at}")
            unit.update(
                row, status="closed", outcome=result, closed_at=now_text(), closed_by=unit.actor
            )
            unit.record(
                "aims.review_action.closed",
                action_id,
                {"action_id": action_id, "review_id": row.review_id},
                {"outcome": result},
            )
        return _action_of(row)

    def management_reviews(self) -> list[ManagementReview]:
        """Every management review with its actions, oldest first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(ManagementReviewRow).order_by(
                    ManagementReviewRow.held_on, ManagementReviewRow.review_id
                )
            ).all()
            return [_review_of(session, row) for row in rows]

    def review_actions(self, status: str | None = None) -> list[ReviewAction]:
        """Every review action (``open`` or ``closed`` when given), by due date."""
        query = select(ReviewActionRow).order_by(ReviewActionRow.due, ReviewActionRow.action_id)
        if status is not None:
            query = query.where(
                ReviewActionRow.status == choice("status", status, ("open", "closed"))
            )
        with self._store.session() as session:
            return [_action_of(row) for row in session.scalars(query)]

    def _review_pack(
        self, pack_path: str | Path | None, pack_sha256: str | None
    ) -> tuple[str | None, str | None]:
        """The pack's stored path (relative to the workspace when inside it) and digest."""
        digest = None
        if pack_sha256 is not None:
            digest = checked_text("pack_sha256", pack_sha256, limit=64).lower()
            if len(digest) != 64 or not set(digest) <= _SHA256_HEX:
                raise InvalidInput(
                    "pack_sha256 must be 64 hexadecimal characters (a SHA-256)",
                    field="pack_sha256",
                )
        if pack_path is None:
            if digest is not None:
                raise InvalidInput(
                    "pack_sha256 was given without pack_path; name the pack file",
                    field="pack_path",
                )
            return None, None
        path = Path(pack_path)
        full = path if path.is_absolute() else self._workspace.root / path
        if full.is_file():
            actual = _file_sha256(full)
            if digest is not None and digest != actual:
                raise InvalidInput(
                    f"the pack file {path} has SHA-256 {actual}, not the pack_sha256 given; "
                    "it changed since the digest was taken",
                    field="pack_sha256",
                )
            digest = actual
        elif digest is None:
            raise InvalidInput(
                f"the pack file {full} does not exist; build the pack first or give its "
                "pack_sha256",
                field="pack_path",
            )
        try:
            stored = full.resolve().relative_to(self._workspace.root.resolve()).as_posix()
        except ValueError:
            stored = str(full)
        return stored, digest


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _action_of(row: ReviewActionRow) -> ReviewAction:
    return ReviewAction(
        action_id=row.action_id,
        review_id=row.review_id,
        decision=row.decision,
        owner=row.owner,
        due=row.due,
        status=row.status,
        outcome=row.outcome,
        created_at=row.created_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


def _review_of(session: Session, row: ManagementReviewRow) -> ManagementReview:
    actions = session.scalars(
        select(ReviewActionRow)
        .where(ReviewActionRow.review_id == row.review_id)
        .order_by(ReviewActionRow.created_at, ReviewActionRow.action_id)
    )
    return ManagementReview(
        review_id=row.review_id,
        held_on=row.held_on,
        attendees=tuple(from_json(row.attendees)),
        inputs=dict(from_json(row.inputs)),
        pack_path=row.pack_path,
        pack_sha256=row.pack_sha256,
        actions=tuple(_action_of(action) for action in actions),
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )
