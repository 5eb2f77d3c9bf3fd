"""What every automated control check is given and what it gives back.

A check is a small function over the live system: it gets a :class:`CheckContext` (the
workspace, its store and ledger, the AIMS records, the time to judge against) and returns a
:class:`CheckOutcome`. :mod:`aimsight.aims._checks` names each check, runs them isolated from
one another and turns outcomes into :class:`~aimsight.aims._model.ControlCheckResult`.

Rules every check keeps:

- ``pass`` only for what was actually looked at and found right; never for what could not be
  checked.
- ``not_yet_available`` only when the capability the control needs has not landed in
  aimsight (see :func:`landed`).
- ``warn`` when there is nothing to judge yet (no model in production, no data ingested, an
  empty inventory) or when the evidence cannot show the control yet (a ledger younger than
  six months): a person should look, but nothing is broken.
- ``fail`` names each failing item in ``findings``, in words that say what to fix.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Protocol

from aimsight.aims._model import (
    AISystem,
    CheckStatus,
    Evidence,
    ImpactAssessment,
    SupplierAssessment,
)
from aimsight.core import InvalidInput, Workspace, now_utc
from aimsight.ingest import IngestService, LineageService
from aimsight.registry import ModelRegistry
from aimsight.security import ApiKeyService
from aimsight.store import Lake, Ledger, Store

__all__ = [
    "AimsRecordsReader",
    "CheckContext",
    "CheckOutcome",
    "landed",
    "parse_date",
    "parse_time",
]


class AimsRecordsReader(Protocol):
    """The AIMS records a check reads (``AimsRecords`` implements it)."""

    def ai_systems(self) -> list[AISystem]:
        """Every AI system in the inventory."""
        ...

    def impact_assessments(self) -> list[ImpactAssessment]:
        """Every impact assessment, of every AI system."""
        ...

    def supplier_assessments(self) -> list[SupplierAssessment]:
        """Every supplier and third-party component assessment."""
        ...


@dataclass(frozen=True)
class CheckContext:
    """The live system a check looks at, and the time it judges against.

    The services checks read through (registry, ingest, lineage, API keys, lake) are built
    from the workspace on first use and shared by every check of one run.

    Raises:
        InvalidInput: ``now`` has no time zone.
    """

    workspace: Workspace
    store: Store
    ledger: Ledger
    records: AimsRecordsReader
    now: datetime = field(default_factory=now_utc)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise InvalidInput(
                "now must carry a time zone (e.g. datetime.now(UTC)); checks compare it with "
                "times stored in UTC",
                field="now",
            )

    @cached_property
    def registry(self) -> ModelRegistry:
        """The model registry of the workspace."""
        return ModelRegistry(self.workspace, self.store, self.ledger)

    @cached_property
    def ingest(self) -> IngestService:
        """The ingest service of the workspace (batches and committed lake files)."""
        return IngestService(self.workspace, self.store, self.ledger)

    @cached_property
    def lineage(self) -> LineageService:
        """Where each batch and lake file came from."""
        return LineageService(self.store)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        """The API keys, i.e. who holds which role."""
        return ApiKeyService(self.store)

    @cached_property
    def lake(self) -> Lake:
        """The workspace's lake folder."""
        return Lake.for_workspace(self.workspace)

    @property
    def today(self) -> date:
        """The UTC date of :attr:`now`."""
        return self.now.astimezone(UTC).date()


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: a status, one sentence, evidence pointers and failing items."""

    status: CheckStatus
    summary: str
    evidence: tuple[Evidence, ...] = ()
    findings: tuple[str, ...] = ()


def landed(module: str, attribute: str) -> Any | None:
    """``module.attribute`` if that part of aimsight is installed, else ``None``.

    Checks of capabilities still to come (monitoring, decisioning) use this, so they switch
    from ``not_yet_available`` to real checking on their own once the layer lands. Only the
    module itself being absent counts as "not landed": an import error inside it propagates
    (it is a bug to report, not a missing capability).
    """
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == module or module.startswith(exc.name + ".")):
            return None
        raise
    return getattr(loaded, attribute, None)


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive ones taken as UTC), or ``None``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_date(text: str | None) -> date | None:
    """An ISO date (or the date of an ISO time), or ``None`` when absent or unreadable."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        moment = parse_time(text)
        return moment.date() if moment else None
