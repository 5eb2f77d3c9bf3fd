"""AI incidents (A.8.4): severity, the response timeline and who was told what.

The response moves forward through detected, acknowledged, contained and resolved (a step may
be skipped, never repeated or reversed), each with its time; an incident's status is the
latest step it reached.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aimsight.aims._fields import choice, moment, now_text
from aimsight.aims._fields import text as checked_text
from aimsight.aims._record_types import Incident, IncidentCommunication, IncidentStep
from aimsight.aims._recording import RecordsBase, get_row, require_system
from aimsight.aims._tables import IncidentCommunicationRow, IncidentRow, IncidentStepRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id

__all__ = ["INCIDENT_SEVERITIES", "INCIDENT_STEPS", "IncidentRecords"]

INCIDENT_SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
"""sev1 is the worst (people harmed or a system out of control), sev4 the mildest."""

INCIDENT_STEPS = ("detected", "acknowledged", "contained", "resolved")


class IncidentRecords(RecordsBase):
    """Open incidents, record their response and communications, and read them."""

    def open_incident(
        self,
        title: str,
        *,
        actor: str,
        severity: str,
        system_id: str | None = None,
        description: str = "",
        detected_at: object = None,
    ) -> Incident:
        """Record an incident, detected at ``detected_at`` (default now).

        Raises:
            InvalidInput: a blank title, an unknown severity or a malformed time.
            NotFound: ``system_id`` names no AI system.
        """
        heading = checked_text("title", title, limit=500)
        level = choice("severity", severity, INCIDENT_SEVERITIES)
        details = checked_text("description", description, required=False)
        detected = moment("detected_at", detected_at)
        now = now_text()
        with self._unit(actor) as unit:
            require_system(unit.session, system_id)
            row = unit.add(
                IncidentRow(
                    incident_id=new_id("inc"),
                    title=heading,
                    severity=level,
                    system_id=system_id,
                    description=details,
                    status="detected",
                    created_at=now,
                    created_by=unit.actor,
                    updated_at=now,
                )
            )
            unit.add(
                IncidentStepRow(
                    incident_id=row.incident_id,
                    step="detected",
                    at=detected,
                    note="",
                    recorded_by=unit.actor,
                )
            )
            unit.record(
                "aims.incident.opened",
                row.incident_id,
                {
                    "incident_id": row.incident_id,
                    "severity": level,
                    "system_id": system_id,
                    "detected_at": detected,
                },
                {"title": heading, **({"description": details} if details else {})},
            )
            return _incident_of(unit.session, row)

    def record_incident_step(
        self, incident_id: str, step: str, *, actor: str, at: object = None, note: str = ""
    ) -> Incident:
        """Record that the response reached ``step`` (acknowledged, contained or resolved).

        Raises:
            NotFound: no incident has this id.
            InvalidInput: an unknown step, or a time before the previous step's.
            Conflict: the incident already reached this step or a later one.
        """
        wanted = choice("step", step, INCIDENT_STEPS)
        when = moment("at", at)
        remark = checked_text("note", note, required=False)
        with self._unit(actor) as unit:
            row = get_row(unit.session, IncidentRow, incident_id, "incident", "incident_id")
            steps = _steps(unit.session, incident_id)
            last = steps[-1]
            if INCIDENT_STEPS.index(wanted) <= INCIDENT_STEPS.index(last.step):
                later = INCIDENT_STEPS[INCIDENT_STEPS.index(last.step) + 1 :]
                raise Conflict(
                    f"incident {incident_id} is {last.step} already; record only a later step "
                    f"({', '.join(later) or 'none'})"
                )
            if when < last.at:
                raise InvalidInput(
                    f"{wanted} at {when} is before the incident was {last.step} ({last.at}); "
                    "give the time it happened",
                    field="at",
                )
            unit.add(
                IncidentStepRow(
                    incident_id=incident_id,
                    step=wanted,
                    at=when,
                    note=remark,
                    recorded_by=unit.actor,
                )
            )
            unit.update(row, status=wanted, updated_at=now_text())
            unit.record(
                "aims.incident.step_recorded",
                incident_id,
                {"incident_id": incident_id, "from": last.step, "to": wanted, "at": when},
                {"note": remark} if remark else None,
            )
            return _incident_of(unit.session, row)

    def add_incident_communication(
        self, incident_id: str, *, actor: str, audience: str, message: str, at: object = None
    ) -> Incident:
        """Record that ``audience`` (customers, a regulator, the board...) was told ``message``.

        Raises:
            NotFound: no incident has this id.
            InvalidInput: a blank audience or message, or a malformed time.
        """
        whom = checked_text("audience", audience, limit=200)
        what = checked_text("message", message, limit=20_000)
        when = moment("at", at)
        with self._unit(actor) as unit:
            row = get_row(unit.session, IncidentRow, incident_id, "incident", "incident_id")
            unit.add(
                IncidentCommunicationRow(
                    incident_id=incident_id,
                    audience=whom,
                    message=what,
                    at=when,
                    recorded_by=unit.actor,
                )
            )
            unit.update(row, updated_at=now_text())
            unit.record(
                "aims.incident.communicated",
                incident_id,
                {"incident_id": incident_id, "at": when},
                {"audience": whom, "message": what},
            )
            return _incident_of(unit.session, row)

    def incidents(self, status: str | None = None) -> list[Incident]:
        """Every incident (at ``status``, its latest step, when given), oldest first."""
        query = select(IncidentRow).order_by(IncidentRow.created_at, IncidentRow.incident_id)
        if status is not None:
            query = query.where(IncidentRow.status == choice("status", status, INCIDENT_STEPS))
        with self._store.session() as session:
            return [_incident_of(session, row) for row in session.scalars(query).all()]

    def incident(self, incident_id: str) -> Incident:
        """One incident with its timeline and communications.

        Raises:
            NotFound: no incident has this id.
        """
        with self._store.session() as session:
            row = get_row(session, IncidentRow, incident_id, "incident", "incident_id")
            return _incident_of(session, row)


def _steps(session: Session, incident_id: str) -> list[IncidentStepRow]:
    return list(
        session.scalars(
            select(IncidentStepRow)
            .where(IncidentStepRow.incident_id == incident_id)
            .order_by(IncidentStepRow.id)
        )
    )


def _incident_of(session: Session, row: IncidentRow) -> Incident:
    communications = session.scalars(
        select(IncidentCommunicationRow)
        .where(IncidentCommunicationRow.incident_id == row.incident_id)
        .order_by(IncidentCommunicationRow.at, IncidentCommunicationRow.id)
    )
    return Incident(
        incident_id=row.incident_id,
        title=row.title,
        severity=row.severity,
        system_id=row.system_id,
        description=row.description,
        status=row.status,
        timeline=tuple(
            IncidentStep(step=s.step, at=s.at, note=s.note, recorded_by=s.recorded_by)
            for s in _steps(session, row.incident_id)
        ),
        communications=tuple(
            IncidentCommunication(
                audience=c.audience, message=c.message, at=c.at, recorded_by=c.recorded_by
            )
            for c in communications
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
