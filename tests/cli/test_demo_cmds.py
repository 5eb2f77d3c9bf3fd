"""`aimsight demo generate` as a user runs it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from aimsight.cli import _demo_cmds
from tests.cli._runner import run


def test_generate_prints_the_summary_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "company"
    code, stdout, _ = run(
        ["demo", "generate", "--out", str(out), "--customers", "40", "--seed", "2", "--json"],
        capsys,
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["customers"] == 40 and summary["seed"] == 2
    assert summary["files"]["crm/customers.csv"] >= 40
    assert (out / "manifest.json").exists()


def test_generate_identity_parts_writes_only_what_identity_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ids"
    argv = ["demo", "generate", "--out", str(out), "--customers", "30", "--parts", "identity"]
    code, stdout, _ = run([*argv, "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["parts"] == "identity"
    assert set(summary["files"]) == {
        "crm/customers.csv",
        "billing/accounts.csv",
        "ground_truth/persons.csv",
        "ground_truth/shared_identifiers.csv",
    }
    assert not (out / "web").exists()
    code, _, err = run(["demo", "generate", "--out", str(out), "--parts", "web"], capsys)
    assert code != 0 and "--parts" in err and len(err.strip().splitlines()) == 1


def test_generate_prints_a_table_of_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = run(["demo", "generate", "--out", str(tmp_path), "--customers", "20"], capsys)
    assert code == 0
    assert "crm/customers.csv" in stdout and "total" in stdout


def test_too_few_customers_is_one_line_and_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["demo", "generate", "--out", str(tmp_path), "--customers", "3"], capsys)
    assert code != 0
    assert "customers" in err and len(err.strip().splitlines()) == 1


def test_demo_without_subcommand_runs_the_pipeline_with_the_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("aimsight.demo.run_demo", lambda **kwargs: calls.append(kwargs))
    code, _, _ = run(
        ["demo", "-w", "wsdir", "--customers", "30", "--port", "9001", "--no-serve"], capsys
    )
    assert code == 0
    assert calls == [
        {
            "workspace": "wsdir",
            "customers": 30,
            "seed": 7,
            "host": "127.0.0.1",
            "port": 9001,
            "serve": False,
        }
    ]
    assert _demo_cmds.demo_app is not None


def test_a_busy_port_fails_before_building_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        workspace = tmp_path / "demo"
        code, _, err = run(["demo", "-w", str(workspace), "--port", str(port)], capsys)
    assert code == 2
    assert f"--port {port}" in err and "another --port" in err
    assert len(err.strip().splitlines()) == 1
    assert not workspace.exists()
