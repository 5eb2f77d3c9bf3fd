"""AI system impact assessments (ISO/IEC 42001 6.1.4, 8.4, A.5): who may be affected, how, how
badly, what is done about it, who signed it off and until when it holds.

An assessment counts as current for its AI system while it is signed off and not expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from aimsight.aims._fields import (
    choice,
    day,
    from_json,
    moment,
    now_text,
    text,
    texts,
    to_json,
    today,
)
from aimsight.aims._model import ImpactAssessment
from aimsight.aims._recording import RecordsBase, Unit, get_row, require_system
from aimsight.aims._tables import ImpactAssessmentRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id

__all__ = ["SEVERITIES", "ImpactRecords"]

SEVERITIES = ("low", "medium", "high", "critical")


class ImpactRecords(RecordsBase):
    """Write, sign off and read impact assessments."""

    def add_impact_assessment(
        self,
        system_id: str,
        *,
        actor: str,
        affected: Sequence[str],
        harms: Sequence[str],
        severity: str,
        mitigations: Sequence[str],
        expires_on: object,
        signed_off_by: str | None = None,
        signed_off_at: object = None,
    ) -> ImpactAssessment:
        """Record an impact assessment of an AI system, signed off now or later.

        Args:
            affected: the individuals, groups and parts of society it may affect.
            harms: the harms (and benefits gone wrong) it may cause them.
            severity: low, medium, high or critical.
            mitigations: what is done to prevent or reduce the harms.
            expires_on: the date it must be redone by (``YYYY-MM-DD``).
            signed_off_by: who signed it off, if it is signed off on recording.
            signed_off_at: when (default now, when ``signed_off_by`` is given).

        Raises:
            NotFound: ``system_id`` names no AI system.
            InvalidInput: a field is missing or malformed, or it expires before its sign-off.
        """
        checked_affected = texts("affected", affected, required=True)
        checked_harms = texts("harms", harms, required=True)
        checked_severity = choice("severity", severity, SEVERITIES)
        checked_mitigations = texts("mitigations", mitigations)
        expires = day("expires_on", expires_on)
        signer, signed_at = None, None
        if signed_off_by is not None:
            signer = text("signed_off_by", signed_off_by, limit=200)
            signed_at = moment("signed_off_at", signed_off_at)
            _check_expiry(expires, signed_at)
        elif signed_off_at is not None:
            raise InvalidInput(
                "signed_off_at was given without signed_off_by; say who signed it off",
                field="signed_off_by",
            )
        with self._unit(actor) as unit:
            require_system(unit.session, system_id)
            row = unit.add(
                ImpactAssessmentRow(
                    assessment_id=new_id("aia"),
                    system_id=system_id,
                    affected=to_json("affected", checked_affected),
                    harms=to_json("harms", checked_harms),
                    severity=checked_severity,
                    mitigations=to_json("mitigations", checked_mitigations),
                    signed_off_by=signer,
                    signed_off_at=signed_at,
                    expires_on=expires,
                    created_at=now_text(),
                    created_by=unit.actor,
                )
            )
            unit.record(
                "aims.impact_assessment.created",
                row.assessment_id,
                {
                    "assessment_id": row.assessment_id,
                    "system_id": system_id,
                    "severity": checked_severity,
                    "expires_on": expires,
                    "signed_off_at": signed_at,
                },
                {
                    "affected": checked_affected,
                    "harms": checked_harms,
                    "mitigations": checked_mitigations,
                    **({"signed_off_by": signer} if signer else {}),
                },
            )
        return _assessment_of(row)

    def sign_off_impact_assessment(
        self, assessment_id: str, *, by: str, actor: str, at: object = None
    ) -> ImpactAssessment:
        """Sign off an assessment that was recorded unsigned.

        Raises:
            NotFound: no assessment has this id.
            Conflict: it is signed off already (record a new assessment to redo it).
            InvalidInput: it would expire on or before the sign-off date.
        """
        signer = text("by", by, limit=200)
        signed_at = moment("at", at)
        with self._unit(actor) as unit:
            row = get_row(
                unit.session, ImpactAssessmentRow, assessment_id, "impact assessment", "id"
            )
            if row.signed_off_by is not None:
                raise Conflict(
                    f"impact assessment {assessment_id} was signed off by someone already on "
                    f"{row.signed_off_at}; to redo it, record a new assessment"
                )
            _check_expiry(row.expires_on, signed_at)
            unit.update(row, signed_off_by=signer, signed_off_at=signed_at)
            _record_sign_off(unit, row, signer)
        return _assessment_of(row)

    def impact_assessments(self, system_id: str | None = None) -> list[ImpactAssessment]:
        """Every impact assessment (of one AI system when ``system_id`` is given), oldest first."""
        query = select(ImpactAssessmentRow).order_by(
            ImpactAssessmentRow.created_at, ImpactAssessmentRow.assessment_id
        )
        if system_id is not None:
            query = query.where(ImpactAssessmentRow.system_id == system_id)
        with self._store.session() as session:
            return [_assessment_of(row) for row in session.scalars(query)]

    def current_assessment(
        self, system_id: str, *, on: date | None = None
    ) -> ImpactAssessment | None:
        """The newest signed-off assessment of an AI system that has not expired, or ``None``.

        ``on`` is the day it must hold on (default today, UTC); an assessment expiring that
        day still holds.
        """
        when = (on or today()).isoformat()
        current = [
            item
            for item in self.impact_assessments(system_id)
            if item.signed_off_at is not None and item.expires_on >= when
        ]
        return max(current, key=lambda item: item.signed_off_at or "", default=None)


def _check_expiry(expires_on: str, signed_at: str) -> None:
    if expires_on <= signed_at[:10]:
        raise InvalidInput(
            f"the assessment expires on {expires_on}, not after its sign-off on "
            f"{signed_at[:10]}; give an expires_on later than the sign-off date",
            field="expires_on",
        )


def _record_sign_off(unit: Unit, row: ImpactAssessmentRow, signer: str) -> None:
    unit.record(
        "aims.impact_assessment.signed_off",
        row.assessment_id,
        {
            "assessment_id": row.assessment_id,
            "system_id": row.system_id,
            "signed_off_at": row.signed_off_at,
            "expires_on": row.expires_on,
        },
        {"signed_off_by": signer},
    )


def _assessment_of(row: ImpactAssessmentRow) -> ImpactAssessment:
    return ImpactAssessment(
        assessment_id=row.assessment_id,
        system_id=row.system_id,
        affected=tuple(from_json(row.affected)),
        harms=tuple(from_json(row.harms)),
        severity=row.severity,
        mitigations=tuple(from_json(row.mitigations)),
        signed_off_by=row.signed_off_by,
        signed_off_at=row.signed_off_at,
        expires_on=row.expires_on,
        created_at=row.created_at,
    )
