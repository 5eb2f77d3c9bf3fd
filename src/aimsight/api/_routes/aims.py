"""/v1/aims: the AI management system (ISO/IEC 42001) over HTTP.

Routes parse, call :class:`~aimsight.aims.AimsService` and return a schema. Reads need
``aims:read`` and changes ``aims:write``; audits and management reviews are also open to
``audit:read``, the permission auditors and the privacy office hold. The caller's key is the
actor on the ledger.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Path as PathParam
from fastapi import Query
from fastapi.responses import Response

from aimsight.aims import SOA_MEDIA_TYPES
from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import AimsDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import (
    AimsCataloguePublic,
    AISystemCreate,
    AISystemList,
    AISystemPublic,
    AuditCreate,
    AuditFindingCreate,
    AuditFindingResult,
    AuditList,
    AuditProgrammeCreate,
    AuditProgrammeList,
    AuditProgrammePublic,
    AuditPublic,
    AuditUpdate,
    ChecklistAnswer,
    ChecklistItemPublic,
    CheckResultPublic,
    CheckRunCreate,
    CheckRunPublic,
    CheckRunSummaryPublic,
    ChecksPublic,
    CheckTrendPublic,
    ConcernCreate,
    ConcernList,
    ConcernPublic,
    ConcernTriage,
    CorrectiveActionCreate,
    CorrectiveActionPublic,
    EffectivenessCheckCreate,
    EffectivenessCheckPublic,
    ImpactAssessmentCreate,
    ImpactAssessmentList,
    ImpactAssessmentPublic,
    IncidentCommunicationCreate,
    IncidentCreate,
    IncidentList,
    IncidentPublic,
    IncidentStepCreate,
    KpiReadingCreate,
    KpiReadingPublic,
    KpiTrend,
    ManagementReviewCreate,
    ManagementReviewList,
    ManagementReviewPublic,
    MetricList,
    NonconformityCreate,
    NonconformityList,
    NonconformityPublic,
    ObjectiveCreate,
    ObjectiveList,
    ObjectivePublic,
    PolicyVersionCreate,
    PolicyVersionList,
    PolicyVersionPublic,
    ReviewActionClose,
    ReviewActionCreate,
    ReviewActionList,
    ReviewActionPublic,
    ReviewPackPublic,
    RiskCreate,
    RiskList,
    RiskPublic,
    RolesMatrix,
    RootCauseUpdate,
    SoaEntryPublic,
    SoaEntryUpdate,
    SoaPublic,
    SupplierAssessmentCreate,
    SupplierAssessmentList,
    SupplierAssessmentPublic,
)
from aimsight.security import ApiKey, Permission

__all__ = ["router"]

router = new_router("aims")

SystemQuery = Annotated[
    str | None, Query(max_length=40, description="Only those of this AI system.")
]
ControlParam = Annotated[
    str, PathParam(min_length=1, max_length=16, description="An Annex A control id, e.g. A.6.2.4.")
]
IdParam = Annotated[str, PathParam(min_length=1, max_length=40, description="A record's id.")]
_SOA_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The statement as JSON, or as a CSV, XLSX, HTML or PDF file.",
        "content": {media: {} for media in SOA_MEDIA_TYPES.values()},
    }
}
_ZIP_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The evidence pack: a zip with a SHA-256 manifest of every file.",
        "content": {"application/zip": {}},
    }
}


def _actor(caller: ApiKey) -> str:
    return f"api:{caller.key_id}"


# -- catalogue and Statement of Applicability ---------------------------------------------


@router.get("/aims/catalogue", **guarded(Permission.AIMS_READ))
def get_catalogue(aims: AimsDep) -> AimsCataloguePublic:
    """The clauses and the 38 Annex A controls, with the checks that evidence each control."""
    return AimsCataloguePublic.model_validate(aims.catalogue().to_dict())


@router.get(
    "/aims/soa",
    response_model=SoaPublic,
    responses=_SOA_RESPONSES,
    **guarded(Permission.AIMS_READ),
)
def get_soa(
    aims: AimsDep,
    format: Annotated[
        Literal["json", "csv", "xlsx", "html", "pdf"],
        Query(description="`json`, or a file: `csv`, `xlsx`, `html` or `pdf`."),
    ] = "json",
) -> SoaPublic | Response:
    """The Statement of Applicability: every Annex A control with its decision,
    justification, implementation status, owner, evidence and latest check result."""
    if format == "json":
        return SoaPublic.model_validate(aims.soa().to_dict())
    return Response(
        aims.export_soa(format),
        media_type=SOA_MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="statement-of-applicability.{format}"'
        },
    )


@router.put("/aims/soa/{control_id}", **guarded(Permission.AIMS_WRITE))
def put_soa_entry(
    control_id: ControlParam, body: SoaEntryUpdate, aims: AimsDep, caller: CallerDep
) -> SoaEntryPublic:
    """Decide whether a control applies, why, how far it is implemented and who owns it."""
    entry = aims.set_soa_entry(
        control_id,
        actor=_actor(caller),
        applicable=body.applicable,
        justification=body.justification,
        status=body.status,
        owner=body.owner,
        evidence=body.evidence,
    )
    return SoaEntryPublic.model_validate(entry)


# -- automated control checks --------------------------------------------------------------


@router.post("/aims/checks", status_code=201, **guarded(Permission.AIMS_WRITE))
def run_checks(
    aims: AimsDep, caller: CallerDep, body: CheckRunCreate | None = None
) -> CheckRunPublic:
    """Run the automated control checks (all, or those `only` names) and keep the results."""
    run_id, results = aims.run_checks(
        actor=_actor(caller), only=None if body is None else body.only
    )
    return CheckRunPublic(
        run_id=run_id,
        results=[CheckResultPublic.model_validate(result.to_dict()) for result in results],
    )


@router.get("/aims/checks", **guarded(Permission.AIMS_READ))
def get_checks(aims: AimsDep) -> ChecksPublic:
    """The latest check run with its results, and each check's recent statuses."""
    runs = aims.records.check_runs(limit=1)
    return ChecksPublic(
        run=CheckRunSummaryPublic.model_validate(runs[0].to_dict()) if runs else None,
        results=[CheckResultPublic.model_validate(r.to_dict()) for r in aims.latest_checks()],
        trends=[CheckTrendPublic.model_validate(t.to_dict()) for t in aims.check_trends()],
    )


@router.get("/aims/metrics", **guarded(Permission.AIMS_READ))
def get_metrics(aims: AimsDep) -> MetricList:
    """A reading of every live metric objectives can bind to."""
    return MetricList.model_validate({"metrics": [reading.to_dict() for reading in aims.metrics()]})


# -- records -------------------------------------------------------------------------------


@router.get("/aims/systems", **guarded(Permission.AIMS_READ))
def list_systems(aims: AimsDep) -> AISystemList:
    """The AI systems inventory, oldest first."""
    return AISystemList.model_validate(
        {"systems": [system.to_dict() for system in aims.records.ai_systems()]}
    )


@router.post("/aims/systems", status_code=201, **guarded(Permission.AIMS_WRITE))
def create_system(body: AISystemCreate, aims: AimsDep, caller: CallerDep) -> AISystemPublic:
    """Add an AI system to the inventory."""
    values = body.model_dump()
    system = aims.records.create_system(values.pop("name"), actor=_actor(caller), **values)
    return AISystemPublic.model_validate(system.to_dict())


@router.get("/aims/risks", **guarded(Permission.AIMS_READ))
def list_risks(aims: AimsDep, system_id: SystemQuery = None) -> RiskList:
    """The risk register (of one AI system with `system_id`), oldest first."""
    return RiskList.model_validate(
        {"risks": [risk.to_dict() for risk in aims.records.risks(system_id)]}
    )


@router.post("/aims/risks", status_code=201, **guarded(Permission.AIMS_WRITE))
def create_risk(body: RiskCreate, aims: AimsDep, caller: CallerDep) -> RiskPublic:
    """Add a risk to the register; its level comes from the configured scales."""
    values = body.model_dump()
    risk = aims.records.add_risk(values.pop("risk"), actor=_actor(caller), **values)
    return RiskPublic.model_validate(risk.to_dict())


@router.get("/aims/impact-assessments", **guarded(Permission.AIMS_READ))
def list_impact_assessments(aims: AimsDep, system_id: SystemQuery = None) -> ImpactAssessmentList:
    """Impact assessments (of one AI system with `system_id`), oldest first."""
    found = aims.records.impact_assessments(system_id)
    return ImpactAssessmentList.model_validate({"assessments": [item.to_dict() for item in found]})


@router.post("/aims/impact-assessments", status_code=201, **guarded(Permission.AIMS_WRITE))
def create_impact_assessment(
    body: ImpactAssessmentCreate, aims: AimsDep, caller: CallerDep
) -> ImpactAssessmentPublic:
    """Record an impact assessment of an AI system, signed off now or later."""
    values = body.model_dump()
    added = aims.records.add_impact_assessment(
        values.pop("system_id"), actor=_actor(caller), **values
    )
    return ImpactAssessmentPublic.model_validate(added.to_dict())


@router.get("/aims/incidents", **guarded(Permission.AIMS_READ))
def list_incidents(aims: AimsDep) -> IncidentList:
    """Incidents with their response timelines, oldest first."""
    return IncidentList.model_validate(
        {"incidents": [item.to_dict() for item in aims.records.incidents()]}
    )


@router.post("/aims/incidents", status_code=201, **guarded(Permission.AIMS_WRITE))
def open_incident(body: IncidentCreate, aims: AimsDep, caller: CallerDep) -> IncidentPublic:
    """Record an AI incident."""
    values = body.model_dump()
    incident = aims.records.open_incident(values.pop("title"), actor=_actor(caller), **values)
    return IncidentPublic.model_validate(incident.to_dict())


@router.get("/aims/nonconformities", **guarded(Permission.AIMS_READ))
def list_nonconformities(aims: AimsDep) -> NonconformityList:
    """Nonconformities with their corrective actions and effectiveness checks."""
    return NonconformityList.model_validate(
        {"nonconformities": [item.to_dict() for item in aims.records.nonconformities()]}
    )


@router.get("/aims/concerns", **guarded(Permission.AIMS_READ))
def list_concerns(aims: AimsDep) -> ConcernList:
    """Reported concerns, oldest first."""
    return ConcernList.model_validate(
        {"concerns": [item.to_dict() for item in aims.records.concerns()]}
    )


@router.post("/aims/concerns", status_code=201, **guarded(Permission.AIMS_WRITE))
def report_concern(body: ConcernCreate, aims: AimsDep) -> ConcernPublic:
    """Report a concern about an AI system (anonymous unless `reporter` is given); the
    caller's key is not recorded with it."""
    concern = aims.records.report_concern(
        body.text, reporter=body.reporter, system_id=body.system_id
    )
    return ConcernPublic.model_validate(concern.to_dict())


@router.post(
    "/aims/incidents/{incident_id}/steps", status_code=201, **guarded(Permission.AIMS_WRITE)
)
def record_incident_step(
    incident_id: IdParam, body: IncidentStepCreate, aims: AimsDep, caller: CallerDep
) -> IncidentPublic:
    """Record that the response to an incident reached a step (acknowledged, contained,
    resolved); steps move forward in time and in order."""
    incident = aims.records.record_incident_step(
        incident_id, body.step, actor=_actor(caller), at=body.at, note=body.note
    )
    return IncidentPublic.model_validate(incident.to_dict())


@router.post(
    "/aims/incidents/{incident_id}/communications",
    status_code=201,
    **guarded(Permission.AIMS_WRITE),
)
def record_incident_communication(
    incident_id: IdParam, body: IncidentCommunicationCreate, aims: AimsDep, caller: CallerDep
) -> IncidentPublic:
    """Record that an audience (customers, a regulator, the board...) was told about it."""
    incident = aims.records.add_incident_communication(
        incident_id, actor=_actor(caller), audience=body.audience, message=body.message, at=body.at
    )
    return IncidentPublic.model_validate(incident.to_dict())


@router.post("/aims/nonconformities", status_code=201, **guarded(Permission.AIMS_WRITE))
def raise_nonconformity(
    body: NonconformityCreate, aims: AimsDep, caller: CallerDep
) -> NonconformityPublic:
    """Record a nonconformity (findings of audits become one with `raise_nonconformity`)."""
    values = body.model_dump()
    raised = aims.records.raise_nonconformity(
        values.pop("description"), actor=_actor(caller), **values
    )
    return NonconformityPublic.model_validate(raised.to_dict())


@router.put("/aims/nonconformities/{nc_id}/root-cause", **guarded(Permission.AIMS_WRITE))
def set_root_cause(
    nc_id: IdParam, body: RootCauseUpdate, aims: AimsDep, caller: CallerDep
) -> NonconformityPublic:
    """Record (or correct) the root cause of an open nonconformity."""
    updated = aims.records.set_root_cause(nc_id, body.root_cause, actor=_actor(caller))
    return NonconformityPublic.model_validate(updated.to_dict())


@router.post(
    "/aims/nonconformities/{nc_id}/actions", status_code=201, **guarded(Permission.AIMS_WRITE)
)
def add_corrective_action(
    nc_id: IdParam, body: CorrectiveActionCreate, aims: AimsDep, caller: CallerDep
) -> CorrectiveActionPublic:
    """Add a corrective action, with its owner and due date, to an open nonconformity."""
    added = aims.records.add_corrective_action(
        nc_id, actor=_actor(caller), action=body.action, owner=body.owner, due=body.due
    )
    return CorrectiveActionPublic.model_validate(added.to_dict())


@router.post("/aims/corrective-actions/{action_id}/complete", **guarded(Permission.AIMS_WRITE))
def complete_corrective_action(
    action_id: IdParam, aims: AimsDep, caller: CallerDep
) -> CorrectiveActionPublic:
    """Mark a corrective action done."""
    done = aims.records.complete_corrective_action(action_id, actor=_actor(caller))
    return CorrectiveActionPublic.model_validate(done.to_dict())


@router.post(
    "/aims/nonconformities/{nc_id}/effectiveness",
    status_code=201,
    **guarded(Permission.AIMS_WRITE),
)
def record_effectiveness_check(
    nc_id: IdParam, body: EffectivenessCheckCreate, aims: AimsDep, caller: CallerDep
) -> EffectivenessCheckPublic:
    """Record whether a nonconformity's corrective actions worked."""
    check = aims.records.record_effectiveness_check(
        nc_id,
        actor=_actor(caller),
        effective=body.effective,
        result=body.result,
        checked_by=body.checked_by,
        checked_on=body.checked_on,
    )
    return EffectivenessCheckPublic.model_validate(check.to_dict())


@router.post("/aims/nonconformities/{nc_id}/close", **guarded(Permission.AIMS_WRITE))
def close_nonconformity(nc_id: IdParam, aims: AimsDep, caller: CallerDep) -> NonconformityPublic:
    """Close a nonconformity: it needs a root cause, no open corrective actions and a latest
    effectiveness check that found them effective (409 otherwise, saying which)."""
    closed = aims.records.close_nonconformity(nc_id, actor=_actor(caller))
    return NonconformityPublic.model_validate(closed.to_dict())


@router.post("/aims/concerns/{concern_id}/triage", **guarded(Permission.AIMS_WRITE))
def triage_concern(
    concern_id: IdParam, body: ConcernTriage, aims: AimsDep, caller: CallerDep
) -> ConcernPublic:
    """Move a concern to investigating, or close it with what was found and done."""
    concern = aims.records.triage_concern(
        concern_id, status=body.status, actor=_actor(caller), outcome=body.outcome
    )
    return ConcernPublic.model_validate(concern.to_dict())


# -- policy, roles, objectives and suppliers -----------------------------------------------


@router.get("/aims/policies", **guarded(Permission.AIMS_READ))
def list_policies(aims: AimsDep) -> PolicyVersionList:
    """Every version of the AI policy, oldest first, and the one in effect today."""
    current = aims.records.current_policy()
    return PolicyVersionList.model_validate(
        {
            "versions": [item.to_dict() for item in aims.records.policy_versions()],
            "current_version": None if current is None else current.version,
        }
    )


@router.post("/aims/policies", status_code=201, **guarded(Permission.AIMS_WRITE))
def add_policy_version(
    body: PolicyVersionCreate, aims: AimsDep, caller: CallerDep
) -> PolicyVersionPublic:
    """Record a new approved version of the AI policy (numbered 1, 2, ...)."""
    version = aims.records.add_policy_version(
        body.text,
        actor=_actor(caller),
        approved_by=body.approved_by,
        effective=body.effective,
        next_review=body.next_review,
    )
    return PolicyVersionPublic.model_validate(version.to_dict())


@router.get("/aims/roles", **guarded(Permission.AIMS_READ))
def get_roles_matrix(aims: AimsDep) -> RolesMatrix:
    """The roles and responsibilities matrix: each application role's permissions, AIMS
    duties and the keys that hold it now."""
    return RolesMatrix.model_validate({"roles": aims.records.roles_matrix()})


@router.get("/aims/objectives", **guarded(Permission.AIMS_READ))
def list_objectives(aims: AimsDep) -> ObjectiveList:
    """Every objective with its latest KPI reading and whether that meets the target."""
    return ObjectiveList.model_validate(
        {"objectives": [item.to_dict() for item in aims.records.objectives()]}
    )


@router.post("/aims/objectives", status_code=201, **guarded(Permission.AIMS_WRITE))
def add_objective(body: ObjectiveCreate, aims: AimsDep, caller: CallerDep) -> ObjectivePublic:
    """Set an objective measured by a live metric against a target."""
    values = body.model_dump()
    objective = aims.records.add_objective(values.pop("objective"), actor=_actor(caller), **values)
    return ObjectivePublic.model_validate(objective.to_dict())


@router.get("/aims/objectives/{objective_id}/kpi", **guarded(Permission.AIMS_READ))
def get_kpi_trend(
    objective_id: IdParam,
    aims: AimsDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many readings.")] = 100,
) -> KpiTrend:
    """The latest readings of an objective's KPI, oldest first."""
    readings = aims.records.kpi_trend(objective_id, limit=limit)
    return KpiTrend.model_validate(
        {"objective_id": objective_id, "readings": [item.to_dict() for item in readings]}
    )


@router.post(
    "/aims/objectives/{objective_id}/kpi", status_code=201, **guarded(Permission.AIMS_WRITE)
)
def record_kpi(
    objective_id: IdParam, aims: AimsDep, caller: CallerDep, body: KpiReadingCreate | None = None
) -> KpiReadingPublic:
    """Keep a reading of an objective's KPI: the `value` given, or else its live metric now
    (422 naming `value` when the metric has no value now)."""
    reading = aims.record_objective_kpi(
        objective_id, actor=_actor(caller), value=None if body is None else body.value
    )
    return KpiReadingPublic.model_validate(reading.to_dict())


@router.get("/aims/suppliers", **guarded(Permission.AIMS_READ))
def list_supplier_assessments(
    aims: AimsDep,
    component: Annotated[
        str | None, Query(max_length=200, description="Only those of this component.")
    ] = None,
) -> SupplierAssessmentList:
    """Supplier and third-party component assessments, oldest first."""
    found = aims.records.supplier_assessments(component)
    return SupplierAssessmentList.model_validate(
        {"assessments": [item.to_dict() for item in found]}
    )


@router.post("/aims/suppliers", status_code=201, **guarded(Permission.AIMS_WRITE))
def assess_supplier(
    body: SupplierAssessmentCreate, aims: AimsDep, caller: CallerDep
) -> SupplierAssessmentPublic:
    """Record an assessment of a supplier or third-party AI component."""
    values = body.model_dump()
    assessment = aims.records.assess_supplier(
        values.pop("component"), actor=_actor(caller), **values
    )
    return SupplierAssessmentPublic.model_validate(assessment.to_dict())


# -- audits and management reviews (auditors may read them) -------------------------------


@router.get("/aims/audits", **guarded(Permission.AUDIT_READ))
def list_audits(aims: AimsDep) -> AuditList:
    """Internal audit programmes and their audits with checklists and findings."""
    return AuditList.model_validate(
        {
            "programmes": [item.to_dict() for item in aims.records.audit_programmes()],
            "audits": [item.to_dict() for item in aims.records.audits()],
        }
    )


@router.get("/aims/reviews", **guarded(Permission.AUDIT_READ))
def list_reviews(aims: AimsDep) -> ManagementReviewList:
    """Management reviews with the inputs they saw, their pack digests and their actions."""
    return ManagementReviewList.model_validate(
        {"reviews": [item.to_dict() for item in aims.records.management_reviews()]}
    )


@router.get("/aims/audit-programmes", **guarded(Permission.AUDIT_READ))
def list_audit_programmes(aims: AimsDep) -> AuditProgrammeList:
    """Internal audit programmes, oldest period first."""
    return AuditProgrammeList.model_validate(
        {"programmes": [item.to_dict() for item in aims.records.audit_programmes()]}
    )


@router.post("/aims/audit-programmes", status_code=201, **guarded(Permission.AIMS_WRITE))
def add_audit_programme(
    body: AuditProgrammeCreate, aims: AimsDep, caller: CallerDep
) -> AuditProgrammePublic:
    """Set up an internal audit programme for a period."""
    programme = aims.records.add_audit_programme(actor=_actor(caller), **body.model_dump())
    return AuditProgrammePublic.model_validate(programme.to_dict())


@router.post("/aims/audits", status_code=201, **guarded(Permission.AIMS_WRITE))
def plan_audit(body: AuditCreate, aims: AimsDep, caller: CallerDep) -> AuditPublic:
    """Plan an audit within a programme; its checklist holds every automated check, then the
    manual `questions`."""
    values = body.model_dump()
    audit = aims.plan_audit(values.pop("programme_id"), actor=_actor(caller), **values)
    return AuditPublic.model_validate(audit.to_dict())


@router.get("/aims/audits/{audit_id}", **guarded(Permission.AUDIT_READ))
def get_audit(audit_id: IdParam, aims: AimsDep) -> AuditPublic:
    """One audit with its checklist and findings."""
    return AuditPublic.model_validate(aims.records.audit(audit_id).to_dict())


@router.patch("/aims/audits/{audit_id}", **guarded(Permission.AIMS_WRITE))
def update_audit(
    audit_id: IdParam, body: AuditUpdate, aims: AimsDep, caller: CallerDep
) -> AuditPublic:
    """Move an audit on: planned, in_progress, completed (with `held_on`) or cancelled."""
    audit = aims.records.update_audit(
        audit_id, actor=_actor(caller), status=body.status, held_on=body.held_on
    )
    return AuditPublic.model_validate(audit.to_dict())


@router.post("/aims/audits/{audit_id}/run", **guarded(Permission.AIMS_WRITE))
def run_audit(audit_id: IdParam, aims: AimsDep, caller: CallerDep) -> AuditPublic:
    """Run the automated checks now and answer the audit's automated checklist items from
    them; a planned audit moves to in progress."""
    return AuditPublic.model_validate(aims.run_audit(audit_id, actor=_actor(caller)).to_dict())


@router.post("/aims/checklist-items/{item_id}/answer", **guarded(Permission.AIMS_WRITE))
def answer_checklist_item(
    item_id: IdParam, body: ChecklistAnswer, aims: AimsDep, caller: CallerDep
) -> ChecklistItemPublic:
    """Record the answer to an audit checklist item (a manual question, or overrule an
    automated one) and its result."""
    item = aims.records.answer_checklist_item(
        item_id, actor=_actor(caller), result=body.result, answer=body.answer, notes=body.notes
    )
    return ChecklistItemPublic.model_validate(item.to_dict())


@router.post("/aims/audits/{audit_id}/findings", status_code=201, **guarded(Permission.AIMS_WRITE))
def add_finding(
    audit_id: IdParam, body: AuditFindingCreate, aims: AimsDep, caller: CallerDep
) -> AuditFindingResult:
    """Record a finding of an audit; with `raise_nonconformity` it also becomes a
    nonconformity (source `audit_finding`)."""
    finding = aims.records.add_finding(
        audit_id, actor=_actor(caller), severity=body.severity, text=body.text, item_id=body.item_id
    )
    raised = None
    if body.raise_nonconformity:
        raised = aims.records.raise_nonconformity_from_finding(
            finding.finding_id, actor=_actor(caller), system_id=body.system_id
        )
        finding = next(
            item
            for item in aims.records.audit(audit_id).findings
            if item.finding_id == finding.finding_id
        )
    return AuditFindingResult.model_validate(
        {
            "finding": finding.to_dict(),
            "nonconformity": None if raised is None else raised.to_dict(),
        }
    )


@router.post("/aims/reviews", status_code=201, **guarded(Permission.AIMS_WRITE))
def hold_management_review(
    aims: AimsDep, caller: CallerDep, body: ManagementReviewCreate | None = None
) -> ReviewPackPublic:
    """Compile the management review pack (the 9.3.2 inputs, as HTML and PDF) from the live
    system and record the review with it; the pack stays in the workspace, its SHA-256 on
    the ledger."""
    wanted = body or ManagementReviewCreate()
    files = aims.review_pack(
        actor=_actor(caller), since=wanted.since, attendees=wanted.attendees, held_on=wanted.held_on
    )
    root = aims.workspace.root
    return ReviewPackPublic(
        review=ManagementReviewPublic.model_validate(files.review.to_dict()),
        pack_sha256=files.review.pack_sha256,
        pdf_path=files.pdf_path.relative_to(root).as_posix(),
        html_path=files.html_path.relative_to(root).as_posix(),
    )


@router.post("/aims/reviews/{review_id}/actions", status_code=201, **guarded(Permission.AIMS_WRITE))
def add_review_action(
    review_id: IdParam, body: ReviewActionCreate, aims: AimsDep, caller: CallerDep
) -> ReviewActionPublic:
    """Record an output of a review: a decision or action, its owner and due date."""
    action = aims.records.add_review_action(
        review_id, actor=_actor(caller), decision=body.decision, owner=body.owner, due=body.due
    )
    return ReviewActionPublic.model_validate(action.to_dict())


@router.get("/aims/review-actions", **guarded(Permission.AUDIT_READ))
def list_review_actions(
    aims: AimsDep,
    status: Annotated[
        Literal["open", "closed"] | None, Query(description="Only actions in this status.")
    ] = None,
) -> ReviewActionList:
    """The actions management reviews decided, by due date."""
    return ReviewActionList.model_validate(
        {"actions": [item.to_dict() for item in aims.records.review_actions(status)]}
    )


@router.post("/aims/review-actions/{action_id}/close", **guarded(Permission.AIMS_WRITE))
def close_review_action(
    action_id: IdParam, body: ReviewActionClose, aims: AimsDep, caller: CallerDep
) -> ReviewActionPublic:
    """Close a review action with what came of it."""
    closed = aims.records.close_review_action(action_id, actor=_actor(caller), outcome=body.outcome)
    return ReviewActionPublic.model_validate(closed.to_dict())


# -- evidence ------------------------------------------------------------------------------


@router.post(
    "/aims/evidence-pack",
    response_class=Response,
    responses=_ZIP_RESPONSES,
    **guarded(Permission.AIMS_READ),
)
def build_evidence_pack(aims: AimsDep, caller: CallerDep) -> Response:
    """Build the evidence pack (SoA, check history, model cards, impact assessments, risk
    register, reports, the ledger head and a SHA-256 manifest) and return the zip.

    It reads what `aims:read` may read; building it is recorded on the ledger.
    """
    with tempfile.TemporaryDirectory(prefix="aimsight-evidence-") as folder:
        out = Path(folder) / "evidence-pack.zip"
        aims.evidence_pack(out, actor=_actor(caller))
        data = out.read_bytes()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="aimsight-evidence-pack.zip"'},
    )
