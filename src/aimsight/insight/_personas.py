"""What sets each segment apart, in users' words: profiles, explanations and persona cards.

A :class:`SegmentProfile` is learnt once from the training rows and their segments. Every
feature becomes one or more *measures*: a number (booleans count as 0/1) is one measure, a
category is one 0/1 measure per value seen in training ("contract = monthly"). For each
segment the profile keeps the measure means and two standardised differences:

* versus the whole population, ``(segment mean - population mean) / population SD``: how far
  the segment's centre sits from everyone's. :meth:`SegmentProfile.explain` gives each row the
  features with the largest such difference for the row's own segment (a row is in a segment
  because of what the segment is like, so the segment's traits are the reasons), each with the
  row's own value.
* versus everyone else (Cohen's d: pooled within-group SD, falling back to the population SD
  when both groups are constant), for persona cards: the top five name what distinguishes the
  segment, and the strongest of them its suggested name ("High monetary value, low recency").

Names are deterministic and unique across segments: the two strongest traits, then three when
two segments would share a name, then the segment id in brackets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from aimsight.insight._model import Contribution, FeatureSpec

__all__ = [
    "DistinguishingFeature",
    "Persona",
    "SegmentProfile",
    "build_personas",
    "profile_segments",
    "render_persona",
    "suggest_names",
]

# |standardised difference| from which a trait is worth a name, and from which it is "very".
NOTABLE = 0.2
VERY = 1.2
TOP_DISTINGUISHING = 5


@dataclass(frozen=True)
class DistinguishingFeature:
    """One trait of a segment: a feature (or one value of a category) and how far it stands out.

    ``difference`` is the standardised mean difference versus everyone else (positive: higher
    in the segment); for a category value the means are shares of customers with that value.
    """

    feature: str
    description: str
    category: str | None
    segment_mean: float | None
    population_mean: float | None
    difference: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "feature": self.feature,
            "description": self.description,
            "category": self.category,
            "segment_mean": self.segment_mean,
            "population_mean": self.population_mean,
            "difference": self.difference,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DistinguishingFeature:
        """The trait back from :meth:`to_dict`."""
        return cls(
            feature=data["feature"],
            description=data.get("description", ""),
            category=data.get("category"),
            segment_mean=data.get("segment_mean"),
            population_mean=data.get("population_mean"),
            difference=float(data["difference"]),
        )


@dataclass(frozen=True)
class Persona:
    """A persona card: who is in a segment, how many, and what sets them apart.

    ``statistics`` maps each feature to its key numbers in the segment: ``mean`` and
    ``median`` with the population's alongside for numbers, ``most_common`` and ``share``
    (with ``population_share``) for categories, and the feature's ``description``.
    """

    id: str
    name: str
    size: int
    share: float
    distinguishing: tuple[DistinguishingFeature, ...]
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stored in ``evaluation["personas"]``)."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "share": self.share,
            "distinguishing": [trait.to_dict() for trait in self.distinguishing],
            "statistics": {name: dict(stats) for name, stats in self.statistics.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Persona:
        """The card back from :meth:`to_dict`."""
        return cls(
            id=data["id"],
            name=data["name"],
            size=int(data["size"]),
            share=float(data["share"]),
            distinguishing=tuple(
                DistinguishingFeature.from_dict(item) for item in data.get("distinguishing", ())
            ),
            statistics={name: dict(stats) for name, stats in data.get("statistics", {}).items()},
        )


def _number(value: Any) -> float | None:
    """A plain float, or None for missing and non-finite values (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _plain(value: Any) -> Any:
    """A row's own value as plain Python (numpy scalars unwrapped, missing as None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    return value


def _measure_frame(frame: pd.DataFrame, features: Sequence[FeatureSpec]) -> pd.DataFrame:
    """One float column per measure: numbers as they are, each category value as 0/1."""
    columns: dict[str, pd.Series] = {}
    for spec in features:
        column = frame[spec.name]
        if spec.type == "category":
            text = column.astype("string")
            for value in spec.categories:
                columns[_key(spec.name, value)] = (text == value).fillna(False).astype(float)
        else:
            columns[spec.name] = pd.to_numeric(column, errors="coerce").astype(float)
    return pd.DataFrame(columns, index=frame.index)


def _key(feature: str, category: str | None) -> str:
    return feature if category is None else f"{feature} = {category}"


@dataclass
class SegmentProfile:
    """Measure means of each segment beside the population's, learnt from training rows.

    Build it with :func:`profile_segments`. Arrays are indexed ``[segment, measure]`` in the
    order of ``segments`` and ``measures``; ``measures`` holds ``(feature, category)`` pairs
    with ``category`` None for numbers.
    """

    features: tuple[FeatureSpec, ...]
    segments: tuple[str, ...]
    sizes: tuple[int, ...]
    measures: tuple[tuple[str, str | None], ...]
    segment_means: NDArray[np.float64]
    population_mean: NDArray[np.float64]
    population_sd: NDArray[np.float64]
    versus_rest: NDArray[np.float64]
    statistics: dict[str, dict[str, dict[str, Any]]]

    @property
    def total(self) -> int:
        """Rows the profile was learnt from."""
        return int(sum(self.sizes))

    @property
    def versus_population(self) -> NDArray[np.float64]:
        """``(segment mean - population mean) / population SD`` per segment and measure."""
        scale = np.where(self.population_sd > 0, self.population_sd, np.inf)
        diff = (self.segment_means - self.population_mean) / scale
        return np.nan_to_num(diff, nan=0.0)

    def description(self, feature: str) -> str:
        """The feature's description in users' words (its name, spaced, when none was given)."""
        for spec in self.features:
            if spec.name == feature and spec.description:
                return spec.description
        return feature.replace("_", " ")

    def centroid(self, segment: str) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """A segment's centre in the features' own units: number means and category shares."""
        row = self.segment_means[self.segments.index(segment)]
        numbers: dict[str, float] = {}
        shares: dict[str, dict[str, float]] = {}
        for (feature, category), value in zip(self.measures, row, strict=True):
            if category is None:
                numbers[feature] = float(value)
            else:
                shares.setdefault(feature, {})[category] = float(value)
        return numbers, shares

    def explain(
        self, frame: pd.DataFrame, segments: Sequence[str], top: int = 5
    ) -> list[list[Contribution]]:
        """Per row, the ``top`` features that most set the row's segment apart from everyone.

        The contribution is the segment's standardised difference from the population for
        that feature (for a category, for the row's own value of it); the value is the row's.
        """
        diffs = self.versus_population
        where = {segment: position for position, segment in enumerate(self.segments)}
        index = {measure: position for position, measure in enumerate(self.measures)}
        records = frame[[spec.name for spec in self.features]].to_dict("records")
        explained: list[list[Contribution]] = []
        for record, segment in zip(records, segments, strict=True):
            row_diffs = diffs[where[segment]]
            reasons = []
            for spec in self.features:
                value = _plain(record[spec.name])
                if spec.type == "category":
                    position = index.get((spec.name, None if value is None else str(value)))
                    amount = 0.0 if position is None else float(row_diffs[position])
                else:
                    amount = float(row_diffs[index[(spec.name, None)]])
                reasons.append(Contribution(feature=spec.name, value=value, contribution=amount))
            reasons.sort(key=lambda item: -abs(item.contribution))
            explained.append(reasons[: max(top, 0)])
        return explained

    def importance(self) -> list[tuple[str, float]]:
        """Each feature's share-weighted RMS standardised difference across segments, largest first.

        A category averages over its values. A feature whose segment means all sit at the
        population mean scores 0: it does not separate the segments.
        """
        weights = np.asarray(self.sizes, dtype=float) / max(self.total, 1)
        squared = (self.versus_population**2 * weights[:, None]).sum(axis=0)
        per_feature: dict[str, list[float]] = {}
        for (feature, _category), value in zip(self.measures, squared, strict=True):
            per_feature.setdefault(feature, []).append(float(value))
        ranked = [(name, float(np.sqrt(np.mean(values)))) for name, values in per_feature.items()]
        return sorted(ranked, key=lambda item: (-item[1], item[0]))

    def traits(self, segment: str) -> list[DistinguishingFeature]:
        """Every measure of a segment versus everyone else, largest difference first."""
        position = self.segments.index(segment)
        traits = []
        for column, (feature, category) in enumerate(self.measures):
            traits.append(
                DistinguishingFeature(
                    feature=feature,
                    description=self.description(feature),
                    category=category,
                    segment_mean=_number(self.segment_means[position, column]),
                    population_mean=_number(self.population_mean[column]),
                    difference=float(self.versus_rest[position, column]),
                )
            )
        traits.sort(key=lambda trait: (-abs(trait.difference), trait.feature))
        return traits


def _statistics(frame: pd.DataFrame, spec: FeatureSpec) -> dict[str, Any]:
    column = frame[spec.name]
    if spec.type == "category":
        counts = column.astype("string").value_counts(dropna=True)
        if counts.empty:
            return {"most_common": None, "share": None}
        return {
            "most_common": str(counts.index[0]),
            "share": _number(counts.iloc[0] / len(column)),
        }
    values = pd.to_numeric(column, errors="coerce").astype(float).dropna()
    if values.empty:
        return {"mean": None, "median": None}
    return {"mean": _number(values.mean()), "median": _number(values.median())}


def profile_segments(
    frame: pd.DataFrame,
    features: Sequence[FeatureSpec],
    segments: Sequence[str],
    order: Sequence[str],
) -> SegmentProfile:
    """Learn the profile of each segment in ``order`` from rows and their ``segments``.

    Args:
        frame: the training rows, holding every feature.
        features: the model's feature specs (categories list the values to measure).
        segments: the segment id of each row, in row order.
        order: the segment ids in the order the profile keeps them.
    """
    measures_frame = _measure_frame(frame, features)
    measures = tuple(
        (spec.name, category)
        for spec in features
        for category in (spec.categories if spec.type == "category" else (None,))
    )
    labels = np.asarray(segments, dtype=object)
    values = measures_frame.to_numpy(dtype=float)
    population_mean = _column_stat(values, np.nanmean)
    population_sd = _column_stat(values, np.nanstd)
    means, versus_rest, sizes = [], [], []
    statistics: dict[str, dict[str, dict[str, Any]]] = {}
    population_stats = {spec.name: _statistics(frame, spec) for spec in features}
    for segment in order:
        inside = labels == segment
        sizes.append(int(inside.sum()))
        within, rest = values[inside], values[~inside]
        segment_mean = _column_stat(within, np.nanmean)
        rest_mean = _column_stat(rest, np.nanmean)
        pooled = np.sqrt(
            (
                len(within) * _column_stat(within, np.nanvar)
                + len(rest) * _column_stat(rest, np.nanvar)
            )
            / max(len(values), 1)
        )
        scale = np.where(pooled > 1e-12, pooled, population_sd)
        scale = np.where(scale > 1e-12, scale, np.inf)
        versus_rest.append(np.nan_to_num((segment_mean - rest_mean) / scale, nan=0.0))
        means.append(segment_mean)
        statistics[segment] = {}
        for spec in features:
            stats = _statistics(frame.loc[inside], spec)
            population = population_stats[spec.name]
            if spec.type == "category":
                same = frame[spec.name].astype("string") == stats["most_common"]
                stats["population_share"] = (
                    _number(same.fillna(False).mean()) if stats["most_common"] is not None else None
                )
            else:
                stats["population_mean"] = population["mean"]
                stats["population_median"] = population["median"]
            stats["description"] = spec.description or spec.name.replace("_", " ")
            statistics[segment][spec.name] = stats
    return SegmentProfile(
        features=tuple(features),
        segments=tuple(order),
        sizes=tuple(sizes),
        measures=measures,
        segment_means=np.vstack(means) if means else np.zeros((0, len(measures))),
        population_mean=population_mean,
        population_sd=population_sd,
        versus_rest=np.vstack(versus_rest) if versus_rest else np.zeros((0, len(measures))),
        statistics=statistics,
    )


def _column_stat(values: NDArray[np.float64], stat: Any) -> NDArray[np.float64]:
    """A per-column nan-statistic that is NaN, silently, for an all-missing column or no rows."""
    result = np.full(values.shape[1], np.nan)
    present = ~np.isnan(values)
    usable = present.any(axis=0)
    if usable.any():
        result[usable] = stat(values[:, usable], axis=0)
    return result


def _phrase(trait: DistinguishingFeature, spec: FeatureSpec) -> str | None:
    """The trait in words, or None when it is too small (or a category value is rare here)."""
    size = abs(trait.difference)
    if size < NOTABLE:
        return None
    description = trait.description
    if trait.category is not None:
        if trait.difference < 0:
            return None
        return f"{description}: mostly {trait.category}"
    if spec.type == "boolean":
        return f"{'mostly' if trait.difference > 0 else 'rarely'} {description}"
    level = "high" if trait.difference > 0 else "low"
    return f"{'very ' + level if size >= VERY else level} {description}"


def _candidate(phrases: Sequence[str], count: int) -> str:
    text = ", ".join(phrases[:count]) if phrases else "typical customers"
    return text[:1].upper() + text[1:]


def suggest_names(profile: SegmentProfile) -> dict[str, str]:
    """A unique, deterministic name per segment from its strongest traits.

    Each name joins the segment's two strongest notable traits ("High monetary value, low
    recency"); a segment with none is "Typical customers". Segments that would share a name
    take their third trait too, and any still equal get their id in brackets.
    """
    specs = {spec.name: spec for spec in profile.features}
    phrases: dict[str, list[str]] = {}
    for segment in profile.segments:
        seen: set[str] = set()
        words: list[str] = []
        for trait in profile.traits(segment):
            if trait.feature in seen:
                continue
            phrase = _phrase(trait, specs[trait.feature])
            if phrase is not None:
                seen.add(trait.feature)
                words.append(phrase)
        phrases[segment] = words
    names = {segment: _candidate(phrases[segment], 2) for segment in profile.segments}
    for count in (3, None):
        clashes = _clashing(names)
        if not clashes:
            break
        for segment in clashes:
            if count is None:
                names[segment] = f"{names[segment]} ({segment})"
            else:
                names[segment] = _candidate(phrases[segment], count)
    return names


def _clashing(names: Mapping[str, str]) -> list[str]:
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return [segment for segment, name in names.items() if counts[name] > 1]


def build_personas(
    profile: SegmentProfile, *, names: Mapping[str, str] | None = None
) -> list[Persona]:
    """A persona card per segment, in the profile's order.

    Args:
        profile: the segments' profile (see :func:`profile_segments`).
        names: a fixed name per segment (e.g. the RFM segment names); by default
            :func:`suggest_names`.
    """
    chosen = dict(names) if names is not None else suggest_names(profile)
    total = max(profile.total, 1)
    cards = []
    for segment, size in zip(profile.segments, profile.sizes, strict=True):
        cards.append(
            Persona(
                id=segment,
                name=chosen.get(segment, segment),
                size=size,
                share=size / total,
                distinguishing=tuple(profile.traits(segment)[:TOP_DISTINGUISHING]),
                statistics=profile.statistics[segment],
            )
        )
    return cards


def _show(value: float | None, *, share: bool) -> str:
    if value is None:
        return "n/a"
    if share:
        return f"{value:.0%}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def render_persona(persona: Persona) -> str:
    """One persona card as short plain text, for a terminal, an e-mail or a model card."""
    lines = [
        f"{persona.id}: {persona.name}",
        f"  {persona.size:,} customers ({persona.share:.1%} of all)",
    ]
    if persona.distinguishing:
        lines.append("  Stands out by (vs everyone else):")
        for trait in persona.distinguishing:
            label = trait.description
            if trait.category is not None:
                label = f"{label} = {trait.category}"
            share = trait.category is not None
            lines.append(
                f"    {label}: {_show(trait.segment_mean, share=share)} vs "
                f"{_show(trait.population_mean, share=share)} overall "
                f"({trait.difference:+.1f} SD)"
            )
    typical = []
    for feature, stats in persona.statistics.items():
        label = stats.get("description") or feature
        if "most_common" in stats:
            if stats["most_common"] is not None:
                portion = _show(stats["share"], share=True)
                typical.append(f"{label} mostly {stats['most_common']} ({portion})")
        else:
            typical.append(
                f"{label} mean {_show(stats['mean'], share=False)}, "
                f"median {_show(stats['median'], share=False)}"
            )
    if typical:
        lines.append("  Typical: " + "; ".join(typical))
    return "\n".join(lines)
