"""Likelihood and impact scales of the risk register, and the bands that turn a score into a level.

aimsight ships a 5 x 5 default (``risk_scales.yaml`` in this package); a workspace uses its own
copy at ``<workspace>/aims/risk_scales.yaml`` when there is one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aimsight.core.errors import ConfigurationError, InvalidInput
from aimsight.core.workspace import Workspace

__all__ = [
    "RISK_SCALES_PATH",
    "RiskBand",
    "RiskScales",
    "ScalePoint",
    "load_risk_scales",
    "shipped_risk_scales",
    "workspace_risk_scales",
]

RISK_SCALES_PATH = Path("aims") / "risk_scales.yaml"
"""Where a workspace keeps its own scales, relative to its root."""


class ScalePoint(BaseModel):
    """One point of a scale: its number, a short label and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: int = Field(ge=1, le=100, description="The number used in scores.")
    label: str = Field(min_length=1, description="A short name, e.g. 'likely'.")
    meaning: str = Field(default="", description="What the point means, for the people rating.")


class RiskBand(BaseModel):
    """A level (low, medium, high...) for scores up to ``max``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field(min_length=1, description="The level's name.")
    max: int = Field(ge=1, description="The highest score in this band.")


class RiskScales(BaseModel):
    """The likelihood and impact scales and the score bands of the risk register."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, description="Format version of the file.")
    likelihood: tuple[ScalePoint, ...] = Field(min_length=2)
    impact: tuple[ScalePoint, ...] = Field(min_length=2)
    bands: tuple[RiskBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RiskScales:
        for name in ("likelihood", "impact"):
            values = [point.value for point in getattr(self, name)]
            if len(set(values)) != len(values):
                raise ValueError(f"{name} has the same value twice")
        maxima = [band.max for band in self.bands]
        if maxima != sorted(set(maxima)):
            raise ValueError("bands must be listed with increasing max")
        if maxima[-1] < self.highest_score:
            raise ValueError(
                f"the last band ends at {maxima[-1]} but scores reach {self.highest_score}"
            )
        return self

    @property
    def highest_score(self) -> int:
        """The largest likelihood x impact possible."""
        return max(p.value for p in self.likelihood) * max(p.value for p in self.impact)

    def check(self, field: str, value: object, scale: str) -> int:
        """``value`` if it is a point of the ``likelihood`` or ``impact`` scale.

        Raises:
            InvalidInput: it is not; the message lists the points.
        """
        points = self.likelihood if scale == "likelihood" else self.impact
        allowed = {point.value: point.label for point in points}
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            listed = ", ".join(f"{v} ({label})" for v, label in sorted(allowed.items()))
            raise InvalidInput(
                f"{field} {value!r} is not on the {scale} scale; use one of: {listed}",
                field=field,
            )
        return value

    def level(self, score: int) -> str:
        """The level of a score: the first band whose ``max`` it does not exceed."""
        for band in self.bands:
            if score <= band.max:
                return band.level
        return self.bands[-1].level

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.model_dump()


def shipped_risk_scales() -> RiskScales:
    """The default 5 x 5 scales shipped with aimsight."""
    data = resources.files("aimsight.aims").joinpath("risk_scales.yaml").read_text("utf-8")
    return _parse(data, "risk_scales.yaml (shipped)")


def load_risk_scales(path: Path) -> RiskScales:
    """The scales in ``path``; errors name the file and the bad setting."""
    return _parse(path.read_text("utf-8"), str(path))


def workspace_risk_scales(workspace: Workspace) -> RiskScales:
    """The workspace's own scales if it has ``aims/risk_scales.yaml``, else the shipped ones."""
    path = workspace.root / RISK_SCALES_PATH
    return load_risk_scales(path) if path.is_file() else shipped_risk_scales()


def _parse(data: str, source: str) -> RiskScales:
    try:
        loaded = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"{source} must be a mapping with likelihood, impact and bands")
    try:
        return RiskScales.model_validate(loaded)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "scales"
        raise ConfigurationError(
            f"{source}: {where}: {first.get('msg', 'is not valid')}; see the shipped "
            "risk_scales.yaml for the expected shape"
        ) from None
