"""What the API sends and receives: one schema per direction, apart from the table models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aimsight.features import FeatureDefinitions
from aimsight.registry import ModelSpec, ModelVersion, TrainingResult, ValidationReport
from aimsight.security import ApiKey, Permission, Role
from aimsight.store import LedgerEntry, LedgerVerification

__all__ = [
    "MAX_SCORE_ROWS",
    "AISystemCreate",
    "AISystemList",
    "AISystemPublic",
    "AimsCataloguePublic",
    "AimsClausePublic",
    "AimsControlPublic",
    "AimsObjectiveGroupPublic",
    "ApprovalCreate",
    "ApprovalPublic",
    "AuditCreate",
    "AuditFindingCreate",
    "AuditFindingPublic",
    "AuditFindingResult",
    "AuditList",
    "AuditProgrammeCreate",
    "AuditProgrammeList",
    "AuditProgrammePublic",
    "AuditPublic",
    "AuditUpdate",
    "CheckResultPublic",
    "CheckRunCreate",
    "CheckRunPublic",
    "CheckRunSummaryPublic",
    "CheckStatusName",
    "CheckTrendPublic",
    "ChecklistAnswer",
    "ChecklistItemPublic",
    "ChecksPublic",
    "ConcernCreate",
    "ConcernList",
    "ConcernPublic",
    "ConcernTriage",
    "ContributionPublic",
    "CorrectiveActionCreate",
    "CorrectiveActionPublic",
    "CustomerAttribute",
    "CustomerExplanation",
    "CustomerFeaturesPublic",
    "CustomerProfile",
    "DeclaredModelList",
    "DeclaredModelPublic",
    "EffectivenessCheckCreate",
    "EffectivenessCheckPublic",
    "ErrorBody",
    "ErrorResponse",
    "EvidencePointerPublic",
    "FeatureDefinitionPublic",
    "FeatureDefinitionsPublic",
    "FeatureSpecPublic",
    "HealthPublic",
    "IdentityEvent",
    "IdentityLink",
    "IdentityOverride",
    "IdentityReview",
    "IdentityReviewList",
    "IdentityRunCreate",
    "IdentityRunList",
    "IdentityRunPublic",
    "IdentityRunSummary",
    "ImpactAssessmentCreate",
    "ImpactAssessmentList",
    "ImpactAssessmentPublic",
    "IncidentCommunicationCreate",
    "IncidentCommunicationPublic",
    "IncidentCreate",
    "IncidentList",
    "IncidentPublic",
    "IncidentStepCreate",
    "IncidentStepPublic",
    "KpiReadingCreate",
    "KpiReadingPublic",
    "KpiTrend",
    "LedgerEntryPublic",
    "LedgerPage",
    "LedgerVerificationPublic",
    "LinkCreate",
    "LinkResult",
    "ManagementReviewCreate",
    "ManagementReviewList",
    "ManagementReviewPublic",
    "MetricList",
    "MetricPublic",
    "ModelArtifactPublic",
    "ModelCardPublic",
    "ModelDetail",
    "ModelHistory",
    "ModelList",
    "ModelSummaryPublic",
    "ModelVersionBrief",
    "ModelVersionPublic",
    "NonconformityCreate",
    "NonconformityList",
    "NonconformityPublic",
    "ObjectiveCreate",
    "ObjectiveList",
    "ObjectivePublic",
    "OnlinePublishCreate",
    "OnlineSnapshotPublic",
    "PolicyVersionCreate",
    "PolicyVersionList",
    "PolicyVersionPublic",
    "ProductionIntervalPublic",
    "PromotionCreate",
    "ReasonCreate",
    "ResolutionPublic",
    "ResolveRequest",
    "ReviewActionClose",
    "ReviewActionCreate",
    "ReviewActionList",
    "ReviewActionPublic",
    "ReviewPackPublic",
    "RiskCreate",
    "RiskList",
    "RiskPublic",
    "RoleResponsibilityPublic",
    "RolesMatrix",
    "RootCauseUpdate",
    "ScoreRequest",
    "ScoreResponse",
    "ServingPublic",
    "SoaEntryPublic",
    "SoaEntryUpdate",
    "SoaPublic",
    "SoaRowPublic",
    "SoaSummaryPublic",
    "StoreHealth",
    "SupplierAssessmentCreate",
    "SupplierAssessmentList",
    "SupplierAssessmentPublic",
    "TrainingResultPublic",
    "TransitionPublic",
    "UnlinkResult",
    "UserCreate",
    "UserCreated",
    "UserList",
    "UserPublic",
    "ValidationCheckPublic",
    "ValidationReportPublic",
    "VersionPublic",
    "WhoAmIPublic",
]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Schema):
    """What went wrong, in the same shape for every error the API returns."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: list[dict[str, Any]] = Field(
        default_factory=list, description="Per-field problems (`field`, `message`), if any."
    )
    request_id: str | None = Field(description="Quote this id when asking an operator.")


class ErrorResponse(_Schema):
    """The body of every error response."""

    error: ErrorBody


class StoreHealth(_Schema):
    """The operational store as the API sees it."""

    backend: str
    revision: str | None
    head: str
    up_to_date: bool


class HealthPublic(_Schema):
    """``ok`` when the store answers and its schema is current, else ``degraded``."""

    status: Literal["ok", "degraded"]
    store: StoreHealth


class VersionPublic(_Schema):
    """The software and API versions serving this request."""

    version: str
    api_version: str


class WhoAmIPublic(_Schema):
    """The key making this request: its name, role and what that role may do."""

    key_id: str
    name: str
    role: Role
    permissions: list[Permission]


class UserPublic(_Schema):
    """An API key as admins see it; never the secret."""

    key_id: str
    name: str
    role: Role
    created_at: str
    created_by: str
    revoked_at: str | None
    last_used_at: str | None
    active: bool

    @classmethod
    def of(cls, key: ApiKey) -> UserPublic:
        """The public view of ``key``."""
        return cls.model_validate(key.to_dict())


class UserCreate(_Schema):
    """A new API key: a label for who holds it, and its role."""

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Lower-case letters, digits, '.', '_' or '-'; not an e-mail address.",
        examples=["ci-loader"],
    )
    role: Role


class UserCreated(_Schema):
    """A created key; ``key`` is shown only in this response."""

    user: UserPublic
    key: str = Field(description="The API key. Store it now: it cannot be shown again.")
    warning: str


class UserList(_Schema):
    """API keys by creation time."""

    users: list[UserPublic]


class LedgerEntryPublic(_Schema):
    """One ledger entry, without its personal data."""

    seq: int
    recorded_at: str
    actor: str
    kind: str
    subject: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    has_personal: bool
    personal_erased: bool

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryPublic:
        """The public view of ``entry`` (``personal`` is left out)."""
        data = entry.to_dict()
        data.pop("personal", None)
        return cls.model_validate(data)


class LedgerPage(_Schema):
    """A page of entries; pass ``next_after_seq`` as ``after_seq`` for the next page."""

    entries: list[LedgerEntryPublic]
    next_after_seq: int | None


class LedgerVerificationPublic(_Schema):
    """The outcome of checking every entry's hash, link and seal."""

    ok: bool
    entries_checked: int
    head_seq: int | None
    first_bad_seq: int | None
    problem: str | None
    kind: str | None

    @classmethod
    def of(cls, result: LedgerVerification) -> LedgerVerificationPublic:
        """The public view of ``result``."""
        return cls.model_validate(result.to_dict())


# -- identity --------------------------------------------------------------------------------

_Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="A customer id (`cus_...`), one of its aliases, or a record key "
        "(`crm.customers:C1001`).",
    ),
]


class IdentityRunCreate(_Schema):
    """Start a resolution run."""

    retrain: bool = Field(
        default=False, description="Train a new model version instead of reusing the current one."
    )
    backend: Literal["duckdb", "spark"] | None = Field(
        default=None,
        description="`duckdb` (one machine) or `spark` (the cluster tier); default: the "
        "workspace's `identity.backend` setting.",
    )


class IdentityRunSummary(_Schema):
    """What a resolution run did."""

    run_id: str
    backend: str
    records: int = Field(description="Records read from the lake.")
    customers: int = Field(description="Customers they resolved into.")
    model_version: int
    trained: bool = Field(description="Whether this run trained the model (else reused it).")
    threshold: float = Field(description="Match probability from which pairs link.")
    links: int
    deterministic_links: int = Field(description="Links made by exact identifiers.")
    created: int
    merged: int
    split: int
    held_for_review: int = Field(description="Merges refused by the cluster size limit.")
    refused_conflicts: int = Field(description="Links refused for conflicting attributes.")
    shared_identifiers: int = Field(description="Identifier values left out as shared.")
    pairs_per_rule: dict[str, int] = Field(description="Pairs each blocking rule compares.")
    seconds: dict[str, float] = Field(description="Time taken by each step.")


class IdentityRunPublic(_Schema):
    """One resolution run, as the run history lists it."""

    run_id: str
    status: str = Field(description="`running`, `completed` or `failed`.")
    backend: str
    model_version: int | None
    records: int
    customers: int
    threshold: float | None
    started_at: str
    finished_at: str | None
    summary: dict[str, Any] = Field(description="The run's summary when it completed.")


class IdentityRunList(_Schema):
    """Resolution runs, newest first."""

    runs: list[IdentityRunPublic]


class CustomerAttribute(_Schema):
    """One golden-record value and where it came from."""

    value: Any
    dataset: str | None = Field(default=None, description="The dataset that supplied it.")
    record_id: str | None = Field(default=None, description="The record that supplied it.")
    updated_at: str | None = Field(default=None, description="As of when.")


class CustomerProfile(_Schema):
    """A customer's golden record, with provenance, aliases and records."""

    customer_id: str
    kind: str = Field(description="`known`, or `anonymous` for a profile made in real time.")
    status: str
    created_at: str
    updated_at: str
    aliases: list[str] = Field(description="Former ids that now name this customer.")
    records: list[str] = Field(description="Record keys (`dataset:record_id`).")
    attributes: dict[str, CustomerAttribute]


class IdentityLink(_Schema):
    """A link between two records and why it was made."""

    left: str
    right: str
    rule: str = Field(description="`probabilistic`, or the identifiers that matched exactly.")
    accepted: bool = Field(
        description="True when this link joined the records into one customer; false when "
        "other links had joined them already."
    )
    match_weight: float | None = Field(description="Log2 Bayes factor; null for exact links.")
    match_probability: float | None
    comparisons: dict[str, float] = Field(description="Each comparison's match weight.")


class IdentityOverride(_Schema):
    """A steward's must-link or cannot-link between two records."""

    kind: str
    record_a: str
    record_b: str
    reason: str
    actor: str
    created_at: str


class IdentityEvent(_Schema):
    """A change of customer ids: create, merge, split, link, conflict."""

    kind: str
    before: list[str]
    after: list[str]
    run_id: str | None
    at: str


class CustomerExplanation(_Schema):
    """Which records make up a customer and which links joined them."""

    customer_id: str
    asked_for: str
    records: list[dict[str, Any]]
    links: list[IdentityLink]
    overrides: list[IdentityOverride]
    aliases: list[str]
    events: list[IdentityEvent]


class LinkCreate(_Schema):
    """Two customers or records, and why a steward says they are (not) one person."""

    a: _Reference
    b: _Reference
    reason: str = Field(min_length=1, max_length=1000, description="Kept with the override.")


class LinkResult(_Schema):
    """The customer the two became; ``merged`` is now its alias."""

    customer_id: str
    merged: str
    records: list[str]


class UnlinkResult(_Schema):
    """The records kept apart, and the customers after a split (empty if none was needed)."""

    records_a: list[str]
    records_b: list[str]
    customers: list[str]


class ResolveRequest(_Schema):
    """Identifiers seen now, e.g. ``{"email": "ada@example.com", "device_id": "d-42"}``."""

    identifiers: dict[str, Annotated[str, Field(max_length=300)]] = Field(
        min_length=1,
        max_length=20,
        description="By kind: `email`, `phone`, `crm_id`, `device_id` (the configured "
        "lookup identifiers).",
    )


class ResolutionPublic(_Schema):
    """The customer behind the identifiers."""

    customer_id: str
    status: Literal["known", "new", "conflict"] = Field(
        description="`known`: one customer; `new`: nobody, an anonymous customer was made; "
        "`conflict`: several, the priority rule chose one."
    )
    kind: str = Field(description="`known` or `anonymous`.")
    matched: dict[str, str] = Field(description="Each matched identifier's customer.")
    candidates: list[str] = Field(description="On a conflict, every customer named.")
    ignored: dict[str, str] = Field(description="Identifiers not used, and why.")
    rule: str | None = Field(description="On a conflict, the rule that chose.")


class IdentityReview(_Schema):
    """A merge held for a steward to decide."""

    id: int
    run_id: str
    reason: str
    record_a: str
    record_b: str
    detail: str
    status: str
    created_at: str


class IdentityReviewList(_Schema):
    """Held merges, oldest first."""

    reviews: list[IdentityReview]


# -- models -----------------------------------------------------------------------------------

MAX_SCORE_ROWS = 1000
"""The most rows one scoring request may carry."""

_VersionNumber = Annotated[int, Field(ge=1, description="The version number (1, 2, ...).")]


class FeatureSpecPublic(_Schema):
    """One model input: name, type and, for categories, the values seen in training."""

    name: str
    type: Literal["number", "integer", "boolean", "category"]
    description: str
    categories: list[str]
    nullable: bool = Field(
        default=False, description="Whether a null may be sent: the model fills it itself."
    )


class ModelArtifactPublic(_Schema):
    """Where a version's pickled model lives (relative to the workspace) and its hash."""

    path: str
    sha256: str
    bytes: int


class ModelVersionBrief(_Schema):
    """A model version without its bulky evidence, as listings show it."""

    name: str
    version: _VersionNumber
    kind: str
    algorithm: str
    stage: Literal["draft", "validated", "approved", "shadow", "canary", "production", "retired"]
    aliases: list[str] = Field(description="`champion` and/or `canary` when they point here.")
    canary_share: float | None = Field(description="Share of traffic while it is the canary.")
    artifact: ModelArtifactPublic
    features: list[FeatureSpecPublic] = Field(description="The signature scoring enforces.")
    metrics: dict[str, float | None]
    gates: dict[str, dict[str, float]] = Field(
        description='Performance gates, e.g. `{"roc_auc": {"min": 0.7}}`.'
    )
    training_rows: int
    evaluation_rows: int
    trainer: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionBrief:
        """The brief view of ``version``."""
        return cls.model_validate(version.to_dict(evidence=False))


class ModelVersionPublic(ModelVersionBrief):
    """A model version with all the evidence it was registered with."""

    params: dict[str, Any]
    evaluation: dict[str, Any]
    fairness: dict[str, Any] | None
    importance: list[tuple[str, float]]
    notes: list[str]
    data_snapshot: dict[str, str] = Field(description="Lake file -> sha256 it was trained on.")
    training_config: dict[str, Any]
    card_inputs: dict[str, Any]
    provenance: dict[str, str] = Field(description="Library versions it was trained under.")

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionPublic:
        """The full view of ``version``."""
        return cls.model_validate(version.to_dict())


class ServingPublic(_Schema):
    """Which versions get traffic: the champion, the canary with its share, the shadows."""

    name: str
    champion: int | None
    canary: int | None
    canary_share: float | None
    shadows: list[int]


class ModelSummaryPublic(_Schema):
    """One model in the inventory."""

    name: str
    kind: str
    latest_version: int
    champion: int | None
    canary: int | None
    canary_share: float | None
    stages: dict[str, int] = Field(description="How many versions are in each stage.")
    updated_at: str


class ModelList(_Schema):
    """Every registered model, by name."""

    models: list[ModelSummaryPublic]


class ModelDetail(_Schema):
    """A model: what serves now, and every version (oldest first)."""

    name: str
    serving: ServingPublic
    versions: list[ModelVersionBrief]


class ValidationCheckPublic(_Schema):
    """One automatic check and what it found."""

    check: str
    passed: bool
    detail: str


class ValidationReportPublic(_Schema):
    """Every check of one validation run; the version is validated only when all pass."""

    name: str
    version: int
    passed: bool
    stage: str = Field(description="The version's stage after this validation.")
    actor: str
    validated_at: str
    checks: list[ValidationCheckPublic]

    @classmethod
    def of(cls, report: ValidationReport) -> ValidationReportPublic:
        """The public view of ``report``."""
        return cls.model_validate(report.to_dict())


class ApprovalCreate(_Schema):
    """Why the caller approves this version (they are recorded as the approver)."""

    rationale: str = Field(
        min_length=10,
        max_length=2000,
        description="What was reviewed and why it is fit for use (kept on the ledger).",
    )


class ApprovalPublic(_Schema):
    """A recorded approval."""

    name: str
    version: int
    approver: str
    approver_role: str
    rationale: str
    approved_at: str


class PromotionCreate(_Schema):
    """Where to move an approved version."""

    to: Literal["shadow", "canary", "production"]
    share: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="For a canary: the share of traffic it gets, e.g. 0.1.",
    )
    exception: str | None = Field(
        default=None,
        min_length=10,
        max_length=2000,
        description="Why an approved version goes to production without shadow or canary.",
    )


class ReasonCreate(_Schema):
    """Why (kept with the change and on the ledger)."""

    reason: str = Field(min_length=1, max_length=2000)


class TransitionPublic(_Schema):
    """One step in a version's life."""

    name: str
    version: int
    action: str
    from_stage: str | None
    to_stage: str
    actor: str
    reason: str
    detail: dict[str, Any]
    at: str


class ProductionIntervalPublic(_Schema):
    """When a version was the champion (``ended_at`` null: it still is)."""

    version: int
    started_at: str
    ended_at: str | None
    via: str = Field(description="`promote` or `rollback`.")
    actor: str


class ModelHistory(_Schema):
    """Every transition of a model, and which version was champion when."""

    name: str
    transitions: list[TransitionPublic]
    production: list[ProductionIntervalPublic]


class ModelCardPublic(_Schema):
    """A model card with the nine sections of Mitchell et al. (2019)."""

    model_details: dict[str, Any]
    intended_use: dict[str, Any]
    factors: dict[str, Any]
    metrics: dict[str, Any]
    evaluation_data: dict[str, Any]
    training_data: dict[str, Any]
    quantitative_analyses: dict[str, Any]
    ethical_considerations: list[str]
    caveats_and_recommendations: list[str]


class ScoreRequest(_Schema):
    """Rows to score with a model version; each row carries exactly the model's fields."""

    rows: list[Annotated[dict[str, Any], Field(max_length=500)]] = Field(
        min_length=1,
        max_length=MAX_SCORE_ROWS,
        description="One object of field values per customer (see the version's `features`).",
    )
    ref: str = Field(
        default="champion",
        max_length=20,
        description="Which version: a number, `latest`, `champion` or `canary`.",
    )
    explain: bool = Field(default=False, description="Also return each row's top reasons.")
    top: int = Field(default=5, ge=1, le=50, description="Reasons per row when explaining.")


class ContributionPublic(_Schema):
    """How much one feature pushed one prediction (signed, in the model's units)."""

    feature: str
    value: Any
    contribution: float


class ScoreResponse(_Schema):
    """One score per row, in order, from the version named."""

    name: str
    version: int
    stage: str
    scores: list[dict[str, Any]]
    contributions: list[list[ContributionPublic]] | None
    unseen_categories: dict[str, list[str]] = Field(
        description="Category values training never saw (allowed; reported for monitoring)."
    )


class TrainingResultPublic(_Schema):
    """A trained model: the version registered, its validation and headline metrics."""

    model: str
    version: _VersionNumber
    stage: str = Field(description="`validated` when every check passed, else `draft`.")
    validated: bool
    metrics: dict[str, float | None]
    training_rows: int
    evaluation_rows: int
    validation: ValidationReportPublic
    notes: list[str] = Field(description="What the trainer wants a reviewer to know.")

    @classmethod
    def of(cls, result: TrainingResult) -> TrainingResultPublic:
        """The public view of ``result``."""
        return cls.model_validate(result.to_dict())


class DeclaredModelPublic(_Schema):
    """A model declared in ``models/models.yaml``: what training it would do."""

    name: str
    kind: Literal["churn", "propensity", "survival", "segmentation", "clv"]
    description: str
    features: list[str] = Field(description="Inputs; empty means every non-sensitive feature.")
    label: dict[str, Any] | None
    schedule: dict[str, Any] = Field(description="Training as-of dates (`snapshots`, ...).")
    holdout_days: int
    settings: dict[str, Any] = Field(description="The trainer's settings.")
    gates: dict[str, dict[str, float | None]] = Field(description="Validation bounds.")
    card: dict[str, Any] = Field(description="The model-card text people write.")
    latest_version: int | None = Field(description="The newest registered version, if any.")

    @classmethod
    def of(cls, spec: ModelSpec, latest_version: int | None) -> DeclaredModelPublic:
        """The public view of ``spec``."""
        return cls.model_validate({**spec.to_dict(), "latest_version": latest_version})


class DeclaredModelList(_Schema):
    """Every declared model, in file order."""

    file: str | None = Field(
        description="The declarations file, relative to the workspace; null while the "
        "shipped default is in force."
    )
    models: list[DeclaredModelPublic]


# -- features ---------------------------------------------------------------------------------


class FeatureDefinitionPublic(_Schema):
    """One feature: what it means, its type and its full declaration."""

    name: str
    kind: Literal["aggregate", "ratio", "attribute", "age", "tenure"]
    type: Literal["integer", "number", "category"]
    description: str
    sensitive: bool = Field(description="Kept for fairness checks, not a model input.")
    definition: dict[str, Any] = Field(
        description="Every setting as declared (see docs/features.md)."
    )


class FeatureDefinitionsPublic(_Schema):
    """The feature definitions in force."""

    file: str | None = Field(
        description="The definitions file, relative to the workspace; null while the shipped "
        "default is in force."
    )
    digest: str = Field(description="SHA-256 of the definitions, stored with every build.")
    population: list[str] = Field(description="Datasets whose records make someone a customer.")
    sources: dict[str, dict[str, Any]] = Field(
        description="How each dataset's rows join to customers, and its event-time column."
    )
    payments: dict[str, Any] | None = Field(description="What a successful payment is.")
    features: list[FeatureDefinitionPublic]

    @classmethod
    def of(cls, definitions: FeatureDefinitions, file: str | None) -> FeatureDefinitionsPublic:
        """The public view of ``definitions``, read from ``file``."""
        data = definitions.to_dict()
        return cls(
            file=file,
            digest=definitions.digest,
            population=data["population"],
            sources=data["sources"],
            payments=data["payments"],
            features=[
                FeatureDefinitionPublic(
                    name=entry["name"],
                    kind=entry["kind"],
                    type=entry["type"],
                    description=entry["description"],
                    sensitive=entry["sensitive"],
                    definition=entry,
                )
                for entry in data["features"]
            ],
        )


class CustomerFeaturesPublic(_Schema):
    """A customer's features from the newest online snapshot."""

    customer_id: str = Field(description="The customer's id now (an alias is followed).")
    as_of: str = Field(description="The time the snapshot describes (ISO 8601, UTC).")
    features: dict[str, Any] = Field(description="Feature -> value; null when unknown.")


class OnlinePublishCreate(_Schema):
    """Publish an online snapshot."""

    as_of: str | None = Field(
        default=None,
        max_length=40,
        description="The time the snapshot describes: `2026-06-01` (midnight UTC) or "
        "`2026-06-01T12:00:00Z`; default: just after the lake's latest event.",
    )


class OnlineSnapshotPublic(_Schema):
    """A published online snapshot."""

    path: str = Field(description="The lake file (`features/online/<stamp>.parquet`).")
    as_of: str
    published_at: str
    customers: int
    features: list[str]
    definitions_digest: str
    sha256: str


# -- /v1/aims: the AI management system (ISO/IEC 42001) -------------------------------------

CheckStatusName = Literal["pass", "fail", "warn", "not_yet_available"]


class AimsClausePublic(_Schema):
    """A clause or sub-clause of the management system requirements (4 to 10)."""

    id: str = Field(description="E.g. `6.1.2`.")
    title: str = Field(description="A short title in our own words.")


class AimsControlPublic(_Schema):
    """An Annex A control and the automated checks that evidence it."""

    id: str = Field(description="E.g. `A.6.2.8`.")
    title: str
    group: str = Field(description="Its objective, e.g. `A.6`.")
    checks: list[str] = Field(description="Ids of the automated checks that evidence it.")


class AimsObjectiveGroupPublic(_Schema):
    """An Annex A objective (A.2 to A.10) and its controls."""

    id: str
    title: str
    controls: list[AimsControlPublic]


class AimsCataloguePublic(_Schema):
    """The clauses and the 38 Annex A controls the management system is measured against."""

    version: str = Field(description="The catalogue's version, printed on every SoA.")
    standard: str
    clauses: list[AimsClausePublic]
    annex_a: list[AimsObjectiveGroupPublic]


class SoaRowPublic(_Schema):
    """One control in the Statement of Applicability."""

    control_id: str
    group: str
    group_title: str
    title: str
    applicable: bool | None = Field(description="Null while nobody has decided.")
    decision: str = Field(description="`applicable`, `not applicable` or `not yet decided`.")
    justification: str
    implementation_status: str = Field(
        description="not_started, planned, partial, implemented or not_applicable."
    )
    owner: str | None
    evidence: list[str]
    check_status: str = Field(
        description="The worst latest result of its checks (fail, warn, pass, "
        "not_yet_available), `not_run` or `no_check`."
    )
    check_ids: list[str]
    check_summary: str
    checked_at: str
    updated_at: str
    updated_by: str | None


class SoaSummaryPublic(_Schema):
    """Counts over the statement's rows."""

    controls: int
    applicable: int
    not_applicable: int
    undecided: int
    implementation: dict[str, int]
    checks: dict[str, int]


class SoaPublic(_Schema):
    """The Statement of Applicability: one row per Annex A control."""

    standard: str
    catalogue_version: str
    generated_at: str
    summary: SoaSummaryPublic
    rows: list[SoaRowPublic]


class SoaEntryUpdate(_Schema):
    """A decision about one Annex A control."""

    applicable: bool = Field(description="Whether the control applies here.")
    justification: str = Field(
        min_length=1, max_length=5000, description="Why it is included or excluded."
    )
    status: str | None = Field(
        default=None,
        max_length=20,
        description="not_started, planned, partial or implemented (applicable controls; "
        "default not_started); an excluded control is not_applicable.",
    )
    owner: str | None = Field(default=None, max_length=200)
    evidence: list[str] = Field(
        default_factory=list, max_length=100, description="Links to its evidence."
    )


class SoaEntryPublic(_Schema):
    """A stored decision about one Annex A control."""

    control_id: str
    applicable: bool
    justification: str
    status: str
    owner: str | None
    evidence: list[str]
    updated_at: str
    updated_by: str | None


class EvidencePointerPublic(_Schema):
    """What a check looked at: a ledger entry, a model version, a lake file..."""

    kind: str
    ref: str
    detail: str


class CheckResultPublic(_Schema):
    """One result of one automated control check."""

    check_id: str
    controls: list[str]
    title: str
    status: CheckStatusName
    summary: str = Field(description="One sentence a person can act on.")
    evidence: list[EvidencePointerPublic]
    findings: list[str] = Field(description="Each failing item, named.")
    checked_at: str


class CheckRunCreate(_Schema):
    """Which checks to run (all when left out)."""

    only: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Check ids or Annex A control ids, e.g. `ledger_integrity` or `A.6.2.4`.",
    )


class CheckRunPublic(_Schema):
    """A run of the automated checks, as stored."""

    run_id: str
    results: list[CheckResultPublic]


class CheckRunSummaryPublic(_Schema):
    """When a run happened, who ran it and how many checks ended in each status."""

    run_id: str
    run_by: str
    run_at: str
    counts: dict[str, int]
    results_sha256: str


class CheckTrendPublic(_Schema):
    """One check over its recent runs, statuses oldest first."""

    check_id: str
    title: str
    controls: list[str]
    statuses: list[CheckStatusName]
    checked_at: list[str]
    latest: CheckResultPublic | None


class ChecksPublic(_Schema):
    """The latest check run and every check's trend."""

    run: CheckRunSummaryPublic | None = Field(description="Null before the first run.")
    results: list[CheckResultPublic]
    trends: list[CheckTrendPublic]


class AISystemCreate(_Schema):
    """An AI system to add to the inventory."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["model", "identity_matching", "decision_flow", "other"] = "other"
    owner: str | None = Field(
        default=None, max_length=200, description="A person's key name or an application role."
    )
    owner_role: str | None = Field(
        default=None,
        max_length=40,
        description="The role the owner holds; found from the owner when left out.",
    )
    purpose: str = Field(default="", max_length=5000)
    intended_use: str = Field(default="", max_length=5000)
    in_scope: bool = True
    scope_justification: str = Field(
        default="", max_length=5000, description="Needed when the system is out of scope."
    )
    stakeholders: list[str] = Field(default_factory=list, max_length=100)
    risk_level: Literal["low", "medium", "high", "unassessed"] = "unassessed"
    components: list[str] = Field(default_factory=list, max_length=100)
    third_party: list[str] = Field(default_factory=list, max_length=100)
    high_stakes: bool = False


class AISystemPublic(_Schema):
    """An AI system in the inventory."""

    system_id: str
    name: str
    kind: str
    owner: str | None
    owner_role: str | None
    purpose: str
    intended_use: str
    in_scope: bool
    scope_justification: str
    stakeholders: list[str]
    risk_level: str
    components: list[str]
    third_party: list[str]
    high_stakes: bool
    created_at: str
    extra: dict[str, Any]


class AISystemList(_Schema):
    """Every AI system in the inventory, oldest first."""

    systems: list[AISystemPublic]


class RiskCreate(_Schema):
    """A risk to add to the register."""

    risk: str = Field(min_length=1, max_length=5000, description="What could go wrong.")
    source: str = Field(
        min_length=1, max_length=100, description="Where it was found, e.g. `audit`."
    )
    owner: str = Field(min_length=1, max_length=200)
    likelihood: int = Field(description="A point on the likelihood scale.")
    impact: int = Field(description="A point on the impact scale.")
    system_id: str | None = Field(default=None, max_length=40)
    treatment: Literal["avoid", "mitigate", "transfer", "accept"] | None = None
    treatment_plan: str = Field(default="", max_length=5000)
    controls: list[str] = Field(
        default_factory=list, max_length=38, description="Annex A controls the treatment uses."
    )
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    next_review: date | None = None


class RiskPublic(_Schema):
    """A risk with its levels from the configured scales."""

    risk_id: str
    risk: str
    source: str
    system_id: str | None
    owner: str
    likelihood: int
    impact: int
    score: int
    level: str
    treatment: str | None
    treatment_plan: str
    controls: list[str]
    residual_likelihood: int | None
    residual_impact: int | None
    residual_score: int | None
    residual_level: str | None
    next_review: str | None
    created_at: str
    updated_at: str


class RiskList(_Schema):
    """The risk register, oldest first."""

    risks: list[RiskPublic]


class ImpactAssessmentCreate(_Schema):
    """An impact assessment of an AI system."""

    system_id: str = Field(min_length=1, max_length=40)
    affected: list[str] = Field(
        min_length=1, max_length=100, description="Individuals, groups, society."
    )
    harms: list[str] = Field(min_length=1, max_length=100)
    severity: Literal["low", "medium", "high", "critical"]
    mitigations: list[str] = Field(default_factory=list, max_length=100)
    expires_on: date = Field(description="The date it must be redone by.")
    signed_off_by: str | None = Field(
        default=None, max_length=200, description="Who signed it off, if signed now."
    )


class ImpactAssessmentPublic(_Schema):
    """An impact assessment; current while signed off and not expired."""

    assessment_id: str
    system_id: str
    affected: list[str]
    harms: list[str]
    severity: str
    mitigations: list[str]
    signed_off_by: str | None
    signed_off_at: str | None
    expires_on: str
    created_at: str


class ImpactAssessmentList(_Schema):
    """Impact assessments, oldest first."""

    assessments: list[ImpactAssessmentPublic]


class IncidentCreate(_Schema):
    """An AI incident to record."""

    title: str = Field(min_length=1, max_length=500)
    severity: Literal["sev1", "sev2", "sev3", "sev4"] = Field(description="sev1 is the worst.")
    system_id: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=5000)
    detected_at: datetime | None = Field(
        default=None, description="When it was detected, with its time zone (default now)."
    )


class IncidentStepPublic(_Schema):
    """A step of an incident's response."""

    step: str
    at: str
    note: str
    recorded_by: str


class IncidentCommunicationPublic(_Schema):
    """Who was told what about an incident, and when."""

    audience: str
    message: str
    at: str
    recorded_by: str


class IncidentPublic(_Schema):
    """An incident with its response timeline and communications."""

    incident_id: str
    title: str
    severity: str
    system_id: str | None
    description: str
    status: str = Field(description="The latest step reached.")
    timeline: list[IncidentStepPublic]
    communications: list[IncidentCommunicationPublic]
    created_at: str
    updated_at: str


class IncidentList(_Schema):
    """Incidents, oldest first."""

    incidents: list[IncidentPublic]


class CorrectiveActionPublic(_Schema):
    """A corrective action of a nonconformity."""

    action_id: str
    nc_id: str
    action: str
    owner: str
    due: str
    status: str
    done_at: str | None
    created_at: str


class EffectivenessCheckPublic(_Schema):
    """Whether a nonconformity's corrective actions worked."""

    nc_id: str
    checked_on: str
    effective: bool
    result: str
    checked_by: str
    recorded_at: str


class NonconformityPublic(_Schema):
    """A nonconformity with its corrective actions and effectiveness checks."""

    nc_id: str
    description: str
    source: str
    source_ref: str | None
    system_id: str | None
    root_cause: str
    status: str
    actions: list[CorrectiveActionPublic]
    effectiveness_checks: list[EffectivenessCheckPublic]
    raised_at: str
    raised_by: str
    closed_at: str | None
    closed_by: str | None


class NonconformityList(_Schema):
    """Nonconformities, oldest first."""

    nonconformities: list[NonconformityPublic]


class ConcernCreate(_Schema):
    """A concern about an AI system."""

    text: str = Field(min_length=1, max_length=20_000)
    reporter: str | None = Field(
        default=None, max_length=200, description="Who reports it; leave out to stay anonymous."
    )
    system_id: str | None = Field(default=None, max_length=40)


class ConcernPublic(_Schema):
    """A reported concern and how it was handled."""

    concern_id: str
    text: str
    reporter: str | None
    system_id: str | None
    status: str
    outcome: str
    reported_at: str
    updated_at: str
    triaged_by: str | None


class ConcernList(_Schema):
    """Concerns, oldest first."""

    concerns: list[ConcernPublic]


class MetricPublic(_Schema):
    """One reading of a live metric."""

    metric: str
    value: float | None = Field(description="Null when it cannot be read now; see `detail`.")
    detail: str
    read_at: str


class MetricList(_Schema):
    """A reading of every live metric objectives can bind to."""

    metrics: list[MetricPublic]


class ChecklistItemPublic(_Schema):
    """An audit checklist item: an automated check or a manual question, and its answer."""

    item_id: str
    audit_id: str
    position: int
    check_id: str | None
    question: str | None
    answer: str
    result: str | None
    notes: str
    answered_by: str | None
    answered_at: str | None


class AuditFindingPublic(_Schema):
    """A finding of an audit."""

    finding_id: str
    audit_id: str
    item_id: str | None
    severity: str
    text: str
    nc_id: str | None
    raised_at: str
    raised_by: str


class AuditProgrammePublic(_Schema):
    """An internal audit programme."""

    programme_id: str
    period_start: str
    period_end: str
    scope: str
    criteria: str
    created_at: str
    created_by: str


class AuditPublic(_Schema):
    """An internal audit with its checklist and findings."""

    audit_id: str
    programme_id: str
    title: str
    scope: str
    auditor: str
    planned_on: str
    held_on: str | None
    status: str
    checklist: list[ChecklistItemPublic]
    findings: list[AuditFindingPublic]
    created_at: str
    updated_at: str


class AuditList(_Schema):
    """Audit programmes and their audits."""

    programmes: list[AuditProgrammePublic]
    audits: list[AuditPublic]


class ReviewActionPublic(_Schema):
    """An output of a management review."""

    action_id: str
    review_id: str
    decision: str
    owner: str
    due: str
    status: str
    outcome: str
    created_at: str
    closed_at: str | None
    closed_by: str | None


class ManagementReviewPublic(_Schema):
    """A management review: attendees, the inputs it saw, its pack and its actions."""

    review_id: str
    held_on: str
    attendees: list[str]
    inputs: dict[str, Any]
    pack_path: str | None
    pack_sha256: str | None
    actions: list[ReviewActionPublic]
    recorded_at: str
    recorded_by: str


class ManagementReviewList(_Schema):
    """Management reviews, oldest first."""

    reviews: list[ManagementReviewPublic]


class PolicyVersionCreate(_Schema):
    """A new approved version of the AI policy (A.2)."""

    text: str = Field(min_length=1, max_length=200_000, description="The policy's text.")
    approved_by: str = Field(min_length=1, max_length=200, description="Who approved it.")
    effective: date = Field(description="When it takes effect.")
    next_review: date = Field(description="When it must be reviewed; after `effective`.")


class PolicyVersionPublic(_Schema):
    """One approved version of the AI policy and its next review date."""

    version: int
    text: str
    text_sha256: str
    approved_by: str
    effective: str
    next_review: str
    created_at: str
    created_by: str


class PolicyVersionList(_Schema):
    """Every version of the AI policy, oldest first, and the one in effect today."""

    versions: list[PolicyVersionPublic]
    current_version: int | None = Field(description="Null while no version is in effect.")


class RoleResponsibilityPublic(_Schema):
    """One application role: what it may do, its AIMS duties and who holds it now."""

    role: str
    permissions: list[str]
    responsibilities: list[str]
    holders: list[str] = Field(description="Names of the active API keys with the role.")


class RolesMatrix(_Schema):
    """The roles and responsibilities matrix (A.3.2), one row per application role."""

    roles: list[RoleResponsibilityPublic]


class ObjectiveCreate(_Schema):
    """An AI objective (6.2) bound to a live metric."""

    objective: str = Field(min_length=1, max_length=5000)
    owner: str = Field(min_length=1, max_length=200)
    metric: str = Field(
        min_length=1,
        max_length=100,
        description="A live metric's dotted name, e.g. `ingest.pass_rate` (see /v1/aims/metrics).",
    )
    target: float
    direction: Literal["at_least", "at_most"] = Field(
        default="at_least", description="Met when the value is at least, or at most, the target."
    )


class KpiReadingPublic(_Schema):
    """One reading of an objective's KPI."""

    objective_id: str
    value: float
    at: str
    recorded_by: str


class ObjectivePublic(_Schema):
    """An objective with its latest reading and whether that meets the target."""

    objective_id: str
    objective: str
    owner: str
    metric: str
    target: float
    direction: str
    latest: KpiReadingPublic | None
    met: bool | None = Field(description="Null until a reading exists.")
    created_at: str


class ObjectiveList(_Schema):
    """Every objective, oldest first."""

    objectives: list[ObjectivePublic]


class KpiReadingCreate(_Schema):
    """A reading of an objective's KPI: a value, or none to read its live metric now."""

    value: float | None = Field(
        default=None, description="Leave out to read the objective's live metric now."
    )


class KpiTrend(_Schema):
    """An objective's recent KPI readings, oldest first."""

    objective_id: str
    readings: list[KpiReadingPublic]


class SupplierAssessmentCreate(_Schema):
    """An assessment of a supplier or third-party AI component (A.10.3)."""

    component: str = Field(min_length=1, max_length=200, description="E.g. `scikit-learn`.")
    supplier: str = Field(min_length=1, max_length=200)
    assessed_by: str = Field(min_length=1, max_length=200)
    outcome: Literal["approved", "approved_with_conditions", "rejected"]
    notes: str = Field(
        default="", max_length=20_000, description="Needed for an approval with conditions."
    )
    next_review: date | None = Field(default=None, description="After the assessment.")
    assessed_at: datetime | None = Field(
        default=None, description="When it was assessed, with its time zone (default now)."
    )


class SupplierAssessmentPublic(_Schema):
    """A recorded supplier or third-party component assessment."""

    assessment_id: str
    component: str
    supplier: str
    assessed_by: str
    assessed_at: str
    outcome: str
    notes: str
    next_review: str | None


class SupplierAssessmentList(_Schema):
    """Supplier assessments, oldest first."""

    assessments: list[SupplierAssessmentPublic]


class AuditProgrammeCreate(_Schema):
    """An internal audit programme (9.2.2) for a period."""

    period_start: date
    period_end: date = Field(description="Not before `period_start`.")
    scope: str = Field(min_length=1, max_length=5000)
    criteria: str = Field(min_length=1, max_length=5000, description="What audits measure against.")


class AuditProgrammeList(_Schema):
    """Audit programmes, oldest period first."""

    programmes: list[AuditProgrammePublic]


class AuditCreate(_Schema):
    """An audit to plan; its checklist holds every automated check, then `questions`."""

    programme_id: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=500)
    scope: str = Field(min_length=1, max_length=5000)
    auditor: str = Field(min_length=1, max_length=200)
    planned_on: date
    questions: list[Annotated[str, Field(min_length=1, max_length=5000)]] = Field(
        default_factory=list, max_length=200, description="Manual questions for the checklist."
    )


class AuditUpdate(_Schema):
    """Move an audit on: planned, in_progress, completed (needs `held_on`) or cancelled."""

    status: Literal["planned", "in_progress", "completed", "cancelled"]
    held_on: date | None = Field(default=None, description="When it was held.")


class ChecklistAnswer(_Schema):
    """The answer to a checklist item and its result."""

    result: Literal["conforming", "nonconforming", "observation", "not_applicable", "not_available"]
    answer: str = Field(default="", max_length=20_000)
    notes: str = Field(default="", max_length=20_000)


class AuditFindingCreate(_Schema):
    """A finding of an audit, optionally raised as a nonconformity at once."""

    severity: Literal["major", "minor", "observation", "opportunity"]
    text: str = Field(min_length=1, max_length=20_000)
    item_id: str | None = Field(
        default=None, max_length=40, description="The checklist item it concerns."
    )
    raise_nonconformity: bool = Field(
        default=False, description="Also raise a nonconformity from the finding."
    )
    system_id: str | None = Field(
        default=None, max_length=40, description="The AI system the nonconformity concerns."
    )


class AuditFindingResult(_Schema):
    """A recorded finding and the nonconformity raised from it, if asked."""

    finding: AuditFindingPublic
    nonconformity: NonconformityPublic | None


class ManagementReviewCreate(_Schema):
    """A management review (9.3) to compile the pack for and record."""

    since: date | None = Field(
        default=None, description="Start of the period reviewed (default: since the last one)."
    )
    attendees: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100, description="Who attended (default: the caller)."
    )
    held_on: date | None = Field(default=None, description="When it was held (default today).")


class ReviewPackPublic(_Schema):
    """A recorded review and its compiled pack, kept in the workspace."""

    review: ManagementReviewPublic
    pack_sha256: str | None = Field(description="SHA-256 of the pack's PDF, also on the ledger.")
    pdf_path: str = Field(description="The pack's PDF, relative to the workspace.")
    html_path: str = Field(description="The pack's HTML, relative to the workspace.")


class ReviewActionCreate(_Schema):
    """An output of a management review: a decision or action, its owner and due date."""

    decision: str = Field(min_length=1, max_length=20_000)
    owner: str = Field(min_length=1, max_length=200)
    due: date


class ReviewActionClose(_Schema):
    """What came of a review action."""

    outcome: str = Field(min_length=1, max_length=20_000)


class ReviewActionList(_Schema):
    """Review actions, by due date."""

    actions: list[ReviewActionPublic]


class IncidentStepCreate(_Schema):
    """A step the response to an incident reached."""

    step: Literal["acknowledged", "contained", "resolved"]
    at: datetime | None = Field(default=None, description="When, with its time zone (default now).")
    note: str = Field(default="", max_length=20_000)


class IncidentCommunicationCreate(_Schema):
    """Who was told what about an incident (customers, a regulator, the board...)."""

    audience: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=20_000)
    at: datetime | None = Field(default=None, description="When, with its time zone (default now).")


class ConcernTriage(_Schema):
    """Move a concern on; closing needs an `outcome`."""

    status: Literal["investigating", "closed"]
    outcome: str = Field(default="", max_length=20_000)


class NonconformityCreate(_Schema):
    """A nonconformity (10.2) to record."""

    description: str = Field(min_length=1, max_length=20_000)
    source: Literal[
        "audit_finding", "check_failure", "incident", "concern", "management_review", "other"
    ]
    source_ref: str | None = Field(
        default=None, max_length=100, description="The id of what it came from."
    )
    system_id: str | None = Field(default=None, max_length=40)
    root_cause: str = Field(default="", max_length=20_000)


class RootCauseUpdate(_Schema):
    """The root cause of an open nonconformity."""

    root_cause: str = Field(min_length=1, max_length=20_000)


class CorrectiveActionCreate(_Schema):
    """A corrective action for an open nonconformity."""

    action: str = Field(min_length=1, max_length=20_000)
    owner: str = Field(min_length=1, max_length=200)
    due: date


class EffectivenessCheckCreate(_Schema):
    """Whether a nonconformity's corrective actions worked."""

    effective: bool
    result: str = Field(min_length=1, max_length=20_000, description="What was found.")
    checked_by: str = Field(min_length=1, max_length=200)
    checked_on: date | None = Field(default=None, description="Default today.")
