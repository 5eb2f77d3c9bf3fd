"""`aimsight demo` builds a working workspace from the synthetic company."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from aimsight.api import create_app
from aimsight.core import WorkspaceError
from aimsight.demo._pipeline import DEMO_MARKER, build_demo
from aimsight.store import Ledger, Store


def test_demo_builds_a_workspace_whose_key_opens_the_api(tmp_path: Path) -> None:
    result = build_demo(tmp_path / "demo", customers=120, seed=3, console=Console(quiet=True))
    assert (result.workspace.root / DEMO_MARKER).exists()
    assert (result.workspace.root / "sources" / "manifest.json").exists()
    assert result.steps["ledger"]["valid"] is True
    with TestClient(create_app(result.workspace)) as client:
        response = client.get("/v1/health", headers={"Authorization": f"Bearer {result.admin_key}"})
    assert response.status_code == 200


def test_every_demo_step_is_on_the_ledger(tmp_path: Path) -> None:
    result = build_demo(tmp_path / "demo", customers=80, seed=3, console=Console(quiet=True))
    store = Store.open(result.workspace)
    try:
        ledger = Ledger.open(result.workspace, store)
        kinds = [entry.kind for entry in ledger.entries(limit=1000)]
    finally:
        store.dispose()
    assert kinds[0] == "workspace.created"
    assert kinds.count("demo.step_completed") == len(result.steps) - 1


def test_running_the_demo_again_starts_fresh(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "demo", customers=50, seed=3, console=Console(quiet=True))
    second = build_demo(tmp_path / "demo", customers=50, seed=3, console=Console(quiet=True))
    assert first.admin_key != second.admin_key
    assert second.steps["ledger"]["valid"] is True


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete", "utf-8")
    with pytest.raises(WorkspaceError, match="was not made by `aimsight demo`"):
        build_demo(precious, customers=50, seed=3, console=Console(quiet=True))
    assert (precious / "thesis.txt").exists()


def test_the_demo_resolves_identities_and_scores_them_against_ground_truth(
    tmp_path: Path,
) -> None:
    result = build_demo(tmp_path / "demo", customers=300, seed=5, console=Console(quiet=True))
    step = result.steps["resolve identities"]
    assert step["records"] > step["customers"] > 0
    # Precision and recall against the generator's ground truth, as the demo prints them.
    assert float(step["precision"]) > 0.9 and float(step["recall"]) > 0.9
