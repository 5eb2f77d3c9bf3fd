"""/v1/ledger: read entries (without personal data) and verify the chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from aimsight.api._auth import guarded
from aimsight.api._deps import LedgerDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import LedgerEntryPublic, LedgerPage, LedgerVerificationPublic
from aimsight.security import Permission

__all__ = ["MAX_PAGE", "router"]

router = new_router("ledger")

MAX_PAGE = 1000


@router.get("/ledger/entries", **guarded(Permission.LEDGER_READ))
def list_entries(
    ledger: LedgerDep,
    subject: Annotated[str | None, Query(max_length=200, description="Only this subject.")] = None,
    kind: Annotated[
        str | None,
        Query(max_length=100, description="Only this kind; `decision.*` matches a prefix."),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="From this time on (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Before this time (ISO 8601).")] = None,
    after_seq: Annotated[
        int | None,
        Query(ge=0, le=2**63 - 1, description="Only entries after this sequence (paging)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many.")] = 100,
) -> LedgerPage:
    """Read ledger entries in sequence order, a page at a time."""
    entries = ledger.entries(
        subject=subject,
        kind=kind,
        since=_aware(since),
        until=_aware(until),
        after_seq=after_seq,
        limit=limit,
    )
    next_after = entries[-1].seq if len(entries) == limit else None
    return LedgerPage(
        entries=[LedgerEntryPublic.of(entry) for entry in entries], next_after_seq=next_after
    )


@router.get("/ledger/verify", **guarded(Permission.LEDGER_VERIFY))
def verify(ledger: LedgerDep) -> LedgerVerificationPublic:
    """Check every entry's hash, link and seal; name the first bad entry if any."""
    return LedgerVerificationPublic.of(ledger.verify())


def _aware(moment: datetime | None) -> datetime | None:
    """Times without an offset are taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
