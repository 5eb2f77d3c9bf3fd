"""The matching configuration: which records, which identifiers, how pairs are compared.

Declared in YAML (``<workspace>/identity/matching.yaml``; ``aimsight init`` installs the shipped
default) and validated on load, so a typo fails with the file and the path of the bad setting
(``comparisons[2].kind``) instead of deep inside Splink. The configuration is a plain spec: it
round-trips through JSON and its digest is stored with every run and trained model.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aimsight.core.errors import InvalidInput
from aimsight.core.yaml_paths import setting_path

__all__ = [
    "ATTRIBUTE_NAME",
    "BlockingRule",
    "ClusteringSettings",
    "ComparisonSpec",
    "MatchingConfig",
    "RecordSource",
    "TrainingSettings",
    "load_matching_config",
    "shipped_matching_config_text",
    "shipped_matching_config",
]

ATTRIBUTE_NAME = r"^[a-z][a-z0-9_]{0,62}$"
Attribute = Annotated[str, Field(pattern=ATTRIBUTE_NAME)]
# Attributes with built-in preparation (names are folded, e-mails lower-cased, ...).
NAME_ATTRIBUTES = ("first_name", "last_name")
FULL_NAME = "full_name"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordSource(_Spec):
    """One lake dataset whose rows are records of people.

    ``attributes`` maps our attribute names to the dataset's columns. A ``full_name`` column
    (``"Ada Lovelace"``, ``"LOVELACE, Ada"``, ``"A. Lovelace"``) is split into ``first_name``
    and ``last_name``. Rows sharing a ``record_id`` (an updated CRM row, a cookie's events)
    are one record: each attribute takes its latest non-null value by ``updated_at``.
    """

    dataset: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    record_id: str
    updated_at: str | None = None
    trust: int = Field(default=1, ge=0, le=100)
    attributes: dict[Attribute, str] = Field(min_length=1)


SurvivorshipRule = Literal["trust", "recent", "frequent"]
ComparisonKind = Literal[
    "exact", "name", "email", "date_of_birth", "jaro_winkler", "levenshtein", "postcode"
]


class ComparisonSpec(_Spec):
    """How one attribute of two records is compared (a Splink comparison)."""

    attribute: Attribute
    kind: ComparisonKind = "exact"
    term_frequency: bool = False
    thresholds: tuple[float, ...] = ()
    date_format: str = "%Y-%m-%d"


class BlockingRule(_Spec):
    """Records are compared only when they agree exactly on all these attributes."""

    keys: tuple[Attribute, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: object) -> object:
        # YAML users write a rule as a plain list: ``[last_name, birth_date]``.
        return {"keys": value} if isinstance(value, list | tuple) else value

    @property
    def label(self) -> str:
        """The rule as people write it: ``last_name + birth_date``."""
        return " + ".join(self.keys)


class TrainingSettings(_Spec):
    """How the Fellegi-Sunter model learns.

    u comes from random record pairs (``u_max_pairs`` of them, seeded); m comes from
    expectation maximisation on pairs blocked by each of ``em_blocking`` in turn — blocks on
    identifiers (e-mail, phone) rather than names, so EM learns "same person", not "same
    name". The prior (probability that two random records match) is estimated from the
    ``prior_rules`` with an assumed ``prior_recall``.
    """

    u_max_pairs: float = Field(default=1e7, gt=0)
    seed: int = 42
    em_blocking: tuple[BlockingRule, ...] = Field(min_length=1)
    prior_rules: tuple[BlockingRule, ...] = Field(min_length=1)
    prior_recall: float = Field(default=0.7, gt=0, le=1)


class ClusteringSettings(_Spec):
    """How scored pairs become customers.

    ``threshold`` is a match probability, or ``auto``: the method picks it from the score
    distribution (see :mod:`aimsight.identity._threshold`), never from labels.
    ``conflicts`` are attributes two merged records may not disagree on (two different
    birth dates are two people, however alike the names). A merge that would make a cluster
    bigger than ``max_cluster_size`` is held for review instead.
    """

    threshold: float | Literal["auto"] = "auto"
    min_threshold: float = Field(default=0.9, gt=0, lt=1)
    max_cluster_size: int = Field(default=50, ge=2)
    conflicts: tuple[Attribute, ...] = ()

    @field_validator("threshold")
    @classmethod
    def _probability(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0 < value < 1:
            raise ValueError("must be a match probability between 0 and 1, or auto")
        return value


class MatchingConfig(_Spec):
    """Everything a resolution run needs besides the data; see the module docstring."""

    version: Literal[1] = 1
    sources: tuple[RecordSource, ...] = Field(min_length=1)
    deterministic: tuple[Attribute, ...] = ()
    shared_identifiers: tuple[Attribute, ...] = ()
    shared_max_records: int = Field(default=50, ge=2)
    comparisons: tuple[ComparisonSpec, ...] = Field(min_length=1)
    blocking: tuple[BlockingRule, ...] = Field(min_length=1)
    max_pairs_per_record: float = Field(default=500, gt=0)
    training: TrainingSettings
    clustering: ClusteringSettings = ClusteringSettings()
    lookup_identifiers: tuple[Attribute, ...] = ()
    survivorship: dict[Attribute, SurvivorshipRule] = {}
    survivorship_default: SurvivorshipRule = "trust"
    realtime_priority: tuple[Attribute, ...] = ()

    @model_validator(mode="after")
    def _attributes_exist(self) -> MatchingConfig:
        known = set(self.attributes)
        checks: list[tuple[str, str]] = [
            (f"comparisons[{i}].attribute", c.attribute) for i, c in enumerate(self.comparisons)
        ]
        checks += [(f"deterministic[{i}]", a) for i, a in enumerate(self.deterministic)]
        checks += [(f"shared_identifiers[{i}]", a) for i, a in enumerate(self.shared_identifiers)]
        checks += [(f"lookup_identifiers[{i}]", a) for i, a in enumerate(self.lookup_identifiers)]
        checks += [(f"realtime_priority[{i}]", a) for i, a in enumerate(self.realtime_priority)]
        checks += [(f"survivorship.{a}", a) for a in self.survivorship]
        checks += [
            (f"clustering.conflicts[{i}]", a) for i, a in enumerate(self.clustering.conflicts)
        ]
        for i, rule in enumerate(self.blocking):
            checks += [(f"blocking[{i}]", a) for a in rule.keys]
        for i, rule in enumerate(self.training.em_blocking):
            checks += [(f"training.em_blocking[{i}]", a) for a in rule.keys]
        for i, rule in enumerate(self.training.prior_rules):
            checks += [(f"training.prior_rules[{i}]", a) for a in rule.keys]
        for path, attribute in checks:
            if attribute not in known:
                raise ValueError(
                    f"{path}: attribute {attribute!r} is not given by any source; "
                    f"known attributes: {', '.join(sorted(known))}"
                )
        datasets = [s.dataset for s in self.sources]
        if len(set(datasets)) != len(datasets):
            raise ValueError("sources: each dataset may be listed once")
        return self

    @property
    def attributes(self) -> list[str]:
        """Every attribute the records carry, in a stable order (full names become parts)."""
        seen: dict[str, None] = {}
        for source in self.sources:
            for name in source.attributes:
                if name == FULL_NAME:
                    seen.update(dict.fromkeys(NAME_ATTRIBUTES))
                else:
                    seen[name] = None
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (stored with runs and models)."""
        return self.model_dump(mode="json")

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal configurations have equal digests."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_yaml(cls, text: str, *, origin: str) -> MatchingConfig:
        """Parse and validate YAML; errors name ``origin`` and the bad setting's path."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(f"{origin}:{where} is not valid YAML; fix the syntax") from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: object, *, origin: str) -> MatchingConfig:
        """Validate a mapping (YAML or JSON form); see :meth:`from_yaml`."""
        if not isinstance(data, dict):
            raise InvalidInput(f"{origin}: expected a mapping of settings at the top level")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            path = setting_path(error.get("loc", ()))
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown setting; check the spelling against docs/identity.md"
            where = f"{path}: " if path else ""
            raise InvalidInput(f"{origin}: {where}{message}", field=path or None) from None


def shipped_matching_config_text() -> str:
    """The default configuration's YAML as shipped with aimsight."""
    return resources.files("aimsight.identity").joinpath("matching.yaml").read_text("utf-8")


def shipped_matching_config() -> MatchingConfig:
    """The default configuration for the standard CRM, billing and web datasets."""
    return MatchingConfig.from_yaml(shipped_matching_config_text(), origin="shipped matching.yaml")


def load_matching_config(path: Path) -> MatchingConfig:
    """Read the configuration at ``path``; a missing file is an error that says how to fix it."""
    if not path.is_file():
        raise InvalidInput(
            f"{path} does not exist; run `aimsight init` to install the default matching "
            "configuration, or write one (see docs/identity.md)",
            field="matching_config",
        )
    return MatchingConfig.from_yaml(path.read_text(encoding="utf-8"), origin=str(path))
