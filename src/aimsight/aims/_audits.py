"""Internal audits (ISO/IEC 42001 9.2): programmes, audits with a checklist of automated checks
and manual questions, and findings that become nonconformities.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aimsight.aims._check_history import CheckHistoryRecords
from aimsight.aims._fields import check_id_text, choice, day, now_text, optional_text
from aimsight.aims._fields import text as checked_text
from aimsight.aims._model import CheckStatus
from aimsight.aims._nonconformities import NonconformityRecords, nonconformity_of
from aimsight.aims._record_types import (
    Audit,
    AuditFinding,
    AuditProgramme,
    ChecklistItem,
    Nonconformity,
)
from aimsight.aims._recording import get_row
from aimsight.aims._tables import (
    AuditFindingRow,
    AuditProgrammeRow,
    AuditRow,
    ChecklistItemRow,
)
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id

__all__ = [
    "AUDIT_STATUSES",
    "CHECKLIST_RESULTS",
    "FINDING_SEVERITIES",
    "AuditRecords",
]

AUDIT_STATUSES = ("planned", "in_progress", "completed", "cancelled")
CHECKLIST_RESULTS = (
    "conforming",
    "nonconforming",
    "observation",
    "not_applicable",
    "not_available",
)
FINDING_SEVERITIES = ("major", "minor", "observation", "opportunity")
_NEXT_STATUS = {
    "planned": ("in_progress", "completed", "cancelled"),
    "in_progress": ("completed", "cancelled"),
    "completed": (),
    "cancelled": (),
}
_CHECK_RESULT = {
    CheckStatus.PASS: "conforming",
    CheckStatus.FAIL: "nonconforming",
    CheckStatus.WARN: "observation",
    CheckStatus.NOT_YET_AVAILABLE: "not_available",
}


class AuditRecords(NonconformityRecords, CheckHistoryRecords):
    """Audit programmes, audits, checklists and findings."""

    def add_audit_programme(
        self, *, actor: str, period_start: object, period_end: object, scope: str, criteria: str
    ) -> AuditProgramme:
        """Set up an audit programme for a period.

        Raises:
            InvalidInput: a blank scope or criteria, or a period that ends before it starts.
        """
        start = day("period_start", period_start)
        end = day("period_end", period_end)
        if end < start:
            raise InvalidInput(
                f"period_end {end} is before period_start {start}", field="period_end"
            )
        covered = checked_text("scope", scope)
        against = checked_text("criteria", criteria)
        with self._unit(actor) as unit:
            row = unit.add(
                AuditProgrammeRow(
                    programme_id=new_id("aup"),
                    period_start=start,
                    period_end=end,
                    scope=covered,
                    criteria=against,
                    created_at=now_text(),
                    created_by=unit.actor,
                )
            )
            unit.record(
                "aims.audit_programme.created",
                row.programme_id,
                {"programme_id": row.programme_id, "period_start": start, "period_end": end},
                {"scope": covered, "criteria": against},
            )
        return _programme_of(row)

    def audit_programmes(self) -> list[AuditProgramme]:
        """Every audit programme, oldest period first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(AuditProgrammeRow).order_by(
                    AuditProgrammeRow.period_start, AuditProgrammeRow.programme_id
                )
            )
            return [_programme_of(row) for row in rows]

    def plan_audit(
        self,
        programme_id: str,
        *,
        actor: str,
        title: str,
        scope: str,
        auditor: str,
        planned_on: object,
    ) -> Audit:
        """Plan an audit within a programme.

        Raises:
            NotFound: no programme has this id.
            InvalidInput: a blank field or a malformed date.
        """
        heading = checked_text("title", title, limit=500)
        covered = checked_text("scope", scope)
        who = checked_text("auditor", auditor, limit=200)
        on = day("planned_on", planned_on)
        now = now_text()
        with self._unit(actor) as unit:
            get_row(unit.session, AuditProgrammeRow, programme_id, "audit programme", "id")
            row = unit.add(
                AuditRow(
                    audit_id=new_id("aud"),
                    programme_id=programme_id,
                    title=heading,
                    scope=covered,
                    auditor=who,
                    planned_on=on,
                    held_on=None,
                    status="planned",
                    created_at=now,
                    updated_at=now,
                    updated_by=unit.actor,
                )
            )
            unit.record(
                "aims.audit.planned",
                row.audit_id,
                {"audit_id": row.audit_id, "programme_id": programme_id, "planned_on": on},
                {"title": heading, "scope": covered, "auditor": who},
            )
            return _audit_of(unit.session, row)

    def update_audit(
        self, audit_id: str, *, actor: str, status: str, held_on: object = None
    ) -> Audit:
        """Move an audit on: planned -> in_progress -> completed (or cancelled).

        Completing needs the date it was held (``held_on``).

        Raises:
            NotFound: no audit has this id.
            InvalidInput: an unknown status, or completing without ``held_on``.
            Conflict: the audit cannot move to that status from where it is.
        """
        wanted = choice("status", status, AUDIT_STATUSES)
        held = None if held_on is None else day("held_on", held_on)
        with self._unit(actor) as unit:
            row = get_row(unit.session, AuditRow, audit_id, "audit", "audit_id")
            if wanted not in _NEXT_STATUS[row.status]:
                raise Conflict(
                    f"audit {audit_id} is {row.status}; it can move to "
                    f"{', '.join(_NEXT_STATUS[row.status]) or 'nothing else'}"
                )
            held = held or row.held_on
            if wanted == "completed" and held is None:
                raise InvalidInput(
                    "completing an audit needs held_on, the date it was held", field="held_on"
                )
            previous = row.status
            unit.update(
                row, status=wanted, held_on=held, updated_at=now_text(), updated_by=unit.actor
            )
            unit.record(
                "aims.audit.status_changed",
                audit_id,
                {"audit_id": audit_id, "from": previous, "to": wanted, "held_on": held},
            )
            return _audit_of(unit.session, row)

    def audits(self, programme_id: str | None = None) -> list[Audit]:
        """Every audit (of one programme when given), by planned date."""
        query = select(AuditRow).order_by(AuditRow.planned_on, AuditRow.audit_id)
        if programme_id is not None:
            query = query.where(AuditRow.programme_id == programme_id)
        with self._store.session() as session:
            return [_audit_of(session, row) for row in session.scalars(query).all()]

    def audit(self, audit_id: str) -> Audit:
        """One audit with its checklist and findings.

        Raises:
            NotFound: no audit has this id.
        """
        with self._store.session() as session:
            return _audit_of(session, get_row(session, AuditRow, audit_id, "audit", "audit_id"))

    # -- checklist ---------------------------------------------------------------------------

    def add_checklist_item(
        self,
        audit_id: str,
        *,
        actor: str,
        check_id: str | None = None,
        question: str | None = None,
    ) -> ChecklistItem:
        """Add an automated check (``check_id``) or a manual ``question`` to the checklist.

        Raises:
            NotFound: no audit has this id.
            InvalidInput: neither or both of ``check_id`` and ``question`` given.
            Conflict: the audit is completed or cancelled.
        """
        if (check_id is None) == (question is None):
            raise InvalidInput(
                "a checklist item is either an automated check_id or a manual question; "
                "give exactly one",
                field="check_id" if check_id is None else "question",
            )
        check = None if check_id is None else check_id_text("check_id", check_id)
        asked = None if question is None else checked_text("question", question, limit=2000)
        with self._unit(actor) as unit:
            _open_audit(unit.session, audit_id)
            position = unit.session.scalar(
                select(func.count())
                .select_from(ChecklistItemRow)
                .where(ChecklistItemRow.audit_id == audit_id)
            )
            row = unit.add(
                ChecklistItemRow(
                    item_id=new_id("acl"),
                    audit_id=audit_id,
                    position=int(position or 0) + 1,
                    check_id=check,
                    question=asked,
                    answer="",
                    result=None,
                    notes="",
                    answered_by=None,
                    answered_at=None,
                )
            )
            unit.record(
                "aims.audit.checklist_item_added",
                row.item_id,
                {"item_id": row.item_id, "audit_id": audit_id, "check_id": check},
                {"question": asked} if asked else None,
            )
        return _item_of(row)

    def answer_checklist_item(
        self, item_id: str, *, actor: str, result: str, answer: str = "", notes: str = ""
    ) -> ChecklistItem:
        """Record the answer to a checklist item and its result.

        Raises:
            NotFound: no checklist item has this id.
            InvalidInput: an unknown result.
            Conflict: the audit is completed or cancelled.
        """
        outcome = choice("result", result, CHECKLIST_RESULTS)
        said = checked_text("answer", answer, required=False)
        remarks = checked_text("notes", notes, required=False)
        with self._unit(actor) as unit:
            row = get_row(unit.session, ChecklistItemRow, item_id, "checklist item", "item_id")
            _open_audit(unit.session, row.audit_id)
            unit.update(
                row,
                result=outcome,
                answer=said,
                notes=remarks,
                answered_by=unit.actor,
                answered_at=now_text(),
            )
            unit.record(
                "aims.audit.checklist_item_answered",
                item_id,
                {"item_id": item_id, "audit_id": row.audit_id, "result": outcome},
                {k: v for k, v in {"answer": said, "notes": remarks}.items() if v} or None,
            )
        return _item_of(row)

    def fill_checklist_from_checks(self, audit_id: str, *, actor: str) -> list[ChecklistItem]:
        """Answer every automated item of an audit from the latest check results.

        pass reads as conforming, fail as nonconforming, warn as an observation and not yet
        available as not_available; the answer is the check's summary. Items whose check has
        no stored result are left as they are.

        Raises:
            NotFound: no audit has this id.
            Conflict: the audit is completed or cancelled.
        """
        latest = {result.check_id: result for result in self.latest_check_results()}
        with self._store.session() as session:
            _open_audit(session, audit_id)
            items = [
                (row.item_id, row.check_id)
                for row in _items(session, audit_id)
                if row.check_id is not None and row.check_id in latest
            ]
        for item_id, check_id in items:
            found = latest[str(check_id)]
            self.answer_checklist_item(
                item_id,
                actor=actor,
                result=_CHECK_RESULT[CheckStatus(found.status)],
                answer=found.summary,
                notes=f"automated check {found.check_id} at {found.checked_at}",
            )
        return list(self.audit(audit_id).checklist)

    # -- findings ----------------------------------------------------------------------------

    def add_finding(
        self,
        audit_id: str,
        *,
        actor: str,
        severity: str,
        text: str,
        item_id: str | None = None,
    ) -> AuditFinding:
        """Record a finding of an audit (optionally tied to a checklist item).

        Raises:
            NotFound: no audit or checklist item has this id.
            InvalidInput: an unknown severity, a blank text, or an item of another audit.
        """
        level = choice("severity", severity, FINDING_SEVERITIES)
        body = checked_text("text", text, limit=20_000)
        item = optional_text("item_id", item_id, limit=40)
        with self._unit(actor) as unit:
            get_row(unit.session, AuditRow, audit_id, "audit", "audit_id")
            if item is not None:
                owner = get_row(unit.session, ChecklistItemRow, item, "checklist item", "item_id")
                if owner.audit_id != audit_id:
                    raise InvalidInput(
                        f"checklist item {item} belongs to audit {owner.audit_id}, not {audit_id}",
                        field="item_id",
                    )
            row = unit.add(
                AuditFindingRow(
                    finding_id=new_id("afd"),
                    audit_id=audit_id,
                    item_id=item,
                    severity=level,
                    text=body,
                    nc_id=None,
                    raised_at=now_text(),
                    raised_by=unit.actor,
                )
            )
            unit.record(
                "aims.audit.finding_added",
                row.finding_id,
                {
                    "finding_id": row.finding_id,
                    "audit_id": audit_id,
                    "item_id": item,
                    "severity": level,
                },
                {"text": body},
            )
        return _finding_of(row)

    def raise_nonconformity_from_finding(
        self, finding_id: str, *, actor: str, system_id: str | None = None
    ) -> Nonconformity:
        """Turn an audit finding into a nonconformity (source ``audit_finding``).

        Raises:
            NotFound: no finding has this id.
            Conflict: a nonconformity was raised from it already.
        """
        with self._unit(actor) as unit:
            finding = get_row(unit.session, AuditFindingRow, finding_id, "audit finding", "id")
            if finding.nc_id is not None:
                raise Conflict(f"finding {finding_id} became nonconformity {finding.nc_id} already")
            row = self._raise_row(
                unit,
                description=finding.text,
                source="audit_finding",
                source_ref=finding_id,
                system_id=system_id,
                root_cause="",
            )
            unit.update(finding, nc_id=row.nc_id)
            return nonconformity_of(unit.session, row)


def _open_audit(session: Session, audit_id: str) -> AuditRow:
    row = get_row(session, AuditRow, audit_id, "audit", "audit_id")
    if row.status in ("completed", "cancelled"):
        raise Conflict(f"audit {audit_id} is {row.status}; its checklist can no longer change")
    return row


def _items(session: Session, audit_id: str) -> list[ChecklistItemRow]:
    return list(
        session.scalars(
            select(ChecklistItemRow)
            .where(ChecklistItemRow.audit_id == audit_id)
            .order_by(ChecklistItemRow.position)
        )
    )


def _programme_of(row: AuditProgrammeRow) -> AuditProgramme:
    return AuditProgramme(
        programme_id=row.programme_id,
        period_start=row.period_start,
        period_end=row.period_end,
        scope=row.scope,
        criteria=row.criteria,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _item_of(row: ChecklistItemRow) -> ChecklistItem:
    return ChecklistItem(
        item_id=row.item_id,
        audit_id=row.audit_id,
        position=row.position,
        check_id=row.check_id,
        question=row.question,
        answer=row.answer,
        result=row.result,
        notes=row.notes,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
    )


def _finding_of(row: AuditFindingRow) -> AuditFinding:
    return AuditFinding(
        finding_id=row.finding_id,
        audit_id=row.audit_id,
        item_id=row.item_id,
        severity=row.severity,
        text=row.text,
        nc_id=row.nc_id,
        raised_at=row.raised_at,
        raised_by=row.raised_by,
    )


def _audit_of(session: Session, row: AuditRow) -> Audit:
    findings = session.scalars(
        select(AuditFindingRow)
        .where(AuditFindingRow.audit_id == row.audit_id)
        .order_by(AuditFindingRow.raised_at, AuditFindingRow.finding_id)
    )
    return Audit(
        audit_id=row.audit_id,
        programme_id=row.programme_id,
        title=row.title,
        scope=row.scope,
        auditor=row.auditor,
        planned_on=row.planned_on,
        held_on=row.held_on,
        status=row.status,
        checklist=tuple(_item_of(item) for item in _items(session, row.audit_id)),
        findings=tuple(_finding_of(finding) for finding in findings),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
