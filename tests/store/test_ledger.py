"""The ledger chains every entry, finds any tampering, and can forget personal data."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from aimsight.core import InvalidInput, LedgerError, NotFound, Workspace, set_clock
from aimsight.store import GENESIS_HASH, Ledger, Store
from tests.store._ledger_worker import append_entries


@pytest.fixture
def ledger(any_workspace: Workspace, any_store: Store) -> Ledger:
    return Ledger.open(any_workspace, any_store)


def test_entries_are_chained_from_the_genesis_hash(ledger: Ledger) -> None:
    first = ledger.append("model.trained", actor="alice", subject="churn", payload={"auc": 0.81})
    second = ledger.append("model.approved", actor="bob", subject="churn")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert ledger.get(1).payload == {"auc": 0.81}
    assert ledger.count() == 2
    assert ledger.verify().ok


def test_an_empty_ledger_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result.ok and result.entries_checked == 0 and result.head_seq is None


def test_append_many_writes_all_entries_in_order(ledger: Ledger) -> None:
    written = ledger.append_many(
        {"kind": "decision.made", "actor": "nba", "subject": f"c{i}", "payload": {"i": i}}
        for i in range(5)
    )
    assert [entry.seq for entry in written] == [1, 2, 3, 4, 5]
    assert [entry.payload["i"] for entry in ledger.entries()] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kind", "actor", "payload", "field"),
    [
        ("Decision", "nba", {}, "kind"),
        ("decision", "nba", {}, "kind"),
        ("decision.made", "", {}, "actor"),
        ("decision.made", "nba", {"score": float("nan")}, "payload"),
        ("decision.made", "nba", {"when": datetime(2026, 1, 1)}, "payload"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(
    ledger: Ledger, kind: str, actor: str, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        ledger.append(kind, actor=actor, payload=payload)
    assert caught.value.field == field
    assert ledger.count() == 0


def test_payload_errors_point_at_the_bad_value(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match=r"payload\.scores\[1\]"):
        ledger.append("decision.made", actor="nba", payload={"scores": [0.5, float("inf")]})


def test_entries_filter_by_subject_kind_time_and_page(ledger: Ledger) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for day in range(6):
        set_clock(lambda day=day: start + timedelta(days=day))
        ledger.append(
            "decision.made" if day % 2 else "consent.granted",
            actor="svc",
            subject="c1" if day < 3 else "c2",
        )
    assert [e.seq for e in ledger.entries(subject="c1")] == [1, 2, 3]
    assert [e.seq for e in ledger.entries(kind="decision.made")] == [2, 4, 6]
    assert [e.seq for e in ledger.entries(kind="consent.*")] == [1, 3, 5]
    window = ledger.entries(since=start + timedelta(days=2), until=start + timedelta(days=4))
    assert [e.seq for e in window] == [3, 4]
    assert [e.seq for e in ledger.entries(after_seq=4, limit=1)] == [5]


def test_a_missing_entry_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound, match="ledger entry 7 does not exist"):
        ledger.get(7)


def test_altering_an_entry_names_it(ledger: Ledger, any_store: Store) -> None:
    for i in range(5):
        ledger.append("decision.made", actor="nba", subject=f"c{i}", payload={"offer": "a"})
    with any_store.engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_entries SET payload = :p WHERE seq = 3"), {"p": '{"offer":"b"}'}
        )
    result = ledger.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.kind == "altered"
    assert result.entries_checked == 2


def test_personal_data_is_kept_outside_the_chain(ledger: Ledger, any_store: Store) -> None:
    entry = ledger.append(
        "support.ticket_routed",
        actor="router",
        subject="cust_1",
        payload={"queue": "billing"},
        personal={"email": "ada@example.com"},
    )
    assert entry.has_personal
    assert ledger.get(entry.seq).personal is None  # only when asked for
    assert ledger.get(entry.seq, include_personal=True).personal == {"email": "ada@example.com"}
    with any_store.engine.connect() as connection:
        chained = connection.execute(text("SELECT payload FROM ledger_entries")).scalar_one()
    assert "ada@example.com" not in chained


def test_erasure_removes_personal_data_and_the_chain_still_verifies(
    ledger: Ledger, any_store: Store
) -> None:
    for subject, email in [("cust_1", "ada@example.com"), ("cust_2", "bob@example.com")] * 2:
        ledger.append("decision.made", actor="nba", subject=subject, personal={"email": email})
    erasure = ledger.erase_personal_data("cust_1", actor="privacy-officer", reason="DSAR-17")
    assert erasure.kind == "privacy.personal_data_erased"
    assert erasure.payload == {"reason": "DSAR-17", "entries": [1, 3]}
    assert ledger.verify().ok
    cleared = ledger.entries(subject="cust_1", kind="decision.made", include_personal=True)
    assert all(e.personal is None and e.personal_erased for e in cleared)
    kept = ledger.entries(subject="cust_2", include_personal=True)
    assert all(e.personal == {"email": "bob@example.com"} for e in kept)
    with any_store.engine.connect() as connection:
        dump = json.dumps(
            [list(row) for row in connection.execute(text("SELECT * FROM ledger_personal_data"))]
        )
    assert "ada@example.com" not in dump
    again = ledger.erase_personal_data("cust_1", actor="privacy-officer", reason="DSAR-17")
    assert again.payload["entries"] == []


def test_changing_personal_data_without_an_erasure_is_detected(
    ledger: Ledger, any_store: Store
) -> None:
    ledger.append("decision.made", actor="nba", subject="c", personal={"email": "a@x.org"})
    ledger.append("decision.made", actor="nba", subject="c", personal={"email": "b@x.org"})
    with any_store.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_personal_data SET data = NULL WHERE seq = 2"))
    result = ledger.verify()
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 2, "personal_data_altered")


def test_a_rewritten_chain_without_the_key_fails_on_the_seal(
    workspace: Workspace, store: Store
) -> None:
    ledger = Ledger.open(workspace, store)
    for i in range(3):
        ledger.append("decision.made", actor="nba", payload={"i": i})
    forger = Ledger(store, b"not-the-workspace-key-at-all-000")
    forger_view = forger.verify()
    assert forger_view.kind == "unsealed" and forger_view.first_bad_seq == 1


def test_the_seal_key_is_private_and_survives_reopening(workspace: Workspace, store: Store) -> None:
    Ledger.open(workspace, store).append("workspace.created", actor="me")
    key_file = workspace.root / ".secrets" / "ledger.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert Ledger.open(workspace, store).verify().ok


def test_a_lost_key_for_a_ledger_with_entries_is_an_error(
    workspace: Workspace, store: Store
) -> None:
    Ledger.open(workspace, store).append("workspace.created", actor="me")
    (workspace.root / ".secrets" / "ledger.key").unlink()
    with pytest.raises(LedgerError, match="restore the key from your backup"):
        Ledger.open(workspace, store)


def test_threads_and_processes_append_one_unbroken_chain(
    any_workspace: Workspace, any_store: Store
) -> None:
    """8 threads and 2 processes append 10,000 entries: all land, in one valid chain."""
    threads, per_thread, processes, per_process = 8, 1_000, 2, 1_000
    ledger = Ledger.open(any_workspace, any_store)
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def append_from_thread(writer: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                ledger.append("test.appended", actor=writer, subject=writer, payload={"i": i})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=append_entries, args=(str(any_workspace.root), f"process-{n}", per_process)
        )
        for n in range(processes)
    ]
    for child in children:
        child.start()
    workers = [
        threading.Thread(target=append_from_thread, args=(f"thread-{n}",)) for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for child in children:
        child.join(timeout=300)
    assert errors == []
    assert [child.exitcode for child in children] == [0] * processes
    total = threads * per_thread + processes * per_process
    assert ledger.count() == total
    result = ledger.verify()
    assert result.ok, result.problem
    assert (result.entries_checked, result.head_seq) == (total, total)
    for writer in ["thread-0", "process-1"]:
        order = [e.payload["i"] for e in ledger.entries(subject=writer, limit=total)]
        assert order == list(range(len(order)))
        assert len(order) == per_thread


def test_a_second_process_sees_the_same_key(workspace: Workspace, store: Store) -> None:
    Ledger.open(workspace, store)
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=append_entries, args=(str(workspace.root), "p", 3))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert Ledger.open(workspace, store).verify().ok


def test_key_file_setting_may_point_outside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.create(root)
    config = root / "aimsight.toml"
    config.write_text(
        config.read_text("utf-8") + f'\n[ledger]\nkey_file = "{tmp_path / "vault.key"}"\n',
        "utf-8",
    )
    workspace = Workspace.open(root)
    store = Store.open(workspace)
    try:
        Ledger.open(workspace, store).append("workspace.created", actor="me")
    finally:
        store.dispose()
    assert (tmp_path / "vault.key").stat().st_size == 32


def test_a_failed_write_is_reported_and_the_next_append_still_works(
    workspace: Workspace, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger.open(workspace, store)
    ledger.append("decision.made", actor="nba")
    with monkeypatch.context() as patched:
        patched.setattr(
            store.engine.dialect, "do_commit", lambda _c: (_ for _ in ()).throw(OSError("disk"))
        )
        with pytest.raises(OSError, match="disk"):
            ledger.append("decision.made", actor="nba")
    assert ledger.append("decision.made", actor="nba").seq == 2
    assert ledger.verify().ok


def test_rows_written_alongside_an_entry_commit_with_it(ledger: Ledger, any_store: Store) -> None:
    with any_store.engine.begin() as connection:
        connection.execute(text("CREATE TABLE side (seq INTEGER, note TEXT)"))

    def write(connection: object, entry: object) -> None:
        connection.execute(  # type: ignore[attr-defined]
            text("INSERT INTO side VALUES (:seq, 'kept')"),
            {"seq": entry.seq},  # type: ignore[attr-defined]
        )

    entry = ledger.append("decision.made", actor="test", alongside=write)
    with any_store.engine.connect() as connection:
        assert connection.execute(text("SELECT seq FROM side")).scalars().all() == [entry.seq]


def test_a_failing_alongside_write_leaves_no_entry(ledger: Ledger) -> None:
    def fail(_connection: object, _entry: object) -> None:
        raise RuntimeError("row refused")

    with pytest.raises(RuntimeError, match="row refused"):
        ledger.append("decision.made", actor="test", alongside=fail)
    assert ledger.count() == 0
    assert ledger.verify().ok


def test_paging_past_any_possible_sequence_is_a_clear_error(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput) as caught:
        ledger.entries(after_seq=2**64)
    assert caught.value.field == "after_seq"
