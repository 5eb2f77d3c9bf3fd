"""Checks over the ledger and the data: record keeping (A.6.2.8), data quality (A.7.4) and
data provenance (A.7.5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aimsight.aims._checks_base import CheckContext, CheckOutcome, parse_time
from aimsight.aims._model import CheckStatus, Evidence
from aimsight.core import NotFound
from aimsight.ingest import BatchInfo, LakeFileInfo

__all__ = [
    "INGEST_LAKE_FOLDER",
    "MIN_RETENTION_DAYS",
    "ORPHAN_GRACE",
    "QUALITY_THRESHOLD",
    "QUALITY_WINDOW",
    "ingest_quality",
    "ledger_integrity",
    "lineage_coverage",
]

MIN_RETENTION_DAYS = 183
"""Six months: the least time ledger entries must be kept."""

QUALITY_WINDOW = timedelta(days=30)
"""How far back ingest batches count towards the quality pass rate."""

QUALITY_THRESHOLD = 0.95
"""The share of recent batches whose quality report must have accepted them."""

INGEST_LAKE_FOLDER = "raw"
"""The lake folder ingest writes batches under (files elsewhere belong to other layers)."""

ORPHAN_GRACE = timedelta(hours=1)
"""A lake file younger than this may belong to an ingest still committing: not an orphan yet."""

_MAX_BATCHES = 100_000


def ledger_integrity(context: CheckContext) -> CheckOutcome:
    """The ledger verifies end to end and keeps its entries at least six months.

    Fails when verification finds an altered, removed or inserted entry, or when
    ``ledger.retention_days`` is under 183. Warns when the ledger is empty or younger than six
    months: nothing was removed (verification starts at entry 1) but six months of keeping
    cannot be shown yet.
    """
    ledger = context.ledger
    verification = ledger.verify()
    retention = context.workspace.settings.ledger.retention_days
    evidence = [Evidence("setting", "ledger.retention_days", f"{retention} days")]
    findings: list[str] = []
    if verification.head_seq is not None:
        try:
            head = ledger.get(verification.head_seq)
            evidence.append(
                Evidence(
                    "ledger",
                    f"seq {head.seq}",
                    f"head hash {head.hash}; {verification.entries_checked} entries verified",
                )
            )
        except NotFound:
            pass  # the head names an entry that is gone: verification reports it below
    if not verification.ok:
        evidence.append(
            Evidence("ledger", f"seq {verification.first_bad_seq}", verification.problem or "")
        )
        findings.append(
            f"ledger verification failed at entry {verification.first_bad_seq} "
            f"({verification.kind}): {verification.problem}; investigate with "
            "`aimsight ledger verify` and restore the store from a backup"
        )
    if retention < MIN_RETENTION_DAYS:
        findings.append(
            f"ledger.retention_days is {retention}; set it to at least {MIN_RETENTION_DAYS} "
            "(six months)"
        )
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            "The ledger cannot be relied on as a record: " + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    if verification.entries_checked == 0:
        return CheckOutcome(
            CheckStatus.WARN,
            "The ledger is empty: nothing has been recorded yet, so keeping records cannot be "
            "shown.",
            tuple(evidence),
        )
    oldest = ledger.get(1)
    recorded = parse_time(oldest.recorded_at)
    evidence.append(Evidence("ledger", "seq 1", f"oldest entry, recorded {oldest.recorded_at}"))
    age = context.now - recorded if recorded else timedelta(0)
    if age < timedelta(days=MIN_RETENTION_DAYS):
        shown_from = (recorded or context.now) + timedelta(days=MIN_RETENTION_DAYS)
        young = f"only {age.days} days old" if age.days else "less than a day old"
        return CheckOutcome(
            CheckStatus.WARN,
            f"The ledger verifies end to end ({verification.entries_checked} entries) and has "
            f"lost nothing, but it is {young}: six months of keeping can be shown from "
            f"{shown_from.date().isoformat()}.",
            tuple(evidence),
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"The ledger verifies end to end ({verification.entries_checked} entries) and keeps "
        f"entries back to {oldest.recorded_at[:10]} ({age.days} days; retention {retention} "
        "days).",
        tuple(evidence),
    )


def ingest_quality(context: CheckContext) -> CheckOutcome:
    """At least 95% of the batches ingested in the last 30 days passed their quality rules.

    A batch passes when its quality report accepted it (rows may still have gone to
    quarantine within the contract's limits); a rejected batch fails. Warns when nothing was
    ingested in the window.
    """
    batches = context.ingest.batches(limit=_MAX_BATCHES)
    since = context.now - QUALITY_WINDOW
    if not batches:
        return CheckOutcome(
            CheckStatus.WARN,
            "No data has been ingested yet, so data quality cannot be shown; ingest the "
            "sources the AI systems use.",
        )
    recent = [batch for batch in batches if _committed_since(batch, since)]
    if not recent:
        return CheckOutcome(
            CheckStatus.WARN,
            f"No data was ingested in the last {QUALITY_WINDOW.days} days (the newest batch was "
            f"committed {batches[0].committed_at[:10]}), so recent data quality cannot be shown.",
            (Evidence("ingest_batch", batches[0].batch_id, "newest batch"),),
        )
    rejected = [batch for batch in recent if batch.verdict != "accepted"]
    rate = (len(recent) - len(rejected)) / len(recent)
    rows_in = sum(batch.rows_in for batch in recent)
    rows_accepted = sum(batch.rows_accepted for batch in recent)
    rows_note = f"{rows_accepted} of {rows_in} rows accepted" if rows_in else "no rows"
    window = f"the last {QUALITY_WINDOW.days} days"
    evidence = [
        Evidence(
            "ingest_batches",
            f"{len(recent)} batches since {since.date().isoformat()}",
            f"pass rate {rate:.1%} (threshold {QUALITY_THRESHOLD:.0%}); {rows_note}",
        )
    ]
    evidence.extend(
        Evidence("ingest_batch", batch.batch_id, f"{batch.dataset}: {batch.report.verdict_reason}")
        for batch in rejected
    )
    if rate < QUALITY_THRESHOLD:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"Only {rate:.1%} of the {len(recent)} batches ingested in {window} passed their "
            f"quality rules (threshold {QUALITY_THRESHOLD:.0%}); fix the sources of the "
            "rejected batches and ingest them again.",
            tuple(evidence),
            tuple(
                f"batch {batch.batch_id} of {batch.dataset} ({batch.committed_at[:10]}) was "
                f"rejected: {batch.report.verdict_reason}"
                for batch in rejected
            ),
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"{len(recent) - len(rejected)} of {len(recent)} batches ingested in {window} passed "
        f"their quality rules ({rate:.1%}, threshold {QUALITY_THRESHOLD:.0%}; {rows_note}).",
        tuple(evidence),
    )


def lineage_coverage(context: CheckContext) -> CheckOutcome:
    """Every committed lake file has lineage, is on disk as committed, and no file is stray.

    For each committed file: its batch's lineage is found (source, contract, rule set), the
    batch is on the ledger, and the file's bytes still hash to what was committed. Files under
    the ingest folder that no batch committed (left by interrupted ingests) are findings too.
    Every committed file is read to hash it, so this check takes time on a large lake.
    """
    committed = context.ingest.lake_files()
    paths = {path for files in committed.values() for path in files}
    covered: dict[str, tuple[LakeFileInfo, BatchInfo]] = {}
    for dataset in committed:
        try:
            batches = context.lineage.dataset(dataset, limit=_MAX_BATCHES).batches
        except NotFound:
            continue  # its files are reported below as having no lineage
        for batch in batches:
            for file in context.lineage.batch(batch.batch_id).files:
                covered[file.path] = (file, batch)
    findings: list[str] = []
    evidence: list[Evidence] = []
    unrecorded: set[str] = set()
    for path in sorted(paths):
        if path not in covered:
            findings.append(f"{path} is committed but no batch lineage names it")
            continue
        file, batch = covered[path]
        problem = _file_problem(context, file)
        if problem:
            findings.append(problem)
            continue
        if batch.ledger_seq is None and batch.batch_id not in unrecorded:
            unrecorded.add(batch.batch_id)
            findings.append(
                f"batch {batch.batch_id} ({batch.dataset}) is not on the ledger; ingesting the "
                "same source again records it"
            )
        evidence.append(
            Evidence(
                "lake_file",
                path,
                f"batch {batch.batch_id} from {batch.source} ({batch.origin}), contract "
                f"v{batch.contract_version}, rules {batch.rule_set_version}, ledger seq "
                f"{batch.ledger_seq}",
            )
        )
    orphans = context.lake.orphans(paths, under=INGEST_LAKE_FOLDER, older_than=ORPHAN_GRACE)
    findings.extend(
        f"{path} is in the lake but no batch committed it (left by an interrupted ingest, or "
        "put there by hand); `aimsight ingest clean` removes such files"
        for path in orphans
    )
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} problem(s) with lake lineage over {len(paths)} committed files: "
            + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    if not paths:
        return CheckOutcome(
            CheckStatus.WARN,
            "The lake holds no ingested data yet, so lineage cannot be shown.",
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {len(paths)} committed lake files trace back to their batch, source, contract "
        "and rule set, are unchanged since commit, and no stray file is in the lake.",
        tuple(evidence),
    )


def _committed_since(batch: BatchInfo, since: datetime) -> bool:
    committed = parse_time(batch.committed_at)
    return committed is not None and committed >= since


def _file_problem(context: CheckContext, file: LakeFileInfo) -> str | None:
    """Why a committed file is not the one its lineage describes, or ``None``."""
    try:
        digest = context.lake.sha256(file.path)
    except FileNotFoundError:
        return f"{file.path} is committed by batch {file.batch_id} but missing from the lake"
    except OSError as exc:
        return f"{file.path} cannot be read ({exc.strerror or exc})"
    if digest != file.sha256:
        return (
            f"{file.path} changed after batch {file.batch_id} committed it (SHA-256 differs); "
            "restore it from a backup or ingest its source again"
        )
    return None
