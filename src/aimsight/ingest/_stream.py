"""NATS JetStream intake: a durable pull consumer that acknowledges only committed messages.

Each fetched batch goes through the normal ingest path with one message key per message
(``<stream>:<sequence>``), and every message is acknowledged only after its batch committed.
A consumer killed in between leaves the messages unacknowledged; JetStream redelivers them
after ``ack_wait`` and ingestion drops the keys it already committed, so nothing is lost and
nothing is counted twice. Payloads are handed to reading as raw bytes: one that is not
UTF-8 JSON, or not a JSON object, is quarantined with its raw text like a bad JSON line,
and acknowledged with its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aimsight.core import AimsightError, InvalidInput
from aimsight.ingest._collector import BatchOutcome, RecordSink

__all__ = [
    "PAUSE_ENV",
    "StreamBatch",
    "StreamConsumer",
    "StreamOptions",
    "StreamSummary",
    "StreamUnavailable",
]

PAUSE_ENV = "AIMSIGHT_TEST_PAUSE_AT"
"""Test hook: ``before_ack`` makes the consumer sleep after a commit, before acknowledging,
so a test can kill it there (``AIMSIGHT_TEST_PAUSE_SECONDS`` sets how long; default 1 h)."""

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class StreamUnavailable(AimsightError):
    """Raised when the NATS server cannot be reached or refuses the stream or consumer."""

    code = "stream_unavailable"
    exit_code = 3


@dataclass(frozen=True)
class StreamOptions:
    """What to consume and how.

    Attributes:
        subject: the NATS subject to consume (wildcards allowed, e.g. ``events.>``).
        source, entity: the contract the messages are ingested under.
        url: the NATS server.
        stream: the JetStream stream; default: the stream holding ``subject``, or a new one
            named ``AIMSIGHT_<SUBJECT>`` when none does.
        durable: the durable consumer's name; default ``aimsight-<source>-<entity>``.
        batch_size: most messages per fetch, and so per lake batch.
        max_wait: how long one fetch waits for messages, in seconds.
        ack_wait: how long the server waits for an acknowledgement before redelivering
            (set when the consumer is created).
        idle_exit: stop after this many seconds without a message; None runs until stopped.
    """

    subject: str
    source: str
    entity: str
    url: str = "nats://127.0.0.1:4222"
    stream: str | None = None
    durable: str | None = None
    batch_size: int = 500
    max_wait: float = 2.0
    ack_wait: float = 60.0
    idle_exit: float | None = None

    def __post_init__(self) -> None:
        if not self.subject.strip() or any(char.isspace() for char in self.subject):
            raise InvalidInput(
                f"--subject: {self.subject!r} is not a NATS subject; use dot-separated "
                "tokens without spaces, e.g. 'events.web'",
                field="subject",
            )
        for name, value in (("stream", self.stream), ("durable", self.durable)):
            if value is not None and not _NAME.match(value):
                raise InvalidInput(
                    f"--{name}: {value!r} is not a valid name; use letters, digits, '-' "
                    "and '_' only",
                    field=name,
                )
        for name, number in (
            ("batch-size", self.batch_size),
            ("max-wait", self.max_wait),
            ("ack-wait", self.ack_wait),
        ):
            if number <= 0:
                raise InvalidInput(f"--{name}: must be above 0, got {number}", field=name)
        if self.idle_exit is not None and self.idle_exit <= 0:
            raise InvalidInput(
                f"--idle-exit: must be above 0 seconds, got {self.idle_exit}", field="idle_exit"
            )

    @property
    def durable_name(self) -> str:
        """The durable consumer's name."""
        return self.durable or _sanitise(f"aimsight-{self.source}-{self.entity}")


@dataclass(frozen=True)
class StreamBatch:
    """One fetched batch, committed and acknowledged."""

    batch_id: str
    messages: int
    rows_accepted: int
    rows_quarantined: int
    duplicates: int
    first_seq: int
    last_seq: int


@dataclass
class StreamSummary:
    """What a run of the consumer did."""

    stream: str
    durable: str
    subject: str
    batches: int = 0
    messages: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    duplicates: int = 0
    batch_ids: list[str] = field(default_factory=list)
    stopped: str = ""

    def add(self, batch: StreamBatch) -> None:
        """Count one committed batch."""
        self.batches += 1
        self.messages += batch.messages
        self.rows_accepted += batch.rows_accepted
        self.rows_quarantined += batch.rows_quarantined
        self.duplicates += batch.duplicates
        if batch.batch_id not in self.batch_ids:
            self.batch_ids.append(batch.batch_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (CLI ``--json``)."""
        return {
            "stream": self.stream,
            "durable": self.durable,
            "subject": self.subject,
            "batches": self.batches,
            "messages": self.messages,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "duplicates": self.duplicates,
            "batch_ids": list(self.batch_ids),
            "stopped": self.stopped,
        }


class StreamConsumer:
    """A JetStream durable pull consumer feeding :meth:`IngestService.ingest_records`.

    Args:
        options: what to consume and how.
        ingest: the ingest service.
        actor: who ingests, for the ledger (``cli:<user>``).
        progress: called after each committed and acknowledged batch.
    """

    def __init__(
        self,
        options: StreamOptions,
        ingest: RecordSink,
        *,
        actor: str,
        progress: Callable[[StreamBatch, StreamSummary], None] | None = None,
    ) -> None:
        self.options = options
        self.ingest = ingest
        self.actor = actor
        self.progress = progress

    def run(self) -> StreamSummary:
        """Consume until idle for ``idle_exit`` seconds, or until SIGINT/SIGTERM.

        Raises:
            StreamUnavailable: NATS cannot be reached, or refuses the stream or consumer.
        """
        return asyncio.run(self._run_with_signals())

    async def _run_with_signals(self) -> StreamSummary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
                installed.append(signum)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Unix
                pass
        try:
            return await self.consume(stop)
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    async def consume(self, stop: asyncio.Event | None = None) -> StreamSummary:
        """Fetch, ingest, acknowledge, batch after batch, until idle or ``stop`` is set."""
        import nats
        from nats.errors import Error as NatsError

        options = self.options

        async def quiet(_: Exception) -> None:
            """Connection errors become one StreamUnavailable, not library log tracebacks."""

        try:
            connection = await nats.connect(
                options.url,
                connect_timeout=3,
                max_reconnect_attempts=2,
                reconnect_time_wait=0.5,
                error_cb=quiet,
                name=f"aimsight-{options.durable_name}",
            )
        except (TimeoutError, OSError, NatsError) as exc:
            raise StreamUnavailable(
                f"cannot reach NATS at {_redact(options.url)} ({exc.__class__.__name__}); "
                "start the server (with JetStream: nats-server -js) or set ingest.nats_url"
            ) from None
        try:
            subscription, stream = await self._subscribe(connection)
            return await self._loop(connection, subscription, stream, stop or asyncio.Event())
        except NatsError as exc:
            raise StreamUnavailable(
                f"lost the connection to NATS at {_redact(options.url)} "
                f"({exc.__class__.__name__}); unacknowledged messages are redelivered: run the "
                "consumer again"
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _loop(
        self, connection: Any, subscription: Any, stream: str, stop: asyncio.Event
    ) -> StreamSummary:
        options = self.options
        summary = StreamSummary(
            stream=stream, durable=options.durable_name, subject=options.subject
        )
        idle_since = time.monotonic()
        while not stop.is_set():
            messages = await self._fetch(subscription)
            if not messages:
                idle = time.monotonic() - idle_since
                if options.idle_exit is not None and idle >= options.idle_exit:
                    summary.stopped = "idle"
                    return summary
                continue
            try:
                batch = await self._ingest(messages, stream)
            except Exception:
                # Not committed: hand the messages back now rather than after ack_wait.
                with contextlib.suppress(Exception):
                    for message in messages:
                        await message.nak()
                    await connection.flush()
                raise
            _pause_for_tests("before_ack")
            for message in messages:
                await message.ack()
            await connection.flush()
            summary.add(batch)
            idle_since = time.monotonic()
            if self.progress is not None:
                self.progress(batch, summary)
        summary.stopped = "signal"
        return summary

    async def _subscribe(self, connection: Any) -> tuple[Any, str]:
        """The pull subscription, creating the stream and the durable consumer if missing."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import Error as JsError
        from nats.js.errors import NotFoundError

        options = self.options
        js = connection.jetstream()
        try:
            stream = options.stream
            if stream is None:
                try:
                    stream = await js.find_stream_name_by_subject(options.subject)
                except NotFoundError:
                    stream = _sanitise("AIMSIGHT_" + options.subject.upper())
            try:
                await js.stream_info(stream)
            except NotFoundError:
                await js.add_stream(name=stream, subjects=[options.subject])
            config = ConsumerConfig(
                durable_name=options.durable_name,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=options.ack_wait,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=max(1000, options.batch_size * 2),
            )
            subscription = await js.pull_subscribe(
                options.subject, durable=options.durable_name, stream=stream, config=config
            )
        except (TimeoutError, JsError) as exc:
            raise StreamUnavailable(
                f"JetStream refused stream {options.stream or options.subject!r} or consumer "
                f"{options.durable_name!r}: {_first_line(exc)}; check that the server runs "
                "with JetStream (-js) and that the stream covers --subject"
            ) from None
        return subscription, stream

    async def _fetch(self, subscription: Any) -> list[Any]:
        try:
            messages: list[Any] = await subscription.fetch(
                self.options.batch_size, timeout=self.options.max_wait
            )
        except TimeoutError:
            return []
        return messages

    async def _ingest(self, messages: Sequence[Any], stream: str) -> StreamBatch:
        """Commit one batch of messages (in a worker thread: the event loop stays live)."""
        records = [bytes(message.data) for message in messages]  # parsed by reading
        sequences = [int(message.metadata.sequence.stream) for message in messages]
        keys = [f"{stream}:{sequence}" for sequence in sequences]
        options = self.options
        result: BatchOutcome = await asyncio.to_thread(
            self.ingest.ingest_records,
            records,
            source=options.source,
            entity=options.entity,
            actor=self.actor,
            origin=f"nats:{stream}/{options.subject}",
            message_keys=keys,
        )
        added = not result.duplicate  # a duplicate result describes an earlier batch
        return StreamBatch(
            batch_id=result.batch_id,
            messages=len(messages),
            rows_accepted=result.rows_accepted if added else 0,
            rows_quarantined=result.rows_quarantined if added else 0,
            duplicates=result.duplicates if added else len(messages),
            first_seq=min(sequences),
            last_seq=max(sequences),
        )


def _pause_for_tests(point: str) -> None:
    if os.environ.get(PAUSE_ENV) != point:
        return
    sys.stderr.write(f"aimsight: paused at {point} ({PAUSE_ENV})\n")
    sys.stderr.flush()
    time.sleep(float(os.environ.get("AIMSIGHT_TEST_PAUSE_SECONDS", "3600")))


def _redact(url: str) -> str:
    """``url`` without the user and password it may carry."""
    return re.sub(r"//[^@/]*@", "//***@", url)


def _sanitise(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:200]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]
