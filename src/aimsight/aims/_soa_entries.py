"""What the organisation states per Annex A control for its Statement of Applicability: whether
it applies and why, how far it is implemented, who owns it, and links to its evidence.

The SoA document itself (with each control's title and latest check result) is built from
:meth:`SoaRecords.soa_entries` elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from aimsight.aims._fields import (
    CONTROL_ID,
    choice,
    from_json,
    now_text,
    optional_text,
    texts,
    to_json,
)
from aimsight.aims._fields import text as checked_text
from aimsight.aims._recording import RecordsBase
from aimsight.aims._soa import SOA_IMPLEMENTATION_STATUSES
from aimsight.aims._tables import SoaEntryRow
from aimsight.core.errors import InvalidInput

__all__ = ["SOA_ENTRY_STATUSES", "SoaRecords"]

# One list of implementation statuses: the Statement of Applicability's own.
SOA_ENTRY_STATUSES = SOA_IMPLEMENTATION_STATUSES
"""How far a control is implemented; the SoA export shows the same values."""


class SoaRecords(RecordsBase):
    """Set and read Statement of Applicability entries, one per Annex A control."""

    def set_soa_entry(
        self,
        control_id: str,
        *,
        actor: str,
        applicable: bool,
        justification: str,
        status: str | None = None,
        owner: str | None = None,
        evidence: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create or replace the entry of one Annex A control.

        Args:
            control_id: e.g. ``A.6.2.4``.
            applicable: whether the control applies to this organisation.
            justification: why it is included or excluded (ISO/IEC 42001 6.1.3 wants both).
            status: not_started, planned, partial or implemented (applicable controls;
                default not_started); an excluded control is always not_applicable.
            owner: who answers for the control.
            evidence: links to its evidence (documents, ledger entries, check ids...).

        Raises:
            InvalidInput: the id is not an Annex A control id, the justification is blank, or
                the status does not fit ``applicable``.
        """
        control = checked_text("control_id", control_id, limit=16)
        if not CONTROL_ID.match(control):
            raise InvalidInput(
                f"control_id {control!r} is not an Annex A control id; write it like A.6.2.4",
                field="control_id",
            )
        if not isinstance(applicable, bool):
            raise InvalidInput("applicable must be true or false", field="applicable")
        reason = checked_text("justification", justification)
        if applicable:
            state = choice("status", status or "not_started", SOA_ENTRY_STATUSES)
            if state == "not_applicable":
                raise InvalidInput(
                    "an applicable control cannot have status not_applicable; use not_started, "
                    "planned, partial or implemented (or set applicable to false)",
                    field="status",
                )
        else:
            state = choice("status", status or "not_applicable", SOA_ENTRY_STATUSES)
            if state != "not_applicable":
                raise InvalidInput(
                    f"a control that does not apply has status not_applicable, not {state!r}",
                    field="status",
                )
        who = optional_text("owner", owner)
        links = texts("evidence", evidence, limit=500)
        values = {
            "applicable": applicable,
            "justification": reason,
            "status": state,
            "owner": who,
            "evidence": _json_list(links),
            "updated_at": now_text(),
        }
        with self._unit(actor) as unit:
            row = unit.session.get(SoaEntryRow, control)
            if row is None:
                row = unit.add(SoaEntryRow(control_id=control, **values, updated_by=unit.actor))
            else:
                unit.update(row, **values, updated_by=unit.actor)
            unit.record(
                "aims.soa.updated",
                control,
                {
                    "control_id": control,
                    "applicable": applicable,
                    "status": state,
                    "evidence": links,
                },
                {"justification": reason, **({"owner": who} if who else {})},
            )
        return _entry_of(row)

    def soa_entries(self) -> list[dict[str, Any]]:
        """Every stored entry in control order (A.2.2, A.2.3, ..., A.10.4).

        Keys: control_id, applicable, justification, status, owner, evidence (a list),
        updated_at, updated_by.
        """
        with self._store.session() as session:
            rows = list(session.scalars(select(SoaEntryRow)))
        return [_entry_of(row) for row in sorted(rows, key=lambda row: _order(row.control_id))]


def _order(control_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in control_id.removeprefix("A.").split("."))


def _json_list(items: list[str]) -> str:
    return to_json("evidence", items)


def _entry_of(row: SoaEntryRow) -> dict[str, Any]:
    return {
        "control_id": row.control_id,
        "applicable": row.applicable,
        "justification": row.justification,
        "status": row.status,
        "owner": row.owner,
        "evidence": list(from_json(row.evidence) or []),
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }
