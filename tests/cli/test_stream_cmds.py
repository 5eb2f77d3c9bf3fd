"""`aimsight ingest flush` and `aimsight ingest stream`: what a user sees, errors in one line."""

from __future__ import annotations

import json
import socket

import pytest

from aimsight.core import Workspace
from aimsight.ingest._collector import CollectedMessage, CollectorService
from aimsight.ingest._contracts import ContractRegistry
from aimsight.store import Store
from tests.cli._runner import run


def _spool_events(workspace: Workspace, count: int) -> None:
    store = Store.open(workspace)
    try:
        CollectorService(store).accept(
            [
                CollectedMessage(type="track", anonymous_id="a", event="Viewed", message_id=f"m{i}")
                for i in range(count)
            ]
        )
    finally:
        store.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_flush_moves_pending_events_into_the_lake(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ContractRegistry.for_workspace(workspace).install_defaults()
    _spool_events(workspace, 5)

    code, out, _ = run(["ingest", "flush", "-w", str(workspace.root), "--limit", "3"], capsys)
    assert code == 0
    assert "3 events, 3 accepted" in out and "2 events, 2 accepted" in out
    assert "flushed: 5 events" in out

    code, out, _ = run(["ingest", "flush", "-w", str(workspace.root), "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {"batches": [], "pending": 0}


def test_flush_without_the_collector_contract_says_how_to_add_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _spool_events(workspace, 1)
    code, _, err = run(["ingest", "flush", "-w", str(workspace.root)], capsys)
    assert code == 1
    assert "collector.events" in err and "install-defaults" in err


def test_stream_names_the_server_it_cannot_reach(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ContractRegistry.for_workspace(workspace).install_defaults()
    url = f"nats://127.0.0.1:{_closed_port()}"
    argv = ["ingest", "stream", "-w", str(workspace.root), "--url", url]
    argv += ["--subject", "web.events", "--source", "web", "--entity", "events"]

    code, _, err = run(argv, capsys)

    assert code == 3
    assert url in err and "nats-server -js" in err
    assert "Traceback" not in err


def test_stream_refuses_a_bad_stream_name_before_connecting(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ingest", "stream", "-w", str(workspace.root), "--stream", "web.events"]
    argv += ["--subject", "web.events", "--source", "web", "--entity", "events"]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "--stream" in err


def test_stream_without_a_contract_fails_before_consuming(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"nats://127.0.0.1:{_closed_port()}"
    argv = ["ingest", "stream", "-w", str(workspace.root), "--url", url]
    argv += ["--subject", "web.events", "--source", "web", "--entity", "events"]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert "web.events" in err and "install-defaults" in err
