"""Data contracts: what a source may send for one entity, as versioned YAML.

A :class:`Contract` is a plain, serialisable spec (declare, then compile): field types,
required fields, formats, enums, ranges and lengths, the primary key, the event-time field
and the quality thresholds. Contracts live in the workspace as
``contracts/<source>/<entity>/v<N>.yaml``; :class:`ContractRegistry` adds a new version only
when it is compatible with the latest one (see :func:`compatibility`), so data already in
the lake keeps meaning what it meant.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import os
import re
import tempfile
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import pyarrow as pa
import yaml

from aimsight.core import Conflict, InvalidInput, NotFound
from aimsight.ingest._types import LINE_COLUMN, ORIGINAL_SUFFIX

if TYPE_CHECKING:
    from aimsight.core import Workspace

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "FIELD_TYPES",
    "Contract",
    "ContractError",
    "ContractRegistry",
    "FieldSpec",
    "FieldType",
    "QualityPolicy",
    "VolumePolicy",
    "compatibility",
    "shipped_contracts",
]

FieldType = Literal[
    "string",
    "name",
    "text",
    "email",
    "phone",
    "country",
    "currency",
    "timestamp",
    "date",
    "integer",
    "decimal",
    "boolean",
    "enum",
    "json",
]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
"""The field types. Every value is first trimmed; empty means missing. Then:

- ``string``: kept as is; ``text``: NFKC-normalised; ``name``: NFKC, whitespace folded.
- ``email``: lower-cased and checked; ``phone``: E.164 via ``phonenumbers``, national numbers
  read in the row's ``region_field`` country or ``default_region``.
- ``country``: ISO-3166 alpha-2 (accepts alpha-3 and names); ``currency``: ISO-4217.
- ``timestamp``: ISO 8601 with a zone (or ``assume_zone``), stored in UTC (microseconds).
- ``date``: ``YYYY-MM-DD``; ``integer``: int64; ``decimal``: dot-decimal, stored as float64;
  ``boolean``: true/false/yes/no/1/0; ``enum``: one of ``values`` (case-insensitive match
  stored as listed); ``json``: valid JSON text.
"""

DEFAULT_MAX_LENGTH = 65_536
"""Longest value (in characters) a field accepts when its contract sets no ``max_length``."""

_ORIGINAL_KEPT = frozenset({"email", "phone", "name", "timestamp", "country", "currency"})
_NUMERIC = frozenset({"integer", "decimal"})
_ARROW_TYPES: dict[str, pa.DataType] = {
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
}
# Source column names as they come (spaces allowed), but never our reserved ``_`` prefix.
_FIELD_NAME = re.compile(r"[^\s_\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,126}[^\s\x00-\x1f\x7f])?\Z")
_SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")
_REFERENCE = re.compile(r"([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)\Z")
_VERSION_FILE = re.compile(r"v([1-9][0-9]*)\.yaml\Z")


class ContractError(InvalidInput):
    """Raised when a contract is malformed, or a new version would break the current one."""

    code = "contract_error"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a contract: its type and the rules its values must meet.

    ``default_region`` and ``region_field`` apply to phones (ISO-3166 alpha-2 region used
    to read national numbers; the row's country wins when ``region_field`` names a country
    field). ``assume_zone`` (an IANA zone) makes zone-less timestamps legal. ``references``
    is ``"source.entity.field"`` of the key this field points to.
    """

    name: str
    type: FieldType = "string"
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None
    default_region: str | None = None
    region_field: str | None = None
    assume_zone: str | None = None
    references: str | None = None
    description: str = ""

    @property
    def keeps_original(self) -> bool:
        """Whether the value as received is kept in ``<name>__original``."""
        return self.type in _ORIGINAL_KEPT

    @property
    def original_name(self) -> str:
        """The column holding the value as received."""
        return self.name + ORIGINAL_SUFFIX

    @property
    def effective_max_length(self) -> int:
        """``max_length``, or :data:`DEFAULT_MAX_LENGTH` when the contract sets none."""
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the standardised value."""
        return _ARROW_TYPES.get(self.type, pa.string())

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form, leaving out settings at their defaults."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.required:
            out["required"] = True
        for key in (
            "max_length",
            "minimum",
            "maximum",
            "default_region",
            "region_field",
            "assume_zone",
            "references",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.values is not None:
            out["values"] = list(self.values)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class VolumePolicy:
    """How far a batch's row count may stray from the median of recent batches."""

    window: int = 5
    min_ratio: float = 0.1
    max_ratio: float = 10.0
    action: Literal["warn", "reject"] = "warn"


@dataclass(frozen=True)
class QualityPolicy:
    """Batch-level thresholds: when quarantining rows turns into rejecting the batch.

    Attributes:
        max_quarantine_rate: a larger share of quarantined rows rejects the whole batch.
        min_completeness: per field, the share of rows that must carry a value.
        future_tolerance_seconds: event times later than receipt plus this are refused.
        max_age_days: event times older than this (before receipt) are refused; None: any age.
        volume: row count against recent batches.
    """

    max_quarantine_rate: float = 0.5
    min_completeness: Mapping[str, float] = field(default_factory=dict)
    future_tolerance_seconds: float = 300.0
    max_age_days: float | None = None
    volume: VolumePolicy = field(default_factory=VolumePolicy)

    def __hash__(self) -> int:  # min_completeness is a dict: hash its items instead
        return hash(
            (
                self.max_quarantine_rate,
                tuple(sorted(self.min_completeness.items())),
                self.future_tolerance_seconds,
                self.max_age_days,
                self.volume,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form, leaving out settings at their defaults."""
        out: dict[str, Any] = {}
        default = QualityPolicy()
        if self.max_quarantine_rate != default.max_quarantine_rate:
            out["max_quarantine_rate"] = self.max_quarantine_rate
        if self.min_completeness:
            out["min_completeness"] = dict(self.min_completeness)
        if self.future_tolerance_seconds != default.future_tolerance_seconds:
            out["future_tolerance_seconds"] = self.future_tolerance_seconds
        if self.max_age_days is not None:
            out["max_age_days"] = self.max_age_days
        if self.volume != default.volume:
            out["volume"] = {
                "window": self.volume.window,
                "min_ratio": self.volume.min_ratio,
                "max_ratio": self.volume.max_ratio,
                "action": self.volume.action,
            }
        return out


@dataclass(frozen=True)
class Contract:
    """What one source may send for one entity, at one version.

    Build it with :meth:`from_yaml` (or :meth:`from_dict`); the constructor checks that the
    parts fit together (known types, primary key and event time among the fields, ...) and
    raises :class:`ContractError` naming the field when they do not.
    """

    source: str
    entity: str
    version: int
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...] = ()
    event_time: str | None = None
    extra_fields: Literal["keep", "reject"] = "keep"
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    partition: Literal["day", "month"] = "day"
    description: str = ""

    def __post_init__(self) -> None:
        _check_contract(self, origin=f"contract {self.source}.{self.entity}")

    @property
    def name(self) -> str:
        """``source.entity``, the dataset name."""
        return f"{self.source}.{self.entity}"

    def get_field(self, name: str) -> FieldSpec:
        """The field called ``name``.

        Raises:
            KeyError: there is none.
        """
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The canonical YAML/JSON form (defaults left out)."""
        out: dict[str, Any] = {
            "source": self.source,
            "entity": self.entity,
            "version": self.version,
        }
        if self.description:
            out["description"] = self.description
        if self.primary_key:
            out["primary_key"] = list(self.primary_key)
        if self.event_time is not None:
            out["event_time"] = self.event_time
        out["extra_fields"] = self.extra_fields
        if self.partition != "day":
            out["partition"] = self.partition
        out["fields"] = [spec.to_dict() for spec in self.fields]
        quality = self.quality.to_dict()
        if quality:
            out["quality"] = quality
        return out

    def digest(self) -> str:
        """SHA-256 of the canonical form: names exactly what validated a batch (lineage)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def arrow_schema(self) -> pa.Schema:
        """The one schema of the accepted table and of this dataset's lake files.

        Each field in contract order (followed by ``<field>__original`` for standardised
        types), then :data:`LINE_COLUMN`.
        """
        columns: list[pa.Field] = []
        for spec in self.fields:
            columns.append(pa.field(spec.name, spec.arrow_type))
            if spec.keeps_original:
                columns.append(pa.field(spec.original_name, pa.string()))
        columns.append(pa.field(LINE_COLUMN, pa.int64()))
        return pa.schema(columns)

    def to_yaml(self) -> str:
        """The contract as YAML text, readable back with :meth:`from_yaml`."""
        data = self.to_dict()
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        if yaml.safe_load(text) != data:  # odd characters (e.g. U+0085): escape them all
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
        return text

    @classmethod
    def from_yaml(cls, text: str, *, origin: str) -> Contract:
        """Read a contract from YAML text.

        Args:
            text: the YAML document.
            origin: where it came from (a path), named in error messages.

        Raises:
            ContractError: the YAML is invalid or the contract is not; the message names
                ``origin`` and the path of the bad setting (``fields[2].type``).
        """
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ContractError(
                f"{origin}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}); "
                "fix the syntax"
            ) from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: object, *, origin: str) -> Contract:
        """Build a contract from its YAML/JSON form (see :meth:`from_yaml`)."""
        return _parse_contract(data, origin)


# --- parsing -----------------------------------------------------------------------------

_CONTRACT_KEYS = {
    "source",
    "entity",
    "version",
    "description",
    "primary_key",
    "event_time",
    "extra_fields",
    "partition",
    "fields",
    "quality",
}
_FIELD_KEYS = {
    "name",
    "type",
    "required",
    "max_length",
    "minimum",
    "maximum",
    "values",
    "default_region",
    "region_field",
    "assume_zone",
    "references",
    "description",
}
_QUALITY_KEYS = {
    "max_quarantine_rate",
    "min_completeness",
    "future_tolerance_seconds",
    "max_age_days",
    "volume",
}
_VOLUME_KEYS = {"window", "min_ratio", "max_ratio", "action"}


def _fail(origin: str, path: str, problem: str) -> ContractError:
    return ContractError(f"{origin}: {path}: {problem}", field=path)


def _mapping(value: object, origin: str, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(origin, path, f"expected a mapping of settings, got {_shape(value)}")
    return cast(Mapping[str, Any], value)


def _unknown(data: Mapping[str, Any], allowed: set[str], origin: str, path: str) -> None:
    extra = sorted(str(key) for key in data if key not in allowed)
    if extra:
        raise _fail(
            origin,
            f"{path}.{extra[0]}" if path else extra[0],
            f"unknown setting; use one of {', '.join(sorted(allowed))}",
        )


def _shape(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _text(value: object, origin: str, path: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise _fail(origin, path, f"expected text, got {_shape(value)}")
    return value


def _number(value: object, origin: str, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(origin, path, f"expected a finite number, got {_shape(value)}")
    return float(value)


def _whole(value: object, origin: str, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(origin, path, f"expected a whole number, got {_shape(value)}")
    return value


def _bool(value: object, origin: str, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(origin, path, f"expected true or false, got {_shape(value)}")
    return value


def _text_list(value: object, origin: str, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(origin, path, f"expected a list of text, got {_shape(value)}")
    return tuple(value)


def _parse_field(data: object, origin: str, path: str) -> FieldSpec:
    item = _mapping(data, origin, path)
    _unknown(item, _FIELD_KEYS, origin, path)
    name = _text(item.get("name"), origin, f"{path}.name")
    type_ = item.get("type", "string")
    if type_ not in FIELD_TYPES:
        raise _fail(
            origin,
            f"{path}.type",
            f"{type_!r} is not a field type; use one of {', '.join(FIELD_TYPES)}",
        )
    values = item.get("values")
    return FieldSpec(
        name=cast(str, name),
        type=cast(FieldType, type_),
        required=_bool(item.get("required", False), origin, f"{path}.required"),
        max_length=_whole(item.get("max_length"), origin, f"{path}.max_length"),
        minimum=_number(item.get("minimum"), origin, f"{path}.minimum"),
        maximum=_number(item.get("maximum"), origin, f"{path}.maximum"),
        values=None if values is None else _text_list(values, origin, f"{path}.values"),
        default_region=_text(
            item.get("default_region"), origin, f"{path}.default_region", optional=True
        ),
        region_field=_text(item.get("region_field"), origin, f"{path}.region_field", optional=True),
        assume_zone=_text(item.get("assume_zone"), origin, f"{path}.assume_zone", optional=True),
        references=_text(item.get("references"), origin, f"{path}.references", optional=True),
        description=_text(item.get("description", ""), origin, f"{path}.description", optional=True)
        or "",
    )


def _parse_quality(data: object, origin: str) -> QualityPolicy:
    if data is None:
        return QualityPolicy()
    item = _mapping(data, origin, "quality")
    _unknown(item, _QUALITY_KEYS, origin, "quality")
    default = QualityPolicy()
    completeness_raw = item.get("min_completeness") or {}
    completeness = _mapping(completeness_raw, origin, "quality.min_completeness")
    min_completeness: dict[str, float] = {}
    for key, value in completeness.items():
        number = _number(value, origin, f"quality.min_completeness.{key}")
        min_completeness[str(key)] = 0.0 if number is None else number
    volume = default.volume
    if item.get("volume") is not None:
        raw = _mapping(item["volume"], origin, "quality.volume")
        _unknown(raw, _VOLUME_KEYS, origin, "quality.volume")
        action = raw.get("action", volume.action)
        if action not in ("warn", "reject"):
            raise _fail(origin, "quality.volume.action", f"{action!r}: use warn or reject")
        window = _whole(raw.get("window", volume.window), origin, "quality.volume.window")
        min_ratio = _number(raw.get("min_ratio", volume.min_ratio), origin, "quality.volume")
        max_ratio = _number(raw.get("max_ratio", volume.max_ratio), origin, "quality.volume")
        volume = VolumePolicy(
            window=volume.window if window is None else window,
            min_ratio=volume.min_ratio if min_ratio is None else min_ratio,
            max_ratio=volume.max_ratio if max_ratio is None else max_ratio,
            action=action,
        )
    rate = _number(
        item.get("max_quarantine_rate", default.max_quarantine_rate),
        origin,
        "quality.max_quarantine_rate",
    )
    tolerance = _number(
        item.get("future_tolerance_seconds", default.future_tolerance_seconds),
        origin,
        "quality.future_tolerance_seconds",
    )
    return QualityPolicy(
        max_quarantine_rate=default.max_quarantine_rate if rate is None else rate,
        min_completeness=min_completeness,
        future_tolerance_seconds=default.future_tolerance_seconds
        if tolerance is None
        else tolerance,
        max_age_days=_number(item.get("max_age_days"), origin, "quality.max_age_days"),
        volume=volume,
    )


def _parse_contract(data: object, origin: str) -> Contract:
    top = _mapping(data, origin, "(top level)")
    _unknown(top, _CONTRACT_KEYS, origin, "")
    fields_raw = top.get("fields")
    if not isinstance(fields_raw, list) or not fields_raw:
        raise _fail(origin, "fields", "expected a non-empty list of fields")
    fields = tuple(_parse_field(item, origin, f"fields[{i}]") for i, item in enumerate(fields_raw))
    version = _whole(top.get("version", 1), origin, "version")
    extra = top.get("extra_fields", "keep")
    if extra not in ("keep", "reject"):
        raise _fail(origin, "extra_fields", f"{extra!r}: use keep or reject")
    partition = top.get("partition", "day")
    if partition not in ("day", "month"):
        raise _fail(
            origin,
            "partition",
            f"{partition!r}: use day (one lake folder per UTC day) or month (for datasets "
            "with few rows a day, to avoid many small files)",
        )
    primary_key = top.get("primary_key")
    contract = _build(
        origin,
        source=cast(str, _text(top.get("source"), origin, "source")),
        entity=cast(str, _text(top.get("entity"), origin, "entity")),
        version=1 if version is None else version,
        fields=fields,
        primary_key=() if primary_key is None else _text_list(primary_key, origin, "primary_key"),
        event_time=_text(top.get("event_time"), origin, "event_time", optional=True),
        extra_fields=extra,
        partition=partition,
        quality=_parse_quality(top.get("quality"), origin),
        description=_text(top.get("description", ""), origin, "description", optional=True) or "",
    )
    return contract


def _build(origin: str, **kwargs: Any) -> Contract:
    """Construct a contract, naming ``origin`` (not the generic name) in any error."""
    try:
        return Contract(**kwargs)
    except ContractError as exc:
        prefix = f"contract {kwargs['source']}.{kwargs['entity']}: "
        message = exc.message.removeprefix(prefix)
        raise ContractError(f"{origin}: {message}", field=exc.field) from None


def _check_contract(contract: Contract, *, origin: str) -> None:
    if not _SLUG.match(contract.source):
        raise _fail(origin, "source", "use lower-case letters, digits and _ (e.g. crm)")
    if not _SLUG.match(contract.entity):
        raise _fail(origin, "entity", "use lower-case letters, digits and _ (e.g. customers)")
    if contract.version < 1:
        raise _fail(origin, "version", "versions start at 1")
    if not contract.fields:
        raise _fail(origin, "fields", "a contract needs at least one field")
    names: dict[str, FieldSpec] = {}
    for i, spec in enumerate(contract.fields):
        _check_field(spec, origin, f"fields[{i}]")
        if spec.name in names:
            raise _fail(origin, f"fields[{i}].name", f"{spec.name!r} is listed twice")
        names[spec.name] = spec
    for i, spec in enumerate(contract.fields):
        if spec.region_field is not None:
            target = names.get(spec.region_field)
            if target is None or target.type != "country":
                raise _fail(
                    origin,
                    f"fields[{i}].region_field",
                    f"{spec.region_field!r} must name a field of type country",
                )
    for key in contract.primary_key:
        if key not in names:
            raise _fail(origin, "primary_key", f"{key!r} is not a field of the contract")
    if len(set(contract.primary_key)) != len(contract.primary_key):
        raise _fail(origin, "primary_key", "a field is listed twice")
    if contract.event_time is not None:
        spec_or_none = names.get(contract.event_time)
        if spec_or_none is None or spec_or_none.type not in ("timestamp", "date"):
            raise _fail(
                origin, "event_time", "must name a field of type timestamp or date in fields"
            )
    if contract.extra_fields not in ("keep", "reject"):
        raise _fail(origin, "extra_fields", "use keep or reject")
    if contract.partition not in ("day", "month"):
        raise _fail(origin, "partition", "use day or month")
    quality = contract.quality
    if not 0.0 <= quality.max_quarantine_rate <= 1.0:
        raise _fail(origin, "quality.max_quarantine_rate", "use a share between 0 and 1")
    for key, share in quality.min_completeness.items():
        if key not in names:
            raise _fail(origin, f"quality.min_completeness.{key}", "not a field of the contract")
        if not 0.0 <= share <= 1.0:
            raise _fail(origin, f"quality.min_completeness.{key}", "use a share between 0 and 1")
    if quality.future_tolerance_seconds < 0:
        raise _fail(origin, "quality.future_tolerance_seconds", "must not be negative")
    if quality.max_age_days is not None and quality.max_age_days <= 0:
        raise _fail(origin, "quality.max_age_days", "must be positive")
    volume = quality.volume
    if volume.window < 1:
        raise _fail(origin, "quality.volume.window", "must be at least 1")
    if not 0 <= volume.min_ratio <= 1 <= volume.max_ratio:
        raise _fail(origin, "quality.volume", "need min_ratio <= 1 <= max_ratio")
    if volume.action not in ("warn", "reject"):
        raise _fail(origin, "quality.volume.action", "use warn or reject")


def _check_field(spec: FieldSpec, origin: str, path: str) -> None:
    if not _FIELD_NAME.match(spec.name) or spec.name.endswith(ORIGINAL_SUFFIX):
        raise _fail(
            origin,
            f"{path}.name",
            f"{spec.name[:80]!r}: use up to 128 printable characters, not starting with _ "
            f"or a space and not ending in {ORIGINAL_SUFFIX}",
        )
    if spec.type not in FIELD_TYPES:
        raise _fail(origin, f"{path}.type", f"use one of {', '.join(FIELD_TYPES)}")
    if spec.max_length is not None and spec.max_length < 1:
        raise _fail(origin, f"{path}.max_length", "must be at least 1")
    if (spec.minimum is not None or spec.maximum is not None) and spec.type not in _NUMERIC:
        raise _fail(origin, f"{path}.minimum", "ranges apply to integer and decimal fields")
    if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        raise _fail(origin, f"{path}.maximum", "must not be below minimum")
    if spec.type == "enum":
        if not spec.values:
            raise _fail(origin, f"{path}.values", "an enum needs a non-empty list of values")
        if len(set(spec.values)) != len(spec.values):
            raise _fail(origin, f"{path}.values", "a value is listed twice")
    elif spec.values is not None:
        raise _fail(origin, f"{path}.values", "values apply to enum fields only")
    if (spec.default_region is not None or spec.region_field is not None) and (
        spec.type != "phone"
    ):
        raise _fail(origin, f"{path}.default_region", "regions apply to phone fields only")
    if spec.default_region is not None:
        import phonenumbers

        if spec.default_region not in phonenumbers.SUPPORTED_REGIONS:
            raise _fail(
                origin,
                f"{path}.default_region",
                f"{spec.default_region!r} is not an ISO-3166 alpha-2 region (e.g. GB, US)",
            )
    if spec.assume_zone is not None:
        if spec.type != "timestamp":
            raise _fail(origin, f"{path}.assume_zone", "applies to timestamp fields only")
        try:
            zoneinfo.ZoneInfo(spec.assume_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _fail(
                origin,
                f"{path}.assume_zone",
                f"{spec.assume_zone!r} is not an IANA time zone (e.g. Europe/Paris, UTC)",
            ) from None
    if spec.references is not None and not _REFERENCE.match(spec.references):
        raise _fail(
            origin,
            f"{path}.references",
            "write it as source.entity.field (e.g. billing.accounts.account_id)",
        )


# --- compatibility -----------------------------------------------------------------------


def compatibility(old: Contract, new: Contract) -> list[str]:
    """Why ``new`` cannot follow ``old`` as the next version; empty when it can.

    Compatible: an added optional field, description changes, relaxed limits (longer
    ``max_length``, wider range, more enum values, required to optional), quality thresholds.
    Breaking: a removed field, a type change, optional to required, a new required field,
    narrowed limits, another primary key or event time, and changes to how values are read.
    """
    reasons: list[str] = []
    if (old.source, old.entity) != (new.source, new.entity):
        reasons.append(f"it is for {new.name}, not {old.name}")
        return reasons
    if old.primary_key != new.primary_key:
        reasons.append(
            f"primary key changed from {list(old.primary_key)} to {list(new.primary_key)}"
        )
    if old.event_time != new.event_time:
        reasons.append(f"event_time changed from {old.event_time} to {new.event_time}")
    if old.partition != new.partition:
        reasons.append(
            f"partition changed from {old.partition} to {new.partition} (the lake files of a "
            "dataset share one layout)"
        )
    if old.extra_fields == "keep" and new.extra_fields == "reject":
        reasons.append("extra_fields changed from keep to reject")
    new_fields = {spec.name: spec for spec in new.fields}
    old_names = {spec.name for spec in old.fields}
    for spec in old.fields:
        other = new_fields.get(spec.name)
        if other is None:
            reasons.append(f"field {spec.name} was removed")
            continue
        reasons.extend(_field_changes(spec, other))
    for spec in new.fields:
        if spec.name not in old_names and spec.required:
            reasons.append(f"new field {spec.name} is required (add it as optional)")
    return reasons


def _field_changes(old: FieldSpec, new: FieldSpec) -> Iterator[str]:
    name = old.name
    if old.type != new.type:
        yield f"field {name} changed type from {old.type} to {new.type}"
        return
    if new.required and not old.required:
        yield f"field {name} became required"
    if new.effective_max_length < old.effective_max_length:
        yield f"field {name} max_length narrowed from {old.max_length} to {new.max_length}"
    if new.minimum is not None and (old.minimum is None or new.minimum > old.minimum):
        yield f"field {name} minimum raised from {old.minimum} to {new.minimum}"
    if new.maximum is not None and (old.maximum is None or new.maximum < old.maximum):
        yield f"field {name} maximum lowered from {old.maximum} to {new.maximum}"
    if old.values is not None and new.values is not None:
        dropped = sorted(set(old.values) - set(new.values))
        if dropped:
            yield f"field {name} no longer allows {', '.join(dropped)}"
    if old.default_region != new.default_region:
        yield f"field {name} default_region changed from {old.default_region} to " + str(
            new.default_region
        )
    if old.region_field != new.region_field:
        yield f"field {name} region_field changed from {old.region_field} to {new.region_field}"
    if old.assume_zone is not None and old.assume_zone != new.assume_zone:
        yield f"field {name} assume_zone changed from {old.assume_zone} to {new.assume_zone}"
    if new.references is not None and new.references != old.references:
        yield f"field {name} now references {new.references}"


# --- registry ----------------------------------------------------------------------------


def shipped_contracts() -> list[Contract]:
    """The default contracts shipped for the demo company, sorted by name."""
    folder = resources.files("aimsight.ingest").joinpath("contracts")
    contracts = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".yaml"):
            text = item.read_text(encoding="utf-8")
            contracts.append(Contract.from_yaml(text, origin=f"shipped {item.name}"))
    return contracts


class ContractRegistry:
    """The workspace's contracts: ``<contracts_dir>/<source>/<entity>/v<N>.yaml``."""

    def __init__(self, contracts_dir: Path) -> None:
        self.contracts_dir = Path(contracts_dir)

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> ContractRegistry:
        """The registry of ``workspace`` (its ``contracts/`` folder)."""
        return cls(workspace.root / "contracts")

    def _folder(self, source: str, entity: str) -> Path:
        if not _SLUG.match(source) or not _SLUG.match(entity):
            raise ContractError(
                f"{source}.{entity}: source and entity use lower-case letters, digits and _",
                field="source",
            )
        return self.contracts_dir / source / entity

    def versions(self, source: str, entity: str) -> builtins.list[int]:
        """The versions stored for ``source.entity``, oldest first (empty when none)."""
        folder = self._folder(source, entity)
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = _VERSION_FILE.match(path.name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def get(self, source: str, entity: str, version: int | None = None) -> Contract:
        """The contract for ``source.entity``: ``version``, or the latest.

        Raises:
            NotFound: no such contract or version; the message says how to add one.
            ContractError: the stored file is not a valid contract.
        """
        versions = self.versions(source, entity)
        if not versions:
            raise NotFound(
                f"no contract for {source}.{entity}; add one with `aimsight contracts add FILE` "
                "or install the demo defaults with `aimsight contracts install-defaults`"
            )
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise NotFound(
                f"{source}.{entity} has no version {chosen}; versions: "
                + ", ".join(str(v) for v in versions)
            )
        path = self._folder(source, entity) / f"v{chosen}.yaml"
        contract = Contract.from_yaml(path.read_text(encoding="utf-8"), origin=str(path))
        if (contract.source, contract.entity, contract.version) != (source, entity, chosen):
            raise ContractError(
                f"{path}: holds {contract.name} v{contract.version}, not {source}.{entity} "
                f"v{chosen}; restore the file or remove it",
                field="version",
            )
        return contract

    def list(self) -> builtins.list[Contract]:
        """The latest version of every contract, sorted by name."""
        if not self.contracts_dir.is_dir():
            return []
        out = []
        for source_dir in sorted(self.contracts_dir.iterdir()):
            if not source_dir.is_dir() or not _SLUG.match(source_dir.name):
                continue
            for entity_dir in sorted(source_dir.iterdir()):
                if entity_dir.is_dir() and _SLUG.match(entity_dir.name):
                    if self.versions(source_dir.name, entity_dir.name):
                        out.append(self.get(source_dir.name, entity_dir.name))
        return out

    def add(self, contract: Contract) -> Contract:
        """Store ``contract`` as the first version, or as the next compatible one.

        The registry numbers versions itself: the ``version`` in ``contract`` is replaced.
        A contract identical to the latest version returns that version unchanged.

        Raises:
            ContractError: the change would break data already ingested; lists why.
            Conflict: another process added a version at the same moment; retry.
        """
        versions = self.versions(contract.source, contract.entity)
        if versions:
            latest = self.get(contract.source, contract.entity)
            if replace(contract, version=latest.version) == latest:
                return latest
            problems = compatibility(latest, contract)
            if problems:
                raise ContractError(
                    f"{contract.name}: not compatible with v{latest.version}: "
                    + "; ".join(problems)
                    + ". Keep old fields and limits (add new fields as optional), or ingest "
                    "under a new entity name",
                    field="fields",
                )
            number = latest.version + 1
        else:
            number = 1
        stored = replace(contract, version=number)
        self._write(stored)
        return stored

    def install_defaults(self) -> builtins.list[Contract]:
        """Add the shipped demo contracts that the workspace does not have yet."""
        installed = []
        for contract in shipped_contracts():
            if not self.versions(contract.source, contract.entity):
                installed.append(self.add(contract))
        return installed

    def _write(self, contract: Contract) -> None:
        folder = self._folder(contract.source, contract.entity)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"v{contract.version}.yaml"
        fd, tmp = tempfile.mkstemp(prefix=".v", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(contract.to_yaml())
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, target)  # fails if the version exists: never overwrite one
            except FileExistsError:
                raise Conflict(
                    f"{contract.name} v{contract.version} was added meanwhile; run the "
                    "command again"
                ) from None
        finally:
            os.unlink(tmp)
