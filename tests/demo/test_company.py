"""E-mail addresses and phone numbers belong to one holder, as real mailboxes and lines do."""

from __future__ import annotations

import numpy as np

from aimsight.demo._company import Registry, claim_emails, claim_phones


def test_a_taken_address_gets_digits_and_its_holder_keeps_it() -> None:
    registry = Registry()
    rng = np.random.default_rng(1)
    local = ["ann.lee", "ann.lee", "ann.lee", "bo"]
    domain = ["gmail.com"] * 4
    first = claim_emails(registry, rng, local, domain, np.array([0, 1, 0, 2]))
    assert first[0] == first[2] == "ann.lee@gmail.com"  # the same person may reuse hers
    assert first[1] != first[0] and first[1].startswith("ann.lee")
    assert first[1].endswith("@gmail.com") and first[1][7:-10].isdigit()
    again = claim_emails(registry, rng, ["bo", "ann.lee"], domain[:2], np.array([2, 5]))
    assert again[0] == "bo@gmail.com" and again[1] not in first


def test_phone_numbers_are_never_handed_to_two_holders() -> None:
    registry = Registry()
    rng = np.random.default_rng(2)
    countries = ("NL",)
    country = np.zeros(60_000, dtype=np.int64)  # NL mobiles: 5 million numbers, collisions
    numbers = claim_phones(registry, rng, countries, country, np.arange(country.size))
    assert np.unique(numbers).size == numbers.size
    more = claim_phones(registry, rng, countries, country[:1000], np.arange(1000) + 60_000)
    assert not set(more.tolist()) & set(numbers.tolist())
