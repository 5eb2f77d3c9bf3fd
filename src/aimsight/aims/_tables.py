"""Tables of the AI management system's records (ISO/IEC 42001): inventory, policy, concerns,
risks, impact assessments, objectives, incidents, nonconformities, suppliers, the Statement of
Applicability, control check runs, internal audits and management reviews.

Lists and JSON documents (stakeholders, linked controls, evidence, review inputs...) are stored
as text, as the registry and identity tables do, so SQLite and PostgreSQL hold them alike.
Times are ISO 8601 UTC text (32 characters); calendar dates are ``YYYY-MM-DD`` text.
Only :class:`aimsight.aims._records.AimsRecords` reads or writes these tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = [
    "AISystemRow",
    "AuditFindingRow",
    "AuditProgrammeRow",
    "AuditRow",
    "ChecklistItemRow",
    "CheckResultRow",
    "CheckRunRow",
    "ConcernRow",
    "CorrectiveActionRow",
    "EffectivenessCheckRow",
    "ImpactAssessmentRow",
    "IncidentCommunicationRow",
    "IncidentRow",
    "IncidentStepRow",
    "KpiValueRow",
    "ManagementReviewRow",
    "NonconformityRow",
    "ObjectiveRow",
    "PolicyVersionRow",
    "ReviewActionRow",
    "RiskRow",
    "SoaEntryRow",
    "SupplierAssessmentRow",
]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")
_ID = 40
_PERSON = 200
_TIME = 32
_DATE = 10


class AISystemRow(Base):
    """One AI system in the inventory (4.3, A.4); lists are JSON text."""

    __tablename__ = "aims_systems"

    system_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(String(_PERSON))
    owner_role: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(Text)
    intended_use: Mapped[str] = mapped_column(Text)
    in_scope: Mapped[bool] = mapped_column(Boolean)
    scope_justification: Mapped[str] = mapped_column(Text)
    stakeholders: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str] = mapped_column(String(16))
    components: Mapped[str] = mapped_column(Text)
    third_party: Mapped[str] = mapped_column(Text)
    high_stakes: Mapped[bool] = mapped_column(Boolean)
    extra: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(_TIME))
    updated_at: Mapped[str] = mapped_column(String(_TIME))
    updated_by: Mapped[str] = mapped_column(String(_PERSON))


class PolicyVersionRow(Base):
    """One approved version of the AI policy (A.2) and when it is next reviewed."""

    __tablename__ = "aims_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(_PERSON))
    effective: Mapped[str] = mapped_column(String(_DATE))
    next_review: Mapped[str] = mapped_column(String(_DATE))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))


class ConcernRow(Base):
    """A concern reported through the channel (A.3.3); ``reporter`` is ``None`` if anonymous."""

    __tablename__ = "aims_concerns"

    concern_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(String(_PERSON))
    system_id: Mapped[str | None] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[str] = mapped_column(String(_TIME))
    updated_at: Mapped[str] = mapped_column(String(_TIME))
    triaged_by: Mapped[str | None] = mapped_column(String(_PERSON))


class RiskRow(Base):
    """One entry of the risk register (6.1.2, 8.2) with its treatment (6.1.3, 8.3)."""

    __tablename__ = "aims_risks"

    risk_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    risk: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100))
    system_id: Mapped[str | None] = mapped_column(String(_ID), index=True)
    owner: Mapped[str] = mapped_column(String(_PERSON))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    treatment: Mapped[str | None] = mapped_column(String(16))
    treatment_plan: Mapped[str] = mapped_column(Text)
    controls: Mapped[str] = mapped_column(Text)
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    next_review: Mapped[str | None] = mapped_column(String(_DATE))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    updated_at: Mapped[str] = mapped_column(String(_TIME))
    updated_by: Mapped[str] = mapped_column(String(_PERSON))


class ImpactAssessmentRow(Base):
    """An AI system impact assessment (6.1.4, 8.4, A.5); lists are JSON text."""

    __tablename__ = "aims_impact_assessments"

    assessment_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(_ID), index=True)
    affected: Mapped[str] = mapped_column(Text)
    harms: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    mitigations: Mapped[str] = mapped_column(Text)
    signed_off_by: Mapped[str | None] = mapped_column(String(_PERSON))
    signed_off_at: Mapped[str | None] = mapped_column(String(_TIME))
    expires_on: Mapped[str] = mapped_column(String(_DATE))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))


class ObjectiveRow(Base):
    """An AI objective (6.2) whose KPI is a live metric, with its target and direction."""

    __tablename__ = "aims_objectives"

    objective_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    objective: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(_PERSON))
    metric: Mapped[str] = mapped_column(String(100))
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))


class KpiValueRow(Base):
    """One reading of an objective's KPI: the trend is these rows in time order."""

    __tablename__ = "aims_kpi_values"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    objective_id: Mapped[str] = mapped_column(String(_ID))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[str] = mapped_column(String(_TIME))
    recorded_by: Mapped[str] = mapped_column(String(_PERSON))

    __table_args__ = (Index("ix_aims_kpi_values_objective", "objective_id", "at"),)


class IncidentRow(Base):
    """An AI incident (A.8.4); its response timeline and communications are rows of their own."""

    __tablename__ = "aims_incidents"

    incident_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8))
    system_id: Mapped[str | None] = mapped_column(String(_ID))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))
    updated_at: Mapped[str] = mapped_column(String(_TIME))


class IncidentStepRow(Base):
    """One step of an incident's response: detected, acknowledged, contained or resolved."""

    __tablename__ = "aims_incident_steps"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(_ID), index=True)
    step: Mapped[str] = mapped_column(String(16))
    at: Mapped[str] = mapped_column(String(_TIME))
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(_PERSON))


class IncidentCommunicationRow(Base):
    """Who was told what about an incident, and when."""

    __tablename__ = "aims_incident_communications"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(_ID), index=True)
    audience: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(_TIME))
    recorded_by: Mapped[str] = mapped_column(String(_PERSON))


class NonconformityRow(Base):
    """A nonconformity (10.2): where it came from, its root cause, open or closed."""

    __tablename__ = "aims_nonconformities"

    nc_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    system_id: Mapped[str | None] = mapped_column(String(_ID))
    root_cause: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[str] = mapped_column(String(_TIME))
    raised_by: Mapped[str] = mapped_column(String(_PERSON))
    closed_at: Mapped[str | None] = mapped_column(String(_TIME))
    closed_by: Mapped[str | None] = mapped_column(String(_PERSON))


class CorrectiveActionRow(Base):
    """A corrective action of a nonconformity, with its owner and due date."""

    __tablename__ = "aims_corrective_actions"

    action_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    nc_id: Mapped[str] = mapped_column(String(_ID), index=True)
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(_PERSON))
    due: Mapped[str] = mapped_column(String(_DATE))
    status: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[str | None] = mapped_column(String(_TIME))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))


class EffectivenessCheckRow(Base):
    """A check of whether a nonconformity's corrective actions worked."""

    __tablename__ = "aims_effectiveness_checks"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    nc_id: Mapped[str] = mapped_column(String(_ID), index=True)
    checked_on: Mapped[str] = mapped_column(String(_DATE))
    effective: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[str] = mapped_column(Text)
    checked_by: Mapped[str] = mapped_column(String(_PERSON))
    recorded_at: Mapped[str] = mapped_column(String(_TIME))


class SupplierAssessmentRow(Base):
    """An assessment of a supplier or third-party AI component (A.10.3)."""

    __tablename__ = "aims_supplier_assessments"

    assessment_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    component: Mapped[str] = mapped_column(String(200), index=True)
    supplier: Mapped[str] = mapped_column(String(200))
    assessed_by: Mapped[str] = mapped_column(String(_PERSON))
    assessed_at: Mapped[str] = mapped_column(String(_TIME))
    outcome: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text)
    next_review: Mapped[str | None] = mapped_column(String(_DATE))


class SoaEntryRow(Base):
    """What the organisation says about one Annex A control in its Statement of Applicability.

    ``evidence`` is a JSON list of links (ledger entries, documents, check ids...).
    """

    __tablename__ = "aims_soa_entries"

    control_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    applicable: Mapped[bool] = mapped_column(Boolean)
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(String(_PERSON))
    evidence: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(String(_TIME))
    updated_by: Mapped[str] = mapped_column(String(_PERSON))


class CheckRunRow(Base):
    """One run of the automated control checks; ``counts`` is JSON (status -> number)."""

    __tablename__ = "aims_check_runs"

    run_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    run_by: Mapped[str] = mapped_column(String(_PERSON))
    run_at: Mapped[str] = mapped_column(String(_TIME), index=True)
    counts: Mapped[str] = mapped_column(Text)
    results_sha256: Mapped[str] = mapped_column(String(64))


class CheckResultRow(Base):
    """One check's result in one run; lists (controls, evidence, findings) are JSON text."""

    __tablename__ = "aims_check_results"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(_ID), index=True)
    check_id: Mapped[str] = mapped_column(String(100))
    controls: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    findings: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[str] = mapped_column(String(_TIME))

    __table_args__ = (Index("ix_aims_check_results_check", "check_id", "checked_at"),)


class AuditProgrammeRow(Base):
    """An internal audit programme (9.2.2): the period it covers, its scope and criteria."""

    __tablename__ = "aims_audit_programmes"

    programme_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    period_start: Mapped[str] = mapped_column(String(_DATE))
    period_end: Mapped[str] = mapped_column(String(_DATE))
    scope: Mapped[str] = mapped_column(Text)
    criteria: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(_TIME))
    created_by: Mapped[str] = mapped_column(String(_PERSON))


class AuditRow(Base):
    """One internal audit in a programme: planned, in progress, completed or cancelled."""

    __tablename__ = "aims_audits"

    audit_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(_ID), index=True)
    title: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    auditor: Mapped[str] = mapped_column(String(_PERSON))
    planned_on: Mapped[str] = mapped_column(String(_DATE))
    held_on: Mapped[str | None] = mapped_column(String(_DATE))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(_TIME))
    updated_at: Mapped[str] = mapped_column(String(_TIME))
    updated_by: Mapped[str] = mapped_column(String(_PERSON))


class ChecklistItemRow(Base):
    """One item of an audit's checklist: an automated check id or a question for people."""

    __tablename__ = "aims_audit_checklist"

    item_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    audit_id: Mapped[str] = mapped_column(String(_ID), index=True)
    position: Mapped[int] = mapped_column(Integer)
    check_id: Mapped[str | None] = mapped_column(String(100))
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(_PERSON))
    answered_at: Mapped[str | None] = mapped_column(String(_TIME))


class AuditFindingRow(Base):
    """A finding of an audit; ``nc_id`` names the nonconformity raised from it, if any."""

    __tablename__ = "aims_audit_findings"

    finding_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    audit_id: Mapped[str] = mapped_column(String(_ID), index=True)
    item_id: Mapped[str | None] = mapped_column(String(_ID))
    severity: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    nc_id: Mapped[str | None] = mapped_column(String(_ID))
    raised_at: Mapped[str] = mapped_column(String(_TIME))
    raised_by: Mapped[str] = mapped_column(String(_PERSON))


class ManagementReviewRow(Base):
    """A management review (9.3): who attended, the inputs it saw (JSON) and its pack file."""

    __tablename__ = "aims_management_reviews"

    review_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    held_on: Mapped[str] = mapped_column(String(_DATE))
    attendees: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    pack_path: Mapped[str | None] = mapped_column(String(500))
    pack_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[str] = mapped_column(String(_TIME))
    recorded_by: Mapped[str] = mapped_column(String(_PERSON))


class ReviewActionRow(Base):
    """An output of a management review (9.3.3): a decision someone owns, due by a date."""

    __tablename__ = "aims_review_actions"

    action_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    review_id: Mapped[str] = mapped_column(String(_ID), index=True)
    decision: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(_PERSON))
    due: Mapped[str] = mapped_column(String(_DATE))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(_TIME))
    closed_at: Mapped[str | None] = mapped_column(String(_TIME))
    closed_by: Mapped[str | None] = mapped_column(String(_PERSON))
