"""Decisions on both stores, and contact caps that hold across server processes.

Several processes decide for the same customer at once (as `aimsight serve --workers N`
does), and the store's lock on the customer keeps a one-e-mail-a-week cap exact: an advisory
lock on PostgreSQL, a byte-range lock beside the database on SQLite
(tests/store/test_locks.py). Threads in one process are tested in
tests/decide/test_service.py.
"""

from __future__ import annotations

import multiprocessing

import pytest

from aimsight.core import Workspace
from aimsight.decide import DecisionRequest
from aimsight.privacy import ConsentService
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store
from tests.decide._fakes import (
    HIGH_RISK,
    LOW_RISK,
    customer_rows,
    decision_service,
    grant_profiling,
    install_flow,
    release,
)
from tests.decide._worker import decide_once


def _prepare(workspace: Workspace, store: Store) -> Ledger:
    ledger = Ledger.open(workspace, store)
    install_flow(workspace)
    release(ModelRegistry(workspace, store, ledger))
    grant_profiling(ConsentService(workspace, store, ledger), list(customer_rows()))
    return ledger


def test_a_decision_its_review_and_outcome_on_each_store(
    any_workspace: Workspace, any_store: Store
) -> None:
    ledger = _prepare(any_workspace, any_store)
    service = decision_service(any_workspace, any_store, ledger)
    try:
        reminder = service.decide(
            DecisionRequest(flow="retention", customer_id=LOW_RISK, channel="email"), actor="t"
        )
        assert reminder.action == "reminder" and reminder.status == "decided"
        service.record_outcome(reminder.decision_id, "accepted", actor="crm")
        offer = service.decide(
            DecisionRequest(flow="retention", customer_id=HIGH_RISK, channel="email"), actor="t"
        )
        assert offer.status == "pending_review"
        review = service.settle_review(
            offer.review_id or "", "approve", reviewer="rita", reason="fair offer"
        )
        assert review.status == "approved"
        assert service.get(offer.decision_id)["status"] == "approved"
        service.stop("retention", actor="ops", reason="drill")
        stopped = service.decide(
            DecisionRequest(flow="retention", customer_id="cus_001", channel="web"), actor="t"
        )
        assert stopped.fallback_reason == "flow_stopped"
    finally:
        service.close()
    assert ledger.verify().ok


@pytest.mark.integration
def test_caps_hold_when_several_processes_decide_for_one_customer(
    any_workspace: Workspace, any_store: Store
) -> None:
    _prepare(any_workspace, any_store)
    context = multiprocessing.get_context("spawn")
    processes = 4
    start = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(
            target=decide_once, args=(str(any_workspace.root), LOW_RISK, start, results)
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    actions = [results.get(timeout=5) for _ in range(processes)]
    assert actions.count("reminder") == 1  # one e-mail a week, across servers
    assert actions.count(None) == processes - 1
