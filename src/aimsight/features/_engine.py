"""Features and labels as of a time T, computed in DuckDB.

The engine works on a DuckDB connection holding one view per lake dataset (what
``IngestService.lake()`` gives) and identity's links. Each source a definition reads is
joined to customers once (a temporary table of customer, event time and the columns used);
then features as of T take one aggregate pass per source, with a ``FILTER`` clause per
feature, and one join onto the population.

Point in time: features as of T read only rows whose event time is strictly before T, so
a row stamped exactly T is outcome, not evidence (labels' windows start at T). Attributes
take their latest value before T, and the population is customers with a row of a
population source before T. Identity links are today's: the resolution of who is who is
not versioned in time, so a later merge moves earlier rows to the surviving customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from aimsight.core.errors import InvalidInput
from aimsight.features._definitions import (
    AgeFeature,
    AggregateFeature,
    AttributeFeature,
    FeatureDefinitions,
    PaymentsSpec,
    RatioFeature,
    SourceSpec,
    TenureFeature,
    window_days,
)
from aimsight.features._labels import LabelSpec
from aimsight.features._sql import Params, dataset_ref, identifier, literal, where_sql

__all__ = ["FeatureEngine", "arrow_schema", "identifier_kinds", "source_datasets"]

_CID = "__cid"
_TIME = "__t"
_FIRST = "__first"
_DAY = 86_400_000_000.0  # microseconds
_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
_TEMPORAL = ("DATE", "TIMESTAMP")


def source_datasets(definitions: FeatureDefinitions) -> list[str]:
    """The datasets the definitions read (population, features and payments), sorted."""
    used: set[str] = set(definitions.population)
    if definitions.payments is not None:
        used.add(definitions.payments.source)
    for feature in definitions.features:
        if isinstance(feature, AggregateFeature | AttributeFeature | AgeFeature):
            used.add(feature.source)
        if isinstance(feature, AttributeFeature):
            used.update(other.source for other in feature.fallback)
    return sorted(used)


def identifier_kinds(definitions: FeatureDefinitions) -> list[str]:
    """Identifier kinds (``email``...) the used sources' links join through, sorted."""
    kinds = {
        link.identifier
        for dataset in source_datasets(definitions)
        for link in definitions.sources[dataset].links
        if link.identifier is not None
    }
    return sorted(kinds)


class FeatureEngine:
    """Computes features and labels over one lake connection (see the module docstring).

    Args:
        connection: DuckDB connection with a view per dataset (``crm.customers``...); the
            engine adds temporary tables to it.
        definitions: the features to compute.
        record_links: identity's ``record_links()`` (``dataset``, ``record_id``,
            ``customer_id``).
        identifier_links: identity's ``identifier_links(kind)`` (``value``, ``customer_id``)
            for every kind in :func:`identifier_kinds`.
        origin: where the definitions came from, for error messages.

    Raises:
        InvalidInput: a definition names a dataset or column the lake does not have, or a
            column of the wrong type; the message names the feature and the column.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        definitions: FeatureDefinitions,
        *,
        record_links: pa.Table,
        identifier_links: Mapping[str, pa.Table],
        origin: str = "the feature definitions",
    ) -> None:
        self._con = connection
        self._defs = definitions
        self._origin = origin
        self._tables: dict[str, tuple[str, frozenset[str]]] = {}
        self._schemas: dict[str, dict[str, str]] = {}
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("__record_links_in", record_links)
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE __record_links AS SELECT "
            "CAST(dataset AS VARCHAR) AS dataset, CAST(record_id AS VARCHAR) AS record_id, "
            "CAST(customer_id AS VARCHAR) AS customer_id FROM __record_links_in"
        )
        connection.unregister("__record_links_in")
        for kind in identifier_kinds(definitions):
            if kind not in identifier_links:
                raise InvalidInput(
                    f"{origin}: links through identifier {kind!r} need identity's "
                    f"{kind} links; none were given",
                    field="sources",
                )
        for kind, table in identifier_links.items():
            connection.register("__identifier_links_in", table)
            # A value naming more than one customer names no one.
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {identifier('__identifier_links_' + kind)} AS "
                "SELECT CAST(value AS VARCHAR) AS value, any_value(CAST(customer_id AS VARCHAR)) "
                "AS customer_id FROM __identifier_links_in GROUP BY 1 "
                "HAVING count(DISTINCT customer_id) = 1"
            )
            connection.unregister("__identifier_links_in")
        self._needed = self._columns_needed()
        self._check()

    # -- public ---------------------------------------------------------------------------------

    @property
    def definitions(self) -> FeatureDefinitions:
        """The definitions this engine computes."""
        return self._defs

    def compute(self, as_of: datetime, customers: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per customer known before ``as_of``: ``customer_id``, ``as_of`` and every
        feature, sorted by customer id. ``customers`` limits the rows to those ids."""
        params = Params()
        at = params.add(as_of)
        ctes = [self._population_cte(at, customers)]
        joins: list[str] = []
        selects: dict[str, str] = {}
        for index, (dataset, columns) in enumerate(self._aggregates(as_of, at, params).items()):
            alias = f"s{index}"
            table = self._table(dataset)
            body = ", ".join(f"{expression} AS {identifier(name)}" for name, expression in columns)
            limit = (
                f" AND {_CID} IN (SELECT {_CID} FROM population)" if customers is not None else ""
            )
            ctes.append(
                f"{alias} AS (SELECT {_CID}, {body} FROM {identifier(table)} "
                f"WHERE {_TIME} < {at}{limit} GROUP BY {_CID})"
            )
            joins.append(f"LEFT JOIN {alias} ON {alias}.{_CID} = population.{_CID}")
            for name, _ in columns:
                selects[name] = f"{alias}.{identifier(name)}"
        outputs = [f"population.{_CID} AS customer_id"]
        for index, feature in enumerate(self._defs.features):
            expression = self._final(index, feature, selects, at)
            outputs.append(f"{expression} AS {identifier(feature.name)}")
        sql = (
            f"WITH {', '.join(ctes)} SELECT {', '.join(outputs)} FROM population "
            f"{' '.join(joins)} ORDER BY customer_id"
        )
        frame = self._run(sql, params, customers)
        return self._finish(frame, as_of)

    def labels(self, as_of: datetime, spec: LabelSpec) -> pd.DataFrame:
        """The label population at ``as_of`` with ``customer_id`` and ``spec.columns``.

        Raises:
            InvalidInput: the label reads a source the definitions do not declare, or
                payments are needed and not declared.
        """
        params = Params()
        at = params.add(as_of)
        end = params.add(as_of + timedelta(days=spec.window_days))
        active = spec.active
        ctes = []
        if active is not None:
            payments = self._payments_spec()
            table = self._table(payments.source, set(payments.where))
            conditions = where_sql(payments.where, params)
            start = params.add(as_of - timedelta(days=active))
            ctes.append(
                f"pay AS (SELECT {_CID}, {_TIME} FROM {identifier(table)} WHERE "
                + " AND ".join([*conditions, f"{_TIME} >= {start}", f"{_TIME} < {end}"])
                + ")"
            )
            ctes.append(f"population AS (SELECT DISTINCT {_CID} FROM pay WHERE {_TIME} < {at})")
        else:
            ctes.append(self._population_cte(at, None))
        if spec.kind == "churn":
            lapse_limit = params.add(as_of + timedelta(days=spec.window_days - (active or 0)))
            sql = (
                f"WITH {', '.join(ctes)}, last AS (SELECT {_CID}, "
                f"count(*) FILTER (WHERE {_TIME} >= {at}) AS paid_after, "
                f"max({_TIME}) AS last_paid FROM pay WHERE {_CID} IN "
                f"(SELECT {_CID} FROM population) GROUP BY {_CID}) "
                f"SELECT {_CID} AS customer_id, "
                "CAST(paid_after = 0 AS INTEGER) AS churned, "
                f"CASE WHEN last_paid <= {lapse_limit} THEN "
                f"(epoch_us(last_paid) - epoch_us({at})) / {_DAY} + {active} "
                f"ELSE {spec.window_days} END AS duration_days, "
                f"CAST(last_paid <= {lapse_limit} AS INTEGER) AS event "
                "FROM last ORDER BY customer_id"
            )
        else:
            if spec.source not in self._defs.sources:
                raise InvalidInput(
                    f"label source {spec.source!r} is not declared under sources in "
                    f"{self._origin}; declare how its rows join to customers",
                    field="label.source",
                )
            source = str(spec.source)
            self._check_columns(source, list(spec.where), "the label", field="label.where")
            table = self._table(source, set(spec.where))
            conditions = where_sql(spec.where, params)
            events = " AND ".join([*conditions, f"{_TIME} >= {at}", f"{_TIME} < {end}"])
            sql = (
                f"WITH {', '.join(ctes)}, hits AS (SELECT DISTINCT {_CID} FROM "
                f"{identifier(table)} WHERE {events}) "
                f"SELECT population.{_CID} AS customer_id, "
                f"CAST(hits.{_CID} IS NOT NULL AS INTEGER) AS {identifier(spec.target)} "
                f"FROM population LEFT JOIN hits ON hits.{_CID} = population.{_CID} "
                "ORDER BY customer_id"
            )
        frame = self._run(sql, params, None)
        for column in spec.columns:
            kind = "float64" if column == "duration_days" else "int64"
            frame[column] = frame[column].astype(kind)
        return frame

    def data_end(self, dataset: str) -> datetime | None:
        """The latest event time among ``dataset``'s rows that reach a customer."""
        row = self._con.execute(f"SELECT max({_TIME}) FROM {identifier(self._table(dataset))}")
        found = row.fetchone()
        value = found[0] if found else None
        return value if isinstance(value, datetime) else None

    def latest_event(self) -> datetime | None:
        """The latest event time over every source the definitions read."""
        ends = [end for dataset in source_datasets(self._defs) if (end := self.data_end(dataset))]
        return max(ends) if ends else None

    def payments(self, until: datetime | None = None) -> pd.DataFrame:
        """Successful payments (``customer_id``, ``date``, ``value``) strictly before
        ``until`` (all when ``None``), sorted by customer and time."""
        spec = self._payments_spec()
        params = Params()
        table = self._table(spec.source, {*spec.where, spec.value})
        conditions = where_sql(spec.where, params)
        if until is not None:
            conditions.append(f"{_TIME} < {params.add(until)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = (
            f"SELECT {_CID} AS customer_id, {_TIME} AS date, "
            f"CAST({identifier(spec.value)} AS DOUBLE) AS value FROM {identifier(table)}"
            f"{where} ORDER BY customer_id, date"
        )
        frame = self._run(sql, params, None)
        frame["value"] = frame["value"].astype("float64")
        frame["date"] = pd.to_datetime(frame["date"], utc=True)
        return frame

    # -- checks -----------------------------------------------------------------------------------

    def _columns_needed(self) -> dict[str, set[str]]:
        needed: dict[str, set[str]] = {dataset: set() for dataset in source_datasets(self._defs)}
        for feature in self._defs.features:
            if isinstance(feature, AggregateFeature):
                needed[feature.source].update(feature.where)
                if feature.column is not None:
                    needed[feature.source].add(feature.column)
            elif isinstance(feature, AttributeFeature | AgeFeature):
                needed[feature.source].add(feature.column)
                if isinstance(feature, AttributeFeature):
                    for other in feature.fallback:
                        needed[other.source].add(other.column)
        payments = self._defs.payments
        if payments is not None:
            needed[payments.source].update({*payments.where, payments.value})
        return needed

    def _schema(self, dataset: str, user: str, field: str) -> dict[str, str]:
        if dataset not in self._schemas:
            try:
                rows = self._con.execute(f"DESCRIBE {dataset_ref(dataset)}").fetchall()
            except duckdb.CatalogException:
                raise InvalidInput(
                    f"{self._origin}: {user} reads the dataset {dataset!r}, which is not in "
                    "the lake; ingest it first or change the definition",
                    field=field,
                ) from None
            self._schemas[dataset] = {str(row[0]): str(row[1]).upper() for row in rows}
        return self._schemas[dataset]

    def _check_columns(
        self,
        dataset: str,
        columns: Sequence[str],
        user: str,
        *,
        field: str,
        kinds: tuple[str, ...] = (),
    ) -> None:
        schema = self._schema(dataset, user, field)
        for column in columns:
            if column not in schema:
                raise InvalidInput(
                    f"{self._origin}: {user} reads column {column!r} of {dataset}, which has "
                    f"no such column; its columns are {', '.join(sorted(schema))}",
                    field=field,
                )
            if kinds and not schema[column].startswith(kinds):
                wanted = "a number" if kinds == _NUMERIC else "a date or time"
                raise InvalidInput(
                    f"{self._origin}: {user} needs {wanted} in column {column!r} of "
                    f"{dataset}, which holds {schema[column]}",
                    field=field,
                )

    def _check(self) -> None:
        """Every dataset and column a definition names exists, with a usable type."""
        users: dict[str, tuple[str, str]] = {}
        for feature in self._defs.features:
            if isinstance(feature, AggregateFeature | AttributeFeature | AgeFeature):
                users.setdefault(feature.source, (f"feature {feature.name!r}", feature.name))
        for dataset in source_datasets(self._defs):
            spec = self._defs.sources[dataset]
            user, field = users.get(dataset, (f"source {dataset!r}", f"sources.{dataset}"))
            self._schema(dataset, user, field)
            user, field = f"source {dataset!r}", f"sources.{dataset}"
            columns = [link.column for link in spec.links]
            self._check_columns(dataset, columns, user, field=field)
            times = [spec.time] + ([spec.first_seen] if spec.first_seen else [])
            self._check_columns(dataset, times, user, field=field, kinds=_TEMPORAL)
        for feature in self._defs.features:
            user, field = f"feature {feature.name!r}", feature.name
            if isinstance(feature, AggregateFeature):
                self._check_columns(feature.source, list(feature.where), user, field=field)
                if feature.column is not None:
                    kinds: tuple[str, ...] = ()
                    if feature.function in ("sum", "mean", "min", "max"):
                        kinds = _NUMERIC
                    elif feature.function.startswith("days_since"):
                        kinds = _TEMPORAL
                    self._check_columns(
                        feature.source, [feature.column], user, field=field, kinds=kinds
                    )
            elif isinstance(feature, AttributeFeature):
                kinds = _NUMERIC if feature.type == "number" else ()
                places = [(feature.source, feature.column)]
                places += [(other.source, other.column) for other in feature.fallback]
                for source, column in places:
                    self._check_columns(source, [column], user, field=field, kinds=kinds)
            elif isinstance(feature, AgeFeature):
                self._check_columns(
                    feature.source, [feature.column], user, field=field, kinds=_TEMPORAL
                )
        payments = self._defs.payments
        if payments is not None:
            where = list(payments.where)
            self._check_columns(payments.source, where, "payments", field="payments")
            self._check_columns(
                payments.source, [payments.value], "payments", field="payments", kinds=_NUMERIC
            )

    def _payments_spec(self) -> PaymentsSpec:
        if self._defs.payments is None:
            raise InvalidInput(
                f"{self._origin} declares no payments; add a payments section (source, where, "
                "value) so churn labels and lifetime value know what a payment is",
                field="payments",
            )
        return self._defs.payments

    # -- building blocks -------------------------------------------------------------------------

    def _table(self, dataset: str, extra: set[str] | None = None) -> str:
        """The temporary table of ``dataset``'s rows joined to customers (made once)."""
        columns = frozenset(self._needed.get(dataset, set()) | (extra or set()))
        cached = self._tables.get(dataset)
        if cached is not None and columns <= cached[1]:
            return cached[0]
        if cached is not None:
            columns = columns | cached[1]
        spec: SourceSpec = self._defs.sources[dataset]
        name = f"__source_{len(self._tables)}_{dataset.replace('.', '_')}"
        joins, customers = [], []
        for index, link in enumerate(spec.links):
            alias = f"l{index}"
            column = f"CAST(s.{identifier(link.column)} AS VARCHAR)"
            if link.record is not None:
                joins.append(
                    f"LEFT JOIN (SELECT record_id, customer_id FROM __record_links WHERE "
                    f"dataset = {literal(link.record)}) {alias} ON {alias}.record_id = {column}"
                )
            else:
                table = identifier(f"__identifier_links_{link.identifier}")
                joins.append(f"LEFT JOIN {table} {alias} ON {alias}.value = {column}")
            customers.append(f"{alias}.customer_id")
        time = f"CAST(s.{identifier(spec.time)} AS TIMESTAMPTZ)"
        first = time
        if spec.first_seen is not None:
            seen = f"CAST(s.{identifier(spec.first_seen)} AS TIMESTAMPTZ)"
            first = f"least(coalesce({seen}, {time}), {time})"
        picked = "".join(f", s.{identifier(column)}" for column in sorted(columns))
        customer = f"coalesce({', '.join(customers)})" if len(customers) > 1 else customers[0]
        self._con.execute(
            f"CREATE OR REPLACE TEMP TABLE {identifier(name)} AS SELECT * FROM ("
            f"SELECT {customer} AS {_CID}, {time} AS {_TIME}, {first} AS {_FIRST}{picked} "
            f"FROM {dataset_ref(dataset)} s {' '.join(joins)}) "
            f"WHERE {_CID} IS NOT NULL AND {_TIME} IS NOT NULL"
        )
        self._tables[dataset] = (name, columns)
        return name

    def _population_cte(self, at: str, customers: Sequence[str] | None) -> str:
        parts = [
            f"SELECT {_CID}, {_FIRST} FROM {identifier(self._table(dataset))} WHERE {_TIME} < {at}"
            for dataset in self._defs.population
        ]
        limit = (
            f" WHERE {_CID} IN (SELECT customer_id FROM __wanted)" if customers is not None else ""
        )
        return (
            f"population AS (SELECT {_CID}, min({_FIRST}) AS {_FIRST} FROM "
            f"({' UNION ALL '.join(parts)}){limit} GROUP BY {_CID})"
        )

    def _aggregates(
        self, as_of: datetime, at: str, params: Params
    ) -> dict[str, list[tuple[str, str]]]:
        """Per source, the hidden aggregate columns its features need (``a3``, ``a7_1``...)."""
        per_source: dict[str, list[tuple[str, str]]] = {}
        for index, feature in enumerate(self._defs.features):
            name = f"a{index}"
            if isinstance(feature, AggregateFeature):
                expression = _aggregate(feature, as_of, at, params)
                per_source.setdefault(feature.source, []).append((name, expression))
            elif isinstance(feature, AttributeFeature):
                places = [
                    (feature.source, feature.column),
                    *((other.source, other.column) for other in feature.fallback),
                ]
                cast = "DOUBLE" if feature.type == "number" else "VARCHAR"
                for place, (source, column) in enumerate(places):
                    per_source.setdefault(source, []).append(
                        (f"{name}_{place}", _latest(column, cast))
                    )
            elif isinstance(feature, AgeFeature):
                per_source.setdefault(feature.source, []).append(
                    (name, _latest(feature.column, "DATE"))
                )
        return per_source

    def _final(self, index: int, feature: Any, selects: Mapping[str, str], at: str) -> str:
        name = f"a{index}"
        if isinstance(feature, AggregateFeature):
            if feature.function in ("count", "distinct_count", "sum"):
                return f"coalesce({selects[name]}, 0)"
            return selects[name]
        if isinstance(feature, AttributeFeature):
            places = [selects[f"{name}_{place}"] for place in range(1 + len(feature.fallback))]
            return f"coalesce({', '.join(places)})" if len(places) > 1 else places[0]
        if isinstance(feature, AgeFeature):
            born = selects[name]
            day = f"CAST({at} AS DATE)"
            years = f"date_part('year', age({day}, {born}))"
            known = f"{born} IS NOT NULL AND {born} <= {day}"
            if not feature.bands:
                return f"CASE WHEN {known} THEN CAST({years} AS DOUBLE) END"
            labels = feature.band_labels()
            cases = " ".join(
                f"WHEN {years} < {bound} THEN {literal(label)}"
                for bound, label in zip(feature.bands, labels, strict=False)
            )
            return f"CASE WHEN NOT ({known}) THEN NULL {cases} ELSE {literal(labels[-1])} END"
        if isinstance(feature, TenureFeature):
            return f"(epoch_us({at}) - epoch_us(population.{_FIRST})) / {_DAY}"
        return "CAST(NULL AS DOUBLE)"  # ratios are computed on the joined columns

    def _run(self, sql: str, params: Params, customers: Sequence[str] | None) -> pd.DataFrame:
        if customers is not None:
            wanted = pa.table({"customer_id": pa.array(list(customers), pa.string())})
            self._con.register("__wanted", wanted)
        try:
            return self._con.execute(sql, params.values).df()
        finally:
            if customers is not None:
                self._con.unregister("__wanted")

    def _finish(self, frame: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
        """Typed columns, ratios filled in, ``as_of`` second."""
        for feature in self._defs.features:
            column = feature.name
            if isinstance(feature, RatioFeature):
                numerator = frame[feature.numerator].astype("float64").to_numpy()
                denominator = frame[feature.denominator].astype("float64").to_numpy()
                usable = np.isfinite(denominator) & (denominator != 0)
                default = np.nan if feature.default is None else feature.default
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = feature.multiplier * numerator / denominator
                frame[column] = np.where(usable, ratio, default).astype("float64")
            elif feature.type == "integer":
                frame[column] = frame[column].astype("int64")
            elif feature.type == "number":
                frame[column] = frame[column].astype("float64")
            else:
                values = frame[column].astype(object)
                frame[column] = values.where(values.notna(), None)
        frame["customer_id"] = frame["customer_id"].astype(object)
        stamp = pd.Timestamp(as_of).tz_convert("UTC").as_unit("us")
        frame.insert(1, "as_of", pd.DatetimeIndex([stamp]).repeat(len(frame)))
        return frame


def arrow_schema(definitions: FeatureDefinitions) -> pa.Schema:
    """The columns of a feature table as Parquet stores them (stable even when a category
    column holds no value at all)."""
    kinds = {"integer": pa.int64(), "number": pa.float64(), "category": pa.string()}
    return pa.schema(
        [
            ("customer_id", pa.string()),
            ("as_of", pa.timestamp("us", tz="UTC")),
            *((feature.name, kinds[feature.type]) for feature in definitions.features),
        ]
    )


def _aggregate(feature: AggregateFeature, as_of: datetime, at: str, params: Params) -> str:
    """One feature's aggregate expression over its source's rows before ``as_of``."""
    conditions = where_sql(feature.where, params)
    days = window_days(feature.window)
    if days is not None:
        offset = window_days(feature.offset) or 0
        conditions.append(f"{_TIME} >= {params.add(as_of - timedelta(days=days + offset))}")
        if offset:
            conditions.append(f"{_TIME} < {params.add(as_of - timedelta(days=offset))}")
    rows = f" FILTER (WHERE {' AND '.join(conditions)})" if conditions else ""
    column = identifier(feature.column) if feature.column is not None else None
    function = feature.function
    if function == "count":
        return f"count(*){rows}"
    if function == "distinct_count":
        return f"count(DISTINCT {column}){rows}"
    if function in ("sum", "min", "max"):
        return f"{function}(CAST({column} AS DOUBLE)){rows}"
    if function == "mean":
        return f"avg(CAST({column} AS DOUBLE)){rows}"
    moment = f"CAST({column} AS TIMESTAMPTZ)" if column is not None else _TIME
    pick = "max" if function == "days_since_last" else "min"
    return f"(epoch_us({at}) - epoch_us({pick}({moment}){rows})) / {_DAY}"


def _latest(column: str, cast: str) -> str:
    """The latest non-null value of ``column`` by event time (ties: the largest value)."""
    value = f"CAST({identifier(column)} AS {cast})"
    return (
        f"first({value} ORDER BY {_TIME} DESC, {value} DESC) "
        f"FILTER (WHERE {identifier(column)} IS NOT NULL)"
    )
