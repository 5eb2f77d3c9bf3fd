"""The risk register (ISO/IEC 42001 6.1.2, 8.2) with treatments (6.1.3, 8.3) and residual risk.

Likelihood and impact are points on the configured scales; the score (likelihood x impact) and
its level are derived when read, so changing the bands re-rates every risk at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from aimsight.aims._fields import (
    choice,
    control_ids,
    day,
    from_json,
    now_text,
    optional_text,
    text,
    to_json,
)
from aimsight.aims._record_types import Risk
from aimsight.aims._recording import RecordsBase, Unit, get_row, require_system
from aimsight.aims._risk_scales import RiskScales, workspace_risk_scales
from aimsight.aims._tables import RiskRow
from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id

__all__ = ["TREATMENTS", "RiskRecords"]

TREATMENTS = ("avoid", "mitigate", "transfer", "accept")
_FIELDS = (
    "risk",
    "source",
    "system_id",
    "owner",
    "likelihood",
    "impact",
    "treatment",
    "treatment_plan",
    "controls",
    "residual_likelihood",
    "residual_impact",
    "next_review",
)
_PERSONAL = ("risk", "owner", "treatment_plan")


class RiskRecords(RecordsBase):
    """Add, change and list risks; levels come from :meth:`risk_scales`."""

    def risk_scales(self) -> RiskScales:
        """The scales in use: ``<workspace>/aims/risk_scales.yaml`` or the shipped default."""
        return workspace_risk_scales(self._workspace)

    def add_risk(
        self,
        risk: str,
        *,
        actor: str,
        source: str,
        owner: str,
        likelihood: int,
        impact: int,
        system_id: str | None = None,
        treatment: str | None = None,
        treatment_plan: str = "",
        controls: Sequence[str] = (),
        residual_likelihood: int | None = None,
        residual_impact: int | None = None,
        next_review: object = None,
    ) -> Risk:
        """Add a risk to the register.

        Args:
            risk: what could go wrong, in a sentence.
            source: where it was identified, e.g. "impact assessment", "incident", "audit".
            treatment: avoid, mitigate, transfer or accept; needs a ``treatment_plan``.
            controls: Annex A control ids the treatment relies on, e.g. ``["A.6.2.4"]``.
            residual_likelihood: with ``residual_impact``, the risk left after treatment.
            next_review: the date it is next reviewed (``YYYY-MM-DD``).

        Raises:
            InvalidInput: a field is malformed, e.g. a likelihood outside the scale.
            NotFound: ``system_id`` names no AI system.
        """
        values = self._checked_risk(
            {
                "risk": risk,
                "source": source,
                "system_id": system_id,
                "owner": owner,
                "likelihood": likelihood,
                "impact": impact,
                "treatment": treatment,
                "treatment_plan": treatment_plan,
                "controls": controls,
                "residual_likelihood": residual_likelihood,
                "residual_impact": residual_impact,
                "next_review": next_review,
            }
        )
        scales = self.risk_scales()
        now = now_text()
        with self._unit(actor) as unit:
            require_system(unit.session, values["system_id"])
            row = unit.add(
                RiskRow(
                    risk_id=new_id("rsk"),
                    **_columns(values),
                    created_at=now,
                    updated_at=now,
                    updated_by=unit.actor,
                )
            )
            _record(unit, "aims.risk.created", row, list(_FIELDS), scales)
        return _risk_of(row, scales)

    def update_risk(self, risk_id: str, *, actor: str, **changes: Any) -> Risk:
        """Change fields of a risk (any :meth:`add_risk` takes), e.g. at its review.

        Raises:
            NotFound: no risk has this id, or ``system_id`` names no AI system.
            InvalidInput: an unknown field, or a value that is not allowed.
        """
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown risk field {unknown[0]!r}; the fields are {', '.join(_FIELDS)}",
                field=unknown[0],
            )
        scales = self.risk_scales()
        with self._unit(actor) as unit:
            row = get_row(unit.session, RiskRow, risk_id, "risk", "risk_id")
            current = _values_of(row)
            values = self._checked_risk({**current, **changes})
            changed = [name for name in _FIELDS if values[name] != current[name]]
            if changed:
                require_system(unit.session, values["system_id"])
                columns = _columns(values)
                unit.update(
                    row,
                    **{name: columns[name] for name in changed},
                    updated_at=now_text(),
                    updated_by=unit.actor,
                )
                _record(unit, "aims.risk.updated", row, changed, scales)
        return _risk_of(row, scales)

    def risks(self, system_id: str | None = None) -> list[Risk]:
        """Every risk (of one AI system when ``system_id`` is given), oldest first."""
        query = select(RiskRow).order_by(RiskRow.created_at, RiskRow.risk_id)
        if system_id is not None:
            query = query.where(RiskRow.system_id == system_id)
        scales = self.risk_scales()
        with self._store.session() as session:
            return [_risk_of(row, scales) for row in session.scalars(query)]

    def risk(self, risk_id: str) -> Risk:
        """One risk.

        Raises:
            NotFound: no risk has this id.
        """
        with self._store.session() as session:
            row = get_row(session, RiskRow, risk_id, "risk", "risk_id")
        return _risk_of(row, self.risk_scales())

    def _checked_risk(self, values: Mapping[str, Any]) -> dict[str, Any]:
        scales = self.risk_scales()
        checked: dict[str, Any] = {
            "risk": text("risk", values["risk"]),
            "source": text("source", values["source"], limit=100),
            "system_id": optional_text("system_id", values["system_id"], limit=40),
            "owner": text("owner", values["owner"], limit=200),
            "likelihood": scales.check("likelihood", values["likelihood"], "likelihood"),
            "impact": scales.check("impact", values["impact"], "impact"),
            "treatment": None,
            "treatment_plan": text("treatment_plan", values["treatment_plan"], required=False),
            "controls": control_ids("controls", values["controls"]),
            "residual_likelihood": None,
            "residual_impact": None,
            "next_review": None,
        }
        if values["treatment"] is not None:
            checked["treatment"] = choice("treatment", values["treatment"], TREATMENTS)
            if not checked["treatment_plan"]:
                raise InvalidInput(
                    f"a risk treated by {checked['treatment']!r} needs a treatment_plan saying "
                    "how (ISO/IEC 42001 6.1.3)",
                    field="treatment_plan",
                )
        residual = (values["residual_likelihood"], values["residual_impact"])
        if (residual[0] is None) != (residual[1] is None):
            raise InvalidInput(
                "give residual_likelihood and residual_impact together, or neither",
                field="residual_impact" if residual[1] is None else "residual_likelihood",
            )
        if residual[0] is not None:
            checked["residual_likelihood"] = scales.check(
                "residual_likelihood", residual[0], "likelihood"
            )
            checked["residual_impact"] = scales.check("residual_impact", residual[1], "impact")
            before = checked["likelihood"] * checked["impact"]
            after = checked["residual_likelihood"] * checked["residual_impact"]
            if after > before:
                raise InvalidInput(
                    f"the residual risk (score {after}) cannot exceed the risk before treatment "
                    f"(score {before}); lower the residual likelihood or impact",
                    field="residual_impact",
                )
        if values["next_review"] is not None:
            checked["next_review"] = day("next_review", values["next_review"])
        return checked


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    return {**values, "controls": to_json("controls", values["controls"])}


def _values_of(row: RiskRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _FIELDS}
    values["controls"] = from_json(row.controls)
    return values


def _record(unit: Unit, kind: str, row: RiskRow, changed: list[str], scales: RiskScales) -> None:
    risk = _risk_of(row, scales)
    payload: dict[str, Any] = {
        "risk_id": row.risk_id,
        "changed": changed,
        "level": risk.level,
        "residual_level": risk.residual_level,
    }
    payload.update({name: getattr(risk, name) for name in changed if name not in _PERSONAL})
    if "controls" in payload:
        payload["controls"] = list(risk.controls)
    personal = {name: getattr(risk, name) for name in changed if name in _PERSONAL}
    unit.record(kind, row.risk_id, payload, {k: v for k, v in personal.items() if v})


def _risk_of(row: RiskRow, scales: RiskScales) -> Risk:
    score = row.likelihood * row.impact
    residual = (
        row.residual_likelihood * row.residual_impact
        if row.residual_likelihood is not None and row.residual_impact is not None
        else None
    )
    return Risk(
        risk_id=row.risk_id,
        risk=row.risk,
        source=row.source,
        system_id=row.system_id,
        owner=row.owner,
        likelihood=row.likelihood,
        impact=row.impact,
        score=score,
        level=scales.level(score),
        treatment=row.treatment,
        treatment_plan=row.treatment_plan,
        controls=tuple(from_json(row.controls)),
        residual_likelihood=row.residual_likelihood,
        residual_impact=row.residual_impact,
        residual_score=residual,
        residual_level=None if residual is None else scales.level(residual),
        next_review=row.next_review,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
