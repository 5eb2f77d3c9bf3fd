"""The AI management system after ISO/IEC 42001, with evidence read from the running system.

A catalogue of clauses 4-10 and Annex A's 38 controls (ids and titles in our own words), the
records a management system keeps (AI systems inventory, policy, roles, concerns, risks,
impact assessments, objectives bound to live metrics, incidents, nonconformities, supplier
assessments, audits, management reviews), automated control checks over the live system, the
Statement of Applicability and its exports, review packs and evidence packages.
"""

from aimsight.aims._catalogue import (
    Catalogue,
    Clause,
    Control,
    ObjectiveGroup,
    load_catalogue,
    shipped_catalogue,
)
from aimsight.aims._checks import CHECKS, ControlCheck, find_checks, run_check, run_checks
from aimsight.aims._checks_base import AimsRecordsReader, CheckContext, CheckOutcome
from aimsight.aims._evidence import (
    EvidenceManifest,
    PackVerification,
    build_evidence_pack,
    verify_pack,
)
from aimsight.aims._export import SOA_MEDIA_TYPES, export_soa
from aimsight.aims._metrics import METRICS, LiveMetrics, MetricReading
from aimsight.aims._model import (
    AISystem,
    CheckStatus,
    ControlCheckResult,
    Evidence,
    ImpactAssessment,
    SupplierAssessment,
)
from aimsight.aims._record_types import Audit, Incident, Nonconformity, Risk
from aimsight.aims._records import AimsRecords
from aimsight.aims._review_pack import ReviewPack, compile_review_pack, record_review_with_pack
from aimsight.aims._service import AimsService, CheckTrend, ReviewPackFiles
from aimsight.aims._soa import SoaEntry, SoaRow, StatementOfApplicability, build_soa

__all__ = [
    "CHECKS",
    "METRICS",
    "SOA_MEDIA_TYPES",
    "AISystem",
    "AimsRecords",
    "AimsService",
    "Audit",
    "AimsRecordsReader",
    "Catalogue",
    "CheckContext",
    "CheckOutcome",
    "CheckStatus",
    "CheckTrend",
    "Clause",
    "Control",
    "ControlCheck",
    "ControlCheckResult",
    "Evidence",
    "EvidenceManifest",
    "ImpactAssessment",
    "Incident",
    "LiveMetrics",
    "MetricReading",
    "Nonconformity",
    "ObjectiveGroup",
    "PackVerification",
    "ReviewPack",
    "ReviewPackFiles",
    "Risk",
    "SoaEntry",
    "SoaRow",
    "StatementOfApplicability",
    "SupplierAssessment",
    "build_evidence_pack",
    "build_soa",
    "compile_review_pack",
    "export_soa",
    "find_checks",
    "load_catalogue",
    "record_review_with_pack",
    "run_check",
    "run_checks",
    "shipped_catalogue",
    "verify_pack",
]
