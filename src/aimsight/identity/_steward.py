"""Steward overrides and explanations: link, unlink, and why records are one customer."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import delete, select, update

from aimsight.core.errors import Conflict, InvalidInput
from aimsight.identity._cluster import cluster_records
from aimsight.identity._stable import assign_customer_ids
from aimsight.identity._state import IdentityState, customer_id_from, iso_text, now_text
from aimsight.identity._tables import (
    AliasRow,
    CustomerRow,
    IdentityEventRow,
    OverrideRow,
    RecordLinkRow,
)

__all__ = ["Stewardship"]


class Stewardship(IdentityState):
    """Must-link and cannot-link overrides applied at once and kept for every later run."""

    def link(self, first: str, second: str, *, reason: str, actor: str) -> dict[str, Any]:
        """Must-link: the two customers (or records) are one person, now and in every run.

        The customers merge at once (the one with more records keeps its id; the other
        becomes its alias) and the override is written to the ledger.
        """
        a, b = self.customer_id_of(first), self.customer_id_of(second)
        if a == b:
            raise Conflict(f"{first} and {second} are already one customer ({a})")
        records_a, records_b = self.records_of(a), self.records_of(b)
        if not records_a or not records_b:
            raise Conflict("both customers need at least one record to be linked")
        sizes = {a: len(records_a), b: len(records_b)}
        survivor, merged = sorted((a, b), key=lambda c: (-sizes[c], c))
        now = now_text()
        with self._store.session() as session:
            session.execute(
                delete(OverrideRow).where(
                    OverrideRow.kind == "cannot_link",
                    OverrideRow.record_a.in_(records_a + records_b),
                    OverrideRow.record_b.in_(records_a + records_b),
                )
            )
            session.add(
                OverrideRow(
                    kind="must_link",
                    record_a=first if first in records_a else records_a[0],
                    record_b=second if second in records_b else records_b[0],
                    reason=reason,
                    actor=actor,
                    created_at=now,
                )
            )
            self._move_records(
                session, records_b if merged == b else records_a, survivor, "steward"
            )
            self._alias(session, merged, survivor, "link", now)
            session.add(
                IdentityEventRow(
                    run_id=None,
                    kind="link",
                    before=json.dumps(sorted((a, b))),
                    after=json.dumps([survivor]),
                    detail=json.dumps(
                        {
                            "reason": reason,
                            "actor": actor,
                            "merged": merged,
                            "merged_records": records_b if merged == b else records_a,
                        }
                    ),
                    at=now,
                )
            )
        self._ledger.append(
            "identity.link",
            actor=actor,
            subject=survivor,
            payload={"customers": sorted((a, b)), "survivor": survivor},
            personal={"reason": reason},
        )
        self._carry_consent({merged: survivor}, actor=actor)
        return {"customer_id": survivor, "merged": merged, "records": records_a + records_b}

    def unlink(self, first: str, second: str, *, reason: str, actor: str) -> dict[str, Any]:
        """Cannot-link: the two records (or customers) are different people, in every run.

        When they sit in one customer now, that customer is split at once: its records are
        re-clustered from the last run's links under all overrides; the part holding most
        records keeps the id.
        """
        set_a = self._record_set(first)
        set_b = self._record_set(second)
        if set(set_a) & set(set_b):
            raise InvalidInput(
                f"{first} and {second} share records; name two records of the customer to "
                "separate (see `aimsight identity explain ID`)",
                field="ids",
            )
        now = now_text()
        both = set_a + set_b
        with self._store.session() as session:
            # A cannot-link supersedes a steward's earlier must-link between these records.
            session.execute(
                delete(OverrideRow).where(
                    OverrideRow.kind == "must_link",
                    OverrideRow.record_a.in_(both),
                    OverrideRow.record_b.in_(both),
                )
            )
            for a in set_a:
                for b in set_b:
                    session.add(
                        OverrideRow(
                            kind="cannot_link",
                            record_a=a,
                            record_b=b,
                            reason=reason,
                            actor=actor,
                            created_at=now,
                        )
                    )
        customer = {self.customer_id_of(k) for k in set_a + set_b}
        split: list[str] = []
        if len(customer) == 1:
            split = self._recluster(customer.pop(), now)
        self._ledger.append(
            "identity.unlink",
            actor=actor,
            subject=first,
            payload={"records": len(set_a) + len(set_b), "customers_after": split},
            personal={"reason": reason, "first": first, "second": second},
        )
        return {"records_a": set_a, "records_b": set_b, "customers": split}

    def _record_set(self, reference: str) -> list[str]:
        with self._store.session() as session:
            if session.get(RecordLinkRow, reference) is not None:
                return [reference]
        if self._query_run_file("membership", "unique_id = ?", [reference], "1 AS one"):
            return [reference]
        return self.records_of(self.customer_id_of(reference))

    def _recluster(self, customer_id: str, now: str) -> list[str]:
        """Split one customer along the last run's links under the overrides."""
        records = self.records_of(customer_id)
        index = {k: i for i, k in enumerate(records)}
        left: list[int] = []
        right: list[int] = []
        weight: list[float] = []
        path = self._run_file("edges")
        if path is not None:
            with duckdb.connect() as connection:
                connection.register("_wanted", pa.table({"k": records}))
                rows = connection.execute(
                    "SELECT unique_id_l, unique_id_r, match_weight FROM read_parquet(?) "
                    "WHERE unique_id_l IN (SELECT k FROM _wanted) "
                    "AND unique_id_r IN (SELECT k FROM _wanted)",
                    [str(self._lake.resolve(path))],
                ).fetchall()
            for a, b, w in rows:
                left.append(index[a])
                right.append(index[b])
                weight.append(float(w))
        must, cannot = self._overrides(lambda keys: {k: index[k] for k in keys if k in index})
        clustering = cluster_records(
            len(records),
            np.array(left, dtype=np.int64),
            np.array(right, dtype=np.int64),
            np.array(weight, dtype=np.float64),
            must_link=must,
            cannot_link=cannot,
        )
        with self._store.session() as session:
            taken = self._taken_ids(dict.fromkeys(records, customer_id))
            assignment = assign_customer_ids(
                records,
                clustering.labels,
                dict.fromkeys(records, customer_id),
                new_id=lambda recs: customer_id_from(recs, taken),
            )
            # A part made only of records a steward's link once merged in gets that merged
            # id back instead of a fresh one.
            aliases = set(
                session.execute(
                    select(AliasRow.alias).where(AliasRow.customer_id == customer_id)
                ).scalars()
            )
            merged_records: dict[str, set[str]] = {}
            for detail in session.execute(
                select(IdentityEventRow.detail).where(IdentityEventRow.kind == "link")
            ).scalars():
                info = json.loads(detail)
                if info.get("merged") in aliases:
                    merged_records[info["merged"]] = set(info.get("merged_records", []))
            parts: dict[str, set[str]] = {}
            for key, customer in zip(records, assignment.customer_of, strict=True):
                parts.setdefault(customer, set()).add(key)
            rename = {
                part: alias
                for part, keys in parts.items()
                if part != customer_id
                for alias, owned in merged_records.items()
                if keys <= owned
            }
            assignment.customer_of[:] = [rename.get(c, c) for c in assignment.customer_of]
            after = sorted(set(assignment.customer_of))
            sizes = {c: assignment.customer_of.count(c) for c in after}
            for customer in after:
                if customer != customer_id:
                    moved = [
                        k
                        for k, c in zip(records, assignment.customer_of, strict=True)
                        if c == customer
                    ]
                    self._move_records(session, moved, customer, "steward")
            for customer in after:
                if customer == customer_id:
                    session.execute(
                        update(CustomerRow)
                        .where(CustomerRow.customer_id == customer)
                        .values(records=sizes[customer], updated_at=now)
                    )
                elif customer in aliases:
                    session.execute(delete(AliasRow).where(AliasRow.alias == customer))
                    session.execute(
                        update(CustomerRow)
                        .where(CustomerRow.customer_id == customer)
                        .values(
                            status="active",
                            merged_into=None,
                            records=sizes[customer],
                            updated_at=now,
                        )
                    )
                else:
                    session.add(
                        CustomerRow(
                            customer_id=customer,
                            kind="known",
                            status="active",
                            records=sizes[customer],
                            profile="{}",
                            created_at=now,
                            updated_at=now,
                        )
                    )
            if len(after) > 1:
                session.add(
                    IdentityEventRow(
                        run_id=None,
                        kind="split",
                        before=json.dumps([customer_id]),
                        after=json.dumps(after),
                        detail=json.dumps({"records": records[:100], "cause": "unlink"}),
                        at=now,
                    )
                )
        return after

    def explain(self, reference: str) -> dict[str, Any]:
        """Which records make up a customer and which links joined them.

        Each link gives the rule that made it (a deterministic identifier or the
        probabilistic model), its match weight and probability, and each comparison's
        share of the weight, so a steward sees *why* two records are one person.
        """
        customer_id = self.customer_id_of(reference)
        records = self.records_of(customer_id)
        links: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        edges_path = self._run_file("edges")
        records_path = self._run_file("records")
        if edges_path is not None and records:
            with duckdb.connect() as connection:
                connection.register("_wanted", pa.table({"k": records}))
                table = connection.sql(
                    "SELECT * FROM read_parquet(?) WHERE unique_id_l IN (SELECT k FROM _wanted) "
                    "AND unique_id_r IN (SELECT k FROM _wanted) "
                    "ORDER BY accepted DESC, match_weight DESC",
                    params=[str(self._lake.resolve(edges_path))],
                ).to_arrow_table()
                if records_path is not None and self._lake.resolve(records_path).exists():
                    rows = connection.sql(
                        "SELECT * EXCLUDE (customer_id) FROM read_parquet(?) "
                        "WHERE unique_id IN (SELECT k FROM _wanted) ORDER BY unique_id",
                        params=[str(self._lake.resolve(records_path))],
                    ).to_arrow_table()
                    for row in rows.to_pylist():
                        details.append(
                            {
                                k: iso_text(v)
                                for k, v in row.items()
                                if v is not None and not k.startswith("m_")
                            }
                        )
            for row in table.to_pylist():
                weight = row["match_weight"]
                links.append(
                    {
                        "left": row["unique_id_l"],
                        "right": row["unique_id_r"],
                        "rule": row["rule"],
                        "accepted": bool(row["accepted"]),
                        "match_weight": None if weight is None or np.isinf(weight) else weight,
                        "match_probability": row["match_probability"],
                        "comparisons": {
                            k[3:]: v
                            for k, v in row.items()
                            if k.startswith("mw_")
                            and not k.startswith("mw_tf_adj_")
                            and v is not None
                        },
                    }
                )
        with self._store.session() as session:
            overrides = [
                {
                    "kind": o.kind,
                    "record_a": o.record_a,
                    "record_b": o.record_b,
                    "reason": o.reason,
                    "actor": o.actor,
                    "created_at": o.created_at,
                }
                for o in session.execute(
                    select(OverrideRow).where(
                        OverrideRow.record_a.in_(records) | OverrideRow.record_b.in_(records)
                    )
                ).scalars()
            ]
            aliases = sorted(
                session.execute(
                    select(AliasRow.alias).where(AliasRow.customer_id == customer_id)
                ).scalars()
            )
            events = [
                {
                    "kind": e.kind,
                    "before": json.loads(e.before),
                    "after": json.loads(e.after),
                    "run_id": e.run_id,
                    "at": e.at,
                }
                for e in session.execute(
                    select(IdentityEventRow)
                    .where(
                        IdentityEventRow.after.contains(customer_id)
                        | IdentityEventRow.before.contains(customer_id)
                    )
                    .order_by(IdentityEventRow.id)
                ).scalars()
            ]
        return {
            "customer_id": customer_id,
            "asked_for": reference,
            "records": details or [{"unique_id": k} for k in records],
            "links": links,
            "overrides": overrides,
            "aliases": aliases,
            "events": events,
        }
