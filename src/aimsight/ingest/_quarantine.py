"""Quarantine: rows that did not enter the lake, with their reasons, and replay.

Nothing is dropped on the way in: a row the reader or the contract refused is kept whole
here. ``fields`` rows (their original values) can be replayed after the contract is fixed:
they are validated again against the latest contract, rows that now pass form a new batch
whose parent is the batch they came from, and rows that still fail stay open with their new
reasons. ``text`` rows (a ragged CSV line, undecodable bytes, bad JSON) only come back
through a fixed source file.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import func, select, update

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.workspace import Workspace
from aimsight.ingest._contracts import Contract, ContractRegistry
from aimsight.ingest._rules import validate
from aimsight.ingest._service import (
    BatchResult,
    IngestService,
    _Batch,
    _batch_id,
    _reason_values,
    _Steps,
)
from aimsight.ingest._tables import QuarantineRow
from aimsight.ingest._types import LINE_COLUMN, Reason, RejectedRow
from aimsight.store import Ledger, Store

__all__ = ["QuarantineService", "QuarantinedRow", "ReplayResult"]

Status = Literal["open", "replayed"]
_MAX_REPLAY = 1_000_000


@dataclass(frozen=True)
class QuarantinedRow:
    """One quarantined row: where it came from, what it held and why it was refused.

    ``raw`` is personal data (the record as received); print it only to those who may see it.
    """

    id: int
    batch_id: str
    dataset: str
    line: int | None
    raw: str
    raw_format: Literal["text", "fields"]
    reasons: tuple[Reason, ...]
    status: Status
    replayed_into: str | None
    created_at: str
    updated_at: str

    @property
    def codes(self) -> list[str]:
        """The reason codes, each once."""
        return list(dict.fromkeys(reason.code for reason in self.reasons))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the row."""
        data = asdict(self)
        data["reasons"] = [reason.to_dict() for reason in self.reasons]
        return data


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did.

    ``replayed`` rows passed and went into ``batches`` (one per batch they came from);
    ``still_open`` rows failed again and stay open with their new reasons (counted by code in
    ``reasons``); ``needs_source`` rows are ``text`` rows that only a fixed source can bring
    back.
    """

    considered: int
    replayed: int
    still_open: int
    needs_source: int
    batches: list[BatchResult]
    reasons: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, each new batch's report included."""
        data = {k: v for k, v in asdict(self).items() if k != "batches"}
        data["batches"] = [batch.to_dict() for batch in self.batches]
        return data


class QuarantineService:
    """Lists, shows and replays quarantined rows.

    Args:
        workspace: the workspace (its lake and contracts).
        store: the operational store holding the quarantine.
        ledger: where replays and the batches they create are recorded.
        contracts: the contract registry; the workspace's by default.
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        contracts: ContractRegistry | None = None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._ingest = IngestService(workspace, store, ledger, contracts)

    def list(
        self,
        *,
        batch_id: str | None = None,
        dataset: str | None = None,
        status: Status | None = "open",
        reason: str | None = None,
        limit: int = 100,
        after_id: int | None = None,
    ) -> builtins.list[QuarantinedRow]:
        """Quarantined rows in the order they arrived, filtered; ``status=None`` for all.

        Raises:
            InvalidInput: ``limit`` is not positive.
        """
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}", field="limit")
        query = select(QuarantineRow).order_by(QuarantineRow.id).limit(limit)
        if batch_id is not None:
            query = query.where(QuarantineRow.batch_id == batch_id)
        if dataset is not None:
            query = query.where(QuarantineRow.dataset == dataset)
        if status is not None:
            query = query.where(QuarantineRow.status == status)
        if reason is not None:
            query = query.where(QuarantineRow.reason_codes.contains(f" {reason} ", autoescape=True))
        if after_id is not None:
            query = query.where(QuarantineRow.id > after_id)
        with self._store.session() as session:
            return [_row(row) for row in session.scalars(query)]

    def summary(self, *, status: Status | None = "open") -> builtins.list[dict[str, Any]]:
        """Row counts per batch and status: where the quarantine stands, without raw data."""
        query = (
            select(
                QuarantineRow.dataset,
                QuarantineRow.batch_id,
                QuarantineRow.status,
                func.count().label("rows"),
            )
            .group_by(QuarantineRow.dataset, QuarantineRow.batch_id, QuarantineRow.status)
            .order_by(QuarantineRow.dataset, QuarantineRow.batch_id, QuarantineRow.status)
        )
        if status is not None:
            query = query.where(QuarantineRow.status == status)
        with self._store.session() as session:
            return [
                {"dataset": d, "batch_id": b, "status": s, "rows": int(n)}
                for d, b, s, n in session.execute(query)
            ]

    def show(self, row_id: int) -> QuarantinedRow:
        """The quarantined row ``row_id``.

        Raises:
            NotFound: there is none.
        """
        with self._store.session() as session:
            row = session.get(QuarantineRow, row_id)
        if row is None:
            raise NotFound(
                f"no quarantined row {row_id}; `aimsight quarantine list` shows their ids"
            )
        return _row(row)

    def replay(
        self,
        *,
        actor: str,
        batch_id: str | None = None,
        row_ids: builtins.list[int] | None = None,
    ) -> ReplayResult:
        """Validate open quarantined rows again against the latest contract.

        Chooses the open rows of ``batch_id``, or those in ``row_ids``, or every open row.
        For each batch they came from, rows that now pass form one new batch whose parent is
        that batch. Batch-level rules (quarantine rate, completeness, volume) already judged
        a batch that was accepted, so they are not applied again to its stragglers; the rows
        of a batch rejected as a whole are judged again as a batch, so a replay cannot let in
        what the rules refused until the contract changes.

        Raises:
            NotFound: ``batch_id`` or one of ``row_ids`` does not exist.
        """
        query = select(QuarantineRow).where(QuarantineRow.status == "open")
        if batch_id is not None:
            self._ingest.batch(batch_id)  # NotFound names the command that lists them
            query = query.where(QuarantineRow.batch_id == batch_id)
        if row_ids is not None:
            for row_id in row_ids:
                self.show(row_id)
            query = query.where(QuarantineRow.id.in_(row_ids))
        with self._store.session() as session:
            rows = list(session.scalars(query.order_by(QuarantineRow.id).limit(_MAX_REPLAY)))
        by_batch: dict[str, builtins.list[QuarantineRow]] = {}
        for row in rows:
            by_batch.setdefault(row.batch_id, []).append(row)
        batches: builtins.list[BatchResult] = []
        replayed = still_open = needs_source = 0
        reasons: dict[str, int] = {}
        for parent_id, parent_rows in by_batch.items():
            fields_rows = [row for row in parent_rows if row.raw_format == "fields"]
            needs_source += len(parent_rows) - len(fields_rows)
            if not fields_rows:
                continue
            outcome = self._replay_batch(parent_id, fields_rows, actor)
            if outcome.result is not None:
                batches.append(outcome.result)
            replayed += outcome.passed
            still_open += len(outcome.failed)
            for reject in outcome.failed:
                for code in dict.fromkeys(reason.code for reason in reject.reasons):
                    reasons[code] = reasons.get(code, 0) + 1
        result = ReplayResult(
            considered=len(rows),
            replayed=replayed,
            still_open=still_open,
            needs_source=needs_source,
            batches=batches,
            reasons=reasons,
        )
        if rows:
            self._ledger.append(
                "ingest.quarantine_replayed",
                actor=actor,
                subject=batch_id,
                payload={
                    "considered": result.considered,
                    "replayed": result.replayed,
                    "still_open": result.still_open,
                    "needs_source": result.needs_source,
                    "batches": [batch.batch_id for batch in batches],
                    "parents": sorted(by_batch),
                },
            )
        return result

    def _replay_batch(
        self, parent_id: str, rows: builtins.list[QuarantineRow], actor: str
    ) -> _Outcome:
        parent = self._ingest.batch(parent_id)
        contract = self._ingest.contracts.get(parent.source, parent.entity)
        judged = contract if parent.verdict == "rejected" else _rows_only(contract)
        table, by_line = _table(rows)
        received_at = now_utc()
        validated = validate(
            table, judged, self._ingest._context(contract, received_at, volumes=False)
        )
        failed_by_id: dict[int, RejectedRow] = {}
        for reject in validated.rejects:
            if reject.line is None or reject.line not in by_line:  # pragma: no cover
                raise AssertionError(f"replay lost track of line {reject.line} of {parent_id}")
            failed_by_id[by_line[reject.line]] = reject
        passed_ids = [row.id for row in rows if row.id not in failed_by_id]
        if not passed_ids:
            self._reopen(failed_by_id)
            return _Outcome(None, 0, list(failed_by_id.values()))
        content = json.dumps(
            [parent_id, contract.digest(), passed_ids], separators=(",", ":")
        ).encode()
        content_sha = hashlib.sha256(content).hexdigest()
        summary = (
            f"replay of {len(rows)} quarantined rows of {parent_id}: {len(passed_ids)} passed, "
            f"{len(failed_by_id)} stay open in its quarantine with their new reasons"
        )
        notes = [*validated.report.notes]
        if judged is not contract:
            notes.append(
                f"batch-level thresholds not applied again: {parent_id} was accepted as a batch"
            )
        report = replace(
            validated.report,
            rows_in=len(passed_ids),
            rows_accepted=len(passed_ids),
            rows_quarantined=0,
            verdict="accepted",
            verdict_reason=summary,
            contract={
                "name": contract.name,
                "version": contract.version,
                "digest": contract.digest(),
            },
            reasons={},
            notes=notes,
        )
        batch = _Batch(
            batch_id=_batch_id("replay", contract.source, contract.entity, content_sha),
            contract=contract,
            kind="replay",
            origin=f"replay of {parent_id}",
            content_sha256=content_sha,
            format="fields",
            received_at=received_at,
            actor=actor,
            validated=replace(validated, rejects=[]),
            reader_rejects=[],
            report=report,
            parent_batch_id=parent_id,
            reopened=failed_by_id,
            replayed_ids=passed_ids,
        )
        result = self._ingest._commit(batch, _Steps(None, "", 0, 1))
        return _Outcome(result, len(passed_ids), list(failed_by_id.values()))

    def _reopen(self, failed: dict[int, RejectedRow]) -> None:
        now = isoformat_utc(now_utc())
        with self._store.session() as session:
            for row_id, reject in failed.items():
                session.execute(
                    update(QuarantineRow)
                    .where(QuarantineRow.id == row_id)
                    .values(**_reason_values(reject), updated_at=now)
                )


@dataclass(frozen=True)
class _Outcome:
    result: BatchResult | None
    passed: int
    failed: builtins.list[RejectedRow]


def _rows_only(contract: Contract) -> Contract:
    """``contract`` with its batch-level thresholds lifted: only row rules decide."""
    quality = replace(
        contract.quality,
        max_quarantine_rate=1.0,
        min_completeness={},
        volume=replace(contract.quality.volume, action="warn"),
    )
    return replace(contract, quality=quality)


def _table(rows: builtins.list[QuarantineRow]) -> tuple[pa.Table, dict[int, int]]:
    """The rows' original values as a read table, and each ``_line`` → quarantine id."""
    values = [json.loads(row.raw) for row in rows]
    columns: dict[str, None] = {}
    for value in values:
        columns.update(dict.fromkeys(value))
    lines = [row.line for row in rows]
    if any(line is None for line in lines) or len(set(lines)) != len(lines):
        lines = list(range(1, len(rows) + 1))
    data: dict[str, pa.Array] = {
        name: pa.array([_text(value.get(name)) for value in values], pa.string())
        for name in columns
        if name != LINE_COLUMN
    }
    data[LINE_COLUMN] = pa.array(lines, pa.int64())
    by_line = {int(line): row.id for line, row in zip(lines, rows, strict=True) if line is not None}
    return pa.table(data), by_line


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _row(row: QuarantineRow) -> QuarantinedRow:
    return QuarantinedRow(
        id=row.id,
        batch_id=row.batch_id,
        dataset=row.dataset,
        line=row.line,
        raw=row.raw,
        raw_format="text" if row.raw_format == "text" else "fields",
        reasons=tuple(Reason.from_dict(item) for item in json.loads(row.reasons)),
        status="replayed" if row.status == "replayed" else "open",
        replayed_into=row.replayed_into,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
