"""The risk register: likelihood and impact on configurable scales, levels derived, treatments
with linked controls, residual risk and review dates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.aims._records import AimsRecords
from aimsight.aims._risk_scales import RISK_SCALES_PATH, shipped_risk_scales
from aimsight.core import ConfigurationError, InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store

THREE_BY_THREE = """
likelihood: [{value: 1, label: low}, {value: 2, label: mid}, {value: 3, label: high}]
impact: [{value: 1, label: low}, {value: 2, label: mid}, {value: 3, label: high}]
bands: [{level: acceptable, max: 2}, {level: watch, max: 4}, {level: act now, max: 9}]
"""


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def _risk(records: AimsRecords, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "actor": "cli:gina",
        "source": "impact assessment",
        "owner": "governance",
        "likelihood": 4,
        "impact": 4,
    }
    values.update(changes)
    return records.add_risk("Churn scores drift after a pricing change", **values)


def test_a_treated_risk_has_its_level_residual_level_and_controls(records: AimsRecords) -> None:
    system = records.create_system("churn", actor="cli:gina")
    risk = _risk(
        records,
        system_id=system.system_id,
        treatment="mitigate",
        treatment_plan="Monitor drift daily; retrain when PSI > 0.2",
        controls=["A.6.2.6", "A.6.2.6", "A.9.3"],
        residual_likelihood=2,
        residual_impact=2,
        next_review="2027-01-31",
    )
    assert (risk.score, risk.level) == (16, "high")
    assert (risk.residual_score, risk.residual_level) == (4, "low")
    assert risk.controls == ("A.6.2.6", "A.9.3")
    assert records.risks(system_id=system.system_id) == [risk]
    assert records.risk(risk.risk_id) == risk


def test_update_re_rates_a_risk_at_its_review(records: AimsRecords, ledger: Ledger) -> None:
    risk = _risk(records)
    lower = records.update_risk(
        risk.risk_id, actor="cli:gina", likelihood=2, next_review="2027-06-30"
    )
    assert (lower.score, lower.level, lower.next_review) == (8, "medium", "2027-06-30")
    entry = ledger.entries(kind="aims.risk.updated")[0]
    assert entry.payload["changed"] == ["likelihood", "next_review"]
    assert entry.payload["likelihood"] == 2 and entry.payload["level"] == "medium"
    with pytest.raises(InvalidInput) as raised:
        records.update_risk(risk.risk_id, actor="cli:gina", probability=3)
    assert raised.value.field == "probability"
    with pytest.raises(NotFound):
        records.update_risk("rsk_missing", actor="cli:gina", likelihood=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"likelihood": 6}, "likelihood"),
        ({"impact": 0}, "impact"),
        ({"likelihood": True}, "likelihood"),
        ({"impact": 2.5}, "impact"),
        ({"treatment": "ignore", "treatment_plan": "x"}, "treatment"),
        ({"treatment": "accept"}, "treatment_plan"),
        ({"controls": ["A.6.2.4", "6.2"]}, "controls"),
        ({"residual_likelihood": 1}, "residual_impact"),
        ({"residual_likelihood": 5, "residual_impact": 5}, "residual_impact"),
        ({"next_review": "soon"}, "next_review"),
        ({"owner": ""}, "owner"),
    ],
)
def test_malformed_risks_are_refused_naming_the_field(
    records: AimsRecords, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _risk(records, **changes)
    assert raised.value.field == field
    assert records.risks() == []


def test_a_risk_of_an_unknown_system_is_refused(records: AimsRecords) -> None:
    with pytest.raises(NotFound):
        _risk(records, system_id="ais_nope")


def test_the_workspace_scales_replace_the_shipped_ones(
    records: AimsRecords, workspace: Workspace
) -> None:
    assert records.risk_scales() == shipped_risk_scales()
    path = workspace.root / RISK_SCALES_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(THREE_BY_THREE, encoding="utf-8")
    risk = _risk(records, likelihood=3, impact=2)
    assert (risk.score, risk.level) == (6, "act now")
    with pytest.raises(InvalidInput) as raised:
        _risk(records, likelihood=4)  # on the shipped scale, not on this one
    assert "1 (low), 2 (mid), 3 (high)" in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "likelihood: [",
        "- just a list",
        THREE_BY_THREE.replace("max: 9", "max: 8"),  # scores reach 9
        THREE_BY_THREE.replace("max: 2}", "max: 5}"),  # bands out of order
        THREE_BY_THREE.replace(
            "{value: 2, label: mid}, {value: 3", "{value: 1, label: mid}, {value: 3"
        ),
    ],
)
def test_broken_scale_files_are_configuration_errors(
    records: AimsRecords, workspace: Workspace, text: str
) -> None:
    path = workspace.root / RISK_SCALES_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="risk_scales.yaml"):
        records.risk_scales()


@given(
    first=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    second=st.tuples(st.integers(1, 5), st.integers(1, 5)),
)
def test_a_higher_score_never_has_a_lower_level(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    scales = shipped_risk_scales()
    order = [band.level for band in scales.bands]
    low, high = sorted([first[0] * first[1], second[0] * second[1]])
    assert order.index(scales.level(low)) <= order.index(scales.level(high))
    assert scales.check("likelihood", first[0], "likelihood") == first[0]
