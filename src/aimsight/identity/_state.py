"""Shared state of the identity services: the store, the ledger, the lake files of the
latest run, and the record-to-customer view that later changes are laid over.

A run writes its bulk results (membership, identifier index, profiles, links) to the lake;
steward and real-time changes since then live in the store. Every reader goes through the
helpers here, so "which customer is this record" has one answer everywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import delete, select, update

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict, NotFound
from aimsight.core.ids import new_id
from aimsight.core.workspace import Workspace
from aimsight.identity._bulk import bulk_insert
from aimsight.identity._config import (
    MatchingConfig,
    load_matching_config,
    shipped_matching_config_text,
)
from aimsight.identity._tables import (
    AliasRow,
    CustomerRow,
    IdentifierRow,
    IdentityRunRow,
    OverrideRow,
    RecordLinkRow,
)
from aimsight.privacy import ConsentService
from aimsight.store import Lake, Ledger, Store

__all__ = [
    "CONFIG_PATH",
    "REALTIME",
    "IdentityState",
    "Resolution",
    "RunSummary",
    "chunks",
    "customer_id_from",
    "iso_text",
    "normalise_identifier",
    "now_text",
]

CONFIG_PATH = Path("identity") / "matching.yaml"

REALTIME = "realtime"

_DETERMINISTIC_WEIGHT = float("inf")

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class RunSummary:
    """What a resolution run did; ``to_dict`` is its ``--json`` form."""

    run_id: str
    backend: str
    records: int
    customers: int
    model_version: int
    trained: bool
    threshold: float
    links: int
    deterministic_links: int
    created: int
    merged: int
    split: int
    held_for_review: int
    refused_conflicts: int
    shared_identifiers: int
    pairs_per_rule: dict[str, int]
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Resolution:
    """The answer of real-time resolution.

    ``status`` is ``known`` (the identifiers name one customer), ``new`` (nobody knew them: an
    anonymous profile was made) or ``conflict`` (they name several customers; ``customer_id``
    is the one the rule chose and ``candidates`` all of them).
    """

    customer_id: str
    status: str
    kind: str
    matched: dict[str, str]
    candidates: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def now_text() -> str:
    return isoformat_utc(now_utc())


def customer_id_from(records: tuple[str, ...], taken: set[str]) -> str:
    """A fresh id derived from a cluster's first record, unique among ``taken``."""
    seed = records[0] if records else new_id("x")
    for attempt in range(1000):
        digest = hashlib.sha256(f"{seed}|{attempt}".encode()).hexdigest()
        candidate = "cus_" + digest[:16]
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise Conflict("could not make a unique customer id; the id space is exhausted")


def normalise_identifier(kind: str, value: str) -> str:
    """The match key of a looked-up identifier, as runs store it (e-mails lower-cased...)."""
    text = value.strip()
    if kind == "email":
        return text.lower()
    if kind == "phone":
        import phonenumbers

        try:
            parsed = phonenumbers.parse(text, None if text.startswith("+") else "GB")
        except phonenumbers.NumberParseException:
            return text
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return text


class IdentityState:
    """The store, ledger, lake and configuration every identity service works from."""

    _workspace: Workspace
    _store: Store
    _ledger: Ledger
    _lake: Lake
    _config_cache: tuple[int | None, MatchingConfig] | None = None

    @property
    def config_path(self) -> Path:
        """The workspace's matching configuration file."""
        return self._workspace.root / CONFIG_PATH

    def install_default_config(self) -> bool:
        """Write the shipped configuration unless the workspace has one; True if written."""
        if self.config_path.exists():
            return False
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(shipped_matching_config_text(), encoding="utf-8")
        return True

    def config(self) -> MatchingConfig:
        """The matching configuration in force; parsed again only when the file changes,
        so a lookup on the decision path does not re-read YAML."""
        stamp = self.config_path.stat().st_mtime_ns if self.config_path.exists() else None
        cached = self._config_cache
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1]
        config = load_matching_config(self.config_path)
        self._config_cache = (stamp, config)
        return config

    def _run_file(self, kind: str) -> str | None:
        """The latest completed run's lake file of ``kind`` (membership, identifiers...)."""
        with self._store.session() as session:
            run_id = session.execute(
                select(IdentityRunRow.run_id)
                .where(IdentityRunRow.status == "completed")
                .order_by(IdentityRunRow.started_at.desc())
                .limit(1)
            ).scalar_one_or_none()
        return f"identity/{kind}/{run_id}.parquet" if run_id else None

    def _query_run_file(
        self, kind: str, where: str, params: Sequence[Any], columns: str = "*"
    ) -> list[dict[str, Any]]:
        """Rows of the latest run's lake file ``kind`` matching ``where``."""
        path = self._run_file(kind)
        if path is None or not self._lake.resolve(path).exists():
            return []
        with duckdb.connect() as connection:
            table = connection.sql(
                f"SELECT {columns} FROM read_parquet(?) WHERE {where}",
                params=[str(self._lake.resolve(path)), *params],
            ).to_arrow_table()
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    def _previous_links(self) -> dict[str, str]:
        """Record key -> customer id now: the last run's membership, then later changes
        (steward links and unlinks, real-time observations) on top."""
        links: dict[str, str] = {}
        path = self._run_file("membership")
        if path is not None:
            table = pq.read_table(self._lake.resolve(path))
            links = dict(
                zip(
                    table.column("unique_id").to_pylist(),
                    table.column("customer_id").to_pylist(),
                    strict=True,
                )
            )
        links.update(self._deltas())
        return links

    def _deltas(self, keys: Sequence[str] | None = None) -> dict[str, str]:
        with self._store.session() as session:
            query = select(RecordLinkRow.record_key, RecordLinkRow.customer_id)
            if keys is not None:
                query = query.where(RecordLinkRow.record_key.in_(list(keys)))
            return {k: c for k, c in session.execute(query)}

    def _taken_ids(self, previous: Mapping[str, str] | None = None) -> set[str]:
        """Ids in use or retired; a run passes its record links so every live id counts."""
        ids = set(previous.values()) if previous is not None else set()
        with self._store.session() as session:
            ids |= set(session.execute(select(CustomerRow.customer_id)).scalars())
            ids |= set(session.execute(select(AliasRow.alias)).scalars())
        return ids

    @staticmethod
    def _follow(session: Any, customer_id: str) -> str:
        alias = session.get(AliasRow, customer_id)
        return str(alias.customer_id) if alias is not None else customer_id

    def customer_id_of(self, reference: str) -> str:
        """The live customer id a customer id, alias or record key names.

        Raises:
            NotFound: nothing is known by that reference.
        """
        with self._store.session() as session:
            alias = session.get(AliasRow, reference)
            if alias is not None:
                return alias.customer_id
            row = session.get(CustomerRow, reference)
            if row is not None and row.status == "active":
                return row.customer_id
            link = session.get(RecordLinkRow, reference)
            if link is not None:
                return self._follow(session, link.customer_id)
            moved_in = session.execute(
                select(RecordLinkRow.record_key)
                .where(RecordLinkRow.customer_id == reference)
                .limit(1)
            ).scalar_one_or_none()
            if moved_in is not None:
                return reference
        found = self._query_run_file("membership", "unique_id = ?", [reference], "customer_id")
        if found:
            with self._store.session() as session:
                return self._follow(session, str(found[0]["customer_id"]))
        if self._query_run_file("membership", "customer_id = ?", [reference], "1 AS one"):
            return reference
        raise NotFound(
            f"no customer, alias or record {reference!r}; give a customer id (cus_...), "
            "an alias, or a record key such as crm.customers:C1001"
        )

    def records_of(self, customer_id: str) -> list[str]:
        """Record keys of a live customer, sorted: the last run's, with later changes."""
        members = {
            str(r["unique_id"])
            for r in self._query_run_file(
                "membership", "customer_id = ?", [customer_id], "unique_id"
            )
        }
        changes = self._deltas(sorted(members))
        members = {k for k in members if changes.get(k, customer_id) == customer_id}
        with self._store.session() as session:
            members |= set(
                session.execute(
                    select(RecordLinkRow.record_key).where(RecordLinkRow.customer_id == customer_id)
                ).scalars()
            )
        return sorted(members)

    def _identifier_owner(self, kind: str, value: str) -> tuple[str | None, bool] | None:
        """(customer id, shared) for an identifier: real-time first, then the run's index."""
        with self._store.session() as session:
            row = session.get(IdentifierRow, (kind, value))
            if row is not None:
                return row.customer_id, bool(row.shared)
        found = self._query_run_file(
            "identifiers", "kind = ? AND value = ?", [kind, value], "customer_id, shared"
        )
        if not found:
            return None
        return found[0]["customer_id"], bool(found[0]["shared"])

    def _overrides(
        self, index_of: Callable[[Sequence[str]], dict[str, int]]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        with self._store.session() as session:
            rows = session.execute(
                select(OverrideRow.kind, OverrideRow.record_a, OverrideRow.record_b).order_by(
                    OverrideRow.id
                )
            ).all()
        index = index_of(sorted({r[1] for r in rows} | {r[2] for r in rows}))
        must: list[tuple[int, int]] = []
        cannot: list[tuple[int, int]] = []
        for kind, a, b in rows:
            if a in index and b in index:
                (must if kind == "must_link" else cannot).append((index[a], index[b]))
        # A later cannot-link between the same records overrides an earlier must-link.
        blocked = {frozenset(p) for p in cannot}
        must = [p for p in must if frozenset(p) not in blocked]
        return must, cannot

    @staticmethod
    def _move_records(session: Any, keys: Sequence[str], customer_id: str, cause: str) -> None:
        """Record that ``keys`` now belong to ``customer_id`` (until the next run takes it in)."""
        for chunk in chunks(list(keys), 500):
            session.execute(delete(RecordLinkRow).where(RecordLinkRow.record_key.in_(chunk)))
        bulk_insert(
            session,
            RecordLinkRow,
            ("record_key", "customer_id", "run_id"),
            [(k, customer_id, cause) for k in keys],
        )

    def _carry_consent(self, merges: Mapping[str, str], *, actor: str) -> None:
        """Move the consent of merged-away customers onto their survivors, so a refusal
        given under either id still stops decisions about the person."""
        survivors: dict[str, list[str]] = {}
        for away, survivor in merges.items():
            survivors.setdefault(survivor, []).append(away)
        if not survivors:
            return
        consent = ConsentService(self._workspace, self._store, self._ledger)
        for survivor, gone in sorted(survivors.items()):
            consent.merge_customers(gone, survivor, actor=actor)

    @staticmethod
    def _alias(session: Any, alias: str, survivor: str, reason: str, now: str) -> None:
        if session.get(CustomerRow, alias) is None:
            session.add(
                CustomerRow(
                    customer_id=alias,
                    kind="known",
                    status="merged",
                    merged_into=survivor,
                    records=0,
                    profile="{}",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
        session.execute(
            update(CustomerRow)
            .where(CustomerRow.customer_id == alias)
            .values(status="merged", merged_into=survivor, records=0, updated_at=now)
        )
        session.execute(
            update(AliasRow).where(AliasRow.customer_id == alias).values(customer_id=survivor)
        )
        session.execute(delete(AliasRow).where(AliasRow.alias == alias))
        session.add(AliasRow(alias=alias, customer_id=survivor, reason=reason, created_at=now))


def chunks(rows: Sequence[Any], size: int = 20_000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def iso_text(value: Any) -> Any:
    """Timestamps as ISO text; anything else as it is."""
    return value.isoformat() if hasattr(value, "isoformat") else value
