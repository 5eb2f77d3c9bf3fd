"""Feature definitions: what each feature is, declared in YAML and validated on load.

The workspace's ``features/features.yaml`` (the shipped default until one is installed) says
how each lake dataset joins to customers (``sources``), who the customers are at a point in
time (``population``), what a successful payment is (``payments``, for churn labels and
lifetime value) and the features themselves. A feature is one of five kinds:

``aggregate``
    count, sum, mean, min, max, distinct count, days since last or first event, over one
    source's rows in a window before the as-of time (``30d``, ``90d``, ``365d`` or ``all``),
    optionally ``offset`` back from it ("the 90 days before the last 30"), with a structured
    filter ``where: {column: value}`` or ``{column: [value, ...]}``.
``ratio``
    one feature over another (``multiplier * numerator / denominator``), ``default`` when the
    denominator is 0 or missing (null unless given).
``attribute``
    the latest non-null value of a column as it was at the as-of time, with ``fallback``
    sources tried in order when the first has none.
``age``
    whole years from a birth date to the as-of date, or the band they fall in.
``tenure``
    days since the customer's first record in the population sources.

There is no free-form SQL: queries are built from these validated parts with quoted
identifiers and bound values. Every feature has a description and a type; ``sensitive``
features (country, age band) are kept for fairness checks and left out of model inputs by
default. The definitions are a plain spec: they round-trip through JSON and their digest is
stored with every offline build and snapshot.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aimsight.core.errors import InvalidInput

__all__ = [
    "RESERVED_NAMES",
    "AgeFeature",
    "AggregateFeature",
    "AttributeFeature",
    "AttributeSource",
    "Feature",
    "FeatureDefinitions",
    "LinkSpec",
    "PaymentsSpec",
    "RatioFeature",
    "SourceSpec",
    "TenureFeature",
    "Where",
    "load_definitions",
    "shipped_definitions",
    "shipped_definitions_text",
    "window_days",
]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser where libyaml is present

DATASET = r"^[a-z0-9_]+\.[a-z0-9_]+$"
COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
NAME = r"^[a-z][a-z0-9_]{0,62}$"
WINDOW = r"^(all|[1-9][0-9]{0,3}d)$"
OFFSET = r"^[1-9][0-9]{0,3}d$"

Dataset = Annotated[str, Field(pattern=DATASET)]
Column = Annotated[str, Field(pattern=COLUMN)]
Name = Annotated[str, Field(pattern=NAME)]
Scalar = str | bool | int | float
Where = dict[Column, Scalar | Annotated[list[Scalar], Field(min_length=1)]]
"""A structured filter: every column must equal its value, or be one of its list of values."""

RESERVED_NAMES = frozenset({"customer_id", "as_of"})
"""Column names every feature table has; no feature may take them."""

AggregateFunction = Literal[
    "count",
    "sum",
    "mean",
    "min",
    "max",
    "distinct_count",
    "days_since_last",
    "days_since_first",
]
_NEEDS_COLUMN = {"sum", "mean", "min", "max", "distinct_count"}
_COUNTS = {"count", "distinct_count"}


def window_days(window: str | None) -> int | None:
    """Days in a window such as ``90d``; ``None`` for ``all`` (or no window)."""
    if window is None or window == "all":
        return None
    return int(window.removesuffix("d"))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkSpec(_Spec):
    """How a source row finds its customer: a column holding a record id of ``record`` (a
    dataset identity resolves, e.g. ``billing.accounts``) or an identifier of kind
    ``identifier`` (``email``). A source's links are tried in order."""

    column: Column
    record: Dataset | None = None
    identifier: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> LinkSpec:
        if (self.record is None) == (self.identifier is None):
            raise ValueError("give exactly one of record (a dataset) or identifier (e.g. email)")
        return self


class SourceSpec(_Spec):
    """A lake dataset features read: its event-time column, how rows join to customers and,
    for population sources, the column saying when the customer first appeared (a sign-up
    time; never later than the row's event time)."""

    time: Column
    links: tuple[LinkSpec, ...] = Field(min_length=1)
    first_seen: Column | None = None


class PaymentsSpec(_Spec):
    """What a successful payment is: rows of ``source`` matching ``where``, worth ``value``."""

    source: Dataset
    where: Where = {}
    value: Column


FeatureType = Literal["integer", "number", "category"]


class _Feature(_Spec):
    name: Name
    description: str = Field(min_length=1)
    type: FeatureType
    sensitive: bool = False


class AggregateFeature(_Feature):
    """A summary of one source's rows before the as-of time (see the module docstring).

    Counts and sums are 0 for a customer with no matching rows; mean, min, max and the
    days-since functions are null.
    """

    kind: Literal["aggregate"]
    source: Dataset
    function: AggregateFunction
    column: Column | None = None
    where: Where = {}
    window: str = Field(default="all", pattern=WINDOW)
    offset: str | None = Field(default=None, pattern=OFFSET)

    @model_validator(mode="after")
    def _consistent(self) -> AggregateFeature:
        if self.function in _NEEDS_COLUMN and self.column is None:
            raise ValueError(f"function {self.function} needs a column to summarise")
        if self.function == "count" and self.column is not None:
            raise ValueError("count counts rows and takes no column; use distinct_count")
        if self.offset is not None and self.window == "all":
            raise ValueError("offset needs a bounded window such as 90d")
        if self.type == "category":
            raise ValueError("an aggregate is a number; use type number or integer")
        if self.type == "integer" and self.function not in _COUNTS:
            raise ValueError(
                f"{self.function} can be missing or fractional; use type number "
                "(integer is for count and distinct_count)"
            )
        return self


class RatioFeature(_Feature):
    """``multiplier * numerator / denominator`` of two earlier features; ``default`` (null
    unless given) when the denominator is 0 or missing."""

    kind: Literal["ratio"]
    numerator: Name
    denominator: Name
    multiplier: float = Field(default=1.0, allow_inf_nan=False)
    default: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _number(self) -> RatioFeature:
        if self.type != "number":
            raise ValueError("a ratio is fractional; use type number")
        return self


class AttributeSource(_Spec):
    """Another place an attribute may be read from."""

    source: Dataset
    column: Column


class AttributeFeature(_Feature):
    """The latest non-null value of ``column`` among the customer's rows of ``source`` before
    the as-of time; then each ``fallback`` in order when that finds none."""

    kind: Literal["attribute"]
    source: Dataset
    column: Column
    fallback: tuple[AttributeSource, ...] = ()

    @model_validator(mode="after")
    def _nullable(self) -> AttributeFeature:
        if self.type == "integer":
            raise ValueError("an attribute can be missing; use type number or category")
        return self


class AgeFeature(_Feature):
    """Whole years from the latest birth date in ``column`` to the as-of date; with
    ``bands`` (lower bounds, e.g. ``[18, 25, 35]``) the band label instead (``under 18``,
    ``18-24``, ``25-34``, ``35 and over``). Null where the birth date is unknown."""

    kind: Literal["age"]
    source: Dataset
    column: Column
    bands: tuple[Annotated[int, Field(ge=1, le=150)], ...] = ()

    @model_validator(mode="after")
    def _bands(self) -> AgeFeature:
        if list(self.bands) != sorted(set(self.bands)):
            raise ValueError("bands must be increasing ages without repeats")
        wanted = "category" if self.bands else "number"
        if self.type != wanted:
            raise ValueError(
                f"an age {'band' if self.bands else 'in years'} is a {wanted}; use type {wanted}"
            )
        return self

    def band_labels(self) -> list[str]:
        """The label of each band, youngest first."""
        if not self.bands:
            return []
        labels = [f"under {self.bands[0]}"]
        for low, high in zip(self.bands, self.bands[1:], strict=False):
            labels.append(f"{low}-{high - 1}")
        labels.append(f"{self.bands[-1]} and over")
        return labels


class TenureFeature(_Feature):
    """Days from the customer's first record in the population sources to the as-of time."""

    kind: Literal["tenure"]

    @model_validator(mode="after")
    def _number(self) -> TenureFeature:
        if self.type != "number":
            raise ValueError("tenure in days is fractional; use type number")
        return self


Feature = Annotated[
    AggregateFeature | RatioFeature | AttributeFeature | AgeFeature | TenureFeature,
    Field(discriminator="kind"),
]
_KINDS = {"aggregate", "ratio", "attribute", "age", "tenure"}


class FeatureDefinitions(_Spec):
    """Sources, population, payments and features; see the module docstring."""

    version: Literal[1] = 1
    sources: dict[Dataset, SourceSpec] = Field(min_length=1)
    population: tuple[Dataset, ...] = Field(min_length=1)
    payments: PaymentsSpec | None = None
    features: tuple[Feature, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> FeatureDefinitions:
        known = set(self.sources)

        def source(path: str, dataset: str) -> None:
            if dataset not in known:
                raise ValueError(
                    f"{path}: source {dataset!r} is not declared under sources; "
                    f"declared: {', '.join(sorted(known))}"
                )

        for i, dataset in enumerate(self.population):
            source(f"population[{i}]", dataset)
        if self.payments is not None:
            source("payments.source", self.payments.source)
        seen: dict[str, Feature] = {}
        for i, feature in enumerate(self.features):
            path = f"features[{i}] ({feature.name})"
            if feature.name in seen:
                raise ValueError(f"{path}: the name {feature.name!r} is used twice")
            if feature.name in RESERVED_NAMES:
                raise ValueError(f"{path}: {feature.name!r} is reserved; choose another name")
            if isinstance(feature, AggregateFeature | AttributeFeature | AgeFeature):
                source(f"{path}.source", feature.source)
            if isinstance(feature, AttributeFeature):
                for j, other in enumerate(feature.fallback):
                    source(f"{path}.fallback[{j}].source", other.source)
            if isinstance(feature, RatioFeature):
                for role in ("numerator", "denominator"):
                    operand = getattr(feature, role)
                    earlier = seen.get(operand)
                    if earlier is None:
                        raise ValueError(
                            f"{path}.{role}: {operand!r} is not a feature defined above it"
                        )
                    if earlier.type == "category":
                        raise ValueError(f"{path}.{role}: {operand!r} is a category, not a number")
            seen[feature.name] = feature
        return self

    # -- views ---------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Every feature name, in definition order."""
        return [feature.name for feature in self.features]

    @property
    def inputs(self) -> list[str]:
        """Default model inputs: every feature not flagged sensitive."""
        return [feature.name for feature in self.features if not feature.sensitive]

    @property
    def sensitive(self) -> list[str]:
        """Features kept for fairness checks, not model inputs by default."""
        return [feature.name for feature in self.features if feature.sensitive]

    @property
    def descriptions(self) -> dict[str, str]:
        """``{feature: description}``."""
        return {feature.name: feature.description for feature in self.features}

    @property
    def types(self) -> dict[str, str]:
        """``{feature: type}`` (``integer``, ``number`` or ``category``)."""
        return {feature.name: feature.type for feature in self.features}

    def feature(self, name: str) -> Feature:
        """The definition of ``name``.

        Raises:
            InvalidInput: no feature has that name.
        """
        for feature in self.features:
            if feature.name == name:
                return feature
        raise InvalidInput(
            f"no feature is named {name!r}; defined: {', '.join(self.names)}", field="feature"
        )

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (stored with builds and snapshots)."""
        return self.model_dump(mode="json", exclude_defaults=False)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal definitions have equal digests."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_yaml(cls, text: str, *, origin: str) -> FeatureDefinitions:
        """Parse and validate YAML; errors name ``origin`` and the bad setting's path."""
        try:
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(
                f"{origin}:{where} is not valid YAML; fix the syntax", field="features"
            ) from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: object, *, origin: str) -> FeatureDefinitions:
        """Validate a mapping (YAML or JSON form); see :meth:`from_yaml`."""
        if not isinstance(data, dict):
            raise InvalidInput(
                f"{origin}: expected a mapping with sources, population and features",
                field="features",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            path = _path(error.get("loc", ()), data)
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown setting; check the spelling against docs/features.md"
            where = f"{path}: " if path else ""
            raise InvalidInput(f"{origin}: {where}{message}", field=path or "features") from None


def _path(loc: tuple[int | str, ...] | list[int | str], data: dict[str, Any]) -> str:
    """``features[3] (payments_90d).window`` from a pydantic location; the tag a tagged union
    adds (``aggregate``) is dropped and the feature's name added, so users find the entry."""
    text = ""
    parts = list(loc)
    for index, part in enumerate(parts):
        if isinstance(part, int):
            text += f"[{part}]"
            if index == 1 and parts[0] == "features":
                entries = data.get("features")
                entry = entries[part] if isinstance(entries, list) and part < len(entries) else {}
                name = entry.get("name") if isinstance(entry, dict) else None
                if isinstance(name, str):
                    text += f" ({name})"
        elif index == 2 and parts[0] == "features" and part in _KINDS:
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def shipped_definitions_text() -> str:
    """The default definitions' YAML as shipped with aimsight."""
    return resources.files("aimsight.features").joinpath("features.yaml").read_text("utf-8")


def shipped_definitions() -> FeatureDefinitions:
    """The default features over the standard CRM, billing, support and web datasets."""
    return FeatureDefinitions.from_yaml(shipped_definitions_text(), origin="shipped features.yaml")


def load_definitions(path: Path) -> FeatureDefinitions:
    """Read and validate the definitions file at ``path``.

    Raises:
        InvalidInput: the file is missing, not YAML, or a setting is wrong (the message names
            the file and the setting's path).
    """
    if not path.is_file():
        raise InvalidInput(
            f"{path} does not exist; install the default feature definitions there "
            "(FeatureService.install_default_definitions) or write your own (docs/features.md)",
            field="features",
        )
    return FeatureDefinitions.from_yaml(path.read_text(encoding="utf-8"), origin=str(path))
