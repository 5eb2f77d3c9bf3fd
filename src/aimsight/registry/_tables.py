"""Tables of the model registry: versions, stage transitions, approvals, validation reports
and aliases.

JSON documents (metrics, evaluation, signature, model-card inputs...) are stored as text, as
the identity tables do, so SQLite and PostgreSQL hold them alike. Artifact paths are relative
to the workspace, so a workspace can be moved or restored elsewhere.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aimsight.store import Base

__all__ = [
    "ModelAliasRow",
    "ModelApprovalRow",
    "ModelTransitionRow",
    "ModelValidationRow",
    "ModelVersionRow",
]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class ModelVersionRow(Base):
    """One registered version of a named model and everything a card and a gate need.

    ``stage`` is one of ``draft``, ``validated``, ``approved``, ``shadow``, ``canary``,
    ``production`` or ``retired``. ``artifact_path`` is relative to the workspace.
    """

    __tablename__ = "registry_model_versions"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(16))
    artifact_path: Mapped[str] = mapped_column(String(500))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    artifact_bytes: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text)
    metrics: Mapped[str] = mapped_column(Text)
    evaluation: Mapped[str] = mapped_column(Text)
    fairness: Mapped[str | None] = mapped_column(Text)
    importance: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    training_rows: Mapped[int] = mapped_column(BigInteger)
    evaluation_rows: Mapped[int] = mapped_column(BigInteger)
    data_snapshot: Mapped[str] = mapped_column(Text)
    training_config: Mapped[str] = mapped_column(Text)
    gates: Mapped[str] = mapped_column(Text)
    card_inputs: Mapped[str] = mapped_column(Text)
    provenance: Mapped[str] = mapped_column(Text)
    trainer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_registry_model_versions_stage", "name", "stage"),)


class ModelTransitionRow(Base):
    """One step in a version's life: registered, validated, approved, promoted, retired,
    rolled back. ``detail`` is JSON (share, exception, hashes, the validation outcome)."""

    __tablename__ = "registry_transitions"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[str] = mapped_column(String(32))


class ModelApprovalRow(Base):
    """A second person's sign-off on a validated version, with their role and rationale."""

    __tablename__ = "registry_approvals"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    approver: Mapped[str] = mapped_column(String(200))
    approver_role: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_registry_approvals_name", "name", "version"),)


class ModelValidationRow(Base):
    """The outcome of one validation run: every automatic check, passed or not, and why.

    ``checks`` is a JSON list of ``{check, passed, detail}``; it is the evidence an auditor
    asks for, kept whether the run passed or failed.
    """

    __tablename__ = "registry_validations"

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    checks: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    validated_at: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_registry_validations_name", "name", "version"),)


class ModelAliasRow(Base):
    """A movable name for one version: ``champion`` (production) or ``canary`` (with the
    share of traffic it gets). Shadows are a stage, not an alias: several may run at once."""

    __tablename__ = "registry_aliases"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    alias: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    share: Mapped[float | None] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[str] = mapped_column(String(32))
