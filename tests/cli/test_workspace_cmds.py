"""`aimsight init`, `status` and `db`, and the one-line error contract of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._runner import run


def test_init_then_status_reports_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["init", str(tmp_path / "acme")], capsys)
    assert code == 0 and "created" in out
    code, out, _ = run(["status", "--workspace", str(tmp_path / "acme"), "--json"], capsys)
    status = json.loads(out)
    assert code == 0
    assert status["store"]["backend"] == "sqlite"
    assert status["store"]["up_to_date"] is True
    assert status["ledger"] == {"entries": 1}  # workspace.created
    assert status["api_keys"] == {"active": 0}
    assert status["contracts"] >= 7  # the shipped defaults, collector.events among them
    assert status["quarantine"] == {"open_rows": 0}


def test_init_installs_the_matching_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["init", str(tmp_path / "acme")], capsys)
    config = tmp_path / "acme" / "identity" / "matching.yaml"
    assert code == 0 and "identity" in out
    assert str(config) in "".join(out.split())  # Rich may fold a long path
    assert "crm.customers" in config.read_text(encoding="utf-8")
    code, out, _ = run(["init", str(tmp_path / "beta"), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["matching_config"] == str(
        tmp_path / "beta" / "identity" / "matching.yaml"
    )


def test_db_current_and_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["init", str(tmp_path / "acme")], capsys)
    code, out, _ = run(["db", "upgrade", "-w", str(tmp_path / "acme"), "--json"], capsys)
    assert code == 0 and json.loads(out)["to"] is not None
    code, out, _ = run(["db", "current", "-w", str(tmp_path / "acme"), "--json"], capsys)
    data = json.loads(out)
    assert data["current"] == data["head"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "--workspace", "/nonexistent/aimsight"], "no aimsight workspace"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["status", "--bogus"], "No such option: --bogus"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0]


def test_a_bad_setting_is_one_line_naming_key_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(["init", str(tmp_path / "acme")], capsys)
    monkeypatch.setenv("AIMSIGHT__API__PORT", "eighty")
    code, _, err = run(["status", "-w", str(tmp_path / "acme")], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "api.port" in lines[0] and "'eighty'" in lines[0]
