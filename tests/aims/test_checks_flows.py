"""Human oversight of high-stakes decision flows (A.9.2-A.9.4): not yet available until
decisioning lands, then read from it."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from aimsight.aims._checks_flows import human_oversight
from aimsight.aims._model import CheckStatus
from aimsight.core import now_utc
from tests.aims._checks_fakes import Live, open_live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from open_live(tmp_path / "ws")


@dataclass
class _Flow:
    flow_id: str
    high_stakes: bool
    human_review: bool
    stop_switch_tested_at: str | None


def _install_decide(monkeypatch: pytest.MonkeyPatch, flows: list[_Flow]) -> None:
    """Pretend the decisioning layer has landed with these flows."""

    class DecisionService:
        def __init__(self, workspace: object, store: object, ledger: object) -> None:
            del workspace, store, ledger

        def oversight(self) -> list[_Flow]:
            return flows

    module = types.ModuleType("aimsight.decide")
    module.DecisionService = DecisionService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aimsight.decide", module)


def _tested(days_ago: int) -> str:
    return (now_utc() - timedelta(days=days_ago)).isoformat()


def test_without_decisioning_the_check_is_not_yet_available_never_pass(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aimsight.decide", None)  # as if not installed
    result = human_oversight(live.context())
    assert result.status is CheckStatus.NOT_YET_AVAILABLE
    assert "have not landed" in result.summary


def test_high_stakes_flows_with_review_and_a_recently_tested_stop_switch_pass(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_decide(
        monkeypatch,
        [_Flow("retention", True, True, _tested(3)), _Flow("nbo", False, False, None)],
    )
    result = human_oversight(live.context())
    assert result.status is CheckStatus.PASS
    assert [e.ref for e in result.evidence] == ["retention"]


def test_a_high_stakes_flow_without_review_or_a_tested_stop_switch_fails(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_decide(
        monkeypatch,
        [
            _Flow("retention", True, False, _tested(3)),
            _Flow("winback", True, True, None),
            _Flow("upsell", True, True, _tested(200)),
        ],
    )
    result = human_oversight(live.context())
    assert result.status is CheckStatus.FAIL
    assert (
        result.findings[0] == "high-stakes flow retention does not send decisions to human review"
    )
    assert "flow winback has a stop switch that was never tested" in result.findings[1]
    assert "more than 90 days ago" in result.findings[2]


def test_no_high_stakes_flow_warns(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_decide(monkeypatch, [_Flow("nbo", False, False, None)])
    assert human_oversight(live.context()).status is CheckStatus.WARN


def test_a_decisioning_layer_the_check_cannot_read_warns(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("aimsight.decide")
    module.DecisionService = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aimsight.decide", module)
    result = human_oversight(live.context())
    assert result.status is CheckStatus.WARN
    assert "brought up to date" in result.summary


def test_the_real_decision_layer_is_read_live(live: Live) -> None:
    from aimsight.decide import DecisionService
    from tests.decide._fakes import install_flow

    assert human_oversight(live.context()).status is CheckStatus.WARN  # no flow declared
    install_flow(live.workspace)
    service = DecisionService(live.workspace, live.store, live.ledger)
    untested = human_oversight(live.context())
    assert untested.status is CheckStatus.FAIL
    assert "retention has a stop switch that was never tested" in untested.summary
    service.test_stop_switch("retention", actor="governance")
    passed = human_oversight(live.context())
    assert passed.status is CheckStatus.PASS, passed.summary
