"""The fictional subscription business: its people, their behaviour and whether they churn.

Everything is columnar: one numpy array per attribute, one element per person (or record,
transaction, ticket, event). A person's latent ``risk`` drives the behaviour the sources show
(failed payments, cancel and negative tickets, fading web activity); churn is then drawn from a
logistic function of that observed behaviour, plan and tenure, so a model can learn it.
Behaviour is simulated up to each person's churn *horizon*; churners leave at the horizon
and everything they would have done later is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aimsight.demo._io import DAY
from aimsight.demo._pools import CURRENCIES, Pools, ascii_slug, phone_numbers, time_zones
from aimsight.demo._text import INTENTS

__all__ = [
    "PLANS",
    "PRICES",
    "Behaviour",
    "People",
    "decide_churn",
    "draw_people",
    "simulate_behaviour",
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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result


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
    nsn: list[str]
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
    def person_ids(self) -> list[str]:
        """Stable ground-truth ids ``P0000001`` ..."""
        return [f"P{i + 1:07d}" for i in range(self.n)]


def make_email(pools: Pools, first: int, last: int, style: int, number: int, domain: int) -> str:
    """An e-mail address built the ways people build theirs."""
    f, la = ascii_slug(pools.first[first]) or "x", ascii_slug(pools.last[last]) or "y"
    local = (
        f"{f}.{la}",
        f"{f}{la}",
        f"{f[0]}.{la}",
        f"{f}_{la}{number % 100}",
        f"{f}.{la}{number}",
        f"{f}{la[0]}{number}",
        f"{la}.{f}",
    )[style % 7]
    return f"{local}@{pools.domains[domain]}"


def draw_people(
    rng: np.random.Generator,
    pools: Pools,
    n: int,
    *,
    country_weights: np.ndarray,
    plan_weights: np.ndarray,
    start: int,
    end: int,
) -> People:
    """Draw ``n`` people: identity, address, plan, sign-up time and latent behaviour."""
    country = rng.choice(country_weights.size, size=n, p=country_weights)
    first = pools.sample(rng, pools.first_start, country)
    last = pools.sample(rng, pools.last_start, country)
    domain = pools.sample(rng, pools.domain_start, country)
    style = rng.integers(0, 7, size=n)
    number = rng.integers(1, 1000, size=n)
    email = [
        make_email(pools, f, la, s, k, d)
        for f, la, s, k, d in zip(
            first.tolist(),
            last.tolist(),
            style.tolist(),
            number.tolist(),
            domain.tolist(),
            strict=True,
        )
    ]
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
        nsn=phone_numbers(rng, pools.countries, country),
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


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and 0-based rank within owner for ``counts[i]`` items per owner."""
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - first[owner]


@dataclass
class Behaviour:
    """Transactions, tickets and web events per person, before churners are cut off."""

    txn_person: np.ndarray
    txn_ts: np.ndarray
    txn_type: np.ndarray  # 0 payment, 1 refund, 2 failed
    tkt_person: np.ndarray
    tkt_ts: np.ndarray
    tkt_intent: np.ndarray
    tkt_sentiment: np.ndarray
    evt_person: np.ndarray
    evt_ts: np.ndarray


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
    events_per_customer: float,
) -> Behaviour:
    """Payments, tickets and web events from sign-up to the end of the period."""
    risk = people.risk
    # Monthly payments; a riskier person's payments fail more often, most are retried.
    months = ((end - people.signup) // MONTH).astype(np.int64) + 1
    owner, rank = _expand(months)
    ts = (
        people.signup[owner]
        + (rank * MONTH).astype(np.int64)
        + rng.integers(0, 6 * 3600, owner.size)
    )
    failed = rng.random(owner.size) < _sigmoid(-3.4 + 0.9 * risk[owner])
    kind = np.where(failed, 2, 0)
    retry = failed & (rng.random(owner.size) < 0.75)
    retry_ts = ts[retry] + rng.integers(2 * DAY, 6 * DAY, int(retry.sum()))
    refund = (~failed) & (rng.random(owner.size) < 0.015)
    refund_ts = ts[refund] + rng.integers(DAY, 20 * DAY, int(refund.sum()))
    txn_person = np.concatenate([owner, owner[retry], owner[refund]])
    txn_ts = np.concatenate([ts, retry_ts, refund_ts])
    txn_type = np.concatenate(
        [kind, np.zeros(int(retry.sum()), np.int64), np.ones(int(refund.sum()), np.int64)]
    )
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
    # Web and app events; activity fades by ``decline`` in the months before the horizon.
    mean_years = float(years.mean()) or 1.0
    counts = rng.poisson(events_per_customer * people.activity * years / mean_years)
    e_owner, _ = _expand(counts)
    e_ts = people.signup[e_owner] + (
        rng.random(e_owner.size) * (end - people.signup[e_owner])
    ).astype(np.int64)
    fading = e_ts >= people.horizon[e_owner] - DECLINE_WINDOW
    dropped = fading & (rng.random(e_owner.size) < people.decline[e_owner])
    return Behaviour(
        txn_person=txn_person[keep],
        txn_ts=txn_ts[keep],
        txn_type=txn_type[keep],
        tkt_person=t_owner,
        tkt_ts=t_ts,
        tkt_intent=intent,
        tkt_sentiment=sentiment,
        evt_person=e_owner[~dropped],
        evt_ts=e_ts[~dropped],
    )


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
