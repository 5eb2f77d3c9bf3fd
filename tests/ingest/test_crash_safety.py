"""SIGKILL mid-batch: nothing partial is visible, and a rerun completes with the right counts.

The ingest runs as ``aimsight ingest`` in a child process with the test hook
``AIMSIGHT_TEST_PAUSE_AT`` set, which makes it stop at a named point; the test kills it there
with SIGKILL (no cleanup runs), looks at what a reader sees, and runs the ingest again.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aimsight.core import Workspace
from aimsight.ingest._service import PAUSE_ENV, IngestService
from aimsight.store import Ledger, Store
from tests.factories.ingest import assert_books_balance, install, person, write_csv

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

_PAUSE_TIMEOUT = 60.0


def _killed_at(point: str, workspace: Workspace, source: Path) -> None:
    """Run ``aimsight ingest`` until it pauses at ``point``, then SIGKILL it."""
    env = {**os.environ, PAUSE_ENV: point, "AIMSIGHT_TEST_PAUSE_SECONDS": "120"}
    argv = [sys.executable, "-m", "aimsight", "ingest", str(source), "--source", "crm"]
    argv += ["--entity", "people", "--workspace", str(workspace.root), "--json"]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stderr is not None
    try:
        deadline = time.monotonic() + _PAUSE_TIMEOUT
        seen = b""
        while b"paused at " + point.encode() not in seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and child.poll() is None, seen.decode(errors="replace")
            ready, _, _ = select.select([child.stderr], [], [], remaining)
            if ready:
                seen += os.read(child.stderr.fileno(), 4096)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def _service(workspace: Workspace, store: Store) -> IngestService:
    return IngestService(workspace, store, Ledger.open(workspace, store))


def _visible(service: IngestService) -> int:
    with service.lake() as db:
        [(count,)] = db.sql("SELECT count(*) FROM crm.people").fetchall()
    return int(count)


def _recorded(workspace: Workspace, store: Store) -> int:
    return len(Ledger.open(workspace, store).entries(kind="ingest.batch_committed"))


def test_killed_after_the_lake_write_leaves_nothing_visible_and_a_rerun_completes(
    any_workspace: Workspace, any_store: Store, tmp_path: Path
) -> None:
    install(any_workspace)
    source = write_csv(
        tmp_path / "people.csv",
        [person(f"P{n}", updated_at=f"2026-11-0{1 + n % 3}T10:00:00Z") for n in range(30)]
        + [person("BAD", email="not-an-email")],
    )
    _killed_at("after_lake_write", any_workspace, source)

    written = sorted((any_workspace.lake_dir / "raw").rglob("*.parquet"))
    assert len(written) == 3  # the files are on disk...
    service = _service(any_workspace, any_store)
    assert _visible(service) == 0  # ...but no reader sees them
    assert service.batches() == [] and _recorded(any_workspace, any_store) == 0

    [result] = service.ingest_path(source, source="crm", entity="people", actor="rerun")
    assert not result.duplicate
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (31, 30, 1)
    assert _visible(service) == 30
    assert sorted((any_workspace.lake_dir / "raw").rglob("*.parquet")) == written  # rewritten
    assert assert_books_balance(any_store) == 1
    assert _recorded(any_workspace, any_store) == 1
    assert service.remove_orphans() == []


def test_killed_after_the_commit_is_recorded_on_the_rerun(
    workspace: Workspace, store: Store, tmp_path: Path
) -> None:
    install(workspace)
    source = write_csv(tmp_path / "people.csv", [person(f"P{n}") for n in range(5)])
    _killed_at("after_commit", workspace, source)

    service = _service(workspace, store)
    [batch] = service.batches()  # committed: the batch exists whole
    assert batch.ledger_seq is None and _recorded(workspace, store) == 0
    assert _visible(service) == 5

    [rerun] = service.ingest_path(source, source="crm", entity="people", actor="rerun")
    assert rerun.duplicate and rerun.batch_id == batch.batch_id
    assert _visible(service) == 5
    assert _recorded(workspace, store) == 1
    assert service.batch(batch.batch_id).ledger_seq is not None
    assert assert_books_balance(store) == 1
