"""Store locks: one holder per name across threads, store objects and processes.

Contact caps rest on them (tests/decide/test_concurrency.py), and the ledger's SQLite
writers queue on one, so what is checked here is what those need: a second holder waits
until the first lets go, other names do not wait, and nothing one store object does (being
disposed) drops a lock another still holds.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from aimsight.core import Workspace
from aimsight.store import Store
from tests.store._lock_worker import take_lock

HOLD = 0.3


def _wait_of_other_process(
    workspace: Workspace, name: str, holder: Store, meanwhile: Callable[[], None] = lambda: None
) -> float:
    """Hold ``name`` on ``holder`` for :data:`HOLD` seconds (doing ``meanwhile`` first) while
    a spawned process asks for it; how long that process waited."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    child = context.Process(target=take_lock, args=(str(workspace.root), name, ready, results))
    with holder.lock(name):
        meanwhile()
        child.start()
        assert ready.wait(60)
        time.sleep(HOLD)
    waited = float(results.get(timeout=60))
    child.join(timeout=60)
    assert child.exitcode == 0
    return waited


@pytest.fixture
def stores(any_workspace: Workspace) -> Iterator[tuple[Store, Store]]:
    """Two store objects on one database, as two services in one process have."""
    first, second = Store.open(any_workspace), Store.open(any_workspace)
    yield first, second
    first.dispose()
    second.dispose()


def test_threads_take_turns_on_a_name_and_never_overlap(stores: tuple[Store, Store]) -> None:
    inside, overlaps = [0], [0]
    guard = threading.Lock()

    def work(store: Store) -> None:
        for _ in range(20):
            with store.lock("customer:ada"):
                with guard:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                time.sleep(0.001)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=work, args=(stores[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps[0] == 0


def test_other_names_do_not_wait_and_a_holder_may_take_a_second_name(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    with first.lock("customer:ada"):
        done = threading.Event()

        def other() -> None:
            with second.lock("customer:bob"), second.lock("ledger"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(5)  # not blocked by ada's lock
        with first.lock("ledger"):  # customer, then ledger: as a decision takes them
            pass


@pytest.mark.integration
def test_another_process_waits_until_the_holder_lets_go(
    any_workspace: Workspace, stores: tuple[Store, Store]
) -> None:
    waited = _wait_of_other_process(any_workspace, "customer:ada", stores[0])
    assert waited >= HOLD * 0.8


@pytest.mark.integration
def test_disposing_one_store_object_keeps_the_locks_another_holds(
    any_workspace: Workspace, stores: tuple[Store, Store]
) -> None:
    first, second = stores

    def dispose_the_other() -> None:
        with second.lock("customer:bob"):  # the second object now shares the lock file
            pass
        second.dispose()  # lets go of its share, not of the file

    waited = _wait_of_other_process(any_workspace, "ledger", first, dispose_the_other)
    assert waited >= HOLD * 0.8
