"""Lineage: where each batch and lake file came from, and what judged it.

For a batch: its source and origin, the contract version and digest and the rule-set version
that validated it, its row counts, the batches it descends from (a replay's parent) and those
descending from it, its lake files and its ledger entry. For a dataset: every batch and file.
For a lake file: its batch's lineage. Everything here is read from the operational store; the
lake files also carry the batch id, contract and rule-set version in their own metadata.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.ingest._service import BatchInfo, _info
from aimsight.ingest._tables import BatchRow, LakeFileRow, QuarantineRow
from aimsight.store import Store

__all__ = ["BatchLineage", "DatasetLineage", "LakeFileInfo", "LineageService"]

_MAX_DEPTH = 1_000


@dataclass(frozen=True)
class LakeFileInfo:
    """A committed lake file: path (relative to ``lake/``), partition date, rows, size, hash."""

    path: str
    batch_id: str
    dataset: str
    partition_date: str
    rows: int
    bytes: int
    sha256: str
    committed_at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class BatchLineage:
    """A batch, its ancestry (parent first, oldest last), its children and its files.

    ``quarantine`` counts its quarantined rows by status (``open``, ``replayed``).
    """

    batch: BatchInfo
    parents: list[BatchInfo]
    children: list[str]
    files: list[LakeFileInfo]
    quarantine: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (reports left out: ``aimsight ingest report`` shows them)."""
        return {
            "batch": self.batch.to_dict(with_report=False),
            "parents": [parent.to_dict(with_report=False) for parent in self.parents],
            "children": list(self.children),
            "files": [file.to_dict() for file in self.files],
            "quarantine": dict(self.quarantine),
        }


@dataclass(frozen=True)
class DatasetLineage:
    """Every batch of a dataset (newest first) and its totals.

    ``rows_in`` counts rows that arrived (replays bring no new rows); ``rows_accepted`` rows
    in the lake, replayed ones included; ``rows_quarantined`` rows still open in quarantine;
    ``rows_replayed`` quarantined rows a replay took in. So ``rows_in = rows_accepted +
    rows_quarantined``.
    """

    dataset: str
    batches: list[BatchInfo]
    files: int
    bytes: int
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_replayed: int
    contract_versions: list[int]
    rule_set_versions: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (reports left out)."""
        data = {key: value for key, value in asdict(self).items() if key != "batches"}
        data["batches"] = [batch.to_dict(with_report=False) for batch in self.batches]
        return data


class LineageService:
    """Reads lineage from the operational store.

    Args:
        store: the operational store holding the ingest tables.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def batch(self, batch_id: str) -> BatchLineage:
        """The lineage of ``batch_id``.

        Raises:
            NotFound: no batch has this id.
        """
        with self._store.session() as session:
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise NotFound(
                    f"no batch {batch_id!r}; `aimsight ingest batches` lists the committed ones"
                )
            parents: list[BatchInfo] = []
            seen = {batch_id}
            parent_id = row.parent_batch_id
            while parent_id is not None and parent_id not in seen and len(seen) < _MAX_DEPTH:
                parent = session.get(BatchRow, parent_id)
                if parent is None:
                    break
                parents.append(_info(parent))
                seen.add(parent_id)
                parent_id = parent.parent_batch_id
            children = list(
                session.scalars(
                    select(BatchRow.batch_id)
                    .where(BatchRow.parent_batch_id == batch_id)
                    .order_by(BatchRow.committed_at, BatchRow.batch_id)
                )
            )
            files = [
                _file(file)
                for file in session.scalars(
                    select(LakeFileRow)
                    .where(LakeFileRow.batch_id == batch_id)
                    .order_by(LakeFileRow.path)
                )
            ]
            quarantine = {
                status: int(count)
                for status, count in session.execute(
                    select(QuarantineRow.status, func.count())
                    .where(QuarantineRow.batch_id == batch_id)
                    .group_by(QuarantineRow.status)
                )
            }
            info = _info(row)
        return BatchLineage(
            batch=info, parents=parents, children=children, files=files, quarantine=quarantine
        )

    def dataset(self, dataset: str, *, limit: int = 1_000) -> DatasetLineage:
        """The lineage of ``dataset`` (``source.entity``): its batches, newest first.

        Raises:
            NotFound: the dataset has no batch.
        """
        with self._store.session() as session:
            rows = list(
                session.scalars(
                    select(BatchRow)
                    .where(BatchRow.dataset == dataset)
                    .order_by(BatchRow.committed_at.desc(), BatchRow.batch_id)
                    .limit(limit)
                )
            )
            if not rows:
                raise NotFound(
                    f"no batch of dataset {dataset!r}; datasets are source.entity, e.g. "
                    "crm.customers; `aimsight ingest batches` lists what was ingested"
                )
            arrived = session.scalar(
                select(func.coalesce(func.sum(BatchRow.rows_in), 0)).where(
                    BatchRow.dataset == dataset, BatchRow.kind != "replay"
                )
            )
            accepted = session.scalar(
                select(func.coalesce(func.sum(BatchRow.rows_accepted), 0)).where(
                    BatchRow.dataset == dataset
                )
            )
            quarantine = {
                status: int(count)
                for status, count in session.execute(
                    select(QuarantineRow.status, func.count())
                    .where(QuarantineRow.dataset == dataset)
                    .group_by(QuarantineRow.status)
                )
            }
            size = func.coalesce(func.sum(LakeFileRow.bytes), 0)
            file_totals = session.execute(
                select(func.count(LakeFileRow.path), size).where(LakeFileRow.dataset == dataset)
            ).one()
            versions = sorted(
                set(
                    session.scalars(
                        select(BatchRow.contract_version).where(BatchRow.dataset == dataset)
                    )
                )
            )
            rule_sets = sorted(
                set(
                    session.scalars(
                        select(BatchRow.rule_set_version).where(BatchRow.dataset == dataset)
                    )
                )
            )
        return DatasetLineage(
            dataset=dataset,
            batches=[_info(row) for row in rows],
            files=int(file_totals[0]),
            bytes=int(file_totals[1]),
            rows_in=int(arrived or 0),
            rows_accepted=int(accepted or 0),
            rows_quarantined=int(quarantine.get("open", 0)),
            rows_replayed=int(quarantine.get("replayed", 0)),
            contract_versions=versions,
            rule_set_versions=rule_sets,
        )

    def file(self, path: str) -> tuple[LakeFileInfo, BatchLineage]:
        """A committed lake file and the lineage of the batch that wrote it.

        Raises:
            NotFound: no committed file has this path (relative to ``lake/``).
        """
        relative = path.strip().lstrip("./").removeprefix("lake/")
        with self._store.session() as session:
            row = session.get(LakeFileRow, relative)
        if row is None:
            raise NotFound(
                f"no committed lake file {path!r}; give its path relative to the lake folder, "
                "e.g. raw/customers/source=crm/date=2026-11-01/b_….parquet"
            )
        return _file(row), self.batch(row.batch_id)

    def lookup(
        self, target: str
    ) -> BatchLineage | DatasetLineage | tuple[LakeFileInfo, BatchLineage]:
        """Lineage of a batch id (``b_…``), a lake file path (``….parquet``) or a dataset.

        Raises:
            InvalidInput: ``target`` is empty.
            NotFound: nothing by that name was ingested.
        """
        target = target.strip()
        if not target:
            raise InvalidInput("name a dataset, a batch id or a lake file", field="target")
        if target.startswith("b_") and "/" not in target:
            return self.batch(target)
        if target.endswith(".parquet"):
            return self.file(target)
        return self.dataset(target)


def _file(row: LakeFileRow) -> LakeFileInfo:
    return LakeFileInfo(
        path=row.path,
        batch_id=row.batch_id,
        dataset=row.dataset,
        partition_date=row.partition_date,
        rows=row.rows,
        bytes=row.bytes,
        sha256=row.sha256,
        committed_at=row.committed_at,
    )
