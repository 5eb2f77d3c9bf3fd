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
    AuditList,
    CheckResultPublic,
    CheckRunCreate,
    CheckRunPublic,
    CheckRunSummaryPublic,
    ChecksPublic,
    CheckTrendPublic,
    ConcernCreate,
    ConcernList,
    ConcernPublic,
    ImpactAssessmentCreate,
    ImpactAssessmentList,
    ImpactAssessmentPublic,
    IncidentCreate,
    IncidentList,
    IncidentPublic,
    ManagementReviewList,
    MetricList,
    NonconformityList,
    RiskCreate,
    RiskList,
    RiskPublic,
    SoaEntryPublic,
    SoaEntryUpdate,
    SoaPublic,
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
