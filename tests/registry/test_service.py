"""ModelRegistry: versions, validation, approvals with separation of duties, stages, aliases,
rollback and loading, each step on the ledger."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aimsight.core import Conflict, InvalidInput, NotFound, PermissionDenied, Workspace
from aimsight.registry import (
    ArtifactError,
    CardInputs,
    ModelRegistry,
    Principal,
    SignatureMismatch,
    parse_ref,
)
from aimsight.registry._tables import ModelTransitionRow
from aimsight.security import Role
from aimsight.store import Ledger, Store
from tests.registry._fakes import CARD, ROW, FakeChurnModel, register, trained

GINA = Principal("gina", Role.GOVERNANCE, key_id="ak_gina000000000000")
RATIONALE = "Gates met, fairness gate passed, card reviewed with the retention team."


def _approved(registry: ModelRegistry, name: str = "churn", **changes: Any) -> int:
    version = register(registry, name, **changes).version
    assert registry.validate(name, version, actor="cli:alice").passed
    registry.approve(name, version, approver=GINA, rationale=RATIONALE)
    return version


def _champion(registry: ModelRegistry, name: str = "churn", **changes: Any) -> int:
    version = _approved(registry, name, **changes)
    registry.promote(name, version, to="shadow", actor="cli:alice")
    registry.promote(name, version, to="production", actor="cli:alice")
    return version


def test_a_version_goes_from_draft_to_production_with_every_step_on_the_ledger(
    registry: ModelRegistry, ledger: Ledger, workspace: Workspace
) -> None:
    version = register(registry)
    assert (version.version, version.stage, version.kind) == (1, "draft", "churn")
    assert version.artifact_path == "artifacts/models/churn/v1/model.joblib"
    assert (workspace.root / version.artifact_path).is_file()
    assert [spec.name for spec in version.features][:2] == ["tenure_days", "monthly_spend"]
    assert version.data_snapshot and version.provenance["scikit-learn"]

    report = registry.validate("churn", 1, actor="cli:alice")
    assert report.passed and report.stage == "validated" and not report.failures
    assert {c.check for c in report.checks} >= {"artifact", "signature", "fairness", "model_card"}

    approval = registry.approve("churn", 1, approver=GINA, rationale=RATIONALE)
    assert (approval.approver, approval.approver_role) == ("gina", "governance")
    assert registry.version("churn", 1).stage == "approved"

    assert registry.promote("churn", 1, to="shadow", actor="cli:alice").stage == "shadow"
    assert registry.serving("churn").shadows == (1,)
    canary = registry.promote("churn", 1, to="canary", share=0.1, actor="cli:alice")
    assert (canary.stage, canary.aliases, canary.canary_share) == ("canary", ("canary",), 0.1)
    serving = registry.serving("churn")
    assert (serving.canary, serving.canary_share, serving.shadows) == (1, 0.1, ())

    champion = registry.promote("churn", 1, to="production", actor="cli:alice")
    assert (champion.stage, champion.aliases) == ("production", ("champion",))
    assert registry.serving("churn").to_dict() == {
        "name": "churn",
        "champion": 1,
        "canary": None,
        "canary_share": None,
        "shadows": [],
    }
    assert registry.version("churn", "champion").version == 1

    steps = [(t.action, t.from_stage, t.to_stage) for t in registry.history("churn")]
    assert steps == [
        ("register", None, "draft"),
        ("validate", "draft", "validated"),
        ("approve", "validated", "approved"),
        ("promote", "approved", "shadow"),
        ("promote", "shadow", "canary"),
        ("promote", "canary", "production"),
    ]
    entries = ledger.entries(subject="churn:v1", include_personal=True)
    assert [e.kind for e in entries] == [
        "model.registered",
        "model.validated",
        "model.approved",
        "model.stage_changed",
        "model.stage_changed",
        "model.stage_changed",
    ]
    assert entries[0].payload["artifact_sha256"] == version.artifact_sha256
    assert [(e.payload["from"], e.payload["to"]) for e in entries[3:]] == [
        ("approved", "shadow"),
        ("shadow", "canary"),
        ("canary", "production"),
    ]
    assert entries[2].actor == "gina" and entries[2].personal == {"rationale": RATIONALE}
    assert ledger.verify().ok


def test_rollback_returns_the_previous_champion_and_history_shows_both_intervals(
    registry: ModelRegistry, ledger: Ledger
) -> None:
    _champion(registry)
    _approved(registry, model=trained(model=FakeChurnModel(bias=0.3)))
    registry.promote("churn", 2, to="canary", share=0.25, actor="cli:alice")
    registry.promote("churn", 2, to="production", actor="cli:alice")
    assert registry.version("churn", 1).stage == "retired"
    assert registry.serving("churn").champion == 2

    back = registry.rollback("churn", actor="cli:bob", reason="v2 over-predicts churn")
    assert (back.version, back.stage, back.aliases) == (1, "production", ("champion",))
    assert registry.version("churn", 2).stage == "retired"
    assert registry.load("churn").version == 1

    intervals = registry.production_history("churn")
    assert [(i.version, i.via) for i in intervals] == [
        (1, "promote"),
        (2, "promote"),
        (1, "rollback"),
    ]
    assert intervals[0].ended_at == intervals[1].started_at
    assert intervals[1].ended_at == intervals[2].started_at and intervals[2].ended_at is None
    [rolled] = ledger.entries(kind="model.rolled_back", include_personal=True)
    assert rolled.subject == "churn:v1"
    assert (rolled.payload["from_version"], rolled.payload["to_version"]) == (2, 1)
    assert rolled.personal == {"reason": "v2 over-predicts churn"}
    assert ledger.verify().ok

    with pytest.raises(Conflict, match="no earlier production version"):
        registry.rollback("churn", actor="cli:bob", reason="again")


def test_rolling_back_twice_walks_back_two_champions(registry: ModelRegistry) -> None:
    for bias in (0.0, 0.1, 0.2):
        _champion(registry, model=trained(model=FakeChurnModel(bias=bias)))
    assert registry.serving("churn").champion == 3
    assert registry.rollback("churn", actor="cli:bob", reason="bad v3").version == 2
    assert registry.rollback("churn", actor="cli:bob", reason="bad v2").version == 1
    assert [v.stage for v in registry.versions("churn")] == ["production", "retired", "retired"]


def test_rollback_without_an_earlier_champion_is_refused(registry: ModelRegistry) -> None:
    register(registry)
    with pytest.raises(Conflict, match="churn has no earlier production version.*no champion"):
        registry.rollback("churn", actor="cli:bob", reason="nothing to go back to")
    _champion(registry)
    with pytest.raises(Conflict, match=r"v2 is its first champion"):
        registry.rollback("churn", actor="cli:bob", reason="nothing to go back to")


@pytest.mark.parametrize(
    ("trainer", "approver"),
    [
        ("cli:gina", Principal("gina", Role.GOVERNANCE)),
        ("gina", Principal("gina", Role.ADMIN)),
        ("api:ak_gina000000000000", GINA),
    ],
)
def test_approving_ones_own_model_is_refused(
    registry: ModelRegistry, trainer: str, approver: Principal
) -> None:
    register(registry, trainer=trainer)
    registry.validate("churn", 1, actor=trainer)
    with pytest.raises(PermissionDenied, match="separation of duties, ISO/IEC 42001 A.3.2"):
        registry.approve("churn", 1, approver=approver, rationale=RATIONALE)
    assert registry.version("churn", 1).stage == "validated"


@pytest.mark.parametrize("role", [Role.DATA_ENGINEER, Role.ANALYST, Role.SERVICE])
def test_a_role_without_models_approve_cannot_approve(registry: ModelRegistry, role: Role) -> None:
    register(registry)
    registry.validate("churn", 1, actor="cli:alice")
    with pytest.raises(PermissionDenied, match="needs the permission 'models:approve'"):
        registry.approve("churn", 1, approver=Principal("dan", role), rationale=RATIONALE)


def test_only_a_validated_version_can_be_approved_and_with_a_real_rationale(
    registry: ModelRegistry,
) -> None:
    register(registry)
    with pytest.raises(Conflict, match="churn:v1 is draft; .*validate it first"):
        registry.approve("churn", 1, approver=GINA, rationale=RATIONALE)
    registry.validate("churn", 1, actor="cli:alice")
    for rationale in ("", "   ", "ok fine"):
        with pytest.raises(InvalidInput, match="at least 10 characters") as caught:
            registry.approve("churn", 1, approver=GINA, rationale=rationale)
        assert caught.value.field == "rationale"
    registry.approve("churn", 1, approver=GINA, rationale=RATIONALE)
    with pytest.raises(Conflict, match="approved already"):
        registry.approve("churn", 1, approver=GINA, rationale=RATIONALE)
    assert [a.approver for a in registry.approvals("churn", 1)] == ["gina"]


def test_approved_to_production_needs_a_recorded_exception(
    registry: ModelRegistry, ledger: Ledger
) -> None:
    _approved(registry)
    with pytest.raises(
        Conflict, match="promote it to shadow or canary first, or pass an exception"
    ):
        registry.promote("churn", 1, to="production", actor="cli:alice")
    reason = "Regulator deadline: the old rules engine is switched off on Monday"
    promoted = registry.promote("churn", 1, to="production", actor="cli:alice", exception=reason)
    assert promoted.stage == "production"
    last = registry.history("churn")[-1]
    assert (last.action, last.reason, last.detail["exception"]) == ("promote", reason, True)
    [entry] = ledger.entries(kind="model.stage_changed", include_personal=True)
    assert entry.payload["exception"] is True and entry.personal == {"reason": reason}


@pytest.mark.parametrize(
    ("stage_steps", "to", "share", "words"),
    [
        ([], "shadow", None, "is draft and cannot be promoted to shadow: validate it"),
        (["shadow"], "shadow", None, "is shadow and cannot be promoted to shadow"),
        (["canary"], "shadow", None, "it can go to production"),
        ([], "staging", None, "promote to shadow, canary or production"),
    ],
)
def test_promotions_the_lifecycle_does_not_allow_are_refused(
    registry: ModelRegistry, stage_steps: list[str], to: str, share: float | None, words: str
) -> None:
    register(registry)
    if stage_steps:
        registry.validate("churn", 1, actor="cli:alice")
        registry.approve("churn", 1, approver=GINA, rationale=RATIONALE)
        for step in stage_steps:
            registry.promote(
                "churn", 1, to=step, actor="a", share=0.1 if step == "canary" else None
            )
    with pytest.raises((Conflict, InvalidInput), match=words):
        registry.promote("churn", 1, to=to, actor="cli:alice", share=share)


@pytest.mark.parametrize("share", [None, 0.0, 1.0, 1.5, -0.1])
def test_a_canary_needs_a_share_between_0_and_1(
    registry: ModelRegistry, share: float | None
) -> None:
    _approved(registry)
    with pytest.raises(InvalidInput, match="share of traffic between 0 and 1") as caught:
        registry.promote("churn", 1, to="canary", share=share, actor="cli:alice")
    assert caught.value.field == "share"


def test_one_canary_at_a_time_and_retiring_it_removes_the_alias(registry: ModelRegistry) -> None:
    _approved(registry)
    _approved(registry)
    registry.promote("churn", 1, to="canary", share=0.1, actor="cli:alice")
    with pytest.raises(Conflict, match="v1 of churn is the canary already"):
        registry.promote("churn", 2, to="canary", share=0.2, actor="cli:alice")
    retired = registry.retire("churn", 1, actor="cli:alice", reason="lost to the champion")
    assert retired.stage == "retired" and registry.serving("churn").canary is None
    registry.promote("churn", 2, to="canary", share=0.2, actor="cli:alice")
    with pytest.raises(Conflict, match="retired already"):
        registry.retire("churn", 1, actor="cli:alice", reason="again")


def test_the_champion_cannot_be_retired(registry: ModelRegistry) -> None:
    _champion(registry)
    with pytest.raises(Conflict, match="is the champion; promote another version"):
        registry.retire("churn", 1, actor="cli:alice", reason="stop it")
    with pytest.raises(InvalidInput, match="reason must not be blank"):
        registry.retire("churn", 1, actor="cli:alice", reason=" ")


def test_a_failed_gate_keeps_the_draft_and_the_report_is_kept_as_evidence(
    registry: ModelRegistry, ledger: Ledger
) -> None:
    register(registry, model=trained(metrics={"roc_auc": 0.61, "brier": 0.2}))
    report = registry.validate("churn", 1, actor="cli:alice")
    assert not report.passed and report.stage == "draft"
    failed = {c.check: c.detail for c in report.failures}
    assert failed["gate:roc_auc"] == "roc_auc 0.61 < min 0.7"
    assert failed["gate:ece"].startswith("ece was not measured")
    assert registry.version("churn", 1).stage == "draft"
    [stored] = registry.validations("churn", 1)
    assert stored.to_dict()["checks"] == report.to_dict()["checks"]
    [entry] = ledger.entries(kind="model.validated")
    assert entry.payload["passed"] is False
    assert set(entry.payload["failed_checks"]) == {"gate:roc_auc", "gate:ece"}


@pytest.mark.parametrize(
    ("changes", "check", "words"),
    [
        ({"gates": {}}, "gates", "no performance gate"),
        ({"data_snapshot": {}}, "data_snapshot", "no training data snapshot"),
        ({"card_inputs": CardInputs(owner="x")}, "model_card", "Intended use, Factors"),
    ],
)
def test_missing_evidence_fails_validation(
    registry: ModelRegistry, changes: dict[str, Any], check: str, words: str
) -> None:
    register(registry, **changes)
    report = registry.validate("churn", 1, actor="cli:alice")
    [failure] = report.failures
    assert failure.check == check and words in failure.detail


@pytest.mark.parametrize(
    ("fairness", "words"),
    [
        ({"gate": {"passed": False}}, "fairness gate failed for overall"),
        ({"region": {"by_group": {}, "gate": {"passed": False}}}, "failed for region"),
        ({"region": {"by_group": {}}}, "carry no gate verdict"),
    ],
)
def test_a_fairness_gate_that_failed_or_is_absent_fails_validation(
    registry: ModelRegistry, fairness: dict[str, Any], words: str
) -> None:
    register(registry, model=trained(fairness=fairness))
    [failure] = registry.validate("churn", 1, actor="cli:alice").failures
    assert failure.check == "fairness" and words in failure.detail


def test_a_model_without_fairness_results_passes_that_check(registry: ModelRegistry) -> None:
    register(registry, model=trained(fairness=None))
    report = registry.validate("churn", 1, actor="cli:alice")
    assert report.passed
    assert "not applicable" in next(c.detail for c in report.checks if c.check == "fairness")


def test_a_validated_version_whose_artifact_changed_goes_back_to_draft(
    registry: ModelRegistry, workspace: Workspace
) -> None:
    version = register(registry)
    registry.validate("churn", 1, actor="cli:alice")
    (workspace.root / version.artifact_path).write_bytes(b"tampered")
    report = registry.validate("churn", 1, actor="cli:alice")
    assert report.stage == "draft"
    assert [c.check for c in report.failures] == ["artifact"]


def test_a_tampered_artifact_is_refused_before_it_is_unpickled(
    registry: ModelRegistry, workspace: Workspace
) -> None:
    version = _champion(registry)
    path = workspace.root / registry.version("churn", version).artifact_path
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    fresh = ModelRegistry(workspace, registry._store, registry._ledger)  # nothing cached
    with pytest.raises(ArtifactError, match="has changed since it was registered") as caught:
        fresh.load("churn")
    assert str(workspace.root) not in str(caught.value)
    path.unlink()
    with pytest.raises(ArtifactError, match="is missing"):
        fresh.load("churn")


def test_load_scores_with_the_signature_enforced_and_caches_the_model(
    registry: ModelRegistry, workspace: Workspace
) -> None:
    _champion(registry)
    model = registry.load("churn")
    assert (model.name, model.version, model.stage, model.kind) == (
        "churn",
        1,
        "production",
        "churn",
    )
    scores = model.score([ROW, dict(ROW, failed_payments=0)])
    assert list(scores.columns) == ["probability", "label"]
    assert scores["probability"][0] > scores["probability"][1]
    [reasons] = model.explain(ROW, top=2)
    assert [r.feature for r in reasons] == ["failed_payments", "tenure_days"]
    prediction = model.predict(dict(ROW, plan="family"), explain=True, top=1)
    assert prediction.unseen_categories == {"plan": ["family"]}
    assert math.isclose(prediction.scores[0]["probability"], scores["probability"][0])
    assert prediction.contributions == [
        [{"feature": "failed_payments", "value": 2, "contribution": 1.6}]
    ]
    with pytest.raises(SignatureMismatch) as caught:
        model.score({**ROW, "tenure_days": "120", "coupon": "X"})
    assert {p.field for p in caught.value.problems} == {"tenure_days", "coupon"}
    with pytest.raises(InvalidInput, match="top must be"):
        model.explain(ROW, top=0)
    register(registry)
    with pytest.raises(Conflict, match="churn:v2 is draft; only versions in shadow"):
        registry.load("churn", 2, serving_only=True)
    assert registry.load("churn", 2).stage == "draft"
    (workspace.root / "artifacts/models/churn/v1/model.joblib").unlink()
    assert registry.load("churn", 1).version == 1  # served from the cache


def test_versions_are_numbered_per_name_and_found_by_reference(registry: ModelRegistry) -> None:
    register(registry)
    register(registry)
    register(registry, "next-best-offer")
    assert [v.version for v in registry.versions("churn")] == [1, 2]
    assert registry.version("churn").version == 2
    assert registry.version("churn", "v1").version == 1
    assert registry.version("next-best-offer", "latest").version == 1
    with pytest.raises(NotFound, match="churn has no version 9; its versions are 1 to 2"):
        registry.version("churn", 9)
    with pytest.raises(NotFound, match="churn has no champion yet"):
        registry.version("churn", "champion")
    with pytest.raises(NotFound, match="churn has no canary now"):
        registry.load("churn", "canary")
    with pytest.raises(NotFound, match="no model named 'upsell'"):
        registry.versions("upsell")
    with pytest.raises(NotFound, match="no model named 'upsell'"):
        registry.history("upsell")
    summaries = {s.name: s for s in registry.list_models()}
    assert summaries["churn"].latest_version == 2 and summaries["churn"].stages == {"draft": 2}
    assert summaries["next-best-offer"].champion is None


@pytest.mark.parametrize("ref", ["0", "v", "best", -1, True, 2.5])
def test_a_reference_that_is_not_a_version_is_refused(ref: Any) -> None:
    with pytest.raises(InvalidInput, match="use a number .* latest, champion or canary"):
        parse_ref(ref)


@pytest.mark.parametrize(
    ("name", "changes", "field"),
    [
        ("Churn", {}, "name"),
        ("1churn", {}, "name"),
        ("churn", {"gates": {"roc_auc": 0.7}}, "gates.roc_auc"),
        ("churn", {"gates": {"roc_auc": {"above": 0.7}}}, "gates.roc_auc"),
        ("churn", {"data_snapshot": {"lake/a.parquet": "abc"}}, "data_snapshot"),
        ("churn", {"card_inputs": {"owners": "x"}}, "card.owners"),
    ],
)
def test_malformed_registrations_are_refused_naming_the_field(
    registry: ModelRegistry, workspace: Workspace, name: str, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        register(registry, name, **changes)
    assert caught.value.field == field
    assert not (workspace.artifacts_dir / "models").exists()


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({"metrics": {"roc_auc": math.nan}}, "metrics.roc_auc"),
        ({"evaluation": {"bins": [1.0, math.inf]}}, "evaluation.bins[1]"),
        ({"params": {"seed": __import__("numpy").int64(3)}}, "params.seed"),
    ],
)
def test_evidence_that_is_not_json_ready_is_refused(
    registry: ModelRegistry, evidence: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput, match="cannot be stored as JSON") as caught:
        register(registry, model=trained(**evidence))
    assert caught.value.field == field


class _Unpicklable(FakeChurnModel):
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle a lock")


def test_a_model_that_cannot_be_pickled_is_refused(registry: ModelRegistry) -> None:
    with pytest.raises(InvalidInput, match="cannot be pickled"):
        register(registry, model=trained(model=_Unpicklable()))


def test_a_change_the_ledger_did_not_record_is_undone(
    registry: ModelRegistry,
    ledger: Ledger,
    store: Store,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _approved(registry)
    before = registry.history("churn")

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger, "append_many", fail)
    with pytest.raises(RuntimeError):
        registry.promote("churn", 1, to="canary", share=0.1, actor="cli:alice")
    assert registry.version("churn", 1).stage == "approved"
    assert registry.serving("churn").canary is None
    assert registry.history("churn") == before

    monkeypatch.setattr(ledger, "append", fail)
    with pytest.raises(RuntimeError):
        register(registry)
    assert [v.version for v in registry.versions("churn")] == [1]
    assert not (workspace.artifacts_dir / "models/churn/v2").exists()
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(ModelTransitionRow))
    assert count == len(before)


def test_versions_serialise_to_json_with_and_without_evidence(registry: ModelRegistry) -> None:
    version = register(registry)
    full = json.loads(json.dumps(version.to_dict()))
    assert full["card_inputs"] == CARD.to_dict() and full["fairness"]["gate"]["passed"]
    assert full["metrics"] == {"roc_auc": 0.82, "ece": 0.03, "brier": 0.12}
    brief = version.to_dict(evidence=False)
    assert "evaluation" not in brief and brief["artifact"]["sha256"] == version.artifact_sha256


def test_artifacts_are_written_without_leaving_temporary_files(
    registry: ModelRegistry, workspace: Workspace
) -> None:
    register(registry)
    folder = workspace.artifacts_dir / "models" / "churn" / "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib"]
    assert Path(folder / "model.joblib").stat().st_size == register(registry).artifact_bytes


def test_the_lifecycle_and_rollback_on_sqlite_and_postgresql(
    any_workspace: Workspace, any_store: Store
) -> None:
    ledger = Ledger.open(any_workspace, any_store)
    registry = ModelRegistry(any_workspace, any_store, ledger)
    _champion(registry)
    _champion(registry, model=trained(model=FakeChurnModel(bias=0.2)))
    assert registry.rollback("churn", actor="cli:bob", reason="v2 misfires").version == 1
    assert [(i.version, i.via) for i in registry.production_history("churn")] == [
        (1, "promote"),
        (2, "promote"),
        (1, "rollback"),
    ]
    assert registry.load("churn").score(ROW)["probability"].between(0, 1).all()
    assert ledger.verify().ok
