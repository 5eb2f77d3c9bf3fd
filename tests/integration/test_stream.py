"""`aimsight ingest stream` against the NATS JetStream server on 127.0.0.1:4222.

A consumer killed with SIGKILL after its batch committed but before it acknowledged leaves
the messages to be redelivered; the rerun drops them by message key, so the lake ends with
exactly the messages published, none twice. Bad payloads are quarantined and acknowledged.
Each test uses its own stream and subject and deletes the stream afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import Workspace
from aimsight.ingest._contracts import ContractRegistry
from aimsight.ingest._quarantine import QuarantineService
from aimsight.ingest._service import IngestService
from aimsight.ingest._stream import PAUSE_ENV, StreamConsumer, StreamOptions
from aimsight.store import Ledger, Store

pytestmark = pytest.mark.integration

NATS_URL = os.environ.get("AIMSIGHT_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _nats_unavailable() -> str | None:
    host, _, port = NATS_URL.removeprefix("nats://").partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=2):
            return None
    except OSError as exc:
        return f"NATS not reachable at {NATS_URL}: {exc}"


@dataclass
class Run:
    """One test's workspace and its own stream, subject and durable consumer."""

    workspace: Workspace
    stream: str
    subject: str
    durable: str

    def argv(self, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "aimsight", "ingest", "stream",
            "--workspace", str(self.workspace.root), "--url", NATS_URL,
            "--subject", self.subject, "--stream", self.stream, "--durable", self.durable,
            "--source", "web", "--entity", "events", *extra,
        ]  # fmt: skip


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    reason = _nats_unavailable()
    if reason:
        pytest.skip(reason)
    workspace = Workspace.create(tmp_path / "ws")
    ContractRegistry.for_workspace(workspace).install_defaults()
    tag = uuid.uuid4().hex[:10]
    created = Run(workspace, f"AIMSIGHT_TEST_{tag}", f"aimsight.test.{tag}.events", f"t-{tag}")
    try:
        yield created
    finally:
        asyncio.run(_delete_stream(created.stream))


async def _delete_stream(stream: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    connection = await nats.connect(NATS_URL)
    try:
        try:
            await connection.jetstream().delete_stream(stream)
        except NotFoundError:
            pass
    finally:
        await connection.close()


async def _publish(run: Run, payloads: list[bytes]) -> None:
    import nats

    connection = await nats.connect(NATS_URL)
    try:
        js = connection.jetstream()
        await js.add_stream(name=run.stream, subjects=[run.subject])
        for payload in payloads:
            await js.publish(run.subject, payload)
    finally:
        await connection.close()


async def _consumer_state(run: Run) -> tuple[int, int]:
    """(messages not yet delivered, messages delivered but not acknowledged)."""
    import nats

    connection = await nats.connect(NATS_URL)
    try:
        info = await connection.jetstream().consumer_info(run.stream, run.durable)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)
    finally:
        await connection.close()


def _event(index: int) -> bytes:
    return json.dumps(
        {
            "event_id": f"ev-{index:04d}",
            "anonymous_id": f"anon-{index % 7}",
            "type": "page_view",
            "occurred_at": "2026-11-20T10:00:00Z",
            "platform": "web",
        }
    ).encode()


def _lake(workspace: Workspace, sql: str) -> list[tuple[Any, ...]]:
    store = Store.open(workspace)
    try:
        connection = IngestService(workspace, store, Ledger.open(workspace, store)).lake()
        try:
            return list(connection.execute(sql).fetchall())
        finally:
            connection.close()
    finally:
        store.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "committed"),
    [("after_lake_write", False), ("before_ack", True)],
    ids=["killed-before-commit", "killed-after-commit-before-ack"],
)
def test_a_consumer_killed_mid_batch_loses_nothing_and_adds_no_duplicates_on_rerun(
    run: Run, point: str, committed: bool
) -> None:
    total, batch = 60, 25
    asyncio.run(_publish(run, [_event(index) for index in range(total)]))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIMSIGHT")}
    before_kill = batch if committed else 0

    paused = subprocess.Popen(
        run.argv("--batch-size", str(batch), "--ack-wait", "2", "--max-wait", "0.5"),
        env={**env, PAUSE_ENV: point},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert paused.stderr is not None
        deadline = time.monotonic() + 60
        seen = ""
        while f"paused at {point}" not in seen and time.monotonic() < deadline:
            line = paused.stderr.readline()
            if not line and paused.poll() is not None:
                break
            seen += line
        assert f"paused at {point}" in seen, seen
        assert _lake(run.workspace, "SELECT count(*) FROM web.events") == [(before_kill,)]
    finally:
        paused.send_signal(signal.SIGKILL)
        paused.wait(timeout=10)
        if paused.stderr is not None:
            paused.stderr.close()
    assert asyncio.run(_consumer_state(run))[1] == batch  # delivered, never acknowledged

    rerun = subprocess.run(
        run.argv("--batch-size", str(batch), "--max-wait", "0.5", "--idle-exit", "4", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["messages"] == total  # the new ones and the redelivered first batch
    assert summary["rows_accepted"] == total - before_kill
    assert summary["duplicates"] == before_kill  # already committed: dropped by message key
    rows = _lake(run.workspace, "SELECT count(*), count(DISTINCT event_id) FROM web.events")
    assert rows == [(total, total)]
    assert asyncio.run(_consumer_state(run)) == (0, 0)


def test_bad_payloads_are_quarantined_and_acknowledged(run: Run) -> None:
    bad = [b"not json {", b"[1, 2]", b'{"event_id": "\xff"}']
    payloads = [_event(index) for index in range(7)] + bad
    asyncio.run(_publish(run, payloads))
    store = Store.open(run.workspace)
    try:
        ledger = Ledger.open(run.workspace, store)
        options = StreamOptions(
            subject=run.subject, source="web", entity="events", url=NATS_URL,
            stream=run.stream, durable=run.durable, max_wait=0.3, idle_exit=0.5,
        )  # fmt: skip
        summary = StreamConsumer(
            options, IngestService(run.workspace, store, ledger), actor="test"
        ).run()
        quarantined = QuarantineService(run.workspace, store, ledger).list(dataset="web.events")
    finally:
        store.dispose()

    assert (summary.messages, summary.rows_accepted, summary.rows_quarantined) == (10, 7, 3)
    assert sorted(code for row in quarantined for code in row.codes) == [
        "invalid_json",
        "invalid_utf8",
        "not_an_object",
    ]
    assert any(row.raw == "not json {" for row in quarantined)
    assert asyncio.run(_consumer_state(run)) == (0, 0)  # all ten acknowledged
