"""Per-country pools of names, streets, cities, e-mail domains, phones and time zones.

Faker is called a few thousand times in all (once per pool entry, never per row); rows then
sample pool indices with numpy, which keeps 100,000 customers fast and the bytes deterministic.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
from faker import Faker

__all__ = [
    "COUNTRIES",
    "NICKNAMES",
    "Pools",
    "ascii_slug",
    "build_pools",
    "format_phone",
    "phone_numbers",
    "time_zones",
]

COUNTRIES: dict[str, str] = {
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "NL": "nl_NL",
}
CURRENCIES: dict[str, str] = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR"}

NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Richard": ("Rick", "Rich", "Dick"),
    "James": ("Jim", "Jimmy"),
    "John": ("Johnny", "Jack"),
    "Michael": ("Mike", "Mick"),
    "Elizabeth": ("Liz", "Beth", "Betty"),
    "Katherine": ("Kate", "Kathy"),
    "Catherine": ("Cathy", "Kate"),
    "Margaret": ("Maggie", "Peggy"),
    "Jennifer": ("Jen", "Jenny"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Joseph": ("Joe",),
    "Thomas": ("Tom", "Tommy"),
    "Anthony": ("Tony",),
    "Matthew": ("Matt",),
    "Andrew": ("Andy", "Drew"),
    "Patricia": ("Pat", "Patty"),
    "Susan": ("Sue", "Susie"),
    "Jessica": ("Jess",),
    "Rebecca": ("Becky",),
    "Alexander": ("Alex",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Nicholas": ("Nick",),
    "Timothy": ("Tim",),
    "Steven": ("Steve",),
    "Edward": ("Ed", "Ted"),
    "Charles": ("Charlie",),
    "Victoria": ("Vicky",),
    "David": ("Dave",),
    "Joshua": ("Josh",),
    "Johannes": ("Hannes", "Jan"),
    "Friedrich": ("Fritz",),
    "Katharina": ("Kathi",),
    "Maximilian": ("Max",),
    "Franziska": ("Franzi",),
    "Andreas": ("Andi",),
    "Sebastian": ("Basti",),
    "Tobias": ("Tobi",),
    "Gabriele": ("Gabi",),
    "Susanne": ("Susi",),
    "Nicolas": ("Nico",),
    "Alexandre": ("Alex",),
    "Christophe": ("Chris",),
    "Isabelle": ("Isa",),
    "Emmanuel": ("Manu",),
    "Stéphanie": ("Steph",),
    "Valérie": ("Val",),
    "Hendrik": ("Henk",),
    "Cornelis": ("Kees",),
    "Petrus": ("Piet",),
    "Willem": ("Wim",),
    "Jacobus": ("Koos",),
}
# Formal names with nicknames added to each locale's pool so re-registrations can use them.
_FORMAL: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "US": (
        ("Robert", "William", "Richard", "James", "Michael", "Christopher", "Joseph", "Thomas"),
        ("Elizabeth", "Katherine", "Margaret", "Jennifer", "Patricia", "Susan", "Jessica"),
    ),
    "GB": (
        ("William", "Thomas", "Edward", "Charles", "Samuel", "Benjamin", "Andrew", "David"),
        ("Elizabeth", "Catherine", "Victoria", "Rebecca", "Margaret", "Susan"),
    ),
    "DE": (
        ("Johannes", "Friedrich", "Maximilian", "Andreas", "Sebastian", "Tobias", "Michael"),
        ("Katharina", "Franziska", "Gabriele", "Susanne", "Elizabeth"),
    ),
    "FR": (
        ("Nicolas", "Alexandre", "Christophe", "Emmanuel", "Thomas"),
        ("Isabelle", "Stéphanie", "Valérie", "Catherine"),
    ),
    "NL": (
        ("Hendrik", "Cornelis", "Petrus", "Willem", "Jacobus", "Johannes"),
        ("Elizabeth", "Margaret", "Susan"),
    ),
}
_DOMAINS_COMMON = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
_DOMAINS: dict[str, tuple[str, ...]] = {
    "US": ("aol.com", "comcast.net", "protonmail.com"),
    "GB": ("btinternet.com", "sky.com", "yahoo.co.uk"),
    "DE": ("web.de", "gmx.de", "t-online.de"),
    "FR": ("orange.fr", "free.fr", "laposte.net"),
    "NL": ("ziggo.nl", "kpnmail.nl", "xs4all.nl"),
}
# (standard offset in minutes, weight); all zones here observe daylight saving time.
_ZONES: dict[str, tuple[tuple[int, float], ...]] = {
    "US": ((-300, 0.45), (-360, 0.3), (-420, 0.08), (-480, 0.17)),
    "GB": ((0, 1.0),),
    "DE": ((60, 1.0),),
    "FR": ((60, 1.0),),
    "NL": ((60, 1.0),),
}
_US_AREAS = (201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 512, 617, 702, 713, 718, 801, 917)
_GB_PREFIXES = (7400, 7401, 7411, 7421, 7500, 7510, 7711, 7722, 7801, 7811, 7900, 7912, 7920, 7940)
_DE_PREFIXES = ((151, 8), (152, 8), (157, 8), (160, 7), (162, 7), (170, 7), (171, 7), (176, 7))
_FR_PREFIXES = (60, 61, 62, 64, 65, 66, 67, 68, 73, 75, 76, 77, 78)
PHONE_STYLES = 5


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (for e-mail local parts)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@dataclass(frozen=True)
class Pools:
    """Value pools for every supported country, concatenated with per-country offsets.

    ``first[first_start[c]:first_start[c+1]]`` are country ``c``'s first names, and so on.
    """

    countries: tuple[str, ...]
    first: list[str]
    first_start: np.ndarray
    last: list[str]
    last_start: np.ndarray
    streets: list[str]
    street_start: np.ndarray
    cities: list[str]
    city_start: np.ndarray
    postcodes: list[str]
    postcode_start: np.ndarray
    domains: list[str]
    domain_start: np.ndarray

    def sample(
        self, rng: np.random.Generator, starts: np.ndarray, country: np.ndarray
    ) -> np.ndarray:
        """Draw one index per row from the pool slice of that row's country."""
        low = starts[country]
        size = starts[country + 1] - low
        drawn: np.ndarray = low + (rng.random(country.size) * size).astype(np.int64)
        return drawn


def _unique(values: list[str], limit: int) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))[:limit]


def _starts(lengths: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def build_pools(countries: tuple[str, ...], seed: int, size: int = 300) -> Pools:
    """Draw each country's pools once from a Faker seeded with ``seed``."""
    first: list[list[str]] = []
    last: list[list[str]] = []
    streets: list[list[str]] = []
    cities: list[list[str]] = []
    postcodes: list[list[str]] = []
    domains: list[list[str]] = []
    for index, country in enumerate(countries):
        fake = Faker(COUNTRIES[country])
        fake.seed_instance(seed * 31 + index)
        male, female = _FORMAL[country]
        names = [fake.first_name_male() for _ in range(size // 2)]
        names += [fake.first_name_female() for _ in range(size // 2)]
        first.append(_unique([*male, *female, *names], size))
        last.append(_unique([fake.last_name() for _ in range(size)], size))
        streets.append(_unique([fake.street_name() for _ in range(size)], size))
        cities.append(_unique([fake.city() for _ in range(size // 2)], size))
        postcodes.append(_unique([fake.postcode() for _ in range(size)], size))
        domains.append([*_DOMAINS_COMMON, *_DOMAINS[country]])
    return Pools(
        countries=countries,
        first=[v for pool in first for v in pool],
        first_start=_starts([len(p) for p in first]),
        last=[v for pool in last for v in pool],
        last_start=_starts([len(p) for p in last]),
        streets=[v for pool in streets for v in pool],
        street_start=_starts([len(p) for p in streets]),
        cities=[v for pool in cities for v in pool],
        city_start=_starts([len(p) for p in cities]),
        postcodes=[v for pool in postcodes for v in pool],
        postcode_start=_starts([len(p) for p in postcodes]),
        domains=[v for pool in domains for v in pool],
        domain_start=_starts([len(p) for p in domains]),
    )


def time_zones(
    rng: np.random.Generator, countries: tuple[str, ...], country: np.ndarray
) -> np.ndarray:
    """Standard UTC offset in minutes for each row, drawn from its country's zones."""
    out = np.zeros(country.size, dtype=np.int64)
    for index, code in enumerate(countries):
        rows = np.flatnonzero(country == index)
        offsets = np.array([z[0] for z in _ZONES[code]], dtype=np.int64)
        weights = np.array([z[1] for z in _ZONES[code]])
        out[rows] = rng.choice(offsets, size=rows.size, p=weights / weights.sum())
    return out


def _digits(rng: np.random.Generator, count: int, width: int) -> np.ndarray:
    return rng.integers(0, 10**width, size=count, dtype=np.int64)


def phone_numbers(
    rng: np.random.Generator, countries: tuple[str, ...], country: np.ndarray
) -> list[str]:
    """A valid national significant number (digits only) for each row's country."""
    out = [""] * country.size
    for index, code in enumerate(countries):
        rows = np.flatnonzero(country == index)
        n = rows.size
        if code == "US":
            area = rng.choice(np.array(_US_AREAS), size=n)
            exchange = rng.integers(200, 1000, size=n)
            bad = (exchange % 100 == 11) | (exchange == 555)
            exchange[bad] = 234
            numbers = [
                f"{a}{e}{line:04d}"
                for a, e, line in zip(area, exchange, _digits(rng, n, 4), strict=True)
            ]
        elif code == "GB":
            prefix = rng.choice(np.array(_GB_PREFIXES), size=n)
            numbers = [f"{p}{d:06d}" for p, d in zip(prefix, _digits(rng, n, 6), strict=True)]
        elif code == "DE":
            which = rng.integers(0, len(_DE_PREFIXES), size=n)
            tail = _digits(rng, n, 8)
            numbers = []
            for w, d in zip(which, tail, strict=True):
                head, width = _DE_PREFIXES[w]
                numbers.append(f"{head}{d % 10**width:0{width}d}")
        elif code == "FR":
            lead = rng.choice(np.array(_FR_PREFIXES), size=n)
            numbers = [f"{p}{d:07d}" for p, d in zip(lead, _digits(rng, n, 7), strict=True)]
        else:  # NL mobiles: 06-1 .. 06-5
            lead = rng.integers(1, 6, size=n)
            numbers = [f"6{s}{d:07d}" for s, d in zip(lead, _digits(rng, n, 7), strict=True)]
        for row, number in zip(rows.tolist(), numbers, strict=True):
            out[row] = number
    return out


def format_phone(country: str, nsn: str, style: int) -> str:
    """Write a national number the way people type it; ``style`` picks one of several forms."""
    if not nsn:
        return ""
    style %= PHONE_STYLES
    if country == "US":
        a, e, n = nsn[:3], nsn[3:6], nsn[6:]
        return (
            f"({a}) {e}-{n}",
            f"{a}-{e}-{n}",
            f"+1 {a} {e} {n}",
            f"+1{nsn}",
            f"{a}.{e}.{n}",
        )[style]
    if country == "GB":
        return (
            f"0{nsn[:4]} {nsn[4:]}",
            f"+44 {nsn[:4]} {nsn[4:]}",
            f"+44{nsn}",
            f"0{nsn}",
            f"0044 {nsn[:4]} {nsn[4:]}",
        )[style]
    if country == "DE":
        p, rest = nsn[:3], nsn[3:]
        return (
            f"0{p} {rest}",
            f"+49 {p} {rest}",
            f"0{p}/{rest}",
            f"+49{nsn}",
            f"0049 {p} {rest}",
        )[style]
    if country == "FR":
        pairs = " ".join(nsn[i : i + 2] for i in range(1, 9, 2))
        return (
            f"0{nsn[0]} {pairs}",
            f"+33 {nsn[0]} {pairs}",
            f"0{nsn}",
            f"+33{nsn}",
            f"0{nsn[0]}.{pairs.replace(' ', '.')}",
        )[style]
    return (
        f"0{nsn[0]}-{nsn[1:]}",
        f"+31 {nsn[0]} {nsn[1:]}",
        f"0{nsn}",
        f"+31{nsn}",
        f"0{nsn[0]} {nsn[1:5]} {nsn[5:]}",
    )[style]
