"""Objectives whose KPIs are bound to live metrics, with the trend of their readings."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.aims._objectives import _objective_of
from aimsight.aims._records import AimsRecords
from aimsight.aims._tables import KpiValueRow, ObjectiveRow
from aimsight.core import InvalidInput, NotFound, Workspace
from aimsight.store import Ledger, Store


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


def test_an_objective_keeps_its_metric_and_its_kpi_trend(
    records: AimsRecords, ledger: Ledger
) -> None:
    objective = records.add_objective(
        "Keep ingest quality high",
        actor="cli:gina",
        owner="data_engineer",
        metric="ingest.pass_rate",
        target=0.98,
    )
    assert (objective.metric, objective.latest, objective.met) == ("ingest.pass_rate", None, None)
    records.record_kpi(objective.objective_id, 0.97, "2026-11-01T00:00:00Z", actor="system")
    records.record_kpi(objective.objective_id, 0.99, "2026-11-03T00:00:00Z", actor="system")
    records.record_kpi(objective.objective_id, 0.95, "2026-11-02T00:00:00Z", actor="system")

    trend = records.kpi_trend(objective.objective_id)
    assert [r.value for r in trend] == [0.97, 0.95, 0.99]  # in time order
    assert [r.value for r in records.kpi_trend(objective.objective_id, limit=2)] == [0.95, 0.99]
    current = records.objective(objective.objective_id)
    assert current.latest is not None and current.latest.value == 0.99 and current.met is True
    assert records.objectives() == [current]
    entry = ledger.entries(kind="aims.objective.kpi_recorded")[0]
    assert entry.payload["metric"] == "ingest.pass_rate" and entry.payload["value"] == 0.97


def test_an_at_most_objective_is_met_below_its_target(records: AimsRecords) -> None:
    objective = records.add_objective(
        "Few checks failing",
        actor="cli:gina",
        owner="governance",
        metric="checks.fail_count",
        target=2,
        direction="at_most",
    )
    records.record_kpi(objective.objective_id, 3, actor="system")
    assert records.objective(objective.objective_id).met is False
    records.record_kpi(objective.objective_id, 2, actor="system")
    assert records.objective(objective.objective_id).met is True


@pytest.mark.parametrize(
    ("metric", "target", "direction", "field"),
    [
        ("pass rate", 0.9, "at_least", "metric"),
        ("Ingest.Pass", 0.9, "at_least", "metric"),
        ("ingest", 0.9, "at_least", "metric"),
        ("ingest.pass_rate", math.nan, "at_least", "target"),
        ("ingest.pass_rate", "high", "at_least", "target"),
        ("ingest.pass_rate", 0.9, "above", "direction"),
    ],
)
def test_malformed_objectives_are_refused(
    records: AimsRecords, metric: str, target: float, direction: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.add_objective(
            "x", actor="cli:gina", owner="g", metric=metric, target=target, direction=direction
        )
    assert raised.value.field == field


def test_readings_must_be_finite_numbers_of_a_known_objective(records: AimsRecords) -> None:
    objective = records.add_objective(
        "Ledger verifies", actor="cli:gina", owner="admin", metric="ledger.verified", target=1
    )
    with pytest.raises(InvalidInput):
        records.record_kpi(objective.objective_id, math.inf, actor="system")
    with pytest.raises(InvalidInput):
        records.record_kpi(objective.objective_id, 1, "yesterday", actor="system")
    with pytest.raises(NotFound):
        records.record_kpi("obj_missing", 1, actor="system")
    with pytest.raises(NotFound):
        records.kpi_trend("obj_missing")


@settings(max_examples=25, deadline=None)
@given(
    value=st.floats(allow_nan=False, allow_infinity=False, width=32), target=st.floats(-1e6, 1e6)
)
def test_met_is_the_comparison_the_direction_names(value: float, target: float) -> None:
    for direction, expected in (("at_least", value >= target), ("at_most", value <= target)):
        row = ObjectiveRow(
            objective_id="obj_1",
            objective="o",
            owner="g",
            metric="a.b",
            target=target,
            direction=direction,
            created_at="",
            created_by="",
        )
        reading = KpiValueRow(objective_id="obj_1", value=value, at="", recorded_by="system")
        assert _objective_of(row, reading).met is expected
