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
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import delete, select, update

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict, InvalidInput, NotFound
from aimsight.core.ids import new_id
from aimsight.core.workspace import Workspace
from aimsight.identity._bulk import bulk_insert
from aimsight.identity._cluster import Clustering, cluster_records
from aimsight.identity._config import (
    MatchingConfig,
    load_matching_config,
    shipped_matching_config_text,
)
from aimsight.identity._evaluate import Scores, cluster_scores, pair_scores, read_truth
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
from aimsight.identity._tables import (
    AliasRow,
    CustomerRow,
    IdentifierRow,
    IdentityEventRow,
    IdentityModelRow,
    IdentityRunRow,
    ObservationRow,
    OverrideRow,
    RecordLinkRow,
    ReviewRow,
)
from aimsight.ingest import IngestService
from aimsight.store import Lake, Ledger, Store

__all__ = [
    "CONFIG_PATH",
    "IdentityService",
    "Resolution",
    "RunSummary",
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


def _now() -> str:
    return isoformat_utc(now_utc())


def _customer_id_from(records: tuple[str, ...], taken: set[str]) -> str:
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


class IdentityService:
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

    # -- configuration ---------------------------------------------------------------------

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
        """The matching configuration in force."""
        return load_matching_config(self.config_path)

    # -- runs ------------------------------------------------------------------------------

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
        started = _now()
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
                new_id=lambda recs: _customer_id_from(recs, taken),
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
            self._save(run_id, keys, assignment, previous, held, identifiers)
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
                        finished_at=_now(),
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
                    .values(status="failed", finished_at=_now())
                )
            raise
        finally:
            connection.close()

    def _lake_connection(self) -> duckdb.DuckDBPyConnection:
        ingest = IngestService(self._workspace, self._store, self._ledger)
        return ingest.lake()

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

    # -- the model -------------------------------------------------------------------------

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
                    created_at=_now(),
                )
            )
        return version, model, True

    # -- clustering ------------------------------------------------------------------------

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
            "SELECT a.i AS left, b.i AS right, k.match_weight FROM _links k "
            "JOIN _index a ON a.unique_id = k.unique_id_l "
            "JOIN _index b ON b.unique_id = k.unique_id_r ORDER BY a.i, b.i"
        ).to_arrow_table()
        index_of = self._index_lookup(connection)
        must, cannot = self._overrides(index_of)
        conflict_keys: dict[str, np.ndarray] = {}
        for attribute in config.clustering.conflicts:
            key = quote("m_" + attribute)
            codes = connection.sql(
                f"SELECT CAST(COALESCE(dense_rank() OVER (ORDER BY {key}) - 1, -1) AS BIGINT) "
                f"AS code, {key} IS NULL AS missing FROM {RECORDS} ORDER BY unique_id"
            ).to_arrow_table()
            values = codes.column("code").to_numpy().copy()
            values[codes.column("missing").to_numpy(zero_copy_only=False)] = -1
            conflict_keys[attribute] = values.astype(np.int64)
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
        edges = connection.sql(
            "SELECT k.* FROM _links k JOIN _index a ON a.unique_id = k.unique_id_l "
            "JOIN _index b ON b.unique_id = k.unique_id_r ORDER BY a.i, b.i"
        ).to_arrow_table()
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

    # -- persistence -----------------------------------------------------------------------

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
    ) -> None:
        """Store what the lake files do not say: aliases, merge and split events, held
        merges, and which changes since the last run this run has taken in."""
        now = _now()
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
            for customer, survivor in moved_to.items():
                if customer not in assignment.aliases:
                    self._alias(session, customer, survivor, "merge", now)
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
            for chunk in _chunks(taken_in, 500):
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

    @staticmethod
    def _move_records(session: Any, keys: Sequence[str], customer_id: str, cause: str) -> None:
        """Record that ``keys`` now belong to ``customer_id`` (until the next run takes it in)."""
        for chunk in _chunks(list(keys), 500):
            session.execute(delete(RecordLinkRow).where(RecordLinkRow.record_key.in_(chunk)))
        bulk_insert(
            session,
            RecordLinkRow,
            ("record_key", "customer_id", "run_id"),
            [(k, customer_id, cause) for k in keys],
        )

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

    # -- who is who ------------------------------------------------------------------------

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

    @staticmethod
    def _follow(session: Any, customer_id: str) -> str:
        alias = session.get(AliasRow, customer_id)
        return str(alias.customer_id) if alias is not None else customer_id

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
        path = self._latest_file("profiles_path")
        if path is not None:
            with duckdb.connect() as connection:
                table = connection.sql(
                    "SELECT * FROM read_parquet(?) WHERE customer_id = ?",
                    params=[str(self._lake.resolve(path)), customer_id],
                ).to_arrow_table()
            if table.num_rows:
                values = table.to_pylist()[0]
                info["created_at"] = info["created_at"] or _iso(values.get("first_seen"))
                info["updated_at"] = info["updated_at"] or _iso(values.get("last_updated"))
                for name in self.config().attributes:
                    if values.get(name) is not None:
                        attributes[name] = {
                            "value": values[name],
                            "dataset": values.get(f"{name}__dataset"),
                            "record_id": values.get(f"{name}__record_id"),
                            "updated_at": _iso(values.get(f"{name}__updated_at")),
                        }
        info["created_at"] = info["created_at"] or ""
        info["updated_at"] = info["updated_at"] or ""
        return {
            **info,
            "aliases": aliases,
            "records": self.records_of(customer_id),
            "attributes": attributes,
        }

    def _latest_file(self, column: str) -> str | None:
        with self._store.session() as session:
            value = session.execute(
                select(getattr(IdentityRunRow, column))
                .where(IdentityRunRow.status == "completed")
                .order_by(IdentityRunRow.started_at.desc())
                .limit(1)
            ).scalar_one_or_none()
        return str(value) if value else None

    # -- steward overrides ------------------------------------------------------------------

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
        survivor, merged = sorted((a, b), key=lambda c: (-len(self.records_of(c)), c))
        now = _now()
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
        now = _now()
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
        path = self._latest_file("edges_path")
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
                new_id=lambda recs: _customer_id_from(recs, taken),
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

    # -- explanations -------------------------------------------------------------------------

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
        edges_path = self._latest_file("edges_path")
        records_path = edges_path.replace("/edges/", "/records/") if edges_path else None
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
                                k: _iso(v)
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

    # -- real time ------------------------------------------------------------------------------

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
        now = _now()
        candidates = sorted(set(matched.values()))
        rule: str | None = None
        if not candidates:
            customer_id = _customer_id_from((new_id("rt"),), self._taken_ids())
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

    # -- evaluation and history ---------------------------------------------------------------

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
        path = self._latest_file("edges_path")
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


def _chunks(rows: Sequence[Any], size: int = 20_000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _iso(value: Any) -> Any:
    """Timestamps as ISO text; anything else as it is."""
    return value.isoformat() if hasattr(value, "isoformat") else value
