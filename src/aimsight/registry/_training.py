"""Training from the workspace's model declarations: features -> trainer -> registry.

``<workspace>/models/models.yaml`` (``aimsight init`` installs the shipped default) declares
each model: its kind, features, label, training schedule, trainer settings, validation gates
and model-card text. :meth:`ModelTrainer.train` builds the point-in-time training data,
trains, registers a draft version with the data snapshot and validates it at once, so every
model aimsight uses is a registry version with its evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.workspace import Workspace
from aimsight.core.yaml_paths import setting_path
from aimsight.features import FeatureService, LabelSpec
from aimsight.insight import (
    ClassifierConfig,
    ClvConfig,
    SegmentationConfig,
    SegmentationModel,
    SurvivalConfig,
    TrainedModel,
    train_classifier,
    train_clv,
    train_segmentation,
    train_survival,
)
from aimsight.registry._service import ModelRegistry
from aimsight.registry._types import CardInputs, ModelVersion, ValidationReport
from aimsight.store import Ledger, Store

__all__ = [
    "MODELS_CONFIG_PATH",
    "ModelSpec",
    "ModelTrainer",
    "ModelsConfig",
    "TrainingResult",
    "load_models_config",
    "shipped_models_config",
]

MODELS_CONFIG_PATH = Path("models") / "models.yaml"
Progress = Callable[[str], None]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Spec):
    """Training as-of dates: ``snapshots`` dates ``every_days`` apart, ending at ``last``.

    Without ``last`` the schedule ends at the last date whose label window the data covers.
    The newest date is the temporal holdout: the model never trains on it.
    """

    snapshots: int = Field(6, ge=2, le=60)
    every_days: int = Field(30, ge=1, le=366)
    last: date | None = None


class Gate(_Spec):
    """A validation bound on one metric."""

    min: float | None = None
    max: float | None = None


class ModelSpec(_Spec):
    """One declared model (see ``models.yaml`` for a commented example of each kind)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    kind: Literal["churn", "propensity", "survival", "segmentation", "clv"]
    description: str = Field(min_length=1)
    features: list[str] = Field(default_factory=list)
    label: LabelSpec | None = None
    schedule: Schedule = Field(default_factory=Schedule)
    holdout_days: int = Field(120, ge=7, le=3650)
    settings: dict[str, Any] = Field(default_factory=dict)
    gates: dict[str, Gate] = Field(min_length=1)
    card: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, stored with every version trained from it."""
        return self.model_dump(mode="json")


class ModelsConfig(_Spec):
    """Every model the workspace trains."""

    version: Literal[1] = 1
    models: list[ModelSpec]

    def model(self, name: str) -> ModelSpec:
        """The model declared as ``name``."""
        for spec in self.models:
            if spec.name == name:
                return spec
        raise NotFound(
            f"no model named {name!r} is declared in {MODELS_CONFIG_PATH}; declared: "
            + (", ".join(spec.name for spec in self.models) or "none")
        )


def _location(error: dict[str, Any]) -> str:
    return setting_path(error["loc"]) or "(top level)"


def _parse(text: str, origin: str) -> ModelsConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: not valid YAML ({exc})", field="models") from None
    try:
        return ModelsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(
            f"{origin}: {_location(dict(first))}: {first['msg']}; fix that setting "
            "(docs/insight.md lists every one)",
            field=_location(dict(first)),
        ) from None


def shipped_models_config_text() -> str:
    """The default ``models.yaml`` shipped with aimsight."""
    return resources.files("aimsight.registry").joinpath("models.yaml").read_text("utf-8")


def shipped_models_config() -> ModelsConfig:
    """The default model declarations, parsed."""
    return _parse(shipped_models_config_text(), "models.yaml (shipped)")


def load_models_config(path: Path) -> ModelsConfig:
    """The declarations in ``path``; errors name the file and the bad setting."""
    return _parse(path.read_text("utf-8"), str(path))


@dataclass(frozen=True)
class TrainingResult:
    """A trained and registered version with its validation report."""

    version: ModelVersion
    validation: ValidationReport
    metrics: dict[str, float]
    training_rows: int
    evaluation_rows: int
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model": self.version.name,
            "version": self.version.version,
            "stage": self.validation.stage,
            "validated": self.validation.passed,
            "metrics": self.metrics,
            "training_rows": self.training_rows,
            "evaluation_rows": self.evaluation_rows,
            "validation": self.validation.to_dict(),
            "notes": self.notes,
        }


@dataclass
class _Data:
    trained: TrainedModel
    snapshot: dict[str, str]
    provenance: dict[str, Any]


def _settings(config_type: type[BaseModel], settings: dict[str, Any], name: str) -> Any:
    try:
        return config_type.model_validate(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(dict(first))
        raise InvalidInput(
            f"{MODELS_CONFIG_PATH}: models[{name}].settings.{where}: {first['msg']}",
            field=f"settings.{where}",
        ) from None


class ModelTrainer:
    """Trains declared models and registers every result as a validated-or-draft version."""

    def __init__(self, workspace: Workspace, store: Store, ledger: Ledger) -> None:
        self._workspace = workspace
        self._features = FeatureService(workspace, store, ledger)
        self._registry = ModelRegistry(workspace, store, ledger)

    @property
    def config_path(self) -> Path:
        """``<workspace>/models/models.yaml``."""
        return self._workspace.root / MODELS_CONFIG_PATH

    def install_default_config(self) -> bool:
        """Write the shipped declarations unless the workspace has its own; True if written."""
        if self.config_path.exists():
            return False
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(shipped_models_config_text(), "utf-8")
        return True

    def config(self) -> ModelsConfig:
        """The workspace's declarations (the shipped default when it has none)."""
        if self.config_path.exists():
            return load_models_config(self.config_path)
        return shipped_models_config()

    def train(self, name: str, *, actor: str, progress: Progress | None = None) -> TrainingResult:
        """Train the model declared as ``name``, register it and validate it.

        Raises:
            NotFound: no such model is declared, or identity has not run yet.
            InvalidInput: a declaration is wrong, or the data cannot train it (the message
                names the setting or the column).
        """
        spec = self.config().model(name)
        say = progress or (lambda _message: None)
        say(f"building training data for {name}")
        data = self._train(spec, say)
        say(f"registering {name}")
        version = self._registry.register(
            name,
            data.trained,
            trainer=actor,
            data_snapshot=data.snapshot,
            card_inputs=CardInputs.from_config(spec.card),
            gates={key: gate.model_dump(exclude_none=True) for key, gate in spec.gates.items()},
            training_config={"spec": spec.to_dict(), "data": data.provenance},
        )
        say(f"validating {name} v{version.version}")
        report = self._registry.validate(name, version.version, actor=actor)
        return TrainingResult(
            version=self._registry.version(name, version.version),
            validation=report,
            metrics=dict(data.trained.metrics),
            training_rows=data.trained.training_rows,
            evaluation_rows=data.trained.evaluation_rows,
            notes=list(data.trained.notes),
        )

    # -- one trainer per kind -------------------------------------------------------------

    def _train(self, spec: ModelSpec, say: Progress) -> _Data:
        if spec.kind in ("churn", "propensity", "survival"):
            return self._supervised(spec, say)
        if spec.kind == "segmentation":
            return self._segmentation(spec, say)
        return self._lifetime_value(spec, say)

    def _dates(self, spec: ModelSpec, label: LabelSpec) -> list[date]:
        last = spec.schedule.last or self._features.last_label_date(label)
        step = timedelta(days=spec.schedule.every_days)
        return [last - step * i for i in reversed(range(spec.schedule.snapshots))]

    def _supervised(self, spec: ModelSpec, say: Progress) -> _Data:
        if spec.label is None:
            raise InvalidInput(
                f"{MODELS_CONFIG_PATH}: model {spec.name!r} ({spec.kind}) needs a label",
                field="label",
            )
        dates = self._dates(spec, spec.label)
        # Purge: a training date whose label window reaches into the holdout would learn
        # from the very period the model is judged on, so it is left out.
        window = timedelta(days=spec.label.window_days)
        kept = [d for d in dates[:-1] if d + window <= dates[-1]]
        if not kept:
            raise InvalidInput(
                f"{MODELS_CONFIG_PATH}: model {spec.name!r}: no training date ends its "
                f"{spec.label.window_days}-day label window before the holdout date "
                f"{dates[-1]}; raise schedule.snapshots or schedule.every_days",
                field="schedule",
            )
        purged = [d for d in dates[:-1] if d not in kept]
        training = self._features.training_frame([*kept, dates[-1]], spec.label)
        features = spec.features or training.features
        holdout = pd.Timestamp(datetime.combine(dates[-1], datetime.min.time(), UTC))
        frame = training.frame
        say(f"training {spec.name} on {len(frame):,} rows over {len(kept) + 1} as-of dates")
        if spec.kind == "survival":
            trained = train_survival(
                frame,
                duration="duration_days",
                event="event",
                features=features,
                config=_settings(SurvivalConfig, spec.settings, spec.name),
                time_column="as_of",
                holdout_from=holdout,
                descriptions=training.descriptions,
            )
        else:
            trained = train_classifier(
                frame,
                target=training.label,
                features=features,
                config=_settings(ClassifierConfig, spec.settings, spec.name),
                kind="churn" if spec.kind == "churn" else "propensity",
                time_column="as_of",
                holdout_from=holdout,
                descriptions=training.descriptions,
            )
        if purged:
            trained.notes.append(
                f"as-of dates {', '.join(map(str, purged))} were purged from training: their "
                f"label windows overlap the holdout starting {dates[-1]}"
            )
        provenance = {**training.provenance(), "purged_as_of_dates": [str(d) for d in purged]}
        return _Data(trained, dict(training.snapshot), provenance)

    def _segmentation(self, spec: ModelSpec, say: Progress) -> _Data:
        as_of = spec.schedule.last or self._features.latest_date()
        offline = self._features.build_offline([as_of])
        frame = self._features.read_offline(offline)
        definitions = self._features.definitions()
        features = spec.features or [
            name for name in definitions.inputs if definitions.types[name] != "category"
        ]
        previous = None
        try:
            champion = self._registry.load(spec.name, "champion").model
        except NotFound:
            champion = None
        if isinstance(champion, SegmentationModel):
            previous = champion
        say(f"segmenting {len(frame):,} customers as of {as_of}")
        trained = train_segmentation(
            frame,
            features=features,
            config=_settings(SegmentationConfig, spec.settings, spec.name),
            previous=previous,
            descriptions=definitions.descriptions,
        )
        provenance = {"as_of": str(as_of), **offline.to_dict()}
        provenance.pop("snapshot", None)
        return _Data(trained, dict(offline.snapshot), provenance)

    def _lifetime_value(self, spec: ModelSpec, say: Progress) -> _Data:
        payments = self._features.transactions()
        if payments.empty:
            raise InvalidInput(
                "no payments are linked to customers; ingest billing data and run identity",
                field="transactions",
            )
        end = pd.Timestamp(payments["date"].max()).date()
        calibration_end = end - timedelta(days=spec.holdout_days)
        say(f"fitting lifetime value on {len(payments):,} payments up to {calibration_end}")
        trained = train_clv(
            payments,
            calibration_end=calibration_end,
            holdout_end=end,
            config=_settings(ClvConfig, spec.settings, spec.name),
        )
        snapshot = self._features.payments_snapshot()
        digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()
        provenance = {
            "calibration_end": calibration_end.isoformat(),
            "holdout_end": end.isoformat(),
            "payments": len(payments),
            "snapshot_digest": digest,
        }
        return _Data(trained, snapshot, provenance)
