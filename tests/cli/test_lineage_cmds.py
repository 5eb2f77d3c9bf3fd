"""`aimsight lineage DATASET|BATCH|FILE`: where data came from and what judged it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import Workspace
from tests.cli._runner import run
from tests.factories.ingest import PEOPLE, install, person, write_csv


@pytest.fixture
def batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, Any]]:
    path = str(tmp_path / "acme")
    assert run(["init", path], capsys)[0] == 0
    install(Workspace.open(path), PEOPLE)
    source = write_csv(tmp_path / "people.csv", [person("P1"), person("P2")])
    argv = ["ingest", str(source), "--source", "crm", "--entity", "people", "-w", path, "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    return path, json.loads(out)[0]


def test_lineage_of_a_batch(
    batch: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, result = batch
    code, out, _ = run(["lineage", str(result["batch_id"]), "-w", ws], capsys)
    assert code == 0
    assert "crm.people" in out and "v1" in out and "2 in, 2 accepted" in out
    code, out, _ = run(["lineage", str(result["batch_id"]), "-w", ws, "--json"], capsys)
    data = json.loads(out)
    assert data["batch"]["rule_set_version"] and data["parents"] == []
    assert [f["path"] for f in data["files"]] == result["files"]


def test_lineage_of_a_dataset_and_of_a_file(
    batch: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, result = batch
    code, out, _ = run(["lineage", "crm.people", "-w", ws], capsys)
    assert code == 0 and str(result["batch_id"]) in out and "1 batches" in out
    [path] = result["files"]
    code, out, _ = run(["lineage", str(path), "-w", ws, "--json"], capsys)
    assert json.loads(out)["file"]["rows"] == 2


def test_lineage_of_nothing_is_one_line(
    batch: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, _ = batch
    code, _, err = run(["lineage", "crm.nothing", "-w", ws], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "source.entity" in err
