"""Standardisation as a data engineer sees it: clean values out, bad ones flagged, no crash."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.ingest._contracts import FieldSpec
from aimsight.ingest._standardise import Standardised, _repetitive, standardise_field


def run(column: list[str | None], **spec: Any) -> Standardised:
    return standardise_field(pa.array(column, pa.string()), FieldSpec(name="f", **spec))


def problems(result: Standardised) -> dict[str, list[int]]:
    return {code: mask.nonzero()[0].tolist() for code, mask in result.problems.items()}


# --- e-mail ------------------------------------------------------------------------------


def test_emails_are_trimmed_and_lower_cased_with_the_original_kept() -> None:
    result = run(["  Ada.Lovelace@Example.COM ", "bob@mail.example.org"], type="email")
    assert result.values.to_pylist() == ["ada.lovelace@example.com", "bob@mail.example.org"]
    assert result.original is not None
    assert result.original.to_pylist() == ["  Ada.Lovelace@Example.COM ", "bob@mail.example.org"]
    assert not result.problems


@pytest.mark.parametrize(
    "bad", ["ada@@example.com", "adaexample.com", "ada@", "@example.com", "ada @example.com"]
)
def test_malformed_emails_are_flagged_not_kept(bad: str) -> None:
    result = run([bad], type="email")
    assert problems(result) == {"invalid_email": [0]}
    assert result.values.to_pylist() == [None]


def test_empty_and_blank_values_are_missing_not_invalid() -> None:
    result = run(["", "   ", None], type="email")
    assert result.missing.tolist() == [True, True, True]
    assert not result.problems


_word = st.text(alphabet="abcXYZ019._-+", min_size=1, max_size=8)
email_like = st.builds(
    lambda pad, local, domain, tld, at: f"{pad}{local}{at}{domain}.{tld}{pad}",
    st.sampled_from(["", " ", "\t"]),
    _word,
    _word,
    st.text(alphabet="comORG", min_size=1, max_size=4),
    st.sampled_from(["@", "@@", "", " @"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40), email_like), max_size=20))
def test_email_output_is_clean_and_stable(values: list[str | None]) -> None:
    result = run(values, type="email")
    again = run(result.values.to_pylist(), type="email")
    for value, flagged, missing in zip(
        result.values.to_pylist(), result.invalid, result.missing, strict=True
    ):
        if value is not None:
            assert value == value.strip().lower() and "@" in value
        else:
            assert flagged or missing
    # Standardising a clean value changes nothing.
    assert again.values.to_pylist() == result.values.to_pylist()


# --- names and text ----------------------------------------------------------------------


def test_names_are_nfkc_normalised_with_whitespace_folded() -> None:
    result = run(["  Jean \t Luc   Picard ", "ﬁona", "Ｊｏｓé"], type="name")
    assert result.values.to_pylist() == ["Jean Luc Picard", "fiona", "José"]
    assert (
        result.original is not None and result.original.to_pylist()[0] == "  Jean \t Luc   Picard "
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=20))
def test_names_never_keep_double_or_edge_whitespace(values: list[str]) -> None:
    result = run(list(values), type="name")
    for value in result.values.to_pylist():
        if value is not None:
            assert value == " ".join(value.split())
    assert run(result.values.to_pylist(), type="name").values.to_pylist() == (
        result.values.to_pylist()
    )


# --- phones ------------------------------------------------------------------------------


def phone(
    values: list[str | None], regions: list[str | None] | None = None, **spec: Any
) -> Standardised:
    field = FieldSpec(
        name="phone",
        type="phone",
        default_region=spec.get("default_region", "GB"),
        region_field="country" if regions is not None else None,
    )
    return standardise_field(
        pa.array(values, pa.string()),
        field,
        regions=None if regions is None else pa.array(regions, pa.string()),
    )


def test_phones_in_national_and_international_forms_become_e164() -> None:
    result = phone(
        ["+49 171 6079402", "0176/6270050", "07920 444228", "0044 7920 444228", "(206) 858-1058"],
        regions=["DE", "DE", "GB", "GB", "US"],
    )
    assert result.values.to_pylist() == [
        "+491716079402",
        "+491766270050",
        "+447920444228",
        "+447920444228",
        "+12068581058",
    ]
    assert not result.problems


def test_a_phone_number_from_another_country_than_the_row_is_flagged() -> None:
    result = phone(["+49 171 6079402", "07920 444228"], regions=["GB", "GB"])
    assert problems(result) == {"phone_country_mismatch": [0]}
    assert result.values.to_pylist() == [None, "+447920444228"]


def test_the_default_region_reads_national_numbers_when_the_row_has_no_country() -> None:
    result = phone(["07920 444228", "07920 444228"], regions=[None, "Narnia"])
    assert result.values.to_pylist() == ["+447920444228", "+447920444228"]


def test_unparseable_phones_are_flagged() -> None:
    result = phone(["12", "call me", "+44 12"])
    assert problems(result) == {"invalid_phone": [0, 1, 2]}


def test_many_rows_with_few_distinct_numbers_are_fast() -> None:
    values = ["+44 7920 444228", "07920 444229", None] * 100_000
    started = time.perf_counter()
    result = phone(values)
    assert time.perf_counter() - started < 3
    assert result.values.to_pylist()[:3] == ["+447920444228", "+447920444229", None]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+()-. /", max_size=20), max_size=10))
def test_phone_output_is_e164_or_flagged(values: list[str]) -> None:
    result = phone(list(values))
    for value, bad, missing in zip(
        result.values.to_pylist(), result.invalid, result.missing, strict=True
    ):
        if value is None:
            assert bad or missing
        else:
            assert value.startswith("+") and value[1:].isdigit()


# --- timestamps and dates ----------------------------------------------------------------


def test_timestamps_with_a_zone_are_converted_to_utc() -> None:
    result = run(
        [
            "2023-01-06T01:37:34+01:00",
            "2025-06-27T01:55:13Z",
            "2023-01-03T06:04:42.863Z",
            "2023-01-06 01:37:34 UTC",
            "2023-01-06T01:37:34.123456789-0530",
        ],
        type="timestamp",
    )
    assert result.values.type == pa.timestamp("us", tz="UTC")
    assert [v.replace(tzinfo=None) for v in result.values.to_pylist()] == [
        datetime(2023, 1, 6, 0, 37, 34),
        datetime(2025, 6, 27, 1, 55, 13),
        datetime(2023, 1, 3, 6, 4, 42, 863000),
        datetime(2023, 1, 6, 1, 37, 34),
        datetime(2023, 1, 6, 7, 7, 34, 123456),
    ]
    assert result.original is not None


def test_a_timestamp_without_zone_is_refused_unless_the_contract_assumes_one() -> None:
    refused = run(["2023-01-06 01:37:34"], type="timestamp")
    assert problems(refused) == {"timestamp_without_zone": [0]}
    assumed = run(["2023-01-06 01:37:34"], type="timestamp", assume_zone="Europe/Paris")
    assert not assumed.problems
    assert assumed.values.to_pylist()[0] == datetime(2023, 1, 6, 0, 37, 34, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        "2024-02-30T10:15:00+01:00",
        "2023-13-05T08:00:00Z",
        "31/04/2024 12:00",
        "yesterday",
        "2024-06-31",
        "0000-00-00 00:00:00",
        "2023-01-06T25:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_impossible_or_foreign_timestamps_are_invalid(bad: str) -> None:
    result = run(["2023-01-06T01:37:34+01:00", bad], type="timestamp")
    assert problems(result) == {"invalid_timestamp": [1]}
    assert result.values.to_pylist()[0] is not None


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.sampled_from(["T", " "]),
)
def test_any_iso_timestamp_with_offset_reads_as_the_same_instant(
    moment: datetime, offset_minutes: int, separator: str
) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = aware.isoformat(sep=separator)
    result = run([text], type="timestamp")
    assert not result.problems, text
    assert result.values.to_pylist()[0] == aware.astimezone(UTC)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20))
def test_timestamp_reading_never_raises_and_flags_what_it_drops(values: list[str | None]) -> None:
    result = run(values, type="timestamp")
    for value, bad, missing in zip(
        result.values.to_pylist(), result.invalid, result.missing, strict=True
    ):
        assert (value is None) == (bad or missing)


def test_dates_must_exist_in_the_calendar() -> None:
    result = run(["2003-06-01", "2024-02-29", "2023-02-29", "2024-06-31", "1/2/2003"], type="date")
    assert result.values.to_pylist()[:2] == [date(2003, 6, 1), date(2024, 2, 29)]
    assert problems(result) == {"invalid_type": [2, 3, 4]}


# --- codes -------------------------------------------------------------------------------


def test_countries_accept_codes_names_and_local_names() -> None:
    result = run(
        ["DE", "deu", "Germany", "Deutschland", "USA", "UK", "Nederland", " fr ", "Narnia"],
        type="country",
    )
    assert result.values.to_pylist() == ["DE", "DE", "DE", "DE", "US", "GB", "NL", "FR", None]
    assert problems(result) == {"invalid_country": [8]}


def test_currencies_are_iso_4217_codes() -> None:
    result = run(["eur", "USD", "Pound Sterling", "EURO$"], type="currency")
    assert result.values.to_pylist() == ["EUR", "USD", "GBP", None]
    assert problems(result) == {"invalid_currency": [3]}


# --- numbers, booleans, enums, json ------------------------------------------------------


def test_decimals_accept_only_dot_decimal_numbers() -> None:
    result = run(["8.99", "-1", "1e3", "9,99 USD", "N/A", "1e999"], type="decimal")
    assert result.values.to_pylist() == [8.99, -1.0, 1000.0, None, None, None]
    assert problems(result) == {"invalid_type": [3, 4, 5]}


def test_ranges_flag_values_outside_them() -> None:
    result = run(["-0.01", "0", "100", "100.5"], type="decimal", minimum=0, maximum=100)
    assert problems(result) == {"out_of_range": [0, 3]}


def test_integers() -> None:
    result = run(["42", "-7", "3.0", "3.5", "12345678901234567890"], type="integer")
    assert result.values.to_pylist() == [42, -7, 3, None, None]
    assert problems(result) == {"invalid_type": [3, 4]}


def test_booleans() -> None:
    result = run(["true", "NO", "1", "maybe"], type="boolean")
    assert result.values.to_pylist() == [True, False, True, None]
    assert problems(result) == {"invalid_type": [3]}


def test_enums_match_exactly_or_ignoring_case() -> None:
    result = run(
        ["granted", "WITHDRAWN", "GRANTED?", "yes"], type="enum", values=("granted", "withdrawn")
    )
    assert result.values.to_pylist() == ["granted", "withdrawn", None, None]
    assert problems(result) == {"not_in_enum": [2, 3]}


def test_json_fields_must_parse() -> None:
    result = run(['{"a":1}', "[1,2]", "{broken"], type="json")
    assert problems(result) == {"invalid_type": [2]}


# --- length ------------------------------------------------------------------------------


def test_a_10_mb_value_is_too_long_not_a_crash() -> None:
    huge = "x" * 10_000_000
    started = time.perf_counter()
    for field_type in ("string", "name", "email", "phone", "timestamp", "decimal"):
        result = run(["ok@example.com", huge], type=field_type)
        assert "too_long" in result.problems and result.problems["too_long"].tolist() == [
            False,
            True,
        ]
        assert result.values.to_pylist()[1] is None
    assert time.perf_counter() - started < 5


def test_max_length_counts_characters() -> None:
    result = run(["é" * 5, "é" * 6], type="string", max_length=5)
    assert problems(result) == {"too_long": [1]}


# --- long columns repeating few values ---------------------------------------------------

_POOLS: dict[str, tuple[dict[str, Any], list[str | None]]] = {
    "string": ({"max_length": 8}, ["a", " b ", "", None, "c" * 9, "\u00a0d"]),
    "name": ({}, ["  Jean \t Luc ", "ﬁona", "Ｊｏｓé", None, "   "]),
    "text": ({}, ["ﬁ", "plain", None, ""]),
    "email": ({}, [" Ada@Example.COM", "bob@", "x@y.io", None, ""]),
    "country": ({}, ["GB", " uk", "Deutschland", "Atlantis", None]),
    "currency": ({}, ["EUR", "eur ", "Pound Sterling", "XXX?", None]),
    "timestamp": (
        {},
        [
            "2026-11-23T10:00:00Z",
            "2026-02-30T10:00:00Z",  # no such day
            "2026-11-23 10:00:00",  # no zone
            "2026-11-23T10:00:00.1234567+01:00",
            "0000-01-01T00:00:00Z",
            "soon",
            None,
        ],
    ),
    "date": ({}, ["2026-11-23", "2026-02-29", "2024-02-29", "23/11/2026", None]),
    "integer": ({"minimum": 0}, ["42", "4.0", "-1", "1e3", "x", None]),
    "decimal": ({"maximum": 100}, ["9.99", "1e400", "-0.5", ".5", "101", "NaN", None]),
    "boolean": ({}, ["yes", "N", "maybe", None]),
    "enum": ({"values": ["open", "paid"]}, ["open", "OPEN", "Paid", "closed", None]),
    "json": ({}, ['{"a": 1}', "[1,", "null", None]),
}


@pytest.mark.parametrize("kind", sorted(_POOLS))
def test_a_long_repetitive_column_standardises_as_row_by_row(kind: str) -> None:
    """Done once per distinct value, the outcome is the one each row would get on its own."""
    spec_args, pool = _POOLS[kind]
    spec = FieldSpec(name="f", type=kind, **spec_args)
    rng = np.random.default_rng(5)
    column = pa.array([pool[i] for i in rng.integers(0, len(pool), 20_000)], pa.string())
    assert _repetitive(column)  # the path under test is taken
    whole = standardise_field(column, spec)
    pieces = [
        standardise_field(column.slice(start, 4_000), spec) for start in range(0, 20_000, 4_000)
    ]
    assert not any(_repetitive(column.slice(start, 4_000)) for start in range(0, 20_000, 4_000))
    assert whole.values.type == pieces[0].values.type
    assert whole.values.to_pylist() == pa.concat_arrays([p.values for p in pieces]).to_pylist()
    if whole.original is not None:
        assert whole.original.equals(column)
    assert whole.missing.tolist() == np.concatenate([p.missing for p in pieces]).tolist()
    codes = {code for piece in pieces for code in piece.problems}
    assert set(whole.problems) == codes
    for code in codes:
        expected = np.concatenate(
            [p.problems.get(code, np.zeros(len(p.missing), dtype=bool)) for p in pieces]
        )
        assert whole.problems[code].tolist() == expected.tolist(), code


def test_a_long_column_of_distinct_values_is_not_dictionary_encoded() -> None:
    column = pa.array([f"id-{i}" for i in range(20_000)], pa.string())
    assert not _repetitive(column)
    assert not _repetitive(pa.array(["GB"] * 100, pa.string()))  # short: not worth it
