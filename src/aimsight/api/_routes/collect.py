"""/v1/collect: Segment/RudderStack-style track and identify calls, durable before the 202.

The routes parse and hand messages to :class:`CollectorService`, which commits them to the
spool; a background task of the app (:func:`flush_periodically`) moves them into the lake.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from aimsight.api._auth import guarded
from aimsight.api._deps import Services, ServicesDep
from aimsight.api._routes.common import new_router
from aimsight.core import AimsightError, get_logger
from aimsight.ingest import CollectedMessage, CollectorService, IngestService
from aimsight.security import Permission

__all__ = [
    "MAX_BATCH",
    "BatchIn",
    "CollectAccepted",
    "IdentifyIn",
    "TrackIn",
    "collector_for",
    "flush_periodically",
    "router",
]

router = new_router("collect")
_log = get_logger("aimsight.api.collect")

MAX_BATCH = 1000

# Envelope keys Segment and RudderStack SDKs send that carry nothing for the lake (routing
# hints, SDK bookkeeping, the sender's idea of receipt time): accepted and dropped. Any other
# unknown key is refused with 422, so a misspelt `propertes` is not silently lost.
_IGNORED_KEYS = frozenset(
    {
        "integrations",
        "channel",
        "version",
        "writeKey",
        "_metadata",
        "receivedAt",
        "originalTimestamp",
        "rudderId",
        "request_ip",
    }
)

_Id = Annotated[str, Field(min_length=1, max_length=200)]


class _MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messageId: _Id | None = Field(
        default=None,
        description="Unique per message; a resend with the same id is counted as a duplicate. "
        "Made from a hash of the message when absent.",
    )
    anonymousId: _Id | None = Field(default=None, description="The visitor before login.")
    userId: _Id | None = Field(default=None, description="Your id for the known user.")
    context: dict[str, Any] | None = Field(
        default=None, description="Device, page, campaign... (kept as JSON)."
    )
    timestamp: AwareDatetime | None = Field(
        default=None, description="When it happened (ISO 8601 with zone); receipt time if absent."
    )
    sentAt: AwareDatetime | None = Field(
        default=None, description="When the sender sent it (ISO 8601 with zone)."
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_envelope(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _IGNORED_KEYS}
        return data

    @model_validator(mode="after")
    def _someone(self) -> _MessageIn:
        if not (self.userId or self.anonymousId):
            raise ValueError("anonymousId or userId: one of them is required")
        return self

    def _message(
        self, kind: Literal["track", "identify"], context: dict[str, Any] | None, **own: Any
    ) -> CollectedMessage:
        """The fields every call shares, plus the call's ``own`` (event, traits...)."""
        return CollectedMessage(
            type=kind,
            message_id=self.messageId,
            user_id=self.userId,
            anonymous_id=self.anonymousId,
            context=_merged(context, self.context),
            timestamp=self.timestamp,
            sent_at=self.sentAt,
            **own,
        )


class TrackIn(_MessageIn):
    """Something a user did: ``event`` with its ``properties``."""

    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=200, description="What happened.")
    properties: dict[str, Any] | None = Field(default=None, description="Event details.")

    def to_message(self, context: dict[str, Any] | None = None) -> CollectedMessage:
        """The service's form of this call (``context`` from the batch merged underneath)."""
        return self._message("track", context, event=self.event, properties=self.properties)


class IdentifyIn(_MessageIn):
    """Who a user is: ``traits`` for ``userId`` (or the anonymous visitor)."""

    type: Literal["identify"] = "identify"
    traits: dict[str, Any] | None = Field(default=None, description="Name, e-mail, plan...")

    def to_message(self, context: dict[str, Any] | None = None) -> CollectedMessage:
        """The service's form of this call (``context`` from the batch merged underneath)."""
        return self._message("identify", context, traits=self.traits)


class BatchIn(BaseModel):
    """Several track and identify calls; each names its ``type``."""

    model_config = ConfigDict(extra="forbid")

    batch: list[Annotated[TrackIn | IdentifyIn, Field(discriminator="type")]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} messages."
    )
    context: dict[str, Any] | None = Field(
        default=None, description="Shared context, under each message's own."
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_envelope(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _IGNORED_KEYS}
        return data


class CollectAccepted(BaseModel):
    """Messages now durable, and messages already received before (same ``messageId``)."""

    accepted: int
    duplicates: int


def collector_for(services: Services, *, flushing: bool = False) -> CollectorService:
    """The collector of the app's workspace; with ``flushing`` it can also flush."""
    if not flushing:
        return CollectorService(services.store)
    ingest = IngestService(services.workspace, services.store, services.ledger)
    return CollectorService(services.store, ingest)


def _collector(services: ServicesDep) -> CollectorService:
    return collector_for(services)


CollectorDep = Annotated[CollectorService, Depends(_collector)]


@router.post("/collect/track", status_code=202, **guarded(Permission.COLLECT_WRITE))
def track(body: TrackIn, collector: CollectorDep) -> CollectAccepted:
    """Record a track call; answered once it is durable."""
    result = collector.accept([body.to_message()])
    return CollectAccepted(accepted=result.accepted, duplicates=result.duplicates)


@router.post("/collect/identify", status_code=202, **guarded(Permission.COLLECT_WRITE))
def identify(body: IdentifyIn, collector: CollectorDep) -> CollectAccepted:
    """Record an identify call; answered once it is durable."""
    result = collector.accept([body.to_message()])
    return CollectAccepted(accepted=result.accepted, duplicates=result.duplicates)


@router.post("/collect/batch", status_code=202, **guarded(Permission.COLLECT_WRITE))
def batch(body: BatchIn, collector: CollectorDep) -> CollectAccepted:
    """Record several track and identify calls at once; answered once all are durable."""
    result = collector.accept([message.to_message(body.context) for message in body.batch])
    return CollectAccepted(accepted=result.accepted, duplicates=result.duplicates)


async def flush_periodically(
    services: Services, interval: float, limit: int, keep_flushed: timedelta | None = None
) -> None:
    """Flush the spool every ``interval`` seconds until cancelled; failures are logged.

    Events stay in the spool when a flush fails (a missing contract, a full disk), so the
    next round retries them; nothing is lost by logging and going on.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            collector = await run_in_threadpool(collector_for, services, flushing=True)
            results = await run_in_threadpool(
                functools.partial(collector.flush_all, limit, keep_flushed=keep_flushed)
            )
        except AimsightError as exc:
            _log.error("collector flush failed: %s", exc.message, extra={"code": exc.code})
        except Exception as exc:  # noqa: BLE001 - keep the loop alive; the cause goes to the log
            _log.error("collector flush failed: %s", exc.__class__.__name__)
        else:
            for result in results:
                _log.info(
                    "collector flushed %d events into %s",
                    result.claimed,
                    result.batch_id,
                    extra={"batch_id": result.batch_id, "rows": result.claimed},
                )


def _merged(shared: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any] | None:
    if shared is None:
        return own
    return {**shared, **(own or {})}
