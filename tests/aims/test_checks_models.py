"""Checks over the model registry: approval by someone other than the trainer (A.6.2.4), staged
promotion (A.6.2.5), monitoring (A.6.2.6) and complete model cards (A.6.2.7, A.8.2)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from aimsight.aims._checks_models import (
    model_cards_complete,
    models_monitored,
    production_models_approved,
    promotions_staged,
)
from aimsight.aims._model import CheckStatus
from aimsight.core import now_utc
from aimsight.registry import Principal
from aimsight.security import ApiKeyService, Role
from tests.aims._checks_fakes import RATIONALE, Live, approved, champion, open_live
from tests.registry._fakes import register


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from open_live(tmp_path / "ws")


def _sql(live: Live, statement: str) -> None:
    """Change the registry's tables behind its back (what the registry itself refuses)."""
    with live.store.engine.begin() as connection:
        connection.execute(text(statement))


# -- production models approved -----------------------------------------------------------


def test_a_validated_independently_approved_champion_passes(live: Live) -> None:
    champion(live.registry)
    result = production_models_approved(live.context())
    assert result.status is CheckStatus.PASS
    kinds = {(e.kind, e.ref) for e in result.evidence}
    assert kinds == {("validation_report", "churn:v1"), ("approval", "churn:v1")}
    assert "approved by gina (governance)" in next(
        e.detail for e in result.evidence if e.kind == "approval"
    )


def test_a_self_approved_champion_fails(live: Live) -> None:
    champion(live.registry)
    _sql(live, "UPDATE registry_approvals SET approver = 'alice'")  # trained by cli:alice
    result = production_models_approved(live.context())
    assert result.status is CheckStatus.FAIL
    assert result.findings[0].startswith("churn:v1 was approved only by alice (governance)")


def test_a_trainer_approving_under_another_channel_is_recognised(live: Live) -> None:
    key, _ = ApiKeyService(live.store).create("gina", Role.GOVERNANCE, created_by="admin")
    version = register(live.registry, trainer=f"api:{key.key_id}").version
    live.registry.validate("churn", version, actor="ci")
    # Approving without the key id, the registry cannot tell gina trained it; the check can.
    live.registry.approve(
        "churn", version, approver=Principal("gina", Role.GOVERNANCE), rationale=RATIONALE
    )
    live.registry.promote("churn", version, to="shadow", actor="ci")
    live.registry.promote("churn", version, to="production", actor="ci")
    result = production_models_approved(live.context())
    assert result.status is CheckStatus.FAIL
    assert f"its trainer api:{key.key_id}" in result.findings[0]


def test_an_approver_without_the_approve_permission_does_not_count(live: Live) -> None:
    champion(live.registry)
    _sql(live, "UPDATE registry_approvals SET approver_role = 'analyst'")
    assert production_models_approved(live.context()).status is CheckStatus.FAIL


def test_a_champion_whose_latest_validation_failed_fails(live: Live) -> None:
    champion(live.registry)
    _sql(live, "UPDATE registry_validations SET passed = 0")
    result = production_models_approved(live.context())
    assert result.status is CheckStatus.FAIL
    assert "latest validation" in result.findings[0]


def test_no_model_in_production_warns_instead_of_passing(live: Live) -> None:
    approved(live.registry)
    result = production_models_approved(live.context())
    assert result.status is CheckStatus.WARN
    assert "No model is in production" in result.summary


# -- promotions staged --------------------------------------------------------------------


def test_a_promotion_after_shadow_passes(live: Live) -> None:
    champion(live.registry)
    result = promotions_staged(live.context())
    assert result.status is CheckStatus.PASS
    assert "after shadow or canary" in result.evidence[0].detail


def test_a_promotion_with_a_recorded_exception_passes_and_shows_the_exception(
    live: Live,
) -> None:
    version = approved(live.registry)
    live.registry.promote(
        "churn",
        version,
        to="production",
        actor="cli:alice",
        exception="Emergency fix for a broken champion; shadow run afterwards",
    )
    result = promotions_staged(live.context())
    assert result.status is CheckStatus.PASS
    assert "1 with a recorded exception" in result.summary
    assert "exception: Emergency fix" in result.evidence[0].detail


def test_a_promotion_that_skipped_staging_without_an_exception_fails(live: Live) -> None:
    champion(live.registry)
    _sql(live, "DELETE FROM registry_transitions WHERE to_stage = 'shadow'")
    result = promotions_staged(live.context())
    assert result.status is CheckStatus.FAIL
    assert "churn:v1 was promoted to production" in result.findings[0]
    assert "without a recorded exception" in result.findings[0]


def test_no_promotion_yet_warns(live: Live) -> None:
    assert promotions_staged(live.context()).status is CheckStatus.WARN


# -- model cards complete -----------------------------------------------------------------


def test_serving_versions_with_complete_cards_pass(live: Live) -> None:
    champion(live.registry)
    version = approved(live.registry)
    live.registry.promote("churn", version, to="canary", share=0.1, actor="cli:alice")
    result = model_cards_complete(live.context())
    assert result.status is CheckStatus.PASS
    assert [e.ref for e in result.evidence] == ["churn:v1", "churn:v2"]


def test_a_serving_version_with_an_incomplete_card_fails_naming_the_sections(
    live: Live,
) -> None:
    champion(live.registry)
    _sql(live, 'UPDATE registry_model_versions SET card_inputs = \'{"owner": "analytics"}\'')
    result = model_cards_complete(live.context())
    assert result.status is CheckStatus.FAIL
    assert "churn:v1 (production) has an incomplete model card" in result.findings[0]
    assert "Intended use" in result.findings[0] and "Model details" not in result.findings[0]


def test_drafts_are_not_held_to_a_complete_card(live: Live) -> None:
    register(live.registry)
    assert model_cards_complete(live.context()).status is CheckStatus.WARN


# -- models monitored ---------------------------------------------------------------------


def test_without_a_monitoring_layer_the_check_is_not_yet_available(live: Live) -> None:
    champion(live.registry)
    result = models_monitored(live.context())
    assert result.status is CheckStatus.NOT_YET_AVAILABLE
    assert "has not landed" in result.summary
    assert [e.ref for e in result.evidence] == ["churn:v1"]


@dataclass
class _Run:
    ran_at: str
    healthy: bool


def _install_monitor(monkeypatch: pytest.MonkeyPatch, runs: dict[str, Any]) -> None:
    """Pretend the monitoring layer has landed, with these latest runs per ``name:vN``."""

    class MonitorService:
        def __init__(self, workspace: object, store: object, ledger: object) -> None:
            del workspace, store, ledger

        def latest_run(self, name: str, version: int) -> Any:
            return runs.get(f"{name}:v{version}")

    module = types.ModuleType("aimsight.monitor")
    module.MonitorService = MonitorService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aimsight.monitor", module)


def test_once_monitoring_lands_a_recent_green_run_passes(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion(live.registry)
    _install_monitor(monkeypatch, {"churn:v1": _Run(now_utc().isoformat(), True)})
    assert models_monitored(live.context()).status is CheckStatus.PASS


@pytest.mark.parametrize(
    ("run", "words"),
    [
        (None, "no monitor has run"),
        (_Run((now_utc() - timedelta(days=30)).isoformat(), True), "more than 7 days ago"),
        (_Run(now_utc().isoformat(), False), "is not green"),
    ],
)
def test_once_monitoring_lands_a_missing_stale_or_red_run_fails(
    live: Live, monkeypatch: pytest.MonkeyPatch, run: _Run | None, words: str
) -> None:
    champion(live.registry)
    _install_monitor(monkeypatch, {"churn:v1": run})
    result = models_monitored(live.context())
    assert result.status is CheckStatus.FAIL
    assert words in result.findings[0]


def test_a_monitoring_layer_the_check_cannot_read_warns_never_passes(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion(live.registry)
    module = types.ModuleType("aimsight.monitor")
    module.MonitorService = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aimsight.monitor", module)
    result = models_monitored(live.context())
    assert result.status is CheckStatus.WARN
    assert "brought up to date" in result.summary
