"""What the AI management system's parts exchange: AI systems, assessments, check results.

Records (:mod:`aimsight.aims._records`) return these; control checks
(:mod:`aimsight.aims._checks`) read them with the live system and return
:class:`ControlCheckResult`; the Statement of Applicability, reports and evidence packs render
them. Plain frozen dataclasses with ``to_dict`` so every part can be tested alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AISystem",
    "CheckStatus",
    "ControlCheckResult",
    "Evidence",
    "ImpactAssessment",
    "SupplierAssessment",
]


class CheckStatus(StrEnum):
    """The outcome of one automated control check."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_YET_AVAILABLE = "not_yet_available"


@dataclass(frozen=True)
class Evidence:
    """A pointer to what a check looked at: a ledger entry, a model version, a lake file..."""

    kind: str  # e.g. "ledger", "model_version", "lake_file", "ingest_batch", "ai_system", "record"
    ref: str  # e.g. "seq 1042", "churn:v3", "raw/crm/customers/....parquet"
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ControlCheckResult:
    """One run of one automated check against the live system."""

    check_id: str  # e.g. "ledger_integrity"
    controls: tuple[str, ...]  # Annex A ids it evidences, e.g. ("A.6.2.8",)
    title: str
    status: CheckStatus
    summary: str  # one sentence a person can act on
    evidence: tuple[Evidence, ...] = ()
    findings: tuple[str, ...] = ()  # each failing item, named
    checked_at: str = ""  # ISO 8601 UTC

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "check_id": self.check_id,
            "controls": list(self.controls),
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": [item.to_dict() for item in self.evidence],
            "findings": list(self.findings),
            "checked_at": self.checked_at,
        }


@dataclass(frozen=True)
class AISystem:
    """An AI system in the inventory (ISO/IEC 42001 4.3, A.4), e.g. a model or decision flow."""

    system_id: str
    name: str
    kind: str  # "model", "identity_matching", "decision_flow", "other"
    owner: str | None  # a user name (API key name) or a role
    owner_role: str | None  # the application role the owner holds (A.3.2), None if unknown
    purpose: str
    intended_use: str
    in_scope: bool
    scope_justification: str
    stakeholders: tuple[str, ...] = ()
    risk_level: str = "unassessed"  # "low", "medium", "high", "unassessed"
    components: tuple[str, ...] = ()  # registry names, flow ids... it is made of
    third_party: tuple[str, ...] = ()  # third-party components it relies on (A.10.3)
    high_stakes: bool = False
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["stakeholders"] = list(self.stakeholders)
        data["components"] = list(self.components)
        data["third_party"] = list(self.third_party)
        return data


@dataclass(frozen=True)
class ImpactAssessment:
    """An AI system impact assessment (6.1.4, 8.4, A.5)."""

    assessment_id: str
    system_id: str
    affected: tuple[str, ...]  # individuals, groups, society
    harms: tuple[str, ...]
    severity: str  # "low", "medium", "high", "critical"
    mitigations: tuple[str, ...]
    signed_off_by: str | None
    signed_off_at: str | None
    expires_on: str  # ISO date
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        for key in ("affected", "harms", "mitigations"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class SupplierAssessment:
    """An assessment of a supplier or third-party AI component (A.10.3)."""

    assessment_id: str
    component: str  # e.g. "scikit-learn", "splink", "a vendor's scoring API"
    supplier: str
    assessed_by: str
    assessed_at: str
    outcome: str  # "approved", "approved_with_conditions", "rejected"
    notes: str = ""
    next_review: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
