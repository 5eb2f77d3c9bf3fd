"""Records of people, read from the lake and prepared for matching.

Every configured dataset contributes one record per ``record_id`` (its latest non-null value
of each attribute). Each record carries two forms of every attribute: the display value as the
lake holds it (``first_name``) for golden records, and a match key (``m_first_name``):
accents folded, case and punctuation dropped, names split, postcodes without spaces. Non-Latin
letters are kept as they are, so "Иван" still matches "Иван".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aimsight.identity._config import FULL_NAME, NAME_ATTRIBUTES, MatchingConfig, RecordSource

__all__ = ["RECORDS", "SharedValue", "build_records", "find_shared_values", "quote"]

RECORDS = "identity_records"
_LETTERS = r"[^\p{L}\p{N} ]+"


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _dataset_ref(dataset: str) -> str:
    source, entity = dataset.split(".", 1)
    return f"{quote(source)}.{quote(entity)}"


def _source_select(source: RecordSource, attributes: list[str]) -> str:
    """One record per record id with the latest non-null value of each attribute."""
    rid = f"CAST({quote(source.record_id)} AS VARCHAR)"
    order = quote(source.updated_at) if source.updated_at else None
    columns = [f"{_literal(source.dataset)} AS dataset", f"{rid} AS record_id"]
    columns.append(
        f"CAST(max({order}) AS TIMESTAMPTZ) AS updated_at"
        if order
        else "CAST(NULL AS TIMESTAMPTZ) AS updated_at"
    )
    given = dict(source.attributes)
    for attribute in [*attributes, FULL_NAME]:
        column = given.get(attribute)
        if column is None:
            columns.append(f"CAST(NULL AS VARCHAR) AS {quote(attribute)}")
            continue
        value = f"NULLIF(TRIM(CAST({quote(column)} AS VARCHAR)), '')"
        pick = (
            f"arg_max({value}, {order}) FILTER (WHERE {value} IS NOT NULL)"
            if order
            else f"any_value({value}) FILTER (WHERE {value} IS NOT NULL)"
        )
        columns.append(f"{pick} AS {quote(attribute)}")
    return (
        f"SELECT {', '.join(columns)} FROM {_dataset_ref(source.dataset)} "
        f"WHERE {quote(source.record_id)} IS NOT NULL GROUP BY {rid}"
    )


def _name_key(expression: str) -> str:
    folded = f"lower(strip_accents({expression}))"
    cleaned = f"regexp_replace({folded}, '{_LETTERS}', '', 'g')"
    return f"NULLIF(TRIM(regexp_replace({cleaned}, '\\s+', ' ', 'g')), '')"


def _match_key(attribute: str) -> str:
    column = quote(attribute)
    if attribute in NAME_ATTRIBUTES or attribute in ("city", "street"):
        return _name_key(column)
    if attribute == "email":
        return f"NULLIF(lower({column}), '')"
    if attribute == "postcode":
        return f"NULLIF(upper(regexp_replace({column}, '\\s+', '', 'g')), '')"
    if attribute == "birth_date":
        return f"NULLIF(left({column}, 10), '')"
    return column


def build_records(connection: duckdb.DuckDBPyConnection, config: MatchingConfig) -> int:
    """Create the ``identity_records`` table in ``connection`` from the lake views it holds.

    Columns: ``unique_id`` (``dataset:record_id``), ``dataset``, ``record_id``, ``trust``,
    ``updated_at``, each attribute's display value and its match key ``m_<attribute>``.
    Returns the number of records.
    """
    attributes = config.attributes
    parts = []
    for source in config.sources:
        select = _source_select(source, attributes)
        parts.append(f"SELECT *, {source.trust} AS trust FROM ({select})")
    raw = " UNION ALL ".join(parts)
    # A full name is split: "LAST, First" / "First Middle Last" / "F. Last".
    full = quote(FULL_NAME)
    first = (
        f"COALESCE({quote('first_name')}, CASE WHEN contains({full}, ',') "
        f"THEN TRIM(split_part({full}, ',', 2)) "
        f"ELSE NULLIF(TRIM(regexp_replace({full}, '\\s*\\S+$', '')), '') END)"
    )
    last = (
        f"COALESCE({quote('last_name')}, CASE WHEN contains({full}, ',') "
        f"THEN TRIM(split_part({full}, ',', 1)) "
        f"ELSE regexp_extract({full}, '(\\S+)$', 1) END)"
    )
    display = []
    for attribute in attributes:
        if attribute == "first_name":
            display.append(f"{first} AS first_name")
        elif attribute == "last_name":
            display.append(f"{last} AS last_name")
        else:
            display.append(quote(attribute))
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE _identity_raw AS "
        f"SELECT dataset || ':' || record_id AS unique_id, dataset, record_id, trust, "
        f"updated_at, {', '.join(display)} FROM ({raw})"
    )
    keys = [f"{_match_key(a)} AS {quote('m_' + a)}" for a in attributes]
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {RECORDS} AS "
        f"SELECT *, {', '.join(keys)} FROM _identity_raw ORDER BY unique_id"
    )
    connection.execute("DROP TABLE _identity_raw")
    rows = connection.execute(f"SELECT count(*) FROM {RECORDS}").fetchall()
    return int(rows[0][0])


@dataclass(frozen=True)
class SharedValue:
    """An identifier value carried by records of different people."""

    attribute: str
    value: str
    records: int
    names: int


def find_shared_values(
    connection: duckdb.DuckDBPyConnection, config: MatchingConfig
) -> list[SharedValue]:
    """Identifier values that belong to no one person, and blank them for matching.

    A value is shared when its records carry different first initials *and* different last
    names (an info@ address, a shop's phone), or when more than ``shared_max_records``
    records carry it. Such a value is set to null in the match keys, so it neither links
    records deterministically nor counts as evidence; the display value is kept.
    """
    shared: list[SharedValue] = []
    has_names = all(a in config.attributes for a in NAME_ATTRIBUTES)
    initial = "left(m_first_name, 1)" if has_names else "NULL"
    last = "left(m_last_name, 4)" if has_names else "NULL"
    for attribute in config.shared_identifiers:
        key = quote("m_" + attribute)
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE _shared AS "
            f"SELECT {key} AS v, count(*) AS n, count(DISTINCT {initial} || '|' || {last}) AS k "
            f"FROM {RECORDS} WHERE {key} IS NOT NULL GROUP BY {key} "
            f"HAVING count(*) > 1 AND ((count(DISTINCT {initial}) > 1 "
            f"AND count(DISTINCT {last}) > 1) OR count(*) > {int(config.shared_max_records)})"
        )
        rows = connection.execute("SELECT v, n, k FROM _shared ORDER BY n DESC, v").fetchall()
        shared += [SharedValue(attribute, str(v), int(n), int(k)) for v, n, k in rows]
        if rows:
            connection.execute(
                f"UPDATE {RECORDS} SET {key} = NULL WHERE {key} IN (SELECT v FROM _shared)"
            )
        connection.execute("DROP TABLE _shared")
    return shared
