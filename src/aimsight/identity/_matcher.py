"""Probabilistic matching with Splink (Fellegi-Sunter) on DuckDB or Spark.

The configuration is compiled into Splink settings here and nowhere else. Training estimates
u from random pairs and m by expectation maximisation on identifier blocks; the trained model
is Splink's JSON, stored as a versioned model so a rerun scores with exactly what ran before.
Splink is imported lazily: the CLI starts fast and the embedded tier never loads Spark.
"""

from __future__ import annotations

import logging
import math
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import duckdb
import pyarrow as pa

from aimsight.core.errors import AimsightError, ConfigurationError, InvalidInput
from aimsight.identity._config import BlockingRule, ComparisonSpec, MatchingConfig
from aimsight.identity._records import RECORDS, quote

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

__all__ = [
    "MATCH_INPUT",
    "DuckDBMatching",
    "MatchingBackend",
    "MatchingError",
    "SparkMatching",
    "count_pairs",
    "predict_pairs",
    "splink_settings",
    "train_model",
]

MATCH_INPUT = "identity_match_input"
_SPLINK_LOG_LEVEL = logging.ERROR


class MatchingError(AimsightError):
    """Raised when the matching engine fails or a blocking rule would compare too many pairs."""

    code = "matching_error"


# --- compiling the configuration ------------------------------------------------------------


def _comparison(spec: ComparisonSpec, dialect: str) -> Any:
    import splink.comparison_library as cl

    name = spec.attribute
    comparison: Any
    if spec.kind == "exact":
        comparison = cl.ExactMatch(name)
    elif spec.kind == "name":
        thresholds = list(spec.thresholds) or [0.92, 0.88, 0.7]
        comparison = cl.NameComparison(name, jaro_winkler_thresholds=thresholds)
    elif spec.kind == "email":
        return cl.EmailComparison(name)
    elif spec.kind == "date_of_birth":
        date_format = spec.date_format
        if dialect == "spark":
            date_format = spark_date_pattern(date_format, attribute=name)
        return cl.DateOfBirthComparison(name, input_is_string=True, datetime_format=date_format)
    elif spec.kind == "jaro_winkler":
        comparison = cl.JaroWinklerAtThresholds(name, list(spec.thresholds) or [0.9, 0.7])
    elif spec.kind == "levenshtein":
        comparison = cl.LevenshteinAtThresholds(name, [int(t) for t in spec.thresholds] or [1, 2])
    else:  # postcode
        return cl.PostcodeComparison(name)
    if spec.term_frequency:
        comparison = comparison.configure(term_frequency_adjustments=True)
    return comparison


# strftime directives (what the configuration and DuckDB use) in Spark's datetime patterns.
_SPARK_PATTERN = {
    "Y": "yyyy",
    "y": "yy",
    "m": "MM",
    "d": "dd",
    "b": "MMM",
    "B": "MMMM",
    "j": "DDD",
    "H": "HH",
    "I": "hh",
    "p": "a",
    "M": "mm",
    "S": "ss",
    "f": "SSSSSS",
    "z": "Z",
}


def spark_date_pattern(strftime: str, *, attribute: str = "birth_date") -> str:
    """``strftime`` (``%Y-%m-%d``) as a Spark datetime pattern (``yyyy-MM-dd``).

    Letters outside directives are literal text, quoted as Spark wants (``'T'``); the quotes
    are backslash-escaped because Splink puts the pattern inside a SQL string literal.

    Raises:
        InvalidInput: a directive with no Spark equivalent, or an apostrophe.
    """
    parts: list[str] = []
    literal = ""
    index = 0
    while index < len(strftime):
        char = strftime[index]
        if char == "%" and index + 1 < len(strftime):
            directive = strftime[index + 1]
            index += 2
            if directive == "%":
                parts.append("%")
                continue
            if directive not in _SPARK_PATTERN:
                raise InvalidInput(
                    f"comparison {attribute}: date_format {strftime!r} uses %{directive}, "
                    "which the spark backend cannot parse; use "
                    + ", ".join("%" + d for d in _SPARK_PATTERN),
                    field="date_format",
                )
            parts.append(_SPARK_PATTERN[directive])
            continue
        if char == "'" or char == "%":
            raise InvalidInput(
                f"comparison {attribute}: date_format {strftime!r} has a bare {char!r}, "
                "which the spark backend cannot parse",
                field="date_format",
            )
        index += 1
        if char.isalpha():
            literal += char
            if index < len(strftime) and strftime[index].isalpha():
                continue
            parts.append(f"\\'{literal}\\'")
            literal = ""
        else:
            parts.append(char)
    return "".join(parts)


def _block(rule: BlockingRule) -> Any:
    from splink import block_on

    return block_on(*rule.keys)


def splink_settings(config: MatchingConfig, dialect: str = "duckdb") -> Any:
    """The Splink ``SettingsCreator`` for ``config`` (dedupe across all sources at once).

    ``dialect`` is the engine's SQL dialect (``duckdb`` or ``spark``): date formats pass
    straight to the engine, so they are written in its own pattern language.
    """
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[_block(r) for r in config.blocking],
        comparisons=[_comparison(c, dialect) for c in config.comparisons],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        max_iterations=25,
        em_convergence=0.0001,
    )


def create_match_input(connection: duckdb.DuckDBPyConnection, config: MatchingConfig) -> None:
    """The view Splink reads: ``unique_id`` and each attribute's match key under its name."""
    columns = ", ".join(f"{quote('m_' + a)} AS {quote(a)}" for a in config.attributes)
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {MATCH_INPUT} AS SELECT unique_id, {columns} FROM {RECORDS}"
    )


def count_pairs(connection: duckdb.DuckDBPyConnection, rule: BlockingRule) -> int:
    """Record pairs ``rule`` would compare (exact, before any other rule removes repeats)."""
    keys = ", ".join(quote("m_" + a) for a in rule.keys)
    not_null = " AND ".join(f"{quote('m_' + a)} IS NOT NULL" for a in rule.keys)
    rows = connection.sql(
        f"SELECT COALESCE(sum(n * (n - 1) / 2), 0) FROM "
        f"(SELECT count(*) AS n FROM {RECORDS} WHERE {not_null} GROUP BY {keys})"
    ).fetchall()
    return int(rows[0][0])


def check_blocking(
    connection: duckdb.DuckDBPyConnection, config: MatchingConfig, records: int
) -> dict[str, int]:
    """Pairs per blocking rule; refuses a rule that would compare too many.

    Raises:
        MatchingError: a rule exceeds ``max_pairs_per_record`` x records pairs; the message
            names the rule, its pair count and how to narrow it.
    """
    limit = int(config.max_pairs_per_record * max(records, 1))
    counts: dict[str, int] = {}
    for index, rule in enumerate(config.blocking):
        pairs = count_pairs(connection, rule)
        counts[rule.label] = pairs
        if pairs > limit:
            raise MatchingError(
                f"blocking[{index}] ({rule.label}) would compare {pairs:,} record pairs, over "
                f"the limit of {limit:,} (max_pairs_per_record={config.max_pairs_per_record:g} "
                f"x {records:,} records); block on more attributes, e.g. add last_name or "
                "birth_date to the rule"
            )
    return counts


# --- engines ---------------------------------------------------------------------------------


class MatchingBackend(ABC):
    """One engine Splink runs on. Subclasses give the Splink database API and the way the
    prepared records reach it; training and prediction are shared."""

    name: str
    dialect: str

    @abstractmethod
    def register(self, connection: duckdb.DuckDBPyConnection) -> SplinkDataFrame:
        """Make the match input (view ``identity_match_input``) a Splink input table."""

    @abstractmethod
    def fetch(self, frame: SplinkDataFrame, columns: list[str], where: str) -> pa.Table:
        """Rows of a Splink result table as Arrow."""

    @abstractmethod
    def columns(self, frame: SplinkDataFrame) -> list[str]:
        """Column names of a Splink result table."""

    def release(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Free what a training or scoring job left in the engine (cached tables)."""

    @final
    def linker(self, connection: duckdb.DuckDBPyConnection, settings: Any) -> Any:
        """A Splink linker over the prepared records."""
        from splink import Linker

        try:
            return Linker(self.register(connection), settings, log_level=_SPLINK_LOG_LEVEL)
        except Exception as exc:  # Splink raises plain exceptions for bad settings
            raise MatchingError(f"Splink refused the matching settings: {exc}") from exc


class DuckDBMatching(MatchingBackend):
    """Splink on the same in-process DuckDB connection that holds the records (no copy)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self) -> None:
        self._api: Any = None

    def register(self, connection: duckdb.DuckDBPyConnection) -> SplinkDataFrame:
        from splink import DuckDBAPI

        self._api = DuckDBAPI(connection=connection)
        frame: SplinkDataFrame = self._api.register(MATCH_INPUT, table_name="identity_input")
        return frame

    def fetch(self, frame: SplinkDataFrame, columns: list[str], where: str) -> pa.Table:
        relation = frame.as_duckdbpyrelation()
        table: pa.Table = relation.filter(where).select(*columns).to_arrow_table()
        return table

    def columns(self, frame: SplinkDataFrame) -> list[str]:
        return list(frame.as_duckdbpyrelation().columns)


class SparkMatching(MatchingBackend):
    """Splink on Apache Spark (the cluster tier; local mode on one machine).

    The session starts on first use with Splink's string-similarity UDF jar (shipped inside
    the splink wheel, so nothing is downloaded), the UI and console progress off, Spark's
    own log at ERROR and, in local mode, the driver bound to 127.0.0.1. Intermediate
    tables are persisted in memory to break their lineage and released after each job.

    The prepared records reach Spark through Arrow from the DuckDB connection that built
    them: fine on one machine and for the tests; at cluster scale Spark would read the
    prepared records from the Parquet lake itself instead of through the driver.

    Args:
        master: the Spark master URL: ``local[2]`` runs in this process on two cores.
        partitions: shuffle partitions (small for local runs, bigger on a cluster).
        conf: further Spark settings applied when the session starts
            (``{"spark.driver.memory": "4g"}``).
    """

    name = "spark"
    dialect = "spark"

    def __init__(
        self,
        master: str = "local[2]",
        partitions: int = 4,
        conf: Mapping[str, str] | None = None,
    ) -> None:
        self._master = master
        self._partitions = partitions
        self._conf = dict(conf or {})
        self._spark: Any = None

    def session(self) -> Any:
        """The Spark session, started on first use (an active session is reused).

        Raises:
            ConfigurationError: pyspark is not installed, or Spark cannot start (no Java).
        """
        if self._spark is not None:
            return self._spark
        try:
            from pyspark.sql import SparkSession
            from splink.backends.spark import similarity_jar_location
        except ImportError:
            raise ConfigurationError(
                "identity.backend is spark but pyspark is not installed; "
                "install it with `pip install 'aimsight[spark]'` (and Java 17)"
            ) from None
        settings = {
            "spark.jars": similarity_jar_location(),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(self._partitions),
            "spark.default.parallelism": str(self._partitions),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        }
        if self._master.startswith("local"):
            settings["spark.driver.host"] = "127.0.0.1"
            settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings.update(self._conf)
        builder = SparkSession.builder.master(self._master).appName("aimsight-identity")
        # The JVM reads its log configuration once, at start-up; the file can go afterwards.
        with tempfile.TemporaryDirectory(prefix="aimsight-spark-") as folder:
            log_config = Path(folder) / "log4j2.properties"
            log_config.write_text(_LOG4J2_QUIET, encoding="utf-8")
            options = f"-Dlog4j2.configurationFile={log_config.as_uri()}"
            extra = settings.get("spark.driver.extraJavaOptions")
            settings["spark.driver.extraJavaOptions"] = f"{options} {extra}" if extra else options
            for key, value in settings.items():
                builder = builder.config(key, value)
            try:
                self._spark = builder.getOrCreate()
            except Exception as exc:  # py4j and Spark raise plain exceptions at start-up
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ConfigurationError(
                    f"Spark could not start on {self._master} (is Java 17 installed, on the "
                    f"PATH or in JAVA_HOME?): {first_line}"
                ) from exc
        self._spark.sparkContext.setLogLevel("ERROR")
        return self._spark

    def stop(self) -> None:
        """Stop the Spark session this backend started or joined."""
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def register(self, connection: duckdb.DuckDBPyConnection) -> SplinkDataFrame:
        from splink import SparkAPI

        spark = self.session()
        # A fresh API per linker, as on DuckDB: Splink caches tables per API.
        api = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=spark,
            break_lineage_method="persist",
            num_partitions_on_repartition=self._partitions,
        )
        arrow = connection.sql(f"SELECT * FROM {MATCH_INPUT}").to_arrow_table()
        frame = spark.createDataFrame(arrow).repartition(self._partitions)
        spark.catalog.dropTempView(_SPARK_INPUT)  # the previous job's input
        registered: SplinkDataFrame = api.register(frame, table_name=_SPARK_INPUT)
        return registered

    def fetch(self, frame: SplinkDataFrame, columns: list[str], where: str) -> pa.Table:
        table: pa.Table = frame.as_spark_dataframe().filter(where).select(*columns).toArrow()
        return table

    def columns(self, frame: SplinkDataFrame) -> list[str]:
        return list(frame.as_spark_dataframe().columns)

    def release(self) -> None:
        if self._spark is not None:
            self._spark.catalog.clearCache()


_SPARK_INPUT = "identity_input"
_LOG4J2_QUIET = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
logger.shell.name = org.apache.spark.api.python.PythonGatewayServer
logger.shell.level = error
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


# --- training and prediction -------------------------------------------------------------


def train_model(
    connection: duckdb.DuckDBPyConnection, config: MatchingConfig, backend: MatchingBackend
) -> dict[str, Any]:
    """Train the Fellegi-Sunter model; returns Splink's model JSON.

    Order: the prior from the deterministic ``prior_rules``, u from random pairs, then m by
    EM on each ``em_blocking`` rule (each session leaves the blocked attributes' m alone).
    """
    training = config.training
    linker = backend.linker(connection, splink_settings(config, backend.dialect))
    try:
        linker.training.estimate_probability_two_random_records_match(
            [_block(r) for r in training.prior_rules],  # compiled in the engine's dialect
            recall=training.prior_recall,
        )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=training.u_max_pairs, seed=training.seed
        )
        for rule in training.em_blocking:
            linker.training.estimate_parameters_using_expectation_maximisation(_block(rule))
    except AimsightError:
        raise
    except Exception as exc:
        raise MatchingError(f"training the matching model failed: {exc}") from exc
    finally:
        backend.release()
    model: dict[str, Any] = linker.misc.save_model_to_json()
    return model


def predict_pairs(
    connection: duckdb.DuckDBPyConnection,
    config: MatchingConfig,
    backend: MatchingBackend,
    model: dict[str, Any],
    *,
    min_probability: float,
) -> tuple[pa.Table, list[int]]:
    """Score every blocked pair with ``model``; keep pairs at or above ``min_probability``.

    Returns the pairs (``unique_id_l``, ``unique_id_r``, ``match_weight``,
    ``match_probability`` and per comparison ``gamma_<attribute>`` and ``mw_<attribute>``)
    and a histogram of all scored pairs' match weights in one-bit bins from -20 to +40
    (for choosing the threshold without labels). ``model`` may come from the other engine:
    its SQL is recompiled for ``backend`` (see :func:`model_for_dialect`).
    """
    linker = backend.linker(connection, model_for_dialect(model, config, backend.dialect))
    try:
        try:
            predictions = linker.inference.predict()
        except Exception as exc:
            raise MatchingError(f"scoring record pairs failed: {exc}") from exc
        histogram = _weight_histogram(backend, predictions)
        present = set(backend.columns(predictions))
        columns = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
        for spec in config.comparisons:
            wanted = (f"mw_{spec.attribute}", f"mw_tf_adj_{spec.attribute}")
            columns += [c for c in wanted if c in present]
        weight = math.log2(min_probability / (1 - min_probability))
        pairs = backend.fetch(predictions, columns, f"match_weight >= {weight!r}")
        predictions.drop_table_from_database_and_remove_from_cache()
    finally:
        backend.release()
    return pairs, histogram


_TRAINED = ("m_probability", "u_probability")


def model_for_dialect(
    model: dict[str, Any], config: MatchingConfig, dialect: str
) -> dict[str, Any]:
    """``model`` with its SQL in ``dialect``, so a model trained on one engine scores on another.

    Splink's model JSON holds SQL in the dialect it was trained on (DuckDB's
    ``jaro_winkler_similarity`` and ``try_strptime``, Spark's ``jaro_winkler`` and
    ``try_to_timestamp``). The SQL is compiled afresh from ``config`` for ``dialect`` and the
    trained parameters (the prior, each level's m and u) are copied over level by level.
    A model already in ``dialect`` is returned as it is.

    Raises:
        InvalidInput: the model's comparisons do not match ``config``'s; retrain.
    """
    if model.get("sql_dialect", dialect) == dialect:
        return model
    compiled: dict[str, Any] = splink_settings(config, dialect).create_settings_dict(dialect)
    stored = model.get("comparisons", [])
    fresh = compiled["comparisons"]
    shape = [(c["output_column_name"], len(c["comparison_levels"])) for c in fresh]
    if [
        (c.get("output_column_name"), len(c.get("comparison_levels", []))) for c in stored
    ] != shape:
        raise InvalidInput(
            "the stored matching model does not fit the matching configuration "
            "(different comparisons); retrain it with `aimsight identity run --retrain`"
        )
    for old, new in zip(stored, fresh, strict=True):
        for old_level, new_level in zip(
            old["comparison_levels"], new["comparison_levels"], strict=True
        ):
            for key in _TRAINED:
                if key in old_level:
                    new_level[key] = old_level[key]
    for key in ("probability_two_random_records_match", "linker_uid"):
        if key in model:
            compiled[key] = model[key]
    compiled["sql_dialect"] = dialect
    return compiled


HISTOGRAM_LOW, HISTOGRAM_HIGH = -20, 40


def _weight_histogram(backend: MatchingBackend, predictions: SplinkDataFrame) -> list[int]:
    expression = (
        f"LEAST(GREATEST(CAST(floor(match_weight) AS INTEGER), {HISTOGRAM_LOW}), "
        f"{HISTOGRAM_HIGH - 1})"
    )
    counts = [0] * (HISTOGRAM_HIGH - HISTOGRAM_LOW)
    if isinstance(backend, DuckDBMatching):
        rows = (
            predictions.as_duckdbpyrelation()
            .aggregate(f"{expression} AS bin, count(*) AS n", f"{expression}")
            .fetchall()
        )
    else:
        rows = [
            (int(r[0]), int(r[1]))
            for r in predictions.as_spark_dataframe()
            .selectExpr(f"{expression} AS bin")
            .groupBy("bin")
            .count()
            .collect()
        ]
    for bin_, n in rows:
        counts[int(bin_) - HISTOGRAM_LOW] += int(n)
    return counts


def choose_threshold(config: MatchingConfig, histogram: list[int]) -> float:
    """The match probability at which pairs become links.

    A number in the configuration is used as given. ``auto`` picks the least dense point of
    the match-weight distribution (smoothed over three bins) between the configured
    ``min_threshold`` and a probability of 0.999: the valley between the non-match and
    match modes, where a small shift of the threshold changes fewest decisions.
    """
    setting = config.clustering.threshold
    if setting != "auto":
        return float(setting)
    low = math.log2(config.clustering.min_threshold / (1 - config.clustering.min_threshold))
    high = math.log2(0.999 / 0.001)
    best: tuple[float, float] | None = None
    for index in range(1, len(histogram) - 1):
        start = HISTOGRAM_LOW + index
        if start < math.floor(low) or start + 1 > math.ceil(high):
            continue
        density = sum(histogram[index - 1 : index + 2]) / 3
        if best is None or density < best[0]:
            best = (density, float(start))
    if best is None:
        return config.clustering.min_threshold
    weight = max(best[1], low)
    return float(2**weight / (1 + 2**weight))


def validate_model(model: object) -> dict[str, Any]:
    """Check a stored model is Splink JSON with comparisons; returns it typed."""
    if not isinstance(model, dict) or "comparisons" not in model:
        raise InvalidInput("the stored matching model is not a Splink model; retrain it")
    return model
