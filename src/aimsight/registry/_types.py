"""What the registry hands out: versions, approvals, validation reports, transitions, serving.

All are plain frozen records with ``to_dict()`` giving JSON-ready dicts, so the CLI, the API
and the ledger show exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aimsight.core.errors import InvalidInput
from aimsight.insight import FeatureSpec
from aimsight.security import Role

__all__ = [
    "STAGES",
    "Approval",
    "CardInputs",
    "ModelSummary",
    "ModelVersion",
    "Principal",
    "ProductionInterval",
    "Serving",
    "Stage",
    "Transition",
    "ValidationCheck",
    "ValidationReport",
]

Stage = Literal["draft", "validated", "approved", "shadow", "canary", "production", "retired"]
STAGES: tuple[Stage, ...] = (
    "draft",
    "validated",
    "approved",
    "shadow",
    "canary",
    "production",
    "retired",
)
"""Every stage, in the order a version normally moves through them."""


class CardInputs(BaseModel):
    """What only people can say about a model, for its card (Mitchell et al. 2019).

    Each field comes from the model's configuration; a single text where a list is expected
    is taken as a list of one. Empty fields are allowed here and reported by validation, so
    a model can be registered and its card completed before approval.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str = Field(default="", description="Who answers for the model (a team or person).")
    intended_use: str = Field(default="", description="The primary use the model is made for.")
    intended_users: list[str] = Field(default_factory=list, description="Who may use it.")
    out_of_scope_uses: list[str] = Field(
        default_factory=list, description="Uses it must not be put to."
    )
    factors: list[str] = Field(
        default_factory=list,
        description="Groups, conditions or environments its performance may differ across.",
    )
    ethical_considerations: list[str] = Field(default_factory=list)
    caveats_and_recommendations: list[str] = Field(default_factory=list)

    @field_validator(
        "intended_users",
        "out_of_scope_uses",
        "factors",
        "ethical_considerations",
        "caveats_and_recommendations",
        mode="before",
    )
    @classmethod
    def _one_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value] if value.strip() else []
        return value

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None) -> CardInputs:
        """Card inputs from a model's configuration (the ``card:`` block of its YAML).

        Raises:
            InvalidInput: a field is unknown or has the wrong type; the message names it.
        """
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "card"
            allowed = ", ".join(cls.model_fields)
            raise InvalidInput(
                f"model card field {where!r}: {first.get('msg', 'is not valid')}; the card "
                f"takes {allowed} (text or lists of text)",
                field=f"card.{where}",
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.model_dump()


@dataclass(frozen=True)
class Principal:
    """An authenticated person or system acting on the registry: its name and role.

    ``key_id`` is the API key it authenticated with, when known; separation of duties
    compares it too, since a trainer acting over the API is recorded as ``api:<key id>``.
    """

    name: str
    role: Role
    key_id: str | None = None


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, with all the evidence it was registered with."""

    name: str
    version: int
    kind: str
    algorithm: str
    stage: Stage
    artifact_path: str
    artifact_sha256: str
    artifact_bytes: int
    features: tuple[FeatureSpec, ...]
    params: dict[str, Any]
    metrics: dict[str, Any]
    evaluation: dict[str, Any]
    fairness: dict[str, Any] | None
    importance: list[tuple[str, float]]
    notes: list[str]
    training_rows: int
    evaluation_rows: int
    data_snapshot: dict[str, str]
    training_config: dict[str, Any]
    gates: dict[str, dict[str, float]]
    card_inputs: CardInputs
    provenance: dict[str, str]
    trainer: str
    created_at: str
    updated_at: str
    aliases: tuple[str, ...] = ()
    canary_share: float | None = None

    @property
    def ref(self) -> str:
        """``name:vN``, how the ledger and messages name this version."""
        return f"{self.name}:v{self.version}"

    def to_dict(self, *, evidence: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; without ``evidence`` the bulky evaluation and fairness results,
        parameters and training configuration are left out (for listings)."""
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "algorithm": self.algorithm,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "canary_share": self.canary_share,
            "artifact": {
                "path": self.artifact_path,
                "sha256": self.artifact_sha256,
                "bytes": self.artifact_bytes,
            },
            "features": [spec.to_dict() for spec in self.features],
            "metrics": dict(self.metrics),
            "gates": {k: dict(v) for k, v in self.gates.items()},
            "training_rows": self.training_rows,
            "evaluation_rows": self.evaluation_rows,
            "trainer": self.trainer,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if evidence:
            data.update(
                {
                    "params": self.params,
                    "evaluation": self.evaluation,
                    "fairness": self.fairness,
                    "importance": [[f, w] for f, w in self.importance],
                    "notes": list(self.notes),
                    "data_snapshot": dict(self.data_snapshot),
                    "training_config": self.training_config,
                    "card_inputs": self.card_inputs.to_dict(),
                    "provenance": dict(self.provenance),
                }
            )
        return data


@dataclass(frozen=True)
class Approval:
    """A sign-off on a validated version by someone other than its trainer."""

    name: str
    version: int
    approver: str
    approver_role: str
    rationale: str
    approved_at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ValidationCheck:
    """One automatic check: what was checked, whether it passed, and the evidence in words."""

    check: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    """Every check of one validation run; ``passed`` only when all of them passed."""

    name: str
    version: int
    passed: bool
    checks: tuple[ValidationCheck, ...]
    stage: Stage
    actor: str
    validated_at: str

    @property
    def failures(self) -> list[ValidationCheck]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "version": self.version,
            "passed": self.passed,
            "stage": self.stage,
            "actor": self.actor,
            "validated_at": self.validated_at,
            "checks": [check.to_dict() for check in self.checks],
        }


@dataclass(frozen=True)
class Transition:
    """One step in a version's life, as the history lists it."""

    name: str
    version: int
    action: str
    from_stage: str | None
    to_stage: str
    actor: str
    reason: str
    detail: dict[str, Any]
    at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ProductionInterval:
    """When a version was the champion: from ``started_at`` until ``ended_at`` (``None``:
    still is), and how it got there (``promote`` or ``rollback``)."""

    version: int
    started_at: str
    ended_at: str | None
    via: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Serving:
    """Which versions of a model get traffic now: what the decision layer uses."""

    name: str
    champion: int | None
    canary: int | None
    canary_share: float | None
    shadows: tuple[int, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "champion": self.champion,
            "canary": self.canary,
            "canary_share": self.canary_share,
            "shadows": list(self.shadows),
        }


@dataclass(frozen=True)
class ModelSummary:
    """One model as the inventory lists it."""

    name: str
    kind: str
    latest_version: int
    champion: int | None
    canary: int | None
    canary_share: float | None
    stages: dict[str, int]
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
