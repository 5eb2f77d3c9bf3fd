"""Ingestion: data contracts, standardisation, quality rules, quarantine, lineage and sources.

Data enters aimsight only through here, so nothing is lost or silently changed on the way in:
for every batch, rows in = rows accepted + rows quarantined.
"""

from aimsight.ingest._collector import (
    AcceptResult,
    CollectedMessage,
    CollectorService,
    FlushResult,
)
from aimsight.ingest._contracts import (
    Contract,
    ContractError,
    ContractRegistry,
    FieldSpec,
    QualityPolicy,
    VolumePolicy,
    compatibility,
    shipped_contracts,
)
from aimsight.ingest._lineage import BatchLineage, DatasetLineage, LakeFileInfo, LineageService
from aimsight.ingest._quarantine import QuarantinedRow, QuarantineService, ReplayResult
from aimsight.ingest._quarantine import Status as QuarantineStatus
from aimsight.ingest._readers import SourceFormatError, read_records, read_source
from aimsight.ingest._report import CheckResult, QualityReport, render_report
from aimsight.ingest._rules import RULE_SET_VERSION, Validated, ValidationContext, validate
from aimsight.ingest._service import BatchInfo, BatchResult, IngestService
from aimsight.ingest._service import Progress as IngestProgress
from aimsight.ingest._stream import (
    StreamBatch,
    StreamConsumer,
    StreamOptions,
    StreamSummary,
    StreamUnavailable,
)
from aimsight.ingest._types import Reason, RejectedRow, SourceRead

__all__ = [
    "RULE_SET_VERSION",
    "AcceptResult",
    "BatchInfo",
    "BatchLineage",
    "BatchResult",
    "CheckResult",
    "CollectedMessage",
    "CollectorService",
    "Contract",
    "ContractError",
    "ContractRegistry",
    "DatasetLineage",
    "FieldSpec",
    "FlushResult",
    "IngestProgress",
    "IngestService",
    "LakeFileInfo",
    "LineageService",
    "QualityPolicy",
    "QualityReport",
    "QuarantineService",
    "QuarantineStatus",
    "QuarantinedRow",
    "Reason",
    "RejectedRow",
    "ReplayResult",
    "SourceFormatError",
    "SourceRead",
    "StreamBatch",
    "StreamConsumer",
    "StreamOptions",
    "StreamSummary",
    "StreamUnavailable",
    "ValidationContext",
    "Validated",
    "VolumePolicy",
    "compatibility",
    "read_records",
    "read_source",
    "render_report",
    "shipped_contracts",
    "validate",
]
