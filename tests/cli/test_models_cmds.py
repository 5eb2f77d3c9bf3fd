"""`aimsight models ...`: training declared models and the registry from a shell, approvals
authenticated by API key.

Training runs on the 40-person company of tests/cli/test_features_cmds.py (set up once per
module, copied per test) with a small models.yaml, so each model trains in about a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aimsight.core import Workspace
from aimsight.registry import ModelRegistry
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store
from tests.cli._runner import run, run_json
from tests.cli.test_features_cmds import resolved_company
from tests.registry._fakes import register, trained


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A workspace with churn v1 (trained by cli:alice) and a governance key for gina."""
    path = str(tmp_path / "acme")
    assert run(["init", path], capsys)[0] == 0
    _register(path)
    return path


def _register(path: str, **changes: Any) -> int:
    workspace = Workspace.open(path)
    with Store.open(workspace) as store:
        registry = ModelRegistry(workspace, store, Ledger.open(workspace, store))
        return register(registry, **changes).version


def _key(path: str, name: str, role: Role) -> str:
    workspace = Workspace.open(path)
    with Store.open(workspace) as store:
        return ApiKeyService(store).create(name, role, created_by="test")[1]


def _approve(ws: str, capsys: pytest.CaptureFixture[str], version: str = "1") -> None:
    key = _key(ws, f"gina-{version}", Role.GOVERNANCE)
    assert run(["models", "validate", "churn", version, "-w", ws], capsys)[0] == 0
    code, _, err = run(
        [
            "models",
            "approve",
            "churn",
            version,
            "--rationale",
            "Gates met, card reviewed.",
            "--api-key",
            key,
            "-w",
            ws,
        ],
        capsys,
    )
    assert code == 0, err


def test_list_show_and_versions(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    [summary] = run_json(["models", "list", "-w", ws], capsys)
    assert (summary["name"], summary["latest_version"], summary["stages"]) == (
        "churn",
        1,
        {"draft": 1},
    )
    shown = run_json(["models", "show", "churn", "-w", ws], capsys)
    assert shown["stage"] == "draft" and shown["serving"]["champion"] is None
    [version] = run_json(["models", "versions", "churn", "-w", ws], capsys)
    assert version["version"] == 1 and "evaluation" not in version
    code, out, _ = run(["models", "list", "-w", ws], capsys)
    assert code == 0 and "churn" in out and "draft 1" in out
    code, out, _ = run(["models", "show", "churn", "v1", "-w", ws], capsys)
    assert code == 0 and "roc_auc 0.82" in out and "tenure_days (integer)" in out


def test_the_whole_lifecycle_with_rollback_from_the_shell(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _approve(ws, capsys)
    for argv in (
        ["--to", "shadow"],
        ["--to", "canary", "--share", "0.1"],
        ["--to", "production"],
    ):
        code, out, err = run(["models", "promote", "churn", "1", *argv, "-w", ws], capsys)
        assert code == 0, err
        assert "promoted churn v1" in out
    _register(ws, model=trained())
    _approve(ws, capsys, "2")
    moved = run_json(
        [
            "models",
            "promote",
            "churn",
            "2",
            "--to",
            "production",
            "--exception",
            "Holiday freeze starts tomorrow",
            "-w",
            ws,
        ],
        capsys,
    )
    assert moved["aliases"] == ["champion"]
    code, out, _ = run(["models", "rollback", "churn", "--reason", "v2 misfires", "-w", ws], capsys)
    assert code == 0 and "rolled back to churn v1" in out
    history = run_json(["models", "history", "churn", "-w", ws], capsys)
    assert [(i["version"], i["via"]) for i in history["production"]] == [
        (1, "promote"),
        (2, "promote"),
        (1, "rollback"),
    ]
    code, out, _ = run(["models", "history", "churn", "-w", ws], capsys)
    assert code == 0 and "champion over time" in out and "rollback" in out
    code, out, _ = run(["ledger", "verify", "-w", ws], capsys)
    assert code == 0


def test_approve_needs_a_valid_key_and_refuses_self_approval(
    ws: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["models", "validate", "churn", "1", "-w", ws], capsys)[0] == 0
    base = ["models", "approve", "churn", "1", "--rationale", "Looks right to me.", "-w", ws]
    code, out, err = run(base, capsys)
    assert code != 0 and "pass --api-key or set AIMSIGHT_API_KEY" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run([*base, "--api-key", "aims_ak_0000000000000000_" + "x" * 43], capsys)
    assert code != 0 and "the API key is not valid" in err
    analyst = _key(ws, "dan", Role.ANALYST)
    code, _, err = run([*base, "--api-key", analyst], capsys)
    assert code != 0 and "'models:approve'" in err
    own = _key(ws, "alice", Role.GOVERNANCE)  # churn v1 was trained by cli:alice
    monkeypatch.setenv("AIMSIGHT_API_KEY", own)
    code, _, err = run(base, capsys)
    assert code != 0 and "separation of duties" in err
    monkeypatch.setenv("AIMSIGHT_API_KEY", _key(ws, "gina", Role.GOVERNANCE))
    approved = run_json(base, capsys)
    assert approved["approver"] == "gina"


def test_validate_reports_failures_and_exits_non_zero(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _register(ws, model=trained(metrics={"roc_auc": 0.5, "ece": 0.2}))
    code, out, _ = run(["models", "validate", "churn", "2", "-w", ws], capsys)
    assert code == 1
    assert "failed" in out and "gate:roc_auc" in out
    code, out, _ = run(["models", "validate", "churn", "latest", "-w", ws, "--json"], capsys)
    assert code == 1 and json.loads(out)["passed"] is False


def test_the_card_in_three_formats(
    ws: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(["models", "card", "churn", "-w", ws], capsys)
    assert code == 0 and out.startswith("# Model card: churn v1")
    target = tmp_path / "card.html"
    code, out, _ = run(
        ["models", "card", "churn", "1", "--format", "html", "--out", str(target), "-w", ws], capsys
    )
    assert code == 0 and "wrote the html card" in out
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    code, out, _ = run(["models", "card", "churn", "--format", "json", "-w", ws], capsys)
    assert code == 0 and json.loads(out)["model_details"]["name"] == "churn"
    code, _, err = run(["models", "card", "churn", "--format", "pdf", "-w", ws], capsys)
    assert code != 0 and "--format 'pdf' is not one of markdown, html, json" in err


def test_refusals_are_one_clear_line(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    _approve(ws, capsys)
    for argv, words in (
        (["promote", "churn", "1", "--to", "production"], "promote it to shadow or canary first"),
        (["promote", "churn", "1", "--to", "live"], "--to 'live' is not one of"),
        (["promote", "churn", "1", "--to", "canary"], "a canary needs a share"),
        (["rollback", "churn", "--reason", "undo"], "no earlier production version"),
        (["show", "upsell"], "no model named 'upsell'"),
        (["show", "churn", "best"], "is not a version"),
    ):
        code, _, err = run(["models", *argv, "-w", ws], capsys)
        assert code != 0, argv
        assert words in err and len(err.strip().splitlines()) == 1, err
    retired = run_json(
        ["models", "retire", "churn", "1", "--reason", "superseded", "-w", ws], capsys
    )
    assert retired["stage"] == "retired"


# Two segmentations the company's data supports: one whose gates hold, one whose do not.
_CARD = """
    card:
      owner: Customer analytics team
      intended_use: Describe the customer base for planning.
      intended_users: [analysts]
      out_of_scope_uses: [Deciding an individual's treatment on the segment alone.]
      factors: [Built from behaviour only.]
      ethical_considerations: [Persona names describe behaviour, not people.]
      caveats_and_recommendations: [Check stability at every retrain.]
"""
SEGMENTS_YAML = (
    """version: 1
models:
  - name: segments
    kind: segmentation
    description: Customers grouped by what they pay and payment trouble.
    features: [payments_365d, amount_paid_365d, days_since_last_payment, failed_payments_365d]
    settings: {k_min: 2, k_max: 3, stability_bootstrap: 3}
    gates:
      stability_ari: {min: 0.5}
      smallest_segment_share: {min: 0.05}
"""
    + _CARD
    + """
  - name: segments-strict
    kind: segmentation
    description: The same, held to a bar no segmentation of this company meets.
    features: [payments_365d, amount_paid_365d, days_since_last_payment, failed_payments_365d]
    settings: {k_min: 2, k_max: 3, stability_bootstrap: 3}
    gates:
      smallest_segment_share: {min: 0.9}
"""
    + _CARD
)
"""A models.yaml for the company of tests/cli/test_features_cmds.py; trains in about a second."""


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a user sees them in a wide terminal, so cells do not fold mid-word."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resolved company with data to train on (once per module); read-only."""
    return resolved_company(tmp_path_factory.mktemp("models-cli"))


@pytest.fixture
def trainable(company: Path, tmp_path: Path) -> str:
    """A private copy of the company whose models.yaml declares :data:`SEGMENTS_YAML`."""
    path = shutil.copytree(company, tmp_path / "company")
    (path / "models" / "models.yaml").write_text(SEGMENTS_YAML, encoding="utf-8")
    return str(path)


@pytest.mark.usefixtures("wide")
def test_declared_lists_the_models_init_installed(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = run_json(["models", "declared", "-w", ws], capsys)
    assert declared["file"] == "models/models.yaml"
    latest = {model["name"]: model["latest_version"] for model in declared["models"]}
    assert latest == {"churn": 1, "segments": None, "lifetime-value": None, "time-to-churn": None}
    churn = declared["models"][0]
    assert churn["label"]["kind"] == "churn" and churn["gates"]["roc_auc"]["min"] == 0.7
    assert churn["card"]["owner"]
    code, out, _ = run(["models", "declared", "-w", ws], capsys)
    assert code == 0 and "declared models: 4" in out
    assert "not trained" in out and "roc_auc >= 0.7" in out


@pytest.mark.usefixtures("wide")
def test_train_registers_a_version_and_validates_it_at_once(
    trainable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_json(["models", "train", "segments", "-w", trainable], capsys)
    assert (result["model"], result["version"]) == ("segments", 1)
    assert (result["stage"], result["validated"]) == ("validated", True)
    assert result["training_rows"] == 40 and result["metrics"]["n_segments"] in (2, 3)
    assert all(check["passed"] for check in result["validation"]["checks"])
    shown = run_json(["models", "show", "segments", "-w", trainable], capsys)
    assert shown["stage"] == "validated" and shown["trainer"].startswith("cli:")
    assert shown["data_snapshot"] and shown["training_config"]["spec"]["name"] == "segments"
    code, out, err = run(["models", "train", "segments", "-w", trainable], capsys)
    assert code == 0, err
    assert "trained segments v2 (segmentation, kmeans): now validated; validation passed" in out
    assert "40 training" in out and "stability_ari" in out
    assert "aimsight models approve segments 2" in out
    declared = run_json(["models", "declared", "-w", trainable], capsys)
    assert [m["latest_version"] for m in declared["models"]] == [2, None]


@pytest.mark.usefixtures("wide")
def test_a_version_that_fails_validation_stays_a_draft_and_says_why(
    trainable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["models", "train", "segments-strict", "-w", trainable], capsys)
    assert code == 0, err
    assert "trained segments-strict v1" in out and "validation failed" in out
    assert "gate:smallest_segment_share" in out and "stays a draft" in out
    result = run_json(["models", "train", "segments-strict", "-w", trainable], capsys)
    assert (result["version"], result["stage"], result["validated"]) == (2, "draft", False)
    failed = [c["check"] for c in result["validation"]["checks"] if not c["passed"]]
    assert failed == ["gate:smallest_segment_share"]


def test_training_refusals_are_one_clear_line(
    ws: str, trainable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(Path(ws, "models", "models.yaml"), Path(trainable, "models", "models.yaml"))
    for workspace, name, words in (
        (trainable, "upsell", "no model named 'upsell' is declared in models/models.yaml"),
        (ws, "segments", "run `aimsight identity run` first"),  # a fresh workspace
        # The shipped segments read tenure_days, which is the same for every customer here.
        (trainable, "segments", "'tenure_days' has the same value in every row"),
    ):
        code, out, err = run(["models", "train", name, "-w", workspace], capsys)
        assert code != 0 and out == ""
        assert words in err and len(err.strip().splitlines()) == 1, err
