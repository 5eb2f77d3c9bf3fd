"""`aimsight quarantine list|show|replay`: what was refused, why, and bringing it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimsight.core import Workspace
from aimsight.ingest._contracts import ContractRegistry
from tests.cli._runner import run
from tests.factories.ingest import PEOPLE, install, person, with_field, write_csv


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "acme")
    assert run(["init", path], capsys)[0] == 0
    install(Workspace.open(path), PEOPLE)
    source = write_csv(
        tmp_path / "people.csv",
        [person("P1"), person("P2", age="-4"), "P3,ragged", person("P4"), person("P5")],
    )
    argv = ["ingest", str(source), "--source", "crm", "--entity", "people", "-w", path]
    assert run(argv, capsys)[0] == 0
    return path


def test_list_shows_reasons_but_not_values(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["quarantine", "list", "-w", ws], capsys)
    assert code == 0
    assert "out_of_range" in out and "ragged_row" in out
    assert "p2@example.com" not in out  # values only with `show`
    code, out, _ = run(["quarantine", "list", "-w", ws, "--reason", "ragged_row", "--json"], capsys)
    [row] = json.loads(out)
    assert (row["line"], row["raw"], row["raw_format"]) == (3, "P3,ragged", "text")


def test_show_prints_the_values_as_received_and_every_reason(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    [row] = json.loads(run(["quarantine", "list", "-w", ws, "--json", "--limit", "1"], capsys)[1])
    code, out, _ = run(["quarantine", "show", str(row["id"]), "-w", ws], capsys)
    assert code == 0
    assert "p2@example.com" in out and "'-4'" in out and "out_of_range" in out
    code, _, err = run(["quarantine", "show", "999", "-w", ws], capsys)
    assert code == 1 and err.startswith("error: no quarantined row 999")


def test_replay_after_a_contract_fix(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["quarantine", "replay", "-w", ws], capsys)
    assert code == 0 and "0 passed" in out and "1 need a fixed source" in out

    ContractRegistry.for_workspace(Workspace.open(ws)).add(
        with_field(PEOPLE, "age", type="integer")
    )
    code, out, _ = run(["quarantine", "replay", "-w", ws, "--json"], capsys)
    result = json.loads(out)
    assert (result["replayed"], result["still_open"], result["needs_source"]) == (1, 0, 1)
    [batch] = result["batches"]
    code, out, _ = run(["quarantine", "list", "--status", "replayed", "-w", ws, "--json"], capsys)
    assert [row["replayed_into"] for row in json.loads(out)] == [batch["batch_id"]]
    code, _, err = run(["quarantine", "list", "--status", "closed", "-w", ws], capsys)
    assert code == 2 and "open, replayed, all" in err
