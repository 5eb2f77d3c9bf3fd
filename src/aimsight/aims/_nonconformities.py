"""Nonconformities and corrective actions (ISO/IEC 42001 10.2).

A nonconformity records where it came from (an audit finding, a failed check, an incident...),
its root cause, the corrective actions with owners and due dates, and checks of whether they
worked. It can be closed only once its root cause is known and the latest effectiveness check
found the actions effective.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aimsight.aims._fields import choice, day, now_text, optional_text, today
from aimsight.aims._fields import text as checked_text
from aimsight.aims._record_types import CorrectiveAction, EffectivenessCheck, Nonconformity
from aimsight.aims._recording import RecordsBase, Unit, get_row, require_system
from aimsight.aims._tables import CorrectiveActionRow, EffectivenessCheckRow, NonconformityRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id

__all__ = ["NONCONFORMITY_SOURCES", "NonconformityRecords", "nonconformity_of"]

NONCONFORMITY_SOURCES = (
    "audit_finding",
    "check_failure",
    "incident",
    "concern",
    "management_review",
    "other",
)


class NonconformityRecords(RecordsBase):
    """Raise, act on, check and close nonconformities."""

    def raise_nonconformity(
        self,
        description: str,
        *,
        actor: str,
        source: str,
        source_ref: str | None = None,
        system_id: str | None = None,
        root_cause: str = "",
    ) -> Nonconformity:
        """Record a nonconformity.

        Args:
            source: audit_finding, check_failure, incident, concern, management_review or
                other ("audit finding" is read as audit_finding).
            source_ref: the id of what it came from (a finding, check, incident...).

        Raises:
            InvalidInput: a blank description or an unknown source.
            NotFound: ``system_id`` names no AI system.
        """
        with self._unit(actor) as unit:
            row = self._raise_row(
                unit,
                description=description,
                source=source,
                source_ref=source_ref,
                system_id=system_id,
                root_cause=root_cause,
            )
            return nonconformity_of(unit.session, row)

    def _raise_row(
        self,
        unit: Unit,
        *,
        description: str,
        source: str,
        source_ref: str | None,
        system_id: str | None,
        root_cause: str,
    ) -> NonconformityRow:
        what = checked_text("description", description, limit=20_000)
        origin = choice("source", source, NONCONFORMITY_SOURCES)
        reference = optional_text("source_ref", source_ref, limit=100)
        cause = checked_text("root_cause", root_cause, required=False)
        require_system(unit.session, system_id)
        row = unit.add(
            NonconformityRow(
                nc_id=new_id("ncr"),
                description=what,
                source=origin,
                source_ref=reference,
                system_id=system_id,
                root_cause=cause,
                status="open",
                raised_at=now_text(),
                raised_by=unit.actor,
                closed_at=None,
                closed_by=None,
            )
        )
        unit.record(
            "aims.nonconformity.raised",
            row.nc_id,
            {
                "nc_id": row.nc_id,
                "source": origin,
                "source_ref": reference,
                "system_id": system_id,
            },
            {"description": what, **({"root_cause": cause} if cause else {})},
        )
        return row

    def set_root_cause(self, nc_id: str, root_cause: str, *, actor: str) -> Nonconformity:
        """Record (or correct) the root cause of an open nonconformity.

        Raises:
            NotFound: no nonconformity has this id.
            InvalidInput: the root cause is blank.
            Conflict: it is closed.
        """
        cause = checked_text("root_cause", root_cause, limit=20_000)
        with self._unit(actor) as unit:
            row = _open_row(unit.session, nc_id)
            unit.update(row, root_cause=cause)
            unit.record(
                "aims.nonconformity.root_cause_set",
                nc_id,
                {"nc_id": nc_id},
                {"root_cause": cause},
            )
            return nonconformity_of(unit.session, row)

    def add_corrective_action(
        self, nc_id: str, *, actor: str, action: str, owner: str, due: object
    ) -> CorrectiveAction:
        """Add a corrective action to an open nonconformity.

        Raises:
            NotFound: no nonconformity has this id.
            InvalidInput: a blank action or owner, or a malformed due date.
            Conflict: the nonconformity is closed.
        """
        what = checked_text("action", action, limit=20_000)
        who = checked_text("owner", owner, limit=200)
        by = day("due", due)
        with self._unit(actor) as unit:
            _open_row(unit.session, nc_id)
            row = unit.add(
                CorrectiveActionRow(
                    action_id=new_id("cax"),
                    nc_id=nc_id,
                    action=what,
                    owner=who,
                    due=by,
                    status="open",
                    done_at=None,
                    created_at=now_text(),
                    created_by=unit.actor,
                )
            )
            unit.record(
                "aims.corrective_action.added",
                row.action_id,
                {"action_id": row.action_id, "nc_id": nc_id, "due": by},
                {"action": what, "owner": who},
            )
        return _action_of(row)

    def complete_corrective_action(self, action_id: str, *, actor: str) -> CorrectiveAction:
        """Mark a corrective action done.

        Raises:
            NotFound: no corrective action has this id.
            Conflict: it is done already.
        """
        with self._unit(actor) as unit:
            row = get_row(unit.session, CorrectiveActionRow, action_id, "corrective action", "id")
            if row.status == "done":
                raise Conflict(f"corrective action {action_id} was done already on {row.done_at}")
            unit.update(row, status="done", done_at=now_text())
            unit.record(
                "aims.corrective_action.completed",
                action_id,
                {"action_id": action_id, "nc_id": row.nc_id},
            )
        return _action_of(row)

    def record_effectiveness_check(
        self,
        nc_id: str,
        *,
        actor: str,
        effective: bool,
        result: str,
        checked_by: str,
        checked_on: object = None,
    ) -> EffectivenessCheck:
        """Record whether the corrective actions of a nonconformity worked.

        Raises:
            NotFound: no nonconformity has this id.
            InvalidInput: ``effective`` is not a bool, or a blank result or checker.
            Conflict: the nonconformity is closed.
        """
        if not isinstance(effective, bool):
            raise InvalidInput("effective must be true or false", field="effective")
        finding = checked_text("result", result, limit=20_000)
        who = checked_text("checked_by", checked_by, limit=200)
        on = day("checked_on", checked_on if checked_on is not None else today())
        with self._unit(actor) as unit:
            _open_row(unit.session, nc_id)
            row = unit.add(
                EffectivenessCheckRow(
                    nc_id=nc_id,
                    checked_on=on,
                    effective=effective,
                    result=finding,
                    checked_by=who,
                    recorded_at=now_text(),
                )
            )
            unit.record(
                "aims.nonconformity.effectiveness_checked",
                nc_id,
                {"nc_id": nc_id, "checked_on": on, "effective": effective},
                {"result": finding, "checked_by": who},
            )
        return _check_of(row)

    def close_nonconformity(self, nc_id: str, *, actor: str) -> Nonconformity:
        """Close a nonconformity whose actions were found effective.

        Raises:
            NotFound: no nonconformity has this id.
            Conflict: it is closed already, has no root cause, has open corrective actions,
                or its latest effectiveness check is missing or found them not effective.
        """
        with self._unit(actor) as unit:
            row = _open_row(unit.session, nc_id)
            if not row.root_cause:
                raise Conflict(
                    f"nonconformity {nc_id} has no root cause; record it before closing "
                    "(ISO/IEC 42001 10.2)"
                )
            open_actions = [
                a.action_id for a in _actions(unit.session, nc_id) if a.status != "done"
            ]
            if open_actions:
                raise Conflict(
                    f"nonconformity {nc_id} has open corrective actions "
                    f"({', '.join(open_actions)}); complete them before closing"
                )
            checks = _checks(unit.session, nc_id)
            if not checks or not checks[-1].effective:
                state = "none was recorded" if not checks else "the latest found them not effective"
                raise Conflict(
                    f"nonconformity {nc_id} needs an effectiveness check that found its "
                    f"corrective actions effective before it can be closed; {state}"
                )
            unit.update(row, status="closed", closed_at=now_text(), closed_by=unit.actor)
            unit.record(
                "aims.nonconformity.closed",
                nc_id,
                {"nc_id": nc_id, "effectiveness_checked_on": checks[-1].checked_on},
            )
            return nonconformity_of(unit.session, row)

    def nonconformities(self, status: str | None = None) -> list[Nonconformity]:
        """Every nonconformity (``open`` or ``closed`` when given), oldest first."""
        query = select(NonconformityRow).order_by(
            NonconformityRow.raised_at, NonconformityRow.nc_id
        )
        if status is not None:
            query = query.where(
                NonconformityRow.status == choice("status", status, ("open", "closed"))
            )
        with self._store.session() as session:
            return [nonconformity_of(session, row) for row in session.scalars(query).all()]

    def nonconformity(self, nc_id: str) -> Nonconformity:
        """One nonconformity with its actions and checks.

        Raises:
            NotFound: no nonconformity has this id.
        """
        with self._store.session() as session:
            row = get_row(session, NonconformityRow, nc_id, "nonconformity", "nc_id")
            return nonconformity_of(session, row)


def _open_row(session: Session, nc_id: str) -> NonconformityRow:
    row = get_row(session, NonconformityRow, nc_id, "nonconformity", "nc_id")
    if row.status == "closed":
        raise Conflict(
            f"nonconformity {nc_id} was closed on {row.closed_at}; raise a new one if the "
            "problem came back"
        )
    return row


def _actions(session: Session, nc_id: str) -> list[CorrectiveActionRow]:
    return list(
        session.scalars(
            select(CorrectiveActionRow)
            .where(CorrectiveActionRow.nc_id == nc_id)
            .order_by(CorrectiveActionRow.created_at, CorrectiveActionRow.action_id)
        )
    )


def _checks(session: Session, nc_id: str) -> list[EffectivenessCheckRow]:
    return list(
        session.scalars(
            select(EffectivenessCheckRow)
            .where(EffectivenessCheckRow.nc_id == nc_id)
            .order_by(EffectivenessCheckRow.id)
        )
    )


def _action_of(row: CorrectiveActionRow) -> CorrectiveAction:
    return CorrectiveAction(
        action_id=row.action_id,
        nc_id=row.nc_id,
        action=row.action,
        owner=row.owner,
        due=row.due,
        status=row.status,
        done_at=row.done_at,
        created_at=row.created_at,
    )


def _check_of(row: EffectivenessCheckRow) -> EffectivenessCheck:
    return EffectivenessCheck(
        nc_id=row.nc_id,
        checked_on=row.checked_on,
        effective=row.effective,
        result=row.result,
        checked_by=row.checked_by,
        recorded_at=row.recorded_at,
    )


def nonconformity_of(session: Session, row: NonconformityRow) -> Nonconformity:
    return Nonconformity(
        nc_id=row.nc_id,
        description=row.description,
        source=row.source,
        source_ref=row.source_ref,
        system_id=row.system_id,
        root_cause=row.root_cause,
        status=row.status,
        actions=tuple(_action_of(a) for a in _actions(session, row.nc_id)),
        effectiveness_checks=tuple(_check_of(c) for c in _checks(session, row.nc_id)),
        raised_at=row.raised_at,
        raised_by=row.raised_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )
