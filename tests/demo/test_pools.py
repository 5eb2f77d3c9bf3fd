"""Name pools weighted by real frequency, and phone numbers written the ways people write them."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from faker.providers.person.en_US import Provider as UsNames

from aimsight.demo._pools import (
    COUNTRIES,
    NICKNAMES,
    PHONE_STYLES,
    ZIPF_OFFSET,
    ascii_slug,
    build_pools,
    format_phone,
    format_phones,
    name_weights,
    phone_numbers,
)

ALL = tuple(COUNTRIES)


def test_real_weights_are_used_where_faker_has_them() -> None:
    weights = name_weights("en_US", "last_names")
    total = sum(UsNames.last_names.values())
    assert weights["Smith"] == pytest.approx(UsNames.last_names["Smith"] / total)
    assert len(weights) == len(UsNames.last_names)


def test_plain_lists_get_zipf_weights_led_by_the_common_names() -> None:
    weights = name_weights("de_DE", "last_names")
    ranked = sorted(weights, key=weights.__getitem__, reverse=True)
    assert ranked[:3] == ["Müller", "Schmidt", "Schneider"]
    ratio = weights[ranked[0]] / weights[ranked[9]]
    assert ratio == pytest.approx((10 + ZIPF_OFFSET) / (1 + ZIPF_OFFSET))
    assert sum(weights.values()) == pytest.approx(1.0)


def test_pools_hold_every_name_of_the_locale_and_the_formal_names_nicknames_need() -> None:
    pools = build_pools(ALL, seed=1)
    for index, code in enumerate(ALL):
        provider = importlib.import_module(f"faker.providers.person.{COUNTRIES[code]}").Provider
        first = set(pools.first[pools.first_start[index] : pools.first_start[index + 1]])
        last = set(pools.last[pools.last_start[index] : pools.last_start[index + 1]])
        assert set(provider.first_names_male) | set(provider.first_names_female) <= first
        assert set(provider.last_names) <= last
    assert len(pools.last) > 3_000 and len(pools.first) > 3_000
    names = set(pools.first)
    assert {"Robert", "Katharina", "Hendrik", "Isabelle"} <= names
    assert all(NICKNAMES[name] for name in ("Robert", "Katharina", "Hendrik", "Isabelle"))


def test_weighted_draws_stay_in_each_rows_country() -> None:
    pools = build_pools(ALL, seed=1)
    rng = np.random.default_rng(3)
    country = rng.integers(0, len(ALL), 50_000)
    drawn = pools.sample_weighted(rng, pools.last_start, pools.last_cdf, country)
    assert np.all(drawn >= pools.last_start[country])
    assert np.all(drawn < pools.last_start[country + 1])
    us = np.bincount(drawn[country == 0])
    assert pools.last[int(np.argmax(us))] == "Smith"


def test_e_mail_slugs_are_ascii_as_people_type_them() -> None:
    assert ascii_slug("Müller") == "mueller"
    assert ascii_slug("Éric") == "eric"
    assert ascii_slug("van den Berg") == "vandenberg"


@pytest.mark.parametrize("landline", [False, True])
def test_phone_columns_match_the_one_number_form_and_are_valid(landline: bool) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    rng = np.random.default_rng(5)
    country = np.repeat(np.arange(len(ALL)), 40)
    nsn = phone_numbers(rng, ALL, country, landline=landline)
    style = np.tile(np.arange(PHONE_STYLES), country.size // PHONE_STYLES)
    nsn[::17] = 0  # no number
    written = format_phones(ALL, country, nsn, style).to_pylist()
    for c, number, s, text in zip(country, nsn, style, written, strict=True):
        assert text == format_phone(ALL[c], str(number) if number else "", int(s))
        if number:
            parsed = phonenumbers.parse(text, ALL[c])
            assert phonenumbers.is_valid_number(parsed), text
            assert parsed.national_number == number
