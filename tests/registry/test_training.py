"""Training from declarations, as a data team meets it: the demo company's models trained,
validated, approved by someone else and promoted, with their evidence in the registry.

One demo workspace (600 customers) is built per module; tests that change it work on a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

from aimsight.core import Workspace
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.demo import build_demo
from aimsight.registry import ModelRegistry, ModelTrainer, shipped_models_config
from aimsight.store import Lake, Ledger, Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("training") / "demo"
    build_demo(root, customers=600, seed=11, console=Console(quiet=True))
    return root


@pytest.fixture
def workspace(demo: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(demo, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def store(workspace: Workspace) -> Iterator[Store]:
    with Store.open(workspace) as opened:
        yield opened


def test_the_demo_trains_every_declared_model_and_releases_churn_and_segments(demo: Path) -> None:
    ws = Workspace.open(demo)
    with Store.open(ws) as store:
        registry = ModelRegistry(ws, store, Ledger.open(ws, store))
        names = {summary.name: summary for summary in registry.list_models()}
        assert set(names) == {spec.name for spec in shipped_models_config().models}
        for released in ("churn", "segments"):
            champion = registry.version(released, "champion")
            assert champion.stage == "production"
            approval = registry.approvals(released, champion.version)[0]
            assert approval.approver == "demo-governance"
            assert approval.approver != champion.trainer
            stages = [t.to_stage for t in registry.history(released)]
            assert stages.index("shadow") < stages.index("production")
        churn = registry.version("churn", "champion")
        assert churn.metrics["roc_auc"] >= 0.70
        assert churn.metrics["ece"] <= 0.05
        assert 0.0 <= registry.version("segments", "champion").metrics["stability_ari"] <= 1.0
        assert Ledger.open(ws, store).verify().ok


def test_a_version_keeps_the_snapshot_of_the_lake_files_it_learnt_from(
    workspace: Workspace, store: Store
) -> None:
    registry = ModelRegistry(workspace, store, Ledger.open(workspace, store))
    churn = registry.version("churn", "champion")
    lake = Lake.for_workspace(workspace)
    assert churn.data_snapshot
    for path, digest in churn.data_snapshot.items():
        assert lake.sha256(path) == digest
    assert any(path.startswith("raw/billing/transactions") for path in churn.data_snapshot) or any(
        "transactions" in path for path in churn.data_snapshot
    )


def test_the_holdout_is_purged_of_training_dates_whose_window_overlaps_it(
    workspace: Workspace, store: Store
) -> None:
    registry = ModelRegistry(workspace, store, Ledger.open(workspace, store))
    churn = registry.version("churn", "champion")
    data = churn.training_config["data"]
    holdout = pd.Timestamp(data["as_of_dates"][-1])
    for kept in data["as_of_dates"][:-1]:
        assert pd.Timestamp(kept) + pd.Timedelta(days=90) <= holdout
    assert data["purged_as_of_dates"]


def test_retraining_segments_keeps_the_ids_of_segments_that_persist(
    workspace: Workspace, store: Store
) -> None:
    ledger = Ledger.open(workspace, store)
    registry = ModelRegistry(workspace, store, ledger)
    first = registry.version("segments", "champion")
    result = ModelTrainer(workspace, store, ledger).train("segments", actor="cli:analyst")
    assert result.version.version == first.version + 1
    ids = result.version.evaluation["ids"]
    assert ids["persisted"], "no segment kept its id across an identical retrain"
    assert not ids["new"]


def test_a_bad_setting_in_models_yaml_names_the_file_and_the_setting(
    workspace: Workspace, store: Store
) -> None:
    trainer = ModelTrainer(workspace, store, Ledger.open(workspace, store))
    config = yaml.safe_load(trainer.config_path.read_text("utf-8"))
    config["models"][0]["settings"]["algorithm"] = "random_forest"
    trainer.config_path.write_text(yaml.safe_dump(config), "utf-8")
    with pytest.raises(InvalidInput, match=r"settings\.algorithm"):
        trainer.train("churn", actor="cli:test")
    config["models"][0]["schedule"] = {"snapshots": 1}
    trainer.config_path.write_text(yaml.safe_dump(config), "utf-8")
    with pytest.raises(InvalidInput, match=r"models\.yaml: models\[0\]\.schedule\.snapshots"):
        trainer.config()


def test_an_undeclared_model_is_refused_with_the_declared_names(
    workspace: Workspace, store: Store
) -> None:
    trainer = ModelTrainer(workspace, store, Ledger.open(workspace, store))
    with pytest.raises(NotFound, match="churn"):
        trainer.train("upsell", actor="cli:test")
