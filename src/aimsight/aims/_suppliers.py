"""Assessments of suppliers and third-party AI components (A.10.3): who assessed which
component from which supplier, with what outcome, and when it is next reviewed.
"""

from __future__ import annotations

from sqlalchemy import select

from aimsight.aims._fields import choice, day, moment, optional_text
from aimsight.aims._fields import text as checked_text
from aimsight.aims._model import SupplierAssessment
from aimsight.aims._recording import RecordsBase
from aimsight.aims._tables import SupplierAssessmentRow
from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id

__all__ = ["SUPPLIER_OUTCOMES", "SupplierRecords"]

SUPPLIER_OUTCOMES = ("approved", "approved_with_conditions", "rejected")


class SupplierRecords(RecordsBase):
    """Record and list supplier and third-party component assessments."""

    def assess_supplier(
        self,
        component: str,
        *,
        actor: str,
        supplier: str,
        assessed_by: str,
        outcome: str,
        notes: str = "",
        next_review: object = None,
        assessed_at: object = None,
    ) -> SupplierAssessment:
        """Record an assessment of ``component`` (e.g. ``scikit-learn``, ``splink``).

        ``approved_with_conditions`` needs ``notes`` saying the conditions.

        Raises:
            InvalidInput: a blank field, an unknown outcome, a malformed date, or a next review
                not after the assessment.
        """
        part = checked_text("component", component, limit=200)
        vendor = checked_text("supplier", supplier, limit=200)
        assessor = checked_text("assessed_by", assessed_by, limit=200)
        verdict = choice("outcome", outcome, SUPPLIER_OUTCOMES)
        remarks = checked_text("notes", notes, required=False)
        if verdict == "approved_with_conditions" and not remarks:
            raise InvalidInput(
                "an approval with conditions needs notes saying the conditions", field="notes"
            )
        when = moment("assessed_at", assessed_at)
        review = None if next_review is None else day("next_review", next_review)
        if review is not None and review <= when[:10]:
            raise InvalidInput(
                f"next_review {review} must be after the assessment ({when[:10]})",
                field="next_review",
            )
        with self._unit(actor) as unit:
            row = unit.add(
                SupplierAssessmentRow(
                    assessment_id=new_id("sup"),
                    component=part,
                    supplier=vendor,
                    assessed_by=assessor,
                    assessed_at=when,
                    outcome=verdict,
                    notes=remarks,
                    next_review=review,
                )
            )
            unit.record(
                "aims.supplier_assessment.recorded",
                row.assessment_id,
                {
                    "assessment_id": row.assessment_id,
                    "component": part,
                    "supplier": vendor,
                    "outcome": verdict,
                    "assessed_at": when,
                    "next_review": review,
                },
                {"assessed_by": assessor, **({"notes": remarks} if remarks else {})},
            )
        return _assessment_of(row)

    def supplier_assessments(self, component: str | None = None) -> list[SupplierAssessment]:
        """Every assessment (of ``component`` when given), oldest first."""
        query = select(SupplierAssessmentRow).order_by(
            SupplierAssessmentRow.assessed_at, SupplierAssessmentRow.assessment_id
        )
        wanted = optional_text("component", component)
        if wanted is not None:
            query = query.where(SupplierAssessmentRow.component == wanted)
        with self._store.session() as session:
            return [_assessment_of(row) for row in session.scalars(query)]


def _assessment_of(row: SupplierAssessmentRow) -> SupplierAssessment:
    return SupplierAssessment(
        assessment_id=row.assessment_id,
        component=row.component,
        supplier=row.supplier,
        assessed_by=row.assessed_by,
        assessed_at=row.assessed_at,
        outcome=row.outcome,
        notes=row.notes,
        next_review=row.next_review,
    )
