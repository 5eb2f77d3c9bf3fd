"""`aimsight ingest PATH|report|batches|clean`: reports, one-line failures, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimsight.core import Workspace
from tests.cli._runner import run
from tests.factories.ingest import install, person, write_csv


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "acme")
    assert run(["init", path], capsys)[0] == 0
    install(Workspace.open(path))
    return path


def _ingest(
    ws: str, path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    argv = ["ingest", str(path), "--source", "crm", "--entity", "people", "-w", ws, *extra]
    return run(argv, capsys)


def test_ingest_path_prints_the_report_and_the_batch(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(
        tmp_path / "people.csv", [person("P1"), person("P2", email="nope"), person("P3")]
    )
    code, out, err = _ingest(ws, source, capsys)
    assert code == 0, err
    assert "3 rows in, 2 accepted, 1 quarantined" in out
    assert "invalid_email" in out and "verdict" in out
    assert err == ""  # no progress noise when stderr is not a terminal


def test_the_file_subcommand_is_the_same_as_the_default(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])
    code, out, _ = run(
        [
            "ingest",
            "file",
            str(source),
            "--source",
            "crm",
            "--entity",
            "people",
            "-w",
            ws,
            "--json",
        ],
        capsys,
    )
    assert code == 0
    [first] = json.loads(out)
    code, out, _ = run(
        ["ingest", "--source", "crm", "--entity", "people", str(source), "-w", ws, "--json"], capsys
    )
    [again] = json.loads(out)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["batch_id"] == first["batch_id"]
    assert first["report"]["rows_in"] == 1


def test_ingesting_again_says_nothing_was_added(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])
    _ingest(ws, source, capsys)
    code, out, _ = _ingest(ws, source, capsys)
    assert code == 0
    assert "already ingested" in out and "nothing added" in out


def test_a_rejected_batch_exits_1_with_one_line_after_the_report(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(
        tmp_path / "people.csv", [person("P1"), person("P2", email="x"), person("P3", age="y")]
    )
    code, out, err = _ingest(ws, source, capsys)
    assert code == 1
    assert "rejected" in out and "batch_rejected" in out  # the report first
    [line] = err.strip().splitlines()
    assert line.startswith("error: batch b_") and "max_quarantine_rate" in line
    assert "aimsight quarantine list --batch b_" in line

    code, out, err = _ingest(ws, source, capsys, "--json")
    assert code == 1 and json.loads(out)[0]["verdict"] == "rejected"
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"id,id\n1,2\n", "id")],
)
def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    code, out, err = _ingest(ws, source, capsys)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("error: ") and message in line and "bad.csv" in line


def test_an_unknown_contract_or_option_is_one_line(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "people.csv", [person("P1")])
    code, _, err = run(
        ["ingest", str(source), "--source", "crm", "--entity", "x", "-w", ws], capsys
    )
    assert code == 1 and len(err.strip().splitlines()) == 1 and "contract" in err
    code, _, err = _ingest(ws, source, capsys, "--format", "xml")
    assert code == 2 and "csv, jsonl, parquet" in err


def test_report_and_batches_show_what_was_stored(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(
        tmp_path / "people.csv", [person("P1"), person("P2", age="-1"), person("P3")]
    )
    [result] = json.loads(_ingest(ws, source, capsys, "--json")[1])
    batch_id = result["batch_id"]

    code, out, _ = run(["ingest", "report", batch_id, "-w", ws], capsys)
    assert code == 0 and batch_id in out and "out_of_range" in out
    code, out, _ = run(["ingest", "report", batch_id, "-w", ws, "--json"], capsys)
    stored = json.loads(out)
    assert stored["report"] == result["report"] and stored["origin"] == str(source.resolve())

    code, out, _ = run(["ingest", "batches", "-w", ws, "--json"], capsys)
    assert [b["batch_id"] for b in json.loads(out)] == [batch_id]
    code, out, _ = run(["ingest", "batches", "-w", ws, "--dataset", "crm.people"], capsys)
    assert code == 0 and batch_id in out

    code, _, err = run(["ingest", "report", "b_nope", "-w", ws], capsys)
    assert code == 1 and err.startswith("error: no batch 'b_nope'")


def test_clean_removes_only_orphaned_lake_files(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [result] = json.loads(
        _ingest(ws, write_csv(tmp_path / "p.csv", [person("P1")]), capsys, "--json")[1]
    )
    orphan = Path(ws) / "lake/raw/people/source=crm/date=2026-11-01/b_dead.parquet"
    orphan.write_bytes(b"left by a killed ingest")
    code, out, _ = run(["ingest", "clean", "--older-than", "0", "-w", ws, "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {"removed": ["raw/people/source=crm/date=2026-11-01/b_dead.parquet"]}
    assert (Path(ws) / "lake" / result["files"][0]).exists()


def test_the_group_lists_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ingest", "--help"], capsys)
    assert code == 0
    for command in ("file", "report", "batches", "clean", "stream", "flush"):
        assert command in out
