"""Who is who: lookups by identifier, golden profiles, real-time resolution, evaluation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import select

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.ids import new_id
from aimsight.identity._evaluate import Scores, cluster_scores, pair_scores, read_truth
from aimsight.identity._state import (
    REALTIME,
    IdentityState,
    Resolution,
    customer_id_from,
    iso_text,
    normalise_identifier,
    now_text,
)
from aimsight.identity._tables import (
    AliasRow,
    CustomerRow,
    IdentifierRow,
    IdentityEventRow,
    IdentityRunRow,
    ObservationRow,
    RecordLinkRow,
    ReviewRow,
)

__all__ = ["Directory"]


class Directory(IdentityState):
    """Answers about customers for decisions, stewards and evaluators."""

    def record_links(self) -> pa.Table:
        """Every source record and the customer it belongs to now, for joins over the lake.

        Columns ``unique_id`` (``dataset:record_id``), ``dataset``, ``record_id`` and
        ``customer_id``: the latest run's membership with steward and real-time changes on
        top, merged-away ids followed to their survivor. Features and exports join source
        rows to customers through this table instead of reading identity's own files.

        Raises:
            NotFound: no identity run has completed yet.
        """
        if self._run_file("membership") is None:
            raise NotFound("no identity run has completed yet; run `aimsight identity run` first")
        links = self._previous_links()
        with self._store.session() as session:
            aliases = {
                a: s for a, s in session.execute(select(AliasRow.alias, AliasRow.customer_id))
            }
        keys = sorted(links)
        customers = []
        for key in keys:
            customer = links[key]
            seen = 0
            while customer in aliases and seen < 100:  # follow merges to the survivor
                customer = aliases[customer]
                seen += 1
            customers.append(customer)
        datasets, record_ids = [], []
        for key in keys:
            dataset, _, record_id = key.partition(":")
            datasets.append(dataset)
            record_ids.append(record_id)
        return pa.table(
            {
                "unique_id": pa.array(keys, pa.string()),
                "dataset": pa.array(datasets, pa.string()),
                "record_id": pa.array(record_ids, pa.string()),
                "customer_id": pa.array(customers, pa.string()),
            }
        )

    def identifier_links(self, kind: str) -> pa.Table:
        """Each identifier value of ``kind`` (``email``, ``phone``...) and its one customer.

        Columns ``value`` (as the lake holds it after standardisation) and ``customer_id``.
        Shared values (an ``info@`` address) are left out: they name no one person.

        Raises:
            NotFound: no identity run has completed yet.
        """
        if self._run_file("identifiers") is None:
            raise NotFound("no identity run has completed yet; run `aimsight identity run` first")
        rows = self._query_run_file(
            "identifiers", "kind = ? AND NOT shared", [kind], "value, customer_id"
        )
        with self._store.session() as session:
            aliases = {
                a: c for a, c in session.execute(select(AliasRow.alias, AliasRow.customer_id))
            }
        return pa.table(
            {
                "value": pa.array([r["value"] for r in rows], pa.string()),
                "customer_id": pa.array(
                    [aliases.get(r["customer_id"], r["customer_id"]) for r in rows], pa.string()
                ),
            }
        )

    def lookup(self, kind: str, value: str) -> dict[str, Any]:
        """The customer an identifier names, with their golden record.

        ``kind`` is one of the configured lookup identifiers (e-mail, phone, CRM id, device
        id) or ``id`` for a customer id, alias or record key.

        Raises:
            NotFound: the identifier is unknown, or shared by several people.
        """
        if kind == "id":
            return self.profile(self.customer_id_of(value))
        config = self.config()
        if kind not in config.lookup_identifiers:
            raise InvalidInput(
                f"cannot look customers up by {kind!r}; use id or one of "
                f"{', '.join(config.lookup_identifiers)}",
                field="kind",
            )
        found = self._identifier_owner(kind, normalise_identifier(kind, value))
        if found is None:
            raise NotFound(f"no customer has {kind} {value!r}")
        if found[1] or found[0] is None:
            raise NotFound(
                f"{kind} {value!r} is shared by several people, so it names no one customer"
            )
        return self.profile(self.customer_id_of(found[0]))

    def profile(self, customer_id: str) -> dict[str, Any]:
        """A live customer's golden record with provenance, records and aliases."""
        customer_id = self.customer_id_of(customer_id)
        with self._store.session() as session:
            row = session.get(CustomerRow, customer_id)
            info = {
                "customer_id": customer_id,
                "kind": row.kind if row else "known",
                "status": row.status if row else "active",
                "created_at": row.created_at if row else None,
                "updated_at": row.updated_at if row else None,
            }
            aliases = sorted(
                session.execute(
                    select(AliasRow.alias).where(AliasRow.customer_id == customer_id)
                ).scalars()
            )
            stored = json.loads(row.profile or "{}") if row else {}
        attributes = stored.get("attributes", {})
        path = self._run_file("profiles")
        if path is not None:
            with duckdb.connect() as connection:
                table = connection.sql(
                    "SELECT * FROM read_parquet(?) WHERE customer_id = ?",
                    params=[str(self._lake.resolve(path)), customer_id],
                ).to_arrow_table()
            if table.num_rows:
                values = table.to_pylist()[0]
                info["created_at"] = info["created_at"] or iso_text(values.get("first_seen"))
                info["updated_at"] = info["updated_at"] or iso_text(values.get("last_updated"))
                for name in self.config().attributes:
                    if values.get(name) is not None:
                        attributes[name] = {
                            "value": values[name],
                            "dataset": values.get(f"{name}__dataset"),
                            "record_id": values.get(f"{name}__record_id"),
                            "updated_at": iso_text(values.get(f"{name}__updated_at")),
                        }
        info["created_at"] = info["created_at"] or ""
        info["updated_at"] = info["updated_at"] or ""
        return {
            **info,
            "aliases": aliases,
            "records": self.records_of(customer_id),
            "attributes": attributes,
        }

    def resolve(self, identifiers: Mapping[str, str], *, actor: str = "system") -> Resolution:
        """The customer behind identifiers seen now (a decision request, a web visit).

        Known identifiers give their customer. Unknown ones get a new anonymous profile that
        later runs merge with a known customer once an identifier links them. Identifiers
        naming different customers are a conflict: the ``realtime_priority`` rule picks one,
        and the choice is recorded as an event.
        """
        config = self.config()
        usable = {
            k: normalise_identifier(k, v)
            for k, v in identifiers.items()
            if v is not None and str(v).strip()
        }
        unknown_kinds = sorted(set(usable) - set(config.lookup_identifiers))
        if unknown_kinds or not usable:
            raise InvalidInput(
                "give at least one identifier among "
                f"{', '.join(config.lookup_identifiers)}"
                + (f"; unknown: {', '.join(unknown_kinds)}" if unknown_kinds else ""),
                field="identifiers",
            )
        matched: dict[str, str] = {}
        ignored: dict[str, str] = {}
        for kind, value in usable.items():
            owner = self._identifier_owner(kind, value)
            if owner is None:
                continue
            if owner[1] or owner[0] is None:
                ignored[kind] = "shared by several people"
                continue
            matched[kind] = owner[0]
        matched = {k: self.customer_id_of(c) for k, c in matched.items()}
        now = now_text()
        candidates = sorted(set(matched.values()))
        rule: str | None = None
        if not candidates:
            customer_id = customer_id_from((new_id("rt"),), self._taken_ids())
            status, kind = "new", "anonymous"
        elif len(candidates) == 1:
            customer_id, status = candidates[0], "known"
            kind = self._kind_of(customer_id)
        else:
            order = list(config.realtime_priority) + sorted(matched)
            decider = next(k for k in order if k in matched)
            customer_id, status, rule = matched[decider], "conflict", f"priority:{decider}"
            kind = self._kind_of(customer_id)
        fresh = {k: v for k, v in usable.items() if k not in matched and k not in ignored}
        record_key = f"{REALTIME}:{new_id('obs')}"
        with self._store.session() as session:
            if status == "new":
                session.add(
                    CustomerRow(
                        customer_id=customer_id,
                        kind="anonymous",
                        status="active",
                        records=1,
                        profile=json.dumps(
                            {
                                "attributes": {
                                    k: {"value": v, "dataset": REALTIME, "updated_at": now}
                                    for k, v in usable.items()
                                }
                            }
                        ),
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.add(
                    IdentityEventRow(
                        run_id=None,
                        kind="create",
                        before="[]",
                        after=json.dumps([customer_id]),
                        detail=json.dumps({"cause": "realtime", "kinds": sorted(usable)}),
                        at=now,
                    )
                )
            if status == "conflict":
                session.add(
                    IdentityEventRow(
                        run_id=None,
                        kind="conflict",
                        before=json.dumps(candidates),
                        after=json.dumps([customer_id]),
                        detail=json.dumps({"rule": rule, "matched": matched, "actor": actor}),
                        at=now,
                    )
                )
            if fresh:
                session.add(
                    RecordLinkRow(record_key=record_key, customer_id=customer_id, run_id="realtime")
                )
                for k, v in fresh.items():
                    session.add(
                        ObservationRow(record_key=record_key, kind=k, value=v, observed_at=now)
                    )
                    session.add(
                        IdentifierRow(
                            kind=k, value=v, customer_id=customer_id, shared=False, records=1
                        )
                    )
        return Resolution(
            customer_id=customer_id,
            status=status,
            kind=kind,
            matched=matched,
            candidates=candidates if status == "conflict" else [],
            ignored=ignored,
            rule=rule,
        )

    def _kind_of(self, customer_id: str) -> str:
        with self._store.session() as session:
            row = session.get(CustomerRow, customer_id)
            return row.kind if row is not None else "known"

    def evaluate(self, truth: Path, *, datasets: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Precision, recall and F1 of the current customers against a ground-truth CSV.

        Only records that appear in both are scored; the counts of the others are reported.
        """
        config = self.config()
        short = {s.dataset.split(".", 1)[0]: s.dataset for s in config.sources}
        person = read_truth(truth, {**short, **(datasets or {})})
        current = self._previous_links()
        common = sorted(set(person) & set(current))
        if not common:
            raise InvalidInput(
                f"no record of {truth} has been resolved; run `aimsight identity run` first "
                "and check the ground truth names the same datasets",
                field="truth",
            )
        clusters = cluster_scores([current[k] for k in common], [person[k] for k in common])
        links: Scores | None = None
        path = self._run_file("edges")
        if path is not None:
            with duckdb.connect() as connection:
                table = connection.sql(
                    "SELECT unique_id_l, unique_id_r FROM read_parquet(?)",
                    params=[str(self._lake.resolve(path))],
                ).to_arrow_table()
            scoped = {k: person[k] for k in common}
            links = pair_scores(table.column(0).to_pylist(), table.column(1).to_pylist(), scoped)
        return {
            "records_scored": len(common),
            "records_without_truth": len(set(current) - set(person)),
            "truth_records_unresolved": len(set(person) - set(current)),
            "cluster": clusters.to_dict(),
            "links": links.to_dict() if links else None,
        }

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Recent runs, newest first."""
        with self._store.session() as session:
            rows = session.execute(
                select(IdentityRunRow).order_by(IdentityRunRow.started_at.desc()).limit(limit)
            ).scalars()
            return [
                {
                    "run_id": r.run_id,
                    "status": r.status,
                    "backend": r.backend,
                    "model_version": r.model_version,
                    "records": r.records,
                    "customers": r.customers,
                    "threshold": r.threshold,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "summary": json.loads(r.summary or "{}"),
                }
                for r in rows
            ]

    def reviews(self, status: str = "open") -> list[dict[str, Any]]:
        """Merges held for review (clusters that would have grown too large)."""
        with self._store.session() as session:
            return [
                {
                    "id": r.id,
                    "run_id": r.run_id,
                    "reason": r.reason,
                    "record_a": r.record_a,
                    "record_b": r.record_b,
                    "detail": r.detail,
                    "status": r.status,
                    "created_at": r.created_at,
                }
                for r in session.execute(
                    select(ReviewRow).where(ReviewRow.status == status).order_by(ReviewRow.id)
                ).scalars()
            ]
