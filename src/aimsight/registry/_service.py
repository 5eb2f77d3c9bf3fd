"""``ModelRegistry``: register, validate, approve, promote, retire, roll back, read and load.

Every change is written to the operational store (the version's stage, the aliases, an
approval or a validation report, and a transition row) and then to the ledger before the
call returns. The ledger has its own cross-process write lock, so the two cannot share one
database transaction; when the ledger write fails, the store change is undone, so nothing is
acknowledged that the ledger does not hold.
"""

from __future__ import annotations

import pickle
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aimsight import __version__
from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from aimsight.core.log import get_logger
from aimsight.core.workspace import Workspace
from aimsight.insight import FeatureSpec, InsightModel, TrainedModel
from aimsight.registry._artifacts import (
    ArtifactError,
    dump_model,
    library_versions,
    load_verified,
    remove_artifact,
    sha256_of,
    write_atomically,
)
from aimsight.registry._card import ModelCard, build_card
from aimsight.registry._lifecycle import (
    ChampionEvent,
    champion_stack,
    check_promotion,
    production_intervals,
)
from aimsight.registry._rows import (
    approval_of,
    canonical_sha256,
    check_snapshot,
    json_text,
    report_of,
    transition_of,
    version_of,
)
from aimsight.registry._scoring import ScoringModel
from aimsight.registry._tables import (
    ModelAliasRow,
    ModelApprovalRow,
    ModelTransitionRow,
    ModelValidationRow,
    ModelVersionRow,
)
from aimsight.registry._types import (
    Approval,
    CardInputs,
    ModelSummary,
    ModelVersion,
    Principal,
    ProductionInterval,
    Serving,
    Stage,
    Transition,
    ValidationReport,
)
from aimsight.registry._validation import check_gates, run_checks
from aimsight.security import Permission, has_permission
from aimsight.store import Base, Ledger, Store

__all__ = ["ModelRegistry", "VersionRef"]

VersionRef = int | str
"""A version number, ``vN``, ``latest``, ``champion`` or ``canary``."""

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_NAMED_REFS = ("latest", "champion", "canary")
_SERVING = frozenset({"shadow", "canary", "production"})
_MAX_ACTOR = 200
_MAX_REASON = 2000
_MIN_RATIONALE = 10
_REGISTER_ATTEMPTS = 5
_TRAINER_PREFIXES = ("api:", "cli:", "key:", "user:")
_COMPARED_LIBRARIES = ("python", "scikit-learn", "numpy", "pandas", "scipy", "joblib")

_log = get_logger("aimsight.registry")


@dataclass
class _Undo:
    """What a change did to the store, so it can be reverted if the ledger write fails."""

    stages: dict[int, str] = field(default_factory=dict)
    aliases: dict[str, tuple[int, float | None, str, str] | None] = field(default_factory=dict)
    added: list[tuple[type[Base], Any]] = field(default_factory=list)


class ModelRegistry:
    """Model versions, their evidence, approvals, lifecycle stages and aliases.

    Args:
        workspace: where artifacts live (``artifacts/models/<name>/v<N>/model.joblib``) and
            whose settings decide whether a library mismatch refuses a load.
        store: the operational store holding the registry tables.
        ledger: where every change is recorded before it is acknowledged.
        cache_size: how many loaded models to keep in memory.
    """

    def __init__(
        self, workspace: Workspace, store: Store, ledger: Ledger, *, cache_size: int = 16
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._cache: OrderedDict[tuple[str, int, str], InsightModel] = OrderedDict()
        self._cache_size = max(1, cache_size)
        self._cache_lock = threading.Lock()

    # -- registering ------------------------------------------------------------------------

    def register(
        self,
        name: str,
        trained: TrainedModel,
        *,
        trainer: str,
        data_snapshot: Mapping[str, str],
        card_inputs: CardInputs | Mapping[str, Any],
        gates: Mapping[str, Any],
        training_config: Mapping[str, Any],
    ) -> ModelVersion:
        """Store ``trained`` as the next version of ``name`` (1, 2, ...), in stage ``draft``.

        The model is pickled with joblib and written atomically to
        ``artifacts/models/<name>/v<N>/model.joblib``; its SHA-256, signature, evidence,
        data snapshot (lake file -> sha256), gates, card inputs and library versions are
        stored with it.

        Raises:
            InvalidInput: the name, gates, snapshot or card inputs are malformed, the trainer's
                evidence is not JSON-ready (NaN, numpy values), or the model cannot be pickled.
        """
        _check_name(name)
        _check_text("trainer", trainer, _MAX_ACTOR)
        model = trained.model
        features = _features_of(model)
        inputs = (
            card_inputs
            if isinstance(card_inputs, CardInputs)
            else CardInputs.from_config(card_inputs)
        )
        texts = {
            "params": json_text("params", dict(trained.params)),
            "metrics": json_text("metrics", dict(trained.metrics)),
            "evaluation": json_text("evaluation", dict(trained.evaluation)),
            "importance": json_text("importance", [[f, w] for f, w in trained.importance]),
            "notes": json_text("notes", list(trained.notes)),
            "training_config": json_text("training_config", dict(training_config)),
            "data_snapshot": json_text("data_snapshot", check_snapshot(data_snapshot)),
            "gates": json_text("gates", check_gates(gates)),
        }
        fairness = None if trained.fairness is None else json_text("fairness", trained.fairness)
        signature = [spec.to_dict() for spec in features]
        data = _pickled(model)
        sha256 = sha256_of(data)
        now = _now()
        number, relative = self._insert_version(
            name,
            dict(
                name=name,
                kind=str(model.kind),
                algorithm=str(trained.algorithm),
                stage="draft",
                artifact_sha256=sha256,
                artifact_bytes=len(data),
                signature=json_text("signature", signature),
                fairness=fairness,
                training_rows=int(trained.training_rows),
                evaluation_rows=int(trained.evaluation_rows),
                card_inputs=json_text("card_inputs", inputs.to_dict()),
                provenance=json_text("provenance", {"aimsight": __version__, **library_versions()}),
                trainer=trainer,
                created_at=now,
                updated_at=now,
                **texts,
            ),
            trainer,
            now,
        )
        path = self._workspace.root / relative
        try:
            write_atomically(path, data)
            self._ledger.append(
                "model.registered",
                actor=trainer,
                subject=f"{name}:v{number}",
                payload={
                    "name": name,
                    "version": number,
                    "from": None,
                    "to": "draft",
                    "kind": str(model.kind),
                    "algorithm": str(trained.algorithm),
                    "artifact_sha256": sha256,
                    "signature_sha256": canonical_sha256(signature),
                    "data_snapshot_sha256": canonical_sha256(dict(data_snapshot)),
                    "data_files": len(data_snapshot),
                    "training_config_sha256": canonical_sha256(dict(training_config)),
                    "metrics": dict(trained.metrics),
                    "gates": check_gates(gates),
                },
            )
        except BaseException:
            with self._store.session() as session:  # not acknowledged unless recorded
                session.execute(
                    delete(ModelTransitionRow).where(
                        ModelTransitionRow.name == name, ModelTransitionRow.version == number
                    )
                )
                session.execute(
                    delete(ModelVersionRow).where(
                        ModelVersionRow.name == name, ModelVersionRow.version == number
                    )
                )
            remove_artifact(path)
            raise
        return self.version(name, number)

    def _insert_version(
        self, name: str, values: dict[str, Any], trainer: str, now: str
    ) -> tuple[int, str]:
        """Store ``values`` as the next version of ``name``; retried on a concurrent clash."""
        for attempt in range(_REGISTER_ATTEMPTS):
            try:
                with self._store.session() as session:
                    latest = session.scalar(
                        select(func.max(ModelVersionRow.version)).where(
                            ModelVersionRow.name == name
                        )
                    )
                    number = int(latest or 0) + 1
                    relative = (
                        (self._workspace.artifacts_dir / "models" / name / f"v{number}")
                        .joinpath("model.joblib")
                        .relative_to(self._workspace.root)
                        .as_posix()
                    )
                    session.add(ModelVersionRow(**values, version=number, artifact_path=relative))
                    session.add(
                        ModelTransitionRow(
                            name=name,
                            version=number,
                            action="register",
                            from_stage=None,
                            to_stage="draft",
                            actor=trainer,
                            reason="",
                            detail=json_text(
                                "detail", {"artifact_sha256": values["artifact_sha256"]}
                            ),
                            at=now,
                        )
                    )
                return number, relative
            except IntegrityError:
                if attempt == _REGISTER_ATTEMPTS - 1:
                    raise Conflict(
                        f"could not give {name} a new version number: other registrations "
                        "kept taking it; try again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- validating and approving -----------------------------------------------------------

    def validate(self, name: str, version: VersionRef, *, actor: str) -> ValidationReport:
        """Run every automatic check on a version and store the report (the evidence).

        All checks passing moves a draft to ``validated``; any failure keeps it a draft (a
        validated version that now fails goes back to draft). Later stages keep their stage;
        the report is stored and recorded either way.
        """
        _check_text("actor", actor, _MAX_ACTOR)
        current = self.version(name, version)
        card = build_card(current, self.approvals(name, current.version))
        checks = run_checks(current, self._workspace.root, card)
        passed = all(check.passed for check in checks)
        to_stage: Stage = current.stage
        if current.stage == "draft" and passed:
            to_stage = "validated"
        elif current.stage == "validated" and not passed:
            to_stage = "draft"
        now = _now()
        failed = [check.check for check in checks if not check.passed]
        undo = _Undo()
        with self._store.session() as session:
            if to_stage != current.stage:
                _set_stage(session, undo, current, current.stage, to_stage, now)
            report = ModelValidationRow(
                name=name,
                version=current.version,
                passed=passed,
                checks=json_text("checks", [check.to_dict() for check in checks]),
                actor=actor,
                validated_at=now,
            )
            _add(session, undo, report)
            _add_transition(
                session,
                undo,
                current,
                action="validate",
                from_stage=current.stage,
                to_stage=to_stage,
                actor=actor,
                detail={"passed": passed, "failed": failed, "validation_id": report.id},
                at=now,
            )
        self._record(
            name,
            undo,
            [
                {
                    "kind": "model.validated",
                    "actor": actor,
                    "subject": current.ref,
                    "payload": {
                        "name": name,
                        "version": current.version,
                        "from": current.stage,
                        "to": to_stage,
                        "passed": passed,
                        "failed_checks": failed,
                        "checks_sha256": canonical_sha256([c.to_dict() for c in checks]),
                        "artifact_sha256": current.artifact_sha256,
                    },
                }
            ],
        )
        return report_of(report, to_stage)

    def approve(
        self, name: str, version: VersionRef, *, approver: Principal, rationale: str
    ) -> Approval:
        """Sign off a validated version; it becomes ``approved``.

        Raises:
            PermissionDenied: the approver's role lacks ``models:approve``, or the approver
                trained this version (separation of duties, ISO/IEC 42001 A.3.2).
            InvalidInput: the rationale is blank or shorter than 10 characters.
            Conflict: the version is not ``validated``.
        """
        current = self.version(name, version)
        if not has_permission(approver.role, Permission.MODELS_APPROVE):
            raise PermissionDenied(
                f"{approver.name} (role {approver.role.value!r}) may not approve models: "
                f"approving needs the permission {Permission.MODELS_APPROVE.value!r} "
                "(held by the governance role); ask someone who holds it"
            )
        if _same_person(approver, current.trainer):
            raise PermissionDenied(
                "approving one's own model is refused: separation of duties, ISO/IEC 42001 "
                f"A.3.2. {current.ref} was trained by {current.trainer}; another person with "
                "the models:approve permission must approve it"
            )
        text = _check_reason("rationale", rationale, minimum=_MIN_RATIONALE)
        if current.stage != "validated":
            hint = {
                "draft": "validate it first (`aimsight models validate`)",
                "retired": "it is retired",
            }.get(current.stage, "it has been approved already")
            raise Conflict(
                f"{current.ref} is {current.stage}; only a validated version can be approved: "
                + hint
            )
        now = _now()
        undo = _Undo()
        row = ModelApprovalRow(
            name=name,
            version=current.version,
            approver=approver.name,
            approver_role=approver.role.value,
            rationale=text,
            approved_at=now,
        )
        with self._store.session() as session:
            _set_stage(session, undo, current, "validated", "approved", now)
            _add(session, undo, row)
            _add_transition(
                session,
                undo,
                current,
                action="approve",
                from_stage="validated",
                to_stage="approved",
                actor=approver.name,
                reason=text,
                detail={"approver_role": approver.role.value, "approval_id": row.id},
                at=now,
            )
        self._record(
            name,
            undo,
            [
                {
                    "kind": "model.approved",
                    "actor": approver.name,
                    "subject": current.ref,
                    "payload": {
                        "name": name,
                        "version": current.version,
                        "from": "validated",
                        "to": "approved",
                        "approver_role": approver.role.value,
                        "trainer": current.trainer,
                        "artifact_sha256": current.artifact_sha256,
                    },
                    "personal": {"rationale": text},
                }
            ],
        )
        return approval_of(row)

    # -- lifecycle ----------------------------------------------------------------------------

    def promote(
        self,
        name: str,
        version: VersionRef,
        *,
        to: str,
        actor: str,
        share: float | None = None,
        exception: str | None = None,
    ) -> ModelVersion:
        """Move an approved version towards production: ``shadow``, ``canary`` (with the
        ``share`` of traffic, 0 < share < 1) or ``production``.

        Allowed: approved -> shadow | canary, shadow -> canary | production, canary ->
        production, and approved -> production only with an ``exception`` saying why it skips
        shadow and canary (recorded). A new champion retires the previous one.

        Raises:
            InvalidInput: ``to``, ``share`` or ``exception`` is not acceptable.
            Conflict: the stage cannot move to ``to``, or another version is the canary.
        """
        _check_text("actor", actor, _MAX_ACTOR)
        current = self.version(name, version)
        if exception is not None:
            exception = _check_reason("exception", exception, minimum=1)
        check_promotion(current.ref, current.stage, to, share=share, exception=exception)
        target = cast(Stage, to)
        serving = self.serving(name)
        if to == "canary" and serving.canary not in (None, current.version):
            raise Conflict(
                f"v{serving.canary} of {name} is the canary already; promote it to production "
                "or retire it before starting another canary"
            )
        previous = None
        if to == "production" and serving.champion is not None:
            previous = self.version(name, serving.champion)
        now = _now()
        undo = _Undo()
        entries: list[dict[str, Any]] = []
        with self._store.session() as session:
            _set_stage(session, undo, current, current.stage, target, now)
            detail = {
                "share": share,
                "exception": exception is not None,
                "artifact_sha256": current.artifact_sha256,
            }
            _add_transition(
                session,
                undo,
                current,
                action="promote",
                from_stage=current.stage,
                to_stage=target,
                actor=actor,
                reason=exception or "",
                detail=detail,
                at=now,
            )
            entries.append(_stage_entry(current, current.stage, target, actor, detail, exception))
            if to == "canary":
                _set_alias(session, undo, name, "canary", current.version, share, actor, now)
            if current.stage == "canary":
                _set_alias(session, undo, name, "canary", None, None, actor, now)
            if to == "production":
                if previous is not None:
                    reason = f"replaced as champion by v{current.version}"
                    _set_stage(session, undo, previous, "production", "retired", now)
                    retired = {"replaced_by": current.version}
                    _add_transition(
                        session,
                        undo,
                        previous,
                        action="retire",
                        from_stage="production",
                        to_stage="retired",
                        actor=actor,
                        reason=reason,
                        detail=retired,
                        at=now,
                    )
                    entries.append(
                        _stage_entry(previous, "production", "retired", actor, retired, reason)
                    )
                _set_alias(session, undo, name, "champion", current.version, None, actor, now)
        self._record(name, undo, entries)
        return self.version(name, current.version)

    def retire(self, name: str, version: VersionRef, *, actor: str, reason: str) -> ModelVersion:
        """Take a version out of use for good (a canary or shadow stops getting traffic).

        Raises:
            InvalidInput: no reason is given.
            Conflict: the version is retired already, or it is the champion (promote another
                version or roll back first, so production is never left without a model).
        """
        _check_text("actor", actor, _MAX_ACTOR)
        text = _check_reason("reason", reason, minimum=1)
        current = self.version(name, version)
        if current.stage == "retired":
            raise Conflict(f"{current.ref} is retired already")
        if current.stage == "production":
            raise Conflict(
                f"{current.ref} is the champion; promote another version to production or roll "
                "back to an earlier one instead, so production always has a model"
            )
        now = _now()
        undo = _Undo()
        detail = {"artifact_sha256": current.artifact_sha256}
        with self._store.session() as session:
            _set_stage(session, undo, current, current.stage, "retired", now)
            _add_transition(
                session,
                undo,
                current,
                action="retire",
                from_stage=current.stage,
                to_stage="retired",
                actor=actor,
                reason=text,
                detail=detail,
                at=now,
            )
            if current.stage == "canary":
                _set_alias(session, undo, name, "canary", None, None, actor, now)
        self._record(
            name, undo, [_stage_entry(current, current.stage, "retired", actor, detail, text)]
        )
        return self.version(name, current.version)

    def rollback(self, name: str, *, actor: str, reason: str) -> ModelVersion:
        """Make the champion before the current one the champion again.

        The current champion is retired. Rolling back twice walks back two champions.

        Raises:
            InvalidInput: no reason is given.
            Conflict: there is no earlier production version to return to.
        """
        _check_text("actor", actor, _MAX_ACTOR)
        text = _check_reason("reason", reason, minimum=1)
        stack = champion_stack(self._champion_events(name))
        if len(stack) < 2:
            raise Conflict(
                f"{name} has no earlier production version to roll back to"
                + (f" (v{stack[0]} is its first champion)" if stack else " (it has no champion)")
            )
        current = self.version(name, stack[-1])
        target = self.version(name, stack[-2])
        if current.stage != "production":
            raise Conflict(
                f"the champion history of {name} does not match its stages ({current.ref} is "
                f"{current.stage}); look at `aimsight models history {name}`"
            )
        now = _now()
        undo = _Undo()
        back = {"rolled_back_from": current.version, "artifact_sha256": target.artifact_sha256}
        off = {"rolled_back_to": target.version, "artifact_sha256": current.artifact_sha256}
        with self._store.session() as session:
            _set_stage(session, undo, current, "production", "retired", now)
            _set_stage(session, undo, target, target.stage, "production", now)
            _add_transition(
                session,
                undo,
                current,
                action="retire",
                from_stage="production",
                to_stage="retired",
                actor=actor,
                reason=text,
                detail=off,
                at=now,
            )
            _add_transition(
                session,
                undo,
                target,
                action="rollback",
                from_stage=target.stage,
                to_stage="production",
                actor=actor,
                reason=text,
                detail=back,
                at=now,
            )
            _set_alias(session, undo, name, "champion", target.version, None, actor, now)
        self._record(
            name,
            undo,
            [
                _stage_entry(current, "production", "retired", actor, off, text),
                {
                    "kind": "model.rolled_back",
                    "actor": actor,
                    "subject": target.ref,
                    "payload": {
                        "name": name,
                        "version": target.version,
                        "from": target.stage,
                        "to": "production",
                        "from_version": current.version,
                        "to_version": target.version,
                        "artifact_sha256": target.artifact_sha256,
                    },
                    "personal": {"reason": text},
                },
            ],
        )
        return self.version(name, target.version)

    # -- reading ----------------------------------------------------------------------------

    def list_models(self) -> list[ModelSummary]:
        """Every model: kind, latest version, champion, canary and versions per stage."""
        with self._store.session() as session:
            rows = session.execute(
                select(
                    ModelVersionRow.name,
                    ModelVersionRow.version,
                    ModelVersionRow.kind,
                    ModelVersionRow.stage,
                    ModelVersionRow.updated_at,
                ).order_by(ModelVersionRow.name, ModelVersionRow.version)
            ).all()
            aliases = session.scalars(select(ModelAliasRow)).all()
        by_alias = {(a.name, a.alias): a for a in aliases}
        summaries: dict[str, ModelSummary] = {}
        for row in rows:
            stages = dict(summaries[row.name].stages) if row.name in summaries else {}
            stages[row.stage] = stages.get(row.stage, 0) + 1
            previous = summaries.get(row.name)
            champion = by_alias.get((row.name, "champion"))
            canary = by_alias.get((row.name, "canary"))
            summaries[row.name] = ModelSummary(
                name=row.name,
                kind=row.kind,
                latest_version=row.version,
                champion=champion.version if champion else None,
                canary=canary.version if canary else None,
                canary_share=canary.share if canary else None,
                stages=stages,
                updated_at=max(row.updated_at, previous.updated_at if previous else ""),
            )
        return list(summaries.values())

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first.

        Raises:
            NotFound: no model has this name.
        """
        with self._store.session() as session:
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version)
            ).all()
            aliases = session.scalars(select(ModelAliasRow).where(ModelAliasRow.name == name)).all()
        if not rows:
            raise _no_model(name)
        return [_with_aliases(row, aliases) for row in rows]

    def version(self, name: str, ref: VersionRef = "latest") -> ModelVersion:
        """One version: by number, ``vN``, ``latest``, ``champion`` or ``canary``.

        Raises:
            InvalidInput: ``ref`` is none of these.
            NotFound: the model, the version, or the alias does not exist.
        """
        wanted = parse_ref(ref)
        with self._store.session() as session:
            aliases = session.scalars(select(ModelAliasRow).where(ModelAliasRow.name == name)).all()
            number: int | None
            if isinstance(wanted, int):
                number = wanted
            elif wanted == "latest":
                number = session.scalar(
                    select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
                )
            else:
                number = next((a.version for a in aliases if a.alias == wanted), None)
            row = session.get(ModelVersionRow, (name, number)) if number is not None else None
            if row is None:
                known = session.scalar(
                    select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
                )
        if row is not None:
            return _with_aliases(row, aliases)
        if known is None:
            raise _no_model(name)
        if wanted == "champion":
            raise NotFound(f"{name} has no champion yet: promote a version to production")
        if wanted == "canary":
            raise NotFound(f"{name} has no canary now")
        raise NotFound(f"{name} has no version {wanted}; its versions are 1 to {known}")

    def approvals(self, name: str, version: int) -> list[Approval]:
        """The approvals of one version, oldest first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(ModelApprovalRow)
                .where(ModelApprovalRow.name == name, ModelApprovalRow.version == version)
                .order_by(ModelApprovalRow.id)
            ).all()
        return [approval_of(row) for row in rows]

    def validations(self, name: str, version: VersionRef) -> list[ValidationReport]:
        """Every validation report of one version, oldest first (with the version's stage
        now)."""
        current = self.version(name, version)
        with self._store.session() as session:
            rows = session.scalars(
                select(ModelValidationRow)
                .where(
                    ModelValidationRow.name == name,
                    ModelValidationRow.version == current.version,
                )
                .order_by(ModelValidationRow.id)
            ).all()
        return [report_of(row, current.stage) for row in rows]

    def history(self, name: str) -> list[Transition]:
        """Every transition of every version of ``name``, in order.

        Raises:
            NotFound: no model has this name.
        """
        with self._store.session() as session:
            rows = session.scalars(
                select(ModelTransitionRow)
                .where(ModelTransitionRow.name == name)
                .order_by(ModelTransitionRow.id)
            ).all()
        if not rows:
            raise _no_model(name)
        return [transition_of(row) for row in rows]

    def production_history(self, name: str) -> list[ProductionInterval]:
        """Which version was champion when: one interval per time a version became champion.

        Raises:
            NotFound: no model has this name.
        """
        self.version(name, "latest")
        return production_intervals(self._champion_events(name))

    def serving(self, name: str) -> Serving:
        """The champion, the canary with its share, and the shadows of ``name``.

        Raises:
            NotFound: no model has this name.
        """
        with self._store.session() as session:
            aliases = session.scalars(select(ModelAliasRow).where(ModelAliasRow.name == name)).all()
            shadows = session.scalars(
                select(ModelVersionRow.version)
                .where(ModelVersionRow.name == name, ModelVersionRow.stage == "shadow")
                .order_by(ModelVersionRow.version)
            ).all()
            exists = session.scalar(
                select(ModelVersionRow.version).where(ModelVersionRow.name == name).limit(1)
            )
        if exists is None:
            raise _no_model(name)
        champion = next((a for a in aliases if a.alias == "champion"), None)
        canary = next((a for a in aliases if a.alias == "canary"), None)
        return Serving(
            name=name,
            champion=champion.version if champion else None,
            canary=canary.version if canary else None,
            canary_share=canary.share if canary else None,
            shadows=tuple(shadows),
        )

    def card(self, name: str, ref: VersionRef = "latest") -> ModelCard:
        """The model card of a version (Mitchell et al. 2019)."""
        current = self.version(name, ref)
        return build_card(current, self.approvals(name, current.version))

    # -- loading ----------------------------------------------------------------------------

    def load(
        self, name: str, ref: VersionRef = "champion", *, serving_only: bool = False
    ) -> ScoringModel:
        """A version ready to score, its artifact verified by SHA-256 before unpickling.

        Loaded models are kept by (name, version, sha256), so a version is read from disk
        once per process.

        Args:
            name: the model's name.
            ref: which version (default: the champion).
            serving_only: refuse versions that are not in shadow, canary or production
                (what the API and decisions use, so no draft ever scores a customer).

        Raises:
            NotFound: no such model, version or alias.
            Conflict: ``serving_only`` and the version does not serve.
            ArtifactError: the artifact is missing or was altered since registration.
            ConfigurationError: in production, the libraries differ from those it was
                trained with.
        """
        current = self.version(name, ref)
        if serving_only and current.stage not in _SERVING:
            raise Conflict(
                f"{current.ref} is {current.stage}; only versions in shadow, canary or "
                "production serve scores: promote it first"
            )
        key = (name, current.version, current.artifact_sha256)
        with self._cache_lock:
            model = self._cache.get(key)
            if model is not None:
                self._cache.move_to_end(key)
        if model is None:
            self._check_libraries(current)
            loaded = load_verified(
                self._workspace.root / current.artifact_path,
                current.artifact_sha256,
                label=f"{current.ref} ({current.artifact_path})",
            )
            if not isinstance(loaded, InsightModel):
                raise ArtifactError(
                    f"the artifact of {current.ref} is not an insight model (it has no kind, "
                    "features, score and explain); register the trainer's model"
                )
            model = loaded
            with self._cache_lock:
                self._cache[key] = model
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return ScoringModel(name, current.version, current.stage, model, current.artifact_sha256)

    def _check_libraries(self, current: ModelVersion) -> None:
        """Warn (and in production refuse) when a library differs from training time.

        Major and minor versions are compared: a pickled model is only known to behave the
        same under the versions that made it.
        """
        now = library_versions()
        differing = [
            f"{lib} {current.provenance[lib]} (now {now[lib]})"
            for lib in _COMPARED_LIBRARIES
            if lib in current.provenance
            and lib in now
            and _minor(current.provenance[lib]) != _minor(now[lib])
        ]
        if not differing:
            return
        words = ", ".join(differing)
        if self._workspace.settings.environment == "production":
            raise ConfigurationError(
                f"{current.ref} was trained under {words}; in production a model is only "
                "loaded under the library versions it was trained with: retrain and register "
                "a new version, or install those versions"
            )
        _log.warning(
            "model loaded under other library versions",
            extra={"model": current.ref, "differences": words},
        )

    # -- internals --------------------------------------------------------------------------

    def _champion_events(self, name: str) -> list[ChampionEvent]:
        with self._store.session() as session:
            rows = session.execute(
                select(
                    ModelTransitionRow.version,
                    ModelTransitionRow.action,
                    ModelTransitionRow.at,
                    ModelTransitionRow.actor,
                )
                .where(
                    ModelTransitionRow.name == name,
                    ModelTransitionRow.to_stage == "production",
                    ModelTransitionRow.action.in_(("promote", "rollback")),
                )
                .order_by(ModelTransitionRow.id)
            ).all()
        return [ChampionEvent(r.version, r.action, r.at, r.actor) for r in rows]

    def _record(self, name: str, undo: _Undo, entries: Sequence[Mapping[str, Any]]) -> None:
        """Write ``entries`` to the ledger; if that fails, revert the store change."""
        try:
            self._ledger.append_many(entries)
        except BaseException:
            self._revert(name, undo)
            raise

    def _revert(self, name: str, undo: _Undo) -> None:
        with self._store.session() as session:
            for table, key in reversed(undo.added):
                row = session.get(table, key)
                if row is not None:
                    session.delete(row)
            for number, stage in undo.stages.items():
                session.execute(
                    update(ModelVersionRow)
                    .where(ModelVersionRow.name == name, ModelVersionRow.version == number)
                    .values(stage=stage)
                )
            for alias, before in undo.aliases.items():
                session.execute(
                    delete(ModelAliasRow).where(
                        ModelAliasRow.name == name, ModelAliasRow.alias == alias
                    )
                )
                if before is not None:
                    number, share, by, at = before
                    session.add(
                        ModelAliasRow(
                            name=name,
                            alias=alias,
                            version=number,
                            share=share,
                            updated_by=by,
                            updated_at=at,
                        )
                    )


def parse_ref(ref: VersionRef) -> int | str:
    """``ref`` as a version number or one of ``latest``, ``champion``, ``canary``.

    Raises:
        InvalidInput: ``ref`` is none of these.
    """
    if isinstance(ref, int) and not isinstance(ref, bool):
        if ref >= 1:
            return ref
    elif isinstance(ref, str):
        text = ref.strip().lower()
        digits = text[1:] if text.startswith("v") else text
        if digits.isascii() and digits.isdigit() and int(digits) >= 1:
            return int(digits)
        if text in _NAMED_REFS:
            return text
    raise InvalidInput(
        f"version {ref!r} is not a version: use a number (3 or v3), latest, champion or canary",
        field="version",
    )


def _set_stage(
    session: Session, undo: _Undo, current: ModelVersion, expected: str, to: str, now: str
) -> None:
    """Move a version from ``expected`` to ``to``; refuse if it changed meanwhile."""
    result = session.execute(
        update(ModelVersionRow)
        .where(
            ModelVersionRow.name == current.name,
            ModelVersionRow.version == current.version,
            ModelVersionRow.stage == expected,
        )
        .values(stage=to, updated_at=now)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise Conflict(
            f"{current.ref} changed meanwhile (it is no longer {expected}); look again and retry"
        )
    undo.stages.setdefault(current.version, expected)


def _set_alias(
    session: Session,
    undo: _Undo,
    name: str,
    alias: str,
    version: int | None,
    share: float | None,
    actor: str,
    now: str,
) -> None:
    """Point ``alias`` at ``version`` (``None`` removes it), remembering what it was."""
    row = session.get(ModelAliasRow, (name, alias))
    if alias not in undo.aliases:
        undo.aliases[alias] = (
            None if row is None else (row.version, row.share, row.updated_by, row.updated_at)
        )
    if version is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(
            ModelAliasRow(
                name=name,
                alias=alias,
                version=version,
                share=share,
                updated_by=actor,
                updated_at=now,
            )
        )
    else:
        row.version, row.share, row.updated_by, row.updated_at = version, share, actor, now


def _add(
    session: Session, undo: _Undo, row: ModelTransitionRow | ModelApprovalRow | ModelValidationRow
) -> None:
    session.add(row)
    session.flush()
    undo.added.append((type(row), row.id))


def _add_transition(
    session: Session,
    undo: _Undo,
    current: ModelVersion,
    *,
    action: str,
    from_stage: str | None,
    to_stage: str,
    actor: str,
    detail: Mapping[str, Any],
    at: str,
    reason: str = "",
) -> None:
    _add(
        session,
        undo,
        ModelTransitionRow(
            name=current.name,
            version=current.version,
            action=action,
            from_stage=from_stage,
            to_stage=to_stage,
            actor=actor,
            reason=reason,
            detail=json_text("detail", dict(detail)),
            at=at,
        ),
    )


def _stage_entry(
    current: ModelVersion,
    from_stage: str,
    to_stage: str,
    actor: str,
    detail: Mapping[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "model.stage_changed",
        "actor": actor,
        "subject": current.ref,
        "payload": {
            "name": current.name,
            "version": current.version,
            "from": from_stage,
            "to": to_stage,
            **detail,
        },
    }
    if reason:
        entry["personal"] = {"reason": reason}
    return entry


def _with_aliases(row: ModelVersionRow, aliases: Sequence[ModelAliasRow]) -> ModelVersion:
    mine = [a for a in aliases if a.version == row.version]
    share = next((a.share for a in mine if a.alias == "canary"), None)
    return version_of(row, tuple(sorted(a.alias for a in mine)), share)


def _features_of(model: Any) -> tuple[FeatureSpec, ...]:
    features = getattr(model, "features", None)
    if not isinstance(getattr(model, "kind", None), str) or not isinstance(features, tuple | list):
        raise InvalidInput(
            "the trained model must be an insight model with a kind and a features tuple",
            field="model",
        )
    for spec in features:
        if not isinstance(spec, FeatureSpec):
            raise InvalidInput(
                f"the model's features must be FeatureSpec objects, not {type(spec).__name__}",
                field="model.features",
            )
    return tuple(features)


def _pickled(model: Any) -> bytes:
    try:
        return dump_model(model)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"the model cannot be pickled ({exc}); create helpers such as explainers lazily "
            "and drop them in __getstate__",
            field="model",
        ) from None


def _same_person(approver: Principal, trainer: str) -> bool:
    """Whether ``trainer`` (``cli:<login>``, ``api:<key id>``, a name) names the approver."""
    who = trainer.strip().lower()
    for prefix in _TRAINER_PREFIXES:
        if who.startswith(prefix):
            who = who[len(prefix) :]
            break
    names = {approver.name.strip().lower()}
    if approver.key_id:
        names.add(approver.key_id.lower())
    return who in names or trainer.strip().lower() in names


def _check_name(name: str) -> None:
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidInput(
            f"model name {name!r} is not allowed: use 1-63 lower-case letters, digits, '_' or "
            "'-', starting with a letter (e.g. churn or next-best-offer)",
            field="name",
        )


def _check_text(field_name: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"{field_name} must be 1-{limit} characters", field=field_name)


def _check_reason(field_name: str, value: str, *, minimum: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < minimum:
        need = "must not be blank" if minimum <= 1 else f"needs at least {minimum} characters"
        raise InvalidInput(
            f"the {field_name} {need}: say why, for the record an auditor will read",
            field=field_name,
        )
    if len(text) > _MAX_REASON:
        raise InvalidInput(
            f"the {field_name} is longer than {_MAX_REASON} characters", field=field_name
        )
    return text


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _no_model(name: str) -> NotFound:
    return NotFound(f"no model named {name!r}; `aimsight models list` shows the registered ones")


def _now() -> str:
    return isoformat_utc(now_utc())
