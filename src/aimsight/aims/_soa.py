"""The Statement of Applicability: one row per Annex A control, never more, never fewer.

People decide, per control, whether it applies, why, how far it is implemented, who owns it and
where the evidence is (:class:`SoaEntry`, kept by the records service). The automated checks
say how the live system stands (:class:`~aimsight.aims._model.ControlCheckResult`).
:func:`build_soa` joins the two over the catalogue: a control nobody has decided on yet still
appears, as "not yet decided", so the statement can never silently leave a control out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aimsight.aims._catalogue import Catalogue
from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput

__all__ = [
    "APPLICABILITY_LABELS",
    "CHECK_STATES",
    "CHECK_STATUS_LABELS",
    "SOA_IMPLEMENTATION_STATUSES",
    "SoaEntry",
    "SoaRow",
    "SoaSummary",
    "StatementOfApplicability",
    "build_soa",
    "validate_entry",
]

SOA_IMPLEMENTATION_STATUSES: Final = (
    "not_started",
    "planned",
    "partial",
    "implemented",
    "not_applicable",
)
"""How far a control is implemented; ``not_applicable`` only for excluded controls."""

NO_CHECK: Final = "no_check"
NOT_RUN: Final = "not_run"
CHECK_STATES: Final = (
    CheckStatus.FAIL.value,
    CheckStatus.WARN.value,
    CheckStatus.PASS.value,
    CheckStatus.NOT_YET_AVAILABLE.value,
    NOT_RUN,
    NO_CHECK,
)
"""What the SoA says about a control's automated evidence, worst first: ``not_run`` when the
catalogue maps checks to the control but none has a result yet, ``no_check`` when none maps."""

CHECK_STATUS_LABELS: Final = {
    CheckStatus.FAIL.value: "fail",
    CheckStatus.WARN.value: "warn",
    CheckStatus.PASS.value: "pass",
    CheckStatus.NOT_YET_AVAILABLE.value: "not yet available",
    NOT_RUN: "not run yet",
    NO_CHECK: "no automated check",
}
"""How each check state reads in exports."""

APPLICABILITY_LABELS: Final = {True: "applicable", False: "not applicable", None: "not yet decided"}
"""How each applicability decision reads in exports."""

_SEVERITY = {CheckStatus.FAIL: 3, CheckStatus.WARN: 2, CheckStatus.PASS: 1}


@dataclass(frozen=True)
class SoaEntry:
    """A person's decision about one Annex A control.

    ``applicable`` is ``None`` while undecided. ``status`` is how far the control is
    implemented (:data:`SOA_IMPLEMENTATION_STATUSES`); an excluded control
    (``applicable=False``) needs a ``justification`` and the status ``not_applicable`` (see
    :func:`validate_entry`). ``evidence`` holds links or references to where the evidence is.
    """

    control_id: str
    applicable: bool | None = None
    justification: str = ""
    status: str = "not_started"
    owner: str | None = None
    evidence: list[str] = field(default_factory=list)
    updated_at: str = ""  # ISO 8601 UTC
    updated_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "control_id": self.control_id,
            "applicable": self.applicable,
            "justification": self.justification,
            "status": self.status,
            "owner": self.owner,
            "evidence": list(self.evidence),
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class SoaRow:
    """One control in the statement: the catalogue's facts, the decision and the evidence."""

    control_id: str
    group: str  # objective id, e.g. "A.6"
    group_title: str
    title: str
    applicable: bool | None
    justification: str
    implementation_status: str
    owner: str | None
    evidence: tuple[str, ...]
    check_status: str  # one of CHECK_STATES
    check_ids: tuple[str, ...]  # the checks that evidence this control
    check_summary: str  # what the worst latest result said, "" when there is none
    checked_at: str  # when the newest result used was taken, "" when there is none
    updated_at: str
    updated_by: str | None

    @property
    def decision(self) -> str:
        """``applicable``, ``not applicable`` or ``not yet decided``."""
        return APPLICABILITY_LABELS[self.applicable]

    @property
    def check_label(self) -> str:
        """The check state as people read it (``no automated check``)."""
        return CHECK_STATUS_LABELS[self.check_status]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "control_id": self.control_id,
            "group": self.group,
            "group_title": self.group_title,
            "title": self.title,
            "applicable": self.applicable,
            "decision": self.decision,
            "justification": self.justification,
            "implementation_status": self.implementation_status,
            "owner": self.owner,
            "evidence": list(self.evidence),
            "check_status": self.check_status,
            "check_ids": list(self.check_ids),
            "check_summary": self.check_summary,
            "checked_at": self.checked_at,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class SoaSummary:
    """Counts over the statement's rows."""

    controls: int
    applicable: int
    not_applicable: int
    undecided: int
    implementation: dict[str, int]  # every SOA_IMPLEMENTATION_STATUSES key, in that order
    checks: dict[str, int]  # every CHECK_STATES key, in that order

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "controls": self.controls,
            "applicable": self.applicable,
            "not_applicable": self.not_applicable,
            "undecided": self.undecided,
            "implementation": dict(self.implementation),
            "checks": dict(self.checks),
        }


@dataclass(frozen=True)
class StatementOfApplicability:
    """The statement: one row per Annex A control of the catalogue, in its order."""

    standard: str
    catalogue_version: str
    generated_at: str  # ISO 8601 UTC
    rows: tuple[SoaRow, ...]
    summary: SoaSummary

    def row(self, control_id: str) -> SoaRow:
        """The row of one control.

        Raises:
            InvalidInput: the control is not in this statement.
        """
        for row in self.rows:
            if row.control_id == control_id:
                return row
        raise InvalidInput(
            f"control {control_id!r} is not in this Statement of Applicability "
            f"(catalogue {self.catalogue_version}); Annex A ids run from A.2.2 to A.10.4",
            field="control_id",
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what an evidence pack can store as ``soa.json``)."""
        return {
            "standard": self.standard,
            "catalogue_version": self.catalogue_version,
            "generated_at": self.generated_at,
            "summary": self.summary.to_dict(),
            "rows": [row.to_dict() for row in self.rows],
        }


def validate_entry(entry: SoaEntry, catalogue: Catalogue) -> None:
    """Refuse a decision the statement could not stand behind.

    Call it before storing an entry, so people hear at once what to fix.

    Raises:
        InvalidInput: the control is unknown, the status is not one of
            :data:`SOA_IMPLEMENTATION_STATUSES`, an excluded control has no justification, or
            the status contradicts the decision (the message names the control and the fix).
    """
    control = entry.control_id
    if not catalogue.has_control(control):
        raise InvalidInput(
            f"control_id: {control!r} is not an Annex A control in catalogue "
            f"{catalogue.version}; use an id from A.2.2 to A.10.4",
            field="control_id",
        )
    status = entry.status
    if status not in SOA_IMPLEMENTATION_STATUSES:
        raise InvalidInput(
            f"{control}: status {status!r} is not an implementation status; use one of "
            f"{', '.join(SOA_IMPLEMENTATION_STATUSES)}",
            field="status",
        )
    if entry.applicable is False and not entry.justification.strip():
        raise InvalidInput(
            f"{control}: a control marked not applicable needs a justification; "
            "say why it does not apply",
            field="justification",
        )
    if entry.applicable is False and status != "not_applicable":
        raise InvalidInput(
            f"{control}: a control marked not applicable has status not_applicable, not {status}",
            field="status",
        )
    if entry.applicable is not False and status == "not_applicable":
        raise InvalidInput(
            f"{control}: status not_applicable is only for excluded controls; set applicable "
            "to false with a justification, or choose another status",
            field="status",
        )


def build_soa(
    catalogue: Catalogue,
    entries: Iterable[SoaEntry],
    latest_checks: Sequence[ControlCheckResult],
) -> StatementOfApplicability:
    """Join people's decisions and the latest check results over the catalogue's controls.

    Args:
        catalogue: the controls; the statement has exactly one row per control.
        entries: at most one decision per control; controls without one read "not yet decided".
        latest_checks: check results; where a check ran more than once, the newest counts.
            A result evidences the controls it names and those the catalogue maps it to.

    Returns:
        The statement, stamped with the catalogue's version and the time it was generated.

    Raises:
        InvalidInput: an entry names an unknown control, a control has two entries, or an
            entry fails :func:`validate_entry` (the message names the control).
    """
    decisions: dict[str, SoaEntry] = {}
    for entry in entries:
        validate_entry(entry, catalogue)
        if entry.control_id in decisions:
            raise InvalidInput(
                f"{entry.control_id}: two decisions given for one control; keep the latest",
                field="control_id",
            )
        decisions[entry.control_id] = entry
    newest = _newest_per_check(latest_checks)
    rows = tuple(
        _row(catalogue, control.id, decisions.get(control.id), newest)
        for control in catalogue.controls()
    )
    return StatementOfApplicability(
        standard=catalogue.standard,
        catalogue_version=catalogue.version,
        generated_at=isoformat_utc(now_utc()),
        rows=rows,
        summary=_summary(rows),
    )


def _newest_per_check(results: Sequence[ControlCheckResult]) -> list[ControlCheckResult]:
    """One result per check id: the newest by ``checked_at`` (the later one given on a tie)."""
    newest: dict[str, ControlCheckResult] = {}
    for result in results:
        held = newest.get(result.check_id)
        if held is None or result.checked_at >= held.checked_at:
            newest[result.check_id] = result
    return list(newest.values())


def _row(
    catalogue: Catalogue,
    control_id: str,
    entry: SoaEntry | None,
    results: list[ControlCheckResult],
) -> SoaRow:
    control = catalogue.control(control_id)
    mine = [r for r in results if control_id in r.controls or r.check_id in control.checks]
    check_ids = tuple(dict.fromkeys([*control.checks, *(r.check_id for r in mine)]))
    status, summary = _check_state(mine, has_checks=bool(check_ids))
    decided = entry or SoaEntry(control_id=control_id)
    return SoaRow(
        control_id=control_id,
        group=control.group,
        group_title=catalogue.group(control.group).title,
        title=control.title,
        applicable=decided.applicable,
        justification=decided.justification,
        implementation_status=decided.status,
        owner=decided.owner,
        evidence=tuple(decided.evidence),
        check_status=status,
        check_ids=check_ids,
        check_summary=summary,
        checked_at=max((r.checked_at for r in mine), default=""),
        updated_at=decided.updated_at,
        updated_by=decided.updated_by,
    )


def _check_state(results: list[ControlCheckResult], *, has_checks: bool) -> tuple[str, str]:
    """The worst status (fail > warn > pass) and what those results said; not-yet-available
    results count only when nothing else is there."""
    if not has_checks:
        return NO_CHECK, ""
    if not results:
        return NOT_RUN, ""
    judged = [r for r in results if r.status in _SEVERITY]
    if not judged:
        return CheckStatus.NOT_YET_AVAILABLE.value, "; ".join(r.summary for r in results)
    worst = max(judged, key=lambda r: _SEVERITY[r.status]).status
    return worst.value, "; ".join(r.summary for r in judged if r.status == worst)


def _summary(rows: Sequence[SoaRow]) -> SoaSummary:
    implementation = Counter(row.implementation_status for row in rows)
    checks = Counter(row.check_status for row in rows)
    return SoaSummary(
        controls=len(rows),
        applicable=sum(1 for row in rows if row.applicable is True),
        not_applicable=sum(1 for row in rows if row.applicable is False),
        undecided=sum(1 for row in rows if row.applicable is None),
        implementation={status: implementation[status] for status in SOA_IMPLEMENTATION_STATUSES},
        checks={state: checks[state] for state in CHECK_STATES},
    )
