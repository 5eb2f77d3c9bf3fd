"""Batch ingestion: read, validate, write the lake atomically, commit, record.

One batch is one file, or one call with already-parsed records (the collector, a stream). A
batch goes through these steps, and a crash at any point leaves either nothing or all of it:

1. Its id is a hash of its source, entity and content, so the same content twice is the same
   batch, found committed the second time: nothing is added.
2. The source is read (``_readers``) and validated against the latest contract (``_rules``):
   every row is accepted or quarantined with its reasons, or the rules reject the batch whole.
3. Accepted rows are written to the lake as Parquet, one file per event date, atomically.
   Nothing reads them yet: lake views read only files the store lists.
4. One store transaction commits the batch, its lake files, its quarantined rows and the
   message keys it consumed. From here on the batch exists.
5. The ledger records ``ingest.batch_committed`` (ids and counts only, no personal data).
   Killed before this, a rerun finds the batch committed and records it then.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, cast

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.workspace import Workspace
from aimsight.ingest._contracts import Contract, ContractRegistry
from aimsight.ingest._readers import SUFFIX_FORMATS, read_records, read_source
from aimsight.ingest._report import QualityReport
from aimsight.ingest._rules import RULE_SET_VERSION, Validated, ValidationContext, validate
from aimsight.ingest._tables import BatchRow, LakeFileRow, MessageKeyRow, QuarantineRow
from aimsight.ingest._types import LINE_COLUMN, RejectedRow, SourceRead
from aimsight.store import Lake, LakeFile, Ledger, Store

__all__ = [
    "BATCH_COLUMN",
    "PAUSE_ENV",
    "BatchInfo",
    "BatchResult",
    "IngestService",
    "Progress",
]

BATCH_COLUMN = "_batch_id"
"""Column every lake row carries: the batch that brought it in (with ``_line``, its source)."""

PAUSE_ENV = "AIMSIGHT_TEST_PAUSE_AT"
"""Test hook: ``after_lake_write`` or ``after_commit`` makes the process stop there for
``AIMSIGHT_TEST_PAUSE_SECONDS`` (default 60), so a test can kill it at that point."""

LAKE_PREFIX = "raw"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RECENT_BATCHES = 20
_KEY_CHUNK = 500
_MAX_KEY = 300
_COMMIT_ATTEMPTS = 3
_RECORDING = threading.Lock()

_Part = tuple[str, Callable[[], pa.Table]]
"""A lake partition: its label and a function making its rows."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as a long ingest moves on (``done`` of ``total``
files, or of the batch's steps for one file)."""

_batches = cast(Table, BatchRow.__table__)
_files = cast(Table, LakeFileRow.__table__)
_quarantine = cast(Table, QuarantineRow.__table__)
_keys = cast(Table, MessageKeyRow.__table__)


@dataclass(frozen=True)
class BatchResult:
    """What one ingest did.

    ``duplicate`` is True when the content was already ingested and nothing was added;
    ``batch_id`` then names the batch that holds it. From :meth:`IngestService.ingest_path`
    the counts are that batch's; from :meth:`IngestService.ingest_records` they are what this
    call added (0), and ``duplicates`` counts the records dropped because their message key
    (or their whole content) was already committed. ``files`` are lake paths relative to the
    lake folder.
    """

    batch_id: str
    dataset: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    verdict: str
    duplicate: bool
    files: list[str]
    report: QualityReport
    duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, the report included."""
        data = {key: value for key, value in asdict(self).items() if key != "report"}
        data["report"] = self.report.to_dict()
        return data


@dataclass(frozen=True)
class BatchInfo:
    """A committed batch as the store holds it."""

    batch_id: str
    dataset: str
    source: str
    entity: str
    kind: str
    origin: str
    content_sha256: str
    format: str | None
    contract_version: int
    contract_digest: str
    rule_set_version: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    verdict: str
    parent_batch_id: str | None
    received_at: str
    committed_at: str
    actor: str
    ledger_seq: int | None
    report: QualityReport = field(repr=False)

    def to_dict(self, *, with_report: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; the report is left out unless ``with_report``."""
        data = {key: value for key, value in asdict(self).items() if key != "report"}
        if with_report:
            data["report"] = self.report.to_dict()
        return data


@dataclass
class _Batch:
    """Everything needed to commit one batch, gathered before the commit."""

    batch_id: str
    contract: Contract
    kind: str
    origin: str
    content_sha256: str
    format: str | None
    received_at: datetime
    actor: str
    validated: Validated
    reader_rejects: list[RejectedRow]
    report: QualityReport
    parent_batch_id: str | None = None
    message_keys: list[str] = field(default_factory=list)
    rows_duplicate: int = 0
    reopened: dict[int, RejectedRow] = field(default_factory=dict)  # replay: rows still failing
    replayed_ids: list[int] = field(default_factory=list)  # replay: rows that passed

    @property
    def rejects(self) -> list[RejectedRow]:
        """Every refused row, in source order (so quarantine ids follow the source)."""
        rows = [*self.reader_rejects, *self.validated.rejects]
        return sorted(rows, key=lambda row: (row.line is None, row.line or 0))


class IngestService:
    """Turns sources into committed lake batches, with quarantine and lineage.

    Args:
        workspace: where the lake and the contracts live.
        store: the operational store holding batches, lake files and quarantine.
        ledger: where each committed batch is recorded.
        contracts: the contract registry; the workspace's by default.
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        contracts: ContractRegistry | None = None,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._contracts = contracts or ContractRegistry.for_workspace(workspace)
        self._lake = Lake.for_workspace(workspace)

    @property
    def contracts(self) -> ContractRegistry:
        """The registry the service validates against."""
        return self._contracts

    # -- ingesting --------------------------------------------------------------------------

    def ingest_path(
        self,
        path: Path,
        *,
        source: str,
        entity: str,
        actor: str,
        format: Literal["csv", "jsonl", "parquet"] | None = None,  # noqa: A002 - the CLI's word
        delimiter: str | None = None,
        encoding: str | None = None,
        progress: Progress | None = None,
    ) -> list[BatchResult]:
        """Ingest a file (one batch) or every data file below a folder (one batch each).

        Files of a folder go in path order; a folder's files are those with a known suffix
        (``.csv .tsv .txt .jsonl .ndjson .json .parquet``, or any file when ``format`` is
        given), hidden ones skipped.

        Raises:
            InvalidInput: the path does not exist, the folder holds no data file, or a name is
                malformed. A whole-file problem (empty file, duplicate header) raises the
                reader's error naming the file; files before it in a folder stay committed,
                and a rerun skips them as duplicates.
            NotFound: there is no contract for ``source.entity``.
        """
        _check_name("source", source)
        _check_name("entity", entity)
        files = _data_files(path, format)
        contract = self._contracts.get(source, entity)
        results = []
        for index, file in enumerate(files):
            step = _Steps(progress, file.name if len(files) > 1 else "", index, len(files))
            results.append(
                self._ingest_file(
                    file,
                    contract,
                    actor=actor,
                    format=format,
                    delimiter=delimiter,
                    encoding=encoding,
                    step=step,
                )
            )
            step("done", 1)
        return results

    def ingest_records(
        self,
        records: Sequence[object],
        *,
        source: str,
        entity: str,
        actor: str,
        origin: str,
        message_keys: Sequence[str] | None = None,
        received_at: datetime | None = None,
    ) -> BatchResult:
        """Ingest already-parsed records (collector, stream) as one batch.

        ``message_keys[i]`` identifies ``records[i]``; a record whose key a committed batch
        already consumed (or that repeats a key earlier in ``records``) is dropped before the
        batch is formed and counted in ``duplicates``. The new keys are committed in the same
        transaction as the batch, so redelivery after a crash adds nothing.

        Raises:
            InvalidInput: no records, keys that do not match the records one to one, or a
                malformed name.
            NotFound: there is no contract for ``source.entity``.
        """
        _check_name("source", source)
        _check_name("entity", entity)
        if not records:
            raise InvalidInput("no records to ingest; pass at least one", field="records")
        if message_keys is not None:
            if len(message_keys) != len(records):
                raise InvalidInput(
                    f"message_keys has {len(message_keys)} keys for {len(records)} records; "
                    "pass one key per record",
                    field="message_keys",
                )
            for key in message_keys:
                if not key or len(key) > _MAX_KEY:
                    raise InvalidInput(
                        f"a message key must be 1 to {_MAX_KEY} characters; got {len(key)}",
                        field="message_keys",
                    )
        if received_at is not None and received_at.tzinfo is None:
            raise InvalidInput(
                "received_at has no time zone; pass an aware datetime (UTC)", field="received_at"
            )
        contract = self._contracts.get(source, entity)
        received = (received_at or now_utc()).astimezone(UTC)
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                return self._ingest_records_once(
                    records,
                    contract,
                    actor=actor,
                    origin=origin,
                    keys=message_keys,
                    received_at=received,
                )
            except IntegrityError:
                # Another process committed some of these keys (or this batch) meanwhile:
                # start again, and they are dropped as duplicates this time.
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _ingest_file(
        self,
        path: Path,
        contract: Contract,
        *,
        actor: str,
        format: Literal["csv", "jsonl", "parquet"] | None,  # noqa: A002
        delimiter: str | None,
        encoding: str | None,
        step: _Steps,
    ) -> BatchResult:
        step("hashing", 0)
        data = path.read_bytes()  # read once: the content hashed is the content ingested
        content = hashlib.sha256(data).hexdigest()
        batch_id = _batch_id("file", contract.source, contract.entity, content)
        existing = self._existing(batch_id)
        if existing is not None:
            return existing
        received_at = now_utc()
        step("reading", 0)
        read = read_source(path, format=format, delimiter=delimiter, encoding=encoding, data=data)
        del data
        step("validating", 0)
        validated = validate(read.table, contract, self._context(contract, received_at, read))
        batch = _Batch(
            batch_id=batch_id,
            contract=contract,
            kind="file",
            origin=str(path.resolve()),
            content_sha256=content,
            format=read.format,
            received_at=received_at,
            actor=actor,
            validated=validated,
            reader_rejects=list(read.rejects),
            report=_with_reader(validated.report, read),
        )
        try:
            return self._commit(batch, step)
        except IntegrityError:
            # Another process committed it meanwhile; it is alive and records it itself.
            existing = self._existing(batch_id, repair=False)
            if existing is None:
                raise
            return existing

    def _ingest_records_once(
        self,
        records: Sequence[object],
        contract: Contract,
        *,
        actor: str,
        origin: str,
        keys: Sequence[str] | None,
        received_at: datetime,
    ) -> BatchResult:
        duplicates = 0
        fresh_keys: list[str] = []
        if keys is not None:
            known = self._known_message_keys(contract.name, keys)
            kept: list[object] = []
            seen: set[str] = set()
            for record, key in zip(records, keys, strict=True):
                if key in known or key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                kept.append(record)
                fresh_keys.append(key)
            if not kept:
                existing = self._existing(known[keys[0]])
                if existing is None:  # pragma: no cover - keys are committed with batches
                    raise NotFound(f"batch {known[keys[0]]} of message key {keys[0]} is gone")
                return _nothing_added(existing, duplicates)
            records = kept
        content = _records_sha256(records, fresh_keys if keys is not None else None)
        batch_id = _batch_id("records", contract.source, contract.entity, content)
        existing = self._existing(batch_id)
        if existing is not None:
            return _nothing_added(existing, duplicates + len(records))
        read = read_records(records)
        validated = validate(read.table, contract, self._context(contract, received_at, read))
        batch = _Batch(
            batch_id=batch_id,
            contract=contract,
            kind="records",
            origin=origin[:1000],
            content_sha256=content,
            format=read.format,
            received_at=received_at,
            actor=actor,
            validated=validated,
            reader_rejects=list(read.rejects),
            report=_with_reader(validated.report, read),
            message_keys=fresh_keys,
            rows_duplicate=duplicates,
        )
        return replace(self._commit(batch, _Steps(None, "", 0, 1)), duplicates=duplicates)

    def _context(
        self,
        contract: Contract,
        received_at: datetime,
        read: SourceRead | None = None,
        *,
        volumes: bool = True,
    ) -> ValidationContext:
        cache: dict[str, pa.Array] = {}

        def known_keys(reference: str, values: pa.Array) -> pa.Array:
            if reference not in cache:
                cache[reference] = self._reference_values(reference)
            value_set = cache[reference]
            if value_set.type != values.type:  # compare as text rather than fail
                values = values.cast(pa.string())
                value_set = value_set.cast(pa.string())
            return pc.fill_null(pc.is_in(values, value_set=value_set), False)

        return ValidationContext(
            received_at=received_at,
            known_keys=known_keys,
            recent_volumes=self._recent_volumes(contract.name) if volumes else (),
            reader_rejects=len(read.rejects) if read is not None else 0,
            notes=tuple(read.notes) if read is not None else (),
        )

    def _reference_values(self, reference: str) -> pa.Array:
        """Distinct committed values of ``source.entity.field`` in the lake."""
        dataset, _, column = reference.rpartition(".")
        files = self.lake_files(dataset).get(dataset, [])
        if not files:
            return pa.array([], pa.string())
        with self._lake.connect({dataset: files}) as connection:
            schema, _, view = dataset.rpartition(".")
            try:
                result = connection.sql(
                    f'SELECT DISTINCT "{column}" AS v FROM "{schema}"."{view}" '
                    f'WHERE "{column}" IS NOT NULL'
                ).to_arrow_table()
            except duckdb.Error:  # the referenced field is not in the lake (yet)
                return pa.array([], pa.string())
        return result.column("v").combine_chunks()

    def _recent_volumes(self, dataset: str) -> list[int]:
        with self._store.session() as session:
            return list(
                session.scalars(
                    select(BatchRow.rows_in)
                    .where(BatchRow.dataset == dataset, BatchRow.kind != "replay")
                    .order_by(BatchRow.committed_at.desc(), BatchRow.batch_id.desc())
                    .limit(_RECENT_BATCHES)
                )
            )

    def _known_message_keys(self, dataset: str, keys: Sequence[str]) -> dict[str, str]:
        """Of ``keys``, those already committed for ``dataset``, with their batch."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        with self._store.session() as session:
            for start in range(0, len(unique), _KEY_CHUNK):
                chunk = unique[start : start + _KEY_CHUNK]
                for key, batch_id in session.execute(
                    select(MessageKeyRow.key, MessageKeyRow.batch_id).where(
                        MessageKeyRow.dataset == dataset, MessageKeyRow.key.in_(chunk)
                    )
                ):
                    found[key] = batch_id
        return found

    # -- committing -------------------------------------------------------------------------

    def _commit(self, batch: _Batch, step: _Steps) -> BatchResult:
        contract = batch.contract
        accepted = batch.validated.accepted
        rejects = batch.rejects
        report = batch.report
        rows_in = int(accepted.num_rows) + len(rejects)
        if rows_in != report.rows_in or int(accepted.num_rows) != report.rows_accepted:
            raise AssertionError(  # pragma: no cover - the invariant the rules guarantee
                f"batch {batch.batch_id}: {rows_in} rows in but the report counts "
                f"{report.rows_in}; rows would be lost"
            )
        step("writing", 0)
        written = self._write_lake(batch)
        _pause_at("after_lake_write")
        step("committing", 0)
        committed_at = isoformat_utc(now_utc())
        report_json = json.dumps(report.to_dict(), sort_keys=True, default=str)
        with self._store.session() as session:
            session.execute(
                insert(_batches),
                [
                    {
                        "batch_id": batch.batch_id,
                        "dataset": contract.name,
                        "source": contract.source,
                        "entity": contract.entity,
                        "kind": batch.kind,
                        "origin": batch.origin[:1000],
                        "content_sha256": batch.content_sha256,
                        "format": batch.format,
                        "contract_version": contract.version,
                        "contract_digest": contract.digest(),
                        "rule_set_version": RULE_SET_VERSION,
                        "rows_in": rows_in,
                        "rows_accepted": int(accepted.num_rows),
                        "rows_quarantined": len(rejects),
                        "rows_duplicate": batch.rows_duplicate,
                        "verdict": report.verdict,
                        "report": report_json,
                        "parent_batch_id": batch.parent_batch_id,
                        "received_at": isoformat_utc(batch.received_at),
                        "committed_at": committed_at,
                        "actor": batch.actor[:200],
                        "ledger_seq": None,
                    }
                ],
            )
            if written:
                session.execute(
                    insert(_files),
                    [
                        {
                            "path": file.path,
                            "batch_id": batch.batch_id,
                            "dataset": contract.name,
                            "partition_date": date,
                            "rows": file.rows,
                            "bytes": file.bytes,
                            "sha256": file.sha256,
                            "committed_at": committed_at,
                        }
                        for date, file in written
                    ],
                )
            if rejects:
                values = [
                    _quarantine_values(batch.batch_id, contract.name, reject, committed_at)
                    for reject in rejects
                ]
                session.execute(insert(_quarantine), values)
            if batch.message_keys:
                session.execute(
                    insert(_keys),
                    [
                        {"dataset": contract.name, "key": key, "batch_id": batch.batch_id}
                        for key in batch.message_keys
                    ],
                )
            for row_id, still in batch.reopened.items():
                session.execute(
                    update(_quarantine)
                    .where(_quarantine.c.id == row_id)
                    .values(**_reason_values(still), updated_at=committed_at)
                )
            if batch.replayed_ids:
                for start in range(0, len(batch.replayed_ids), _KEY_CHUNK):
                    session.execute(
                        update(_quarantine)
                        .where(_quarantine.c.id.in_(batch.replayed_ids[start : start + _KEY_CHUNK]))
                        .values(
                            status="replayed",
                            replayed_into=batch.batch_id,
                            updated_at=committed_at,
                        )
                    )
        _pause_at("after_commit")
        step("recording", 0)
        self._record(batch.batch_id)
        return BatchResult(
            batch_id=batch.batch_id,
            dataset=contract.name,
            rows_in=rows_in,
            rows_accepted=int(accepted.num_rows),
            rows_quarantined=len(rejects),
            verdict=report.verdict,
            duplicate=False,
            files=[file.path for _, file in written],
            report=report,
            duplicates=batch.rows_duplicate,
        )

    def _write_lake(self, batch: _Batch) -> list[tuple[str, LakeFile]]:
        """Write the accepted rows, one file per event date; return (date, file) pairs."""
        accepted = batch.validated.accepted
        if accepted.num_rows == 0:
            return []
        contract = batch.contract
        metadata = {
            "aimsight.batch_id": batch.batch_id,
            "aimsight.dataset": contract.name,
            "aimsight.contract_version": str(contract.version),
            "aimsight.contract_digest": contract.digest(),
            "aimsight.rule_set_version": RULE_SET_VERSION,
        }
        parts = _partitions(accepted, contract.event_time, batch.received_at, by=contract.partition)
        key = "month" if contract.partition == "month" else "date"
        files = self._lake.write_tables(
            [
                (
                    f"{LAKE_PREFIX}/{contract.entity}/source={contract.source}/{key}={date}/"
                    f"{batch.batch_id}.parquet",
                    partial(_lake_part, rows, batch.batch_id),
                )
                for date, rows in parts
            ],
            metadata=metadata,
            distinct=_distinct_columns(contract),
            without_statistics=[
                spec.original_name for spec in contract.fields if spec.keeps_original
            ],
        )
        return [(date, file) for (date, _), file in zip(parts, files, strict=True)]

    def _record(self, batch_id: str) -> None:
        """Record the committed batch on the ledger (once) and note the entry's number."""
        with _RECORDING:  # threads of one process never record the same batch twice
            self._record_once(batch_id)

    def _record_once(self, batch_id: str) -> None:
        info = self.batch(batch_id)
        if info.ledger_seq is not None:
            return
        recorded = self._ledger.entries(subject=batch_id, kind="ingest.batch_committed", limit=1)
        if recorded:
            seq = recorded[0].seq
        else:
            seq = self._ledger.append(
                "ingest.batch_committed",
                actor=info.actor,
                subject=batch_id,
                payload={
                    "batch_id": batch_id,
                    "dataset": info.dataset,
                    "kind": info.kind,
                    "content_sha256": info.content_sha256,
                    "contract_version": info.contract_version,
                    "contract_digest": info.contract_digest,
                    "rule_set_version": info.rule_set_version,
                    "rows_in": info.rows_in,
                    "rows_accepted": info.rows_accepted,
                    "rows_quarantined": info.rows_quarantined,
                    "rows_duplicate": info.rows_duplicate,
                    "verdict": info.verdict,
                    "parent_batch_id": info.parent_batch_id,
                },
            ).seq
        with self._store.session() as session:
            session.execute(
                update(_batches).where(_batches.c.batch_id == batch_id).values(ledger_seq=seq)
            )

    def _existing(self, batch_id: str, *, repair: bool = True) -> BatchResult | None:
        """The committed batch ``batch_id`` as a duplicate result, or None.

        With ``repair``, a batch whose ledger entry is missing (its process died between
        commit and entry) is recorded now.
        """
        with self._store.session() as session:
            row = session.get(BatchRow, batch_id)
            if row is None:
                return None
            files = list(
                session.scalars(
                    select(LakeFileRow.path)
                    .where(LakeFileRow.batch_id == batch_id)
                    .order_by(LakeFileRow.path)
                )
            )
        if row.ledger_seq is None and repair:
            self._record(batch_id)  # the process that committed it died before recording
        return BatchResult(
            batch_id=row.batch_id,
            dataset=row.dataset,
            rows_in=row.rows_in,
            rows_accepted=row.rows_accepted,
            rows_quarantined=row.rows_quarantined,
            verdict=row.verdict,
            duplicate=True,
            files=files,
            report=QualityReport.from_dict(json.loads(row.report)),
        )

    # -- reading ----------------------------------------------------------------------------

    def batch(self, batch_id: str) -> BatchInfo:
        """The committed batch ``batch_id``.

        Raises:
            NotFound: no batch has this id.
        """
        with self._store.session() as session:
            row = session.get(BatchRow, batch_id)
        if row is None:
            raise NotFound(
                f"no batch {batch_id!r}; `aimsight ingest batches` lists the committed ones"
            )
        return _info(row)

    def batches(self, dataset: str | None = None, limit: int = 100) -> builtins.list[BatchInfo]:
        """Committed batches, newest first, of ``dataset`` or of all."""
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}", field="limit")
        query = select(BatchRow).order_by(BatchRow.committed_at.desc(), BatchRow.batch_id)
        if dataset is not None:
            query = query.where(BatchRow.dataset == dataset)
        with self._store.session() as session:
            return [_info(row) for row in session.scalars(query.limit(limit))]

    def lake_files(self, dataset: str | None = None) -> dict[str, builtins.list[str]]:
        """Committed lake files per dataset (paths relative to the lake folder)."""
        query = select(LakeFileRow.dataset, LakeFileRow.path).order_by(
            LakeFileRow.dataset, LakeFileRow.committed_at, LakeFileRow.path
        )
        if dataset is not None:
            query = query.where(LakeFileRow.dataset == dataset)
        files: dict[str, list[str]] = {}
        with self._store.session() as session:
            for name, path in session.execute(query):
                files.setdefault(name, []).append(path)
        return files

    def lake(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per dataset over its committed files only.

        ``crm.customers`` is queried as ``SELECT * FROM crm.customers``. A dataset with a
        contract but no accepted rows yet has an empty view of its contract's schema.
        """
        empty = {
            contract.name: contract.arrow_schema().append(pa.field(BATCH_COLUMN, pa.string()))
            for contract in self._contracts.list()
        }
        return self._lake.connect(self.lake_files(), empty=empty)

    def remove_orphans(self, older_than: timedelta = timedelta(hours=1)) -> builtins.list[str]:
        """Delete lake files no committed batch lists (left by interrupted ingests).

        Only files older than ``older_than`` go, so a running ingest's file is never taken.
        """
        committed = [path for paths in self.lake_files().values() for path in paths]
        return self._lake.remove_orphans(committed, under=LAKE_PREFIX, older_than=older_than)


class _Steps:
    """Reports a file's steps to a :data:`Progress` callback."""

    def __init__(self, progress: Progress | None, label: str, index: int, total: int) -> None:
        self._progress = progress
        self._label = label
        self._index = index
        self._total = total

    def __call__(self, stage: str, advance: int) -> None:
        if self._progress is not None:
            text = f"{self._label}: {stage}" if self._label else stage
            self._progress(text, self._index + advance, self._total)


def _nothing_added(existing: BatchResult, duplicates: int) -> BatchResult:
    """The result of records that were all known: no row formed a batch."""
    return replace(
        existing, rows_in=0, rows_accepted=0, rows_quarantined=0, files=[], duplicates=duplicates
    )


def _check_name(what: str, value: str) -> None:
    if not _NAME.fullmatch(value):
        raise InvalidInput(
            f"--{what} {value!r} must be lower-case letters, digits and _ (starting with a "
            "letter, at most 63), e.g. crm or customers",
            field=what,
        )


def _data_files(path: Path, format: str | None) -> list[Path]:  # noqa: A002
    if path.is_file():
        return [path]
    if not path.exists():
        raise InvalidInput(f"{path} does not exist; pass a file or a folder", field="path")
    if not path.is_dir():
        raise InvalidInput(f"{path} is neither a file nor a folder", field="path")
    files = [
        item
        for item in sorted(path.rglob("*"))
        if item.is_file()
        and not any(part.startswith(".") for part in item.relative_to(path).parts)
        and (format is not None or item.suffix.lower() in SUFFIX_FORMATS)
    ]
    if not files:
        raise InvalidInput(
            f"{path} holds no data file ({', '.join(sorted(SUFFIX_FORMATS))}); "
            "pass --format to read files of another suffix",
            field="path",
        )
    return files


def _records_sha256(records: Sequence[object], keys: Sequence[str] | None) -> str:
    digest = hashlib.sha256()
    for index, record in enumerate(records):
        if keys is not None:
            digest.update(keys[index].encode() + b"\0")
        digest.update(
            json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode() + b"\n"
        )
    return digest.hexdigest()


def _batch_id(kind: str, source: str, entity: str, content_sha256: str) -> str:
    """The batch id: a hash of what the batch is, so the same content is the same batch."""
    key = f"{kind}\0{source}\0{entity}\0{content_sha256}".encode()
    return "b_" + hashlib.sha256(key).hexdigest()[:24]


def _with_reader(report: QualityReport, read: SourceRead) -> QualityReport:
    """The report with the reasons of the rows the reader refused counted in too.

    (Validation already counts those rows in ``rows_in`` and the quarantine rate.)
    """
    if not read.rejects:
        return report
    reasons = dict(report.reasons)
    for reject in read.rejects:
        for code in dict.fromkeys(reason.code for reason in reject.reasons):
            reasons[code] = reasons.get(code, 0) + 1
    return replace(report, reasons=dict(sorted(reasons.items())))


def _quarantine_values(
    batch_id: str, dataset: str, reject: RejectedRow, now: str
) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "dataset": dataset,
        "line": reject.line,
        "raw": reject.raw,
        "raw_format": reject.raw_format,
        **_reason_values(reject),
        "status": "open",
        "replayed_into": None,
        "created_at": now,
        "updated_at": now,
    }


def _reason_values(reject: RejectedRow) -> dict[str, str]:
    codes = " ".join(dict.fromkeys(reason.code for reason in reject.reasons))
    return {
        "reasons": json.dumps([reason.to_dict() for reason in reject.reasons]),
        "reason_codes": f" {codes} "[:1000],
    }


def _distinct_columns(contract: Contract) -> list[str]:
    """Lake columns whose values are (nearly) all different: a dictionary would not pay.

    The line number, a one-field primary key, and timestamps as typed and as received.
    """
    columns = [LINE_COLUMN]
    if len(contract.primary_key) == 1:
        columns.append(contract.primary_key[0])
    for spec in contract.fields:
        if spec.type == "timestamp":
            columns.append(spec.name)
            columns.append(spec.original_name)
    return list(dict.fromkeys(columns))


def _constant(value: str, length: int) -> pa.Array:
    """A string column holding ``value`` ``length`` times, cheaply."""
    indices = pa.array(np.zeros(length, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value])).cast(pa.string())


def _partitions(
    table: pa.Table, event_time: str | None, received_at: datetime, *, by: str = "day"
) -> list[_Part]:
    """Split ``table`` by the UTC date of ``event_time`` (receipt date where it is missing).

    ``by="month"`` groups by UTC month instead; labels are ``YYYY-MM-DD`` or ``YYYY-MM``, and
    the parts come in label order, each as a function making its table (the lake writer calls
    them in its threads, so gathering a part overlaps writing another). Rows keep their order
    within a part. Already ordered input is sliced without a copy; otherwise a part's rows are
    gathered.
    """
    width = 7 if by == "month" else 10
    fallback = received_at.astimezone(UTC).date()
    whole: list[_Part] = [(fallback.isoformat()[:width], partial(_same, table))]
    if event_time is None or event_time not in table.column_names:
        return whole
    column = table.column(event_time)
    if pa.types.is_timestamp(column.type):
        dates = pc.cast(column, pa.date32())
    elif pa.types.is_date32(column.type):
        dates = column
    else:
        return whole
    dates = pc.fill_null(dates, pa.scalar(fallback, pa.date32())).combine_chunks()
    if len(dates) == 0:
        return whole
    # Distinct dates are few: label those, then number each row's part from its date's label.
    encoded = pc.dictionary_encode(dates)
    day_labels = [_label(days)[:width] for days in encoded.dictionary.cast(pa.int32()).to_pylist()]
    labels = sorted(set(day_labels))
    if len(labels) == 1:
        return [(labels[0], partial(_same, table))]
    number = {label: i for i, label in enumerate(labels)}
    part_of_day = np.array(
        [number[label] for label in day_labels], dtype=np.min_scalar_type(len(labels))
    )
    parts = part_of_day[np.asarray(encoded.indices.to_numpy(zero_copy_only=False))]
    sizes = np.bincount(parts, minlength=len(labels))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    if bool(np.all(parts[1:] >= parts[:-1])):
        sliced: list[_Part] = [
            (label, partial(table.slice, int(a), int(b - a)))
            for label, a, b in zip(labels, starts, ends, strict=True)
        ]
        return sliced
    order = np.argsort(parts, kind="stable")  # a radix sort for small integers
    gathered: list[_Part] = [
        (label, partial(table.take, pa.array(order[a:b])))
        for label, a, b in zip(labels, starts, ends, strict=True)
    ]
    return gathered


def _same(table: pa.Table) -> pa.Table:
    return table


def _lake_part(rows: Callable[[], pa.Table], batch_id: str) -> pa.Table:
    """A part's rows with the batch column (added after the split: a constant is not worth
    gathering)."""
    part = rows()
    return part.append_column(
        pa.field(BATCH_COLUMN, pa.string(), nullable=False), _constant(batch_id, part.num_rows)
    )


def _label(days_since_epoch: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days_since_epoch)).date().isoformat()


def _info(row: BatchRow) -> BatchInfo:
    return BatchInfo(
        batch_id=row.batch_id,
        dataset=row.dataset,
        source=row.source,
        entity=row.entity,
        kind=row.kind,
        origin=row.origin,
        content_sha256=row.content_sha256,
        format=row.format,
        contract_version=row.contract_version,
        contract_digest=row.contract_digest,
        rule_set_version=row.rule_set_version,
        rows_in=row.rows_in,
        rows_accepted=row.rows_accepted,
        rows_quarantined=row.rows_quarantined,
        rows_duplicate=row.rows_duplicate,
        verdict=row.verdict,
        parent_batch_id=row.parent_batch_id,
        received_at=row.received_at,
        committed_at=row.committed_at,
        actor=row.actor,
        ledger_seq=row.ledger_seq,
        report=QualityReport.from_dict(json.loads(row.report)),
    )


def _pause_at(point: str) -> None:
    """The crash-safety tests' hook: stop here when ``AIMSIGHT_TEST_PAUSE_AT`` names ``point``."""
    if os.environ.get(PAUSE_ENV) == point:
        sys.stderr.write(f"aimsight: paused at {point} ({PAUSE_ENV})\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("AIMSIGHT_TEST_PAUSE_SECONDS", "60")))
