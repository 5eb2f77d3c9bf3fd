"""``generate_company``: a deterministic, realistic multi-source data set for a fictional
subscription business, with the noise real sources have and a separate ground truth.

Every stage draws from its own numpy ``Generator`` (PCG64, seeded from ``seed`` and the
stage), and Faker only fills small per-country pools, so the same seed gives the same bytes
in every file, and ``parts="identity"`` writes its files exactly as a full run does. Work is
columnar (numpy and Arrow arrays), so a million customers take seconds, not hours.

Names follow real frequencies (see :mod:`aimsight.demo._pools`); each e-mail address and
phone number belongs to one person, except the planted shared ones (a small business's
``info@`` address, a shop's phone) listed in ``ground_truth/shared_identifiers.csv``.
Files written under ``out``::

    crm/customers.csv          one row per CRM record; ~12 % of people registered twice or more
    billing/accounts.csv       the billing system's own accounts, names and e-mails
    billing/transactions.csv   payments, refunds and failed payments
    support/tickets.jsonl      tickets with free text and intent / sentiment labels
    web/events.jsonl           web and app events keyed by anonymous and device ids
    consent/consents.csv       granted / withdrawn per purpose and channel
    ground_truth/persons.csv   true person of every CRM record, billing account and web id
    ground_truth/shared_identifiers.csv
                               every e-mail or phone several people give: kind (email or
                               phone), value (phones in E.164) and persons (space-separated)
    ground_truth/churn.csv     true churn per person with the drivers behind it
    ground_truth/malformed.csv every malformed row planted, with its defect
    manifest.json              seed, config, parts, rows and SHA-256 per file (written last)

With ``parts="identity"`` only the files identity resolution reads are written
(:data:`IDENTITY_FILES`); ``persons.csv`` then lists CRM records and billing accounts only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aimsight.core.errors import InvalidInput
from aimsight.demo._company import (
    EMAIL_STYLES,
    PLANS,
    PRICES,
    Churn,
    People,
    Registry,
    Shared,
    claim_emails,
    claim_phones,
    currency_of,
    decide_churn,
    draw_people,
    draw_shared,
    email_domains,
    email_locals,
    simulate_behaviour,
    simulate_events,
)
from aimsight.demo._io import (
    DAY,
    Column,
    by_group,
    dst_offset,
    iso_date,
    iso_local,
    iso_utc,
    iso_utc_ms,
    replace_rows,
    sha256_of,
    strings,
    write_csv,
    write_lines,
)
from aimsight.demo._noise import BAD_DATES, BAD_EMAILS, nickname, typo
from aimsight.demo._pools import (
    COUNTRIES,
    PHONE_STYLES,
    Pools,
    build_pools,
    e164,
    format_phones,
)
from aimsight.demo._text import INTENTS, SENTIMENTS, render_ticket

__all__ = ["IDENTITY_FILES", "CompanyConfig", "GenerationSummary", "Parts", "generate_company"]

Progress = Callable[[str, int, int], None]
Parts = Literal["all", "identity"]
"""What :func:`generate_company` writes: every source, or only what identity resolution reads."""

MIN_CUSTOMERS = 10
MAX_CUSTOMERS = 10_000_000
STAGES: dict[str, tuple[str, ...]] = {
    "all": (
        "people",
        "behaviour",
        "crm",
        "billing",
        "support",
        "web",
        "consent",
        "ground truth",
        "manifest",
    ),
    "identity": ("people", "behaviour", "crm", "billing", "ground truth", "manifest"),
}
IDENTITY_FILES = (
    "crm/customers.csv",
    "billing/accounts.csv",
    "ground_truth/persons.csv",
    "ground_truth/shared_identifiers.csv",
    "manifest.json",
)
"""Files written with ``parts="identity"``."""
_FULL_ONLY = (
    "billing/transactions.csv",
    "support/tickets.jsonl",
    "web/events.jsonl",
    "consent/consents.csv",
    "ground_truth/churn.csv",
    "ground_truth/malformed.csv",
)
# One independent random stream per stage, so leaving stages out (``parts="identity"``)
# leaves the files of the others byte for byte as a full run writes them.
_STREAMS = (
    "pools",
    "people",
    "shared",
    "behaviour",
    "crm",
    "billing",
    "transactions",
    "support",
    "events",
    "web",
    "consent",
)
CRM_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
    "birth_date",
    "signup_at",
    "plan",
    "updated_at",
    "source_system",
)
"""Columns of ``crm/customers.csv``, in file order."""
_COUNTRY_NAMES = {
    "US": ("United States", "USA"),
    "GB": ("United Kingdom", "UK"),
    "DE": ("Germany", "Deutschland"),
    "FR": ("France", "FRANCE"),
    "NL": ("Netherlands", "Nederland"),
}
_SOURCE_SYSTEMS = ("web_signup", "store_pos", "call_centre", "legacy_import")
_CHANNELS = ("email", "chat", "phone", "web_form")
_EVENT_TYPES = (
    "page_view",
    "search",
    "view_plan",
    "login",
    "add_to_cart",
    "purchase",
    "video_play",
    "logout",
)
_PATHS = ("/", "/browse", "/plans", "/search", "/account", "/help", "/watch", "/checkout")
_UTM = (
    ("google", "cpc", "brand_search"),
    ("newsletter", "email", "monthly_digest"),
    ("facebook", "social", "spring_promo"),
    ("partner", "referral", "telco_bundle"),
)
# (purpose, channel, probability of granting at registration)
_CONSENT_PAIRS = (
    ("marketing", "email", 0.6),
    ("marketing", "sms", 0.25),
    ("marketing", "push", 0.35),
    ("analytics", "web", 0.7),
    ("personalisation", "web", 0.5),
    ("personalisation", "push", 0.3),
    ("profiling", "web", 0.3),
)
_CONSENT_SOURCES = ("signup_form", "preference_centre", "cookie_banner", "app_settings")
_EPOCH = date(1970, 1, 1)


def _rate(name: str, value: float, high: float = 1.0) -> None:
    if not 0.0 <= value <= high:
        raise InvalidInput(f"{name} must be between 0 and {high}, got {value}", field=name)


@dataclass(frozen=True)
class CompanyConfig:
    """Tunables of the synthetic company; the defaults give realistic noise.

    Dates are fixed (never the wall clock) so the same seed always gives the same bytes.

    Attributes:
        duplicate_rate: share of people registered more than once in the CRM.
        billing_variation_rate: share of billing accounts whose name or e-mail differs from CRM.
        second_account_rate: share of people with a second billing account.
        missing_field_rate: share of CRM records missing each optional field.
        malformed_rate: share of rows in every source planted with a defect.
        shared_email_rate: share of people who give a shared address (``info@`` of a small
            business, shared by 2..50 unrelated people) instead of their own on a CRM record.
        shared_phone_rate: share of people who give a shared phone (a shop's or office's
            number, shared by 2..20 unrelated people) instead of their own on a CRM record.
        churn_base_rate: mean churn probability over all people.
        tickets_per_customer_year: mean support tickets per customer per year.
        events_per_customer: mean web and app events per customer over the whole period.
        anonymous_visitor_rate: anonymous web visitors per customer (they never sign up).
        start_date: first day of the period.
        end_date: last day of the period.
        countries: (ISO code, weight) of each country customers live in (US, GB, DE, FR, NL).
        plans: weights of the basic, standard and premium plans.
    """

    duplicate_rate: float = 0.12
    billing_variation_rate: float = 0.3
    second_account_rate: float = 0.05
    missing_field_rate: float = 0.05
    malformed_rate: float = 0.01
    shared_email_rate: float = 0.01
    shared_phone_rate: float = 0.005
    churn_base_rate: float = 0.2
    tickets_per_customer_year: float = 0.6
    events_per_customer: float = 10.0
    anonymous_visitor_rate: float = 0.3
    start_date: date = date(2023, 1, 1)
    end_date: date = date(2025, 6, 30)
    countries: tuple[tuple[str, float], ...] = (
        ("US", 0.35),
        ("GB", 0.2),
        ("DE", 0.2),
        ("FR", 0.15),
        ("NL", 0.1),
    )
    plans: tuple[float, float, float] = (0.5, 0.35, 0.15)

    def __post_init__(self) -> None:
        _rate("duplicate_rate", self.duplicate_rate, 0.5)
        _rate("billing_variation_rate", self.billing_variation_rate)
        _rate("second_account_rate", self.second_account_rate)
        _rate("missing_field_rate", self.missing_field_rate, 0.5)
        _rate("malformed_rate", self.malformed_rate, 0.2)
        _rate("shared_email_rate", self.shared_email_rate, 0.2)
        _rate("shared_phone_rate", self.shared_phone_rate, 0.2)
        if not 0.0 < self.churn_base_rate < 1.0:
            raise InvalidInput(
                f"churn_base_rate must be between 0 and 1 (exclusive), got {self.churn_base_rate}",
                field="churn_base_rate",
            )
        for name in ("tickets_per_customer_year", "events_per_customer", "anonymous_visitor_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1000.0:
                raise InvalidInput(f"{name} must be between 0 and 1000, got {value}", field=name)
        if (self.end_date - self.start_date).days < 180:
            raise InvalidInput(
                "end_date must be at least 180 days after start_date", field="end_date"
            )
        codes = [code for code, _ in self.countries]
        unknown = sorted(set(codes) - set(COUNTRIES))
        if not codes or unknown or len(set(codes)) != len(codes):
            raise InvalidInput(
                f"countries must be distinct codes among {', '.join(COUNTRIES)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                field="countries",
            )
        if any(weight <= 0 for _, weight in self.countries):
            raise InvalidInput("every country weight must be positive", field="countries")
        if len(self.plans) != 3 or any(w < 0 for w in self.plans) or sum(self.plans) <= 0:
            raise InvalidInput(
                "plans must be three non-negative weights (basic, standard, premium)",
                field="plans",
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings), as stored in the manifest."""
        data = asdict(self)
        data["start_date"] = self.start_date.isoformat()
        data["end_date"] = self.end_date.isoformat()
        data["countries"] = [[code, weight] for code, weight in self.countries]
        data["plans"] = list(self.plans)
        return data


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_company` wrote: data rows per file (relative path)."""

    out: Path
    seed: int
    customers: int
    files: dict[str, int] = field(default_factory=dict)
    parts: Parts = "all"

    @property
    def total_rows(self) -> int:
        """Data rows over all files (headers excluded)."""
        return sum(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``--json`` output."""
        return {
            "out": str(self.out),
            "seed": self.seed,
            "customers": self.customers,
            "parts": self.parts,
            "files": dict(self.files),
            "total_rows": self.total_rows,
        }


@dataclass
class _Defects:
    """Every malformed row planted: (file, line, record id, field, defect)."""

    rows: list[tuple[str, int, str, str, str]] = field(default_factory=list)

    def pick(self, rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
        """Row indices to corrupt: about ``rate`` of ``n``, at least one when rate > 0."""
        if n == 0 or rate <= 0:
            return np.zeros(0, dtype=np.int64)
        k = min(n, max(1, round(rate * n)))
        return np.sort(rng.choice(n, size=k, replace=False))


def _bad_email(email: str, which: int) -> str:
    local, _, domain = email.partition("@")
    return BAD_EMAILS[which % len(BAD_EMAILS)].format(
        local=local or "someone", domain=domain or "example.com"
    )


def _epoch_seconds(day: date) -> int:
    return (day - _EPOCH).days * DAY


def _q(value: str | None) -> str:
    """A JSON string literal for ids and fixed vocabulary (no escaping needed), or null."""
    return "null" if value is None else f'"{value}"'


def _stream(seed: int, stage: str) -> np.random.Generator:
    """The random stream of one stage: independent of every other stage's draws."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, _STREAMS.index(stage)]))
    )


def _prefixed(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` followed by each number (ids such as ``C1000001``)."""
    return pc.binary_join_element_wise(
        prefix, pc.cast(pa.array(numbers, pa.int64()), pa.string()), ""
    )


def _table(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


class _Builder:
    """Builds and writes each source in turn; holds what later steps need."""

    def __init__(
        self,
        out: Path,
        customers: int,
        seed: int,
        config: CompanyConfig,
        parts: Parts,
        progress: Progress | None,
    ) -> None:
        self.out = out
        self.config = config
        self.seed = seed
        self.customers = customers
        self.parts = parts
        self.progress = progress
        self.files: dict[str, int] = {}
        self.defects = _Defects()
        self.start = _epoch_seconds(config.start_date)
        self.end = _epoch_seconds(config.end_date) + DAY - 1
        # Every e-mail address and phone number handed out, with its one holder.
        self.emails = Registry()
        self.phones = Registry()
        # (source, record ids, person index per record) for ground_truth/persons.csv
        self.gt_persons: list[tuple[str, pa.Array, np.ndarray]] = []
        self._stage = 0

    def rng(self, stage: str) -> np.random.Generator:
        return _stream(self.seed, stage)

    def step(self, name: str) -> None:
        self._stage += 1
        if self.progress is not None:
            self.progress(name, self._stage, len(STAGES[self.parts]))

    def write_csv(self, rel: str, header: Sequence[str], columns: Sequence[Column]) -> None:
        self.files[rel] = write_csv(self.out / rel, header, columns)

    def write_lines(self, rel: str, lines: list[str]) -> None:
        self.files[rel] = write_lines(self.out / rel, lines)

    # --- people -------------------------------------------------------------------------
    def people(self) -> None:
        cfg = self.config
        codes = tuple(code for code, _ in cfg.countries)
        weights = np.array([w for _, w in cfg.countries], dtype=float)
        plans = np.array(cfg.plans, dtype=float)
        # About 25 people per postcode and street, as in real towns, whatever the size.
        addresses = max(300, self.customers // (25 * len(codes)))
        self.pools: Pools = build_pools(
            codes, int(self.rng("pools").integers(0, 2**31)), addresses=addresses
        )
        self.p: People = draw_people(
            self.rng("people"),
            self.pools,
            self.customers,
            country_weights=weights / weights.sum(),
            plan_weights=plans / plans.sum(),
            start=self.start,
            end=self.end,
            emails=self.emails,
            phones=self.phones,
        )
        self.shared: Shared = draw_shared(
            self.rng("shared"),
            self.pools,
            self.p,
            email_share=cfg.shared_email_rate,
            phone_share=cfg.shared_phone_rate,
            emails=self.emails,
            phones=self.phones,
        )
        self.person_ids = self.p.person_ids
        self.email_of = pa.array(self.p.email, pa.string())
        self.step("people")

    def behaviour(self) -> None:
        cfg = self.config
        rng = self.rng("behaviour")
        behaviour = simulate_behaviour(
            rng, self.p, end=self.end, tickets_per_year=cfg.tickets_per_customer_year
        )
        self.churn: Churn = decide_churn(rng, self.p, behaviour, cfg.churn_base_rate)
        self.stop = np.where(self.churn.churned, self.churn.churned_at, self.end)
        if self.parts == "all":  # identity runs only need who churned when
            self.b = behaviour
        self.step("behaviour")

    # --- CRM ----------------------------------------------------------------------------
    def _country_text(self, country: np.ndarray, draw: np.ndarray) -> pa.Array:
        """ISO code, or now and then the country typed out ("Deutschland", "UK")."""
        codes = self.pools.countries
        table = _table([*codes, *(name for code in codes for name in _COUNTRY_NAMES[code])])
        typed = len(codes) + 2 * country + (draw * 100).astype(np.int64) % 2
        return table.take(pa.array(np.where(draw < 0.05, typed, country)))

    def crm(self) -> None:
        rng, p, pools, cfg = self.rng("crm"), self.p, self.pools, self.config
        n = p.n
        dup_people = rng.choice(n, size=round(cfg.duplicate_rate * n), replace=False)
        extra = np.where(rng.random(dup_people.size) < 0.8, 1, 2)
        person = np.concatenate([np.arange(n), np.repeat(dup_people, extra)])
        dup = np.arange(person.size) >= n  # the first record of each person is not a dup
        r = person.size
        signup = p.signup[person]
        later = (rng.random(r) * np.maximum(self.end - 30 * DAY - signup, 1)).astype(np.int64)
        signup = np.where(dup, signup + later, signup)
        # Rows in file order (by sign-up) before any text is made: no string column is
        # shuffled afterwards.
        order = np.argsort(signup, kind="stable")
        person, dup, signup = person[order], dup[order], signup[order]
        country = p.country[person]
        first_idx, last_idx = p.first[person], p.last[person]
        nsn = p.nsn[person].copy()
        phone_style = p.phone_style[person].copy()
        street, house = p.street[person].copy(), p.house[person].copy()
        city, postcode = p.city[person].copy(), p.postcode[person].copy()
        plan = p.plan[person].copy()
        # Re-registrations: nickname or typo, new e-mail, other phone format, moved, gaps.
        name_draw, where, kinds = rng.random(r), rng.random(r), rng.integers(0, 4, r)
        email_draw, phone_draw, move_draw = rng.random(r), rng.random(r), rng.random(r)
        new_style = rng.integers(0, EMAIL_STYLES, r)
        new_number = rng.integers(1, 10_000, r)
        new_domain = pools.sample_weighted(rng, pools.domain_start, pools.domain_cdf, country)
        new_street = pools.sample(rng, pools.street_start, country)
        new_city = pools.sample(rng, pools.city_start, country)
        new_postcode = pools.sample(rng, pools.postcode_start, country)
        missing = rng.random((3, r)) < cfg.missing_field_rate
        missing_dup = rng.random((3, r)) < np.array([[0.15], [0.15], [0.1]])
        plan = np.where(dup & (rng.random(r) < 0.4), rng.integers(0, 3, r), plan)
        phone_style = np.where(dup, (phone_style + 1 + kinds) % PHONE_STYLES, phone_style)
        # Names: only the re-registrations' noisy names are made one by one.
        rows = np.flatnonzero(dup)
        first_rows: list[int] = []
        firsts: list[str] = []
        last_rows: list[int] = []
        lasts: list[str] = []
        for i, f, la, draw, at, kind in zip(
            rows.tolist(),
            first_idx[rows].tolist(),
            last_idx[rows].tolist(),
            name_draw[rows].tolist(),
            where[rows].tolist(),
            kinds[rows].tolist(),
            strict=True,
        ):
            if draw < 0.3:
                first_rows.append(i)
                firsts.append(nickname(pools.first[f], at) or typo(pools.first[f], kind, at))
            elif draw < 0.5:
                first_rows.append(i)
                firsts.append(typo(pools.first[f], kind, at))
            elif draw < 0.65:
                last_rows.append(i)
                lasts.append(typo(pools.last[la], kind, at))
        first = replace_rows(
            _table(pools.first).take(pa.array(first_idx)), np.array(first_rows, np.int64), firsts
        )
        last = replace_rows(
            _table(pools.last).take(pa.array(last_idx)), np.array(last_rows, np.int64), lasts
        )
        # E-mail: half the re-registrations give a new one (never another person's); people
        # of a shared-address group give the group's address on their first record.
        new_rows = np.flatnonzero(dup & (email_draw < 0.5))
        new_emails = claim_emails(
            self.emails,
            rng,
            email_locals(
                pools,
                p.first[person[new_rows]],
                p.last[person[new_rows]],
                new_style[new_rows],
                new_number[new_rows],
            ),
            email_domains(pools, new_domain[new_rows]),
            person[new_rows],
        )
        group = self.shared.email_group
        shared_rows = np.flatnonzero(~dup & (group[person] >= 0))
        email = replace_rows(
            self.email_of.take(pa.array(person)),
            np.concatenate([shared_rows, new_rows]),
            [self.shared.emails[g] for g in group[person[shared_rows]].tolist()] + new_emails,
        )
        # Phone: another number (never another person's), none, or the group's shared one.
        other = np.flatnonzero(dup & (phone_draw >= 0.45) & (phone_draw < 0.65))
        nsn[other] = claim_phones(self.phones, rng, pools.countries, country[other], person[other])
        nsn[dup & (phone_draw >= 0.65) & (phone_draw < 0.8)] = 0
        phone_group = self.shared.phone_group[person]
        shared_phone_rows = np.flatnonzero(~dup & (phone_group >= 0))
        nsn[shared_phone_rows] = self.shared.phones[phone_group[shared_phone_rows]]
        moved = dup & (move_draw < 0.3)
        street[moved], house[moved] = new_street[moved], (house[moved] * 7) % 199 + 1
        city[moved], postcode[moved] = new_city[moved], new_postcode[moved]
        no_phone = missing[0] & ~dup
        no_phone[shared_phone_rows] = False
        no_birth = missing[1] | (dup & missing_dup[1])
        no_street = missing[2] | (dup & missing_dup[2] & ~moved)
        country_text = self._country_text(country, rng.random(r))
        phone = format_phones(pools.countries, country, np.where(no_phone, 0, nsn), phone_style)
        street_name = _table(pools.streets).take(pa.array(street))
        number = pc.cast(pa.array(house), pa.string())
        number_first = np.isin(
            country, [i for i, c in enumerate(pools.countries) if c in ("US", "GB", "FR")]
        )
        street_text = pc.if_else(
            pa.array(no_street),
            "",
            pc.if_else(
                pa.array(number_first),
                pc.binary_join_element_wise(number, street_name, " "),
                pc.binary_join_element_wise(street_name, number, " "),
            ),
        )
        birth = pc.if_else(pa.array(no_birth), "", iso_date(p.birth[person]))
        updated = signup + (rng.random(r) * (self.end - signup)).astype(np.int64)
        tz = p.tz[person]
        source = rng.choice(len(_SOURCE_SYSTEMS), size=r, p=[0.55, 0.2, 0.15, 0.1])
        ids = rng.permutation(r) + 1_000_001
        columns = [
            _prefixed("C", ids),
            first,
            last,
            email,
            phone,
            street_text,
            _table(pools.cities).take(pa.array(city)),
            _table(pools.postcodes).take(pa.array(postcode)),
            country_text,
            birth,
            iso_local(signup, dst_offset(signup, tz)),
            _table(PLANS).take(pa.array(plan)),
            iso_utc(updated),
            _table(_SOURCE_SYSTEMS).take(pa.array(source)),
        ]
        shared_email = ~dup & (group[person] >= 0)
        rel = "crm/customers.csv"
        picks = self.defects.pick(rng, r, cfg.malformed_rate)
        fixes: dict[int, tuple[list[int], list[str]]] = {3: ([], []), 9: ([], []), 10: ([], [])}
        for row, defect in zip(
            picks.tolist(), rng.integers(0, 3, picks.size).tolist(), strict=True
        ):
            line, rid = row + 2, columns[0][row].as_py()
            if defect == 0 and shared_email[row]:
                defect = 1  # shared addresses stay intact, so their list is exact
            if defect == 0:
                fixes[3][0].append(row)
                fixes[3][1].append(_bad_email(columns[3][row].as_py(), row))
                self.defects.rows.append((rel, line, rid, "email", "invalid_email"))
            elif defect == 1:
                fixes[10][0].append(row)
                fixes[10][1].append(BAD_DATES[row % len(BAD_DATES)])
                self.defects.rows.append((rel, line, rid, "signup_at", "bad_date"))
            else:
                fixes[9][0].append(row)
                fixes[9][1].append(BAD_DATES[(row + 3) % len(BAD_DATES)])
                self.defects.rows.append((rel, line, rid, "birth_date", "bad_date"))
        for column, (fix_rows, values) in fixes.items():
            columns[column] = replace_rows(columns[column], np.array(fix_rows, np.int64), values)
        self.write_csv(rel, CRM_COLUMNS, columns)
        self.crm_person, self.crm_signup, self.crm_tz = person, signup, tz
        self.crm_ids: pa.Array = columns[0]
        primary = np.full(n, -1, dtype=np.int64)
        primary_rows = np.flatnonzero(~dup)
        primary[person[primary_rows]] = primary_rows
        self.primary_id: pa.Array = self.crm_ids.take(pa.array(primary))
        self.gt_persons.append(("crm", self.crm_ids, person))
        self.step("crm")

    # --- billing ------------------------------------------------------------------------
    def _holder_names(self, first: np.ndarray, last: np.ndarray, style: np.ndarray) -> pa.Array:
        """Account holder names as the CRM spells them: "Ann Lee", "LEE, Ann" or "A. Lee"."""
        pools = self.pools
        given = _table(pools.first).take(pa.array(first))
        family = _table(pools.last).take(pa.array(last))
        upper = _table([name.upper() for name in pools.last]).take(pa.array(last))
        initial = _table([name[0] for name in pools.first]).take(pa.array(first))

        def build(which: int, rows: np.ndarray) -> pa.Array:
            index = pa.array(rows)
            if which == 0:
                return pc.binary_join_element_wise(given.take(index), family.take(index), " ")
            if which == 1:
                return pc.binary_join_element_wise(upper.take(index), given.take(index), ", ")
            return pc.binary_join_element_wise(initial.take(index), family.take(index), ". ")

        return by_group(style, build)

    def billing(self) -> None:
        rng, p, pools, cfg = self.rng("billing"), self.p, self.pools, self.config
        n = p.n
        second = np.flatnonzero(rng.random(n) < cfg.second_account_rate)
        person = np.concatenate([np.arange(n), second])
        a = person.size
        is_second = np.arange(a) >= n
        span = np.maximum(self.stop - p.signup - 60 * DAY, DAY)
        switch = np.full(n, np.iinfo(np.int64).max)
        switch[second] = (
            p.signup[second] + 30 * DAY + (rng.random(second.size) * span[second]).astype(np.int64)
        )
        opened = np.where(is_second, switch[person], p.signup[person] + rng.integers(0, 2 * DAY, a))
        # Rows in file order (by opening time) before any text is made.
        order = np.argsort(opened, kind="stable")
        person, is_second, opened = person[order], is_second[order], opened[order]
        vary = is_second | (rng.random(a) < cfg.billing_variation_rate)
        what, where, kinds = rng.random(a), rng.random(a), rng.integers(0, 4, a)
        style = rng.choice(3, size=a, p=[0.6, 0.25, 0.15])
        new_style, new_number = rng.integers(0, EMAIL_STYLES, a), rng.integers(1, 10_000, a)
        country = p.country[person]
        new_domain = pools.sample_weighted(rng, pools.domain_start, pools.domain_cdf, country)
        first_idx, last_idx = p.first[person], p.last[person]
        # Names: the varied ones (nickname, typo, all capitals) are made one by one.
        changed = np.flatnonzero(vary & ((what < 0.45) | (what >= 0.8)))
        names: list[str] = []
        for f, la, w, at, kind, s in zip(
            first_idx[changed].tolist(),
            last_idx[changed].tolist(),
            what[changed].tolist(),
            where[changed].tolist(),
            kinds[changed].tolist(),
            style[changed].tolist(),
            strict=True,
        ):
            first, last = pools.first[f], pools.last[la]
            if w < 0.25:
                first = nickname(first, at) or typo(first, kind, at)
            elif w < 0.45:
                last = typo(last, kind, at)
            else:
                first, last = first.upper(), last.upper()
            names.append((f"{first} {last}", f"{last.upper()}, {first}", f"{first[0]}. {last}")[s])
        holder = replace_rows(self._holder_names(first_idx, last_idx, style), changed, names)
        # E-mail: a varied account may carry another address, never another person's.
        new_rows = np.flatnonzero(vary & (what >= 0.45) & (what < 0.8))
        new_emails = claim_emails(
            self.emails,
            rng,
            email_locals(
                pools,
                first_idx[new_rows],
                last_idx[new_rows],
                new_style[new_rows],
                new_number[new_rows],
            ),
            email_domains(pools, new_domain[new_rows]),
            person[new_rows],
        )
        email = replace_rows(self.email_of.take(pa.array(person)), new_rows, new_emails)
        currency = currency_of(pools, country)
        ids = rng.permutation(a) + 2_000_001
        ref = rng.random(a) < 0.6
        columns = [
            _prefixed("BA", ids),
            holder,
            email,
            _table(pools.postcodes).take(pa.array(p.postcode[person])),
            _table(pools.countries).take(pa.array(country)),
            _table(currency.tolist()),
            _table(PLANS).take(pa.array(p.plan[person])),
            iso_utc(opened),
            pc.if_else(pa.array(ref), self.primary_id.take(pa.array(person)), ""),
        ]
        rel = "billing/accounts.csv"
        bad_email_rows: set[int] = set()
        fixes: dict[int, tuple[list[int], list[str]]] = {2: ([], []), 7: ([], [])}
        for row in self.defects.pick(rng, a, cfg.malformed_rate).tolist():
            line, rid = row + 2, columns[0][row].as_py()
            if row % 2 == 0:
                fixes[2][0].append(row)
                fixes[2][1].append(_bad_email(columns[2][row].as_py(), row))
                bad_email_rows.add(row)
                self.defects.rows.append((rel, line, rid, "email", "invalid_email"))
            else:
                fixes[7][0].append(row)
                fixes[7][1].append(BAD_DATES[row % len(BAD_DATES)])
                self.defects.rows.append((rel, line, rid, "opened_at", "bad_date"))
        for column, (fix_rows, values) in fixes.items():
            columns[column] = replace_rows(columns[column], np.array(fix_rows, np.int64), values)
        header = [
            "account_id",
            "holder_name",
            "email",
            "postcode",
            "country",
            "currency",
            "plan",
            "opened_at",
            "crm_customer_ref",
        ]
        self.write_csv(rel, header, columns)
        self.gt_persons.append(("billing", columns[0], person))
        if self.parts == "all":
            # Account of each person before and after the switch to a second account.
            row_of = np.empty(a, dtype=np.int64)
            row_of[order] = np.arange(a)
            first_acc = row_of[:n]
            second_acc = first_acc.copy()
            second_acc[second] = row_of[n:]
            self.billing_email = list(p.email)
            for i, (who, address) in enumerate(
                zip(person.tolist(), columns[2].to_pylist(), strict=True)
            ):
                # Tickets reuse the billing e-mail; never a malformed one planted above.
                if i not in bad_email_rows and "@" in address:
                    self.billing_email[who] = address
            self._transactions(columns[0], first_acc, second_acc, switch, currency)
        self.step("billing")

    def _transactions(
        self,
        account_ids: pa.Array,
        first_acc: np.ndarray,
        second_acc: np.ndarray,
        switch: np.ndarray,
        currency: np.ndarray,
    ) -> None:
        rng, p, b, cfg = self.rng("transactions"), self.p, self.b, self.config
        keep = b.txn_ts <= self.stop[b.txn_person]
        who, ts, kind = b.txn_person[keep], b.txn_ts[keep], b.txn_type[keep]
        order = np.argsort(ts, kind="stable")
        who, ts, kind = who[order], ts[order], kind[order]
        acc = np.where(ts >= switch[who], second_acc[who], first_acc[who])
        cur_text = currency[: p.n][who].tolist()  # the first n accounts are in person order
        codes = sorted(PRICES)
        prices = np.array([PRICES[c] for c in codes], dtype=object)
        cur_index = np.searchsorted(np.array(codes), currency[: p.n].astype(str))[who]
        t = ts.size
        columns = [
            [f"TX{i + 1:09d}" for i in range(t)],
            account_ids.take(pa.array(acc)).to_pylist(),
            iso_utc(ts).to_pylist(),
            prices[cur_index, p.plan[who]].tolist(),
            cur_text,
            np.array(["payment", "refund", "failed"], dtype=object)[kind].tolist(),
        ]
        rel = "billing/transactions.csv"
        picks = self.defects.pick(rng, t, cfg.malformed_rate)
        for row, defect in zip(
            picks.tolist(), rng.integers(0, 4, picks.size).tolist(), strict=True
        ):
            line, rid = row + 2, columns[0][row]
            if defect == 0:
                columns[3][row] = "-" + columns[3][row]
                self.defects.rows.append((rel, line, rid, "amount", "negative_amount"))
            elif defect == 1:
                columns[3][row] = ("N/A", f"{columns[3][row].replace('.', ',')} {cur_text[row]}")[
                    row % 2
                ]
                self.defects.rows.append((rel, line, rid, "amount", "non_numeric_amount"))
            elif defect == 2:
                columns[2][row] = BAD_DATES[row % len(BAD_DATES)]
                self.defects.rows.append((rel, line, rid, "occurred_at", "bad_date"))
            else:
                columns[1][row] = ""
                self.defects.rows.append((rel, line, rid, "account_id", "missing_id"))
        header = ["transaction_id", "account_id", "occurred_at", "amount", "currency", "type"]
        self.write_csv(rel, header, columns)

    # --- support ------------------------------------------------------------------------
    def support(self) -> None:
        rng, p, b, cfg = self.rng("support"), self.p, self.b, self.config
        keep = b.tkt_ts <= self.stop[b.tkt_person]
        order = np.argsort(b.tkt_ts[keep], kind="stable")
        who = b.tkt_person[keep][order]
        ts = b.tkt_ts[keep][order]
        intent = b.tkt_intent[keep][order]
        sentiment = b.tkt_sentiment[keep][order]
        t = who.size
        created = iso_local(ts, dst_offset(ts, p.tz[who])).to_pylist()
        primary_id = self.primary_id.to_pylist()
        channel = rng.choice(len(_CHANNELS), size=t, p=[0.45, 0.3, 0.1, 0.15])
        has_ref = rng.random(t) < 0.6
        use_billing = rng.random(t) < 0.2
        picks = rng.integers(0, 1_000_000, size=(t, 7))
        rel = "support/tickets.jsonl"
        bad = dict(
            zip(
                self.defects.pick(rng, t, cfg.malformed_rate).tolist(),
                rng.integers(0, 3, t).tolist(),
                strict=False,
            )
        )
        lines = []
        for i in range(t):
            person = int(who[i])
            ref = primary_id[person] if has_ref[i] else None
            email = None
            if channel[i] == 0 or ref is None:
                email = self.billing_email[person] if use_billing[i] else p.email[person]
            subject, body = render_ticket(
                int(intent[i]), int(sentiment[i]), tuple(picks[i].tolist())
            )
            record: dict[str, Any] = {
                "ticket_id": f"T{i + 1:08d}",
                "customer_ref": ref,
                "email": email,
                "created_at": created[i],
                "channel": _CHANNELS[channel[i]],
                "subject": subject,
                "body": body,
                "intent": INTENTS[intent[i]],
                "sentiment": SENTIMENTS[sentiment[i]],
            }
            defect = bad.get(i)
            if defect == 1:
                record["ticket_id"] = None
                self.defects.rows.append((rel, i + 1, f"T{i + 1:08d}", "ticket_id", "missing_id"))
            elif defect == 2:
                record["created_at"] = BAD_DATES[i % len(BAD_DATES)]
                self.defects.rows.append(
                    (rel, i + 1, record["ticket_id"], "created_at", "bad_date")
                )
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            if defect == 0:
                line = line[: len(line) // 2]
                self.defects.rows.append((rel, i + 1, record["ticket_id"], "", "broken_json"))
            lines.append(line)
        self.write_lines(rel, lines)
        self.step("support")

    # --- web ----------------------------------------------------------------------------
    def web(self) -> None:
        rng, p, cfg = self.rng("web"), self.p, self.config
        evt_person, evt_ts = simulate_events(
            self.rng("events"), p, end=self.end, events_per_customer=cfg.events_per_customer
        )
        keep = evt_ts <= self.stop[evt_person]
        who = evt_person[keep]
        ts = evt_ts[keep]
        n = p.n
        # Devices per person (first is a browser), one or two cookies (anonymous ids) each.
        devices = 1 + (rng.random(n) < 0.45) + (rng.random(n) < 0.15)
        visitors = round(cfg.anonymous_visitor_rate * n)
        dev_owner = np.concatenate([np.repeat(np.arange(n), devices), np.full(visitors, -1)])
        d = dev_owner.size
        dev_start = np.cumsum(devices) - devices
        dev_rank = np.arange(d) - np.concatenate(
            [dev_start[dev_owner[: d - visitors]], np.arange(d - visitors, d)]
        )
        platform = np.where(dev_rank == 0, 0, rng.integers(0, 3, d))  # 0 web, 1 ios, 2 android
        cookies = 1 + (rng.random(d) < 0.35)
        cookie_start = np.cumsum(cookies) - cookies
        device_text = [f"dev-{x:012x}" for x in rng.integers(0, 2**48, d).tolist()]
        anon_text = [f"anon-{x:016x}" for x in rng.integers(0, 2**62, int(cookies.sum())).tolist()]
        # Customer events pick one of their devices; visitors browse a few pages.
        dev = dev_start[who] + (rng.random(who.size) * devices[who]).astype(np.int64)
        v_counts = 1 + rng.poisson(2.0, visitors)
        v_dev = np.repeat(np.arange(d - visitors, d), v_counts)
        v_ts = rng.integers(self.start, self.end, v_dev.size)
        dev = np.concatenate([dev, v_dev])
        ts_ms = np.concatenate([ts, v_ts]) * 1000 + rng.integers(0, 1000, dev.size)
        owner = np.concatenate([who, np.full(v_dev.size, -1)])
        e = dev.size
        cookie = cookie_start[dev] + (rng.random(e) * cookies[dev]).astype(np.int64)
        kind = rng.choice(
            len(_EVENT_TYPES), size=e, p=[0.45, 0.12, 0.08, 0.1, 0.07, 0.03, 0.12, 0.03]
        )
        kind = np.where((owner < 0) & (kind > 2), 0, kind)
        plat = platform[dev]
        logged_in = (owner >= 0) & ((kind == 3) | (rng.random(e) < np.where(plat == 0, 0.5, 0.9)))
        utm = np.where((kind == 0) & (plat == 0) & (rng.random(e) < 0.2), rng.integers(0, 4, e), -1)
        path = rng.integers(0, len(_PATHS), e)
        order = np.argsort(ts_ms, kind="stable")
        rel = "web/events.jsonl"
        bad = dict(
            zip(
                self.defects.pick(rng, e, cfg.malformed_rate).tolist(),
                rng.integers(0, 3, e).tolist(),
                strict=False,
            )
        )
        stamps = iso_utc_ms(ts_ms[order]).to_pylist()
        ids = [f"ev-{row + 1:010d}" for row in range(e)]
        id_text = [f'"{x}"' for x in ids]
        for row, defect in bad.items():
            if defect == 1:
                id_text[row] = "null"
                self.defects.rows.append((rel, row + 1, ids[row], "event_id", "missing_id"))
            elif defect == 2:
                stamps[row] = BAD_DATES[row % len(BAD_DATES)]
                self.defects.rows.append((rel, row + 1, ids[row], "occurred_at", "bad_date"))
            else:
                self.defects.rows.append((rel, row + 1, ids[row], "", "broken_json"))

        def pick(table: list[str], index: np.ndarray) -> list[str]:
            return np.array(table, dtype=object)[index[order]].tolist()  # type: ignore[no-any-return]

        users = [_q(x) for x in self.primary_id.to_pylist()] + ["null"]
        urls = [_q(f"https://www.streamly.example{x}") for x in _PATHS] + ["null"]
        utms = [
            f'"utm_source":"{s}","utm_medium":"{m}","utm_campaign":"{c}"' for s, m, c in _UTM
        ] + ['"utm_source":null,"utm_medium":null,"utm_campaign":null']
        lines = [
            f'{{"event_id":{i},"anonymous_id":"{a}","device_id":"{d}","user_id":{u},'
            f'"type":"{k}","occurred_at":"{t}","platform":"{p}","url":{w},{m}}}'
            for i, a, d, u, k, t, p, w, m in zip(
                id_text,
                pick(anon_text, cookie),
                pick(device_text, dev),
                pick(users, np.where(logged_in, owner, n)),
                pick(list(_EVENT_TYPES), kind),
                stamps,
                pick(["web", "ios", "android"], plat),
                pick(urls, np.where(plat == 0, path, len(_PATHS))),
                pick(utms, np.where(utm >= 0, utm, len(_UTM))),
                strict=True,
            )
        ]
        for row, defect in bad.items():
            if defect == 0:
                lines[row] = lines[row][: len(lines[row]) // 2]
        self.write_lines(rel, lines)
        cookie_owner = np.repeat(dev_owner, cookies)
        known = np.flatnonzero(cookie_owner >= 0)
        self.gt_persons.append(
            ("web", _table(anon_text).take(pa.array(known)), cookie_owner[known])
        )
        self.step("web")

    # --- consent ------------------------------------------------------------------------
    def consent(self) -> None:
        rng, cfg = self.rng("consent"), self.config
        r = self.crm_person.size
        churned = self.churn.churned[self.crm_person]
        rows_subject, rows_pair, rows_status, rows_ts, rows_source = [], [], [], [], []
        for j, (purpose, _, chance) in enumerate(_CONSENT_PAIRS):
            granted = np.flatnonzero(rng.random(r) < chance)
            at = self.crm_signup[granted] + rng.integers(0, 600, granted.size)
            source = np.where(
                purpose in ("analytics", "profiling"), 2, rng.choice([0, 3], size=granted.size)
            )
            withdraw_p = np.where(churned[granted] & (purpose == "marketing"), 0.5, 0.1)
            withdrawn = rng.random(granted.size) < withdraw_p
            person = self.crm_person[granted]
            stop = self.stop[person]
            later = at + (rng.random(granted.size) * np.maximum(stop - at, 1)).astype(np.int64)
            w = np.flatnonzero(withdrawn)
            rows_subject += [granted, granted[w]]
            rows_pair += [np.full(granted.size, j), np.full(w.size, j)]
            rows_status += [np.zeros(granted.size, np.int64), np.ones(w.size, np.int64)]
            rows_ts += [at, later[w]]
            rows_source += [source, np.ones(w.size, np.int64)]
        subject = np.concatenate(rows_subject)
        pair = np.concatenate(rows_pair)
        status = np.concatenate(rows_status)
        ts = np.concatenate(rows_ts)
        source = np.concatenate(rows_source)
        order = np.lexsort((pair, subject, ts))
        subject, pair, status, ts, source = (
            subject[order],
            pair[order],
            status[order],
            ts[order],
            source[order],
        )
        c = subject.size
        columns = [
            [f"CS{i + 1:09d}" for i in range(c)],
            self.crm_ids.take(pa.array(subject)).to_pylist(),
            [_CONSENT_PAIRS[j][0] for j in pair.tolist()],
            [_CONSENT_PAIRS[j][1] for j in pair.tolist()],
            [("granted", "withdrawn")[s] for s in status.tolist()],
            iso_local(ts, dst_offset(ts, self.crm_tz[subject])).to_pylist(),
            [_CONSENT_SOURCES[s] for s in source.tolist()],
        ]
        rel = "consent/consents.csv"
        picks = self.defects.pick(rng, c, cfg.malformed_rate)
        for row, defect in zip(
            picks.tolist(), rng.integers(0, 3, picks.size).tolist(), strict=True
        ):
            line, rid = row + 2, columns[0][row]
            if defect == 0:
                columns[1][row] = ""
                self.defects.rows.append((rel, line, rid, "subject_id", "missing_id"))
            elif defect == 1:
                columns[5][row] = BAD_DATES[row % len(BAD_DATES)]
                self.defects.rows.append((rel, line, rid, "recorded_at", "bad_date"))
            else:
                columns[4][row] = ("yes", "maybe", "GRANTED?")[row % 3]
                self.defects.rows.append((rel, line, rid, "status", "unknown_status"))
        header = [
            "consent_id",
            "subject_id",
            "purpose",
            "channel",
            "status",
            "recorded_at",
            "source",
        ]
        self.write_csv(rel, header, columns)
        self.step("consent")

    # --- ground truth and manifest --------------------------------------------------------
    def ground_truth(self) -> None:
        gt = self.gt_persons
        counts = [len(ids) for _, ids, _ in gt]
        source = _table([name for name, _, _ in gt]).take(
            pa.array(np.repeat(np.arange(len(gt)), counts))
        )
        records = pa.concat_arrays([strings(ids) for _, ids, _ in gt])
        persons = self.person_ids.take(pa.array(np.concatenate([who for _, _, who in gt])))
        self.write_csv(
            "ground_truth/persons.csv",
            ["source", "source_record_id", "person_id"],
            [source, records, persons],
        )
        self._shared_identifiers()
        if self.parts == "all":
            self._churn_and_defects()
        self.step("ground truth")

    def _shared_identifiers(self) -> None:
        """Each shared address and phone (E.164), with the people who give it."""
        sh, ids = self.shared, self.person_ids.to_pylist()
        phones = [
            e164(self.pools.countries[c], nsn)
            for c, nsn in zip(sh.phone_country.tolist(), sh.phones.tolist(), strict=True)
        ]
        kinds: list[str] = []
        values: list[str] = []
        persons: list[str] = []
        for kind, group, labels in (
            ("email", sh.email_group, sh.emails),
            ("phone", sh.phone_group, phones),
        ):
            members = np.flatnonzero(group >= 0)
            members = members[np.argsort(group[members], kind="stable")]
            bounds = np.searchsorted(group[members], np.arange(len(labels) + 1))
            for g, label in enumerate(labels):
                kinds.append(kind)
                values.append(label)
                persons.append(
                    " ".join(ids[i] for i in members[bounds[g] : bounds[g + 1]].tolist())
                )
        self.write_csv(
            "ground_truth/shared_identifiers.csv",
            ["kind", "value", "persons"],
            [kinds, values, persons],
        )

    def _churn_and_defects(self) -> None:
        ch = self.churn
        self.write_csv(
            "ground_truth/churn.csv",
            [
                "person_id",
                "churned",
                "churned_at",
                "churn_probability",
                "failed_payments",
                "cancel_tickets",
                "negative_tickets",
                "activity_decline",
                "plan",
                "tenure_days",
            ],
            [
                self.person_ids,
                ["true" if c else "false" for c in ch.churned.tolist()],
                [
                    s if c else ""
                    for s, c in zip(
                        iso_utc(ch.churned_at).to_pylist(), ch.churned.tolist(), strict=True
                    )
                ],
                [f"{v:.4f}" for v in ch.probability.tolist()],
                [str(v) for v in ch.failed_payments.tolist()],
                [str(v) for v in ch.cancel_tickets.tolist()],
                [str(v) for v in ch.negative_tickets.tolist()],
                [f"{v:.3f}" for v in self.p.decline.tolist()],
                [PLANS[i] for i in self.p.plan.tolist()],
                [str(v) for v in ch.tenure_days.tolist()],
            ],
        )
        rows = sorted(self.defects.rows)
        self.write_csv(
            "ground_truth/malformed.csv",
            ["file", "line", "record_id", "field", "defect"],
            [
                [r[0] for r in rows],
                [str(r[1]) for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                [r[4] for r in rows],
            ],
        )

    def manifest(self) -> None:
        manifest = {
            "generator": "aimsight.demo.generate_company",
            "format_version": 1,
            "seed": self.seed,
            "customers": self.customers,
            "parts": self.parts,
            "config": self.config.to_dict(),
            "files": {
                rel: {"rows": rows, "sha256": sha256_of(self.out / rel)}
                for rel, rows in sorted(self.files.items())
            },
        }
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (self.out / "manifest.json").write_text(text, encoding="utf-8")
        self.step("manifest")


def generate_company(
    out: str | Path,
    *,
    customers: int,
    seed: int,
    config: CompanyConfig | None = None,
    parts: Parts = "all",
    progress: Progress | None = None,
) -> GenerationSummary:
    """Write the synthetic company's sources and ground truth under ``out``.

    Args:
        out: folder to write into (created if needed; files of an earlier run are replaced,
            and with ``parts="identity"`` the other sources an earlier run wrote are removed).
        customers: number of true people (CRM records are more: some registered twice).
        seed: drives every random draw; the same seed gives the same bytes in every file.
        config: tunables; the defaults give realistic noise.
        parts: ``"all"`` writes every source; ``"identity"`` only what identity resolution
            reads (:data:`IDENTITY_FILES`: CRM customers, billing accounts, their ground truth
            and the manifest), byte for byte as a full run writes them, in a fraction of the
            time and memory (1,000,000 customers in well under a minute).
        progress: called as ``progress(stage, done, total)`` after each stage.

    Returns:
        The data rows written per file (``manifest.json`` excluded).

    Raises:
        InvalidInput: ``customers`` is below 10 or too large, ``seed`` is negative,
            ``parts`` is unknown, or ``out`` is an existing file.

    Examples:
        >>> summary = generate_company("sources", customers=1_000, seed=7)  # doctest: +SKIP
        >>> summary.files["crm/customers.csv"]  # doctest: +SKIP
        1120
        >>> generate_company("ids", customers=1_000_000, seed=7, parts="identity")  # doctest: +SKIP
    """
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise InvalidInput("customers must be a whole number", field="customers")
    if not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise InvalidInput(
            f"customers must be between {MIN_CUSTOMERS} and {MAX_CUSTOMERS:,}, got {customers}",
            field="customers",
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative whole number, got {seed!r}", field="seed")
    if parts not in get_args(Parts):
        raise InvalidInput(
            f"parts must be one of {', '.join(get_args(Parts))}, got {parts!r}", field="parts"
        )
    root = Path(out).expanduser()
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} exists and is not a folder", field="out")
    root.mkdir(parents=True, exist_ok=True)
    builder = _Builder(root.resolve(), customers, seed, config or CompanyConfig(), parts, progress)
    builder.people()
    builder.behaviour()
    builder.crm()
    builder.billing()
    if parts == "all":
        builder.support()
        builder.web()
        builder.consent()
    else:
        for rel in _FULL_ONLY:  # an earlier full run's other sources would contradict the manifest
            (builder.out / rel).unlink(missing_ok=True)
    builder.ground_truth()
    builder.manifest()
    return GenerationSummary(
        out=builder.out, seed=seed, customers=customers, files=builder.files, parts=parts
    )
