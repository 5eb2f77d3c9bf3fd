"""What the AIMS records hand out beyond the shared contract in :mod:`aimsight.aims._model`.

Plain frozen dataclasses with ``to_dict()`` giving JSON-ready dicts, so the CLI, the API, the
reports and the evidence pack show exactly the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

__all__ = [
    "Audit",
    "AuditFinding",
    "AuditProgramme",
    "ChecklistItem",
    "CheckRun",
    "Concern",
    "CorrectiveAction",
    "EffectivenessCheck",
    "Incident",
    "IncidentCommunication",
    "IncidentStep",
    "KpiReading",
    "ManagementReview",
    "Nonconformity",
    "Objective",
    "PolicyVersion",
    "ReviewAction",
    "Risk",
]


class _Plain:
    """``to_dict`` for a dataclass whose tuples should read as lists."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return cast(dict[str, Any], _listed(asdict(cast(Any, self))))


def _listed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _listed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_listed(item) for item in value]
    return value


@dataclass(frozen=True)
class PolicyVersion(_Plain):
    """One approved version of the AI policy (A.2) and its next review date."""

    version: int
    text: str
    text_sha256: str
    approved_by: str
    effective: str
    next_review: str
    created_at: str
    created_by: str


@dataclass(frozen=True)
class Concern(_Plain):
    """A concern about an AI system reported through the channel (A.3.3)."""

    concern_id: str
    text: str
    reporter: str | None  # None: reported anonymously
    system_id: str | None
    status: str  # "open", "investigating", "closed"
    outcome: str
    reported_at: str
    updated_at: str
    triaged_by: str | None


@dataclass(frozen=True)
class Risk(_Plain):
    """One entry of the risk register with its levels derived from the configured scales."""

    risk_id: str
    risk: str
    source: str
    system_id: str | None
    owner: str
    likelihood: int
    impact: int
    score: int
    level: str
    treatment: str | None  # "avoid", "mitigate", "transfer", "accept"
    treatment_plan: str
    controls: tuple[str, ...]
    residual_likelihood: int | None
    residual_impact: int | None
    residual_score: int | None
    residual_level: str | None
    next_review: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class KpiReading(_Plain):
    """One reading of an objective's KPI."""

    objective_id: str
    value: float
    at: str
    recorded_by: str


@dataclass(frozen=True)
class Objective(_Plain):
    """An AI objective (6.2) bound to a live metric, with its latest reading."""

    objective_id: str
    objective: str
    owner: str
    metric: str  # a name the metric resolver knows, e.g. "ingest.pass_rate"
    target: float
    direction: str  # "at_least" or "at_most"
    latest: KpiReading | None
    met: bool | None  # None until a reading exists
    created_at: str


@dataclass(frozen=True)
class IncidentStep(_Plain):
    """A step of an incident's response."""

    step: str  # "detected", "acknowledged", "contained", "resolved"
    at: str
    note: str
    recorded_by: str


@dataclass(frozen=True)
class IncidentCommunication(_Plain):
    """Who was told what about an incident, and when."""

    audience: str
    message: str
    at: str
    recorded_by: str


@dataclass(frozen=True)
class Incident(_Plain):
    """An AI incident (A.8.4): severity, response timeline and communications."""

    incident_id: str
    title: str
    severity: str  # "sev1" (worst) .. "sev4"
    system_id: str | None
    description: str
    status: str  # the latest step reached
    timeline: tuple[IncidentStep, ...]
    communications: tuple[IncidentCommunication, ...]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class CorrectiveAction(_Plain):
    """A corrective action of a nonconformity."""

    action_id: str
    nc_id: str
    action: str
    owner: str
    due: str
    status: str  # "open" or "done"
    done_at: str | None
    created_at: str


@dataclass(frozen=True)
class EffectivenessCheck(_Plain):
    """Whether a nonconformity's corrective actions worked, checked on a date by someone."""

    nc_id: str
    checked_on: str
    effective: bool
    result: str
    checked_by: str
    recorded_at: str


@dataclass(frozen=True)
class Nonconformity(_Plain):
    """A nonconformity (10.2) with its corrective actions and effectiveness checks."""

    nc_id: str
    description: str
    source: str  # "audit_finding", "check_failure", "incident", "concern", ...
    source_ref: str | None
    system_id: str | None
    root_cause: str
    status: str  # "open" or "closed"
    actions: tuple[CorrectiveAction, ...]
    effectiveness_checks: tuple[EffectivenessCheck, ...]
    raised_at: str
    raised_by: str
    closed_at: str | None
    closed_by: str | None


@dataclass(frozen=True)
class CheckRun(_Plain):
    """One run of the automated control checks: when, by whom, how many of each status."""

    run_id: str
    run_by: str
    run_at: str
    counts: dict[str, int]
    results_sha256: str


@dataclass(frozen=True)
class AuditProgramme(_Plain):
    """An internal audit programme (9.2.2)."""

    programme_id: str
    period_start: str
    period_end: str
    scope: str
    criteria: str
    created_at: str
    created_by: str


@dataclass(frozen=True)
class ChecklistItem(_Plain):
    """One checklist item: an automated check id or a manual question, and its answer."""

    item_id: str
    audit_id: str
    position: int
    check_id: str | None
    question: str | None
    answer: str
    result: str | None  # "conforming", "nonconforming", "observation", "not_applicable"...
    notes: str
    answered_by: str | None
    answered_at: str | None


@dataclass(frozen=True)
class AuditFinding(_Plain):
    """A finding of an audit; ``nc_id`` once a nonconformity was raised from it."""

    finding_id: str
    audit_id: str
    item_id: str | None
    severity: str  # "major", "minor", "observation", "opportunity"
    text: str
    nc_id: str | None
    raised_at: str
    raised_by: str


@dataclass(frozen=True)
class Audit(_Plain):
    """An internal audit (9.2) with its checklist and findings."""

    audit_id: str
    programme_id: str
    title: str
    scope: str
    auditor: str
    planned_on: str
    held_on: str | None
    status: str  # "planned", "in_progress", "completed", "cancelled"
    checklist: tuple[ChecklistItem, ...]
    findings: tuple[AuditFinding, ...]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ReviewAction(_Plain):
    """An output of a management review: a decision someone owns, due by a date."""

    action_id: str
    review_id: str
    decision: str
    owner: str
    due: str
    status: str  # "open" or "closed"
    outcome: str
    created_at: str
    closed_at: str | None
    closed_by: str | None


@dataclass(frozen=True)
class ManagementReview(_Plain):
    """A management review (9.3): attendees, the inputs it saw, its pack and its actions."""

    review_id: str
    held_on: str
    attendees: tuple[str, ...]
    inputs: dict[str, Any]
    pack_path: str | None
    pack_sha256: str | None
    actions: tuple[ReviewAction, ...]
    recorded_at: str
    recorded_by: str
