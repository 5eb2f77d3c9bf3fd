"""``aimsight ingest stream`` and ``aimsight ingest flush``: the NATS consumer and the spool.

Both are added to the ``ingest`` group by :func:`register`, which ``_ingest_cmds`` calls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from aimsight.cli._common import JsonOpt, WorkspaceOpt, cli_actor, console, open_workspace
from aimsight.cli._common import print_json as _print_json
from aimsight.core import Workspace

if TYPE_CHECKING:  # the ingest layer loads only when a command runs, for a fast --help
    from aimsight.ingest import IngestService, StreamBatch, StreamSummary
    from aimsight.store import Store

__all__ = ["register"]


def register(ingest_app: typer.Typer) -> None:
    """Add ``stream`` and ``flush`` to the ``ingest`` group."""
    ingest_app.command("stream")(stream_command)
    ingest_app.command("flush")(flush_command)


def _ingest_service(workspace: Workspace, store: Store) -> IngestService:
    from aimsight.ingest import IngestService
    from aimsight.store import Ledger

    return IngestService(workspace, store, Ledger.open(workspace, store))


def stream_command(
    subject: Annotated[str, typer.Option(help="NATS subject to consume, e.g. 'events.web'.")],
    source: Annotated[str, typer.Option(help="Contract source, e.g. 'web'.")],
    entity: Annotated[str, typer.Option(help="Contract entity, e.g. 'events'.")],
    stream: Annotated[
        str | None,
        typer.Option(help="JetStream stream (default: the one holding the subject, or new)."),
    ] = None,
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer name (default aimsight-SOURCE-ENTITY).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="NATS server (default: setting ingest.nats_url).")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, max=100_000, help="Messages per batch (default: ingest.stream_batch_size)."
        ),
    ] = None,
    max_wait: Annotated[
        float, typer.Option(min=0.05, help="Seconds one fetch waits for messages.")
    ] = 2.0,
    ack_wait: Annotated[
        float,
        typer.Option(
            min=0.5, help="Seconds before an unacknowledged message is redelivered (new consumer)."
        ),
    ] = 60.0,
    idle_exit: Annotated[
        float | None,
        typer.Option(min=0.05, help="Stop after this many seconds without a message."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Consume a NATS JetStream subject into the lake; acknowledge only committed batches."""
    from aimsight.ingest import StreamConsumer, StreamOptions
    from aimsight.store import Store

    opened = open_workspace(workspace)
    settings = opened.settings.ingest
    options = StreamOptions(
        subject=subject,
        source=source,
        entity=entity,
        url=url or settings.nats_url,
        stream=stream,
        durable=durable,
        batch_size=batch_size or settings.stream_batch_size,
        max_wait=max_wait,
        ack_wait=ack_wait,
        idle_exit=idle_exit,
    )
    with Store.open(opened) as store:
        ingest = _ingest_service(opened, store)
        ingest.contracts.get(source, entity)  # no contract: say so before consuming anything
        if as_json:
            summary = StreamConsumer(options, ingest, actor=cli_actor()).run()
        else:
            with console.status(f"consuming {subject} ...") as status:

                def progress(batch: StreamBatch, total: StreamSummary) -> None:
                    status.update(_progress_line(total))
                    console.print(
                        f"batch {batch.batch_id}: {batch.messages:,} messages "
                        f"(seq {batch.first_seq}-{batch.last_seq}), "
                        f"{batch.rows_accepted:,} accepted, {batch.rows_quarantined:,} "
                        f"quarantined, {batch.duplicates:,} already ingested"
                    )

                summary = StreamConsumer(
                    options, ingest, actor=cli_actor(), progress=progress
                ).run()
    if as_json:
        _print_json(summary.to_dict())
        return
    console.print(
        f"[green]stopped ({summary.stopped or 'done'})[/green]: {_progress_line(summary)}"
    )


def flush_command(
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Most events per batch (default: ingest.collector_flush_rows)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the HTTP collector's pending events into the lake now."""
    from aimsight.ingest import CollectorService
    from aimsight.store import Store

    opened = open_workspace(workspace)
    with Store.open(opened) as store:
        collector = CollectorService(store, _ingest_service(opened, store))
        settings = opened.settings.ingest
        results = collector.flush_all(
            limit or settings.collector_flush_rows,
            actor=cli_actor(),
            keep_flushed=timedelta(hours=settings.collector_keep_hours),
        )
        pending = collector.pending()
    if as_json:
        _print_json({"batches": [result.to_dict() for result in results], "pending": pending})
        return
    if not results:
        console.print(
            f"nothing to flush now: {pending:,} pending events are being flushed elsewhere"
            if pending
            else "nothing to flush: no pending events"
        )
        return
    for result in results:
        console.print(
            f"batch {result.batch_id}: {result.claimed:,} events, {result.rows_accepted:,} "
            f"accepted, {result.rows_quarantined:,} quarantined, {result.duplicate_rows:,} "
            "already ingested"
        )
    console.print(f"[green]flushed[/green]: {sum(r.claimed for r in results):,} events")


def _progress_line(summary: StreamSummary) -> str:
    return (
        f"{summary.stream}/{summary.durable}: {summary.batches:,} batches, "
        f"{summary.messages:,} messages, {summary.rows_accepted:,} accepted, "
        f"{summary.rows_quarantined:,} quarantined, {summary.duplicates:,} already ingested"
    )
