"""The automatic checks a version must pass before anyone may approve it.

Each check says what it looked at and what it found, so the stored report is evidence an
auditor can read: the artifact is the file registered, the model declares its inputs, every
performance gate is met, the fairness gate passed, the training data is pinned by hash, and
the model card is complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aimsight.core.errors import InvalidInput
from aimsight.registry._artifacts import ArtifactError, read_bytes, sha256_of
from aimsight.registry._card import SECTIONS, ModelCard
from aimsight.registry._types import ModelVersion, ValidationCheck

__all__ = ["check_gates", "fairness_verdicts", "run_checks"]

_BOUNDS = ("min", "max")
_PEOPLES_SECTIONS = frozenset(
    {
        "model_details",
        "intended_use",
        "factors",
        "ethical_considerations",
        "caveats_and_recommendations",
    }
)


def check_gates(gates: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Gates as ``{metric: {"min": x, "max": y}}`` with floats; refuse anything else.

    Raises:
        InvalidInput: a gate is not an object of ``min``/``max`` numbers; the message names
            the metric.
    """
    if not isinstance(gates, Mapping):
        raise InvalidInput(
            'gates must map metric names to bounds, e.g. {"roc_auc": {"min": 0.7}}',
            field="gates",
        )
    checked: dict[str, dict[str, float]] = {}
    for metric, bounds in gates.items():
        if (
            not isinstance(metric, str)
            or not isinstance(bounds, Mapping)
            or not bounds
            or set(bounds) - set(_BOUNDS)
            or not all(_finite(value) for value in bounds.values())
        ):
            raise InvalidInput(
                f"gate {metric!r} must be an object with a numeric min and/or max, e.g. "
                '{"min": 0.7} or {"max": 0.05}',
                field=f"gates.{metric}",
            )
        checked[metric] = {key: float(bounds[key]) for key in _BOUNDS if key in bounds}
    return checked


def fairness_verdicts(fairness: Mapping[str, Any] | None) -> dict[str, bool]:
    """The fairness gates' verdicts: ``overall`` and/or per attribute, by where they were
    found (``fairness["gate"]["passed"]``, ``fairness[attribute]["gate"]["passed"]``)."""
    if not isinstance(fairness, Mapping):
        return {}
    verdicts: dict[str, bool] = {}
    gate = fairness.get("gate")
    if isinstance(gate, Mapping) and "passed" in gate:
        verdicts["overall"] = bool(gate["passed"])
    attributes = fairness.get("attributes", fairness)
    if isinstance(attributes, Mapping):
        for name, result in attributes.items():
            if name == "gate" or not isinstance(result, Mapping):
                continue
            inner = result.get("gate")
            if isinstance(inner, Mapping) and "passed" in inner:
                verdicts[str(name)] = bool(inner["passed"])
    return verdicts


def run_checks(version: ModelVersion, root: Path, card: ModelCard) -> list[ValidationCheck]:
    """Every automatic check of ``version`` (artifact under ``root``), in a fixed order."""
    checks = [_artifact(version, root), _signature(version), _gates_declared(version)]
    checks += [_gate(version, metric, bounds) for metric, bounds in version.gates.items()]
    checks += [_fairness(version), _snapshot(version), _card(card)]
    return checks


def _artifact(version: ModelVersion, root: Path) -> ValidationCheck:
    try:
        data = read_bytes(root / version.artifact_path, label=version.ref)
    except ArtifactError as exc:
        return ValidationCheck("artifact", False, exc.message)
    found = sha256_of(data)
    if found != version.artifact_sha256:
        return ValidationCheck(
            "artifact",
            False,
            f"{version.artifact_path} has sha256 {found}, not the {version.artifact_sha256} "
            "registered: the file was changed or replaced",
        )
    return ValidationCheck(
        "artifact",
        True,
        f"{version.artifact_path} present, sha256 {version.artifact_sha256} matches",
    )


def _signature(version: ModelVersion) -> ValidationCheck:
    if not version.features:
        return ValidationCheck(
            "signature", False, "the model declares no input fields; it cannot be checked"
        )
    names = ", ".join(f"{spec.name} ({spec.type})" for spec in version.features)
    return ValidationCheck("signature", True, f"{len(version.features)} inputs: {names}")


def _gates_declared(version: ModelVersion) -> ValidationCheck:
    if not version.gates:
        return ValidationCheck(
            "gates",
            False,
            "no performance gate was declared, so nothing says what is good enough; add "
            'gates such as {"roc_auc": {"min": 0.7}} to the model\'s config',
        )
    return ValidationCheck("gates", True, f"{len(version.gates)} gates declared")


def _gate(version: ModelVersion, metric: str, bounds: Mapping[str, float]) -> ValidationCheck:
    name = f"gate:{metric}"
    value = version.metrics.get(metric)
    if value is None or not _finite(value):
        measured = ", ".join(sorted(version.metrics)) or "none"
        return ValidationCheck(
            name, False, f"{metric} was not measured (metrics measured: {measured})"
        )
    number = float(value)
    words = []
    passed = True
    if "min" in bounds:
        ok = number >= bounds["min"]
        passed &= ok
        words.append(f"{'>=' if ok else '<'} min {bounds['min']:g}")
    if "max" in bounds:
        ok = number <= bounds["max"]
        passed &= ok
        words.append(f"{'<=' if ok else '>'} max {bounds['max']:g}")
    return ValidationCheck(name, passed, f"{metric} {number:.4g} " + " and ".join(words))


def _fairness(version: ModelVersion) -> ValidationCheck:
    if version.fairness is None:
        return ValidationCheck(
            "fairness", True, "not applicable: the trainer reported no fairness results"
        )
    verdicts = fairness_verdicts(version.fairness)
    if not verdicts:
        return ValidationCheck(
            "fairness",
            False,
            "fairness results carry no gate verdict (a 'gate' with 'passed'); the trainer "
            "must gate fairness for the model to be validated",
        )
    failed = [name for name, passed in verdicts.items() if not passed]
    if failed:
        return ValidationCheck("fairness", False, "fairness gate failed for " + ", ".join(failed))
    return ValidationCheck("fairness", True, "fairness gate passed for " + ", ".join(verdicts))


def _snapshot(version: ModelVersion) -> ValidationCheck:
    if not version.data_snapshot:
        return ValidationCheck(
            "data_snapshot",
            False,
            "no training data snapshot was recorded (lake files and their sha256), so the "
            "model cannot be traced to its data",
        )
    return ValidationCheck(
        "data_snapshot", True, f"{len(version.data_snapshot)} lake files pinned by sha256"
    )


def _card(card: ModelCard) -> ValidationCheck:
    missing = card.missing_sections()
    if missing:
        titles = dict(SECTIONS)
        named = ", ".join(titles[key] for key in missing)
        people = [key for key in missing if key in _PEOPLES_SECTIONS]
        hints = []
        if people:
            hints.append(
                "fill the card block of the model's config (owner, intended_use, "
                "intended_users, out_of_scope_uses, factors, ethical_considerations, "
                "caveats_and_recommendations)"
            )
        if len(people) < len(missing):
            hints.append("the trainer recorded no metrics, evaluation or training rows")
        return ValidationCheck(
            "model_card",
            False,
            f"model card sections still empty: {named}; " + "; ".join(hints),
        )
    return ValidationCheck("model_card", True, f"all {len(SECTIONS)} sections filled")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
