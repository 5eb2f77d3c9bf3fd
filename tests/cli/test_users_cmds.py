"""`aimsight users add|list|revoke`: keys shown once, listed without secrets, revoked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aimsight.core import AuthenticationFailed, Workspace
from aimsight.security import ApiKeyService
from aimsight.store import Ledger, Store
from tests.cli._runner import run


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "acme")
    assert run(["init", path], capsys)[0] == 0
    return path


def _authenticate(path: str, key: str) -> str:
    workspace = Workspace.open(path)
    store = Store.open(workspace)
    try:
        return ApiKeyService(store).authenticate(key).name
    finally:
        store.dispose()


def test_add_prints_the_key_once_with_a_warning(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["users", "add", "ci-loader", "--role", "service", "-w", ws], capsys)
    assert code == 0
    keys = re.findall(r"aims_ak_[0-9a-z]{16}_[A-Za-z0-9_-]+", out)
    assert len(keys) == 1
    assert "cannot be shown again" in err
    assert _authenticate(ws, keys[0]) == "ci-loader"


def test_add_json_then_list_never_shows_the_secret(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["users", "add", "jane.doe", "--role", "Analyst", "-w", ws, "--json"], capsys
    )
    assert code == 0
    created = json.loads(out)
    assert created["user"]["role"] == "analyst" and created["key"].startswith("aims_")
    assert created["user"]["created_by"].startswith("cli:")
    code, out, _ = run(["users", "list", "-w", ws, "--json"], capsys)
    assert code == 0
    listed = json.loads(out)
    assert [user["name"] for user in listed] == ["jane.doe"]
    assert created["key"].split("_", 3)[3] not in out
    code, out, _ = run(["users", "list", "-w", ws], capsys)
    assert code == 0 and "jane.doe" in out and "analyst" in out


def test_revoke_stops_the_key_and_list_all_shows_it(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["users", "add", "bot", "--role", "agent", "-w", ws, "--json"], capsys)
    key = json.loads(out)["key"]
    code, out, _ = run(["users", "revoke", "bot", "-w", ws], capsys)
    assert code == 0 and "revoked" in out
    with pytest.raises(AuthenticationFailed):
        _authenticate(ws, key)
    assert json.loads(run(["users", "list", "-w", ws, "--json"], capsys)[1]) == []
    everything = json.loads(run(["users", "list", "--all", "-w", ws, "--json"], capsys)[1])
    assert [(u["name"], u["active"]) for u in everything] == [("bot", False)]


def test_key_changes_are_on_the_ledger(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(["users", "add", "bot", "--role", "agent", "-w", ws], capsys)
    run(["users", "revoke", "bot", "-w", ws], capsys)
    workspace = Workspace.open(ws)
    store = Store.open(workspace)
    try:
        kinds = [entry.kind for entry in Ledger.open(workspace, store).entries(kind="apikey.*")]
    finally:
        store.dispose()
    assert kinds == ["apikey.created", "apikey.revoked"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["users", "add", "x", "--role", "boss"], "allowed roles: admin, data_engineer, analyst"),
        (["users", "add", "Jane@Example.com", "--role", "admin"], "name 'Jane@Example.com'"),
        (["users", "revoke", "ghost"], "no API key named 'ghost'"),
    ],
)
def test_errors_are_one_line_and_a_non_zero_exit(
    ws: str, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([*argv, "-w", ws], capsys)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0]


def test_a_duplicate_name_is_refused(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(["users", "add", "bot", "--role", "agent", "-w", ws], capsys)
    code, _, err = run(["users", "add", "bot", "--role", "agent", "-w", ws], capsys)
    assert code == 1 and "active key named 'bot'" in err
