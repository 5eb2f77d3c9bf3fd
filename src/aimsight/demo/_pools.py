"""Per-country pools of names, streets, cities, e-mail domains, phones and time zones.

Names are drawn the way real populations carry them: a few very common names and a long tail.
Each country's pool holds *all* first and last names of its Faker locale, with a weight each:

* where the locale ships real frequencies (``en_US`` first and last names, ``en_GB`` last
  names: ``OrderedDict`` name -> weight), those weights are used as they are;
* where it ships a plain list, names get a Zipf-like weight by rank,
  ``1 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT`` (rank 1 the most common). Lists that Faker
  orders by frequency (``en_GB`` first names, ``fr_FR`` last names) are ranked in their own
  order; alphabetical lists are ranked by a short head of each country's most common names
  (from national name statistics, added when Faker lacks them, see ``_COMMON``) followed by the
  rest in a fixed pseudo-random order (a hash of the name, so it never depends on the seed).
  With an offset of 5 the most common name is about 2.5 times as frequent as the tenth, as in
  the real ``en_US`` weights.

First-name pools mix the male and female lists half and half. Streets, cities and postcodes
come from a seeded Faker (a few hundred calls per country, never one per row); rows then
sample pool indices with numpy, which keeps millions of customers fast and the bytes
deterministic.
"""

from __future__ import annotations

import hashlib
import importlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from aimsight.demo._io import by_group

__all__ = [
    "BUSINESS_LOCALS",
    "COUNTRIES",
    "NICKNAMES",
    "PHONE_STYLES",
    "ZIPF_EXPONENT",
    "ZIPF_OFFSET",
    "Pools",
    "ascii_slug",
    "build_pools",
    "business_domains",
    "e164",
    "format_phone",
    "format_phones",
    "name_weights",
    "phone_numbers",
    "time_zones",
    "zipf_weights",
]

COUNTRIES: dict[str, str] = {
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "NL": "nl_NL",
}
CURRENCIES: dict[str, str] = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR"}
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 5.0

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


def _split(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


# Plain Faker lists already in order of frequency (most common first).
_BY_FREQUENCY = {
    ("en_GB", "first_names_male"),
    ("en_GB", "first_names_female"),
    ("fr_FR", "last_names"),
}
# The most common names of the adult population, most common first (approximate ranks from
# the national statistics offices' name counts), for locales whose Faker list is alphabetical.
_COMMON: dict[tuple[str, str], tuple[str, ...]] = {
    ("de_DE", "first_names_male"): _split(
        "Peter, Michael, Thomas, Andreas, Wolfgang, Klaus, Jürgen, Stefan, Christian, "
        "Uwe, Werner, Frank, Hans, Bernd, Markus, Matthias, Alexander, Daniel, Martin, "
        "Jörg, Dieter, Torsten, Sebastian, Jan"
    ),
    ("de_DE", "first_names_female"): _split(
        "Sabine, Ursula, Petra, Monika, Susanne, Claudia, Andrea, Gabriele, Birgit, "
        "Stefanie, Karin, Nicole, Julia, Sandra, Anna, Christina, Katharina, Martina, "
        "Renate, Heike, Angelika, Anja, Tanja, Kerstin"
    ),
    ("de_DE", "last_names"): _split(
        "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
        "Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, "
        "Schwarz, Zimmermann, Braun, Krüger, Hofmann, Hartmann"
    ),
    ("fr_FR", "first_names_male"): _split(
        "Jean, Philippe, Michel, Alain, Patrick, Nicolas, Christophe, Pierre, Christian, "
        "Éric, Frédéric, Laurent, Stéphane, David, Pascal, Daniel, Sébastien, Julien, "
        "Thierry, Olivier, Bernard, Thomas, Alexandre, Jacques"
    ),
    ("fr_FR", "first_names_female"): _split(
        "Marie, Nathalie, Isabelle, Sylvie, Catherine, Martine, Christine, Françoise, "
        "Valérie, Sandrine, Stéphanie, Véronique, Sophie, Céline, Chantal, Patricia, "
        "Anne, Brigitte, Julie, Monique, Aurélie, Nicole"
    ),
    ("nl_NL", "first_names_male"): _split(
        "Jan, Johannes, Peter, Hendrik, Cornelis, Willem, Dirk, Gerrit, Pieter, Jacobus, "
        "Thomas, Daan, Bas, Mark, Dennis, Kevin, Sander, Robert, Martin, Marco, Henk, "
        "Erik, Ruud, Jeroen"
    ),
    ("nl_NL", "first_names_female"): _split(
        "Maria, Anna, Johanna, Elisabeth, Cornelia, Sandra, Linda, Monique, Patricia, "
        "Anne, Lisa, Sanne, Laura, Emma, Petra, Esther, Marieke, Ingrid, Femke, Kim, "
        "Anouk, Iris, Sophie, Julia"
    ),
    ("nl_NL", "last_names"): _split(
        "de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, "
        "Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, "
        "van Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, de Graaf"
    ),
}
# Personal mailbox providers and their rough shares of consumer addresses.
_DOMAINS_COMMON = (
    ("gmail.com", 0.3),
    ("outlook.com", 0.1),
    ("yahoo.com", 0.07),
    ("hotmail.com", 0.1),
    ("icloud.com", 0.07),
)
_DOMAINS: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (("aol.com", 0.06), ("comcast.net", 0.06), ("protonmail.com", 0.02)),
    "GB": (("btinternet.com", 0.07), ("sky.com", 0.05), ("yahoo.co.uk", 0.05)),
    "DE": (("web.de", 0.12), ("gmx.de", 0.12), ("t-online.de", 0.06)),
    "FR": (("orange.fr", 0.1), ("free.fr", 0.08), ("laposte.net", 0.05)),
    "NL": (("ziggo.nl", 0.07), ("kpnmail.nl", 0.05), ("xs4all.nl", 0.03)),
}
# Small businesses whose one mailbox or phone several unrelated customers give.
_TRADES: dict[str, tuple[str, ...]] = {
    "US": ("plumbing", "dental", "law", "consulting", "design", "builders", "motors", "realty"),
    "GB": ("plumbing", "dental", "solicitors", "consulting", "design", "builders", "motors"),
    "DE": ("bau", "elektro", "immobilien", "steuerberatung", "zahnarzt", "design", "autohaus"),
    "FR": ("conseil", "immobilier", "plomberie", "avocats", "design", "garage", "voyages"),
    "NL": ("advies", "bouw", "installatie", "makelaardij", "tandarts", "design", "reizen"),
}
_TLD = {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "NL": "nl"}
BUSINESS_LOCALS: dict[str, tuple[str, ...]] = {
    "US": ("info", "office", "contact", "hello", "admin"),
    "GB": ("info", "office", "contact", "hello", "enquiries"),
    "DE": ("info", "office", "kontakt", "buero", "mail"),
    "FR": ("contact", "info", "accueil", "bureau", "secretariat"),
    "NL": ("info", "kantoor", "contact", "administratie", "post"),
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
# Landline area codes (without the trunk 0) for shops' and offices' numbers.
_GB_AREAS = (1223, 1865, 1273, 1224, 1392, 1482, 1603, 1752, 1904, 1132, 1162, 1142)
_DE_AREAS = (201, 211, 221, 228, 231, 341, 351, 421, 511, 611, 711, 911)
_FR_AREAS = (14, 15, 16, 18, 20, 23, 24, 29, 32, 38, 42, 45, 47, 53, 54, 55, 56, 57)
_NL_AREAS = (10, 20, 30, 40, 50, 70)
# Digits of the area code or mobile prefix, which every written form keeps together.
_HEAD = {"US": 3, "GB": 4, "DE": 3, "FR": 1, "NL": 1}
PHONE_STYLES = 5
_Piece = str | tuple[int, int]


_TRANSLITERATE = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (for e-mail local parts and domains).

    German umlauts become two letters (Müller -> mueller), as Germans write them in addresses;
    other accents are dropped (Éric -> eric).
    """
    lowered = text.lower().translate(_TRANSLITERATE)
    folded = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded if ch.isalnum())


def zipf_weights(count: int) -> np.ndarray:
    """Zipf-like weights of ranks 1..count: ``1 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT``."""
    ranks = np.arange(1, count + 1, dtype=float)
    weights: np.ndarray = 1.0 / (ranks + ZIPF_OFFSET) ** ZIPF_EXPONENT
    return weights


def _stable_key(name: str) -> bytes:
    return hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()


def name_weights(locale: str, attr: str) -> dict[str, float]:
    """Every name of a Faker person list (``first_names_male``, ...) with its share (sum 1).

    Real weights where Faker has them, else Zipf-like weights by rank (see the module doc).
    """
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    names: Sequence[str] | Mapping[str, float] = getattr(provider, attr)
    weights: dict[str, float] = {}
    if isinstance(names, Mapping):
        for name, weight in names.items():
            if name:
                weights[name] = weights.get(name, 0.0) + float(weight)
    else:
        ranked = list(dict.fromkeys(name for name in names if name))
        if (locale, attr) not in _BY_FREQUENCY:
            head = _COMMON.get((locale, attr), ())
            common = set(head)
            rest = [name for name in ranked if name not in common]
            ranked = [*head, *sorted(rest, key=_stable_key)]
        weights = dict(zip(ranked, zipf_weights(len(ranked)).tolist(), strict=True))
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()}


def _first_names(country: str) -> dict[str, float]:
    """Male and female first names, half the weight each, plus the formal names nicknames need."""
    locale = COUNTRIES[country]
    pool: dict[str, float] = {}
    for attr in ("first_names_male", "first_names_female"):
        for name, weight in name_weights(locale, attr).items():
            pool[name] = pool.get(name, 0.0) + 0.5 * weight
    median = float(np.median(np.array(list(pool.values()))))
    male, female = _FORMAL[country]
    for name in (*male, *female):
        pool.setdefault(name, median)
    return pool


@dataclass(frozen=True)
class Pools:
    """Value pools for every supported country, concatenated with per-country offsets.

    ``first[first_start[c]:first_start[c+1]]`` are country ``c``'s first names, and so on.
    ``*_cdf`` hold each country's cumulative shares plus the country index (``c < cdf <= c+1``),
    so one ``searchsorted`` draws weighted names for every country at once.
    """

    countries: tuple[str, ...]
    first: list[str]
    first_start: np.ndarray
    first_cdf: np.ndarray
    last: list[str]
    last_start: np.ndarray
    last_cdf: np.ndarray
    streets: list[str]
    street_start: np.ndarray
    cities: list[str]
    city_start: np.ndarray
    postcodes: list[str]
    postcode_start: np.ndarray
    domains: list[str]
    domain_start: np.ndarray
    domain_cdf: np.ndarray
    first_slug: list[str]
    last_slug: list[str]

    def sample(
        self, rng: np.random.Generator, starts: np.ndarray, country: np.ndarray
    ) -> np.ndarray:
        """Draw one index per row, uniformly from the pool slice of that row's country."""
        low = starts[country]
        size = starts[country + 1] - low
        drawn: np.ndarray = low + (rng.random(country.size) * size).astype(np.int64)
        return drawn

    def sample_weighted(
        self, rng: np.random.Generator, starts: np.ndarray, cdf: np.ndarray, country: np.ndarray
    ) -> np.ndarray:
        """Draw one index per row from that row's country slice, in proportion to the weights."""
        drawn = np.searchsorted(cdf, country + rng.random(country.size), side="right")
        clipped: np.ndarray = np.minimum(drawn, starts[country + 1] - 1)
        return clipped


def _unique(values: list[str], limit: int) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))[:limit]


def _starts(lengths: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _cdf(weights: list[list[float]]) -> np.ndarray:
    parts = []
    for index, values in enumerate(weights):
        cumulative = np.cumsum(np.asarray(values, dtype=float))
        cumulative /= cumulative[-1]
        cumulative[-1] = 1.0
        parts.append(index + cumulative)
    return np.concatenate(parts)


def build_pools(
    countries: tuple[str, ...], seed: int, size: int = 300, addresses: int | None = None
) -> Pools:
    """Every name of each country's locale with its weight; cities (``size // 2``), streets
    and postcodes (``addresses`` each, default ``size``) drawn once from a Faker seeded
    with ``seed``.

    Callers scale ``addresses`` with the population: a real postcode holds a few dozen
    people, so a million people on 300 postcodes would make neighbours of strangers.
    """
    places = addresses or size
    first: list[dict[str, float]] = []
    last: list[dict[str, float]] = []
    streets: list[list[str]] = []
    cities: list[list[str]] = []
    postcodes: list[list[str]] = []
    domains: list[tuple[tuple[str, float], ...]] = []
    for index, country in enumerate(countries):
        fake = Faker(COUNTRIES[country])
        fake.seed_instance(seed * 31 + index)
        first.append(_first_names(country))
        last.append(name_weights(COUNTRIES[country], "last_names"))
        streets.append(_unique([fake.street_name() for _ in range(places)], places))
        cities.append(_unique([fake.city() for _ in range(size // 2)], size))
        postcodes.append(_unique([fake.postcode() for _ in range(places)], places))
        domains.append((*_DOMAINS_COMMON, *_DOMAINS[country]))
    first_names = [name for pool in first for name in pool]
    last_names = [name for pool in last for name in pool]
    return Pools(
        countries=countries,
        first=first_names,
        first_start=_starts([len(p) for p in first]),
        first_cdf=_cdf([list(p.values()) for p in first]),
        last=last_names,
        last_start=_starts([len(p) for p in last]),
        last_cdf=_cdf([list(p.values()) for p in last]),
        streets=[v for pool in streets for v in pool],
        street_start=_starts([len(p) for p in streets]),
        cities=[v for pool in cities for v in pool],
        city_start=_starts([len(p) for p in cities]),
        postcodes=[v for pool in postcodes for v in pool],
        postcode_start=_starts([len(p) for p in postcodes]),
        domains=[name for pool in domains for name, _ in pool],
        domain_start=_starts([len(p) for p in domains]),
        domain_cdf=_cdf([[weight for _, weight in pool] for pool in domains]),
        first_slug=[ascii_slug(name) or "x" for name in first_names],
        last_slug=[ascii_slug(name) or "y" for name in last_names],
    )


def business_domains(rng: np.random.Generator, pools: Pools, country: np.ndarray) -> list[str]:
    """A distinct small-business domain per row: a family name and a trade (mueller-bau.de)."""
    last = pools.sample_weighted(rng, pools.last_start, pools.last_cdf, country)
    trade_draw = rng.random(country.size)
    hyphen = rng.random(country.size) < 0.5
    number = rng.integers(2, 100, size=country.size)
    taken: set[str] = set()
    out: list[str] = []
    for i, c in enumerate(country.tolist()):
        code = pools.countries[c]
        trades = _TRADES[code]
        label = ascii_slug(pools.last[last[i]]) or "firm"
        name = label + ("-" if hyphen[i] else "") + trades[int(trade_draw[i] * len(trades))]
        domain, k = f"{name}.{_TLD[code]}", int(number[i])
        while domain in taken:
            domain, k = f"{name}{k}.{_TLD[code]}", k + 1
        taken.add(domain)
        out.append(domain)
    return out


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


def _pick(rng: np.random.Generator, values: tuple[int, ...], count: int) -> np.ndarray:
    return rng.choice(np.array(values, dtype=np.int64), size=count)


def phone_numbers(
    rng: np.random.Generator,
    countries: tuple[str, ...],
    country: np.ndarray,
    *,
    landline: bool = False,
) -> np.ndarray:
    """A valid national significant number per row (its digits as an integer, never 0).

    Mobiles by default; ``landline`` gives shop and office numbers (area code and line).
    """
    out = np.zeros(country.size, dtype=np.int64)
    for index, code in enumerate(countries):
        rows = np.flatnonzero(country == index)
        n = rows.size
        if code == "US":
            exchange = rng.integers(200, 1000, size=n)
            exchange[(exchange % 100 == 11) | (exchange == 555)] = 234
            numbers = _pick(rng, _US_AREAS, n) * 10**7 + exchange * 10**4 + _digits(rng, n, 4)
        elif code == "GB":
            numbers = _pick(rng, _GB_AREAS if landline else _GB_PREFIXES, n) * 10**6
            numbers += _digits(rng, n, 6)
        elif code == "DE" and landline:
            numbers = _pick(rng, _DE_AREAS, n) * 10**7 + _digits(rng, n, 7)
        elif code == "DE":
            which = rng.integers(0, len(_DE_PREFIXES), size=n)
            heads = np.array([head for head, _ in _DE_PREFIXES], dtype=np.int64)[which]
            scale = 10 ** np.array([width for _, width in _DE_PREFIXES], dtype=np.int64)[which]
            numbers = heads * scale + _digits(rng, n, 8) % scale
        elif code == "FR":
            numbers = _pick(rng, _FR_AREAS if landline else _FR_PREFIXES, n) * 10**7
            numbers += _digits(rng, n, 7)
        else:  # NL mobiles 06-1 .. 06-5, landlines 010, 020, ...
            heads = _pick(rng, _NL_AREAS, n) if landline else 60 + rng.integers(1, 6, size=n)
            numbers = heads * 10**7 + _digits(rng, n, 7)
        out[rows] = numbers
    return out


def _head(country: str, nsn: int) -> int:
    """Digits of the prefix: Dutch landlines have two (020), mobiles one (06)."""
    return 2 if country == "NL" and nsn // 10**8 != 6 else _HEAD[country]


def _layouts(country: str, head: int) -> tuple[tuple[_Piece, ...], ...]:
    """The written forms of a national number: literals and (start, stop) digit slices."""
    whole, a, b = (0, 99), (0, head), (head, 99)
    if country == "US":
        x, y, z = (0, 3), (3, 6), (6, 99)
        return (
            ("(", x, ") ", y, "-", z),
            (x, "-", y, "-", z),
            ("+1 ", x, " ", y, " ", z),
            ("+1", whole),
            (x, ".", y, ".", z),
        )
    if country == "GB":
        return (
            ("0", a, " ", b),
            ("+44 ", a, " ", b),
            ("+44", whole),
            ("0", whole),
            ("0044 ", a, " ", b),
        )
    if country == "DE":
        return (
            ("0", a, " ", b),
            ("+49 ", a, " ", b),
            ("0", a, "/", b),
            ("+49", whole),
            ("0049 ", a, " ", b),
        )
    if country == "FR":
        pairs: tuple[_Piece, ...] = ((1, 3), " ", (3, 5), " ", (5, 7), " ", (7, 9))
        dots = tuple("." if piece == " " else piece for piece in pairs)
        return (
            ("0", a, " ", *pairs),
            ("+33 ", a, " ", *pairs),
            ("0", whole),
            ("+33", whole),
            ("0", a, ".", *dots),
        )
    return (
        ("0", a, "-", b),
        ("+31 ", a, " ", b),
        ("0", whole),
        ("+31", whole),
        ("0", a, " ", (head, head + 4), " ", (head + 4, 99)),
    )


def format_phone(country: str, nsn: str, style: int) -> str:
    """Write a national number the way people type it; ``style`` picks one of several forms."""
    if not nsn:
        return ""
    layout = _layouts(country, _head(country, int(nsn)))[style % PHONE_STYLES]
    return "".join(p if isinstance(p, str) else nsn[p[0] : p[1]] for p in layout)


def format_phones(
    countries: tuple[str, ...], country: np.ndarray, nsn: np.ndarray, style: np.ndarray
) -> pa.Array:
    """:func:`format_phone` for whole columns (``nsn`` 0 gives an empty string)."""
    text = pc.cast(pa.array(nsn, pa.int64()), pa.string())
    two_digit_head = np.zeros(nsn.size, dtype=np.int64)
    if "NL" in countries:
        nl = country == countries.index("NL")
        two_digit_head[nl] = nsn[nl] // 10**8 != 6
    key = (country * PHONE_STYLES + style % PHONE_STYLES) * 2 + two_digit_head
    key = np.where(nsn > 0, key, -1)

    def build(group: int, rows: np.ndarray) -> pa.Array:
        if group < 0:
            return pa.array([""] * rows.size, pa.string())
        index, rest = divmod(group, PHONE_STYLES * 2)
        style_index, longer = divmod(rest, 2)
        code = countries[index]
        layout = _layouts(code, _HEAD[code] + longer)[style_index]
        part = text.take(rows)
        pieces = [
            p if isinstance(p, str) else pc.utf8_slice_codeunits(part, p[0], p[1]) for p in layout
        ]
        return pc.binary_join_element_wise(*pieces, "")

    return by_group(key, build)


_CALLING_CODES = {"US": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31"}


def e164(country: str, nsn: int) -> str:
    """The international form of a national number (``+442079460000``)."""
    return f"+{_CALLING_CODES[country]}{nsn}"
