"""The fictional subscription business: its people, their behaviour and whether they churn.

Everything is columnar: one numpy array per attribute, one element per person (or record,
transaction, ticket, event). A person's latent ``risk`` drives the behaviour the sources show
(failed payments, cancel and negative tickets, fading web activity); churn is then drawn from a
logistic function of that observed behaviour, plan and tenure, so a model can learn it.
Behaviour is simulated up to each person's churn *horizon*; churners leave at the horizon
and everything they would have done later is dropped.

E-mail addresses and phone numbers belong to one person, as real mailboxes and lines do: a
:class:`Registry` hands each out first come, first served, and a person whose derived address
is taken gets digits appended (``john.smith`` -> ``john.smith84``), as mail providers suggest.
The only identifiers several people give are the planted shared ones (:class:`Shared`): a
small business's ``info@`` mailbox or a shop's phone, each given by 2 or more unrelated people.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aimsight.demo._io import DAY, by_group
from aimsight.demo._pools import (
    BUSINESS_LOCALS,
    CURRENCIES,
    Pools,
    business_domains,
    phone_numbers,
    time_zones,
)
from aimsight.demo._text import INTENTS

__all__ = [
    "EMAIL_STYLES",
    "PLANS",
    "PRICES",
    "Behaviour",
    "People",
    "Registry",
    "Shared",
    "claim_emails",
    "claim_phones",
    "decide_churn",
    "draw_people",
    "draw_shared",
    "email_domains",
    "email_locals",
    "simulate_behaviour",
    "simulate_events",
]

PLANS = ("basic", "standard", "premium")
PRICES: dict[str, tuple[str, str, str]] = {
    "USD": ("9.99", "15.99", "22.99"),
    "GBP": ("7.99", "12.99", "18.99"),
    "EUR": ("8.99", "13.99", "19.99"),
}
MONTH = 30.44 * DAY
HORIZON_WINDOW = 365 * DAY
DECLINE_WINDOW = 120 * DAY
# Logistic churn model over observed behaviour (the intercept is calibrated to the base rate).
W_FAILED = 0.9
W_CANCEL = 1.4
W_NEGATIVE = 0.6
W_DECLINE = 3.0
W_TENURE_YEAR = -0.4
W_PLAN = np.array([0.4, 0.0, -0.4])
EMAIL_STYLES = 7
# Shared identifiers: group sizes 2..largest with P(size) proportional to size ** -2.
SHARED_EMAIL_LARGEST = 50
SHARED_PHONE_LARGEST = 20


def _sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result


class Registry:
    """Identifiers handed out so far, each with its one holder (a person or a shared group).

    A holder may claim an identifier it already holds; one held by another is refused. A dict
    keeps the lookups in C (about a microsecond per key even at millions of keys), which no
    vectorised alternative at hand beats once claims arrive in several batches.
    """

    def __init__(self) -> None:
        self._holder: dict[Hashable, int] = {}

    def claim(self, keys: Sequence[Hashable], holders: Sequence[int]) -> np.ndarray:
        """Claim ``keys[i]`` for ``holders[i]`` in order; return the positions refused."""
        take = self._holder.setdefault
        held = [take(key, holder) for key, holder in zip(keys, holders, strict=True)]
        refused: np.ndarray = np.flatnonzero(
            np.asarray(held, dtype=np.int64) != np.asarray(holders, dtype=np.int64)
        )
        return refused


def email_locals(
    pools: Pools, first: np.ndarray, last: np.ndarray, style: np.ndarray, number: np.ndarray
) -> pa.Array:
    """E-mail local parts built the ways people build theirs (``style`` picks one of seven)."""
    f = pa.array(pools.first_slug, pa.string()).take(pa.array(first))
    la = pa.array(pools.last_slug, pa.string()).take(pa.array(last))
    num = pc.cast(pa.array(number, pa.int64()), pa.string())
    short = pc.cast(pa.array(number % 100, pa.int64()), pa.string())

    def build(which: int, rows: np.ndarray) -> pa.Array:
        index = pa.array(rows)
        fr, lr = f.take(index), la.take(index)
        if which == 0:
            return pc.binary_join_element_wise(fr, lr, ".")
        if which == 1:
            return pc.binary_join_element_wise(fr, lr, "")
        if which == 2:
            return pc.binary_join_element_wise(pc.utf8_slice_codeunits(fr, 0, 1), lr, ".")
        if which == 3:
            return pc.binary_join_element_wise(fr, "_", lr, short.take(index), "")
        if which == 4:
            return pc.binary_join_element_wise(fr, ".", lr, num.take(index), "")
        if which == 5:
            initial = pc.utf8_slice_codeunits(lr, 0, 1)
            return pc.binary_join_element_wise(fr, initial, num.take(index), "")
        return pc.binary_join_element_wise(lr, fr, ".")

    return by_group(style % EMAIL_STYLES, build)


def email_domains(pools: Pools, domain: np.ndarray) -> pa.Array:
    """The mailbox provider of each row (``domain`` indexes ``pools.domains``)."""
    return pa.array(pools.domains, pa.string()).take(pa.array(domain))


def claim_emails(
    registry: Registry,
    rng: np.random.Generator,
    local: pa.Array | Sequence[str],
    domain: pa.Array | Sequence[str],
    holder: np.ndarray,
) -> list[str]:
    """``local@domain`` per row, made free where another holder has it.

    A refused address gets digits appended to its local part (two, then more on each retry),
    as mail providers suggest, until the registry accepts it.
    """
    local, domain = pa.array(local, pa.string()), pa.array(domain, pa.string())
    address: list[str] = pc.binary_join_element_wise(local, domain, "@").to_pylist()
    rows = registry.claim(address, holder.tolist())
    width = 2
    while rows.size:
        digits = rng.integers(1, 10**width, size=rows.size).tolist()
        index = pa.array(rows)
        retry = [
            f"{lp}{d}@{dom}"
            for lp, d, dom in zip(
                local.take(index).to_pylist(), digits, domain.take(index).to_pylist(), strict=True
            )
        ]
        for r, value in zip(rows.tolist(), retry, strict=True):
            address[r] = value
        rows = rows[registry.claim(retry, holder[rows].tolist())]
        width = min(width + 1, 8)
    return address


def _phone_keys(country: np.ndarray, nsn: np.ndarray) -> list[int]:
    keys: list[int] = ((country.astype(np.int64) << 40) + nsn).tolist()
    return keys


def claim_phones(
    registry: Registry,
    rng: np.random.Generator,
    countries: tuple[str, ...],
    country: np.ndarray,
    holder: np.ndarray,
    *,
    landline: bool = False,
) -> np.ndarray:
    """A new number per row that no other holder has (redrawn until the registry accepts it)."""
    nsn = phone_numbers(rng, countries, country, landline=landline)
    rows = registry.claim(_phone_keys(country, nsn), holder.tolist())
    while rows.size:
        nsn[rows] = phone_numbers(rng, countries, country[rows], landline=landline)
        rows = rows[registry.claim(_phone_keys(country[rows], nsn[rows]), holder[rows].tolist())]
    return nsn


@dataclass
class People:
    """One element per true person."""

    n: int
    country: np.ndarray
    tz: np.ndarray
    first: np.ndarray
    last: np.ndarray
    birth: np.ndarray
    email: list[str]
    nsn: np.ndarray  # national number as an integer
    phone_style: np.ndarray
    street: np.ndarray
    house: np.ndarray
    city: np.ndarray
    postcode: np.ndarray
    signup: np.ndarray
    plan: np.ndarray
    risk: np.ndarray
    horizon: np.ndarray
    decline: np.ndarray
    activity: np.ndarray

    @property
    def person_ids(self) -> pa.Array:
        """Stable ground-truth ids ``P0000001`` ... (one per person)."""
        numbers = pc.cast(pa.array(np.arange(1, self.n + 1, dtype=np.int64)), pa.string())
        return pc.binary_join_element_wise("P", pc.utf8_lpad(numbers, 7, "0"), "")


def draw_people(
    rng: np.random.Generator,
    pools: Pools,
    n: int,
    *,
    country_weights: np.ndarray,
    plan_weights: np.ndarray,
    start: int,
    end: int,
    emails: Registry,
    phones: Registry,
) -> People:
    """Draw ``n`` people: identity, address, plan, sign-up time and latent behaviour.

    Names are drawn by their real frequency; each person's e-mail address and phone number
    are claimed in ``emails`` and ``phones`` so no two people share one.
    """
    country = rng.choice(country_weights.size, size=n, p=country_weights)
    first = pools.sample_weighted(rng, pools.first_start, pools.first_cdf, country)
    last = pools.sample_weighted(rng, pools.last_start, pools.last_cdf, country)
    domain = pools.sample_weighted(rng, pools.domain_start, pools.domain_cdf, country)
    style = rng.integers(0, EMAIL_STYLES, size=n)
    number = rng.integers(1, 1000, size=n)
    holder = np.arange(n)
    email = claim_emails(
        emails,
        rng,
        email_locals(pools, first, last, style, number),
        email_domains(pools, domain),
        holder,
    )
    nsn = claim_phones(phones, rng, pools.countries, country, holder)
    signup = rng.integers(start, end - 60 * DAY, size=n)
    lo = np.maximum(signup + 60 * DAY, end - HORIZON_WINDOW)
    horizon = lo + (rng.random(n) * (end - lo)).astype(np.int64)
    risk = rng.standard_normal(n)
    decline = np.clip(_sigmoid(1.5 * risk - 1.8 + 0.7 * rng.standard_normal(n)), 0.0, 0.95)
    return People(
        n=n,
        country=country,
        tz=time_zones(rng, pools.countries, country),
        first=first,
        last=last,
        birth=rng.integers(-9_131, 13_514, size=n),  # 1945-01-01 .. 2006-12-31
        email=email,
        nsn=nsn,
        phone_style=rng.integers(0, 5, size=n),
        street=pools.sample(rng, pools.street_start, country),
        house=rng.integers(1, 200, size=n),
        city=pools.sample(rng, pools.city_start, country),
        postcode=pools.sample(rng, pools.postcode_start, country),
        signup=signup,
        plan=rng.choice(plan_weights.size, size=n, p=plan_weights),
        risk=risk,
        horizon=horizon,
        decline=decline,
        activity=np.exp(0.7 * rng.standard_normal(n) - 0.245),
    )


@dataclass
class Shared:
    """Identifiers several unrelated people give instead of their own.

    ``email_group[i]`` is the index in ``emails`` of the shared address person ``i`` gives
    (-1: none), likewise ``phone_group`` and ``phones`` (national numbers of the groups'
    countries, ``phone_country``).
    """

    email_group: np.ndarray
    emails: list[str]
    phone_group: np.ndarray
    phones: np.ndarray
    phone_country: np.ndarray


def _groups(
    rng: np.random.Generator, country: np.ndarray, share: float, largest: int
) -> np.ndarray:
    """Group index per person (-1: none): about ``share`` of people, in groups of 2..largest
    people of one country, sizes drawn with P(size) proportional to size ** -2."""
    out = np.full(country.size, -1, dtype=np.int64)
    k = round(share * country.size)
    if k < 2:
        return out
    chosen = np.sort(rng.choice(country.size, size=k, replace=False))
    sizes = np.arange(2, largest + 1)
    weights = sizes**-2.0
    groups = 0
    for index in range(int(country.max()) + 1):
        members = rng.permutation(chosen[country[chosen] == index])
        drawn = rng.choice(sizes, size=members.size // 2 + 1, p=weights / weights.sum())
        bounds = np.concatenate([[0], np.cumsum(drawn)])
        bounds = bounds[bounds <= members.size]
        if members.size - bounds[-1] >= 2:
            bounds = np.append(bounds, members.size)
        used = int(bounds[-1])
        position = np.searchsorted(bounds, np.arange(used), side="right") - 1
        out[members[:used]] = groups + position
        groups += bounds.size - 1
    return out


def draw_shared(
    rng: np.random.Generator,
    pools: Pools,
    people: People,
    *,
    email_share: float,
    phone_share: float,
    emails: Registry,
    phones: Registry,
) -> Shared:
    """Pick who gives a shared address or phone, and make each group's address and number.

    Shared identifiers are claimed in the registries under holders ``n + group``, so no
    person's own address or number can ever be one of them.
    """
    n = people.n
    email_group = _groups(rng, people.country, email_share, SHARED_EMAIL_LARGEST)
    phone_group = _groups(rng, people.country, phone_share, SHARED_PHONE_LARGEST)

    def group_country(group: np.ndarray) -> np.ndarray:
        count = int(group.max()) + 1 if group.size else 0
        out = np.zeros(count, dtype=np.int64)
        member = np.flatnonzero(group >= 0)
        out[group[member]] = people.country[member]
        return out

    e_country = group_country(email_group)
    domains = business_domains(rng, pools, e_country)
    local_draw = rng.random(e_country.size).tolist()
    locals_ = []
    for c, draw in zip(e_country.tolist(), local_draw, strict=True):
        options = BUSINESS_LOCALS[pools.countries[c]]
        locals_.append(options[int(draw * len(options))])
    shared_emails = claim_emails(emails, rng, locals_, domains, n + np.arange(e_country.size))
    p_country = group_country(phone_group)
    shared_phones = claim_phones(
        phones, rng, pools.countries, p_country, n + np.arange(p_country.size), landline=True
    )
    return Shared(
        email_group=email_group,
        emails=shared_emails,
        phone_group=phone_group,
        phones=shared_phones,
        phone_country=p_country,
    )


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and 0-based rank within owner for ``counts[i]`` items per owner."""
    # int32 owners (at most 10,000,000 people) halve the largest arrays of a big run.
    owner = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - first[owner]


@dataclass
class Behaviour:
    """Transactions and tickets per person, before churners are cut off."""

    txn_person: np.ndarray
    txn_ts: np.ndarray
    txn_type: np.ndarray  # 0 payment, 1 refund, 2 failed
    tkt_person: np.ndarray
    tkt_ts: np.ndarray
    tkt_intent: np.ndarray
    tkt_sentiment: np.ndarray


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    draws = rng.random((probs.shape[0], 1))
    chosen: np.ndarray = np.minimum((draws > cumulative).sum(axis=1), probs.shape[1] - 1)
    return chosen


def simulate_behaviour(
    rng: np.random.Generator,
    people: People,
    *,
    end: int,
    tickets_per_year: float,
) -> Behaviour:
    """Payments and tickets from sign-up to the end of the period (what churn depends on)."""
    risk = people.risk
    # Monthly payments; a riskier person's payments fail more often, most are retried. One
    # uniform draw decides all three: given ``u < p``, ``u / p`` is again uniform (retry),
    # and given ``u >= p``, ``(u - p) / (1 - p)`` is (refund).
    months = ((end - people.signup) // MONTH).astype(np.int64) + 1
    owner, rank = _expand(months)
    ts = (
        people.signup[owner]
        + (rank * MONTH).astype(np.int64)
        + rng.integers(0, 6 * 3600, owner.size)
    )
    del rank
    fail_p = _sigmoid(-3.4 + 0.9 * risk)[owner]
    u = rng.random(owner.size)
    failed = u < fail_p
    retry = failed & (u < 0.75 * fail_p)
    refund = ~failed & (u - fail_p < 0.015 * (1.0 - fail_p))
    del u, fail_p
    kind = np.where(failed, 2, 0).astype(np.int8)
    retry_ts = ts[retry] + rng.integers(2 * DAY, 6 * DAY, int(retry.sum()))
    refund_ts = ts[refund] + rng.integers(DAY, 20 * DAY, int(refund.sum()))
    txn_person = np.concatenate([owner, owner[retry], owner[refund]])
    txn_ts = np.concatenate([ts, retry_ts, refund_ts])
    txn_type = np.concatenate(
        [kind, np.zeros(int(retry.sum()), np.int8), np.ones(int(refund.sum()), np.int8)]
    )
    del owner, ts, kind, failed, retry, refund
    keep = txn_ts < end
    # Support tickets: riskier people write more, more often to cancel and more often angry.
    years = (end - people.signup) / (365.25 * DAY)
    counts = rng.poisson(tickets_per_year * years * np.exp(0.5 * risk - 0.125))
    t_owner, _ = _expand(counts)
    t_ts = people.signup[t_owner] + (
        rng.random(t_owner.size) * (end - people.signup[t_owner])
    ).astype(np.int64)
    base = np.array([0.27, 0.07, 0.26, 0.22, 0.18])
    weights = np.tile(base, (t_owner.size, 1))
    weights[:, INTENTS.index("cancel")] *= np.exp(1.1 * risk[t_owner])
    intent = _categorical(rng, weights)
    negative_bonus = np.array([0.5, 0.9, 0.6, 0.0, -0.7])
    positive_bonus = np.array([-0.3, -0.8, -0.4, 0.2, 0.9])
    scores = np.stack(
        [
            0.9 * risk[t_owner] + negative_bonus[intent],
            np.full(t_owner.size, 0.6),
            -0.6 * risk[t_owner] + positive_bonus[intent],
        ],
        axis=1,
    )
    sentiment = _categorical(rng, np.exp(scores))
    return Behaviour(
        txn_person=txn_person[keep],
        txn_ts=txn_ts[keep],
        txn_type=txn_type[keep],
        tkt_person=t_owner,
        tkt_ts=t_ts,
        tkt_intent=intent,
        tkt_sentiment=sentiment,
    )


def simulate_events(
    rng: np.random.Generator, people: People, *, end: int, events_per_customer: float
) -> tuple[np.ndarray, np.ndarray]:
    """Web and app events (person, time); activity fades by ``decline`` before the horizon."""
    years = (end - people.signup) / (365.25 * DAY)
    mean_years = float(years.mean()) or 1.0
    counts = rng.poisson(events_per_customer * people.activity * years / mean_years)
    e_owner, _ = _expand(counts)
    e_ts = people.signup[e_owner] + (
        rng.random(e_owner.size) * (end - people.signup[e_owner])
    ).astype(np.int64)
    fading = e_ts >= people.horizon[e_owner] - DECLINE_WINDOW
    dropped = fading & (rng.random(e_owner.size) < people.decline[e_owner])
    return e_owner[~dropped], e_ts[~dropped]


@dataclass
class Churn:
    """Who churned, when, with what probability and the observed drivers behind it."""

    churned: np.ndarray
    churned_at: np.ndarray
    probability: np.ndarray
    failed_payments: np.ndarray
    cancel_tickets: np.ndarray
    negative_tickets: np.ndarray
    tenure_days: np.ndarray


def _before_horizon(
    person: np.ndarray, ts: np.ndarray, mask: np.ndarray, people: People
) -> np.ndarray:
    hit = mask & (ts <= people.horizon[person])
    return np.bincount(person[hit], minlength=people.n)


def decide_churn(
    rng: np.random.Generator, people: People, behaviour: Behaviour, base_rate: float
) -> Churn:
    """Draw churn from a logistic function of behaviour up to each person's horizon."""
    b = behaviour
    failed = _before_horizon(b.txn_person, b.txn_ts, b.txn_type == 2, people)
    cancel = _before_horizon(
        b.tkt_person, b.tkt_ts, b.tkt_intent == INTENTS.index("cancel"), people
    )
    negative = _before_horizon(b.tkt_person, b.tkt_ts, b.tkt_sentiment == 0, people)
    tenure = (people.horizon - people.signup) // DAY
    x = (
        W_FAILED * failed
        + W_CANCEL * cancel
        + W_NEGATIVE * negative
        + W_DECLINE * people.decline
        + W_PLAN[people.plan]
        + W_TENURE_YEAR * tenure / 365.25
    )
    low, high = -20.0, 20.0
    for _ in range(60):  # intercept so the mean churn probability is the base rate
        mid = (low + high) / 2
        if float(_sigmoid(mid + x).mean()) < base_rate:
            low = mid
        else:
            high = mid
    probability = _sigmoid((low + high) / 2 + x)
    churned = rng.random(people.n) < probability
    return Churn(
        churned=churned,
        churned_at=people.horizon,
        probability=probability,
        failed_payments=failed,
        cancel_tickets=cancel,
        negative_tickets=negative,
        tenure_days=tenure,
    )


def currency_of(pools: Pools, country: np.ndarray) -> np.ndarray:
    """ISO currency code per row."""
    table = np.array([CURRENCIES[c] for c in pools.countries], dtype=object)
    codes: np.ndarray = table[country]
    return codes
