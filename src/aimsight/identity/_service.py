"""``IdentityService``: resolve the lake's records into customers and answer who is who.

A run reads every configured dataset's records from the lake, blanks shared identifiers,
links records deterministically (exact e-mail, CRM id, device id) and probabilistically
(Splink), clusters the links under the guards (steward overrides, conflicting birth dates,
a size limit), gives each cluster its stable customer id, builds golden records, and stores
what changed. CLI, API and the demo all call this one service.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, select, update

from aimsight.core.errors import InvalidInput
from aimsight.core.ids import new_id
from aimsight.core.workspace import Workspace
from aimsight.identity._bulk import bulk_insert
from aimsight.identity._cluster import Clustering, cluster_records
from aimsight.identity._config import (
    MatchingConfig,
)
from aimsight.identity._directory import Directory
from aimsight.identity._golden import build_profiles
from aimsight.identity._matcher import (
    DuckDBMatching,
    MatchingBackend,
    SparkMatching,
    check_blocking,
    choose_threshold,
    create_match_input,
    predict_pairs,
    train_model,
    validate_model,
)
from aimsight.identity._records import RECORDS, build_records, find_shared_values, quote
from aimsight.identity._stable import assign_customer_ids
from aimsight.identity._state import (
    CONFIG_PATH,
    REALTIME,
    ProgressCallback,
    Resolution,
    RunSummary,
    chunks,
    customer_id_from,
    now_text,
)
from aimsight.identity._steward import Stewardship
from aimsight.identity._tables import (
    CustomerRow,
    IdentifierRow,
    IdentityEventRow,
    IdentityModelRow,
    IdentityRunRow,
    ObservationRow,
    RecordLinkRow,
    ReviewRow,
)
from aimsight.ingest import IngestService
from aimsight.store import Lake, Ledger, Store

__all__ = ["CONFIG_PATH", "IdentityService", "Resolution", "RunSummary"]


class IdentityService(Stewardship, Directory):
    """Resolution runs, steward overrides, explanations, lookups and real-time resolution.

    Args:
        workspace: where the lake, the matching configuration and model files live.
        store: the operational store (record links, customers, aliases, overrides...).
        ledger: where runs and steward overrides are recorded.
        backend: ``duckdb`` (default) or ``spark`` (on the ``identity.spark_master`` setting);
            or a ready :class:`MatchingBackend`.
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        *,
        backend: str | MatchingBackend = "duckdb",
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._lake = Lake.for_workspace(workspace)
        if isinstance(backend, MatchingBackend):
            self._backend = backend
        elif backend == "duckdb":
            self._backend = DuckDBMatching()
        elif backend == "spark":
            self._backend = SparkMatching(master=workspace.settings.identity.spark_master)
        else:
            raise InvalidInput(
                f"unknown identity backend {backend!r}; use duckdb or spark", field="backend"
            )

    def run(
        self,
        *,
        actor: str = "system",
        retrain: bool = False,
        config: MatchingConfig | None = None,
        progress: ProgressCallback | None = None,
    ) -> RunSummary:
        """Resolve every record in the lake into customers and store the result.

        The trained model is reused while the configuration is unchanged, so a rerun scores
        pairs exactly as before; ``retrain`` trains a new model version.
        """
        config = config or self.config()
        step = progress or (lambda _label: None)
        run_id = new_id("run", 20)
        started = now_text()
        seconds: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            seconds[name] = round(now - clock, 3)
            clock = now

        with self._store.session() as session:
            session.add(
                IdentityRunRow(
                    run_id=run_id,
                    status="running",
                    backend=self._backend.name,
                    config_digest=config.digest,
                    started_at=started,
                    actor=actor,
                )
            )
        connection = self._lake_connection()
        try:
            step("reading records")
            records = build_records(connection, config)
            self._add_observations(connection, config)
            records = int(connection.execute(f"SELECT count(*) FROM {RECORDS}").fetchall()[0][0])
            if records == 0:
                raise InvalidInput(
                    "there are no records to resolve; ingest the datasets named in "
                    f"{CONFIG_PATH} first",
                    field="sources",
                )
            shared = find_shared_values(connection, config)
            pairs_per_rule = check_blocking(connection, config, records)
            lap("prepare")
            step("training" if retrain else "loading the model")
            create_match_input(connection, config)
            version, model, trained = self._model(connection, config, run_id, retrain)
            lap("train")
            step("scoring pairs")
            pairs, histogram = predict_pairs(
                connection,
                config,
                self._backend,
                model,
                min_probability=config.clustering.min_threshold,
            )
            threshold = choose_threshold(config, histogram)
            lap("score")
            step("clustering")
            clustering, edges = self._cluster(connection, config, pairs, threshold)
            lap("cluster")
            step("assigning ids")
            keys = [
                str(k)
                for k in connection.sql(f"SELECT unique_id FROM {RECORDS} ORDER BY unique_id")
                .to_arrow_table()
                .column(0)
                .to_pylist()
            ]
            previous = self._previous_links()
            taken = self._taken_ids(previous)
            assignment = assign_customer_ids(
                keys,
                clustering.labels,
                previous,
                new_id=lambda recs: customer_id_from(recs, taken),
            )
            lap("ids")
            step("building golden records")
            connection.register(
                "_membership_arrow",
                pa.table({"unique_id": keys, "customer_id": assignment.customer_of}),
            )
            connection.execute(
                "CREATE OR REPLACE TEMP TABLE identity_membership AS "
                "SELECT * FROM _membership_arrow"
            )
            connection.unregister("_membership_arrow")
            customers = build_profiles(
                connection,
                attributes=config.attributes,
                rules=dict(config.survivorship),
                default=config.survivorship_default,
            )
            identifiers = self._identifier_table(connection, config, shared)
            edges_path, profiles_path = self._write_lake_files(
                connection, run_id, edges, identifiers
            )
            lap("golden")
            step("saving")
            held = [r for r in clustering.refusals if r.reason == "too_large"]
            conflicts = sum(r.reason == "conflict" for r in clustering.refusals)
            merges = self._save(run_id, keys, assignment, previous, held, identifiers)
            self._carry_consent(merges, actor=actor)
            lap("save")
            counts = {"create": 0, "merge": 0, "split": 0}
            for event in assignment.events:
                counts[event.kind] = counts.get(event.kind, 0) + 1
            deterministic = int(np.isinf(edges.column("match_weight").to_numpy()).sum())
            summary = RunSummary(
                run_id=run_id,
                backend=self._backend.name,
                records=records,
                customers=customers,
                model_version=version,
                trained=trained,
                threshold=round(threshold, 6),
                links=edges.num_rows,
                deterministic_links=deterministic,
                created=counts["create"],
                merged=counts["merge"],
                split=counts["split"],
                held_for_review=len(held),
                refused_conflicts=conflicts,
                shared_identifiers=len(shared),
                pairs_per_rule=pairs_per_rule,
                seconds=seconds,
            )
            with self._store.session() as session:
                session.execute(
                    update(IdentityRunRow)
                    .where(IdentityRunRow.run_id == run_id)
                    .values(
                        status="completed",
                        model_version=version,
                        records=records,
                        customers=customers,
                        threshold=threshold,
                        summary=json.dumps(summary.to_dict()),
                        edges_path=edges_path,
                        profiles_path=profiles_path,
                        finished_at=now_text(),
                    )
                )
            self._ledger.append(
                "identity.run",
                actor=actor,
                subject=run_id,
                payload={
                    k: v
                    for k, v in summary.to_dict().items()
                    if k not in ("seconds", "pairs_per_rule")
                },
            )
            return summary
        except BaseException:
            with self._store.session() as session:
                session.execute(
                    update(IdentityRunRow)
                    .where(IdentityRunRow.run_id == run_id)
                    .values(status="failed", finished_at=now_text())
                )
            raise
        finally:
            connection.close()

    def _lake_connection(self) -> duckdb.DuckDBPyConnection:
        """The lake's views, with DuckDB held to half the machine's memory and spilling to
        the workspace: the run's own Python structures need the rest at millions of records."""
        ingest = IngestService(self._workspace, self._store, self._ledger)
        connection = ingest.lake()
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        spill = self._workspace.root / ".tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        connection.execute(f"SET memory_limit = '{max(1, total // 2**31)}GB'")
        connection.execute(f"SET temp_directory = '{spill.as_posix()}'")
        return connection

    def _add_observations(
        self, connection: duckdb.DuckDBPyConnection, config: MatchingConfig
    ) -> None:
        """Real-time observations join the records as identifier-only records."""
        with self._store.session() as session:
            rows = session.execute(
                select(ObservationRow.record_key, ObservationRow.kind, ObservationRow.value)
            ).all()
        if not rows:
            return
        attributes = set(config.attributes)
        by_record: dict[str, dict[str, str]] = {}
        for key, kind, value in rows:
            if kind in attributes:
                by_record.setdefault(key, {})[kind] = value
        if not by_record:
            return
        columns: dict[str, list[Any]] = {
            "unique_id": list(by_record),
            "dataset": [REALTIME] * len(by_record),
            "record_id": [k.split(":", 1)[1] for k in by_record],
            "trust": [0] * len(by_record),
        }
        for attribute in config.attributes:
            values = [found.get(attribute) for found in by_record.values()]
            columns[attribute] = values
            columns["m_" + attribute] = values
        connection.register("_observations", pa.table(columns))
        names = ", ".join(quote(c) for c in columns)
        connection.execute(f"INSERT INTO {RECORDS} ({names}) SELECT {names} FROM _observations")
        connection.unregister("_observations")

    def _model(
        self,
        connection: duckdb.DuckDBPyConnection,
        config: MatchingConfig,
        run_id: str,
        retrain: bool,
    ) -> tuple[int, dict[str, Any], bool]:
        with self._store.session() as session:
            latest = session.execute(
                select(IdentityModelRow).order_by(IdentityModelRow.version.desc()).limit(1)
            ).scalar_one_or_none()
            latest_info = (latest.version, latest.path, latest.config_digest) if latest else None
        if latest_info and not retrain and latest_info[2] == config.digest:
            path = self._workspace.artifacts_dir / latest_info[1]
            model = validate_model(json.loads(path.read_text(encoding="utf-8")))
            return latest_info[0], model, False
        model = train_model(connection, config, self._backend)
        version = (latest_info[0] if latest_info else 0) + 1
        relative = f"identity/models/v{version}.json"
        target = self._workspace.artifacts_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(model, indent=1, sort_keys=True)
        target.write_text(text, encoding="utf-8")
        summary = {
            "probability_two_random_records_match": model.get(
                "probability_two_random_records_match"
            ),
            "comparisons": [c.get("output_column_name") for c in model.get("comparisons", [])],
            "config": config.to_dict(),
        }
        with self._store.session() as session:
            session.add(
                IdentityModelRow(
                    version=version,
                    run_id=run_id,
                    backend=self._backend.name,
                    config_digest=config.digest,
                    path=relative,
                    sha256=hashlib.sha256(text.encode()).hexdigest(),
                    summary=json.dumps(summary),
                    created_at=now_text(),
                )
            )
        return version, model, True

    def _cluster(
        self,
        connection: duckdb.DuckDBPyConnection,
        config: MatchingConfig,
        pairs: pa.Table,
        threshold: float,
    ) -> tuple[Clustering, pa.Table]:
        """Deterministic and scored links, clustered under overrides and guards."""
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE _index AS "
            f"SELECT unique_id, CAST(row_number() OVER (ORDER BY unique_id) - 1 AS BIGINT) AS i "
            f"FROM {RECORDS}"
        )
        n = int(connection.execute("SELECT count(*) FROM _index").fetchall()[0][0])
        weight = float(np.log2(threshold / (1 - threshold)))
        connection.register("_scored", pairs)
        parts = [
            f"SELECT unique_id_l, unique_id_r, match_weight, match_probability, "
            f"'probabilistic' AS rule FROM _scored WHERE match_weight >= {weight!r}"
        ]
        has_first = "first_name" in config.attributes
        for attribute in config.deterministic:
            key = quote("m_" + attribute)
            same_initial = (
                "(l.m_first_name IS NULL OR r.m_first_name IS NULL OR "
                "left(l.m_first_name, 1) = left(r.m_first_name, 1))"
                if has_first
                else "TRUE"
            )
            parts.append(
                f"SELECT l.unique_id, r.unique_id, CAST('inf' AS DOUBLE), 1.0, "
                f"'{attribute}' FROM {RECORDS} l JOIN {RECORDS} r "
                f"ON l.{key} = r.{key} AND l.unique_id < r.unique_id "
                f"WHERE l.{key} IN (SELECT {key} FROM {RECORDS} WHERE {key} IS NOT NULL "
                f"GROUP BY {key} HAVING count(*) <= {int(config.shared_max_records)}) "
                f"AND {same_initial}"
            )
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE _links AS SELECT unique_id_l, unique_id_r, "
            "max(match_weight) AS match_weight, max(match_probability) AS match_probability, "
            "string_agg(DISTINCT rule, ',' ORDER BY rule) AS rule FROM ("
            + " UNION ALL ".join(parts)
            + ") GROUP BY unique_id_l, unique_id_r"
        )
        connection.unregister("_scored")
        links = connection.sql(
            'SELECT k.*, a.i AS "left", b.i AS "right" FROM _links k '
            "JOIN _index a ON a.unique_id = k.unique_id_l "
            "JOIN _index b ON b.unique_id = k.unique_id_r ORDER BY a.i, b.i"
        ).to_arrow_table()
        index_of = self._index_lookup(connection)
        must, cannot = self._overrides(index_of)
        conflict_keys: dict[str, np.ndarray] = {}
        for attribute in config.clustering.conflicts:
            key = quote("m_" + attribute)
            codes = connection.sql(
                f"SELECT CAST(CASE WHEN {key} IS NULL THEN -1 ELSE dense_rank() OVER "
                f"(PARTITION BY {key} IS NULL ORDER BY {key}) - 1 END AS BIGINT) AS code "
                f"FROM {RECORDS} ORDER BY unique_id"
            ).to_arrow_table()
            conflict_keys[attribute] = codes.column("code").to_numpy()
        clustering = cluster_records(
            n,
            links.column("left").to_numpy(),
            links.column("right").to_numpy(),
            links.column("match_weight").to_numpy(),
            must_link=must,
            cannot_link=cannot,
            conflict_keys=conflict_keys,
            max_cluster_size=config.clustering.max_cluster_size,
        )
        edges = links.drop_columns(["left", "right"])
        edges = edges.append_column("accepted", pa.array(clustering.accepted))
        return clustering, self._with_comparisons(connection, edges, pairs)

    @staticmethod
    def _with_comparisons(
        connection: duckdb.DuckDBPyConnection, edges: pa.Table, pairs: pa.Table
    ) -> pa.Table:
        """Edges with each comparison's match weight (for ``explain``)."""
        extra = [c for c in pairs.column_names if c.startswith("mw_")]
        if not extra:
            return edges
        connection.register("_edges", edges)
        connection.register("_pairs", pairs)
        columns = ", ".join(f"p.{quote(c)}" for c in extra)
        joined = connection.sql(
            f"SELECT e.*, {columns} FROM _edges e LEFT JOIN _pairs p "
            "ON p.unique_id_l = e.unique_id_l AND p.unique_id_r = e.unique_id_r"
        ).to_arrow_table()
        connection.unregister("_edges")
        connection.unregister("_pairs")
        return joined

    @staticmethod
    def _index_lookup(
        connection: duckdb.DuckDBPyConnection,
    ) -> Callable[[Sequence[str]], dict[str, int]]:
        def lookup(keys: Sequence[str]) -> dict[str, int]:
            if not keys:
                return {}
            connection.register("_wanted", pa.table({"unique_id": list(keys)}))
            rows = connection.execute(
                "SELECT i.unique_id, i.i FROM _index i JOIN _wanted w USING (unique_id)"
            ).fetchall()
            connection.unregister("_wanted")
            return {str(k): int(v) for k, v in rows}

        return lookup

    def _write_lake_files(
        self,
        connection: duckdb.DuckDBPyConnection,
        run_id: str,
        edges: pa.Table,
        identifiers: pa.Table,
    ) -> tuple[str, str]:
        """The run's results as lake files: bulk data lives in the lake, not the store.

        ``membership`` (record -> customer, sorted by record) and ``identifiers`` (sorted by
        kind and value) are sorted so point lookups read one row group.
        """
        files = {
            "profiles": connection.sql(
                "SELECT * FROM identity_profiles ORDER BY customer_id"
            ).to_arrow_table(),
            "records": connection.sql(
                f"SELECT r.*, m.customer_id FROM {RECORDS} r JOIN identity_membership m "
                "USING (unique_id) ORDER BY m.customer_id, r.unique_id"
            ).to_arrow_table(),
            "membership": connection.sql(
                "SELECT unique_id, customer_id FROM identity_membership ORDER BY unique_id"
            ).to_arrow_table(),
            "identifiers": identifiers,
            "edges": edges,
        }
        self._lake.write_tables(
            [(f"identity/{kind}/{run_id}.parquet", table) for kind, table in files.items()]
        )
        return f"identity/edges/{run_id}.parquet", f"identity/profiles/{run_id}.parquet"

    def _save(
        self,
        run_id: str,
        keys: list[str],
        assignment: Any,
        previous: Mapping[str, str],
        held: Sequence[Any],
        identifiers: pa.Table,
    ) -> dict[str, str]:
        """Store what the lake files do not say: aliases, merge and split events, held
        merges, and which changes since the last run this run has taken in.

        Returns every customer merged away in this run and its survivor."""
        now = now_text()
        live = set(assignment.customer_of)
        present = set(keys)
        with self._store.session() as session:
            special = {
                c: (kind, status)
                for c, kind, status in session.execute(
                    select(CustomerRow.customer_id, CustomerRow.kind, CustomerRow.status)
                )
            }
            for customer in live & set(special):
                if special[customer] != ("known", "active"):
                    session.execute(
                        update(CustomerRow)
                        .where(CustomerRow.customer_id == customer)
                        .values(kind="known", status="active", merged_into=None, updated_at=now)
                    )
            for alias, survivor in assignment.aliases.items():
                self._alias(session, alias, survivor, "merge", now)
            # A customer whose every record moved elsewhere (a real-time profile whose only
            # observation joined a known customer) becomes an alias of where it went.
            now_of = dict(zip(keys, assignment.customer_of, strict=True))
            moved_to: dict[str, str] = {}
            for key, before in previous.items():
                if key in now_of and before not in live:
                    moved_to.setdefault(before, now_of[key])
            merges = dict(assignment.aliases)
            for customer, survivor in moved_to.items():
                if customer not in assignment.aliases:
                    self._alias(session, customer, survivor, "merge", now)
                    merges[customer] = survivor
            bulk_insert(
                session,
                IdentityEventRow,
                ("run_id", "kind", "before", "after", "detail", "at"),
                [
                    (
                        run_id,
                        event.kind,
                        json.dumps(list(event.before)),
                        json.dumps(list(event.after)),
                        json.dumps({"records": list(event.records)[:100]}),
                        now,
                    )
                    for event in assignment.events
                    if event.kind != "create"  # creations are counted in the run summary
                ],
            )
            for refusal in held:
                session.add(
                    ReviewRow(
                        run_id=run_id,
                        reason="cluster_too_large",
                        record_a=keys[refusal.left],
                        record_b=keys[refusal.right],
                        detail=refusal.detail,
                        status="open",
                        created_at=now,
                    )
                )
            # Changes since the last run that this run's membership now holds.
            taken_in = [
                k
                for k in session.execute(select(RecordLinkRow.record_key)).scalars()
                if k in present
            ]
            for chunk in chunks(taken_in, 500):
                session.execute(delete(RecordLinkRow).where(RecordLinkRow.record_key.in_(chunk)))
            # Real-time identifiers this run's index now covers.
            realtime = [
                (k, v) for k, v in session.execute(select(IdentifierRow.kind, IdentifierRow.value))
            ]
            if realtime:
                joined = pc.binary_join_element_wise(
                    identifiers.column("kind"), identifiers.column("value"), "\x1f"
                )
                wanted = pa.array([f"{k}\x1f{v}" for k, v in realtime])
                found = set(joined.filter(pc.is_in(joined, value_set=wanted)).to_pylist())
                for kind, value in realtime:
                    if f"{kind}\x1f{value}" in found:
                        session.execute(
                            delete(IdentifierRow).where(
                                IdentifierRow.kind == kind, IdentifierRow.value == value
                            )
                        )
        return merges

    @staticmethod
    def _identifier_table(
        connection: duckdb.DuckDBPyConnection, config: MatchingConfig, shared: Sequence[Any]
    ) -> pa.Table:
        """Identifier value -> customer for online lookups; a value on records of several
        customers, or found shared, names no one (``shared`` true, no customer)."""
        schema = pa.schema(
            [
                ("kind", pa.string()),
                ("value", pa.string()),
                ("customer_id", pa.string()),
                ("shared", pa.bool_()),
                ("records", pa.int64()),
            ]
        )
        parts = [
            f"SELECT '{a}' AS kind, {quote('m_' + a)} AS value, customer_id FROM {RECORDS} "
            f"JOIN identity_membership USING (unique_id) WHERE {quote('m_' + a)} IS NOT NULL"
            for a in config.lookup_identifiers
        ]
        shared_rows = pa.table(
            {
                "kind": [v.attribute for v in shared if v.attribute in config.lookup_identifiers],
                "value": [v.value for v in shared if v.attribute in config.lookup_identifiers],
                "records": [v.records for v in shared if v.attribute in config.lookup_identifiers],
            },
            schema=pa.schema(
                [("kind", pa.string()), ("value", pa.string()), ("records", pa.int64())]
            ),
        )
        if not parts:
            return schema.empty_table()
        connection.register("_shared_values", shared_rows)
        table = connection.sql(
            "WITH found AS (SELECT kind, value, CASE WHEN count(*) > 1 THEN NULL "
            "ELSE any_value(customer_id) END AS customer_id, count(*) > 1 AS shared, "
            "sum(n)::BIGINT AS records FROM (SELECT kind, value, customer_id, count(*) AS n "
            f"FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL) GROUP BY kind, value) "
            "SELECT f.* FROM found f ANTI JOIN _shared_values USING (kind, value) "
            "UNION ALL SELECT kind, value, NULL, TRUE, records FROM _shared_values "
            "ORDER BY kind, value"
        ).to_arrow_table()
        connection.unregister("_shared_values")
        return table.cast(schema)
