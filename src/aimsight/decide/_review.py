"""The human review queue: high-stakes decisions wait here for a reviewer's verdict.

A reviewer approves the proposed action, overrides it with another action of the flow, or
rejects it (nothing is done); each verdict names the reviewer and a reason and is on the
ledger with the decision it settles. A review past its deadline expires: nothing is done and
the expiry is recorded, so a forgotten review never turns into an unreviewed action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict, InvalidInput, NotFound
from aimsight.decide._results import Review
from aimsight.decide._tables import ContactRow, DecisionRow, ReviewRow
from aimsight.store import Ledger, LedgerEntry, Store

__all__ = ["VERDICTS", "ReviewQueue"]

VERDICTS = ("approve", "override", "reject")
_STATUS = {"approve": "approved", "override": "overridden", "reject": "rejected"}


class ReviewQueue:
    """Lists pending reviews and records verdicts and expiries."""

    def __init__(self, store: Store, ledger: Ledger) -> None:
        self._store = store
        self._ledger = ledger

    def list(
        self, *, status: str | None = "pending", flow: str | None = None, limit: int = 100
    ) -> list[Review]:
        """Reviews, oldest deadline first; overdue pending ones are expired first."""
        self.expire_overdue(actor="system:review-deadline")
        query = select(ReviewRow).order_by(ReviewRow.deadline, ReviewRow.review_id).limit(limit)
        if status is not None:
            query = query.where(ReviewRow.status == status)
        if flow is not None:
            query = query.where(ReviewRow.flow_id == flow)
        with self._store.session() as session:
            return [_review(row) for row in session.scalars(query).all()]

    def get(self, review_id: str) -> Review:
        """One review.

        Raises:
            NotFound: no such review.
        """
        with self._store.session() as session:
            row = session.get(ReviewRow, review_id)
            if row is None:
                raise NotFound(
                    f"no review {review_id!r}; list pending ones with `aimsight reviews list`"
                )
            return _review(row)

    def decide(
        self,
        review_id: str,
        verdict: str,
        *,
        reviewer: str,
        reason: str,
        action: str | None = None,
        valid_actions: Callable[[str], frozenset[str]],
    ) -> Review:
        """Record ``reviewer``'s verdict on a pending review.

        Raises:
            InvalidInput: unknown verdict, no reason, an override without an action of the
                flow, or an action given with approve/reject.
            NotFound: no such review.
            Conflict: the review is no longer pending (decided or expired).
        """
        if verdict not in VERDICTS:
            raise InvalidInput(
                f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}", field="verdict"
            )
        if not reason or not reason.strip():
            raise InvalidInput("say why: a verdict needs a reason", field="reason")
        if len(reason) > 2000:
            raise InvalidInput("the reason must be at most 2,000 characters", field="reason")
        self.expire_overdue(actor="system:review-deadline")
        current = self.get(review_id)
        if current.status != "pending":
            raise Conflict(
                f"review {review_id} is {current.status}, not pending; only a pending review "
                "takes a verdict"
            )
        if verdict == "override":
            allowed = valid_actions(current.flow)
            if not action or action not in allowed:
                raise InvalidInput(
                    f"an override names the action to take instead: one of "
                    f"{', '.join(sorted(allowed))}",
                    field="action",
                )
        elif action is not None:
            raise InvalidInput(
                f"only an override names an action; {verdict} takes none", field="action"
            )
        at = isoformat_utc(now_utc())
        final = {"approve": current.proposed_action, "override": action, "reject": None}[verdict]
        status = _STATUS[verdict]

        def write(connection: Connection, _entry: LedgerEntry) -> None:
            changed = connection.execute(
                update(ReviewRow)
                .where(ReviewRow.review_id == review_id, ReviewRow.status == "pending")
                .values(
                    status=status,
                    reviewer=reviewer,
                    verdict_reason=reason,
                    final_action=final,
                    decided_at=at,
                )
            ).rowcount
            if not changed:
                raise Conflict(
                    f"review {review_id} is no longer pending; it was decided or expired meanwhile"
                )
            connection.execute(
                update(DecisionRow)
                .where(DecisionRow.decision_id == current.decision_id)
                .values(status=status, action_id=final, updated_at=at)
            )
            if final is not None:
                connection.execute(
                    insert(ContactRow).values(
                        customer_id=current.customer_id,
                        flow_id=current.flow,
                        action_id=final,
                        channel=current.channel,
                        decision_id=current.decision_id,
                        at=at,
                    )
                )

        self._ledger.append(
            "decision.reviewed",
            actor=reviewer,
            subject=current.customer_id,
            payload={
                "review_id": review_id,
                "decision_id": current.decision_id,
                "flow": current.flow,
                "verdict": verdict,
                "proposed_action": current.proposed_action,
                "final_action": final,
                "reviewer": reviewer,
            },
            personal={"reason": reason},
            alongside=write,
        )
        return self.get(review_id)

    def expire_overdue(self, *, actor: str, now: datetime | None = None) -> int:
        """Expire every pending review past its deadline; returns how many."""
        at = isoformat_utc(now or now_utc())
        with self._store.session() as session:
            overdue = session.execute(
                select(
                    ReviewRow.review_id,
                    ReviewRow.decision_id,
                    ReviewRow.customer_id,
                    ReviewRow.flow_id,
                ).where(ReviewRow.status == "pending", ReviewRow.deadline < at)
            ).all()
        for row in overdue:

            def write(connection: Connection, _entry: LedgerEntry, row: object = row) -> None:
                review_id = row.review_id  # type: ignore[attr-defined]
                decision_id = row.decision_id  # type: ignore[attr-defined]
                connection.execute(
                    update(ReviewRow)
                    .where(ReviewRow.review_id == review_id, ReviewRow.status == "pending")
                    .values(status="expired", decided_at=at)
                )
                connection.execute(
                    update(DecisionRow)
                    .where(DecisionRow.decision_id == decision_id)
                    .values(status="expired", action_id=None, updated_at=at)
                )

            self._ledger.append(
                "decision.review_expired",
                actor=actor,
                subject=row.customer_id,
                payload={
                    "review_id": row.review_id,
                    "decision_id": row.decision_id,
                    "flow": row.flow_id,
                    "at": at,
                },
                alongside=write,
            )
        return len(overdue)


def _review(row: ReviewRow) -> Review:
    return Review(
        review_id=row.review_id,
        decision_id=row.decision_id,
        flow=row.flow_id,
        customer_id=row.customer_id,
        channel=row.channel,
        proposed_action=row.proposed_action,
        why=row.why,
        status=row.status,
        deadline=row.deadline,
        created_at=row.created_at,
        reviewer=row.reviewer,
        verdict_reason=row.verdict_reason,
        final_action=row.final_action,
        decided_at=row.decided_at,
    )
