"""Between table rows and registry records: JSON text in and out, checked on the way in."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any, cast

from aimsight.core.errors import InvalidInput
from aimsight.insight import FeatureSpec
from aimsight.registry._tables import (
    ModelApprovalRow,
    ModelTransitionRow,
    ModelValidationRow,
    ModelVersionRow,
)
from aimsight.registry._types import (
    Approval,
    CardInputs,
    ModelVersion,
    Stage,
    Transition,
    ValidationCheck,
    ValidationReport,
)

__all__ = [
    "approval_of",
    "canonical_sha256",
    "check_snapshot",
    "json_text",
    "report_of",
    "transition_of",
    "version_of",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def json_text(field: str, value: Any) -> str:
    """``value`` as JSON text, or an error naming where it is not JSON-ready.

    Raises:
        InvalidInput: ``value`` holds NaN, infinity or a non-JSON type (numpy scalars
            included); the message gives the path, e.g. ``metrics.roc_auc``.
    """
    bad = _first_unjsonable(value, field)
    if bad is not None:
        path, what = bad
        raise InvalidInput(
            f"{path} is {what}, which cannot be stored as JSON; trainers must return plain "
            "numbers, text, lists and dicts, with None for a missing value",
            field=path,
        )
    return json.dumps(value, separators=(",", ":"))


def canonical_sha256(value: Any) -> str:
    """SHA-256 of the sorted, compact JSON of ``value`` (hashes put on the ledger)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_snapshot(snapshot: Mapping[str, str]) -> dict[str, str]:
    """The data snapshot as ``{lake file: sha256}``, refused when not that shape.

    Raises:
        InvalidInput: a key is not text or a value is not a lower-case SHA-256 hex digest.
    """
    if not isinstance(snapshot, Mapping):
        raise InvalidInput(
            "data_snapshot must map lake files to their sha256", field="data_snapshot"
        )
    for path, digest in snapshot.items():
        if not isinstance(path, str) or not isinstance(digest, str) or not _SHA256.match(digest):
            raise InvalidInput(
                f"data_snapshot entry {path!r} must be a lake file with its sha256 (64 "
                "lower-case hex characters)",
                field="data_snapshot",
            )
    return dict(snapshot)


def version_of(
    row: ModelVersionRow, aliases: tuple[str, ...] = (), share: float | None = None
) -> ModelVersion:
    """The record of a version row."""
    fairness = json.loads(row.fairness) if row.fairness is not None else None
    return ModelVersion(
        name=row.name,
        version=row.version,
        kind=row.kind,
        algorithm=row.algorithm,
        stage=cast(Stage, row.stage),
        artifact_path=row.artifact_path,
        artifact_sha256=row.artifact_sha256,
        artifact_bytes=row.artifact_bytes,
        features=tuple(FeatureSpec.from_dict(spec) for spec in json.loads(row.signature)),
        params=json.loads(row.params),
        metrics=json.loads(row.metrics),
        evaluation=json.loads(row.evaluation),
        fairness=fairness,
        importance=[(str(f), float(w)) for f, w in json.loads(row.importance)],
        notes=list(json.loads(row.notes)),
        training_rows=row.training_rows,
        evaluation_rows=row.evaluation_rows,
        data_snapshot=json.loads(row.data_snapshot),
        training_config=json.loads(row.training_config),
        gates=json.loads(row.gates),
        card_inputs=CardInputs.model_validate(json.loads(row.card_inputs)),
        provenance=json.loads(row.provenance),
        trainer=row.trainer,
        created_at=row.created_at,
        updated_at=row.updated_at,
        aliases=aliases,
        canary_share=share,
    )


def approval_of(row: ModelApprovalRow) -> Approval:
    """The record of an approval row."""
    return Approval(
        name=row.name,
        version=row.version,
        approver=row.approver,
        approver_role=row.approver_role,
        rationale=row.rationale,
        approved_at=row.approved_at,
    )


def transition_of(row: ModelTransitionRow) -> Transition:
    """The record of a transition row."""
    return Transition(
        name=row.name,
        version=row.version,
        action=row.action,
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        actor=row.actor,
        reason=row.reason,
        detail=json.loads(row.detail),
        at=row.at,
    )


def report_of(row: ModelValidationRow, stage: Stage) -> ValidationReport:
    """The record of a stored validation report."""
    return ValidationReport(
        name=row.name,
        version=row.version,
        passed=row.passed,
        checks=tuple(ValidationCheck(**check) for check in json.loads(row.checks)),
        stage=stage,
        actor=row.actor,
        validated_at=row.validated_at,
    )


def _first_unjsonable(value: Any, path: str) -> tuple[str, str] | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"{value} (not a finite number)")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]", "a key that is not text"
            found = _first_unjsonable(item, f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first_unjsonable(item, f"{path}[{index}]")
            if found:
                return found
        return None
    return path, f"a {type(value).__module__}.{type(value).__name__}"
