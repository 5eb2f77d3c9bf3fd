"""`aimsight ledger verify` and `ledger show` as an auditor uses them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from aimsight.core import Workspace
from aimsight.store import Ledger, Store
from tests.cli._runner import run


@pytest.fixture
def filled(workspace: Workspace, store: Store) -> Workspace:
    ledger = Ledger.open(workspace, store)
    ledger.append("model.trained", actor="alice", subject="churn-v1", payload={"auc": 0.8})
    ledger.append(
        "decision.made", actor="nba", subject="cust_1", personal={"email": "ada@example.com"}
    )
    ledger.append("decision.made", actor="nba", subject="cust_2")
    return workspace


def test_verify_reports_an_intact_ledger(
    filled: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["ledger", "verify", "-w", str(filled.root), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["ok"] is True and json.loads(out)["entries_checked"] == 3


def test_verify_names_the_first_bad_entry_and_exits_non_zero(
    filled: Workspace, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 2"))
    code, _, err = run(["ledger", "verify", "-w", str(filled.root)], capsys)
    assert code == 1
    assert "ledger broken at entry 2" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(["ledger", "verify", "-w", str(filled.root), "--json"], capsys)
    assert code == 1 and json.loads(out)["first_bad_seq"] == 2


def test_show_filters_by_subject_and_kind(
    filled: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["ledger", "show", "-w", str(filled.root), "--kind", "decision.*", "--json"], capsys
    )
    assert code == 0 and [e["subject"] for e in json.loads(out)] == ["cust_1", "cust_2"]
    code, out, _ = run(
        ["ledger", "show", "-w", str(filled.root), "--subject", "churn-v1", "--json"], capsys
    )
    assert [e["kind"] for e in json.loads(out)] == ["model.trained"]


def test_show_keeps_personal_data_hidden_unless_asked(
    filled: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["ledger", "show", "-w", str(filled.root)], capsys)
    assert "ada@example.com" not in out and "model.trained" in out
    _, out, _ = run(["ledger", "show", "-w", str(filled.root), "--personal", "--json"], capsys)
    assert json.loads(out)[1]["personal"] == {"email": "ada@example.com"}


def test_show_refuses_a_bad_time_in_one_line(
    filled: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["ledger", "show", "-w", str(filled.root), "--since", "yesterday"], capsys)
    assert code == 2
    assert "--since 'yesterday' is not an ISO 8601 time" in err
    assert len(err.strip().splitlines()) == 1
