"""The cluster tier: identity resolution on Apache Spark agrees with DuckDB on a sample.

The small company (tests/factories/identity.py) is ingested once and resolved on DuckDB once;
each test works on a copy. Spark runs in local mode inside this process, one session for the
whole module (started by the first test that needs it, stopped at the end), tuned for tiny
data: a JVM that compiles little, one shuffle partition, no adaptive planning, no code
generation. Skipped with the reason when pyspark or Java is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aimsight.core import InvalidInput
from aimsight.core.workspace import Workspace
from aimsight.identity import IdentityService, RunSummary
from aimsight.identity._matcher import SparkMatching, spark_date_pattern
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.store import Lake, Ledger, Store
from tests.factories.identity import write_people

pytestmark = [pytest.mark.spark, pytest.mark.integration]

# Settings for a few hundred rows; a real cluster keeps Spark's defaults.
TINY_DATA = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
Partition = set[frozenset[str]]


def _spark_unavailable() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'aimsight[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
        java_home and (Path(java_home) / "bin" / "java").exists()
    ):
        return "Java is not installed (Spark needs Java 17 on the PATH or in JAVA_HOME)"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkMatching]:
    """The Spark backend, its local session shared by the module's tests."""
    reason = _spark_unavailable()
    if reason is not None:
        pytest.skip(reason)
    backend = SparkMatching("local[2]", partitions=1, conf=TINY_DATA)
    backend.session()
    yield backend
    backend.stop()


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the company's CRM and billing ingested, not yet resolved."""
    root = tmp_path_factory.mktemp("identity-spark")
    ws = Workspace.create(root / "acme")
    with Store.open(ws, upgrade=True) as store:
        ContractRegistry.for_workspace(ws).install_defaults()
        IdentityService(ws, store, Ledger.open(ws, store)).install_default_config()
    paths = write_people(root / "data")
    for name, source, entity in (("crm", "crm", "customers"), ("billing", "billing", "accounts")):
        with Store.open(ws) as store:
            IngestService(ws, store, Ledger.open(ws, store)).ingest_path(
                paths[name], source=source, entity=entity, actor="test"
            )
    return ws.root


@pytest.fixture(scope="module")
def on_duckdb(company: Path) -> tuple[Path, RunSummary]:
    """The company resolved on DuckDB (the model trained there)."""
    ws = _copy(company, company.parent / "duckdb")
    return ws.root, _run(ws, "duckdb")


def _copy(source: Path, target: Path) -> Workspace:
    shutil.copytree(source, target)
    return Workspace.open(target)


def _run(ws: Workspace, backend: str | SparkMatching, *, retrain: bool = False) -> RunSummary:
    with Store.open(ws) as store:
        service = IdentityService(ws, store, Ledger.open(ws, store), backend=backend)
        return service.run(actor="test", retrain=retrain)


def _partition(ws: Workspace, run: RunSummary) -> Partition:
    """The run's customers as sets of record keys (ids aside), from its records file."""
    path = Lake.for_workspace(ws).resolve(f"identity/records/{run.run_id}.parquet")
    records = pq.read_table(path, columns=["unique_id", "customer_id"])
    members: dict[str, set[str]] = {}
    for key, customer in zip(*(c.to_pylist() for c in records.columns), strict=True):
        members.setdefault(customer, set()).add(key)
    return {frozenset(m) for m in members.values()}


def _scored_weights(ws: Workspace, run: RunSummary) -> dict[tuple[str, str], float]:
    """Match weight of each pair Splink scored into a link (exact-identifier links aside)."""
    path = Lake.for_workspace(ws).resolve(f"identity/edges/{run.run_id}.parquet")
    edges = pq.read_table(path, columns=["unique_id_l", "unique_id_r", "match_weight", "rule"])
    return {
        (left, right): weight
        for left, right, weight, rule in zip(*(c.to_pylist() for c in edges.columns), strict=True)
        if "probabilistic" in rule
    }


def test_a_duckdb_model_scores_and_clusters_the_same_on_spark(
    spark: SparkMatching, on_duckdb: tuple[Path, RunSummary], tmp_path: Path
) -> None:
    root, duckdb_run = on_duckdb
    ws = _copy(root, tmp_path / "ws")

    spark_run = _run(ws, spark)

    assert (spark_run.backend, spark_run.trained) == ("spark", False)
    assert spark_run.model_version == duckdb_run.model_version
    assert _partition(ws, spark_run) == _partition(Workspace.open(root), duckdb_run)
    # The threshold comes from the histogram of every scored pair's weight.
    assert spark_run.threshold == duckdb_run.threshold
    assert (spark_run.links, spark_run.customers) == (duckdb_run.links, duckdb_run.customers)
    on_spark = _scored_weights(ws, spark_run)
    on_duck = _scored_weights(Workspace.open(root), duckdb_run)
    assert on_spark.keys() == on_duck.keys() and on_duck
    for pair, weight in on_duck.items():
        assert on_spark[pair] == pytest.approx(weight, abs=1e-6), pair


def test_b_a_full_run_on_spark_trains_and_finds_the_same_customers(
    spark: SparkMatching, company: Path, on_duckdb: tuple[Path, RunSummary], tmp_path: Path
) -> None:
    ws = _copy(company, tmp_path / "ws")
    duckdb_partition = _partition(Workspace.open(on_duckdb[0]), on_duckdb[1])

    spark_run = _run(ws, spark)

    assert (spark_run.backend, spark_run.trained) == ("spark", True)
    # Splink estimates u from record pairs in chunks chosen by hashing record ids, and each
    # engine hashes differently, so the two models differ in the third decimal of a few u
    # values (and Splink's Spark Jaro-Winkler UDF is not DuckDB's); the customers must not.
    assert _partition(ws, spark_run) == duckdb_partition

    # The Spark-trained model scores on DuckDB too (its SQL is recompiled for the engine).
    duckdb_rerun = _run(ws, "duckdb")
    assert (duckdb_rerun.trained, duckdb_rerun.model_version) == (False, spark_run.model_version)
    assert _partition(ws, duckdb_rerun) == duckdb_partition


def test_date_formats_are_written_in_sparks_pattern_language() -> None:
    assert spark_date_pattern("%Y-%m-%d") == "yyyy-MM-dd"
    assert spark_date_pattern("%d/%m/%y") == "dd/MM/yy"
    assert spark_date_pattern("%Y-%m-%dT%H:%M:%S") == "yyyy-MM-dd\\'T\\'HH:mm:ss"
    with pytest.raises(InvalidInput, match="%a"):
        spark_date_pattern("%a %d %b %Y")
