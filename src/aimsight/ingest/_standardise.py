"""Standardisation: turn one column of received strings into clean, typed values.

Each field type has one vectorised standardiser (``pyarrow.compute``); only phone numbers go
through Python (``phonenumbers``), once per distinct (number, region) pair, with a cache.
Every standardiser but the phone one looks at each value alone, so a column that repeats a few
values (currencies, enums, amounts) is standardised once per distinct value and the outcome
spread back to its rows: the same result, for a fraction of the work.
A standardiser never raises on bad data: it returns the clean values (null where a value
is missing or unusable) and, per problem code, a mask of the rows that have it, so the
rules can quarantine exactly those rows with a reason a person can act on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from aimsight.ingest._contracts import FieldSpec

__all__ = [
    "Standardised",
    "country_codes",
    "currency_codes",
    "standardise_field",
]

Mask = npt.NDArray[np.bool_]

_WS = r"[\s\x0b\x1c-\x1f\x85\p{Z}]+"
_ANY = r"\x{80}-\x{10FFFF}"  # any non-ASCII character (internationalised addresses)
_LOCAL = rf"[a-z0-9!#$%&'*+/=?^_`{{|}}~{_ANY}-]+"
_LABEL = rf"[a-z0-9{_ANY}](?:[a-z0-9{_ANY}-]*[a-z0-9{_ANY}])?"
# Matched against the lower-cased value.
_EMAIL = rf"^{_LOCAL}(?:\.{_LOCAL})*@(?:{_LABEL}\.)+[a-z{_ANY}]{{2,63}}$"
_EMAIL_MAX = 254
_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_HMS = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
# Values of this shape are cast by Arrow exactly as the general path below would read them.
_TS_FAST = rf"^{_DATE}[T ]{_HMS}(?:\.\d{{1,6}})?(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)$"
_TS_GENERAL = (
    rf"^(?P<date>{_DATE})[Tt ](?P<hms>{_HMS})(?P<frac>\.\d{{1,6}})?\d*"
    r"\s*(?P<zone>[Zz]|UTC|GMT|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?$"
)
_DATE_ONLY = rf"^{_DATE}$"
_INTEGER = r"^[+-]?\d{1,18}(?:\.0*)?$"
_DECIMAL = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "czechia": "CZ",
    "czech republic": "CZ",
    "turkey": "TR",
    "ivory coast": "CI",
}
# Country names are also recognised in these languages (pycountry ships the translations).
_COUNTRY_LANGUAGES = ("de", "fr", "nl", "es", "it", "pt", "pl", "sv", "da", "nb_NO", "fi", "cs")
_PHONE_CACHE_LIMIT = 500_000
# A column of at least _DISTINCT_MIN_ROWS rows whose sample of _DISTINCT_SAMPLE rows holds at
# most a _DISTINCT_SHARE of distinct values is standardised once per distinct value.
_DISTINCT_MIN_ROWS = 8192
_DISTINCT_SAMPLE = 4096
_DISTINCT_SHARE = 0.125


@dataclass
class Standardised:
    """One standardised column.

    Attributes:
        values: the clean values, typed as the field's Arrow type; null where the value is
            missing or has a problem.
        original: the values as received (strings), kept for types that change them.
        missing: rows with no value (null, empty or only whitespace).
        problems: per reason code (``invalid_email``, ``too_long``...), the rows that have it;
            a row has at most one problem per field and never when it is missing.
    """

    values: pa.Array
    original: pa.Array | None
    missing: Mask
    problems: dict[str, Mask] = field(default_factory=dict)

    @property
    def invalid(self) -> Mask:
        """Rows with any problem."""
        out = np.zeros(len(self.missing), dtype=bool)
        for mask in self.problems.values():
            out |= mask
        return out


def _mask(array: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean Arrow array as a numpy mask, null counting as False."""
    filled = pc.fill_null(array, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _null_where(values: pa.Array, mask: Mask) -> pa.Array:
    """``values`` with rows in ``mask`` set to null."""
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.nulls(len(values), values.type), values)


def _clean_strings(values: pa.Array) -> tuple[pa.Array, Mask]:
    """Values trimmed of surrounding whitespace, blank ones null; and the missing mask."""
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    trimmed = pc.utf8_trim_whitespace(values)
    blank = pc.equal(trimmed, "")
    missing = _mask(pc.or_kleene(pc.is_null(trimmed), blank))
    return _null_where(trimmed, missing), missing


def standardise_field(
    values: pa.Array | pa.ChunkedArray,
    spec: FieldSpec,
    *,
    regions: pa.Array | None = None,
) -> Standardised:
    """Standardise one received column according to its field spec.

    Args:
        values: the column as received (strings; other types are cast to strings first).
        spec: the field's contract entry.
        regions: for phone fields with ``region_field``: the standardised country of each
            row (ISO-3166 alpha-2, null where unknown).

    Returns:
        The clean values, the original strings (for types that keep them), the missing
        mask and the problem masks.
    """
    raw = _as_array(values)
    if raw.type != pa.string():
        raw = pc.cast(raw, pa.string())
    original = raw if spec.keeps_original else None
    if spec.type != "phone" and _repetitive(raw):  # phones depend on the row's region too
        encoded = pc.dictionary_encode(raw, null_encoding="encode")
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        typed, missing, problems = _standardise(encoded.dictionary, spec, None)
        return Standardised(
            values=typed.take(encoded.indices),
            original=original,
            missing=missing[indices],
            problems={code: mask[indices] for code, mask in problems.items()},
        )
    typed, missing, problems = _standardise(raw, spec, regions)
    return Standardised(values=typed, original=original, missing=missing, problems=problems)


def _repetitive(values: pa.Array) -> bool:
    """Whether ``values`` is long and repeats few values (judged on an even sample)."""
    n = len(values)
    if n < _DISTINCT_MIN_ROWS:
        return False
    sample = values.take(pa.array(np.linspace(0, n - 1, _DISTINCT_SAMPLE, dtype=np.int64)))
    distinct = pc.count_distinct(sample, mode="all").as_py()
    return bool(distinct <= _DISTINCT_SAMPLE * _DISTINCT_SHARE)


def _standardise(
    raw: pa.Array, spec: FieldSpec, regions: pa.Array | None
) -> tuple[pa.Array, Mask, dict[str, Mask]]:
    """The clean values, the missing mask and the problem masks of strings ``raw``."""
    cleaned, missing = _clean_strings(raw)
    problems: dict[str, Mask] = {}
    too_long = _mask(pc.greater(pc.utf8_length(cleaned), spec.effective_max_length))
    if too_long.any():
        problems["too_long"] = too_long
        cleaned = _null_where(cleaned, too_long)
    typed, type_problems = _STANDARDISERS[spec.type](cleaned, spec, regions)
    for code, mask in type_problems.items():
        mask = mask & ~too_long & ~missing
        if mask.any():
            problems[code] = problems.get(code, np.zeros(len(mask), dtype=bool)) | mask
    if spec.type in ("integer", "decimal") and (
        spec.minimum is not None or spec.maximum is not None
    ):
        out = np.zeros(len(raw), dtype=bool)
        if spec.minimum is not None:
            out |= _mask(pc.less(typed, spec.minimum))
        if spec.maximum is not None:
            out |= _mask(pc.greater(typed, spec.maximum))
        if out.any():
            problems["out_of_range"] = out
    bad = np.zeros(len(raw), dtype=bool)
    for mask in problems.values():
        bad |= mask
    return _null_where(typed, bad), missing, problems


_Result = tuple[pa.Array, dict[str, Mask]]


def _string(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    return values, {}


def _text(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    return pc.utf8_normalize(values, form="NFKC"), {}


def _name(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    normal = pc.utf8_normalize(values, form="NFKC")
    folded = pc.replace_substring_regex(normal, pattern=_WS, replacement=" ")
    return pc.utf8_trim_whitespace(folded), {}


def _email(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    lower = pc.utf8_lower(pc.utf8_normalize(values, form="NFKC"))
    ok = pc.and_(
        pc.match_substring_regex(lower, pattern=_EMAIL),
        pc.less_equal(pc.utf8_length(lower), _EMAIL_MAX),
    )
    bad = _mask(pc.and_(pc.is_valid(lower), pc.invert(pc.fill_null(ok, False))))
    return _null_where(lower, bad), {"invalid_email": bad}


def _lookup(values: pa.Array, table: dict[str, str]) -> pa.Array:
    """Map each value through ``table`` (null where it has no entry)."""
    keys = pa.array(list(table), pa.string())
    codes = pa.array(list(table.values()), pa.string())
    return pc.take(codes, pc.index_in(values, value_set=keys))


def _fold(values: pa.Array) -> pa.Array:
    normal = pc.utf8_normalize(values, form="NFKC")
    return pc.utf8_lower(pc.replace_substring_regex(normal, pattern=_WS, replacement=" "))


def _fold_text(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).split()).lower()


@lru_cache(maxsize=1)
def country_codes() -> dict[str, str]:
    """Every spelling recognised as a country (lower case) -> its ISO-3166 alpha-2 code.

    Alpha-2 and alpha-3 codes, English short, official and common names, the names in a
    few European languages, and common aliases (UK, USA, Holland).
    """
    import gettext

    import pycountry

    table: dict[str, str] = {}
    ambiguous: set[str] = set()

    def put(name: str | None, code: str) -> None:
        if not name:
            return
        key = _fold_text(name)
        if table.get(key, code) != code:
            ambiguous.add(key)
        table.setdefault(key, code)

    countries = list(pycountry.countries)
    for country in countries:
        code = country.alpha_2
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            put(getattr(country, attribute, None), code)
    for language in _COUNTRY_LANGUAGES:
        try:
            translation = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
            )
        except OSError:
            continue
        for country in countries:
            put(translation.gettext(country.name), country.alpha_2)
    for key in ambiguous:
        del table[key]
    for alias, code in _COUNTRY_ALIASES.items():
        table.setdefault(alias, code)
    return table


@lru_cache(maxsize=1)
def currency_codes() -> dict[str, str]:
    """Every spelling recognised as a currency (lower case) -> its ISO-4217 code."""
    import pycountry

    table: dict[str, str] = {}
    for currency in pycountry.currencies:
        table[currency.alpha_3.lower()] = currency.alpha_3
    for currency in pycountry.currencies:
        table.setdefault(_fold_text(currency.name), currency.alpha_3)
    return table


def _country(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    codes = _lookup(_fold(values), country_codes())
    bad = _mask(pc.and_(pc.is_valid(values), pc.is_null(codes)))
    return codes, {"invalid_country": bad}


def _currency(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    codes = _lookup(_fold(values), currency_codes())
    bad = _mask(pc.and_(pc.is_valid(values), pc.is_null(codes)))
    return codes, {"invalid_currency": bad}


def _enum(values: pa.Array, spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    allowed = list(spec.values or ())
    table = {value: value for value in allowed}
    folded: dict[str, list[str]] = {}
    for value in allowed:
        folded.setdefault(value.lower(), []).append(value)
    for key, options in folded.items():
        if len(options) == 1:
            table.setdefault(key, options[0])
    exact = _lookup(values, table)
    found = pc.coalesce(exact, _lookup(pc.utf8_lower(values), table))
    bad = _mask(pc.and_(pc.is_valid(values), pc.is_null(found)))
    return found, {"not_in_enum": bad}


def _boolean(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    lower = pc.utf8_lower(values)
    is_true = pc.is_in(lower, value_set=pa.array(_TRUE))
    is_false = pc.is_in(lower, value_set=pa.array(_FALSE))
    known = pc.or_(is_true, is_false)
    bad = _mask(pc.and_(pc.is_valid(values), pc.invert(known)))
    result = pc.if_else(known, is_true, pa.nulls(len(values), pa.bool_()))
    return result, {"invalid_type": bad}


def _numeric(values: pa.Array, pattern: str, target: pa.DataType) -> tuple[pa.Array, Mask]:
    shaped = pc.match_substring_regex(values, pattern=pattern)
    bad = _mask(pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(shaped, False))))
    usable = _null_where(values, bad)
    if target == pa.int64():
        usable = pc.replace_substring_regex(usable, pattern=r"\.0*$", replacement="")
    typed = pc.cast(usable, target)
    if target == pa.float64():
        infinite = _mask(pc.is_inf(typed))
        if infinite.any():
            bad = bad | infinite
            typed = _null_where(typed, infinite)
    return typed, bad


def _integer(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    typed, bad = _numeric(values, _INTEGER, pa.int64())
    return typed, {"invalid_type": bad}


def _decimal(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    typed, bad = _numeric(values, _DECIMAL, pa.float64())
    return typed, {"invalid_type": bad}


def _json(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    bad = np.zeros(len(values), dtype=bool)
    for i, text in enumerate(values.to_pylist()):
        if text is None:
            continue
        try:
            json.loads(text)
        except ValueError:
            bad[i] = True
    return _null_where(values, bad), {"invalid_type": bad}


def _calendar_ok(dates: pa.Array) -> Mask:
    """For ``YYYY-MM-DD`` strings (null elsewhere): whether the day exists in that month."""
    filled = pc.fill_null(dates, "2000-01-01")
    year = np.asarray(pc.cast(pc.utf8_slice_codeunits(filled, 0, 4), pa.int64()).to_numpy())
    month = np.asarray(pc.cast(pc.utf8_slice_codeunits(filled, 5, 7), pa.int64()).to_numpy())
    day = np.asarray(pc.cast(pc.utf8_slice_codeunits(filled, 8, 10), pa.int64()).to_numpy())
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = _DAYS_IN_MONTH[month - 1] + ((month == 2) & leap)
    return np.asarray((day <= days) & (year >= 1), dtype=bool)


def _date(values: pa.Array, _spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    shaped = _mask(pc.match_substring_regex(values, pattern=_DATE_ONLY))
    ok = shaped & _calendar_ok(_null_where(values, ~shaped))
    usable = _null_where(values, ~ok)
    bad = _mask(pc.is_valid(values)) & ~ok
    return pc.cast(usable, pa.date32()), {"invalid_type": bad}


_UTC = pa.timestamp("us", tz="UTC")
_TS_MIN = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), _UTC)
_TS_MAX = pa.scalar(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), _UTC)


def _timestamp(values: pa.Array, spec: FieldSpec, _regions: pa.Array | None) -> _Result:
    present = _mask(pc.is_valid(values))
    fast = _mask(pc.match_substring_regex(values, pattern=_TS_FAST))
    fast_values = _null_where(values, ~fast)
    try:
        result = pc.cast(fast_values, _UTC)
    except pa.ArrowInvalid:  # a day that does not exist (Feb 30): leave those to the slow path
        fast &= _calendar_ok(pc.utf8_slice_codeunits(fast_values, 0, 10))
        result = _safe_cast(_null_where(values, ~fast), _UTC)
    rest = present & ~fast
    problems: dict[str, Mask] = {}
    if rest.any():
        slow, problems = _timestamp_general(_null_where(values, ~rest), spec)
        result = pc.coalesce(result, slow)
    # Year 0 or an offset pushing past 9999 parse, but no datetime library can hold them.
    outside = _mask(pc.or_(pc.less(result, _TS_MIN), pc.greater(result, _TS_MAX)))
    if outside.any():
        problems["invalid_timestamp"] = problems.get("invalid_timestamp", outside) | outside
        result = _null_where(result, outside)
    return result, problems


def _timestamp_general(values: pa.Array, spec: FieldSpec) -> _Result:
    """Timestamps of every accepted shape (any fraction, ``UTC`` suffix, no zone...)."""
    present = _mask(pc.is_valid(values))
    parts = pc.extract_regex(values, pattern=_TS_GENERAL)
    shaped = _mask(pc.is_valid(parts))
    date = pc.struct_field(parts, "date")
    shaped &= _calendar_ok(_null_where(date, ~shaped))
    zone = _empty_to_null(pc.struct_field(parts, "zone"))  # unmatched groups come as ""
    zoned = shaped & _mask(pc.is_valid(zone))
    zoneless = shaped & ~zoned
    zone = pc.replace_substring_regex(zone, pattern=r"^(?:[Zz]|UTC|GMT)$", replacement="+00:00")
    zone = pc.replace_substring_regex(zone, pattern=r"^([+-]\d\d)$", replacement=r"\1:00")
    local = pc.binary_join_element_wise(
        date,
        "T",
        pc.struct_field(parts, "hms"),
        pc.fill_null(pc.struct_field(parts, "frac"), ""),
        "",
    )
    problems: dict[str, Mask] = {}
    with_zone = _null_where(pc.binary_join_element_wise(local, zone, ""), ~zoned)
    result = _safe_cast(with_zone, _UTC)
    if spec.assume_zone is not None and zoneless.any():
        naive = _safe_cast(_null_where(local, ~zoneless), pa.timestamp("us"))
        assumed = pc.assume_timezone(
            naive, timezone=spec.assume_zone, ambiguous="earliest", nonexistent="latest"
        )
        result = pc.coalesce(result, pc.cast(assumed, _UTC))
        accepted = zoned | zoneless
    else:
        accepted = zoned
        problems["timestamp_without_zone"] = zoneless
    problems["invalid_timestamp"] = present & ~shaped
    return _null_where(result, ~accepted), problems


def _empty_to_null(values: pa.Array) -> pa.Array:
    return _null_where(values, _mask(pc.equal(values, "")))


def _safe_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast strings already checked by pattern; any value Arrow still refuses becomes null."""
    try:
        return pc.cast(values, target)
    except pa.ArrowInvalid:
        out = []
        for text in values.to_pylist():
            try:
                out.append(None if text is None else pc.cast(pa.array([text]), target)[0].as_py())
            except pa.ArrowInvalid:
                out.append(None)
        return pa.array(out, target)


# --- phones ------------------------------------------------------------------------------

_phone_cache: dict[tuple[str, str, bool], tuple[str | None, str | None]] = {}


def _parse_phone(text: str, region: str, strict_country: bool) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, reason code) for one number read in ``region``."""
    key = (text, region, strict_country)
    cached = _phone_cache.get(key)
    if cached is not None:
        return cached
    import phonenumbers

    result: tuple[str | None, str | None]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        result = (None, "invalid_phone")
    else:
        if not phonenumbers.is_valid_number(number):
            result = (None, "invalid_phone")
        elif strict_country and number.country_code != phonenumbers.country_code_for_region(region):
            result = (None, "phone_country_mismatch")
        else:
            result = (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                None,
            )
    if len(_phone_cache) >= _PHONE_CACHE_LIMIT:
        _phone_cache.clear()
    _phone_cache[key] = result
    return result


def _phone(values: pa.Array, spec: FieldSpec, regions: pa.Array | None) -> _Result:
    import phonenumbers

    n = len(values)
    default = spec.default_region or "ZZ"
    if regions is not None and spec.region_field is not None:
        supported = pc.is_in(regions, value_set=pa.array(sorted(phonenumbers.SUPPORTED_REGIONS)))
        row_region = pc.if_else(pc.fill_null(supported, False), regions, None)
        strict = _mask(pc.is_valid(row_region))
        region = pc.fill_null(row_region, default)
    else:
        strict = np.zeros(n, dtype=bool)
        region = pa.array([default] * n, pa.string()) if n else pa.array([], pa.string())
    flag = pc.if_else(pa.array(strict), "1", "0") if n else pa.array([], pa.string())
    keys = pc.binary_join_element_wise(flag, region, values, "\x1f")
    distinct = pc.unique(keys).drop_null()
    e164: list[str | None] = []
    codes: list[str | None] = []
    for key in distinct.to_pylist():
        strict_text, region_text, text = key.split("\x1f", 2)
        number, code = _parse_phone(text, region_text, strict_text == "1")
        e164.append(number)
        codes.append(code)
    index = pc.index_in(keys, value_set=distinct)
    numbers = pc.take(pa.array(e164, pa.string()), index)
    reasons = pc.take(pa.array(codes, pa.string()), index)
    return numbers, {
        "invalid_phone": _mask(pc.equal(reasons, "invalid_phone")),
        "phone_country_mismatch": _mask(pc.equal(reasons, "phone_country_mismatch")),
    }


_STANDARDISERS: dict[str, Callable[[pa.Array, FieldSpec, pa.Array | None], _Result]] = {
    "string": _string,
    "name": _name,
    "text": _text,
    "email": _email,
    "phone": _phone,
    "country": _country,
    "currency": _currency,
    "timestamp": _timestamp,
    "date": _date,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "enum": _enum,
    "json": _json,
}
